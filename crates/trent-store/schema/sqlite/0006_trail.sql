-- Migration 6: the trail as CloudTrail delivers it (docs/audit.md). The log files delivered
-- (by any node), each listed by the one digest that covers it, and the digests: one chain per
-- account and Region, linked by the previous digest's object. A digest is claimed here before
-- it is delivered (the primary key makes two nodes' digests of one head a conflict), so the
-- chain's head is kept away from the trail's files and an undelivered one is delivered again.
CREATE TABLE IF NOT EXISTS trail_log_files (
  object_key TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
  sha256 TEXT NOT NULL, oldest_ms INTEGER NOT NULL, newest_ms INTEGER NOT NULL,
  delivered_ms INTEGER NOT NULL, node TEXT NOT NULL, last_sequence INTEGER NOT NULL,
  digest_key TEXT);
CREATE INDEX IF NOT EXISTS trail_log_files_undigested
  ON trail_log_files (account, region) WHERE digest_key IS NULL;
CREATE INDEX IF NOT EXISTS trail_log_files_node ON trail_log_files (node, last_sequence);
CREATE TABLE IF NOT EXISTS trail_digests (
  account TEXT NOT NULL, region TEXT NOT NULL, previous_key TEXT NOT NULL,
  object_key TEXT NOT NULL UNIQUE, bucket TEXT NOT NULL, end_ms INTEGER NOT NULL,
  sha256 TEXT NOT NULL, signature TEXT NOT NULL, gzip BLOB NOT NULL, delivered BOOLEAN NOT NULL,
  PRIMARY KEY (account, region, previous_key));
CREATE INDEX IF NOT EXISTS trail_digests_head ON trail_digests (account, region, end_ms);
CREATE INDEX IF NOT EXISTS trail_digests_undelivered ON trail_digests (end_ms) WHERE NOT delivered;
