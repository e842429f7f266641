//! Every SQL statement of the store, written once for both engines. Placeholders are
//! PostgreSQL's `$n`, which SQLite reads as named parameters numbered in order of first
//! appearance — so each statement numbers them in that order (a test checks it) — and only
//! SQL both engines accept is used (`ON CONFLICT`, `CAST`, bare boolean columns). Text keys
//! are compared and ordered bytewise by their columns' collation (`COLLATE "C"` in the
//! PostgreSQL schema, SQLite's default BINARY), so that a page boundary means the same in the
//! comparison as in the ordering whatever the cluster's locale.
//!
//! Each table's columns are listed once, in a macro that the statements and the row mapping
//! (`rows.rs`, which reads and binds in the same order) share.

macro_rules! key_cols {
    () => {
        "account, region, key_id, version, created_ms, description, key_usage, key_spec, origin, state, deletion_date_ms, policy, multi_region, tags, rotation_enabled, rotation_period_days, next_rotation_ms, current_material_id, primary_region, transient_state, transient_until_ms, pending_window_days, custom_key_store_id, xks_key_id"
    };
}
macro_rules! material_cols {
    () => {
        "account, region, key_id, material_id, sealed, state, created_ms, rotation_date_ms, rotation_type, import_state, expiration_model, valid_to_ms, description"
    };
}
macro_rules! grant_cols {
    () => {
        "account, region, key_id, grant_id, token, name, grantee, retiring, operations, constraints, issuer, created_ms"
    };
}
macro_rules! alias_cols {
    () => {
        "account, region, name, target_key_id, created_ms, updated_ms"
    };
}
macro_rules! access_key_cols {
    () => {
        "access_key_id, account_id, principal_arn, sealed_secret, created_ms"
    };
}
macro_rules! user_cols {
    () => {
        "account_id, name, created_ms, arn_partition"
    };
}
macro_rules! account_cols {
    () => {
        "account_id, created_ms, arn_partition"
    };
}
macro_rules! last_usage_cols {
    () => {
        "account, region, key_id, operation, used_ms, event_id, request_id"
    };
}
macro_rules! notice_cols {
    () => {
        "account, region, key_id, material_id, valid_to_ms, kind, sent_ms"
    };
}
macro_rules! trail_log_file_cols {
    () => {
        "object_key, account, region, sha256, oldest_ms, newest_ms, delivered_ms, node, last_sequence, digest_key"
    };
}
macro_rules! trail_digest_cols {
    () => {
        "account, region, previous_key, object_key, bucket, end_ms, sha256, signature, gzip, delivered"
    };
}
/// One key's rows: the condition on (account, region, key id) as `$1..$3`.
macro_rules! of_key {
    () => {
        "account = $1 AND region = $2 AND key_id = $3"
    };
}

// Service metadata.
pub(crate) const GET_META: &str = "SELECT value FROM meta WHERE name = $1";
pub(crate) const PUT_META_IF_ABSENT: &str =
    "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";

// Identities.
/// An account, unless it exists (its partition never changes).
pub(crate) const PUT_ACCOUNT: &str = concat!(
    "INSERT INTO accounts (",
    account_cols!(),
    ") VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING"
);
pub(crate) const GET_ACCOUNT: &str =
    concat!("SELECT ", account_cols!(), " FROM accounts WHERE account_id = $1");
pub(crate) const INSERT_ACCESS_KEY: &str =
    concat!("INSERT INTO access_keys (", access_key_cols!(), ") VALUES ($1, $2, $3, $4, $5)");
pub(crate) const GET_ACCESS_KEY: &str =
    concat!("SELECT ", access_key_cols!(), " FROM access_keys WHERE access_key_id = $1");
pub(crate) const LIST_ACCESS_KEYS: &str = concat!(
    "SELECT ",
    access_key_cols!(),
    " FROM access_keys WHERE account_id = $1 ORDER BY created_ms, access_key_id"
);
pub(crate) const DELETE_ACCESS_KEY: &str = "DELETE FROM access_keys WHERE access_key_id = $1";
pub(crate) const INSERT_USER: &str =
    concat!("INSERT INTO users (", user_cols!(), ") VALUES ($1, $2, $3, $4)");
pub(crate) const GET_USER: &str =
    concat!("SELECT ", user_cols!(), " FROM users WHERE account_id = $1 AND name = $2");
pub(crate) const LIST_USERS: &str =
    concat!("SELECT ", user_cols!(), " FROM users WHERE account_id = $1 ORDER BY name");
