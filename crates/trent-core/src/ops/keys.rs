//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription.

use crate::authz::ConditionKey as K;
use crate::gate::{AccountTarget, KeyTarget};
use crate::ops::paging::page_limit;
use crate::state::{check, Family};
use crate::writes::Changes;
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_store::KeyRef;
use trent_types::*;

const DAY_MS: i64 = 86_400_000;

fn request_tags(tags: &Option<Vec<Tag>>) -> Vec<(String, String)> {
    tags.iter().flatten().map(|t| (t.tag_key.clone(), t.tag_value.clone())).collect()
}

impl Call for CreateKeyRequest {
    type Target = AccountTarget;

    fn conditions(&self, c: &mut Conditions) {
        let tags = request_tags(&self.tags);
        c.set(K::KeyOrigin, self.origin.unwrap_or(OriginType::AwsKms))
            .set(K::KeySpec, crate::new_key::requested_spec(self))
            .set(K::KeyUsage, self.key_usage.unwrap_or(KeyUsageType::EncryptDecrypt))
            .set(K::MultiRegion, self.multi_region.unwrap_or(false))
            .set_opt(K::BypassPolicyLockoutSafetyCheck, self.bypass_policy_lockout_safety_check)
            .request_tags(tags.iter().map(|(k, v)| (k, v)));
    }

    /// AWS records the defaults it applied ("CreateKey", AWS KMS developer guide, CloudTrail
    /// examples): description, origin, the lockout check, both key specs and the usage.
    fn request_parameters(&self) -> serde_json::Value {
        let mut v = trent_types::trail::Trail::trail(self);
        let spec = crate::new_key::requested_spec(self);
        let defaults = [
            ("description", serde_json::Value::from("")),
            ("origin", self.origin.unwrap_or(OriginType::AwsKms).as_str().into()),
            ("bypassPolicyLockoutSafetyCheck", false.into()),
            ("customerMasterKeySpec", spec.as_str().into()),
            ("keySpec", spec.as_str().into()),
            ("keyUsage", self.key_usage.unwrap_or(KeyUsageType::EncryptDecrypt).as_str().into()),
        ];
        if let serde_json::Value::Object(m) = &mut v {
            for (k, d) in defaults {
                m.entry(k).or_insert(d);
            }
        }
        v
    }

    /// CreateKey API: "To use the Tags parameter, kms:TagResource (IAM policy)".
    fn also_requires(&self) -> &'static [&'static str] {
        if self.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            &["TagResource"]
        } else {
            &[]
        }
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<CreateKeyResponse> {
        crate::new_key::create_key(kms, auth.caller(), self, None).await
    }
}

impl Call for DescribeKeyRequest {
    type Target = KeyTarget<true>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<DescribeKeyResponse> {
        let rec = auth.target().key();
        let mats = kms.held.keys.materials_of(&rec.key).await?;
        let mut metadata = kms.key_metadata(rec, &mats);
        if rec.xks.is_some() {
            let state = kms.shown_state(rec).await?;
            metadata.key_state = Some(state);
            metadata.enabled = Some(state == KeyState::Enabled);
        }
        if rec.multi_region {
            metadata.multi_region_configuration = Some(kms.multi_region_configuration(rec).await?);
        }
        Ok(DescribeKeyResponse { key_metadata: Some(metadata) })
    }
}

