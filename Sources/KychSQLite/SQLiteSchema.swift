import KychCore
import SQLiteNIO

/// KyCH's tables in SQLite, the same design as PostgreSQL's `oauth2_gatewaydb/oauth2gw-*.sql` and
/// `verifier-0001.sql` (the verifier's tables prefixed `verifier_`): lists, claims and queries as JSON
/// text, timestamps as Unix seconds, hashes and keys as blobs.
///
/// The schema is a list of numbered migrations. Each is applied in one transaction that also sets
/// `PRAGMA user_version` to its number, so a file's user_version is the last migration it has.
///
/// Files from before this list need no mapping: the first SQLite release created the gateway's tables and
/// wrote user_version 1, the next one added the verifier's tables and wrote user_version 2, each in the same
/// transaction as its tables. Migrations 1 and 2 are those releases' statements verbatim (hence their
/// `IF NOT EXISTS`), so such a file is exactly at its user_version, and user_version 0 is an empty file.
///
/// Where the two backends still differ by design: PostgreSQL's arrays, JSONB and timestamps are JSON text and
/// Unix seconds here; SQLite's column order follows the migrations (`ALTER TABLE` appends); PostgreSQL's
/// column defaults (`now()`, `'dcql'`, …) and `clients_webhook_key_pair` CHECK are not here, because SQLite
/// can add neither to an existing table without rebuilding `clients`, and every store writes those columns.
enum SQLiteSchema {
    struct Migration: Sendable {
        let number: Int
        let name: String
        let statements: [String]
    }

