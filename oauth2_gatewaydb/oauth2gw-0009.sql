-- KyCH OAuth2 gateway schema, patch 0009: client keys, DPoP/PAR/JAR switches, one-time JWT ids (issue 15).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0009.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.
--
-- A client with keys (jwks or jwks_uri) and no secret authenticates with private_key_jwt: it is confidential by its
-- keys, while client_type keeps recording whether a secret is stored (the gateway derives a client's type from both).

BEGIN;

SELECT _v.register_patch('oauth2gw-0009', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.clients
  -- JWKS: the client's public keys, JWK Set JSON text (private_key_jwt, signed request objects).
  ADD COLUMN jwks TEXT,
  -- JWKS_URI: where the gateway fetches the client's JWK Set.
  ADD COLUMN jwks_uri TEXT,
  -- TOKEN_ENDPOINT_AUTH_METHOD: the one client-authentication method the client may use (NULL: any it can).
  ADD COLUMN token_endpoint_auth_method TEXT
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')),
  ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN require_dpop_nonce BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN profile TEXT NOT NULL DEFAULT 'standard' CHECK (profile IN ('standard', 'fapi2'));

-- JWT ids already used (DPoP proofs, client assertions), until the JWT would have expired anyway: a replay to any
-- instance on this database is refused. key_hash is SHA-256 of a namespace, the signer and the jti.
CREATE TABLE oauth2gw.seen_jwt_ids (
  key_hash BYTEA PRIMARY KEY,
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX seen_jwt_ids_expires_at ON oauth2gw.seen_jwt_ids (expires_at);

COMMIT;
