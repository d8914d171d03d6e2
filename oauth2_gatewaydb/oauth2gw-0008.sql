-- KyCH OAuth2 gateway schema, patch 0008: claims erased once delivered (issue 14, privacy controls).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0008.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.
--
-- A session's verified claims are erased as they are delivered (unless CLAIMS_RETENTION_MINUTES keeps them
-- longer), and at the latest once no code or token can reach them; the session keeps what auditing needs
-- (ids, times, client, outcome, issuer, vct).

BEGIN;

SELECT _v.register_patch('oauth2gw-0008', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.verification_sessions
  -- When the claims were erased; claims is then the empty object.
  ADD COLUMN claims_erased_at TIMESTAMPTZ,
  -- The sub of the ID token that carried the claims when they were erased (/userinfo still answers it).
  ADD COLUMN claims_subject TEXT;

-- The purge's search for sessions that still hold claims.
CREATE INDEX verification_sessions_holding_claims
  ON oauth2gw.verification_sessions (expires_at) WHERE claims_erased_at IS NULL AND claims IS NOT NULL;

COMMIT;