    /// In order, numbered 1, 2, 3, …; never edit one that has been released, append a new one.
    static let migrations = [
        Migration(number: 1, name: "gateway tables", statements: [
            """
            CREATE TABLE IF NOT EXISTS clients (
              client_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              client_id TEXT NOT NULL UNIQUE,
              secret_hash TEXT,
              client_type TEXT NOT NULL DEFAULT 'confidential' CHECK (client_type IN ('confidential', 'public')),
              verifier_url TEXT NOT NULL,
              verifier_management_api_path TEXT NOT NULL,
              verifier_query TEXT NOT NULL CHECK (verifier_query IN ('dcql', 'presentation_definition')),
              verifier_bearer_token TEXT,
              redirect_uri TEXT NOT NULL,
              accepted_issuer_dids TEXT NOT NULL DEFAULT '[]',
              default_scope TEXT,
              failure_error TEXT NOT NULL CHECK (failure_error IN ('access_denied', 'unauthorized_client')),
              webhook_api_key_header TEXT,
              webhook_api_key_value TEXT,
              created_at REAL NOT NULL,
              updated_at REAL NOT NULL,
              CHECK ((client_type = 'confidential') = (secret_hash IS NOT NULL))
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS verification_sessions (
              session_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              client_serial INTEGER NOT NULL REFERENCES clients (client_serial) ON DELETE CASCADE,
              session_id TEXT NOT NULL UNIQUE,
              nonce TEXT NOT NULL UNIQUE,
              status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'authorized', 'verified', 'failed', 'completed', 'expired')),
              redirect_uri TEXT,
              state TEXT,
              scope TEXT,
              browser_binding_hash BLOB CHECK (browser_binding_hash IS NULL OR length(browser_binding_hash) = 32),
              verification_id TEXT UNIQUE,
              request_nonce TEXT,
              verification_url TEXT,
              verification_deeplink TEXT,
              last_checked_at REAL,
              claims TEXT,
              credential_vct TEXT,
              credential_issuer TEXT,
              failure_code TEXT,
              failure_description TEXT,
              failure_kind TEXT CHECK (failure_kind IN ('verification', 'server')),
              created_at REAL NOT NULL,
              expires_at REAL NOT NULL,
              authorized_at REAL,
              verified_at REAL,
              finished_at REAL,
              CHECK (status NOT IN ('verified', 'completed') OR claims IS NOT NULL)
            )
            """,
            "CREATE INDEX IF NOT EXISTS verification_sessions_expires ON verification_sessions (expires_at)",
            """
            CREATE TABLE IF NOT EXISTS authorization_codes (
              code_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              client_serial INTEGER NOT NULL REFERENCES clients (client_serial) ON DELETE CASCADE,
              session_serial INTEGER NOT NULL UNIQUE REFERENCES verification_sessions (session_serial) ON DELETE CASCADE,
              code_hash BLOB NOT NULL UNIQUE CHECK (length(code_hash) = 32),
              redirect_uri TEXT NOT NULL,
              created_at REAL NOT NULL,
              expires_at REAL NOT NULL,
              used_at REAL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS access_tokens (
              token_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              client_serial INTEGER NOT NULL REFERENCES clients (client_serial) ON DELETE CASCADE,
              session_serial INTEGER NOT NULL REFERENCES verification_sessions (session_serial) ON DELETE CASCADE,
              code_serial INTEGER REFERENCES authorization_codes (code_serial) ON DELETE CASCADE,
              token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
              created_at REAL NOT NULL,
              expires_at REAL NOT NULL,
              revoked_at REAL
            )
            """,
            "CREATE INDEX IF NOT EXISTS access_tokens_code ON access_tokens (code_serial)",
            "CREATE INDEX IF NOT EXISTS access_tokens_session ON access_tokens (session_serial)",
        ]),
        Migration(number: 2, name: "verifier tables", statements: [
            // The built-in verifier: pending -> in_progress -> success | failed; gone once expired.
            """
            CREATE TABLE IF NOT EXISTS verifier_verifications (
              verification_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              verification_id TEXT NOT NULL UNIQUE,
              request_nonce TEXT NOT NULL,
              oauth_state TEXT NOT NULL,
              status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'success', 'failed')),
              response_mode TEXT NOT NULL CHECK (response_mode IN ('direct_post', 'direct_post.jwt')),
              dcql_query TEXT NOT NULL,
              accepted_issuer_dids TEXT NOT NULL,
              encryption_key BLOB CHECK (encryption_key IS NULL OR length(encryption_key) = 32),
              encryption_key_id TEXT,
              error_code TEXT,
              error_description TEXT,
              credential_subject_data TEXT,
              created_at REAL NOT NULL,
              expires_at REAL NOT NULL,
              finished_at REAL,
              CHECK ((response_mode = 'direct_post.jwt') = (encryption_key IS NOT NULL AND encryption_key_id IS NOT NULL)),
              CHECK (status <> 'success' OR credential_subject_data IS NOT NULL)
            )
            """,
            "CREATE INDEX IF NOT EXISTS verifier_verifications_expires ON verifier_verifications (expires_at)",
            // The webhook outbox; next_attempt_at NULL: due now, else leased or waiting for a retry.
            """
            CREATE TABLE IF NOT EXISTS verifier_webhook_events (
              event_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              verification_id TEXT NOT NULL,
              created_at REAL NOT NULL,
              next_attempt_at REAL,
              attempts INTEGER NOT NULL DEFAULT 0,
              last_error TEXT
            )
            """,
            "CREATE INDEX IF NOT EXISTS verifier_webhook_events_due ON verifier_webhook_events (next_attempt_at, event_serial)",
        ]),
        // oauth2gw-0001's PKCE columns (RFC 7636), on the session (from /authorize) and on its code (checked at /token).
        Migration(number: 3, name: "pkce columns", statements: [
            "ALTER TABLE verification_sessions ADD COLUMN code_challenge TEXT",
            "ALTER TABLE verification_sessions ADD COLUMN code_challenge_method TEXT CHECK (code_challenge_method IN ('S256'))",
            "ALTER TABLE authorization_codes ADD COLUMN code_challenge TEXT",
            "ALTER TABLE authorization_codes ADD COLUMN code_challenge_method TEXT CHECK (code_challenge_method IN ('S256'))",
        ]),
        // oauth2gw-0001's other indexes: a client's deletion cascades and the purge finds expired rows without a scan.
        Migration(number: 4, name: "oauth2gw indexes", statements: [
            "CREATE INDEX verification_sessions_client ON verification_sessions (client_serial)",
            "CREATE INDEX authorization_codes_client ON authorization_codes (client_serial)",
            "CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at)",
            "CREATE INDEX access_tokens_client ON access_tokens (client_serial)",
            "CREATE INDEX access_tokens_expires ON access_tokens (expires_at)",
        ]),
        // oauth2gw-0002: the keys that sign ID tokens and JWT access tokens.
        Migration(number: 5, name: "signing keys", statements: [
            """
            CREATE TABLE signing_keys (
              key_serial INTEGER PRIMARY KEY AUTOINCREMENT,
              kid TEXT NOT NULL UNIQUE,
              alg TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
              public_jwk TEXT NOT NULL,
              private_key BLOB NOT NULL,
              private_key_sealed INTEGER NOT NULL CHECK (private_key_sealed IN (0, 1)),
              created_at REAL NOT NULL,
              activates_at REAL NOT NULL,
              retires_at REAL
            )
            """,
        ]),
        // oauth2gw-0003: client settings of OAuth 2.1 and OpenID Connect.
        Migration(number: 6, name: "client settings", statements: [
            "ALTER TABLE clients ADD COLUMN client_name TEXT",
            "ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE clients ADD COLUMN require_pkce INTEGER NOT NULL DEFAULT 0 CHECK (require_pkce IN (0, 1))",
        ]),
        // oauth2gw-0004: OpenID Connect.
        Migration(number: 7, name: "openid connect", statements: [
            "ALTER TABLE verification_sessions ADD COLUMN openid INTEGER NOT NULL DEFAULT 0 CHECK (openid IN (0, 1))",
            "ALTER TABLE verification_sessions ADD COLUMN oidc_nonce TEXT",
            "ALTER TABLE clients ADD COLUMN id_token_claims INTEGER NOT NULL DEFAULT 0 CHECK (id_token_claims IN (0, 1))",
            "ALTER TABLE clients ADD COLUMN id_token_signing_alg TEXT CHECK (id_token_signing_alg IN ('ES256', 'RS256'))",
            """
            CREATE TABLE server_secrets (
              name TEXT PRIMARY KEY,
              value BLOB NOT NULL CHECK (length(value) >= 32),
              created_at REAL NOT NULL
            )
            """,
        ]),
        // oauth2gw-0005: access token format and lifetime per client.
        Migration(number: 8, name: "access token format", statements: [
            "ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque' CHECK (access_token_format IN ('opaque', 'jwt'))",
            "ALTER TABLE clients ADD COLUMN access_token_ttl_seconds INTEGER CHECK (access_token_ttl_seconds BETWEEN 60 AND 2592000)",
        ]),
        // oauth2gw-0006: limits on nonce-less /authorize.
        Migration(number: 9, name: "authorize without setup", statements: [
            "ALTER TABLE clients ADD COLUMN allow_authorize_without_setup INTEGER NOT NULL DEFAULT 1 CHECK (allow_authorize_without_setup IN (0, 1))",
            "ALTER TABLE verification_sessions ADD COLUMN without_setup INTEGER NOT NULL DEFAULT 0 CHECK (without_setup IN (0, 1))",
            """
            CREATE INDEX verification_sessions_without_setup
              ON verification_sessions (client_serial, status, expires_at) WHERE without_setup = 1
            """,
        ]),
        // verifier-0002: claim leases and the verified issuer.
        Migration(number: 10, name: "verifier claim lease", statements: [
            "ALTER TABLE verifier_verifications ADD COLUMN claim_count INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE verifier_verifications ADD COLUMN claimed_until REAL",
            "ALTER TABLE verifier_verifications ADD COLUMN credential_issuer_dids TEXT",
        ]),
        // oauth2gw-0008: claims erased once delivered.
        Migration(number: 11, name: "claims erasure", statements: [
            "ALTER TABLE verification_sessions ADD COLUMN claims_erased_at REAL",
            "ALTER TABLE verification_sessions ADD COLUMN claims_subject TEXT",
            """
            CREATE INDEX verification_sessions_holding_claims
              ON verification_sessions (expires_at) WHERE claims_erased_at IS NULL AND claims IS NOT NULL
            """,
        ]),
        // oauth2gw-0009: client keys, DPoP/PAR/JAR switches, one-time JWT ids.
        Migration(number: 12, name: "client keys and jwt ids", statements: [
            "ALTER TABLE clients ADD COLUMN jwks TEXT",
            "ALTER TABLE clients ADD COLUMN jwks_uri TEXT",
            """
            ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT
              CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'))
            """,
            "ALTER TABLE clients ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0 CHECK (require_dpop IN (0, 1))",
            "ALTER TABLE clients ADD COLUMN require_dpop_nonce INTEGER NOT NULL DEFAULT 0 CHECK (require_dpop_nonce IN (0, 1))",
            """
            ALTER TABLE clients ADD COLUMN require_signed_request_object INTEGER NOT NULL DEFAULT 0
              CHECK (require_signed_request_object IN (0, 1))
            """,
            """
            ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
              CHECK (require_pushed_authorization_requests IN (0, 1))
            """,
            "ALTER TABLE clients ADD COLUMN profile TEXT NOT NULL DEFAULT 'standard' CHECK (profile IN ('standard', 'fapi2'))",
            "CREATE TABLE seen_jwt_ids (key_hash BLOB PRIMARY KEY, expires_at REAL NOT NULL)",
            "CREATE INDEX seen_jwt_ids_expires_at ON seen_jwt_ids (expires_at)",
        ]),
        // oauth2gw-0010: DPoP-bound tokens.
        Migration(number: 13, name: "dpop", statements: [
            "ALTER TABLE verification_sessions ADD COLUMN dpop_jkt TEXT",
            "ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT",
        ]),
        // oauth2gw-0011: pushed authorization requests (RFC 9126).
        Migration(number: 14, name: "pushed authorization requests", statements: [
            """
            CREATE TABLE pushed_authorization_requests (
              request_hash BLOB PRIMARY KEY CHECK (length(request_hash) = 32),
              client_serial INTEGER NOT NULL REFERENCES clients (client_serial) ON DELETE CASCADE,
              parameters TEXT NOT NULL,
              created_at REAL NOT NULL,
              expires_at REAL NOT NULL
            )
            """,
            "CREATE INDEX pushed_authorization_requests_client ON pushed_authorization_requests (client_serial)",
            "CREATE INDEX pushed_authorization_requests_expires ON pushed_authorization_requests (expires_at)",
        ]),
        // oauth2gw-0012: the grant types each client may use at /token (issue 16).
        Migration(number: 15, name: "client grant types", statements: [
            #"ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["authorization_code"]'"#,
        ]),
        // oauth2gw-0013: the attestations issued at /credential with their status list indexes (issue 17).
        Migration(number: 16, name: "attestations", statements: [
            """
            CREATE TABLE attestations (
              status_index INTEGER PRIMARY KEY AUTOINCREMENT,
              attestation_id TEXT NOT NULL UNIQUE,
              session_id TEXT NOT NULL,
              client_id TEXT NOT NULL,
              issued_at REAL NOT NULL,
              expires_at REAL NOT NULL,
              revoked_at REAL
            )
            """,
            "CREATE INDEX attestations_session ON attestations (session_id)",
        ]),
    ]

