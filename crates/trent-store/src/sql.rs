//! The SQL row code both stores share: the column list of each table, the mapping of a row
//! to its record, the parameters of a record, the delete cascade of a key and the ordering
//! of text keys. Each engine supplies a [`Cells`] reader for its row type and binds
//! [`Value`]s; the schema is kept once per engine, next to it.

use crate::model::*;
use crate::{Result, StoreError};
use std::borrow::Cow;
use trent_types::{
    ExpirationModelType, ImportState, KeyMaterialState, KeySpec, KeyState, KeyUsageType,
    OriginType, RotationType,
};

/// What an engine's result row gives, by column index.
pub(crate) trait Cells {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn blob(&self, i: usize) -> Result<Vec<u8>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;
}

/// A parameter of a statement, as both engines bind it.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Text(Cow<'a, str>),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Flag(bool),
    OptBlob(Option<&'a [u8]>),
}

fn text(s: &str) -> Value<'_> {
    Value::Text(Cow::Borrowed(s))
}

/// Text keys (key ids, material ids, grant ids, alias names) are compared and ordered
/// bytewise: a page boundary must mean the same in the comparison as in the ordering,
/// whatever the database's default collation. PostgreSQL's follows the cluster's locale, so
/// its statements say this; SQLite's default collation (BINARY) is bytewise already.
pub(crate) const BYTEWISE: &str = "COLLATE \"C\"";

fn enum_of<T>(s: String, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(&s).ok_or_else(|| StoreError::Backend(format!("unknown value '{s}' in the database")))
}

fn opt_enum_of<T>(s: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    s.map(|s| enum_of(s, parse)).transpose()
}

fn json_of<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("bad JSON column: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

fn key_ref(r: &(impl Cells + ?Sized)) -> Result<KeyRef> {
    Ok(KeyRef { account: r.text(0)?, region: r.text(1)?, key_id: r.text(2)? })
}

pub(crate) const KEY_COLS: &str = "account, region, key_id, version, created_ms, description, key_usage, key_spec, origin, state, deletion_date_ms, policy, multi_region, tags, rotation_enabled, rotation_period_days, next_rotation_ms, current_material_id, primary_region, transient_state, transient_until_ms, pending_window_days";

pub(crate) fn key_row(r: &(impl Cells + ?Sized)) -> Result<KeyRecord> {
    Ok(KeyRecord {
        key: key_ref(r)?,
        version: r.int(3)?,
        created_ms: r.int(4)?,
        description: r.text(5)?,
        key_usage: enum_of(r.text(6)?, KeyUsageType::parse)?,
        key_spec: enum_of(r.text(7)?, KeySpec::parse)?,
        origin: enum_of(r.text(8)?, OriginType::parse)?,
        state: enum_of(r.text(9)?, KeyState::parse)?,
        deletion_date_ms: r.opt_int(10)?,
        policy: r.text(11)?,
        multi_region: r.flag(12)?,
        tags: json_of(&r.text(13)?)?,
        rotation_enabled: r.flag(14)?,
        rotation_period_days: r.opt_int(15)?,
        next_rotation_ms: r.opt_int(16)?,
        current_material_id: r.opt_text(17)?,
        primary_region: r.opt_text(18)?,
        transient: match (opt_enum_of(r.opt_text(19)?, KeyState::parse)?, r.opt_int(20)?) {
            (Some(state), Some(until_ms)) => Some(Transient { state, until_ms }),
            _ => None,
        },
        pending_window_days: r.opt_int(21)?,
    })
}

/// A key's tags as stored: a JSON object.
pub(crate) fn tags_json(k: &KeyRecord) -> Result<String> {
    to_json(&k.tags)
}

/// The parameters of `KEY_COLS`, in order.
pub(crate) fn key_values(k: &KeyRecord) -> Result<Vec<Value<'_>>> {
    Ok(vec![
        text(&k.key.account),
        text(&k.key.region),
        text(&k.key.key_id),
        Value::Int(k.version),
        Value::Int(k.created_ms),
        text(&k.description),
        text(k.key_usage.as_str()),
        text(k.key_spec.as_str()),
        text(k.origin.as_str()),
        text(k.state.as_str()),
        Value::OptInt(k.deletion_date_ms),
        text(&k.policy),
        Value::Flag(k.multi_region),
        Value::Text(Cow::Owned(tags_json(k)?)),
        Value::Flag(k.rotation_enabled),
        Value::OptInt(k.rotation_period_days),
        Value::OptInt(k.next_rotation_ms),
        Value::OptText(k.current_material_id.as_deref()),
        Value::OptText(k.primary_region.as_deref()),
        Value::OptText(k.transient.map(|t| t.state.as_str())),
        Value::OptInt(k.transient.map(|t| t.until_ms)),
        Value::OptInt(k.pending_window_days),
    ])
}

