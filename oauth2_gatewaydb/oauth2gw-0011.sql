-- KyCH OAuth2 gateway schema, patch 0011: pushed authorization requests (issue 15, RFC 9126).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0011.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.
--
-- POST /par stores a client's checked authorization request under a new request_uri; /authorize takes it once
-- (DELETE … RETURNING, so one instance gets it). Only a hash of the request_uri is kept; the purge deletes
-- those that expired unused.

BEGIN;

SELECT _v.register_patch('oauth2gw-0011', ARRAY['oauth2gw-0001'], NULL);

CREATE TABLE oauth2gw.pushed_authorization_requests (
  -- SHA-256 of the request_uri.
  request_hash BYTEA PRIMARY KEY CHECK (octet_length(request_hash) = 32),
  client_serial BIGINT NOT NULL REFERENCES oauth2gw.clients (client_serial) ON DELETE CASCADE,
  -- The checked authorization request as JSON text.
  parameters TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);

-- A client's deletion cascades, and the purge finds expired rows, without a scan.
CREATE INDEX pushed_authorization_requests_client ON oauth2gw.pushed_authorization_requests (client_serial);
CREATE INDEX pushed_authorization_requests_expires ON oauth2gw.pushed_authorization_requests (expires_at);

COMMIT;
