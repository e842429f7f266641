//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias change is authorized
//! on the alias and on every key it affects (`gate::targets`); the store write then checks
//! that the alias still points where it did when it was authorized.

use crate::gate::{alias_not_found, AliasChange, AliasListing, AliasRemoval, NewAlias};
use crate::ops::paging::page_limit;
use crate::state::{check, Family};
use crate::{Authorized, Call, Kms, KmsError, Result};
use trent_store::{AliasRecord, KeyRecord, KeyRef, StoreError};
use trent_types::*;

/// How often an alias change is re-authorized when the alias moved under it.
const ALIAS_RETRIES: usize = 8;

/// The current and new key of UpdateAlias must be of the same type and usage (UpdateAlias API:
/// "both symmetric or both asymmetric or both HMAC, and they must have the same key usage").
fn same_kind(current: &KeyRecord, new: &KeyRecord) -> Result<()> {
    let kind = |k: &KeyRecord| {
        if k.key_spec == KeySpec::SymmetricDefault {
            "symmetric"
        } else if k.key_usage == KeyUsageType::GenerateVerifyMac {
            "HMAC"
        } else {
            "asymmetric"
        }
    };
    if kind(current) != kind(new) || current.key_usage != new.key_usage {
        return Err(KmsError::validation(format!(
            "{} is not the same type of KMS key as the alias's current key {} (key spec {}, key usage {}); an alias can move only between keys of the same type and key usage.",
            new.key.arn(),
            current.key.arn(),
            current.key_spec,
            current.key_usage
        )));
    }
    Ok(())
}

impl Call for CreateAliasRequest {
    type Target = NewAlias;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, NewAlias>) -> Result<()> {
        let caller = auth.caller();
        let target = auth.target().key();
        check(Family::Metadata, target)?;
        kms.check_alias_quota(&target.key).await?;
        let now = kms.now_ms();
        let rec = AliasRecord {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: auth.target().name().to_string(),
            target_key_id: target.key.key_id.clone(),
            created_ms: now,
            updated_ms: now,
        };
        match kms.store.create_alias(&rec).await {
            Ok(()) => Ok(()),
            Err(StoreError::AlreadyExists) => Err(KmsError::new(
                ErrorCode::AlreadyExistsException,
                format!("An alias with the name {} already exists", rec.arn()),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

impl Call for UpdateAliasRequest {
    type Target = AliasChange;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, AliasChange>) -> Result<()> {
        let caller = auth.caller();
        let mut change = auth.into_target();
        for _ in 0..ALIAS_RETRIES {
            // The source key may be pending deletion; the target may not (key-state note 10).
            check(Family::Metadata, change.new_key())?;
            same_kind(change.current(), change.new_key())?;
            if change.current().key != change.new_key().key {
                kms.check_alias_quota(&change.new_key().key).await?;
            }
            let mut alias = change.alias().clone();
            alias.target_key_id = change.new_key().key.key_id.clone();
            alias.updated_ms = kms.now_ms();
            let expected = &change.current().key.key_id;
            match kms.store.update_alias(&alias, expected).await {
                Ok(()) => return Ok(()),
                // The alias was moved or deleted since it was authorized: authorize again
                // against where it points now.
                Err(StoreError::Conflict) => {
                    change = kms.authorize(caller, &self).await?.into_target();
                }
                Err(StoreError::NotFound) => {
                    return Err(alias_not_found(&caller.account, &caller.region, &alias.name))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(KmsError::throttling())
    }
}

impl Call for DeleteAliasRequest {
    type Target = AliasRemoval;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, AliasRemoval>) -> Result<()> {
        let caller = auth.caller();
        let mut removal = auth.into_target();
        for _ in 0..ALIAS_RETRIES {
            let a = removal.alias();
            match kms
                .store
                .delete_alias(&a.account, &a.region, &a.name, &removal.key().key.key_id)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => {
                    removal = kms.authorize(caller, &self).await?.into_target();
                }
                Err(StoreError::NotFound) => {
                    return Err(alias_not_found(&caller.account, &caller.region, &a.name))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(KmsError::throttling())
    }
}

impl Call for ListAliasesRequest {
    type Target = AliasListing;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AliasListing>,
    ) -> Result<ListAliasesResponse> {
        let caller = auth.caller();
        let key_id = auth.target().key().map(|k| k.key_id.as_str());
        let limit = page_limit(self.limit);
        let mut rows = kms
            .store
            .list_aliases(
                &caller.account,
                &caller.region,
                key_id,
                self.marker.as_deref(),
                limit + 1,
            )
            .await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        // As ListKeys: the marker is the last alias as stored, and an alias of a key past its
        // deletion date is gone with its key (the background pass deletes both).
        let next_marker = if truncated { rows.last().map(|a| a.name.clone()) } else { None };
        let now = kms.now_ms();
        let mut live = Vec::with_capacity(rows.len());
        for a in rows {
            let target = KeyRef {
                account: caller.account.clone(),
                region: caller.region.clone(),
                key_id: a.target_key_id.clone(),
            };
            let gone = match kms.held.keys.cached_key(&target).await? {
                Some(k) => crate::lifecycle::is_past_deletion(&k.rec, now),
                None => true,
            };
            if !gone {
                live.push(a);
            }
        }
        let rows = live;
        Ok(ListAliasesResponse {
            next_marker,
            aliases: Some(
                rows.iter()
                    .map(|a| AliasListEntry {
                        alias_name: Some(a.name.clone()),
                        alias_arn: Some(a.arn()),
                        target_key_id: Some(a.target_key_id.clone()),
                        creation_date: Some(Timestamp(a.created_ms)),
                        last_updated_date: Some(Timestamp(a.updated_ms)),
                    })
                    .collect(),
            ),
            truncated: Some(truncated),
        })
    }
}
