-- KyCH built-in verifier (kych-verifier) schema, patch 0002: claim leases and the verified issuer.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/verifier-0002.sql
--
-- Requires verifier-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the verifier schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('verifier-0002', ARRAY['verifier-0001'], NULL);

ALTER TABLE verifier.verifications
  -- Counts the claims of the verification: a claim is taken only if the count is still the one the
  -- claimer read, and a result is recorded only under the latest claim (a fencing token), so a process
  -- whose lease lapsed cannot overwrite the result of the one that took over.
  ADD COLUMN claim_count INT NOT NULL DEFAULT 0,
  -- While in_progress: until when the process checking the wallet answer owns it. After that (the
  -- process stopped), a wallet retry may claim it again. NULL on rows claimed before this patch: lapsed.
  ADD COLUMN claimed_until TIMESTAMPTZ,
  -- On success: the DID whose key verified each credential's signature (the DID of its kid), as
  -- {"<credential id>": ["<DID>"]}; reported as wallet_response.credential_issuer_dids.
  ADD COLUMN credential_issuer_dids JSONB;

COMMIT;
