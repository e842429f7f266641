-- Migration 7: the records of what the service does by itself (DeleteKey at the end of a
-- waiting period, RotateKey, DeleteExpiredKeyMaterial) are written in the transaction that
-- makes the change, and leave this table once they are in a node's journal: a crash between
-- the two leaves the record here, and a node writes it to its journal later (docs/audit.md).
CREATE TABLE IF NOT EXISTS trail_outbox (
  event_id TEXT PRIMARY KEY, made_ms BIGINT NOT NULL, record TEXT NOT NULL, claimed_ms BIGINT);
CREATE INDEX IF NOT EXISTS trail_outbox_made ON trail_outbox (made_ms);
