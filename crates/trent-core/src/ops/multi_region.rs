//! Multi-Region keys: ReplicateKey, UpdatePrimaryRegion, the `MultiRegionConfiguration` of
//! DescribeKey, and keeping the properties a set shares in step ("Multi-Region keys in AWS
//! KMS", AWS KMS developer guide: key id, key spec, usage, origin, key material and automatic
//! rotation are shared; policy, tags, description, aliases and key state are each key's own).
//!
//! A replica is a key of the same account and id in another Region, on the same store. The
//! keys of a set share one lock and are written together (`writes::modify_related`), so a
//! change of the primary's materials reaches every replica in the same transaction.

use crate::authz::ConditionKey as K;
use crate::gate::{PrimaryChange, Replication};
use crate::state::{check, Family};
use crate::writes::{Changes, Draft};
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_store::{KeyRecord, KeyRef, MaterialRecord, StoreError, Transient};
use trent_types::*;

/// How long a new replica shows `Creating`, and a set changing primary `Updating`, by
/// default: AWS says "a few seconds".
pub const DEFAULT_SYNC_MS: i64 = 2_000;

/// ReplicateKey or UpdatePrimaryRegion on a key that is not a multi-Region primary
/// (recorded against AWS for a replica).
pub(crate) fn not_primary(arn: &str) -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperationException,
        format!("{arn} is not a multi-region primary key."),
    )
}

/// Refuses what only a primary may do (rotation of the set's material): on a replica.
pub(crate) fn require_not_replica(rec: &KeyRecord) -> Result<()> {
    if rec.is_replica() {
        return Err(not_primary(&rec.key.arn()));
    }
    Ok(())
}

impl Call for ReplicateKeyRequest {
    type Target = Replication;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::ReplicaRegion, &self.replica_region);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, Replication>,
    ) -> Result<ReplicateKeyResponse> {
        let caller = auth.caller();
        let primary = auth.target().primary();
        let arn = primary.key.arn();
        if !primary.is_primary() {
            return Err(not_primary(&arn));
        }
        check(Family::Replicate, primary)?;
        let region = self.replica_region.as_str();
        if region == primary.key.region {
            return Err(KmsError::validation(format!(
                "The replica Region {region} must differ from the primary key's Region."
            )));
        }
        if trent_store::partition_of(region) != primary.key.partition() {
            return Err(KmsError::validation(format!(
                "The replica Region {region} is not in the partition of the primary key."
            )));
        }
        let key = KeyRef { region: region.to_string(), ..primary.key.clone() };
        kms.check_key_quota(&key.account, &key.region).await?;
        let tags = crate::new_key::validate_new_tags(
            kms,
            self.tags.as_deref().unwrap_or(&[]),
            &Default::default(),
        )?;
        let custom_policy = self.policy.is_some();
        let policy = match &self.policy {
            Some(p) => crate::new_key::validate_policy(kms, p)?,
            None => crate::new_key::default_policy(&key),
        };
        let there = crate::Caller { region: region.to_string(), ..caller.clone() };

        // Under the set's lock: the primary's materials as stored now.
        let guard = kms.held.keys.lock(&key).await;
        let (fresh, mats) = kms
            .held
            .keys
            .read_key(&primary.key)
            .await?
            .ok_or_else(|| crate::gate::key_not_found(&primary.key))?;
        let now = kms.now_ms();
        let mut rec = trent_store::KeyRecord::new(
            key.clone(),
            now,
            fresh.key_spec,
            fresh.key_usage,
            fresh.origin,
            policy,
        );
        rec.description = self.description.clone().unwrap_or_default();
        rec.tags = tags;
        rec.multi_region = true;
        rec.primary_region = fresh.primary_region.clone();
        rec.rotation_enabled = fresh.rotation_enabled;
        rec.rotation_period_days = fresh.rotation_period_days;
        rec.next_rotation_ms = fresh.next_rotation_ms;
        rec.current_material_id = fresh.current_material_id.clone();
        // Imported material is never copied: the replica waits for the same material.
        rec.state = if fresh.origin == OriginType::External {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        };
        rec.transient = Some(Transient {
            state: KeyState::Creating,
            until_ms: now + kms.config.multi_region_sync_ms,
        });
        let materials =
            mats.iter().map(|m| kms.replica_material(&key, m, None)).collect::<Result<Vec<_>>>()?;
        if custom_policy {
            kms.check_lockout(&there, &rec, &rec.policy, self.bypass_policy_lockout_safety_check)
                .await?;
        }
        match kms.store.create_key(&rec, &materials).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                return Err(KmsError::new(
                    ErrorCode::AlreadyExistsException,
                    format!("Replica key {} already exists.", key.arn()),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        kms.held.keys.cache_key(rec.clone(), materials.clone());
        // Material the primary stages for rotation now waits for this replica too.
        kms.modify_related_locked(&key.account, &key.key_id, &mut |drafts, _| {
            kms.sync_replicas(drafts)
        })
        .await?;
        drop(guard);
        crate::audit::note_resource(&key.arn());
        // The replica exists: a record that cannot be written is an error to see.
        kms.write_audit(crate::audit::replica_created(&key, &arn, now), "CreateKey (replica)");
        tracing::info!(primary = %arn, replica = %key.arn(), "replicated multi-Region key");
        let shown = KeyRecord { state: KeyState::Creating, ..rec.clone() };
        let mut metadata = kms.key_metadata(&shown, &materials);
        metadata.multi_region_configuration = Some(kms.multi_region_configuration(&rec).await?);
        // As AWS answered (LocalStack's AWS-validated `test_replicate_key`): the replica being
        // created shows no CurrentKeyMaterialId, and a replica without tags no ReplicaTags.
        metadata.current_key_material_id = None;
        let tags: Vec<Tag> = rec
            .tags
            .iter()
            .map(|(k, v)| Tag { tag_key: k.clone(), tag_value: v.clone() })
            .collect();
        Ok(ReplicateKeyResponse {
            replica_key_metadata: Some(metadata),
            replica_policy: Some(rec.policy.clone()),
            replica_tags: (!tags.is_empty()).then_some(tags),
        })
    }
}

impl Call for UpdatePrimaryRegionRequest {
    type Target = PrimaryChange;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::PrimaryRegion, &self.primary_region);
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, PrimaryChange>) -> Result<()> {
        let primary = auth.target().primary();
        let arn = primary.key.arn();
        if !primary.is_primary() {
            return Err(not_primary(&arn));
        }
        check(Family::UpdatePrimary, primary)?;
        if auth.target().replica().is_none() {
            // PrimaryRegion is the primary's own Region already: nothing to change.
            return Ok(());
        }
        let old = primary.key.region.clone();
        let new = self.primary_region.clone();
        let until = kms.now_ms() + kms.config.multi_region_sync_ms;
        kms.modify_related(&primary.key.account, &primary.key.key_id, |drafts, _| {
            let current = drafts.iter().find(|d| d.rec.key.region == old);
            match current {
                Some(d) if d.rec.is_primary() => check(Family::UpdatePrimary, &d.rec)?,
                _ => return Err(not_primary(&arn)),
            }
            let Some(replica) = drafts.iter().find(|d| d.rec.key.region == new) else {
                return Err(crate::gate::key_not_found(&KeyRef {
                    region: new.clone(),
                    ..primary.key.clone()
                }));
            };
            check(Family::UpdatePrimary, &replica.rec)?;
            for d in drafts.iter_mut() {
                d.rec.primary_region = Some(new.clone());
                if d.rec.key.region == old || d.rec.key.region == new {
                    d.rec.transient =
                        Some(Transient { state: KeyState::Updating, until_ms: until });
                }
            }
            Ok(())
        })
        .await?;
        tracing::info!(key = %arn, from = %old, to = %new, "changed the primary Region");
        Ok(())
    }
}