pub(crate) const PUT_IDENTITY_POLICY: &str = "INSERT INTO identity_policies (principal_arn, name, document) VALUES ($1, $2, $3) ON CONFLICT (principal_arn, name) DO UPDATE SET document = excluded.document";
pub(crate) const DELETE_IDENTITY_POLICY: &str =
    "DELETE FROM identity_policies WHERE principal_arn = $1 AND name = $2";
pub(crate) const LIST_IDENTITY_POLICIES: &str =
    "SELECT name, document FROM identity_policies WHERE principal_arn = $1 ORDER BY name";

// Keys.
pub(crate) const INSERT_KEY: &str = concat!(
    "INSERT INTO keys (",
    key_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
);
pub(crate) const GET_KEY: &str = concat!("SELECT ", key_cols!(), " FROM keys WHERE ", of_key!());
pub(crate) const LIST_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM keys WHERE account = $1 AND region = $2 AND key_id > $3 ORDER BY key_id LIMIT $4"
);
/// Replaces a key's row if its version is still the one before (`rows::update_key_values`).
pub(crate) const UPDATE_KEY: &str = "UPDATE keys SET version = $1, description = $2, state = $3, deletion_date_ms = $4, policy = $5, tags = $6, rotation_enabled = $7, rotation_period_days = $8, next_rotation_ms = $9, current_material_id = $10, primary_region = $11, transient_state = $12, transient_until_ms = $13, pending_window_days = $14 WHERE account = $15 AND region = $16 AND key_id = $17 AND version = $18";
/// The multi-Region keys of one id in every Region (the `keys_by_id` index).
pub(crate) const RELATED_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM keys WHERE account = $1 AND key_id = $2 ORDER BY region"
);
pub(crate) const KEYS_DUE_FOR_DELETION: &str = "SELECT account, region, key_id FROM keys WHERE deletion_date_ms IS NOT NULL AND deletion_date_ms <= $1 AND state = 'PendingDeletion'";
/// The `keys_rotation` partial index has the same condition (`rotation_enabled`).
pub(crate) const KEYS_DUE_FOR_ROTATION: &str = "SELECT account, region, key_id FROM keys WHERE rotation_enabled AND next_rotation_ms IS NOT NULL AND next_rotation_ms <= $1";
/// Whether a key was ever deleted.
pub(crate) const KEY_WAS_DELETED: &str =
    concat!("SELECT COUNT(*) FROM deleted_keys WHERE ", of_key!());
/// Keys of one account and Region (the resource quota of CreateKey and ReplicateKey).
pub(crate) const COUNT_KEYS: &str = "SELECT COUNT(*) FROM keys WHERE account = $1 AND region = $2";
/// Keys per account, Region and stored state.
pub(crate) const COUNT_KEYS_BY_STATE: &str =
    "SELECT account, region, state, COUNT(*) FROM keys GROUP BY account, region, state";
/// What deleting a key does, in order: notes that the key was deleted (seeding never makes
/// it again), deletes its materials, their expiry notices and its last usage, the aliases
/// that point to it, its grants, then the key.
pub(crate) const DELETE_KEY_CASCADE: [&str; 7] = [
    "INSERT INTO deleted_keys (account, region, key_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    concat!("DELETE FROM materials WHERE ", of_key!()),
    concat!("DELETE FROM key_last_usage WHERE ", of_key!()),
    concat!("DELETE FROM notices WHERE ", of_key!()),
    "DELETE FROM aliases WHERE account = $1 AND region = $2 AND target_key_id = $3",
    concat!("DELETE FROM grants WHERE ", of_key!()),
    concat!("DELETE FROM keys WHERE ", of_key!()),
];

// Key materials.
pub(crate) const UPSERT_MATERIAL: &str = concat!(
    "INSERT INTO materials (",
    material_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (account, region, key_id, material_id) DO UPDATE SET sealed = excluded.sealed, state = excluded.state, created_ms = excluded.created_ms, rotation_date_ms = excluded.rotation_date_ms, rotation_type = excluded.rotation_type, import_state = excluded.import_state, expiration_model = excluded.expiration_model, valid_to_ms = excluded.valid_to_ms, description = excluded.description"
);
pub(crate) const GET_MATERIALS: &str = concat!(
    "SELECT ",
    material_cols!(),
    " FROM materials WHERE ",
    of_key!(),
    " ORDER BY created_ms, material_id"
);
pub(crate) const DELETE_MATERIAL: &str =
    concat!("DELETE FROM materials WHERE ", of_key!(), " AND material_id = $4");
