-- Migration 5: the statements are written once for both engines (src/statements.rs). The
-- rotation index's condition is written as they write it (a bare boolean column), so that
-- SQLite's planner sees that it covers the query of keys due for rotation.
DROP INDEX IF EXISTS keys_rotation;
CREATE INDEX IF NOT EXISTS keys_rotation ON keys (next_rotation_ms) WHERE rotation_enabled;