impl Call for ListKeysRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<ListKeysResponse> {
        let caller = auth.caller();
        let limit = page_limit(self.limit);
        let mut rows = kms
            .store
            .list_keys(&caller.account, &caller.region, self.marker.as_deref(), limit + 1)
            .await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        // The marker is the last key of the page as stored; a key past its deletion date is
        // gone (the background pass deletes it), so it is left out, not purged by a read.
        let next_marker = if truncated { rows.last().map(|k| k.key.key_id.clone()) } else { None };
        let now = kms.now_ms();
        rows.retain(|k| !crate::lifecycle::is_past_deletion(k, now));
        Ok(ListKeysResponse {
            next_marker,
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
}

impl Kms {
    async fn set_enabled(&self, key: &KeyRef, enable: bool) -> Result<()> {
        self.modify_key(key, |k, _| {
            check(Family::EnableDisable, k)?;
            k.state = if enable { KeyState::Enabled } else { KeyState::Disabled };
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for EnableKeyRequest {
    type Target = KeyTarget<false>;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        kms.set_enabled(&auth.target().key().key, true).await
    }
}

impl Call for DisableKeyRequest {
    type Target = KeyTarget<false>;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        kms.set_enabled(&auth.target().key().key, false).await
    }
}

impl Call for ScheduleKeyDeletionRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::ScheduleKeyDeletionPendingWindowInDays, self.pending_window_in_days.unwrap_or(30));
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ScheduleKeyDeletionResponse> {
        let days = self.pending_window_in_days.unwrap_or(30);
        // The model allows 1..365; the service allows 7..30 (developer guide, deleting keys).
        if !(7..=30).contains(&days) {
            let bound =
                if days < 7 { "greater than or equal to 7" } else { "less than or equal to 30" };
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {bound}"
            )));
        }
        let when = kms.now_ms() + days * DAY_MS;
        let key = &auth.target().key().key;
        let k = if auth.target().key().multi_region {
            // A primary with replicas waits for them: PendingReplicaDeletion, and its own
            // waiting period starts when the last replica is gone (key-state.html).
            let set = kms
                .modify_related(&key.account, &key.key_id, |drafts, _| {
                    let replicas = drafts.iter().filter(|d| d.rec.key != *key).count();
                    let d = drafts
                        .iter_mut()
                        .find(|d| d.rec.key == *key)
                        .ok_or_else(|| crate::gate::key_not_found(key))?;
                    check(Family::ScheduleDeletion, &d.rec)?;
                    if d.rec.is_primary() && replicas > 0 {
                        d.rec.state = KeyState::PendingReplicaDeletion;
                        d.rec.pending_window_days = Some(days);
                    } else {
                        d.rec.state = KeyState::PendingDeletion;
                        d.rec.deletion_date_ms = Some(when);
                    }
                    Ok(())
                })
                .await?;
            set.into_iter()
                .map(|(k, _)| k)
                .find(|k| k.key == *key)
                .ok_or_else(|| crate::gate::key_not_found(key))?
        } else {
            kms.modify_key(key, |k, _| {
                check(Family::ScheduleDeletion, k)?;
                k.state = KeyState::PendingDeletion;
                k.deletion_date_ms = Some(when);
                Ok(Changes::none())
            })
            .await?
            .0
        };
        let waiting = k.state == KeyState::PendingReplicaDeletion;
        Ok(ScheduleKeyDeletionResponse {
            key_id: Some(k.key.arn()),
            deletion_date: (!waiting).then_some(Timestamp(when)),
            key_state: Some(k.state),
            pending_window_in_days: Some(days),
        })
    }
}

impl Call for CancelKeyDeletionRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<CancelKeyDeletionResponse> {
        let (k, _) = kms
            .modify_key(&auth.target().key().key, |k, mats| {
                check(Family::CancelDeletion, k)?;
                // A key with material returns Disabled; an EXTERNAL key without material
                // returns to PendingImport (docs/byok.md, "The rules").
                let has_material =
                    mats.iter().any(|m| m.sealed.is_some() && !m.is_pending_rotation());
                k.state = if has_material { KeyState::Disabled } else { KeyState::PendingImport };
                k.deletion_date_ms = None;
                k.pending_window_days = None;
                Ok(Changes::none())
            })
            .await?;
        Ok(CancelKeyDeletionResponse { key_id: Some(k.key.arn()) })
    }
}

impl Call for UpdateKeyDescriptionRequest {
    type Target = KeyTarget<false>;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let description = self.description;
        kms.modify_key(&auth.target().key().key, |k, _| {
            check(Family::Metadata, k)?;
            k.description = description.clone();
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}
