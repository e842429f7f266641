-- Migration 4: an account belongs to one ARN partition (aws, aws-cn, aws-us-gov, …), as in
-- AWS: its principals are arn:<partition>:iam::…, and its credentials sign only for the
-- Regions of that partition (docs/authorization.md, "Partitions"). Existing accounts are in
-- the aws partition, where their principals already were.
ALTER TABLE accounts ADD COLUMN arn_partition TEXT NOT NULL DEFAULT 'aws';
ALTER TABLE users ADD COLUMN arn_partition TEXT NOT NULL DEFAULT 'aws';
-- The keys that were deleted (at the end of their waiting period): seeding never makes one
-- again, so a deletion stays a deletion across restarts with `--init`.
CREATE TABLE IF NOT EXISTS deleted_keys (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL,
  PRIMARY KEY (account, region, key_id));
