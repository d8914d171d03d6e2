-- KyCH database versioning support.
--
-- Installs the "_v" schema, which records every applied patch (migration) and
-- refuses to apply one twice. Loading this file again is a no-op: every object
-- is created only if it is missing, and existing records are kept.
--
--   psql -U kych -d kych -f oauth2_gatewaydb/versioning.sql
--
-- A patch file calls _v.register_patch('name', requires, conflicts) inside its
-- own transaction before changing anything; if the patch is already recorded,
-- or a required patch is missing, or a conflicting one is present, the call
-- raises an error and the whole patch transaction is rolled back.

BEGIN;

CREATE SCHEMA IF NOT EXISTS _v;
COMMENT ON SCHEMA _v IS 'Schema versioning: which database patches are applied';

CREATE TABLE IF NOT EXISTS _v.patches (
  patch_name TEXT PRIMARY KEY,
  applied_tsz TIMESTAMPTZ NOT NULL DEFAULT now(),
  applied_by TEXT NOT NULL DEFAULT current_user,
  requires TEXT[] NOT NULL DEFAULT '{}',
  conflicts TEXT[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE _v.patches IS 'One row per applied patch';

CREATE OR REPLACE FUNCTION _v.register_patch(
  in_patch_name TEXT,
  in_requirements TEXT[] DEFAULT NULL,
  in_conflicts TEXT[] DEFAULT NULL)
RETURNS SETOF INT4
LANGUAGE plpgsql
AS $$
DECLARE
  missing TEXT[];
  clashing TEXT[];
BEGIN
  -- Serialise concurrent installers of the same database.
  LOCK TABLE _v.patches IN EXCLUSIVE MODE;

  IF EXISTS (SELECT 1 FROM _v.patches WHERE patch_name = in_patch_name) THEN
    RAISE EXCEPTION 'Patch % is already applied', in_patch_name
      USING ERRCODE = 'unique_violation';
  END IF;

  SELECT array_agg(r) INTO missing
    FROM unnest(coalesce(in_requirements, '{}'::TEXT[])) AS r
   WHERE r NOT IN (SELECT patch_name FROM _v.patches);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'Patch % requires patches that are not applied: %', in_patch_name, missing;
  END IF;

  SELECT array_agg(c) INTO clashing
    FROM unnest(coalesce(in_conflicts, '{}'::TEXT[])) AS c
   WHERE c IN (SELECT patch_name FROM _v.patches);
  IF clashing IS NOT NULL THEN
    RAISE EXCEPTION 'Patch % conflicts with applied patches: %', in_patch_name, clashing;
  END IF;

  INSERT INTO _v.patches (patch_name, requires, conflicts)
  VALUES (in_patch_name, coalesce(in_requirements, '{}'), coalesce(in_conflicts, '{}'));
  RETURN;
END;
$$;
COMMENT ON FUNCTION _v.register_patch(TEXT, TEXT[], TEXT[])
  IS 'Records a patch as applied; raises if it already is, or if requirements/conflicts are not met';

CREATE OR REPLACE FUNCTION _v.unregister_patch(in_patch_name TEXT)
RETURNS SETOF INT4
LANGUAGE plpgsql
AS $$
BEGIN
  LOCK TABLE _v.patches IN EXCLUSIVE MODE;
  IF NOT EXISTS (SELECT 1 FROM _v.patches WHERE patch_name = in_patch_name) THEN
    RAISE EXCEPTION 'Patch % is not applied', in_patch_name;
  END IF;
  DELETE FROM _v.patches WHERE patch_name = in_patch_name;
  RETURN;
END;
$$;

COMMIT;