/// Replaces a key's row if its version is still the one before; the parameters are
/// [`update_key_values`], numbered in order of first appearance (SQLite numbers `$n`
/// parameters so).
pub(crate) const UPDATE_KEY: &str = "UPDATE keys SET version = $1, description = $2, state = $3, deletion_date_ms = $4, policy = $5, tags = $6, rotation_enabled = $7, rotation_period_days = $8, next_rotation_ms = $9, current_material_id = $10, primary_region = $11, transient_state = $12, transient_until_ms = $13, pending_window_days = $14 WHERE account = $15 AND region = $16 AND key_id = $17 AND version = $18";

/// The parameters of [`UPDATE_KEY`], in order.
pub(crate) fn update_key_values(k: &KeyRecord) -> Result<Vec<Value<'_>>> {
    Ok(vec![
        Value::Int(k.version),
        text(&k.description),
        text(k.state.as_str()),
        Value::OptInt(k.deletion_date_ms),
        text(&k.policy),
        Value::Text(Cow::Owned(tags_json(k)?)),
        Value::Flag(k.rotation_enabled),
        Value::OptInt(k.rotation_period_days),
        Value::OptInt(k.next_rotation_ms),
        Value::OptText(k.current_material_id.as_deref()),
        Value::OptText(k.primary_region.as_deref()),
        Value::OptText(k.transient.map(|t| t.state.as_str())),
        Value::OptInt(k.transient.map(|t| t.until_ms)),
        Value::OptInt(k.pending_window_days),
        text(&k.key.account),
        text(&k.key.region),
        text(&k.key.key_id),
        Value::Int(k.version - 1),
    ])
}

pub(crate) const DELETE_MATERIAL: &str =
    "DELETE FROM materials WHERE account = $1 AND region = $2 AND key_id = $3 AND material_id = $4";

/// The multi-Region keys of one id in every Region (the `keys_by_id` index).
pub(crate) const RELATED_KEYS: &str = "WHERE account = $1 AND key_id = $2 ORDER BY region";

pub(crate) const LAST_USAGE_COLS: &str =
    "account, region, key_id, operation, used_ms, event_id, request_id";

/// Keeps the later of the stored and the new usage.
pub(crate) const UPSERT_LAST_USAGE: &str = "INSERT INTO key_last_usage (account, region, key_id, operation, used_ms, event_id, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, region, key_id) DO UPDATE SET operation = excluded.operation, used_ms = excluded.used_ms, event_id = excluded.event_id, request_id = excluded.request_id WHERE excluded.used_ms >= key_last_usage.used_ms";

pub(crate) fn last_usage_row(r: &(impl Cells + ?Sized)) -> Result<KeyLastUsageRecord> {
    Ok(KeyLastUsageRecord {
        key: key_ref(r)?,
        operation: r.text(3)?,
        used_ms: r.int(4)?,
        event_id: r.text(5)?,
        request_id: r.text(6)?,
    })
}

/// The parameters of [`UPSERT_LAST_USAGE`].
pub(crate) fn last_usage_values(u: &KeyLastUsageRecord) -> Vec<Value<'_>> {
    vec![
        text(&u.key.account),
        text(&u.key.region),
        text(&u.key.key_id),
        text(&u.operation),
        Value::Int(u.used_ms),
        text(&u.event_id),
        text(&u.request_id),
    ]
}

pub(crate) const MATERIAL_COLS: &str = "account, region, key_id, material_id, sealed, state, created_ms, rotation_date_ms, rotation_type, import_state, expiration_model, valid_to_ms, description";

