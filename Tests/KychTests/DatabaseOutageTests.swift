import Foundation
import KychCore
import KychPostgres
import KychStorage
import Testing

/// Issue 12, finding 13: a PostgreSQL outage. The gateway answers 503 with `Retry-After` within seconds (no minute-long
/// hang, no 500), as OAuth JSON for the API and as a page for the browser, and recovers by itself when the database is
/// back. On a cluster of the test's own, which it stops and starts.
@Suite struct DatabaseOutageTests {
    @Test func aStoppedDatabaseIsA503WithRetryAfterUntilItIsBack() async throws {
        let postgres = try await PrivatePostgres()
        defer { postgres.destroy() }
        let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
        _ = try await PostgresDatabase.withConnection(try postgres.url, logger: TestEnvironment.logger) { try await installer.install(on: $0) }
        let port = TestPorts.next()
        let gateway = try await GatewayProcess(configPath: try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = postgres://postgres@127.0.0.1:\(postgres.port)/postgres
            """), baseURL: "http://127.0.0.1:\(port)")
        defer { _ = gateway.process.isRunning ? kill(gateway.process.processIdentifier, SIGKILL) : 0 }
        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let tokenBody = "grant_type=authorization_code&code=c&client_id=nobody&client_secret=secret-token:wrong"
        #expect(try await HTTP.post(gateway.baseURL + "/token", headers: form, body: tokenBody).status == 401, "a pooled connection first")

        try postgres.stop()
        let clock = ContinuousClock()
        let health = try await timed(clock) { try await HTTP.get(gateway.baseURL + "/health") }
        #expect(health.status == 503 && health.headers["retry-after"] == "5")
        #expect(health.json["status"] == "unavailable" && health.json["reason"]?.stringValue?.hasPrefix("database unavailable") == true,
                "\(health.body)")

        // The process answers; it is not ready (issue 14).
        #expect(try await timed(clock) { try await HTTP.get(gateway.baseURL + "/health/live") }.json == ["status": "ok"])
        let ready = try await timed(clock) { try await HTTP.get(gateway.baseURL + "/health/ready") }
        #expect(ready.status == 503 && ready.json["reason"]?.stringValue?.hasPrefix("database unavailable") == true, "\(ready.body)")

        let token = try await timed(clock) { try await HTTP.post(gateway.baseURL + "/token", headers: form, body: tokenBody) }
        #expect(token.status == 503 && token.headers["retry-after"] == "5")
        #expect(token.headers["content-type"] == "application/json")
        #expect(token.json["error"] == "temporarily_unavailable" && token.json["error_description"]?.stringValue?.isEmpty == false)

        let authorize = try await timed(clock) {
            try await HTTP.get(gateway.baseURL + "/authorize/some-nonce?response_type=code&client_id=nobody", headers: [("Accept", "text/html")])
        }
        #expect(authorize.status == 503 && authorize.headers["retry-after"] == "5")
        #expect(authorize.headers["content-type"]?.hasPrefix("text/html") == true && authorize.body.contains("HTTP 503"), "\(authorize.body)")
        #expect(gateway.process.isRunning)

        try postgres.start()
        var recovered = false
        for _ in 0..<120 where !recovered {
            recovered = (try? await HTTP.get(gateway.baseURL + "/health"))?.status == 200
            if !recovered { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(recovered, "the gateway did not recover within a minute of the database's return")
        #expect(try await HTTP.post(gateway.baseURL + "/token", headers: form, body: tokenBody).status == 401)
        #expect(await gateway.terminate() == 0)
    }

    /// Runs `request`, expecting an answer well before a minute-long hang (a guard, not a performance target).
    private func timed(_ clock: ContinuousClock, _ request: () async throws -> HTTP.Reply) async throws -> HTTP.Reply {
        let start = clock.now
        let reply = try await request()
        #expect(clock.now - start < .seconds(10), "answered after \(clock.now - start)")
        return reply
    }
}

/// Issue 12, finding 15: `/health` is not ok while the schema the server needs is missing.
@Suite struct HealthSchemaTests {
    /// The gateway refuses to start without its schema (it reads its signing keys); a patch unrecorded under it and one
    /// dropped are reported. `/health/ready` is 200 once the signing keys were opened, 503 while a patch is missing;
    /// `/health/live` answers all along (issue 14).
    @Test func aGatewayWhoseSchemaIsDroppedIsNotHealthy() async throws {
        let db = try await TestDatabase.create()
        let port = TestPorts.next()
        let gateway = try await GatewayProcess(configPath: try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(db.connectionString)
            """), baseURL: "http://127.0.0.1:\(port)")
        var ready = try await HTTP.get(gateway.baseURL + "/health/ready")
        for _ in 0..<50 where ready.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            ready = try await HTTP.get(gateway.baseURL + "/health/ready")
        }
        #expect(ready.status == 200 && ready.json == ["status": "ok"], "\(ready.body)")
        let last = try #require(SchemaInstaller.gatewayPatches.last)
        try await db.execute("DELETE FROM _v.patches WHERE patch_name = '\(last)'")
        let unpatched = try await HTTP.get(gateway.baseURL + "/health/ready")
        #expect(unpatched.status == 503 && unpatched.headers["retry-after"] == "5")
        #expect(unpatched.json["reason"]?.stringValue?.contains(last) == true, "\(unpatched.body)")
        #expect(try await HTTP.get(gateway.baseURL + "/health/live").json == ["status": "ok"])
        try await db.execute("DROP SCHEMA oauth2gw CASCADE")
        try await db.execute("DROP SCHEMA _v CASCADE")
        let health = try await HTTP.get(gateway.baseURL + "/health")
        #expect(await gateway.terminate() == 0)
        #expect(health.status == 503 && health.headers["retry-after"] == "5")
        let reason = try #require(health.json["reason"]?.stringValue, "\(health.body)")
        #expect(reason.contains("oauth2gw-0001") && reason.contains("kych-dbinit"), "\(reason)")
    }

    @Test func theVerifierSchemaIsNeededOnlyWhereTheVerifierIsServed() async throws {
        let db = try await TestDatabase.create()   // the gateway's patches only
        try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            #expect(await stores.health(.gateway) == nil)
            let reason = await stores.health([.gateway, .verifier])
            #expect(reason?.contains("verifier-0001") == true && reason?.contains("oauth2gw") == false, "\(reason ?? "ok")")
        }
        let empty = try await TestDatabase.create(installSchema: false)
        try await Stores.with(empty.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            #expect(await stores.health(.verifier)?.contains("verifier-0001") == true)
        }
        try await Stores.with("sqlite::memory:", sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            #expect(await stores.health([.gateway, .verifier]) == nil)
        }
    }
}
