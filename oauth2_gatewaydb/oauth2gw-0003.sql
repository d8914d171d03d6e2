-- KyCH OAuth2 gateway schema, patch 0003: client settings of OAuth 2.1 and OpenID Connect.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0003.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0003', ARRAY['oauth2gw-0001'], NULL);

ALTER TABLE oauth2gw.clients
  -- Shown on the verification page instead of the client id.
  ADD COLUMN client_name TEXT,
  -- Redirect URIs accepted besides redirect_uri, each compared exactly (RFC 9700 §4.1.3).
  ADD COLUMN redirect_uris TEXT[] NOT NULL DEFAULT '{}',
  -- PKCE required also for this confidential client (public clients always need it).
  ADD COLUMN require_pkce BOOLEAN NOT NULL DEFAULT false;

COMMIT;