    static var latest: Int { migrations.last?.number ?? 0 }

    /// The tables of each logical schema (the PostgreSQL schema names), children before parents.
    static let tables = [
        "oauth2gw": ["access_tokens", "authorization_codes", "verification_sessions", "pushed_authorization_requests", "clients",
                     "signing_keys", "server_secrets", "seen_jwt_ids", "attestations"],
        "verifier": ["verifier_webhook_events", "verifier_verifications"],
    ]

    /// Applies the migrations above the file's user_version, each in its own transaction.
    static func migrate(_ db: SQLiteDatabase) async throws -> SQLiteSchemaChanges {
        let version = try checkedVersion(try await db.rows("PRAGMA user_version"))
        guard version < latest else { return SQLiteSchemaChanges() }
        let before = try await tableNames(db)
        var changes = SQLiteSchemaChanges()
        for migration in migrations where migration.number > version {
            let applied = try await db.transaction { tx in
                // Read again under the write lock: another process on the same file may have got here first.
                guard try checkedVersion(try await tx.rows("PRAGMA user_version")) < migration.number else { return false }
                for statement in migration.statements { try await tx.rows(statement) }
                try await tx.rows("PRAGMA user_version = \(migration.number)")
                return true
            }
            if applied { changes.migrations.append("\(migration.number) \(migration.name)") }
        }
        changes.createdTables = try await tableNames(db).filter { !before.contains($0) }
        return changes
    }

