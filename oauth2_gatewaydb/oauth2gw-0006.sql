-- KyCH OAuth2 gateway schema, patch 0006: limits on nonce-less /authorize (issue 12, finding 5).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0006.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0006', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.clients
  -- A standard authorization request without /setup may start a session (ALLOW_AUTHORIZE_WITHOUT_SETUP).
  ADD COLUMN allow_authorize_without_setup BOOLEAN NOT NULL DEFAULT true;

ALTER TABLE oauth2gw.verification_sessions
  -- Created by a nonce-less /authorize (anyone may cause one), not by the client's authenticated /setup.
  ADD COLUMN without_setup BOOLEAN NOT NULL DEFAULT false;

-- The per-client cap counts a client's waiting nonce-less sessions; the purge finds the idle ones.
CREATE INDEX verification_sessions_without_setup
  ON oauth2gw.verification_sessions (client_serial, status, expires_at) WHERE without_setup;

COMMIT;