impl Kms {
    /// DescribeKey's `MultiRegionConfiguration` of a multi-Region key: its type, the primary
    /// and the replicas (keys past their deletion date left out).
    pub(crate) async fn multi_region_configuration(
        &self,
        rec: &KeyRecord,
    ) -> Result<MultiRegionConfiguration> {
        let now = self.now_ms();
        let related: Vec<KeyRecord> = self
            .store
            .related_keys(&rec.key.account, &rec.key.key_id)
            .await?
            .into_iter()
            .filter(|k| !crate::lifecycle::is_past_deletion(k, now))
            .collect();
        let entry = |k: &KeyRecord| MultiRegionKey {
            arn: Some(k.key.arn()),
            region: Some(k.key.region.clone()),
        };
        let primary_region = rec.primary_region.clone().unwrap_or_else(|| rec.key.region.clone());
        Ok(MultiRegionConfiguration {
            multi_region_key_type: Some(if rec.is_replica() {
                MultiRegionKeyType::Replica
            } else {
                MultiRegionKeyType::Primary
            }),
            primary_key: Some(MultiRegionKey {
                arn: Some(KeyRef { region: primary_region.clone(), ..rec.key.clone() }.arn()),
                region: Some(primary_region.clone()),
            }),
            replica_keys: Some(
                related.iter().filter(|k| k.key.region != primary_region).map(entry).collect(),
            ),
        })
    }

    /// A primary's material `m` as replica `key` holds it: the same id and state; AWS_KMS
    /// material re-sealed for the replica, imported material absent until it is imported
    /// into the replica too (`own`, the replica's record of it, keeps what it has).
    fn replica_material(
        &self,
        key: &KeyRef,
        m: &MaterialRecord,
        own: Option<&MaterialRecord>,
    ) -> Result<MaterialRecord> {
        let mut r = match own {
            Some(o) => o.clone(),
            None => {
                let sealed = match (&m.sealed, m.import_state) {
                    (Some(_), None) => {
                        let secret = self.held.open_material(m)?;
                        Some(self.held.keyring.seal_material(
                            &key.arn(),
                            &m.material_id,
                            &secret,
                        )?)
                    }
                    _ => None,
                };
                let mut r = MaterialRecord::new(
                    key.clone(),
                    m.material_id.clone(),
                    sealed,
                    m.state,
                    m.created_ms,
                );
                if m.import_state.is_some() {
                    r.import_state = Some(ImportState::PendingImport);
                }
                r
            }
        };
        r.state = m.state;
        r.rotation_date_ms = m.rotation_date_ms;
        r.rotation_type = m.rotation_type;
        Ok(r)
    }