pub(crate) const KEYS_WITH_EXPIRED_MATERIAL: &str = "SELECT DISTINCT account, region, key_id FROM materials WHERE sealed IS NOT NULL AND valid_to_ms IS NOT NULL AND valid_to_ms <= $1";
/// Present imported material with a `ValidTo` (the `materials_expiry` index).
pub(crate) const EXPIRING_MATERIALS: &str = "SELECT account, region, key_id, material_id, valid_to_ms FROM materials WHERE valid_to_ms IS NOT NULL AND sealed IS NOT NULL";

// Last usage.
/// Keeps the later of the stored and the new usage.
pub(crate) const UPSERT_LAST_USAGE: &str = concat!(
    "INSERT INTO key_last_usage (",
    last_usage_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, region, key_id) DO UPDATE SET operation = excluded.operation, used_ms = excluded.used_ms, event_id = excluded.event_id, request_id = excluded.request_id WHERE excluded.used_ms >= key_last_usage.used_ms"
);
pub(crate) const GET_LAST_USAGE: &str =
    concat!("SELECT ", last_usage_cols!(), " FROM key_last_usage WHERE ", of_key!());

// Notices.
/// Inserts a notice unless it is there: one row changed means this caller sends it.
pub(crate) const CLAIM_NOTICE: &str = concat!(
    "INSERT INTO notices (",
    notice_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
);
pub(crate) const PRUNE_NOTICES: &str = "DELETE FROM notices WHERE valid_to_ms < $1";

// Grants.
pub(crate) const INSERT_GRANT: &str = concat!(
    "INSERT INTO grants (",
    grant_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);
pub(crate) const LIST_GRANTS: &str = concat!(
    "SELECT ",
    grant_cols!(),
    " FROM grants WHERE ",
    of_key!(),
    " ORDER BY created_ms, grant_id"
);
pub(crate) const GET_GRANT_BY_TOKEN: &str =
    concat!("SELECT ", grant_cols!(), " FROM grants WHERE token = $1");
pub(crate) const LIST_GRANTS_BY_RETIRING: &str = concat!(
    "SELECT ",
    grant_cols!(),
    " FROM grants WHERE retiring = $1 ORDER BY created_ms, grant_id"
);
pub(crate) const DELETE_GRANT: &str =
    concat!("DELETE FROM grants WHERE ", of_key!(), " AND grant_id = $4");

// Aliases.
pub(crate) const INSERT_ALIAS: &str =
    concat!("INSERT INTO aliases (", alias_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6)");
pub(crate) const GET_ALIAS: &str = concat!(
    "SELECT ",
    alias_cols!(),
    " FROM aliases WHERE account = $1 AND region = $2 AND name = $3"
);
/// Points an alias at another key if it still points at the expected one (`$6`).
pub(crate) const UPDATE_ALIAS: &str = "UPDATE aliases SET target_key_id = $1, updated_ms = $2 WHERE account = $3 AND region = $4 AND name = $5 AND target_key_id = $6";
pub(crate) const DELETE_ALIAS: &str =
    "DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3 AND target_key_id = $4";
pub(crate) const LIST_ALIASES: &str = concat!(
    "SELECT ",
    alias_cols!(),
    " FROM aliases WHERE account = $1 AND region = $2 AND (CAST($3 AS TEXT) IS NULL OR target_key_id = $3) AND name > $4 ORDER BY name LIMIT $5"
);

// The trail's log files and digests.
/// Records a delivered log file; one delivered again (after a crash, with the records since)
/// replaces its row unless a digest already lists it.
pub(crate) const PUT_TRAIL_LOG_FILE: &str = concat!(
    "INSERT INTO trail_log_files (",
    trail_log_file_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (object_key) DO UPDATE SET sha256 = excluded.sha256, oldest_ms = excluded.oldest_ms, newest_ms = excluded.newest_ms, delivered_ms = excluded.delivered_ms, last_sequence = excluded.last_sequence WHERE trail_log_files.digest_key IS NULL"
);
pub(crate) const PACKAGED_THROUGH: &str =
    "SELECT MAX(last_sequence) FROM trail_log_files WHERE node = $1";
pub(crate) const UNDIGESTED_LOG_FILES: &str = concat!(
    "SELECT ",
    trail_log_file_cols!(),
    " FROM trail_log_files WHERE account = $1 AND region = $2 AND digest_key IS NULL ORDER BY delivered_ms, object_key"
);
pub(crate) const TRAIL_REGIONS: &str =
    "SELECT DISTINCT account, region FROM trail_log_files ORDER BY account, region";
