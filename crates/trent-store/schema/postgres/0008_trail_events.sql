-- Migration 8: the records of every node, for LookupEvents on any node of a cluster
-- (docs/audit.md, "Several nodes"): each node copies its journal here every second; `id`
-- orders them as they arrived and is what a NextToken continues from. Kept 90 days, as
-- CloudTrail's event history.
CREATE TABLE IF NOT EXISTS trail_events (
  id BIGSERIAL PRIMARY KEY, node TEXT NOT NULL, sequence BIGINT NOT NULL, account TEXT NOT NULL,
  event_time_ms BIGINT NOT NULL, record TEXT NOT NULL, UNIQUE (node, sequence));
CREATE INDEX IF NOT EXISTS trail_events_account ON trail_events (account, id);
CREATE INDEX IF NOT EXISTS trail_events_time ON trail_events (event_time_ms);
