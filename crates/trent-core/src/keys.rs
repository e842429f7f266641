//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription.

use crate::authorize::Authz;
use crate::resolve::Accept;
use crate::state::{check, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_store::{KeyRecord, KeyRef, MaterialRecord, StoreError};
use trent_types::*;

const DAY_MS: i64 = 86_400_000;

/// What an update does to a key's materials besides changing its row.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub upsert: Vec<MaterialRecord>,
    pub remove: Vec<String>,
}

impl Changes {
    pub(crate) fn none() -> Self {
        Changes::default()
    }
}

impl From<Vec<MaterialRecord>> for Changes {
    fn from(upsert: Vec<MaterialRecord>) -> Self {
        Changes { upsert, remove: Vec::new() }
    }
}

/// A ListKeys-style page: `limit` rows (1..=1000, default 100) after `marker`.
pub(crate) fn page_limit(limit: Option<i64>) -> usize {
    limit.unwrap_or(100).clamp(1, 1000) as usize
}

/// One page of `items` after the item whose id is `marker`; the next marker if more remain.
pub(crate) fn page_after<T: Clone>(
    items: &[T],
    marker: &Option<String>,
    limit: Option<i64>,
    id: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>)> {
    let start = match marker {
        Some(m) => items
            .iter()
            .position(|i| &id(i) == m)
            .map(|p| p + 1)
            .ok_or_else(|| KmsError::InvalidMarker("The marker is not valid.".into()))?,
        None => 0,
    };
    let limit = page_limit(limit);
    let out: Vec<T> = items.iter().skip(start).take(limit).cloned().collect();
    let next = if start + out.len() < items.len() { out.last().map(&id) } else { None };
    Ok((out, next))
}

/// A new, enabled key record with no material yet, no description, tags or rotation.
pub(crate) fn new_record(
    key: KeyRef,
    now: i64,
    spec: KeySpec,
    usage: KeyUsageType,
    origin: OriginType,
    policy: String,
) -> KeyRecord {
    KeyRecord {
        key,
        version: 1,
        created_ms: now,
        description: String::new(),
        key_usage: usage,
        key_spec: spec,
        origin,
        state: KeyState::Enabled,
        deletion_date_ms: None,
        policy,
        multi_region: false,
        tags: Default::default(),
        rotation_enabled: false,
        rotation_period_days: None,
        next_rotation_ms: None,
        current_material_id: None,
    }
}