/// Lists a log file in a digest: one row changed, or another digest took it first.
pub(crate) const DIGEST_LOG_FILE: &str =
    "UPDATE trail_log_files SET digest_key = $1 WHERE object_key = $2 AND digest_key IS NULL";
/// A digest claims its place in the chain: a second digest of the same head is a unique
/// violation.
pub(crate) const INSERT_TRAIL_DIGEST: &str = concat!(
    "INSERT INTO trail_digests (",
    trail_digest_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
pub(crate) const DIGEST_HEAD: &str = concat!(
    "SELECT ",
    trail_digest_cols!(),
    " FROM trail_digests WHERE account = $1 AND region = $2 ORDER BY end_ms DESC LIMIT 1"
);
pub(crate) const UNDELIVERED_DIGESTS: &str = concat!(
    "SELECT ",
    trail_digest_cols!(),
    " FROM trail_digests WHERE NOT delivered ORDER BY end_ms, object_key"
);
pub(crate) const TRAIL_DIGESTS: &str = concat!(
    "SELECT ",
    trail_digest_cols!(),
    " FROM trail_digests WHERE account = $1 AND region = $2 ORDER BY end_ms, object_key"
);
pub(crate) const TRAIL_LOG_FILES: &str = concat!(
    "SELECT ",
    trail_log_file_cols!(),
    " FROM trail_log_files WHERE account = $1 AND region = $2 ORDER BY delivered_ms, object_key"
);
pub(crate) const DIGEST_DELIVERED: &str =
    "UPDATE trail_digests SET delivered = TRUE WHERE object_key = $1";

// The outbox of service events.
pub(crate) const INSERT_OUTBOX: &str =
    "INSERT INTO trail_outbox (event_id, made_ms, record, claimed_ms) VALUES ($1, $2, $3, NULL)";
pub(crate) const OUTBOX_DONE: &str = "DELETE FROM trail_outbox WHERE event_id = $1";
pub(crate) const STALE_OUTBOX: &str = "SELECT event_id, made_ms, record FROM trail_outbox WHERE made_ms < $1 AND (claimed_ms IS NULL OR claimed_ms < $1) ORDER BY made_ms, event_id LIMIT 1000";
/// Takes an event left in the outbox for this node to write, unless another node took it
/// since `$3` (its claim then stands).
pub(crate) const CLAIM_OUTBOX: &str = "UPDATE trail_outbox SET claimed_ms = $1 WHERE event_id = $2 AND (claimed_ms IS NULL OR claimed_ms < $3)";

// The records of every node (LookupEvents in a cluster).
pub(crate) const SHIP_EVENT: &str = "INSERT INTO trail_events (node, sequence, account, event_time_ms, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (node, sequence) DO NOTHING";
pub(crate) const SHIPPED_THROUGH: &str = "SELECT MAX(sequence) FROM trail_events WHERE node = $1";
/// An account's records before `$2` (by arrival), newest first.
pub(crate) const EVENTS_BEFORE: &str =
    "SELECT id, record FROM trail_events WHERE account = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
pub(crate) const PRUNE_EVENTS: &str = "DELETE FROM trail_events WHERE event_time_ms < $1";

// The External Key Store proxy's endpoints, credentials and keys.
pub(crate) const INSERT_XKS_ENDPOINT: &str = "INSERT INTO xks_endpoints (path_prefix, account, created_ms, client_subject) VALUES ($1, $2, $3, $4)";
pub(crate) const GET_XKS_ENDPOINT: &str = "SELECT path_prefix, account, created_ms, client_subject FROM xks_endpoints WHERE path_prefix = $1";
pub(crate) const LIST_XKS_ENDPOINTS: &str = "SELECT path_prefix, account, created_ms, client_subject FROM xks_endpoints WHERE account = $1 ORDER BY path_prefix";
pub(crate) const DELETE_XKS_ENDPOINT: &str = "DELETE FROM xks_endpoints WHERE path_prefix = $1";
pub(crate) const DELETE_XKS_ENDPOINT_CREDENTIALS: &str =
    "DELETE FROM xks_credentials WHERE path_prefix = $1";
pub(crate) const DELETE_XKS_ENDPOINT_KEYS: &str = "DELETE FROM xks_keys WHERE path_prefix = $1";
/// A credential, unless its endpoint has `$5` already (or is gone).
pub(crate) const INSERT_XKS_CREDENTIAL: &str = concat!(
    "INSERT INTO xks_credentials (access_key_id, path_prefix, sealed_secret, created_ms) ",
    "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM xks_endpoints WHERE path_prefix = $2) ",
    "AND (SELECT COUNT(*) FROM xks_credentials WHERE path_prefix = $2) < $5"
);
pub(crate) const GET_XKS_CREDENTIAL: &str = "SELECT access_key_id, path_prefix, sealed_secret, created_ms FROM xks_credentials WHERE access_key_id = $1";
pub(crate) const LIST_XKS_CREDENTIALS: &str = "SELECT access_key_id, path_prefix, sealed_secret, created_ms FROM xks_credentials WHERE path_prefix = $1 ORDER BY created_ms, access_key_id";
pub(crate) const DELETE_XKS_CREDENTIAL: &str =
    "DELETE FROM xks_credentials WHERE access_key_id = $1";
macro_rules! xks_key_cols {
    () => {
        "path_prefix, external_key_id, region, key_id, usages, allowed, created_ms"
    };
}
/// A key, if its endpoint exists.
pub(crate) const INSERT_XKS_KEY: &str = concat!(
    "INSERT INTO xks_keys (",
    xks_key_cols!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM xks_endpoints WHERE path_prefix = $1)"
);
pub(crate) const GET_XKS_KEY: &str = concat!(
    "SELECT ",
    xks_key_cols!(),
    " FROM xks_keys WHERE path_prefix = $1 AND external_key_id = $2"
);
pub(crate) const LIST_XKS_KEYS: &str = concat!(
    "SELECT ",
    xks_key_cols!(),
    " FROM xks_keys WHERE path_prefix = $1 ORDER BY external_key_id"
);
pub(crate) const DELETE_XKS_KEY: &str =
    "DELETE FROM xks_keys WHERE path_prefix = $1 AND external_key_id = $2";

