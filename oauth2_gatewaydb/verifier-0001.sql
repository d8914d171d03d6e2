-- KyCH built-in verifier (kych-verifier) schema, patch 0001.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/verifier-0001.sql
--
-- Requires versioning.sql. Runs in one transaction: applying it a second time
-- is refused by _v.register_patch and changes nothing.
--
-- Several verifier processes may share this database: a wallet submission
-- claims its verification with one conditional UPDATE (pending -> in_progress),
-- the result is written together with its webhook event in one transaction, and
-- a webhook event is leased while one process delivers it; the lease lapses if
-- that process stops, so no event is lost.

BEGIN;

SELECT _v.register_patch('verifier-0001', NULL, NULL);

CREATE SCHEMA verifier;
COMMENT ON SCHEMA verifier IS 'KyCH built-in swiyu-compatible OpenID4VP verifier';

-- One verification, from the management API's POST to its expiry.
--   pending      created; the wallet may fetch the request object and answer
--   in_progress  a wallet answer is being verified (reported as PENDING)
--   success      the presentation passed every check; credential_subject_data set
--   failed       a check failed or the holder declined; error_code set (may be NULL)
CREATE TABLE verifier.verifications (
  verification_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The management id, also the wallet-side request id (a UUID).
  verification_id TEXT NOT NULL,
  -- The nonce the wallet's KB-JWT must carry (a UUID, as in swiyu 4.2).
  request_nonce TEXT NOT NULL,
  -- The OAuth state of the request object, echoed by the wallet.
  oauth_state TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'in_progress', 'success', 'failed')),
  response_mode TEXT NOT NULL CHECK (response_mode IN ('direct_post', 'direct_post.jwt')),
  -- The validated DCQL query.
  dcql_query JSONB NOT NULL,
  accepted_issuer_dids TEXT[] NOT NULL,
  -- The ephemeral ECDH-ES P-256 private key (raw scalar) for direct_post.jwt, and its kid.
  encryption_key BYTEA CHECK (octet_length(encryption_key) = 32),
  encryption_key_id TEXT,
  -- The outcome (wallet_response of the management API).
  error_code TEXT,
  error_description TEXT,
  credential_subject_data JSONB,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  CONSTRAINT verifications_encryption_key_for_jwt_mode
    CHECK ((response_mode = 'direct_post.jwt') = (encryption_key IS NOT NULL AND encryption_key_id IS NOT NULL)),
  CONSTRAINT verifications_success_has_data
    CHECK (status <> 'success' OR credential_subject_data IS NOT NULL)
);
CREATE UNIQUE INDEX verifications_verification_id ON verifier.verifications (verification_id);
CREATE INDEX verifications_expires ON verifier.verifications (expires_at);
COMMENT ON TABLE verifier.verifications IS 'Verifications created through the management API';

-- The webhook outbox: one row per event until the callback answers below 400.
-- No foreign key: an event outlives the verification it names.
CREATE TABLE verifier.webhook_events (
  event_serial BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  verification_id TEXT NOT NULL,
  -- The event time sent as "timestamp".
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- NULL: due now. Otherwise not before this time: a process is delivering it (a lease that
  -- lapses if that process stops), or the last attempt failed and it waits for the next run.
  next_attempt_at TIMESTAMPTZ,
  attempts INT NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX webhook_events_due ON verifier.webhook_events (next_attempt_at, event_serial);
COMMENT ON TABLE verifier.webhook_events IS 'Webhook callbacks not yet delivered (durable outbox)';

COMMIT;
