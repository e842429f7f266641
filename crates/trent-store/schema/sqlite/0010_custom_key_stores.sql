-- Migration 10: custom key stores (docs/xks.md, "Let Trent use a key held in an XKS proxy"):
-- an account's external key stores — where their XKS proxy is, the credential Trent signs
-- its requests with (the secret sealed under the root key), the connection state — and, on
-- each key of such a store, the store and the external key it is bound to (immutable).
-- Names and proxy addresses are unique in an account and Region (CreateCustomKeyStore's
-- XksProxyUriInUseException), as is an external key within its store
-- (XksKeyAlreadyInUseException): unique indexes decide, whatever the nodes race.
CREATE TABLE IF NOT EXISTS custom_key_stores (
  account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
  name TEXT NOT NULL, store_type TEXT NOT NULL, created_ms INTEGER NOT NULL,
  connectivity TEXT, uri_endpoint TEXT, uri_path TEXT, access_key_id TEXT, sealed_secret BLOB,
  connection_state TEXT NOT NULL, connection_error TEXT,
  PRIMARY KEY (account, region, id));
CREATE UNIQUE INDEX IF NOT EXISTS custom_key_stores_name ON custom_key_stores (account, region, name);
CREATE UNIQUE INDEX IF NOT EXISTS custom_key_stores_uri
  ON custom_key_stores (account, region, uri_endpoint, uri_path);
ALTER TABLE keys ADD COLUMN custom_key_store_id TEXT;
ALTER TABLE keys ADD COLUMN xks_key_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS keys_xks_key ON keys (account, region, custom_key_store_id, xks_key_id);
-- And, for the endpoints Trent serves, the subject (CN) a client certificate must have on
-- them (mutual TLS; AWS KMS presents cks.kms.<region>.amazonaws.com), if any.
ALTER TABLE xks_endpoints ADD COLUMN client_subject TEXT;
