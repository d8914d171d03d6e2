-- KyCH OAuth2 gateway schema, patch 0004: OpenID Connect.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0004.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0004', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.verification_sessions
  -- The request asked for OpenID Connect (scope openid): the token response carries an ID token.
  ADD COLUMN openid BOOLEAN NOT NULL DEFAULT false,
  -- The OpenID Connect nonce of the request, echoed in the ID token.
  ADD COLUMN oidc_nonce TEXT;

ALTER TABLE oauth2gw.clients
  -- ID tokens carry the granted claims too (besides /userinfo).
  ADD COLUMN id_token_claims BOOLEAN NOT NULL DEFAULT false,
  -- ES256 or RS256; NULL: the gateway's ID_TOKEN_SIGNING_ALG.
  ADD COLUMN id_token_signing_alg TEXT CHECK (id_token_signing_alg IN ('ES256', 'RS256'));

-- Secrets every instance shares, created once (the pairwise subject key).
CREATE TABLE oauth2gw.server_secrets (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL CHECK (octet_length(value) >= 32),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE oauth2gw.server_secrets IS 'Random secrets shared by every gateway instance (never exported)';

COMMIT;
