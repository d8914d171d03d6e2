import Foundation
import KychCore
import Testing

/// An off-the-shelf OpenID Connect relying party, Apache with Debian's mod_auth_openidc, configured with nothing about
/// KyCH but `OIDCProviderMetadataURL` (its discovery document), logs a person in through the wallet: a real
/// `kych-oauth2-gateway` with its embedded verifier on SQLite, behind a throwaway Apache terminating TLS with a
/// self-signed certificate (as in production; the relying party trusts it with `OIDCCABundlePath`), and a second
/// throwaway Apache as the relying party (`Tests/rp/apache-openidc.conf`) whose `/protected/` page prints the claims
/// the module passes on. Headless Chromium (`Tests/rp/modoidc_login.py`) opens the page, lands on KyCH's
/// verification page, the wallet (`kych-wallet present`) presents, and the browser comes back to the page, which must
/// show the verified claims and the `sub`. Fails, rather than skips, when Apache or the module is missing
/// (scripts/test installs them). Everything started is stopped, and the temporary folder removed, whatever happens.
@Suite struct ModAuthOpenIDCTests {
    static let rpDirectory = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp")
    static let apache = "/usr/sbin/apache2"
    static let module = "/usr/lib/apache2/modules/mod_auth_openidc.so"
    static let clientID = "apache-openidc"
    static let secret = "secret-token:mod-auth-openidc-secret"

