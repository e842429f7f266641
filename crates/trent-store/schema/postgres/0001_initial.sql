-- Trent's PostgreSQL schema, migration 1: the tables of the first release. Migrations run in
-- order, once each, in one transaction (src/migrations.rs); never edit one that has shipped.
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, principal_arn TEXT NOT NULL,
  sealed_secret BYTEA NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, version BIGINT NOT NULL,
  created_ms BIGINT NOT NULL, description TEXT NOT NULL, key_usage TEXT NOT NULL,
  key_spec TEXT NOT NULL, origin TEXT NOT NULL, state TEXT NOT NULL, deletion_date_ms BIGINT,
  policy TEXT NOT NULL, multi_region BOOLEAN NOT NULL, tags TEXT NOT NULL,
  rotation_enabled BOOLEAN NOT NULL, rotation_period_days BIGINT, next_rotation_ms BIGINT,
  current_material_id TEXT,
  PRIMARY KEY (account, region, key_id));
CREATE INDEX IF NOT EXISTS keys_deletion ON keys (deletion_date_ms) WHERE deletion_date_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_rotation ON keys (next_rotation_ms) WHERE rotation_enabled;
CREATE TABLE IF NOT EXISTS materials (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, material_id TEXT NOT NULL,
  sealed BYTEA, state TEXT NOT NULL, created_ms BIGINT NOT NULL, rotation_date_ms BIGINT,
  rotation_type TEXT, import_state TEXT, expiration_model TEXT, valid_to_ms BIGINT,
  description TEXT,
  PRIMARY KEY (account, region, key_id, material_id));
CREATE INDEX IF NOT EXISTS materials_expiry ON materials (valid_to_ms) WHERE valid_to_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS aliases (
  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, target_key_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL,
  PRIMARY KEY (account, region, name));
CREATE INDEX IF NOT EXISTS aliases_target ON aliases (account, region, target_key_id);
CREATE TABLE IF NOT EXISTS users (
  account_id TEXT NOT NULL, name TEXT NOT NULL, created_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, name));
CREATE TABLE IF NOT EXISTS identity_policies (
  principal_arn TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,
  PRIMARY KEY (principal_arn, name));
CREATE TABLE IF NOT EXISTS grants (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, grant_id TEXT NOT NULL,
  token TEXT NOT NULL UNIQUE, name TEXT, grantee TEXT NOT NULL, retiring TEXT,
  operations TEXT NOT NULL, constraints TEXT, issuer TEXT NOT NULL, created_ms BIGINT NOT NULL,
  PRIMARY KEY (account, region, key_id, grant_id));
CREATE INDEX IF NOT EXISTS grants_retiring ON grants (retiring) WHERE retiring IS NOT NULL;