    /// Brings the replicas of a set in line with its primary: the same materials (ids,
    /// states, rotations; AWS_KMS bytes), the same current material and automatic rotation.
    /// Material imported as new into the primary is `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`
    /// until every replica has it too, then `PENDING_ROTATION` (ImportKeyMaterial API).
    pub(crate) fn sync_replicas(&self, drafts: &mut [Draft]) -> Result<()> {
        let Some(p) = drafts.iter().position(|d| d.rec.is_primary()) else { return Ok(()) };
        // The pending material's state, from what the replicas hold.
        let pending: Vec<(String, bool)> = drafts[p]
            .mats
            .iter()
            .filter(|m| m.is_pending_rotation() && m.import_state.is_some())
            .map(|m| {
                let everywhere =
                    drafts.iter().enumerate().filter(|(i, _)| *i != p).all(|(_, d)| {
                        d.mats.iter().any(|r| r.material_id == m.material_id && r.sealed.is_some())
                    });
                (m.material_id.clone(), everywhere)
            })
            .collect();
        let mut settled = Vec::new();
        for (id, everywhere) in pending {
            let state = if everywhere {
                KeyMaterialState::PendingRotation
            } else {
                KeyMaterialState::PendingMultiRegionImportAndRotation
            };
            if let Some(m) = drafts[p].mats.iter().find(|m| m.material_id == id && m.state != state)
            {
                settled.push(MaterialRecord { state, ..m.clone() });
            }
        }
        if !settled.is_empty() {
            drafts[p].change(settled.into());
        }
        let primary = drafts[p].rec.clone();
        let mats = drafts[p].mats.clone();
        let mut synced = false;
        for (i, d) in drafts.iter_mut().enumerate() {
            if i == p {
                continue;
            }
            let mut upsert = Vec::new();
            for m in &mats {
                let own = d.mats.iter().find(|r| r.material_id == m.material_id);
                let r = self.replica_material(&d.rec.key, m, own)?;
                if own != Some(&r) {
                    upsert.push(r);
                }
            }
            let remove: Vec<String> = d
                .mats
                .iter()
                .filter(|r| !mats.iter().any(|m| m.material_id == r.material_id))
                .map(|r| r.material_id.clone())
                .collect();
            let shared = (
                &primary.current_material_id,
                primary.rotation_enabled,
                primary.rotation_period_days,
                primary.next_rotation_ms,
            );
            let had = (
                &d.rec.current_material_id,
                d.rec.rotation_enabled,
                d.rec.rotation_period_days,
                d.rec.next_rotation_ms,
            );
            synced |= !upsert.is_empty() || !remove.is_empty() || shared != had;
            d.change(Changes { upsert, remove, events: Vec::new() });
            d.rec.current_material_id = primary.current_material_id.clone();
            d.rec.rotation_enabled = primary.rotation_enabled;
            d.rec.rotation_period_days = primary.rotation_period_days;
            d.rec.next_rotation_ms = primary.next_rotation_ms;
        }
        // AWS records the copy to the replicas as one event of the primary's.
        if synced {
            let now = self.now_ms();
            let event = crate::audit::synchronize_multi_region_key(&primary.key, now);
            let events = vec![crate::audit::outbox(&event, now)];
            drafts[p].change(Changes { events, ..Changes::none() });
        }
        Ok(())
    }

    /// `modify_key` for a change that a multi-Region set shares (materials, rotation): for a
    /// multi-Region key, the change and the replicas' sync in one write of the whole set.
    pub(crate) async fn modify_shared<F>(
        &self,
        key: &KeyRef,
        mut f: F,
    ) -> Result<(KeyRecord, Vec<MaterialRecord>)>
    where
        F: FnMut(&mut KeyRecord, &[MaterialRecord]) -> Result<Changes> + Send,
    {
        // Multi-Region keys, and only they, have `mrk-` ids (seeded ones included).
        if !key.key_id.starts_with("mrk-") {
            return self.modify_key(key, f).await;
        }
        let set = self
            .modify_related(&key.account, &key.key_id, |drafts, _| {
                let d = drafts
                    .iter_mut()
                    .find(|d| d.rec.key == *key)
                    .ok_or_else(|| crate::gate::key_not_found(key))?;
                let own = f(&mut d.rec, &d.mats)?;
                d.change(own);
                self.sync_replicas(drafts)
            })
            .await?;
        set.into_iter().find(|(k, _)| k.key == *key).ok_or_else(|| crate::gate::key_not_found(key))
    }
}
