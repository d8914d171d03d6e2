-- KyCH OAuth2 gateway schema, patch 0002: the keys that sign ID tokens and JWT access tokens.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0002.sql
--
-- Requires oauth2gw-0001. Runs in one transaction: applying it a second time
-- is refused by _v.register_patch and changes nothing.
--
-- The gateway decides which key signs and which are published from the times
-- below; the private key is AES-GCM-sealed under KEY_ENCRYPTION_SECRET when
-- that is set (private_key_sealed), else stored in clear.

BEGIN;

SELECT _v.register_patch('oauth2gw-0002', ARRAY['oauth2gw-0001'], NULL);

CREATE TABLE oauth2gw.signing_keys (
  key_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- RFC 7638 thumbprint of public_jwk.
  kid TEXT NOT NULL,
  alg TEXT NOT NULL CHECK (alg IN ('ES256', 'RS256')),
  -- The public key's RFC 7638 required members.
  public_jwk JSONB NOT NULL,
  private_key BYTEA NOT NULL,
  private_key_sealed BOOLEAN NOT NULL,
  -- Published from created_at, signs from activates_at, gone from retires_at.
  created_at TIMESTAMPTZ NOT NULL,
  activates_at TIMESTAMPTZ NOT NULL,
  retires_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX signing_keys_kid ON oauth2gw.signing_keys (kid);
COMMENT ON TABLE oauth2gw.signing_keys IS 'Keys signing ID tokens and JWT access tokens (private keys sealed when KEY_ENCRYPTION_SECRET is set)';

COMMIT;
