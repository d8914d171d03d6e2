-- KyCH OAuth2 gateway schema, patch 0013: the attestations issued at /credential (OpenID4VCI, issue 17), each
-- with its index in the attestations' token status list.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0013.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0013', ARRAY['oauth2gw-0001'], NULL);

-- No claim is kept: only what the status list and kych-client-management revoke-attestation need. An index is
-- never reused (a wallet may hold the attestation until its expiry).
CREATE TABLE oauth2gw.attestations (
  status_index BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  attestation_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  issued_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  revoked_at TIMESTAMPTZ
);
CREATE INDEX attestations_session ON oauth2gw.attestations (session_id);

COMMIT;