// Custom key stores.
macro_rules! custom_key_store_cols {
    () => {
        "account, region, id, version, name, store_type, created_ms, connectivity, uri_endpoint, uri_path, access_key_id, sealed_secret, connection_state, connection_error"
    };
}
/// A store, unless the account has `$15` in the Region already (the quota).
pub(crate) const INSERT_CUSTOM_KEY_STORE: &str = concat!(
    "INSERT INTO custom_key_stores (",
    custom_key_store_cols!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 ",
    "WHERE (SELECT COUNT(*) FROM custom_key_stores WHERE account = $1 AND region = $2) < $15"
);
pub(crate) const GET_CUSTOM_KEY_STORE: &str = concat!(
    "SELECT ",
    custom_key_store_cols!(),
    " FROM custom_key_stores WHERE account = $1 AND region = $2 AND id = $3"
);
pub(crate) const LIST_CUSTOM_KEY_STORES: &str = concat!(
    "SELECT ",
    custom_key_store_cols!(),
    " FROM custom_key_stores WHERE account = $1 AND region = $2 ORDER BY created_ms, id"
);
/// Replaces a store's row if its version is still the one before.
pub(crate) const UPDATE_CUSTOM_KEY_STORE: &str = "UPDATE custom_key_stores SET version = $1, name = $2, connectivity = $3, uri_endpoint = $4, uri_path = $5, access_key_id = $6, sealed_secret = $7, connection_state = $8, connection_error = $9 WHERE account = $10 AND region = $11 AND id = $12 AND version = $13";
/// Deletes a store that holds no key (CustomKeyStoreHasCMKsException otherwise).
pub(crate) const DELETE_CUSTOM_KEY_STORE: &str = "DELETE FROM custom_key_stores WHERE account = $1 AND region = $2 AND id = $3 AND NOT EXISTS (SELECT 1 FROM keys WHERE account = $1 AND region = $2 AND custom_key_store_id = $3)";
pub(crate) const COUNT_CUSTOM_KEY_STORE_KEYS: &str =
    "SELECT COUNT(*) FROM keys WHERE account = $1 AND region = $2 AND custom_key_store_id = $3";