    /// The migrations the file lacks, as "migration N".
    static func missingMigrations(_ db: SQLiteDatabase) async throws -> [String] {
        let version = try checkedVersion(try await db.rows("PRAGMA user_version"))
        return migrations.filter { $0.number > version }.map { "migration \($0.number)" }
    }

    /// The user_version in `rows` (of `PRAGMA user_version`), refused if a newer KyCH wrote it: this code
    /// cannot know what that one changed.
    private static func checkedVersion(_ rows: [SQLiteRow]) throws -> Int {
        let version = rows.first?.int("user_version").map(Int.init) ?? 0
        guard version <= latest else { throw SQLiteSchemaError.newerThanKnown(version: version, latest: latest) }
        return version
    }

    private static func tableNames(_ db: SQLiteDatabase) async throws -> [String] {
        try await db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0.string("name") }
    }
}

/// What ``SQLiteDatabase/installSchema()`` did.
package struct SQLiteSchemaChanges: Sendable, Equatable {
    /// The migrations applied, as "number name", in order.
    package var migrations: [String]
    /// The tables that did not exist before.
    package var createdTables: [String]

    package init(migrations: [String] = [], createdTables: [String] = []) {
        self.migrations = migrations
        self.createdTables = createdTables
    }
}

/// Why a SQLite file's schema was left alone.
package enum SQLiteSchemaError: Error, Equatable, CustomStringConvertible {
    case newerThanKnown(version: Int, latest: Int)

    package var description: String {
        switch self {
        case .newerThanKnown(let version, let latest):
            "the SQLite database is at schema version \(version), newer than this KyCH knows (\(latest)): "
                + "it was written by a newer release; run that release (or a later one) instead"
        }
    }
}

