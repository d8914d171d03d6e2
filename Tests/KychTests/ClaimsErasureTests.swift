import Foundation
import KychCore
import KychGateway
import KychOAuth
import KychPostgres
import KychStorage
import KychVerifierModel
import KychWallet
import Testing

/// Privacy (issue 14): once `/info` delivered a person's claims, no claim value is left in the gateway's tables, and
/// the built-in verifier's copy of the presentation's result goes with its verification's expiry. Checked on what an
/// operator or an attacker with the files would see: a `pg_dump` of the PostgreSQL database, and the bytes of the
/// SQLite file.
@Suite struct ClaimsErasureTests {
    @Test(arguments: Backend.allCases)
    func noClaimValueIsLeftAfterDelivery(_ backend: Backend) async throws {
        let db: TestDatabase? = backend == .postgres ? try await TestDatabase.createWithVerifier() : nil
        let directory = try VerifierTestConfig.temporaryDirectory()
        let sqliteFile = directory.appendingPathComponent("kych.db").path
        let database = db?.connectionString ?? "sqlite://\(sqliteFile)"
        let wallet = try Wallet(directory: directory.appendingPathComponent("wallet"))
        try wallet.issue()
        let port = TestPorts.next(), baseURL = "http://127.0.0.1:\(port)"
        let token = "secret-token:erasure-management"
        let path = try temporaryFile(
            VerifierTestConfig.gatewaySections(port: port, database: database, verifierURL: baseURL, acceptedIssuers: [try wallet.issuerDID()])
            + """

            VERIFIER_BEARER_TOKEN = \(token)
            \(VerifierTestConfig.embeddedVerifierSection(baseURL: baseURL, directory: directory, token: token))
            """)
        let config = try GatewayConfig.load(path: path)
        try await Stores.with(database, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            _ = try await stores.clients.syncClients(config.clients.map { Client(config: $0) }, prune: false)
        }
        let gateway = try await RunningApp(try await buildApplication(config, logger: TestEnvironment.logger), baseURL: baseURL)
        let browser = GatewayBrowser(baseURL: baseURL)
        let started = try await browser.start()
        #expect(try await wallet.present(try await PresentationRequest.fetch(started.deeplink)).status == 200)
        #expect(try await browser.status(started) == "verified")
        let code = try #require(try await browser.finalize(started)["code"])
        let form = "grant_type=authorization_code&code=\(code.urlEscaped)&client_id=\(GatewayBrowser.clientID)"
            + "&client_secret=\(GatewayBrowser.secret.urlEscaped)&redirect_uri=\(GatewayBrowser.redirect.urlEscaped)"
        let tokenReply = try await HTTP.post(baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        let accessToken = try #require(tokenReply.json["access_token"]?.stringValue, "\(tokenReply.body)")
        let info = try await HTTP.get(baseURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
        let claims = try #require(info.json["claims"]?.objectValue)
        // The values to look for: every text claim, e.g. the given and family names and the birth date.
        let values = claims.values.compactMap(\.stringValue).filter { $0.count >= 4 }
        try #require(values.count >= 3, "\(claims)")
        // Delivered once.
        let again = try await HTTP.get(baseURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
        #expect(again.status == 401 && again.json["error"] == "invalid_token")
        await gateway.stop()

        // The gateway's tables hold none of them; the verifier's result still does, until its verification expires.
        let gatewayTables = try await contents(backend, db: db, file: sqliteFile, gatewayOnly: true)
        for value in values { #expect(!gatewayTables.contains(value), "\(value) is still in the gateway's tables") }
        let everything = try await contents(backend, db: db, file: sqliteFile, gatewayOnly: false)
        #expect(values.allSatisfy { everything.contains($0) }, "the verifier's result is gone before its verification expired")
        let expiry = Date().addingTimeInterval(TimeInterval(try #require(config.verifier).verificationTTLSeconds) + 1)
        let purged = try await Stores.with(database, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            try await stores.verifications.purgeExpired(now: expiry)
        }
        #expect(purged == 1)
        let afterPurge = try await contents(backend, db: db, file: sqliteFile, gatewayOnly: false)
        for value in values { #expect(!afterPurge.contains(value), "\(value) is still in the database") }
    }

    /// What the database holds: `pg_dump`'s output, or the SQLite file's bytes (its write-ahead log checkpointed);
    /// `gatewayOnly`: the gateway's tables alone (`pg_dump -n oauth2gw`, `sqlite3 .dump` of each).
    private func contents(_ backend: Backend, db: TestDatabase?, file: String, gatewayOnly: Bool) async throws -> String {
        if let db {
            let dump = try await Run.program("/usr/bin/pg_dump", ["--no-owner"] + (gatewayOnly ? ["-n", "oauth2gw"] : []) + [db.connectionString])
            try #require(dump.status == 0, "\(dump.stderr)")
            return dump.stdout
        }
        if gatewayOnly {
            let tables = ["access_tokens", "authorization_codes", "verification_sessions", "clients", "signing_keys", "server_secrets"]
            let dump = try await Run.program("/usr/bin/sqlite3", [file] + tables.map { ".dump \($0)" })
            try #require(dump.status == 0 && dump.stdout.contains("verification_sessions"), "\(dump.stderr)")
            return dump.stdout
        }
        let checkpoint = try await Run.program("/usr/bin/sqlite3", [file, "PRAGMA wal_checkpoint(TRUNCATE);"])
        try #require(checkpoint.status == 0, "\(checkpoint.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: file + "-wal")) { bytes += wal }
        return String(decoding: bytes, as: UTF8.self)
    }
}

