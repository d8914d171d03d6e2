import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychSQLite
import PostgresNIO
import Testing

/// SQLite's numbered migrations: a file written by the release before them is upgraded in place, an up-to-date
/// one is left alone, one from a newer release is refused, and the result has PostgreSQL's columns.
@Suite struct SQLiteMigrationTests {
    /// Written by the release before migrations (user_version 2, with data); see `Fixtures/README.md`.
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sqlite-user-version-2.db")

    static let fixtureClient = Client(
        clientID: "fixture_exchange", secretHash: nil, verifierURL: "https://swiyu-verifier.example.com",
        redirectURI: "https://exchange.example.com/kyc/kych-redirect", acceptedIssuerDIDs: ["did:tdw:trusted_issuer"],
        defaultScope: ["family_name", "given_name"], webhookAPIKeyHeader: "x-api-key", webhookAPIKeyValue: "fixture-webhook-key")

    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kych-migration-\(UUID().uuidString).db").path
    }

    static func copyOfFixture() throws -> String {
        let path = temporaryPath()
        try FileManager.default.copyItem(atPath: fixture.path, toPath: path)
        return path
    }

    /// Opens `path` (migrating it unless `migrating` is false), runs `body`, and closes it again.
    static func with<T: Sendable>(_ path: String, migrating: Bool = true,
                                  _ body: @Sendable (SQLiteDatabase) async throws -> T) async throws -> T {
        let db = try await SQLiteDatabase.open(path: path, installingSchema: migrating, logger: TestEnvironment.logger)
        do {
            let result = try await body(db)
            try await db.close()
            return result
        } catch {
            try? await db.close()
            throw error
        }
    }

    static func userVersion(_ db: SQLiteDatabase) async throws -> Int64? {
        try await db.rows("PRAGMA user_version").first?.int("user_version")
    }

    static func columns(_ db: SQLiteDatabase, _ table: String) async throws -> [String] {
        try await db.rows("SELECT name FROM pragma_table_info(?) ORDER BY name", [.text(table)]).compactMap { $0.string("name") }
    }

    /// Every table's, index's and trigger's definition, by name.
    static func schema(_ db: SQLiteDatabase) async throws -> [String] {
        try await db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").map {
            [$0.string("type"), $0.string("name"), $0.string("tbl_name"), $0.string("sql")].map { $0 ?? "NULL" }.joined(separator: " | ")
        }
    }

    static func rowCounts(_ db: SQLiteDatabase) async throws -> [Int64] {
        var counts: [Int64] = []
        for table in ["clients", "verification_sessions", "authorization_codes", "access_tokens"] {
            counts.append(try await db.rows("SELECT count(*) AS n FROM \(table)").first?.int("n") ?? -1)
        }
        return counts
    }

    @Test func fixtureIsAtTheReleasedSchema() async throws {
        try await Self.with(try Self.copyOfFixture(), migrating: false) { db async throws in
            #expect(try await Self.userVersion(db) == 2)
            #expect(!(try await Self.columns(db, "verification_sessions").contains("code_challenge")))
            #expect(try await Self.rowCounts(db) == [1, 2, 1, 1])
        }
    }

    @Test func openingTheFixtureUpgradesItInPlace() async throws {
        let path = try Self.copyOfFixture()
        let changes = try await Self.with(path, migrating: false) { try await $0.installSchema() }
        #expect(changes == SQLiteSchemaChanges(migrations: ["3 pkce columns", "4 oauth2gw indexes", "5 signing keys", "6 client settings",
                                                            "7 openid connect", "8 access token format", "9 authorize without setup",
                                                            "10 verifier claim lease", "11 claims erasure", "12 client keys and jwt ids",
                                                            "13 dpop", "14 pushed authorization requests",
                                                            "15 client grant types", "16 attestations"],
                                               createdTables: ["attestations", "pushed_authorization_requests", "seen_jwt_ids", "server_secrets", "signing_keys"]))

        try await Self.with(path) { db in
            #expect(try await Self.userVersion(db) == Int64(SQLiteDatabase.schemaVersion))
            for table in ["verification_sessions", "authorization_codes"] {
                let columns = try await Self.columns(db, table)
                #expect(columns.contains("code_challenge") && columns.contains("code_challenge_method"), "\(table): \(columns)")
            }
            #expect(try await Self.rowCounts(db) == [1, 2, 1, 1])

            // The new CHECK holds, on old rows too.
            await #expect(throws: (any Error).self) {
                try await db.rows("UPDATE authorization_codes SET code_challenge = 'c', code_challenge_method = 'plain'")
            }
            try await db.rows("UPDATE authorization_codes SET code_challenge = 'c', code_challenge_method = 'S256'")

            // The old rows still work through the stores.
            let client = try #require(try await SQLiteClientRepository(db: db).client(id: "fixture_exchange"))
            var expected = Self.fixtureClient
            expected.secretHash = client.secretHash
            #expect(client == expected)
            #expect(Secrets.verifySecret("secret-token:fixture-secret", hash: try #require(client.secretHash)))

            let flow = SQLiteFlowStore(db: db)
            let token = try #require(try await flow.accessToken(hash: Secrets.sha256("fixture-token")))
            #expect(token.sessionID == "fixture-session-completed" && token.clientID == "fixture_exchange" && token.revokedAt == nil)
            #expect(token.claims == ["family_name": "Muster"] && token.vct == "betaid-sdjwt")
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("fixture-code")))
            #expect(code.usedAt != nil && code.clientID == "fixture_exchange" && code.redirectURI == Self.fixtureClient.redirectURI)
            #expect(!(try await flow.redeemCode(serial: code.serial, usedAt: Date(), issuing: NewAccessToken(
                tokenHash: Secrets.sha256("again"), createdAt: Date(), expiresAt: Date().addingTimeInterval(60)))))

            let pending = try #require(try await flow.session(nonce: "fixture-nonce-pending"))
            #expect(pending.status == .pending && pending.clientID == "fixture_exchange" && pending.sessionID == "fixture-session-pending")
            let start = SessionMachine(now: Date()).verificationCreated(
                AuthorizationRequestRecord(redirectURI: Self.fixtureClient.redirectURI, state: "S", scope: ["given_name"],
                                           browserBindingHash: Secrets.sha256("b")),
                VerifierVerification(id: "v-new", requestNonce: "rn", verificationURL: "https://v/v-new", deeplink: "swiyu-verify://?v-new"))
            #expect(try await flow.apply(start, toSession: pending.serial) != nil)
            let authorized = try await flow.session(nonce: "fixture-nonce-pending")
            #expect(authorized?.status == .authorized && authorized?.verification?.id == "v-new")
            #expect(try await flow.createSession(NewSession(clientID: "fixture_exchange", sessionID: "s-new", nonce: "n-new",
                                                            createdAt: Date(), expiresAt: Date().addingTimeInterval(900))) != nil)
        }
    }

    @Test func openingAnUpToDateDatabaseChangesNothing() async throws {
        let fresh = Self.temporaryPath(), upgraded = try Self.copyOfFixture()
        for path in [fresh, upgraded] {
            try await Self.with(path) { _ in }
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(try await Self.with(path, migrating: false) { try await $0.installSchema() } == SQLiteSchemaChanges())
            try await Self.with(path) { db async throws in #expect(try await Self.userVersion(db) == Int64(SQLiteDatabase.schemaVersion)) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(path) changed")
        }
    }

    @Test func aDatabaseFromANewerReleaseIsRefused() async throws {
        let path = try Self.copyOfFixture()
        let newer = SQLiteDatabase.schemaVersion + 1
        try await Self.with(path, migrating: false) { db in _ = try await db.rows("PRAGMA user_version = \(newer)") }

        await #expect(throws: SQLiteSchemaError.newerThanKnown(version: newer, latest: SQLiteDatabase.schemaVersion)) {
            try await Self.with(path) { _ in }
        }
        #expect("\(SQLiteSchemaError.newerThanKnown(version: newer, latest: SQLiteDatabase.schemaVersion))"
            .contains("schema version \(newer), newer than this KyCH knows (\(SQLiteDatabase.schemaVersion))"))
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1\nDATABASE = sqlite://\(path)\n")
        let dbinit = try await Run.program("kych-dbinit", ["-c", conf])
        #expect(dbinit.status != 0 && dbinit.stderr.contains("newer than this KyCH knows"), "\(dbinit)")

        // Nothing was applied to it.
        try await Self.with(path, migrating: false) { db async throws in
            #expect(try await Self.userVersion(db) == Int64(newer))
            #expect(!(try await Self.columns(db, "verification_sessions").contains("code_challenge")))
        }
    }

    @Test func freshAndUpgradedDatabasesHaveTheSameSchema() async throws {
        let fresh = try await Self.with(Self.temporaryPath()) { try await Self.schema($0) }
        let upgraded = try await Self.with(try Self.copyOfFixture()) { try await Self.schema($0) }
        #expect(fresh == upgraded)
        #expect(fresh.contains { $0.hasPrefix("index | access_tokens_expires | access_tokens | CREATE INDEX") })
        #expect(fresh.contains { $0.hasPrefix("table | authorization_codes |") && $0.contains("code_challenge_method TEXT CHECK") })
    }

    @Test func resetRecreatesOneSchemasTablesAtTheLatestVersion() async throws {
        let fresh = try await Self.with(Self.temporaryPath()) { try await Self.schema($0) }
        let path = try Self.copyOfFixture()
        try await Self.with(path) { db in
            try await db.rows("INSERT INTO verifier_webhook_events (verification_id, created_at) VALUES ('kept', 0)")
            #expect(try await db.resetSchemas(["oauth2gw"]) == ["access_tokens", "attestations", "authorization_codes", "clients",
                                                                "pushed_authorization_requests", "seen_jwt_ids", "server_secrets",
                                                                "signing_keys", "verification_sessions"])
            #expect(try await Self.rowCounts(db) == [0, 0, 0, 0])
            #expect(try await db.rows("SELECT verification_id FROM verifier_webhook_events").compactMap { $0.string("verification_id") } == ["kept"])
            #expect(try await Self.userVersion(db) == Int64(SQLiteDatabase.schemaVersion))
            #expect(try await Self.schema(db) == fresh)
        }
        await #expect(throws: (any Error).self) { try await Self.with(path) { try await $0.resetSchemas(["nonsense"]) } }
    }

    /// Same schema: each PostgreSQL table of the gateway and the verifier has exactly the columns of its SQLite table.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KYCH_TEST_DATABASE_URL"] != nil))
    func sqliteTablesHavePostgresColumns() async throws {
        let postgres = try await TestDatabase.create(installSchema: false)
        let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
        _ = try await PostgresDatabase.withConnection(postgres.url, logger: TestEnvironment.logger) {
            try await installer.install(on: $0, patches: SchemaInstaller.gatewayPatches + SchemaInstaller.verifierPatches)
        }
        let pairs = [("oauth2gw", "clients", "clients"), ("oauth2gw", "verification_sessions", "verification_sessions"),
                     ("oauth2gw", "authorization_codes", "authorization_codes"), ("oauth2gw", "access_tokens", "access_tokens"),
                     ("oauth2gw", "signing_keys", "signing_keys"), ("oauth2gw", "server_secrets", "server_secrets"),
                     ("oauth2gw", "seen_jwt_ids", "seen_jwt_ids"),
                     ("oauth2gw", "pushed_authorization_requests", "pushed_authorization_requests"),
                     ("oauth2gw", "attestations", "attestations"),
                     ("verifier", "verifications", "verifier_verifications"), ("verifier", "webhook_events", "verifier_webhook_events")]
        #expect(try await postgres.strings("""
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ('oauth2gw', 'verifier')
            """).sorted() == pairs.map { "\($0.0).\($0.1)" }.sorted())
        for path in [Self.temporaryPath(), try Self.copyOfFixture()] {
            try await Self.with(path) { db in
                for (schema, table, sqliteTable) in pairs {
                    let expected = try await postgres.strings("""
                        SELECT column_name FROM information_schema.columns
                        WHERE table_schema = '\(schema)' AND table_name = '\(table)'
                        """).sorted()
                    #expect(try await Self.columns(db, sqliteTable).sorted() == expected, "\(schema).\(table) vs \(sqliteTable)")
                }
            }
        }
    }

    /// A new database file is readable by its owner only (issue 12, finding 10).
    @Test func aNewDatabaseFileIsPrivate() async throws {
        let path = Self.temporaryPath()
        try await Self.with(path) { db in _ = try await db.rows("SELECT 1") }
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)
        #expect(mode.intValue & 0o777 == 0o600)
    }
}