impl Kms {
    /// Reads a key and its materials, lets `f` change them, and writes the result back
    /// atomically; retried if another request changed the key in between.
    pub(crate) async fn modify_key<F>(
        &self,
        key: &KeyRef,
        mut f: F,
    ) -> Result<(KeyRecord, Vec<MaterialRecord>)>
    where
        F: FnMut(&mut KeyRecord, &[MaterialRecord]) -> Result<Changes>,
    {
        for _ in 0..8 {
            // Writes start from the store, not the cache: the version check must see the truth.
            self.uncache_key(key);
            let mut rec = self.load_key_raw(key).await?;
            let mut mats = self.store.get_materials(key).await?;
            let Changes { upsert, remove } = f(&mut rec, &mats)?;
            rec.version += 1;
            match self.store.update_key(&rec, &upsert, &remove).await {
                Ok(()) => {
                    mats.retain(|m| !remove.contains(&m.material_id));
                    for u in upsert {
                        match mats.iter_mut().find(|m| m.material_id == u.material_id) {
                            Some(m) => *m = u,
                            None => mats.push(u),
                        }
                    }
                    self.cache_key(rec.clone(), mats.clone());
                    return Ok((rec, mats));
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(KmsError::Internal(format!("too many concurrent updates of {}", key.arn())))
    }

    pub async fn create_key(
        &self,
        caller: &Caller,
        r: CreateKeyRequest,
    ) -> Result<CreateKeyResponse> {
        let spec = match (r.key_spec, r.customer_master_key_spec) {
            (Some(_), Some(_)) => {
                return Err(KmsError::Validation(
                    "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.".into(),
                ))
            }
            (Some(s), None) => s,
            (None, Some(c)) => KeySpec::parse(c.as_str()).unwrap_or(KeySpec::SymmetricDefault),
            (None, None) => KeySpec::SymmetricDefault,
        };
        if spec != KeySpec::SymmetricDefault && r.key_usage.is_none() {
            return Err(KmsError::Validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.".into(),
            ));
        }
        let usage = r.key_usage.unwrap_or(KeyUsageType::EncryptDecrypt);
        if let Some(id) = &r.custom_key_store_id {
            return Err(KmsError::CustomKeyStoreNotFound(format!(
                "Custom key store '{id}' does not exist."
            )));
        }
        let origin = r.origin.unwrap_or(OriginType::AwsKms);
        match origin {
            OriginType::AwsKms | OriginType::External => {}
            OriginType::AwsCloudhsm | OriginType::ExternalKeyStore => {
                return Err(KmsError::UnsupportedOperation(format!(
                    "Origin {origin} requires a custom key store, which this server does not provide."
                )))
            }
        }
        crate::keyspec::check_create(spec, usage, origin, &caller.region)?;
        let request_tags: Vec<(String, String)> = r
            .tags
            .iter()
            .flatten()
            .map(|t| {
                (t.tag_key.clone().unwrap_or_default(), t.tag_value.clone().unwrap_or_default())
            })
            .collect();
        let authz = Authz::from("CreateKey")
            .with("kms:KeyOrigin", origin)
            .with("kms:KeySpec", spec)
            .with("kms:KeyUsage", usage)
            .with("kms:MultiRegion", r.multi_region.unwrap_or(false))
            .with_tags(request_tags.iter().map(|(k, v)| (k, v)));
        self.authorize_account(caller, &authz).await?;
        if r.xks_key_id.is_some() {
            return Err(KmsError::Validation(
                "XksKeyId is valid only for keys in an external key store.".into(),
            ));
        }
        let tags =
            crate::tags::validate_new_tags(r.tags.as_deref().unwrap_or(&[]), &BTreeMap::new())?;
        let now = self.now_ms();
        let multi_region = r.multi_region.unwrap_or(false);
        let key_id =
            if multi_region { trent_crypto::new_mrk_id()? } else { trent_crypto::new_key_id()? };
        let key = KeyRef { account: caller.account.clone(), region: caller.region.clone(), key_id };
        let custom_policy = r.policy.is_some();
        let policy = match r.policy {
            Some(p) => crate::key_policy::validate_policy(&p)?,
            None => crate::key_policy::default_policy(&key),
        };
        let mut rec = new_record(key.clone(), now, spec, usage, origin, policy);
        rec.description = r.description.unwrap_or_default();
        rec.multi_region = multi_region;
        rec.tags = tags;
        let mut materials = Vec::new();
        if origin == OriginType::External {
            rec.state = KeyState::PendingImport;
        } else {
            let m = self.new_material(&key, spec, KeyMaterialState::Current, now).await?;
            rec.current_material_id = Some(m.material_id.clone());
            materials.push(m);
        }
        if custom_policy {
            self.check_lockout(caller, &rec, &rec.policy, r.bypass_policy_lockout_safety_check)
                .await?;
        }
        self.store.create_key(&rec, &materials).await?;
        tracing::info!(key = %key.arn(), origin = %origin, "created key");
        Ok(CreateKeyResponse { key_metadata: Some(self.key_metadata(&rec, &materials)) })
    }

    pub async fn describe_key(
        &self,
        caller: &Caller,
        r: DescribeKeyRequest,
    ) -> Result<DescribeKeyResponse> {
        let id = r.key_id.unwrap_or_default();
        let rec = self.resolve(caller, &id, Accept::KeyOrAlias, "DescribeKey").await?;
        let mats = self.materials_of(&rec.key).await?;
        Ok(DescribeKeyResponse { key_metadata: Some(self.key_metadata(&rec, &mats)) })
    }

    pub async fn list_keys(&self, caller: &Caller, r: ListKeysRequest) -> Result<ListKeysResponse> {
        self.authorize_account(caller, &Authz::from("ListKeys")).await?;
        self.reap_deleted_keys().await?;
        let limit = page_limit(r.limit);
        let mut rows = self
            .store
            .list_keys(&caller.account, &caller.region, r.marker.as_deref(), limit + 1)
            .await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        Ok(ListKeysResponse {
            next_marker: if truncated { rows.last().map(|k| k.key.key_id.clone()) } else { None },
            keys: Some(
                rows.iter()
                    .map(|k| KeyListEntry {
                        key_id: Some(k.key.key_id.clone()),
                        key_arn: Some(k.key.arn()),
                    })
                    .collect(),
            ),
            truncated: Some(truncated),
        })
    }

    async fn set_enabled(&self, caller: &Caller, id: &str, enable: bool) -> Result<()> {
        let action = if enable { "EnableKey" } else { "DisableKey" };
        let rec = self.resolve(caller, id, Accept::KeyOnly, action).await?;
        self.modify_key(&rec.key, |k, _| {
            check(Family::EnableDisable, k)?;
            k.state = if enable { KeyState::Enabled } else { KeyState::Disabled };
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }

    pub async fn enable_key(&self, caller: &Caller, r: EnableKeyRequest) -> Result<()> {
        self.set_enabled(caller, &r.key_id.unwrap_or_default(), true).await
    }

    pub async fn disable_key(&self, caller: &Caller, r: DisableKeyRequest) -> Result<()> {
        self.set_enabled(caller, &r.key_id.unwrap_or_default(), false).await
    }

    pub async fn schedule_key_deletion(
        &self,
        caller: &Caller,
        r: ScheduleKeyDeletionRequest,
    ) -> Result<ScheduleKeyDeletionResponse> {
        let days = r.pending_window_in_days.unwrap_or(30);
        // The model allows 1..365; the service allows 7..30 (developer guide, deleting keys).
        if !(7..=30).contains(&days) {
            let bound =
                if days < 7 { "greater than or equal to 7" } else { "less than or equal to 30" };
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {bound}"
            )));
        }
        let rec = self
            .resolve(
                caller,
                &r.key_id.unwrap_or_default(),
                Accept::KeyOnly,
                Authz::from("ScheduleKeyDeletion")
                    .with("kms:ScheduleKeyDeletionPendingWindowInDays", days),
            )
            .await?;
        let when = self.now_ms() + days * DAY_MS;
        let (k, _) = self
            .modify_key(&rec.key, |k, _| {
                check(Family::ScheduleDeletion, k)?;
                k.state = KeyState::PendingDeletion;
                k.deletion_date_ms = Some(when);
                Ok(Changes::none())
            })
            .await?;
        Ok(ScheduleKeyDeletionResponse {
            key_id: Some(k.key.arn()),
            deletion_date: Some(Timestamp(when)),
            key_state: Some(KeyState::PendingDeletion),
            pending_window_in_days: Some(days),
        })
    }

    pub async fn cancel_key_deletion(
        &self,
        caller: &Caller,
        r: CancelKeyDeletionRequest,
    ) -> Result<CancelKeyDeletionResponse> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "CancelKeyDeletion")
            .await?;
        let (k, _) = self
            .modify_key(&rec.key, |k, mats| {
                check(Family::CancelDeletion, k)?;
                // A key with material returns Disabled; an EXTERNAL key without material
                // returns to PendingImport (aws-behaviour.md §1.5).
                let has_material = mats
                    .iter()
                    .any(|m| m.sealed.is_some() && m.state != KeyMaterialState::PendingRotation);
                k.state = if has_material { KeyState::Disabled } else { KeyState::PendingImport };
                k.deletion_date_ms = None;
                Ok(Changes::none())
            })
            .await?;
        Ok(CancelKeyDeletionResponse { key_id: Some(k.key.arn()) })
    }

    pub async fn update_key_description(
        &self,
        caller: &Caller,
        r: UpdateKeyDescriptionRequest,
    ) -> Result<()> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "UpdateKeyDescription")
            .await?;
        let description = r.description.unwrap_or_default();
        self.modify_key(&rec.key, |k, _| {
            check(Family::Metadata, k)?;
            k.description = description.clone();
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}
