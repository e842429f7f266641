//! Rotation of key material: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations, and automatic rotation when it falls due. Old
//! materials stay (NON_CURRENT) so that old ciphertexts keep decrypting.

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::lifecycle::NOT_DUE;
use crate::ops::multi_region::require_not_replica;
use crate::ops::paging::page_after;
use crate::state::{check, Family};
use crate::writes::Changes;
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_store::{KeyRecord, KeyRef, MaterialRecord};
use trent_types::*;

const DAY_MS: i64 = 86_400_000;

fn require_symmetric(rec: &KeyRecord) -> Result<()> {
    if rec.key_spec != KeySpec::SymmetricDefault {
        // Recorded against AWS with an empty message.
        return Err(KmsError::new(ErrorCode::UnsupportedOperationException, String::new()));
    }
    require_own_material(rec)
}

fn require_own_material(rec: &KeyRecord) -> Result<()> {
    // "You cannot perform on-demand rotation of ... KMS keys in a custom key store", nor
    // enable automatic rotation (RotateKeyOnDemand, EnableKeyRotation APIs): their material
    // is not rotated at all.
    if matches!(rec.origin, OriginType::ExternalKeyStore | OriginType::AwsCloudhsm) {
        return Err(crate::state::origin_not_valid(&rec.key.arn(), rec.origin));
    }
    Ok(())
}

