import Foundation
import KychCore
import KychOAuth
import Testing

/// The verification page in a real headless browser (Debian chromium and chromedriver, driven by selenium through
/// `Tests/browser/verification_page.py`) against a real gateway process: the person opens the page, sees the QR code
/// and the claims, switches to German; the test verifier then reports success, and the page's script takes the
/// browser through /finalize to the client's redirect URI with `code` and `state`; the client redeems the code. For a
/// client in `ATTESTATION_OFFER_CLIENTS` the page first shows the KyCH attestation offer (an `openid-credential-offer://`
/// link of this gateway, its QR code) and stays until the person continues.
/// Fails, rather than skips, when the browser or selenium is missing (scripts/test installs them).
/// With `KYCH_SCREENSHOT_DIR` set, the script also saves the README's screenshots there.
@Suite struct PageBrowserTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/browser/verification_page.py")
    static let timeout: Duration = .seconds(120)

    @Test(arguments: [false, true]) func aPersonCompletesTheVerificationInARealBrowser(offer: Bool) async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "\(tool) is missing: install Debian's chromium and chromium-driver (scripts/test does)")
        }
        let callbackPort = TestPorts.next()
        let redirect = "http://127.0.0.1:\(callbackPort)/kyc-proof/kych"
        let harness = try await GatewayHarness.make(verifier: .faultInjecting(), clientSettings: "REDIRECT_URI = \(redirect)")
        defer { harness.standIn.stop() }
        let port = TestPorts.next()
        let gateway = try await GatewayProcess(configPath: try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(harness.db.connectionString)
            VC_CLAIMS = {given_name, family_name, birth_date, age_over_18, portrait, personal_administrative_number}
            \(offer ? "BASE_URL = http://127.0.0.1:\(port)\nATTESTATION_OFFER_CLIENTS = {test-client}" : "")
            """), baseURL: "http://127.0.0.1:\(port)")
        do {
            try await completeInBrowser(harness: harness, gateway: gateway, redirect: redirect, callbackPort: callbackPort, offer: offer)
        } catch {
            _ = await gateway.terminate()
            throw error
        }
        #expect(await gateway.terminate() == 0)
    }

    private func completeInBrowser(harness: GatewayHarness, gateway: GatewayProcess, redirect: String, callbackPort: Int,
                                   offer: Bool) async throws {
        let setup = try await HTTP.post(gateway.baseURL + "/setup/test-client",
                                        headers: [("Authorization", "Bearer \(GatewayHarness.secret)")], body: "")
        let nonce = try #require(setup.json["nonce"]?.stringValue)
        let url = gateway.baseURL + "/authorize/\(nonce)?response_type=code&client_id=test-client"
            + "&redirect_uri=\(redirect.urlEscaped)&state=\(GatewayHarness.state)"

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kych-browser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let readyFile = work.appendingPathComponent("ready.json"), stdout = work.appendingPathComponent("stdout")
        let stderr = work.appendingPathComponent("stderr")
        var arguments = ["python3", Self.script.path, url, "--callback-port", "\(callbackPort)", "--ready-file", readyFile.path]
        if offer { arguments.append("--offer") }
        if let directory = ProcessInfo.processInfo.environment["KYCH_SCREENSHOT_DIR"] {
            arguments += ["--screenshots", URL(fileURLWithPath: directory, relativeTo: TestEnvironment.packageRoot).path]
        }
        let browser = try Self.start(arguments, stdout: stdout, stderr: stderr)
        defer { if browser.isRunning { browser.terminate() } }
        func failure(_ what: String) -> String {
            "\(what); browser script stderr: \((try? String(contentsOf: stderr, encoding: .utf8)) ?? "")"
        }

        // The person sees the page: QR code, wallet button and the claims, in English and after switching to German.
        let deadline = ContinuousClock.now + Self.timeout
        while !FileManager.default.fileExists(atPath: readyFile.path) && browser.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let ready = try #require(try? JSON.parse(Data(contentsOf: readyFile)), "\(failure("the page was not shown"))")
        #expect(ready["claims_en"] == ["Given names", "Family name", "Date of birth", "Aged 18 or over"])
        #expect(ready["claims_de"] == ["Vornamen", "Nachname", "Geburtsdatum", "Mindestens 18 Jahre alt"])
        #expect(ready["status_de"] == "Warten auf Ihre Bestätigung in der swiyu-Wallet…")
        #expect(ready["csp_violations"] == [], "the page's own style and script must pass its CSP")
        #expect(harness.standIn.createdIDs.count == 1, "the language switch showed the same verification")

        // The wallet presents; the verifier tells KyCH; the page notices and leaves for the client.
        let id = try #require(harness.standIn.createdIDs.first)
        harness.standIn.succeed(id, claims: GatewayHarness.claims)
        let hook = try await HTTP.post(gateway.baseURL + "/notification", headers: [("Content-Type", "application/json")],
                                       body: #"{"verification_id":"\#(id)","timestamp":"2026-01-01T00:00:00Z"}"#)
        #expect(hook.status == 204)
        while browser.isRunning && ContinuousClock.now < deadline + Self.timeout {
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(!browser.isRunning && browser.terminationStatus == 0, "\(failure("the browser script failed"))")
        let report = try JSON.parse(Data(contentsOf: stdout))
        if offer {
            // The offer the page showed (in German, as switched): this gateway's attestation, with an issuer_state.
            #expect(report["offer_title"] == "Wiederverwendbare KyCH-Bestätigung in Ihre Wallet aufnehmen")
            let link = try #require(report["offer_link"]?.stringValue)
            let text = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "credential_offer" }?.value)
            let credentialOffer = try JSON.parse(Data(text.utf8))
            #expect(credentialOffer["credential_issuer"] == .string(gateway.baseURL))
            #expect(credentialOffer["credential_configuration_ids"] == ["kych_attestation"])
            #expect(credentialOffer["grants"]?["authorization_code"]?["issuer_state"]?.stringValue?.isEmpty == false)
        } else {
            #expect(report["offer_link"] == nil)
        }
        let finalURL = try #require(report["final_url"]?.stringValue)
        #expect(finalURL.hasPrefix(redirect + "?"))
        let query = URLComponents(string: finalURL)?.queryItems?.reduce(into: [String: String]()) { $0[$1.name] = $1.value } ?? [:]
        #expect(query["state"] == GatewayHarness.state)
        let code = try #require(query["code"], "no code in \(finalURL)")

        // The client redeems the code and reads the claims.
        let token = try await HTTP.post(gateway.baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "client_id=test-client&redirect_uri=\(redirect.urlEscaped)&client_secret=\(GatewayHarness.secret.urlEscaped)"
                + "&code=\(code.urlEscaped)&grant_type=authorization_code")
        let accessToken = try #require(token.json["access_token"]?.stringValue, "\(token.body)")
        let info = try await HTTP.get(gateway.baseURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
        #expect(info.json["claims"]?["given_name"] == "Helvetia")
    }

    /// Starts `arguments` (through `env`) with its output going to files, so a chatty browser cannot block on a pipe.
    private static func start(_ arguments: [String], stdout: URL, stderr: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}