/// Every statement, for the tests.
#[cfg(test)]
pub(crate) const ALL: &[&str] = &[
    INSERT_XKS_ENDPOINT,
    GET_XKS_ENDPOINT,
    LIST_XKS_ENDPOINTS,
    DELETE_XKS_ENDPOINT,
    DELETE_XKS_ENDPOINT_CREDENTIALS,
    DELETE_XKS_ENDPOINT_KEYS,
    INSERT_XKS_CREDENTIAL,
    GET_XKS_CREDENTIAL,
    LIST_XKS_CREDENTIALS,
    DELETE_XKS_CREDENTIAL,
    INSERT_XKS_KEY,
    GET_XKS_KEY,
    LIST_XKS_KEYS,
    DELETE_XKS_KEY,
    INSERT_CUSTOM_KEY_STORE,
    GET_CUSTOM_KEY_STORE,
    LIST_CUSTOM_KEY_STORES,
    UPDATE_CUSTOM_KEY_STORE,
    DELETE_CUSTOM_KEY_STORE,
    COUNT_CUSTOM_KEY_STORE_KEYS,
    GET_META,
    PUT_META_IF_ABSENT,
    PUT_ACCOUNT,
    GET_ACCOUNT,
    INSERT_ACCESS_KEY,
    GET_ACCESS_KEY,
    LIST_ACCESS_KEYS,
    DELETE_ACCESS_KEY,
    INSERT_USER,
    GET_USER,
    LIST_USERS,
    PUT_IDENTITY_POLICY,
    DELETE_IDENTITY_POLICY,
    LIST_IDENTITY_POLICIES,
    INSERT_KEY,
    GET_KEY,
    LIST_KEYS,
    UPDATE_KEY,
    RELATED_KEYS,
    KEYS_DUE_FOR_DELETION,
    KEYS_DUE_FOR_ROTATION,
    KEY_WAS_DELETED,
    COUNT_KEYS,
    COUNT_KEYS_BY_STATE,
    DELETE_KEY_CASCADE[0],
    DELETE_KEY_CASCADE[1],
    DELETE_KEY_CASCADE[2],
    DELETE_KEY_CASCADE[3],
    DELETE_KEY_CASCADE[4],
    DELETE_KEY_CASCADE[5],
    DELETE_KEY_CASCADE[6],
    UPSERT_MATERIAL,
    GET_MATERIALS,
    DELETE_MATERIAL,
    KEYS_WITH_EXPIRED_MATERIAL,
    EXPIRING_MATERIALS,
    UPSERT_LAST_USAGE,
    GET_LAST_USAGE,
    CLAIM_NOTICE,
    PRUNE_NOTICES,
    INSERT_GRANT,
    LIST_GRANTS,
    GET_GRANT_BY_TOKEN,
    LIST_GRANTS_BY_RETIRING,
    DELETE_GRANT,
    INSERT_ALIAS,
    GET_ALIAS,
    UPDATE_ALIAS,
    DELETE_ALIAS,
    LIST_ALIASES,
    PUT_TRAIL_LOG_FILE,
    PACKAGED_THROUGH,
    UNDIGESTED_LOG_FILES,
    TRAIL_REGIONS,
    DIGEST_LOG_FILE,
    INSERT_TRAIL_DIGEST,
    DIGEST_HEAD,
    UNDELIVERED_DIGESTS,
    DIGEST_DELIVERED,
    TRAIL_DIGESTS,
    TRAIL_LOG_FILES,
    INSERT_OUTBOX,
    OUTBOX_DONE,
    STALE_OUTBOX,
    CLAIM_OUTBOX,
    SHIP_EVENT,
    SHIPPED_THROUGH,
    EVENTS_BEFORE,
    PRUNE_EVENTS,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers of a statement's `$n` placeholders, in order of appearance.
    fn placeholders(sql: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let mut rest = sql;
        while let Some(i) = rest.find('$') {
            rest = &rest[i + 1..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            out.push(digits.parse().unwrap_or(0));
        }
        out
    }

    /// SQLite numbers `$n` by first appearance and binds in that order: a statement whose
    /// placeholders first appear as 1, 2, 3, … binds the same in both engines.
    #[test]
    fn placeholders_first_appear_in_order() {
        for sql in ALL {
            let mut seen = 0;
            for n in placeholders(sql) {
                assert!(n >= 1 && n <= seen + 1, "placeholder ${n} out of order in {sql}");
                seen = seen.max(n);
            }
        }
    }

    /// Every statement is listed in `ALL` once (so the test above covers them).
    #[test]
    fn all_is_complete() {
        let source = include_str!("statements.rs");
        let declared = source
            .lines()
            .filter(|l| l.starts_with("pub(crate) const ") && !l.contains("ALL:"))
            .count();
        // DELETE_KEY_CASCADE is one declaration of seven statements.
        assert_eq!(declared + 6, ALL.len());
    }
}
