-- KyCH OAuth2 gateway schema, patch 0005: access token format and lifetime per client.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0005.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0005', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.clients
  -- opaque (random, only its hash stored) or jwt (RFC 9068, signed; its hash is stored the same way, so it is revocable).
  ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque' CHECK (access_token_format IN ('opaque', 'jwt')),
  -- NULL: the gateway's ACCESS_TOKEN_TTL_SECONDS.
  ADD COLUMN access_token_ttl_seconds INTEGER CHECK (access_token_ttl_seconds BETWEEN 60 AND 2592000);

COMMIT;
