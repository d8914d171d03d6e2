import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychSwiyuClient
import PostgresNIO
import Testing

@Suite struct PurgeTests {
    @Test func purgeEndsWaitingSessionsAndDeletesDeadRows() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let waiting = try await flow.start()
            let done = try await flow.start()
            let info = try await flow.complete(done)   // a real presentation to the built-in verifier
            #expect(info["claims"]?["given_name"] == "Helvetia")
            #expect(try await flow.status(waiting.verificationID) == "authorized")
        }
        try await harness.db.execute("UPDATE oauth2gw.verification_sessions SET expires_at = now() - interval '1 minute'")
        let report = try await harness.db.withPool { pool in
            try await harness.purge(pool)
        }
        #expect(report.expiredSessions == 1 && report.deletedSessions == 0)
        #expect(try await harness.db.strings("SELECT status FROM oauth2gw.verification_sessions ORDER BY status") == ["completed", "expired"])

        // Past the retention, everything without a live token goes; the completed flow's token keeps its session.
        try await harness.db.execute("UPDATE oauth2gw.verification_sessions SET expires_at = now() - interval '2 hours'")
        try await harness.db.execute("UPDATE oauth2gw.authorization_codes SET expires_at = now() - interval '2 hours'")
        let second = try await harness.db.withPool { pool in
            try await harness.purge(pool)
        }
        #expect(second.deletedSessions == 1 && second.deletedTokens == 0 && second.deletedCodes == 0)
        try await harness.db.execute("UPDATE oauth2gw.access_tokens SET expires_at = now() - interval '2 hours'")
        let third = try await harness.db.withPool { pool in
            try await harness.purge(pool)
        }
        #expect(third.deletedTokens == 1 && third.deletedCodes == 1 && third.deletedSessions == 1)
        #expect(try await harness.db.strings("SELECT count(*)::text FROM oauth2gw.verification_sessions") == ["0"])
    }

    /// Privacy (issue 14): claims nobody read (a code never redeemed, a token never used at `/info`) leave the database
    /// once neither can reach them any more: after the purge a `pg_dump` of the gateway's tables holds no claim value.
    @Test func claimsNeverDeliveredAreGoneFromADumpAfterExpiry() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            _ = try await flow.verifiedCode()   // verified, code issued, never redeemed
            let code = try await flow.verifiedCode()
            #expect(try await flow.token(code: code).status == .ok)   // a token, never used
        }
        let values = ["Helvetia", "National", "1848-09-12"]
        func gatewayDump() async throws -> String {
            let dump = try await Run.program("/usr/bin/pg_dump", ["--no-owner", "-n", "oauth2gw", harness.db.connectionString])
            try #require(dump.status == 0, "\(dump.stderr)")
            return dump.stdout
        }
        await #expect(values.allSatisfy(try gatewayDump().contains), "the claims are stored while a code or token can reach them")
        try await harness.db.execute("UPDATE oauth2gw.verification_sessions SET expires_at = now() - interval '1 minute'")
        try await harness.db.execute("UPDATE oauth2gw.authorization_codes SET expires_at = now() - interval '1 minute'")
        try await harness.db.execute("UPDATE oauth2gw.access_tokens SET expires_at = now() - interval '1 minute'")
        let report = try await harness.db.withPool { pool in try await harness.purge(pool) }
        #expect(report.erasedClaims == 2)
        let dump = try await gatewayDump()
        for value in values { #expect(!dump.contains(value), "\(value) is still in the gateway's tables") }
    }
}

extension GatewayHarness {
    /// The purge job's rules (KychOAuth) on the harness's PostgreSQL store.
    func purge(_ pool: PostgresClient) async throws -> PurgeReport {
        let store = PostgresFlowStore(client: pool, logger: TestEnvironment.logger)
        let verifier = SwiyuVerifierClient(builder: VerificationRequestBuilder(config: config), logger: TestEnvironment.logger)
        return try await AuthorizationServer(config: config, clients: PostgresClientRepository(client: pool, logger: TestEnvironment.logger),
                                             store: store, verifier: verifier, logger: TestEnvironment.logger).purge(retention: 3600)
    }
}
