-- KyCH OAuth2 gateway schema, patch 0010: DPoP-bound access tokens (issue 15, RFC 9449).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0010.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0010', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.verification_sessions
  -- The authorization request's dpop_jkt: /token then wants a DPoP proof by the key with this RFC 7638 thumbprint.
  ADD COLUMN dpop_jkt TEXT;

ALTER TABLE oauth2gw.access_tokens
  -- The thumbprint of the key a DPoP-bound token is bound to (cnf.jkt); NULL for a bearer token.
  ADD COLUMN dpop_jkt TEXT;

COMMIT;
