//! Records to rows and back: how each table's row (its columns as `statements.rs` lists them)
//! becomes a record, and the parameters of a record in the same order. Both engines read
//! through [`Cells`] and bind [`Value`]s, so this is written once.

use crate::engine::{values, Cells, Value};
use crate::model::*;
use crate::{Fault, Result};
use trent_types::{
    ExpirationModelType, ImportState, KeyMaterialState, KeySpec, KeyState, KeyUsageType,
    OriginType, RotationType,
};

fn enum_of<T>(s: String, parse: fn(&str) -> Option<T>) -> Result<T> {
    match parse(&s) {
        Some(v) => Ok(v),
        None => Err(Fault::UnknownValue(s).into()),
    }
}

fn opt_enum_of<T>(s: Option<String>, parse: fn(&str) -> Option<T>) -> Result<Option<T>> {
    s.map(|s| enum_of(s, parse)).transpose()
}

fn json_of<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_str(s)?)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string(v)?)
}

pub(crate) fn key_ref(r: &dyn Cells) -> Result<KeyRef> {
    Ok(KeyRef { account: r.text(0)?, region: r.text(1)?, key_id: r.text(2)? })
}

/// The (account, region, key id) parameters `$1..$3` of a statement about one key.
pub(crate) fn of_key(k: &KeyRef) -> Vec<Value> {
    values![&k.account, &k.region, &k.key_id]
}

pub(crate) fn count(r: &dyn Cells) -> Result<u64> {
    Ok(u64::try_from(r.int(0)?).unwrap_or(0))
}

pub(crate) fn blob(r: &dyn Cells) -> Result<Vec<u8>> {
    r.blob(0)
}

pub(crate) fn exists(_: &dyn Cells) -> Result<()> {
    Ok(())
}

pub(crate) fn text_pair(r: &dyn Cells) -> Result<(String, String)> {
    Ok((r.text(0)?, r.text(1)?))
}

pub(crate) fn key_row(r: &dyn Cells) -> Result<KeyRecord> {
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
        xks: match (r.opt_text(22)?, r.opt_text(23)?) {
            (Some(custom_key_store_id), Some(xks_key_id)) => {
                Some(XksBinding { custom_key_store_id, xks_key_id })
            }
            _ => None,
        },
    })
}

/// The parameters of `INSERT_KEY`, in column order.
pub(crate) fn key_values(k: &KeyRecord) -> Result<Vec<Value>> {
    Ok(values![
        &k.key.account,
        &k.key.region,
        &k.key.key_id,
        k.version,
        k.created_ms,
        &k.description,
        k.key_usage.as_str(),
        k.key_spec.as_str(),
        k.origin.as_str(),
        k.state.as_str(),
        k.deletion_date_ms,
        &k.policy,
        k.multi_region,
        to_json(&k.tags)?,
        k.rotation_enabled,
        k.rotation_period_days,
        k.next_rotation_ms,
        k.current_material_id.as_deref(),
        k.primary_region.as_deref(),
        k.transient.map(|t| t.state.as_str()),
        k.transient.map(|t| t.until_ms),
        k.pending_window_days,
        k.xks.as_ref().map(|x| x.custom_key_store_id.as_str()),
        k.xks.as_ref().map(|x| x.xks_key_id.as_str()),
    ])
}

/// The parameters of `UPDATE_KEY`, in order: the new row, then the key and the version it
/// must still have.
pub(crate) fn update_key_values(k: &KeyRecord) -> Result<Vec<Value>> {
    Ok(values![
        k.version,
        &k.description,
        k.state.as_str(),
        k.deletion_date_ms,
        &k.policy,
        to_json(&k.tags)?,
        k.rotation_enabled,
        k.rotation_period_days,
        k.next_rotation_ms,
        k.current_material_id.as_deref(),
        k.primary_region.as_deref(),
        k.transient.map(|t| t.state.as_str()),
        k.transient.map(|t| t.until_ms),
        k.pending_window_days,
        &k.key.account,
        &k.key.region,
        &k.key.key_id,
        k.version - 1,
    ])
}

pub(crate) fn last_usage_row(r: &dyn Cells) -> Result<KeyLastUsageRecord> {
    Ok(KeyLastUsageRecord {
        key: key_ref(r)?,
        operation: r.text(3)?,
        used_ms: r.int(4)?,
        event_id: r.text(5)?,
        request_id: r.text(6)?,
    })
}

pub(crate) fn last_usage_values(u: &KeyLastUsageRecord) -> Vec<Value> {
    values![
        &u.key.account,
        &u.key.region,
        &u.key.key_id,
        &u.operation,
        u.used_ms,
        &u.event_id,
        &u.request_id,
    ]
}

