-- Migration 2: expiry notices sent (docs/monitoring.md), one row per material, ValidTo and
-- lead time, so that each warning goes out once whichever node sends it, and again after a
-- reimport with a new ValidTo.
CREATE TABLE IF NOT EXISTS notices (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, material_id TEXT NOT NULL,
  valid_to_ms INTEGER NOT NULL, kind TEXT NOT NULL, sent_ms INTEGER NOT NULL,
  PRIMARY KEY (account, region, key_id, material_id, valid_to_ms, kind)) WITHOUT ROWID;
