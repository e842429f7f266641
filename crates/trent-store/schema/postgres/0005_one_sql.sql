-- Migration 5: the statements are written once for both engines (src/statements.rs), so
-- what only PostgreSQL needs lives here, in the schema:
-- * text keys compare and sort bytewise, whatever the cluster's locale (a page boundary must
--   mean the same in `name > $n` as in `ORDER BY name`; SQLite's default collation is
--   bytewise already);
ALTER TABLE keys ALTER COLUMN key_id TYPE TEXT COLLATE "C";
ALTER TABLE materials ALTER COLUMN material_id TYPE TEXT COLLATE "C";
ALTER TABLE grants ALTER COLUMN grant_id TYPE TEXT COLLATE "C";
ALTER TABLE aliases ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE users ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE identity_policies ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE access_keys ALTER COLUMN access_key_id TYPE TEXT COLLATE "C";
-- * a change or deletion of a key notifies the other nodes (their caches drop it), when and
--   only if its transaction commits.
CREATE OR REPLACE FUNCTION trent_notify_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('trent_keys', OLD.account || ':' || OLD.region || ':' || OLD.key_id);
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS keys_notify ON keys;
CREATE TRIGGER keys_notify AFTER UPDATE OR DELETE ON keys
  FOR EACH ROW EXECUTE FUNCTION trent_notify_key();