impl Call for EnableKeyRotationRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        c.set_opt(K::RotationPeriodInDays, self.rotation_period_in_days);
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let rec = auth.target().key();
        require_symmetric(rec)?;
        require_not_replica(rec)?;
        let days = self.rotation_period_in_days.unwrap_or(365);
        let now = kms.now_ms();
        kms.modify_shared(&rec.key, |k, _| {
            check(Family::RotationConfig, k)?;
            k.rotation_enabled = true;
            k.rotation_period_days = Some(days);
            k.next_rotation_ms = Some(now + days * DAY_MS);
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for DisableKeyRotationRequest {
    type Target = KeyTarget<false>;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let rec = auth.target().key();
        require_symmetric(rec)?;
        require_not_replica(rec)?;
        kms.modify_shared(&rec.key, |k, _| {
            check(Family::RotationConfig, k)?;
            k.rotation_enabled = false;
            k.next_rotation_ms = None;
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for GetKeyRotationStatusRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        _kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<GetKeyRotationStatusResponse> {
        let rec = auth.target().key();
        require_symmetric(rec)?;
        let enabled = rec.rotation_enabled && rec.origin == OriginType::AwsKms;
        Ok(GetKeyRotationStatusResponse {
            key_rotation_enabled: Some(enabled),
            key_id: Some(rec.key.arn()),
            rotation_period_in_days: if enabled { rec.rotation_period_days } else { None },
            next_rotation_date: if enabled { rec.next_rotation_ms.map(Timestamp) } else { None },
            on_demand_rotation_start_date: None,
        })
    }
}

impl Kms {
    /// Makes a new material current: generated for AWS_KMS keys; for EXTERNAL keys the
    /// imported material that is pending rotation.
    pub(crate) async fn rotate(
        &self,
        key: &KeyRef,
        rotation_type: RotationType,
    ) -> Result<KeyRecord> {
        let now = self.now_ms();
        let limit = self.config.max_on_demand_rotations;
        let mut previous: Option<String> = None;
        let (rec, _) = self
            .modify_shared(key, |k, mats| {
                let arn = k.key.arn();
                previous = k.current_material_id.clone();
                // A set's material rotates on its primary, and reaches the replicas with it.
                if k.is_replica() {
                    if rotation_type == RotationType::Automatic {
                        return Err(KmsError::new(ErrorCode::KMSInvalidStateException, NOT_DUE.into()));
                    }
                    require_not_replica(k)?;
                }
                // Re-checked on the fresh record: with several nodes, another may have
                // rotated this key since it was listed as due.
                if rotation_type == RotationType::Automatic
                    && !(k.rotation_enabled && k.next_rotation_ms.is_some_and(|t| t <= now))
                {
                    return Err(KmsError::new(ErrorCode::KMSInvalidStateException, NOT_DUE.into()));
                }
                if rotation_type == RotationType::OnDemand {
                    check(Family::RotateOnDemand, k)?;
                    require_symmetric(k)?;
                    let done = mats.iter().filter(|m| m.rotation_type == Some(RotationType::OnDemand)).count();
                    if done >= limit {
                        return Err(KmsError::new(ErrorCode::LimitExceededException, format!(
                            "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {arn}"
                        )));
                    }
                }
                let mut changes: Vec<MaterialRecord> = Vec::new();
                let next = if k.origin == OriginType::External {
                    let pending = mats
                        .iter()
                        .find(|m| m.state == KeyMaterialState::PendingRotation && m.sealed.is_some())
                        .ok_or_else(|| KmsError::new(
                            ErrorCode::KMSInvalidStateException, format!("No available key material pending rotation for the key: {arn}.")))?;
                    pending.clone()
                } else {
                    self.held.new_symmetric_material(&k.key, KeyMaterialState::Current, now)?
                };
                for m in mats.iter().filter(|m| m.state == KeyMaterialState::Current) {
                    let mut old = m.clone();
                    old.state = KeyMaterialState::NonCurrent;
                    changes.push(old);
                }
                let mut next = next;
                next.state = KeyMaterialState::Current;
                next.rotation_date_ms = Some(now);
                next.rotation_type = Some(rotation_type);
                k.current_material_id = Some(next.material_id.clone());
                if rotation_type == RotationType::Automatic {
                    k.next_rotation_ms = Some(now + k.rotation_period_days.unwrap_or(365) * DAY_MS);
                }
                // AWS records each rotation as a service event, written with it.
                let event = crate::audit::rotate_key(
                    &k.key,
                    rotation_type.as_str(),
                    k.origin.as_str(),
                    previous.as_deref(),
                    k.current_material_id.as_deref(),
                    now,
                );
                changes.push(next);
                let mut changes = Changes::from(changes);
                changes.events.push(crate::audit::outbox(&event, now));
                Ok(changes)
            })
            .await?;
        Ok(rec)
    }
}

impl Call for RotateKeyOnDemandRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<RotateKeyOnDemandResponse> {
        require_own_material(auth.target().key())?;
        let rec = kms.rotate(&auth.target().key().key, RotationType::OnDemand).await?;
        tracing::info!(key = %rec.key.arn(), "rotated key material on demand");
        Ok(RotateKeyOnDemandResponse { key_id: Some(rec.key.arn()) })
    }
}

impl Call for ListKeyRotationsRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ListKeyRotationsResponse> {
        let rec = auth.target().key();
        let r = self;
        require_symmetric(rec)?;
        let all = r.include_key_material == Some(IncludeKeyMaterial::AllKeyMaterial);
        let mats = kms.held.keys.materials_of(&rec.key).await?;
        let imported = rec.origin == OriginType::External;
        let entries: Vec<RotationsListEntry> = mats
            .iter()
            .filter(|m| all || m.rotation_date_ms.is_some())
            .map(|m| RotationsListEntry {
                key_id: Some(rec.key.key_id.clone()),
                key_material_id: Some(m.material_id.clone()),
                key_material_description: if imported { m.description.clone() } else { None },
                import_state: if imported { m.import_state } else { None },
                key_material_state: Some(m.state),
                expiration_model: if imported { m.expiration_model } else { None },
                valid_to: if imported { m.valid_to_ms.map(Timestamp) } else { None },
                rotation_date: m.rotation_date_ms.map(Timestamp),
                rotation_type: m.rotation_type,
            })
            .collect();
        let (page, next) = page_after(&entries, &r.marker, r.limit, |e| {
            e.key_material_id.clone().unwrap_or_default()
        })?;
        Ok(ListKeyRotationsResponse {
            truncated: Some(next.is_some()),
            next_marker: next,
            rotations: Some(page),
        })
    }
}