    /// A throwaway Apache: its own ServerRoot (`directory`), configuration and pid file, in the foreground as a child
    /// of the test, its settings passed through the environment (`${…}` in the configuration). Started with
    /// ``spawn(_:environment:output:)``: from Foundation's Process, with SIGTERM blocked, an Apache that cannot be
    /// stopped would outlive the test.
    final class Apache: @unchecked Sendable {
        private(set) var pid: pid_t = 0
        private var exited = false
        let directory: URL
        var errorLog: String { (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? "" }

        /// Starts Apache with `config` and waits until it answers plain HTTP on `port` (a TLS port answers it with 400).
        init(config: URL, directory: URL, port: Int, environment: [String: String]) async throws {
            self.directory = directory
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let output = directory.appendingPathComponent("output.log").path
            let arguments = [ModAuthOpenIDCTests.apache, "-f", config.path, "-DFOREGROUND"]
            let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                .merging(["KYCH_APACHE_DIR": directory.path]) { $1 }
            pid = try spawn(arguments, environment: variables, output: output)
            for _ in 0..<100 {
                if (try? await HTTP.get("http://127.0.0.1:\(port)/")) != nil { return }
                if !isRunning { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let startOutput = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            await terminate()
            throw TestSetupError("Apache (\(config.lastPathComponent)) did not start: \(startOutput) \(errorLog)")
        }

        var isRunning: Bool {
            if !exited {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                exited = reaped == pid || (reaped == -1 && errno == ECHILD)
            }
            return !exited
        }

        /// SIGTERM: the foreground parent stops its workers and exits; SIGKILL after 10 seconds.
        func terminate() async {
            guard pid > 0 else { return }
            if isRunning { kill(pid, SIGTERM) }
            for _ in 0..<100 where isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if isRunning {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                exited = true
            }
        }
    }

    /// What the test started, stopped in reverse order.
    final class Started: @unchecked Sendable {
        var gateway: GatewayProcess?
        var apaches: [Apache] = []

        func stopAll() async {
            for apache in apaches.reversed() { await apache.terminate() }
            if let gateway {
                _ = await gateway.terminate()
                try? FileManager.default.removeItem(at: gateway.logFile)
            }
        }
    }

    @Test func modAuthOpenIDCLogsAPersonInThroughTheWallet() async throws {
        for tool in [Self.apache, Self.module, "/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.fileExists(atPath: tool), "\(tool) is missing: run scripts/test, which installs it")
        }
        let openssl = try #require(Run.which("openssl"), "openssl is missing")
        let python = try #require(Run.which("python3"), "python3 is missing")

        let directory = try VerifierTestConfig.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let started = Started()
        do {
            try await run(in: directory, openssl: openssl, python: python, started: started)
        } catch {
            await started.stopAll()
            throw error
        }
        await started.stopAll()
    }

    private func run(in directory: URL, openssl: String, python: String, started: Started) async throws {
        // A self-signed certificate for 127.0.0.1, for the TLS proxy and as the relying party's CA bundle.
        let cert = directory.appendingPathComponent("tls-cert.pem").path, key = directory.appendingPathComponent("tls-key.pem").path
        let made = try await Run.program(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE",
            "-keyout", key, "-out", cert,
        ])
        try #require(made.status == 0, "openssl: \(made.stderr)")

        let tlsPort = TestPorts.next(), rpPort = TestPorts.next()
        let baseURL = "https://127.0.0.1:\(tlsPort)", rpURL = "http://127.0.0.1:\(rpPort)"

        // The gateway: its public address (BASE_URL, the issuer) is the TLS proxy's; the wallet reaches the embedded
        // verifier on the plain loopback port (kych-wallet takes https only with a trusted certificate).
        let walletGateway = try await WalletGateway.start(mainSettings: "BASE_URL = \(baseURL)") { verifierSettings in
            """
            [client_apache]
            CLIENT_ID = \(Self.clientID)
            CLIENT_SECRET = \(Self.secret)
            CLIENT_NAME = Apache mod_auth_openidc
            REDIRECT_URI = \(rpURL)/protected/redirect_uri
            \(verifierSettings)
            """
        }
        let gateway = walletGateway.process, gatewayPort = walletGateway.port, wallet = walletGateway.wallet
        started.gateway = gateway

        let proxy = try await Apache(
            config: Self.rpDirectory.appendingPathComponent("apache-tls-proxy.conf"), directory: directory.appendingPathComponent("tls-proxy"),
            port: tlsPort, environment: ["KYCH_TLS_PORT": "\(tlsPort)", "KYCH_TLS_CERT": cert, "KYCH_TLS_KEY": key,
                                         "KYCH_GATEWAY_PORT": "\(gatewayPort)"])
        started.apaches.append(proxy)

        // The relying party's document root: a copy, so that Apache's workers (www-data when the test runs as root)
        // read it from the temporary folder.
        let docroot = directory.appendingPathComponent("htdocs")
        try FileManager.default.createDirectory(at: docroot, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.rpDirectory.appendingPathComponent("htdocs/protected"),
                                         to: docroot.appendingPathComponent("protected"))
        let rp = try await Apache(
            config: Self.rpDirectory.appendingPathComponent("apache-openidc.conf"), directory: directory.appendingPathComponent("rp"),
            port: rpPort, environment: ["KYCH_RP_PORT": "\(rpPort)", "KYCH_TLS_PORT": "\(tlsPort)", "KYCH_TLS_CERT": cert,
                                        "KYCH_RP_DOCROOT": docroot.path, "KYCH_RP_CLIENT_ID": Self.clientID,
                                        "KYCH_RP_CLIENT_SECRET": Self.secret,
                                        "KYCH_RP_CRYPTO_PASSPHRASE": "secret-token:\(UUID().uuidString)"])
        started.apaches.append(rp)

        // Chromium and chromedriver keep their profile and singleton folders under TMPDIR: inside ours, so they go too.
        let browserTemp = directory.appendingPathComponent("browser-tmp")
        try FileManager.default.createDirectory(at: browserTemp, withIntermediateDirectories: true)
        let login = try await Run.program(python, [
            Self.rpDirectory.appendingPathComponent("modoidc_login.py").path, rpURL, "--kych-url", baseURL,
            "--wallet-bin", WalletGateway.walletBinary, "--wallet", wallet,
        ], environment: ["TMPDIR": browserTemp.path])
        let logs = "\nrelying party: \(rp.errorLog)\nTLS proxy: \(proxy.errorLog)\ngateway: \(gateway.log)"
        try #require(login.status == 0, "modoidc_login.py failed: \(login.stderr)\(logs)")
        let report = try JSON.parse(Data(login.stdout.utf8))

        // mod_auth_openidc found every endpoint in the discovery document and sent a standard request.
        #expect(report["kych_url"]?.stringValue?.hasPrefix(baseURL + "/authorize") == true, "\(report)")
        let request = try #require(report["authorization_request"]?.objectValue, "\(report)")
        #expect(request["response_type"] == "code" && request["client_id"] == .string(Self.clientID), "\(request)")
        #expect(request["scope"] == "openid given_name age_over_18", "\(request)")
        #expect(request["redirect_uri"] == .string("\(rpURL)/protected/redirect_uri"), "\(request)")
        #expect(request["state"] != nil && request["nonce"] != nil, "\(request)")

        // The protected page sees the verified claims, from the ID token (iss, aud, sub) and /userinfo.
        #expect(report["final_url"] == .string("\(rpURL)/protected/"), "\(report)")
        let claims = try #require(report["claims"]?.objectValue, "\(report)")
        #expect(claims["given_name"] == "Helvetia", "\(claims)\(logs)")
        #expect(claims["age_over_18"] == "1", "mod_auth_openidc passes JSON true as 1: \(claims)")
        #expect(claims["iss"] == .string(baseURL), "\(claims)")
        #expect(claims["aud"] == .string(Self.clientID), "\(claims)")
        let sub = try #require(claims["sub"]?.stringValue, "\(claims)")
        #expect(!sub.isEmpty && sub != "(none)" && !sub.contains("Helvetia"), "\(claims)")
        #expect(claims["REMOTE_USER"]?.stringValue?.hasPrefix(sub) == true, "REMOTE_USER is the sub: \(claims)")
        #expect(Int(claims["auth_time"]?.stringValue ?? "") != nil, "\(claims)")
        #expect(!gateway.log.contains(Self.secret), "the client secret must not be logged")
    }
}