pub(crate) fn material_row(r: &dyn Cells) -> Result<MaterialRecord> {
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

pub(crate) fn material_values(m: &MaterialRecord) -> Vec<Value> {
    values![
        &m.key.account,
        &m.key.region,
        &m.key.key_id,
        &m.material_id,
        m.sealed.as_deref(),
        m.state.as_str(),
        m.created_ms,
        m.rotation_date_ms,
        m.rotation_type.map(|v| v.as_str()),
        m.import_state.map(|v| v.as_str()),
        m.expiration_model.map(|v| v.as_str()),
        m.valid_to_ms,
        m.description.as_deref(),
    ]
}

pub(crate) fn grant_row(r: &dyn Cells) -> Result<GrantRecord> {
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

pub(crate) fn grant_values(g: &GrantRecord) -> Result<Vec<Value>> {
    let constraints = g.constraints.as_ref().map(to_json).transpose()?;
    Ok(values![
        &g.key.account,
        &g.key.region,
        &g.key.key_id,
        &g.grant_id,
        &g.token,
        g.name.as_deref(),
        &g.grantee,
        g.retiring.as_deref(),
        to_json(&g.operations)?,
        constraints.as_deref(),
        &g.issuer,
        g.created_ms,
    ])
}

pub(crate) fn access_key_row(r: &dyn Cells) -> Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key_id: r.text(0)?,
        account_id: r.text(1)?,
        principal_arn: r.text(2)?,
        sealed_secret: r.blob(3)?,
        created_ms: r.int(4)?,
    })
}

pub(crate) fn access_key_values(k: &AccessKeyRecord) -> Vec<Value> {
    values![&k.access_key_id, &k.account_id, &k.principal_arn, &k.sealed_secret, k.created_ms]
}

pub(crate) fn user_row(r: &dyn Cells) -> Result<UserRecord> {
    Ok(UserRecord {
        account_id: r.text(0)?,
        name: r.text(1)?,
        created_ms: r.int(2)?,
        partition: r.text(3)?,
    })
}

pub(crate) fn user_values(u: &UserRecord) -> Vec<Value> {
    values![&u.account_id, &u.name, u.created_ms, &u.partition]
}

pub(crate) fn account_row(r: &dyn Cells) -> Result<AccountRecord> {
    Ok(AccountRecord { account_id: r.text(0)?, created_ms: r.int(1)?, partition: r.text(2)? })
}

pub(crate) fn account_values(a: &AccountRecord) -> Vec<Value> {
    values![&a.account_id, a.created_ms, &a.partition]
}

pub(crate) fn alias_row(r: &dyn Cells) -> Result<AliasRecord> {
    Ok(AliasRecord {
        account: r.text(0)?,
        region: r.text(1)?,
        name: r.text(2)?,
        target_key_id: r.text(3)?,
        created_ms: r.int(4)?,
        updated_ms: r.int(5)?,
    })
}

pub(crate) fn alias_values(a: &AliasRecord) -> Vec<Value> {
    values![&a.account, &a.region, &a.name, &a.target_key_id, a.created_ms, a.updated_ms]
}

pub(crate) fn key_count_row(r: &dyn Cells) -> Result<KeyCount> {
    Ok(KeyCount {
        account: r.text(0)?,
        region: r.text(1)?,
        state: enum_of(r.text(2)?, KeyState::parse)?,
        count: u64::try_from(r.int(3)?).unwrap_or(0),
    })
}

pub(crate) fn expiring_row(r: &dyn Cells) -> Result<ExpiringMaterial> {
    Ok(ExpiringMaterial { key: key_ref(r)?, material_id: r.text(3)?, valid_to_ms: r.int(4)? })
}

/// The parameters of `CLAIM_NOTICE`.
pub(crate) fn notice_values(n: &Notice, now_ms: i64) -> Vec<Value> {
    let m = &n.material;
    values![
        &m.key.account,
        &m.key.region,
        &m.key.key_id,
        &m.material_id,
        m.valid_to_ms,
        &n.kind,
        now_ms,
    ]
}

pub(crate) fn trail_log_file_values(f: &TrailLogFile) -> Vec<Value> {
    values![
        &f.object_key,
        &f.account,
        &f.region,
        &f.sha256,
        f.oldest_ms,
        f.newest_ms,
        f.delivered_ms,
        &f.node,
        f.last_sequence,
        f.digest_key.as_deref(),
    ]
}

pub(crate) fn trail_log_file_row(r: &dyn Cells) -> Result<TrailLogFile> {
    Ok(TrailLogFile {
        object_key: r.text(0)?,
        account: r.text(1)?,
        region: r.text(2)?,
        sha256: r.text(3)?,
        oldest_ms: r.int(4)?,
        newest_ms: r.int(5)?,
        delivered_ms: r.int(6)?,
        node: r.text(7)?,
        last_sequence: r.int(8)?,
        digest_key: r.opt_text(9)?,
    })
}

/// The first digest of a chain has no previous one: its `previous_key` column is empty, so
/// that the primary key still makes a second "first" digest a conflict.
pub(crate) fn trail_digest_values(d: &TrailDigest) -> Vec<Value> {
    values![
        &d.account,
        &d.region,
        d.previous_key.as_deref().unwrap_or(""),
        &d.object_key,
        &d.bucket,
        d.end_ms,
        &d.sha256,
        &d.signature,
        &d.gzip,
        d.delivered,
    ]
}

