-- KyCH OAuth2 gateway schema, patch 0012: the grant types each client may use at /token (issue 16).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0012.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0012', ARRAY['oauth2gw-0001'], NULL);

-- GRANT_TYPES: authorization_code and/or vp_token-bearer (an organisation's wallet presenting credentials at /token).
-- Clients registered before keep the authorization-code flow only.
ALTER TABLE oauth2gw.clients
  ADD COLUMN grant_types TEXT[] NOT NULL DEFAULT ARRAY['authorization_code']
    CHECK (cardinality(grant_types) > 0 AND grant_types <@ ARRAY['authorization_code', 'vp_token-bearer']);

COMMIT;
