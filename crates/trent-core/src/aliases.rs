//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use crate::keys::page_limit;
use crate::resolve::{alias_not_found, Accept};
use crate::state::{check, Family};
use crate::{Caller, Kms, KmsError, Result};
use trent_store::{AliasRecord, StoreError};
use trent_types::*;

/// The rules the model's pattern cannot express (aws-behaviour.md §6.1).
fn check_alias_name(name: &str) -> Result<()> {
    if !name.starts_with("alias/") {
        return Err(KmsError::Validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into(),
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::NotAuthorized(String::new()));
    }
    if name.contains(':') || name.len() == "alias/".len() {
        return Err(KmsError::Validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    Ok(())
}

impl Kms {
    pub async fn create_alias(&self, caller: &Caller, r: CreateAliasRequest) -> Result<()> {
        let name = r.alias_name.unwrap_or_default();
        check_alias_name(&name)?;
        let target = self
            .resolve(caller, &r.target_key_id.unwrap_or_default(), Accept::KeyOnly, "CreateAlias")
            .await?;
        check(Family::Metadata, &target)?;
        let now = self.now_ms();
        let rec = AliasRecord {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name: name.clone(),
            target_key_id: target.key.key_id.clone(),
            created_ms: now,
            updated_ms: now,
        };
        match self.store.create_alias(&rec).await {
            Ok(()) => Ok(()),
            Err(StoreError::AlreadyExists) => Err(KmsError::AlreadyExists(format!(
                "An alias with the name {} already exists",
                rec.arn()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn update_alias(&self, caller: &Caller, r: UpdateAliasRequest) -> Result<()> {
        let name = r.alias_name.unwrap_or_default();
        check_alias_name(&name)?;
        let mut alias = self
            .store
            .get_alias(&caller.account, &caller.region, &name)
            .await?
            .ok_or_else(|| alias_not_found(&caller.account, &caller.region, &name))?;
        let target = self
            .resolve(caller, &r.target_key_id.unwrap_or_default(), Accept::KeyOnly, "UpdateAlias")
            .await?;
        // The source key may be pending deletion; the target may not (key-state note 10).
        check(Family::Metadata, &target)?;
        alias.target_key_id = target.key.key_id.clone();
        alias.updated_ms = self.now_ms();
        match self.store.update_alias(&alias).await {
            Err(StoreError::NotFound) => {
                Err(alias_not_found(&caller.account, &caller.region, &name))
            }
            other => Ok(other?),
        }
    }

    pub async fn delete_alias(&self, caller: &Caller, r: DeleteAliasRequest) -> Result<()> {
        let name = r.alias_name.unwrap_or_default();
        check_alias_name(&name)?;
        match self.store.delete_alias(&caller.account, &caller.region, &name).await {
            Err(StoreError::NotFound) => {
                Err(alias_not_found(&caller.account, &caller.region, &name))
            }
            other => Ok(other?),
        }
    }

    pub async fn list_aliases(
        &self,
        caller: &Caller,
        r: ListAliasesRequest,
    ) -> Result<ListAliasesResponse> {
        let key_id = match r.key_id {
            Some(id) => {
                Some(self.resolve(caller, &id, Accept::KeyOnly, "ListAliases").await?.key.key_id)
            }
            None => {
                self.authorize_account(caller, &crate::authorize::Authz::from("ListAliases"))
                    .await?;
                None
            }
        };
        let limit = page_limit(r.limit);
        let mut rows = self
            .store
            .list_aliases(
                &caller.account,
                &caller.region,
                key_id.as_deref(),
                r.marker.as_deref(),
                limit + 1,
            )
            .await?;
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        Ok(ListAliasesResponse {
            next_marker: if truncated { rows.last().map(|a| a.name.clone()) } else { None },
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