pub(crate) fn material_row(r: &(impl Cells + ?Sized)) -> Result<MaterialRecord> {
    Ok(MaterialRecord {
        key: key_ref(r)?,
        material_id: r.text(3)?,
        sealed: r.opt_blob(4)?,
        state: enum_of(r.text(5)?, KeyMaterialState::parse)?,
        created_ms: r.int(6)?,
        rotation_date_ms: r.opt_int(7)?,
        rotation_type: opt_enum_of(r.opt_text(8)?, RotationType::parse)?,
        import_state: opt_enum_of(r.opt_text(9)?, ImportState::parse)?,
        expiration_model: opt_enum_of(r.opt_text(10)?, ExpirationModelType::parse)?,
        valid_to_ms: r.opt_int(11)?,
        description: r.opt_text(12)?,
    })
}

/// The parameters of `MATERIAL_COLS`, in order.
pub(crate) fn material_values(m: &MaterialRecord) -> Vec<Value<'_>> {
    vec![
        text(&m.key.account),
        text(&m.key.region),
        text(&m.key.key_id),
        text(&m.material_id),
        Value::OptBlob(m.sealed.as_deref()),
        text(m.state.as_str()),
        Value::Int(m.created_ms),
        Value::OptInt(m.rotation_date_ms),
        Value::OptText(m.rotation_type.map(|v| v.as_str())),
        Value::OptText(m.import_state.map(|v| v.as_str())),
        Value::OptText(m.expiration_model.map(|v| v.as_str())),
        Value::OptInt(m.valid_to_ms),
        Value::OptText(m.description.as_deref()),
    ]
}

pub(crate) const GRANT_COLS: &str = "account, region, key_id, grant_id, token, name, grantee, retiring, operations, constraints, issuer, created_ms";

pub(crate) fn grant_row(r: &(impl Cells + ?Sized)) -> Result<GrantRecord> {
    Ok(GrantRecord {
        key: key_ref(r)?,
        grant_id: r.text(3)?,
        token: r.text(4)?,
        name: r.opt_text(5)?,
        grantee: r.text(6)?,
        retiring: r.opt_text(7)?,
        operations: json_of(&r.text(8)?)?,
        constraints: r.opt_text(9)?.as_deref().map(json_of).transpose()?,
        issuer: r.text(10)?,
        created_ms: r.int(11)?,
    })
}

/// The parameters of `GRANT_COLS`, in order.
pub(crate) fn grant_values(g: &GrantRecord) -> Result<Vec<Value<'_>>> {
    let constraints = g.constraints.as_ref().map(to_json).transpose()?;
    Ok(vec![
        text(&g.key.account),
        text(&g.key.region),
        text(&g.key.key_id),
        text(&g.grant_id),
        text(&g.token),
        Value::OptText(g.name.as_deref()),
        text(&g.grantee),
        Value::OptText(g.retiring.as_deref()),
        Value::Text(Cow::Owned(to_json(&g.operations)?)),
        match constraints {
            Some(c) => Value::Text(Cow::Owned(c)),
            None => Value::OptText(None),
        },
        text(&g.issuer),
        Value::Int(g.created_ms),
    ])
}

pub(crate) const ACCESS_KEY_COLS: &str =
    "access_key_id, account_id, principal_arn, sealed_secret, created_ms";

pub(crate) fn access_key_row(r: &(impl Cells + ?Sized)) -> Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key_id: r.text(0)?,
        account_id: r.text(1)?,
        principal_arn: r.text(2)?,
        sealed_secret: r.blob(3)?,
        created_ms: r.int(4)?,
    })
}

pub(crate) const USER_COLS: &str = "account_id, name, created_ms, arn_partition";

pub(crate) fn user_row(r: &(impl Cells + ?Sized)) -> Result<UserRecord> {
    Ok(UserRecord {
        account_id: r.text(0)?,
        name: r.text(1)?,
        created_ms: r.int(2)?,
        partition: r.text(3)?,
    })
}

/// An account, unless it exists (its partition never changes).
pub(crate) const PUT_ACCOUNT: &str = "INSERT INTO accounts (account_id, created_ms, arn_partition) VALUES ($1, $2, $3) ON CONFLICT (account_id) DO NOTHING";
pub(crate) const GET_ACCOUNT: &str =
    "SELECT account_id, created_ms, arn_partition FROM accounts WHERE account_id = $1";

pub(crate) fn account_row(r: &(impl Cells + ?Sized)) -> Result<AccountRecord> {
    Ok(AccountRecord { account_id: r.text(0)?, created_ms: r.int(1)?, partition: r.text(2)? })
}

