import Foundation
import HTTPTypes
import KychCore
import KychOAuth
@testable import KychGateway
import Testing

/// `kych-demo` (what `./scripts/demo` runs): the headless mode end to end, a real headless browser clicking
/// through the demo (site → KyCH page → "Use the demo wallet" → claims on the site), and Ctrl-C stopping it all
/// with nothing left behind: no process, no listening socket, no temporary folder.
@Suite struct DemoTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/browser/demo_click_through.py")
    static let expectedClaims: [String: JSON] = [
        "given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12", "age_over_18": true, "nationality": "CH",
    ]

    @Test func headlessRunPrintsTheClaimsTheClientReceived() async throws {
        let tmp = try VerifierTestConfig.temporaryDirectory()
        let result = try await Run.program("kych-demo", ["--headless", "--port", "\(TestPorts.next())", "--site-port", "\(TestPorts.next())"],
                                     environment: ["TMPDIR": tmp.path])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.stdout.firstIndex(of: "{").map { String(result.stdout[$0...]) }, "\(result.stdout)")
        #expect(try JSON.parse(Data(json.utf8)).objectValue == Self.expectedClaims)
        #expect(!result.stderr.contains("Helvetia") && Self.secretsRedacted(result.stderr))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "the demo folder was left behind")
    }

    @Test func aPersonClicksThroughTheDemoAndCtrlCStopsIt() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "\(tool) is missing: install Debian's chromium and chromium-driver (scripts/test does)")
        }
        let tmp = try VerifierTestConfig.temporaryDirectory()
        let port = TestPorts.next(), sitePort = TestPorts.next()
        let siteURL = "http://127.0.0.1:\(sitePort)"
        let demo = try await GatewayProcess(arguments: ["--port", "\(port)", "--site-port", "\(sitePort)"],
                                            baseURL: "http://127.0.0.1:\(port)", executable: "kych-demo", environment: ["TMPDIR": tmp.path])
        let browser: ProcessResult
        do {
            browser = try await Run.program("/usr/bin/env", ["python3", Self.script.path, siteURL])
        } catch {
            _ = await demo.terminate()
            throw error
        }
        let stopped = await demo.terminate(signal: SIGINT)

        #expect(browser.status == 0, "\(browser.stderr)\n\(demo.log)")
        let report = try JSON.parse(Data(browser.stdout.utf8))
        #expect(report["kych_url"]?.stringValue?.hasPrefix("http://127.0.0.1:\(port)/authorize/") == true)
        #expect(report["final_url"]?.stringValue?.hasPrefix(siteURL + "/callback?code=") == true)
        #expect(report["claims"] == ["given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12",
                                     "age_over_18": "yes", "nationality": "CH"])
        #expect(report["csp_violations"] == [], "the KyCH page and the demo site pass their CSPs")
        #expect(demo.log.contains("Open \(siteURL)/"), "the demo prints the URL to open")

        #expect(stopped == 0, "\(demo.log)")
        for url in [demo.baseURL + "/health", siteURL + "/"] {
            await #expect(throws: (any Error).self, "\(url) still answers after Ctrl-C") { try await HTTP.get(url) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "the demo folder was left behind")
        #expect(!demo.log.contains("Helvetia") && Self.secretsRedacted(demo.log))
    }

    @Test func theDemoWalletLinkIsOfferedOnlyWhenConfigured() async throws {
        let plain = try await PageFixture.verificationPage()
        #expect(!String(buffer: plain.body).contains("id=\"demo-wallet\""))
        let page = try await PageFixture.get("/authorize/\(PageFixture.nonce)?lang=de") {
            Pages.verification(PageFixture.authorization(), request: $0, demoWallet: true)
        }
        let html = String(buffer: page.body)
        #expect(html.captures(#"id="demo-wallet" href="([^"]*)""#).map(\.htmlUnescaped)
            == ["/demo-wallet/\(PageFixture.verificationID)?state=\(GatewayHarness.state.urlEscaped)&lang=de"])
        #expect(html.contains("Demo-Wallet verwenden"))
        #expect(page.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true)

        let base = "[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 8080\nDATABASE = sqlite::memory:\n"
        func config(_ text: String) throws -> GatewayConfig {
            try GatewayConfig.validate(try IniFile.parse(text, path: "kych.conf", environment: [:]))
        }
        #expect(try config(base).demoWallet == nil)
        #expect(try config(base + "DEMO_WALLET = /var/lib/kych/demo-wallet\n").demoWallet == "/var/lib/kych/demo-wallet")
        let relative = #expect(throws: ConfigErrors.self) { try config(base + "DEMO_WALLET = demo-wallet\n") }
        #expect(relative?.description.contains("DEMO_WALLET: must be an absolute path to a wallet folder") == true)
    }

    @Test func theProductionGatewaySaysItIgnoresDemoWallet() async throws {
        let tmp = try VerifierTestConfig.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let port = TestPorts.next()
        let conf = try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = sqlite://\(tmp.path)/kych.db
            DEMO_WALLET = \(tmp.path)/wallet
            """)
        let check = try await Run.program("kych-oauth2-gateway", ["-c", conf, "--check-config"])
        #expect(check.status == 0 && check.stderr.contains("DEMO_WALLET is ignored: only kych-demo serves the demo wallet"), "\(check.stderr)")

        let gateway = try await GatewayProcess(configPath: conf, baseURL: "http://127.0.0.1:\(port)")
        let demoWallet = try await HTTP.get(gateway.baseURL + "/demo-wallet/x?state=y")
        #expect(await gateway.terminate() == 0)
        #expect(demoWallet.status == 404)
        #expect(gateway.log.contains("DEMO_WALLET is ignored"), "\(gateway.log)")
        #expect(!FileManager.default.fileExists(atPath: tmp.path + "/wallet"), "the gateway created a test wallet")
    }

    /// Whether every `secret-token:` value in `log` is redacted.
    static func secretsRedacted(_ log: String) -> Bool {
        log.components(separatedBy: "secret-token:").dropFirst().allSatisfy { $0.hasPrefix("<redacted>") }
    }
}
