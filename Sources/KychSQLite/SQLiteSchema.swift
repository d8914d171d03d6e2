import KychCore

/// KyCH's tables in SQLite, the same design as `oauth2_gatewaydb/oauth2gw-0001.sql` and
/// `verifier-0001.sql` (the verifier's tables prefixed `verifier_`): lists, claims and queries as JSON
/// text, timestamps as Unix seconds, hashes and keys as blobs. Every statement is idempotent.
enum SQLiteSchema {
    static let version = 2

    /// The tables of each logical schema (the PostgreSQL schema names), children before parents.
    static let tables = [
        "oauth2gw": ["access_tokens", "authorization_codes", "verification_sessions", "clients"],
        "verifier": ["verifier_webhook_events", "verifier_verifications"],
    ]

    static let statements = [
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
    ]

    /// Creates what is missing, in one transaction; returns the names of the tables created.
    @discardableResult
    static func install(on db: SQLiteDatabase) async throws -> [String] {
        try await db.transaction { tx in
            let before = try await tableNames(tx)
            for statement in statements { try await tx.rows(statement) }
            try await tx.rows("PRAGMA user_version = \(version)")
            return try await tableNames(tx).filter { !before.contains($0) }
        }
    }

    private static func tableNames(_ tx: SQLiteDatabase.Transaction) async throws -> [String] {
        try await tx.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0.string("name") }
    }
}

extension SQLiteDatabase {
    /// Creates KyCH's tables that are missing; returns the names of those created (none when up to date).
    @discardableResult
    public func installSchema() async throws -> [String] {
        try await SQLiteSchema.install(on: self)
    }

    /// Drops the tables of the logical `schemas` (`oauth2gw`, `verifier`) with all their data, in one
    /// transaction; ``installSchema()`` creates them anew.
    public func dropSchemas(_ schemas: [String]) async throws {
        let tables = try schemas.flatMap { name in
            guard let tables = SQLiteSchema.tables[name] else { throw CLIError("unknown schema \(name)") }
            return tables
        }
        try await transaction { tx in
            for table in tables { try await tx.rows("DROP TABLE IF EXISTS \(table)") }
        }
    }
}
