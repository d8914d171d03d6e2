-- KyCH OAuth2 gateway schema, patch 0001.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0001.sql
--
-- Requires versioning.sql. Runs in one transaction: applying it a second time
-- is refused by _v.register_patch and changes nothing.
--
-- Designed for any number of gateway processes sharing this database: every
-- lookup column has a unique index, every state change is a single UPDATE, and
-- credentials (authorization codes, access tokens) are stored only as SHA-256
-- hashes, so a dump of this database yields no live credential.

BEGIN;

SELECT _v.register_patch('oauth2gw-0001', NULL, NULL);

CREATE SCHEMA oauth2gw;
COMMENT ON SCHEMA oauth2gw IS 'KyCH OAuth2 gateway';

-- Registered OAuth 2.0 clients.
CREATE TABLE oauth2gw.clients (
  client_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  client_id TEXT NOT NULL,
  -- bcrypt hash of the client secret; NULL only for public clients (PKCE).
  secret_hash TEXT,
  client_type TEXT NOT NULL DEFAULT 'confidential'
    CHECK (client_type IN ('confidential', 'public')),
  verifier_url TEXT NOT NULL,
  verifier_management_api_path TEXT NOT NULL DEFAULT '/management/api/verifications',
  verifier_query TEXT NOT NULL DEFAULT 'dcql'
    CHECK (verifier_query IN ('dcql', 'presentation_definition')),
  verifier_bearer_token TEXT,
  redirect_uri TEXT NOT NULL,
  accepted_issuer_dids TEXT[] NOT NULL DEFAULT '{}',
  -- Claims granted when an authorization request carries no scope; NULL: the gateway's default.
  default_scope TEXT[],
  failure_error TEXT NOT NULL DEFAULT 'access_denied'
    CHECK (failure_error IN ('access_denied', 'unauthorized_client')),
  webhook_api_key_header TEXT,
  webhook_api_key_value TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT clients_secret_matches_type
    CHECK ((client_type = 'confidential') = (secret_hash IS NOT NULL)),
  CONSTRAINT clients_webhook_key_pair
    CHECK ((webhook_api_key_header IS NULL) = (webhook_api_key_value IS NULL))
);
CREATE UNIQUE INDEX clients_client_id ON oauth2gw.clients (client_id);
COMMENT ON TABLE oauth2gw.clients IS 'Registered OAuth 2.0 clients and their configurations';

-- One verification flow, from POST /setup (or a nonce-less /authorize) to its end.
--   pending    session created, /authorize not yet called
--   authorized the verifier has a verification for it; waiting for the wallet
--   verified   the verifier reported SUCCESS; claims stored
--   failed     the verifier reported FAILED, or the flow broke
--   completed  an authorization code was issued
--   expired    the session or its verification timed out
CREATE TABLE oauth2gw.verification_sessions (
  session_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  client_serial BIGINT NOT NULL REFERENCES oauth2gw.clients (client_serial) ON DELETE CASCADE,
  -- Opaque public id of the flow (given to the client by /info); not personal data.
  session_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'authorized', 'verified', 'failed', 'completed', 'expired')),
  -- Authorization request, stored at /authorize. state is opaque and NOT unique.
  redirect_uri TEXT,
  state TEXT,
  scope TEXT[],
  code_challenge TEXT,
  code_challenge_method TEXT CHECK (code_challenge_method IN ('S256')),
  -- SHA-256 of the browser-binding cookie set at /authorize and checked at /finalize.
  browser_binding_hash BYTEA CHECK (octet_length(browser_binding_hash) = 32),
  -- The verification at the swiyu verifier.
  verification_id TEXT,
  request_nonce TEXT,
  verification_url TEXT,
  verification_deeplink TEXT,
  last_checked_at TIMESTAMPTZ,
  -- The outcome.
  claims JSONB,
  credential_vct TEXT,
  credential_issuer TEXT,
  failure_code TEXT,
  failure_description TEXT,
  failure_kind TEXT CHECK (failure_kind IN ('verification', 'server')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  authorized_at TIMESTAMPTZ,
  verified_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  CONSTRAINT sessions_verified_has_claims
    CHECK (status NOT IN ('verified', 'completed') OR claims IS NOT NULL)
);
CREATE UNIQUE INDEX verification_sessions_nonce ON oauth2gw.verification_sessions (nonce);
CREATE UNIQUE INDEX verification_sessions_session_id ON oauth2gw.verification_sessions (session_id);
CREATE UNIQUE INDEX verification_sessions_verification_id
  ON oauth2gw.verification_sessions (verification_id) WHERE verification_id IS NOT NULL;
CREATE INDEX verification_sessions_client ON oauth2gw.verification_sessions (client_serial);
CREATE INDEX verification_sessions_expires ON oauth2gw.verification_sessions (expires_at);
COMMENT ON TABLE oauth2gw.verification_sessions IS 'Active and completed verification sessions';

-- Authorization codes, single-use; only their SHA-256 is stored.
CREATE TABLE oauth2gw.authorization_codes (
  code_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  client_serial BIGINT NOT NULL REFERENCES oauth2gw.clients (client_serial) ON DELETE CASCADE,
  session_serial BIGINT NOT NULL REFERENCES oauth2gw.verification_sessions (session_serial) ON DELETE CASCADE,
  code_hash BYTEA NOT NULL CHECK (octet_length(code_hash) = 32),
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT,
  code_challenge_method TEXT CHECK (code_challenge_method IN ('S256')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX authorization_codes_code_hash ON oauth2gw.authorization_codes (code_hash);
CREATE UNIQUE INDEX authorization_codes_session ON oauth2gw.authorization_codes (session_serial);
CREATE INDEX authorization_codes_client ON oauth2gw.authorization_codes (client_serial);
CREATE INDEX authorization_codes_expires ON oauth2gw.authorization_codes (expires_at);
COMMENT ON TABLE oauth2gw.authorization_codes IS 'OAuth 2.0 authorization codes issued after verification (SHA-256 only)';

-- Access tokens; only their SHA-256 is stored.
CREATE TABLE oauth2gw.access_tokens (
  token_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  client_serial BIGINT NOT NULL REFERENCES oauth2gw.clients (client_serial) ON DELETE CASCADE,
  session_serial BIGINT NOT NULL REFERENCES oauth2gw.verification_sessions (session_serial) ON DELETE CASCADE,
  code_serial BIGINT REFERENCES oauth2gw.authorization_codes (code_serial) ON DELETE CASCADE,
  token_hash BYTEA NOT NULL CHECK (octet_length(token_hash) = 32),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX access_tokens_token_hash ON oauth2gw.access_tokens (token_hash);
CREATE INDEX access_tokens_client ON oauth2gw.access_tokens (client_serial);
CREATE INDEX access_tokens_session ON oauth2gw.access_tokens (session_serial);
CREATE INDEX access_tokens_code ON oauth2gw.access_tokens (code_serial);
CREATE INDEX access_tokens_expires ON oauth2gw.access_tokens (expires_at);
COMMENT ON TABLE oauth2gw.access_tokens IS 'Bearer tokens issued to clients for accessing user data (SHA-256 only)';

COMMIT;
