import Foundation
import KychCore
import KychOAuth
import Testing

/// The real gateway executable: several instances on one database, Unix sockets, graceful shutdown, logs.
@Suite struct GatewayProcessTests {
    private func config(_ harness: GatewayHarness, binding: String) throws -> String {
        try temporaryFile("""
            [kych-oauth2-gateway]
            \(binding)
            DATABASE = \(harness.db.connectionString)
            VC_CLAIMS = {given_name, family_name, birth_date, age_over_18, portrait, personal_administrative_number}
            """)
    }

    @Test func twoGatewaysShareOneFlow() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.whileVerifierRuns { try await shareOneFlow(harness) }
    }

    private func shareOneFlow(_ harness: GatewayHarness) async throws {
        let portA = TestPorts.next(), portB = TestPorts.next()
        let a = try await GatewayProcess(configPath: try config(harness, binding: "HOST = 127.0.0.1\nPORT = \(portA)"),
                                         baseURL: "http://127.0.0.1:\(portA)")
        let b = try await GatewayProcess(configPath: try config(harness, binding: "HOST = 127.0.0.1\nPORT = \(portB)"),
                                         baseURL: "http://127.0.0.1:\(portB)")
        let secret = GatewayHarness.secret, state = GatewayHarness.state, redirect = GatewayHarness.redirect

        // Every step goes to the other instance.
        let setup = try await HTTP.post(a.baseURL + "/setup/test-client", headers: [("Authorization", "Bearer \(secret)")], body: "")
        let nonce = try #require(setup.json["nonce"]?.stringValue)
        let authorize = try await HTTP.get(
            b.baseURL + "/authorize/\(nonce)?response_type=code&client_id=test-client&redirect_uri=\(redirect.urlEscaped)&state=\(state)",
            headers: [("Accept", "application/json")])
        let id = try #require(authorize.json["verification_id"]?.stringValue)
        let cookie = String(try #require(authorize.headers["set-cookie"]).split(separator: ";")[0])
        // The person's wallet presents to the built-in verifier (whose webhook is sent here by hand, to the other instance).
        let deeplink = try #require(authorize.json["verification_deeplink"]?.stringValue)
        #expect(try await harness.wallet.answer(deeplink).status == 200)
        let hook = try await HTTP.post(a.baseURL + "/notification", headers: [("Content-Type", "application/json")],
                                       body: #"{"verification_id":"\#(id)","timestamp":"2026-01-01T00:00:00Z"}"#)
        #expect(hook.status == 204)
        #expect(try await HTTP.get(b.baseURL + "/status/\(id)?state=\(state)").json["status"] == "verified")
        let finalize = try await HTTP.get(a.baseURL + "/finalize/\(id)?state=\(state)", headers: [("Cookie", cookie)])
        #expect(finalize.status == 302)
        let location = try #require(finalize.headers["location"])
        let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
        let token = try await HTTP.post(b.baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "client_id=test-client&redirect_uri=\(redirect.urlEscaped)&state=\(state)&client_secret=\(secret.urlEscaped)&code=\(code)&grant_type=authorization_code")
        let accessToken = try #require(token.json["access_token"]?.stringValue, "\(token.body)")
        let info = try await HTTP.get(a.baseURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
        #expect(info.json["claims"] == ["given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12", "age_over_18": true])
        #expect(info.json["credential"]?["issuer"] == .string(harness.acceptedIssuer))
        // A replay at the other instance is refused.
        let replay = try await HTTP.post(a.baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "client_id=test-client&redirect_uri=\(redirect.urlEscaped)&client_secret=\(secret.urlEscaped)&code=\(code)&grant_type=authorization_code")
        #expect(replay.status == 400 && replay.json["error"] == "invalid_grant")

        #expect(await a.terminate() == 0)
        #expect(await b.terminate() == 0)

        // Nothing secret reached the logs: no client secret, nonce, code, token, cookie or claim value.
        let logs = a.log + b.log
        #expect(logs.contains("session created") && logs.contains("access token issued"))
        for secretValue in [secret, "test-secret", nonce, code, accessToken, String(cookie.dropFirst("kych_binding=".count)),
                            "Helvetia", "National", "1848-09-12"] {
            #expect(!logs.contains(secretValue), "log leaks a secret value")
        }
    }

    @Test func unixSocketBindingModeStaleFileAndCleanup() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.whileVerifierRuns { try await bindUnixSocket(harness) }
    }

    private func bindUnixSocket(_ harness: GatewayHarness) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kych-sock-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("kych.sock").path
        try makeStaleSocket(at: path)
        let conf = try config(harness, binding: "UNIXPATH = \(path)\nUNIXPATH_MODE = 660")
        let gateway = try await GatewayProcess(configPath: conf, baseURL: "http+unix://\(path.urlEscaped)")
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(try await HTTP.get(gateway.baseURL + "/health").json == ["status": "ok"])
        #expect(await gateway.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: path))

        // A non-socket file at UNIXPATH is never removed.
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        let refused = try await Run.program("kych-oauth2-gateway", ["-c", conf])
        #expect(refused.status != 0 && refused.stderr.contains("is not a socket"))
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }

    @Test func sigtermDrainsInFlightRequests() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.whileVerifierRuns { try await drainOnSIGTERM(harness) }
    }

    private func drainOnSIGTERM(_ harness: GatewayHarness) async throws {
        let port = TestPorts.next()
        let gateway = try await GatewayProcess(configPath: try config(harness, binding: "HOST = 127.0.0.1\nPORT = \(port)"),
                                               baseURL: "http://127.0.0.1:\(port)")
        let setup = try await HTTP.post(gateway.baseURL + "/setup/test-client", headers: [("Authorization", "Bearer \(GatewayHarness.secret)")], body: "")
        let nonce = try #require(setup.json["nonce"]?.stringValue)
        let authorize = try await HTTP.get(gateway.baseURL + "/authorize/\(nonce)?response_type=code&client_id=test-client&redirect_uri=\(GatewayHarness.redirect.urlEscaped)",
                                           headers: [("Accept", "application/json")])
        let id = try #require(authorize.json["verification_id"]?.stringValue)
        #expect(try await harness.verifierRows() == [id])   // created at the built-in verifier
        // A 20 s long poll in flight when SIGTERM arrives gets its answer (the current status) at once,
        // and the process exits cleanly: shutdown neither drops it nor waits the 20 s out.
        async let poll = HTTP.get(gateway.baseURL + "/status/\(id)?timeout_ms=20000")
        try await Task.sleep(for: .milliseconds(500))
        let signalled = ContinuousClock.now
        let exit = await gateway.terminate()
        let reply = try await poll
        #expect(reply.status == 200 && reply.json["status"] == "authorized")
        #expect(ContinuousClock.now - signalled < .seconds(5))
        #expect(exit == 0)
    }

    /// Leaves a socket file behind, as a crashed gateway would.
    private func makeStaleSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(rc == 0)
    }
}
