import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychStorage
import KychVerifierModel
import PostgresNIO
import Testing

@Suite struct SchemaTests {
    /// The manual's "Database setup" commands, verbatim, against a fresh `kych` database owned by role `kych`.
    @Test func manualPsqlCommandsCreateSchemasAndRefuseSecondApply() async throws {
        let psql = try #require(Run.which("psql"), "psql not on PATH")
        try await TestEnvironment.withAdminConnection { c in
            let log = TestEnvironment.logger
            try await c.query("DROP DATABASE IF EXISTS kych", logger: log)
            try await c.query("DROP ROLE IF EXISTS kych", logger: log)
            try await c.query("CREATE ROLE kych LOGIN", logger: log)       // createuser kych
            try await c.query("CREATE DATABASE kych OWNER kych", logger: log) // createdb -O kych kych
        }
        let server = try TestEnvironment.serverURL()
        guard case .tcp(let host, let port) = server.endpoint else { Issue.record("expected TCP"); return }
        let env = ["PGHOST": host, "PGPORT": "\(port)"]
        func run(_ command: String) async throws -> ProcessResult {
            let args = Array(command.split(separator: " ").dropFirst().map(String.init))
            return try await Run.program(psql, args, environment: env, currentDirectory: TestEnvironment.packageRoot)
        }
        await #expect(try run("psql -U kych -d kych -f oauth2_gatewaydb/versioning.sql").status == 0)
        await #expect(try run("psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0001.sql").status == 0)

        let db = TestDatabase(name: "kych", url: server.with(database: "kych"))
        let tables = try await db.strings("""
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ('_v', 'oauth2gw') ORDER BY 1
            """)
        #expect(tables == ["_v.patches", "oauth2gw.access_tokens", "oauth2gw.authorization_codes",
                           "oauth2gw.clients", "oauth2gw.verification_sessions"])
        try await db.execute("""
            INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri)
            VALUES ('keep', 'x', 'https://v', 'https://r')
            """)

        // A second run of either file changes nothing.
        await #expect(try run("psql -U kych -d kych -f oauth2_gatewaydb/versioning.sql").status == 0)
        let again = try await run("psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0001.sql")
        #expect(again.stderr.contains("Patch oauth2gw-0001 is already applied"))
        #expect(try await db.strings("SELECT patch_name FROM _v.patches ORDER BY 1") == ["oauth2gw-0001"])
        #expect(try await db.strings("SELECT client_id FROM oauth2gw.clients") == ["keep"])

        // The first KyCH program that opens it (here the manual's kych-client-management list) applies the
        // later patches; kych-dbinit then sees nothing to do.
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1\nDATABASE = postgres://kych@\(host):\(port)/kych\n")
        let list = try await Run.program("kych-client-management", ["-c", conf, "list"], environment: ["KYCH_SQL_DIR": TestEnvironment.sqlDirectory.path])
        #expect(list.status == 0 && list.stdout.contains("keep"), "\(list.stderr)")
        #expect(try await db.strings("SELECT patch_name FROM _v.patches ORDER BY 1") == SchemaInstaller.gatewayPatches)
        #expect(try await db.strings("SELECT require_pkce::text || ' ' || cardinality(redirect_uris)::text FROM oauth2gw.clients") == ["false 0"])
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.signing_keys") == ["0"])
        let dbinit = try await Run.program("kych-dbinit", ["-c", conf, "--sql-dir", TestEnvironment.sqlDirectory.path])
        #expect(dbinit.status == 0 && dbinit.stdout == "Database is up to date.\n", "\(dbinit.stderr)")
    }

    @Test func dbinitIsIdempotentAndResetNeedsConfirmation() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1\nDATABASE = \(db.connectionString)\n")
        let first = try await Run.program("kych-dbinit", ["-c", conf])
        #expect(first.status == 0 && first.stdout == "Applied: \(SchemaInstaller.gatewayPatches.joined(separator: ", "))\n", "\(first.stderr)")
        #expect(try await Run.program("kych-dbinit", ["-c", conf]).stdout == "Database is up to date.\n")
        try await db.execute("INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri) VALUES ('c', 'x', 'https://v', 'https://r')")

        let refused = try await Run.program("kych-dbinit", ["-c", conf, "--reset"])
        #expect(refused.status != 0 && refused.stderr.contains("refusing to reset without confirmation"))
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["1"])

        let reset = try await Run.program("kych-dbinit", ["-c", conf, "--reset", "-y"])
        #expect(reset.status == 0 && reset.stdout == "Applied: \(SchemaInstaller.gatewayPatches.joined(separator: ", "))\n", "\(reset.stderr)")
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["0"])
    }

    /// kych-dbinit away from its SQL files (built with `--scratch-path` elsewhere, or installed without
    /// `share/kych`) finds them in the current directory's `oauth2_gatewaydb/`, where the manual's `psql -f`
    /// commands run; without them there it names `--sql-dir` and `KYCH_SQL_DIR`.
    @Test func dbinitOutOfTreeFindsTheSQLFilesInTheCurrentDirectory() async throws {
        let fm = FileManager.default
        let outside = fm.temporaryDirectory.appendingPathComponent("kych-dbinit-\(UUID().uuidString)")
        let bin = outside.appendingPathComponent("bin"), work = outside.appendingPathComponent("work")
        try fm.createDirectory(at: bin, withIntermediateDirectories: true)
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: outside) }
        let dbinit = bin.appendingPathComponent("kych-dbinit")
        // A hard link (a copy across file systems), not a symbolic one: the program must not see the build directory
        // and the source tree above it.
        let built = TestEnvironment.binDirectory.appendingPathComponent("kych-dbinit")
        do { try fm.linkItem(at: built, to: dbinit) } catch { try fm.copyItem(at: built, to: dbinit) }
        let db = try await TestDatabase.create(installSchema: false)
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1\nDATABASE = \(db.connectionString)\n")
        let noEnvironment = ["KYCH_SQL_DIR": ""]

        let systemWide = ["/usr/local/share/kych/oauth2_gatewaydb", "/usr/share/kych/oauth2_gatewaydb"].filter(fm.fileExists(atPath:))
        if systemWide.isEmpty {
            let lost = try await Run.program(dbinit.path, ["-c", conf], environment: noEnvironment, currentDirectory: work)
            #expect(lost.status != 0 && lost.stderr.contains("pass --sql-dir or set KYCH_SQL_DIR"), "\(lost.stdout)\(lost.stderr)")
        }

        try fm.copyItem(at: TestEnvironment.sqlDirectory, to: work.appendingPathComponent("oauth2_gatewaydb"))
        let found = try await Run.program(dbinit.path, ["-c", conf], environment: noEnvironment, currentDirectory: work)
        #expect(found.status == 0 && found.stdout == "Applied: \(SchemaInstaller.gatewayPatches.joined(separator: ", "))\n", "\(found.stderr)")
    }

    /// A database installed before patch 0002 gets exactly the later patches from kych-dbinit, and keeps its data.
    @Test func dbinitUpgradesADatabaseFromBeforeTheSigningKeys() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
        _ = try await PostgresDatabase.withConnection(db.url, logger: TestEnvironment.logger) {
            try await installer.install(on: $0, patches: ["oauth2gw-0001"])
        }
        try await db.execute("INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri) VALUES ('c', 'x', 'https://v', 'https://r')")
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1\nDATABASE = \(db.connectionString)\n")
        let upgrade = try await Run.program("kych-dbinit", ["-c", conf])
        #expect(upgrade.status == 0 && upgrade.stdout == "Applied: \(SchemaInstaller.gatewayPatches.dropFirst().joined(separator: ", "))\n", "\(upgrade.stderr)")
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.signing_keys") == ["0"])
        #expect(try await db.strings("SELECT client_id FROM oauth2gw.clients") == ["c"])
    }

    /// A verifier schema from before claim leases gets verifier-0002 when a KyCH program opens the database,
    /// and a verification an old checker left in progress (no lease) is claimable again, not stranded.
    @Test func openingUpgradesTheVerifierSchemaAndFreesStrandedClaims() async throws {
        let db = try await TestDatabase.create()
        let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
        _ = try await PostgresDatabase.withConnection(db.url, logger: TestEnvironment.logger) {
            try await installer.install(on: $0, patches: ["verifier-0001"])
        }
        try await db.execute("""
            INSERT INTO verifier.verifications (verification_id, request_nonce, oauth_state, status, response_mode, dcql_query,
              accepted_issuer_dids, expires_at)
            VALUES ('v', 'n', 's', 'in_progress', 'direct_post',
              '{"credentials":[{"id":"kych","format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]}}]}', '{did:jwk:x}',
              now() + interval '10 minutes')
            """)
        let stranded = try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            try await stores.verifications.verification(id: "v")
        }
        #expect(try await db.strings("SELECT patch_name FROM _v.patches WHERE patch_name LIKE 'verifier-%' ORDER BY 1")
                == SchemaInstaller.verifierPatches)
        let verification = try #require(stranded)
        #expect(verification.status == .inProgress && verification.claimedUntil == nil && verification.awaitsAnswer(at: Date()))
    }

    @Test func deletingAClientCascadesToSessionsCodesAndTokens() async throws {
        let db = try await TestDatabase.create()
        try await db.execute("""
            WITH c AS (INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri)
                       VALUES ('gone', 'x', 'https://v', 'https://r') RETURNING client_serial),
                 s AS (INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, status, claims, expires_at)
                       SELECT client_serial, 's1', 'n1', 'completed', '{}', now() + interval '1 hour' FROM c RETURNING session_serial, client_serial),
                 k AS (INSERT INTO oauth2gw.authorization_codes (client_serial, session_serial, code_hash, redirect_uri, expires_at)
                       SELECT client_serial, session_serial, sha256('code'), 'https://r', now() FROM s RETURNING code_serial, session_serial, client_serial)
            INSERT INTO oauth2gw.access_tokens (client_serial, session_serial, code_serial, token_hash, expires_at)
            SELECT client_serial, session_serial, code_serial, sha256('token'), now() FROM k
            """)
        let counts = "SELECT (SELECT count(*) FROM oauth2gw.verification_sessions) || '/' || (SELECT count(*) FROM oauth2gw.authorization_codes) || '/' || (SELECT count(*) FROM oauth2gw.access_tokens)"
        #expect(try await db.strings(counts) == ["1/1/1"])
        try await db.execute("DELETE FROM oauth2gw.clients WHERE client_id = 'gone'")
        #expect(try await db.strings(counts) == ["0/0/0"])
    }

    @Test func constraintsRejectBadRows() async throws {
        let db = try await TestDatabase.create()
        try await db.execute("INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri) VALUES ('c', 'x', 'https://v', 'https://r')")
        await #expect(throws: PSQLError.self) {
            try await db.execute("INSERT INTO oauth2gw.clients (client_id, secret_hash, verifier_url, redirect_uri) VALUES ('c', 'y', 'https://v', 'https://r')")
        }
        await #expect(throws: PSQLError.self) {
            try await db.execute("INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, status, expires_at) SELECT client_serial, 's', 'n', 'bogus', now() FROM oauth2gw.clients")
        }
        try await db.execute("INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, expires_at) SELECT client_serial, 's', 'n', now() FROM oauth2gw.clients")
        await #expect(throws: PSQLError.self) {  // codes are stored as 32-byte hashes only
            try await db.execute("INSERT INTO oauth2gw.authorization_codes (client_serial, session_serial, code_hash, redirect_uri, expires_at) SELECT client_serial, session_serial, 'plain', 'https://r', now() FROM oauth2gw.verification_sessions")
        }
        await #expect(throws: PSQLError.self) {  // a verified session must have claims
            try await db.execute("UPDATE oauth2gw.verification_sessions SET status = 'verified'")
        }
    }
}

@Suite struct SQLScriptTests {
    @Test func splitsOutsideQuotesAndComments() {
        let sql = """
            BEGIN; -- a comment; with a semicolon
            SELECT 'a;b', "x;y";
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            /* block; comment */ COMMIT;
            """
        #expect(SchemaInstaller.statements(sql) == [
            "BEGIN", "SELECT 'a;b', \"x;y\"",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$",
            "DO $body$ BEGIN PERFORM 1; END $body$", "COMMIT",
        ])
    }
}
