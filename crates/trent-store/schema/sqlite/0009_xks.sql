-- Migration 9: Trent as an External Key Store proxy (docs/xks.md): its endpoints (a URI path
-- prefix, owned by one account), their SigV4 credentials (at most two at once, so that a
-- rotation never stops AWS KMS; the secret sealed under the root key), and the Trent keys
-- each serves under an external key id, with the usages and the AWS callers it allows.
CREATE TABLE IF NOT EXISTS xks_endpoints (
  path_prefix TEXT PRIMARY KEY, account TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS xks_credentials (
  access_key_id TEXT PRIMARY KEY, path_prefix TEXT NOT NULL, sealed_secret BLOB NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS xks_credentials_endpoint ON xks_credentials (path_prefix);
CREATE TABLE IF NOT EXISTS xks_keys (
  path_prefix TEXT NOT NULL, external_key_id TEXT NOT NULL, region TEXT NOT NULL,
  key_id TEXT NOT NULL, usages TEXT NOT NULL, allowed TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY (path_prefix, external_key_id));