pub(crate) const ALIAS_COLS: &str = "account, region, name, target_key_id, created_ms, updated_ms";

pub(crate) fn alias_row(r: &(impl Cells + ?Sized)) -> Result<AliasRecord> {
    Ok(AliasRecord {
        account: r.text(0)?,
        region: r.text(1)?,
        name: r.text(2)?,
        target_key_id: r.text(3)?,
        created_ms: r.int(4)?,
        updated_ms: r.int(5)?,
    })
}

/// The parameters of `ALIAS_COLS`, in order.
pub(crate) fn alias_values(a: &AliasRecord) -> Vec<Value<'_>> {
    vec![
        text(&a.account),
        text(&a.region),
        text(&a.name),
        text(&a.target_key_id),
        Value::Int(a.created_ms),
        Value::Int(a.updated_ms),
    ]
}

/// What deleting a key does, in order, each with (account, region, key id) as $1..$3: notes
/// that the key was deleted (seeding never makes it again), deletes its materials, their
/// expiry notices and its last usage, the aliases that point to it, its grants, then the key.
pub(crate) const DELETE_KEY_CASCADE: [&str; 7] = [
    "INSERT INTO deleted_keys (account, region, key_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    "DELETE FROM materials WHERE account = $1 AND region = $2 AND key_id = $3",
    "DELETE FROM key_last_usage WHERE account = $1 AND region = $2 AND key_id = $3",
    "DELETE FROM notices WHERE account = $1 AND region = $2 AND key_id = $3",
    "DELETE FROM aliases WHERE account = $1 AND region = $2 AND target_key_id = $3",
    "DELETE FROM grants WHERE account = $1 AND region = $2 AND key_id = $3",
    "DELETE FROM keys WHERE account = $1 AND region = $2 AND key_id = $3",
];

/// `$1, $2, …, $n`: the placeholders of an insert of `n` columns (SQLite reads `$n` as a
/// named parameter; the engines bind them in order of first appearance, which is `1..n`).
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
}

/// Whether a key was ever deleted.
pub(crate) const KEY_WAS_DELETED: &str =
    "SELECT COUNT(*) FROM deleted_keys WHERE account = $1 AND region = $2 AND key_id = $3";

/// Keys of one account and Region (the resource quota of CreateKey and ReplicateKey).
pub(crate) const COUNT_KEYS: &str = "SELECT COUNT(*) FROM keys WHERE account = $1 AND region = $2";

/// Keys per account, Region and stored state.
pub(crate) const COUNT_KEYS_BY_STATE: &str =
    "SELECT account, region, state, COUNT(*) FROM keys GROUP BY account, region, state";

/// Present imported material with a `ValidTo` (the `materials_expiry` index).
pub(crate) const EXPIRING_MATERIALS: &str = "SELECT account, region, key_id, material_id, valid_to_ms FROM materials WHERE valid_to_ms IS NOT NULL AND sealed IS NOT NULL";

/// Inserts a notice unless it is there: one row changed means this caller sends it.
pub(crate) const CLAIM_NOTICE: &str = "INSERT INTO notices (account, region, key_id, material_id, valid_to_ms, kind, sent_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";

pub(crate) const PRUNE_NOTICES: &str = "DELETE FROM notices WHERE valid_to_ms < $1";

pub(crate) fn key_count_row(r: &impl Cells) -> Result<KeyCount> {
    Ok(KeyCount {
        account: r.text(0)?,
        region: r.text(1)?,
        state: enum_of(r.text(2)?, KeyState::parse)?,
        count: u64::try_from(r.int(3)?).unwrap_or(0),
    })
}

pub(crate) fn expiring_row(r: &impl Cells) -> Result<ExpiringMaterial> {
    Ok(ExpiringMaterial {
        key: KeyRef { account: r.text(0)?, region: r.text(1)?, key_id: r.text(2)? },
        material_id: r.text(3)?,
        valid_to_ms: r.int(4)?,
    })
}

/// The parameters of [`CLAIM_NOTICE`].
pub(crate) fn notice_values(n: &Notice, now_ms: i64) -> Vec<Value<'_>> {
    let m = &n.material;
    vec![
        text(&m.key.account),
        text(&m.key.region),
        text(&m.key.key_id),
        text(&m.material_id),
        Value::Int(m.valid_to_ms),
        text(&n.kind),
        Value::Int(now_ms),
    ]
}