extension SQLiteDatabase {
    /// The schema version (last migration) this code creates and understands.
    package static var schemaVersion: Int { SQLiteSchema.latest }

    /// The migrations the file lacks: what `/health` checks (none once opened, which migrates; on SQLite the check
    /// mostly proves that the file answers).
    package func missingMigrations() async throws -> [String] {
        try await SQLiteSchema.missingMigrations(self)
    }

    /// Applies the migrations the file lacks (none when up to date); throws ``SQLiteSchemaError`` for a file
    /// from a newer KyCH.
    @discardableResult
    package func installSchema() async throws -> SQLiteSchemaChanges {
        try await SQLiteSchema.migrate(self)
    }

    /// Brings the file up to date, then drops the tables of the logical `schemas` (`oauth2gw`, `verifier`)
    /// with all their data and creates them anew, in one transaction; returns their names. They are recreated
    /// from the file's own `sqlite_master`, i.e. as the migrations left them, so user_version stays right and
    /// the other schema's tables are untouched.
    @discardableResult
    package func resetSchemas(_ schemas: [String]) async throws -> [String] {
        let tables = try schemas.flatMap { name in
            guard let tables = SQLiteSchema.tables[name] else { throw CLIError("unknown schema \(name)") }
            return tables
        }
        try await installSchema()
        try await transaction { tx in
            let marks = tables.map { _ in "?" }.joined(separator: ", ")
            let definitions = try await tx.rows("""
                SELECT sql FROM sqlite_master WHERE tbl_name IN (\(marks)) AND sql IS NOT NULL ORDER BY type <> 'table', rowid
                """, tables.map { .text($0) }).compactMap { $0.string("sql") }
            for table in tables { try await tx.rows("DROP TABLE \(table)") }
            for definition in definitions { try await tx.rows(definition) }
        }
        return tables.sorted()
    }
}
