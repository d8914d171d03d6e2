-- KyCH OAuth2 gateway schema, patch 0007: announce client changes (issue 13).
--
--   psql -U kych -d kych -f oauth2_gatewaydb/oauth2gw-0007.sql
--
-- Requires oauth2gw-0001. kych-dbinit applies it, and so does every KyCH program on start when it
-- finds the gateway schema without it. Runs in one transaction; a second run is refused and changes nothing.

BEGIN;

SELECT _v.register_patch('oauth2gw-0007', ARRAY['oauth2gw-0001'], NULL);

-- Every gateway keeps its clients in memory while it listens on kych_client: each committed change of the
-- clients table (kych-client-management, the config sync, a manual edit) tells every instance to read them again.
CREATE FUNCTION oauth2gw.announce_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('kych_client', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER clients_announce_change
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON oauth2gw.clients
  FOR EACH STATEMENT EXECUTE FUNCTION oauth2gw.announce_client_change();

COMMIT;