pub(crate) fn trail_digest_row(r: &dyn Cells) -> Result<TrailDigest> {
    Ok(TrailDigest {
        account: r.text(0)?,
        region: r.text(1)?,
        previous_key: Some(r.text(2)?).filter(|p| !p.is_empty()),
        object_key: r.text(3)?,
        bucket: r.text(4)?,
        end_ms: r.int(5)?,
        sha256: r.text(6)?,
        signature: r.text(7)?,
        gzip: r.blob(8)?,
        delivered: r.flag(9)?,
    })
}

pub(crate) fn opt_int(r: &dyn Cells) -> Result<Option<i64>> {
    r.opt_int(0)
}

pub(crate) fn outbox_values(e: &OutboxEvent) -> Vec<Value> {
    values![&e.event_id, e.made_ms, &e.record]
}

pub(crate) fn outbox_row(r: &dyn Cells) -> Result<OutboxEvent> {
    Ok(OutboxEvent { event_id: r.text(0)?, made_ms: r.int(1)?, record: r.text(2)? })
}

pub(crate) fn trail_event_values(e: &TrailEvent) -> Vec<Value> {
    values![&e.node, e.sequence, &e.account, e.event_time_ms, &e.record]
}

pub(crate) fn id_and_text(r: &dyn Cells) -> Result<(i64, String)> {
    Ok((r.int(0)?, r.text(1)?))
}

pub(crate) fn xks_endpoint_row(r: &dyn Cells) -> Result<XksEndpointRecord> {
    Ok(XksEndpointRecord {
        path_prefix: r.text(0)?,
        account: r.text(1)?,
        created_ms: r.int(2)?,
        client_subject: r.opt_text(3)?,
    })
}

pub(crate) fn xks_credential_row(r: &dyn Cells) -> Result<XksCredentialRecord> {
    Ok(XksCredentialRecord {
        access_key_id: r.text(0)?,
        path_prefix: r.text(1)?,
        sealed_secret: r.blob(2)?,
        created_ms: r.int(3)?,
    })
}

pub(crate) fn xks_key_row(r: &dyn Cells) -> Result<XksKeyRecord> {
    Ok(XksKeyRecord {
        path_prefix: r.text(0)?,
        external_key_id: r.text(1)?,
        region: r.text(2)?,
        key_id: r.text(3)?,
        usages: r.text(4)?,
        allowed: r.text(5)?,
        created_ms: r.int(6)?,
    })
}

pub(crate) fn xks_key_values(k: &XksKeyRecord) -> Vec<Value> {
    values![
        &k.path_prefix,
        &k.external_key_id,
        &k.region,
        &k.key_id,
        &k.usages,
        &k.allowed,
        k.created_ms
    ]
}

pub(crate) fn custom_key_store_row(r: &dyn Cells) -> Result<CustomKeyStoreRecord> {
    Ok(CustomKeyStoreRecord {
        account: r.text(0)?,
        region: r.text(1)?,
        id: r.text(2)?,
        version: r.int(3)?,
        name: r.text(4)?,
        store_type: r.text(5)?,
        created_ms: r.int(6)?,
        connectivity: r.opt_text(7)?.unwrap_or_default(),
        uri_endpoint: r.opt_text(8)?.unwrap_or_default(),
        uri_path: r.opt_text(9)?.unwrap_or_default(),
        access_key_id: r.opt_text(10)?.unwrap_or_default(),
        sealed_secret: r.opt_blob(11)?.unwrap_or_default(),
        connection_state: r.text(12)?,
        connection_error: r.opt_text(13)?,
    })
}

/// The parameters of `INSERT_CUSTOM_KEY_STORE`, in column order.
pub(crate) fn custom_key_store_values(c: &CustomKeyStoreRecord) -> Vec<Value> {
    values![
        &c.account,
        &c.region,
        &c.id,
        c.version,
        &c.name,
        &c.store_type,
        c.created_ms,
        &c.connectivity,
        &c.uri_endpoint,
        &c.uri_path,
        &c.access_key_id,
        &c.sealed_secret,
        &c.connection_state,
        c.connection_error.as_deref(),
    ]
}

/// The parameters of `UPDATE_CUSTOM_KEY_STORE`: the new row, then the store and the version
/// it must still have.
pub(crate) fn update_custom_key_store_values(c: &CustomKeyStoreRecord) -> Vec<Value> {
    values![
        c.version,
        &c.name,
        &c.connectivity,
        &c.uri_endpoint,
        &c.uri_path,
        &c.access_key_id,
        &c.sealed_secret,
        &c.connection_state,
        c.connection_error.as_deref(),
        &c.account,
        &c.region,
        &c.id,
        c.version - 1,
    ]
}
