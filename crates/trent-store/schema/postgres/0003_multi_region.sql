-- Migration 3: multi-Region keys (docs/byok.md, "Multi-Region keys") and GetKeyLastUsage.
-- A multi-Region key names the Region of its set's primary; a replica or a new primary may
-- show a transient state (Creating, Updating) until a time; a primary waiting for its
-- replicas' deletion keeps the waiting period it was given.
ALTER TABLE keys ADD COLUMN primary_region TEXT;
ALTER TABLE keys ADD COLUMN transient_state TEXT;
ALTER TABLE keys ADD COLUMN transient_until_ms BIGINT;
ALTER TABLE keys ADD COLUMN pending_window_days BIGINT;
UPDATE keys SET primary_region = region WHERE multi_region = TRUE;
CREATE INDEX IF NOT EXISTS keys_by_id ON keys (account, key_id);
-- The last successful cryptographic operation of each key, written in batches.
CREATE TABLE IF NOT EXISTS key_last_usage (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, operation TEXT NOT NULL,
  used_ms BIGINT NOT NULL, event_id TEXT NOT NULL, request_id TEXT NOT NULL,
  PRIMARY KEY (account, region, key_id));
