/// The gateway's tables in SQLite, the same design as `oauth2_gatewaydb/oauth2gw-0001.sql`:
/// lists and claims as JSON text, timestamps as Unix seconds, hashes as blobs.
enum SQLiteSchema {
    static let version = 1

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
    ]

    static func install(on db: SQLiteDatabase) async throws {
        try await db.transaction { tx in
            for statement in statements { try await tx.rows(statement) }
            try await tx.rows("PRAGMA user_version = \(version)")
        }
    }
}
