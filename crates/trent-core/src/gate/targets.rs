//! The shapes of what an operation is authorized on (one per `Resources` row of the operation
//! table), each resolved from its request and authorized here, before any handler runs.

use super::decide::Check;
use super::resolve::{alias_arn, alias_not_found, key_not_found, Accept};
use super::{Call, Conditions, Target};
use crate::{Caller, Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::BlobHeader;
use trent_store::{AliasRecord, GrantRecord, KeyRecord, KeyRef};
use trent_types::*;

pub(super) fn conditions_of<R: Call>(req: &R) -> Conditions {
    let mut c = Conditions::default();
    req.conditions(&mut c);
    c
}

/// The check of the operation's own action, as the table declares it.
pub(super) fn check<'a>(spec: &'a OperationSpec, conditions: &'a Conditions) -> Check<'a> {
    Check {
        action: spec.action,
        grant: spec.grant,
        cross_account: spec.cross_account,
        conditions,
        alias: None,
    }
}

/// Operations on no key (CreateKey, ListKeys, GenerateRandom, custom key stores): the
/// caller's identity policies, on resource `*`.
pub struct AccountTarget;

impl<R: Call> Target<R> for AccountTarget {
    const RESOURCES: Resources = Resources::Account;

    async fn resolve(kms: &Kms, caller: &Caller, req: &R) -> Result<Self> {
        let spec = R::OPERATION.spec();
        let c = conditions_of(req);
        kms.authorize_identity(caller, spec.action, "*", &c).await?;
        for action in req.also_requires() {
            kms.authorize_identity(caller, action, "*", &c).await?;
        }
        Ok(AccountTarget)
    }
}

/// Requests whose `KeyId` names the key they act on.
pub trait NamesKey {
    fn key_id(&self) -> &str;
}

macro_rules! names_key {
    ($($req:ident),* $(,)?) => {$(
        impl NamesKey for $req {
            fn key_id(&self) -> &str {
                self.key_id.as_str()
            }
        }
    )*};
}

// Every request whose input requires `KeyId`, from the model.
trent_types::for_each_keyed_request!(names_key);

/// The key named by `KeyId`; with `ALIASES` also by alias name or alias ARN.
pub struct KeyTarget<const ALIASES: bool> {
    rec: Arc<KeyRecord>,
}

impl<const ALIASES: bool> KeyTarget<ALIASES> {
    pub fn key(&self) -> &KeyRecord {
        &self.rec
    }

    pub fn into_key(self) -> KeyRecord {
        Arc::unwrap_or_clone(self.rec)
    }
}

impl<R: Call + NamesKey, const ALIASES: bool> Target<R> for KeyTarget<ALIASES> {
    const RESOURCES: Resources = if ALIASES { Resources::KeyOrAlias } else { Resources::Key };

    async fn resolve(kms: &Kms, caller: &Caller, req: &R) -> Result<Self> {
        let spec = R::OPERATION.spec();
        let c = conditions_of(req);
        let accept = if ALIASES { Accept::KeyOrAlias } else { Accept::KeyOnly };
        let rec = kms.resolve_key(caller, req.key_id(), accept, check(&spec, &c)).await?;
        for action in req.also_requires() {
            let extra = Check { action, grant: None, ..check(&spec, &c) };
            kms.authorize_key(caller, &rec, &extra).await?;
        }
        Ok(KeyTarget { rec })
    }

    fn key_spec(&self) -> Option<KeySpec> {
        Some(self.rec.key_spec)
    }
}

/// Requests that name their key by a ciphertext (and optionally a `KeyId`).
pub trait NamesCiphertext {
    fn ciphertext(&self) -> &[u8];
    fn key_id(&self) -> Option<&str>;
}

/// The key a ciphertext belongs to: for a symmetric blob the key its header names (with the
/// decoded header); for RSA ciphertexts the key `KeyId` names.
pub struct CiphertextKey {
    rec: Arc<KeyRecord>,
    header: Option<(BlobHeader, usize)>,
}

impl CiphertextKey {
    pub fn key(&self) -> &KeyRecord {
        &self.rec
    }

    /// The decoded blob header and its length; `None` for an asymmetric ciphertext.
    pub fn header(&self) -> Option<&(BlobHeader, usize)> {
        self.header.as_ref()
    }
}

fn is_asymmetric_encryption(rec: &KeyRecord) -> bool {
    rec.key_spec != KeySpec::SymmetricDefault && rec.key_usage == KeyUsageType::EncryptDecrypt
}

impl Kms {
    /// Finds the key of a ciphertext and authorizes `check` on it. A `KeyId` that names an
    /// RSA key means an RSA ciphertext; otherwise the blob names its key, and a `KeyId` that
    /// names another key is IncorrectKeyException.
    async fn resolve_ciphertext(
        &self,
        caller: &Caller,
        blob: &[u8],
        key_id: Option<&str>,
        check: Check<'_>,
    ) -> Result<CiphertextKey> {
        let given = match key_id {
            Some(id) => {
                let rec = self.resolve_key(caller, id, Accept::KeyOrAlias, check).await?;
                if is_asymmetric_encryption(&rec) {
                    return Ok(CiphertextKey { rec, header: None });
                }
                Some(rec)
            }
            None => None,
        };
        let (header, len) = BlobHeader::decode(blob).map_err(|_| KmsError::invalid_ciphertext())?;
        // Multi-Region keys decrypt in any Region of their set; other keys only in their own.
        let region = if header.key.key_id.starts_with("mrk-") {
            caller.region.clone()
        } else {
            header.key.region.clone()
        };
        let named = KeyRef {
            account: header.key.account.clone(),
            region,
            key_id: header.key.key_id.clone(),
        };
        let rec = match given {
            Some(rec) if rec.key != named => {
                return Err(KmsError::new(ErrorCode::IncorrectKeyException,
                    "The key ID in the request does not identify a CMK that can perform this operation.".into(),
                ))
            }
            Some(rec) => rec,
            None => {
                if named.region != caller.region {
                    return Err(KmsError::invalid_ciphertext());
                }
                let rec = self.load_key(&named).await?;
                self.authorize_key(caller, &rec, &check).await?;
                rec
            }
        };
        Ok(CiphertextKey { rec, header: Some((header, len)) })
    }
}

impl<R: Call + NamesCiphertext> Target<R> for CiphertextKey {
    const RESOURCES: Resources = Resources::Ciphertext;

    async fn resolve(kms: &Kms, caller: &Caller, req: &R) -> Result<Self> {
        let spec = R::OPERATION.spec();
        let c = conditions_of(req);
        kms.resolve_ciphertext(caller, req.ciphertext(), req.key_id(), check(&spec, &c)).await
    }

    fn key_spec(&self) -> Option<KeySpec> {
        Some(self.rec.key_spec)
    }
}

/// ReEncrypt: the source ciphertext's key (kms:ReEncryptFrom) and the destination key
/// (kms:ReEncryptTo), each with its own encryption context and algorithm as condition keys.
pub struct ReEncryptKeys {
    source: CiphertextKey,
    destination: Arc<KeyRecord>,
}

impl ReEncryptKeys {
    pub fn source(&self) -> &CiphertextKey {
        &self.source
    }

    pub fn destination(&self) -> &KeyRecord {
        &self.destination
    }
}

fn crypto_conditions(
    context: Option<&std::collections::BTreeMap<String, String>>,
    algorithm: Option<EncryptionAlgorithmSpec>,
) -> Conditions {
    let mut c = Conditions::default();
    c.encryption_context(context).set(
        crate::authz::ConditionKey::EncryptionAlgorithm,
        algorithm.unwrap_or(EncryptionAlgorithmSpec::SymmetricDefault),
    );
    c
}

impl Target<ReEncryptRequest> for ReEncryptKeys {
    const RESOURCES: Resources = Resources::SourceAndDestination;

    async fn resolve(kms: &Kms, caller: &Caller, req: &ReEncryptRequest) -> Result<Self> {
        let from = crypto_conditions(
            req.source_encryption_context.as_ref(),
            req.source_encryption_algorithm,
        );
        let blob = absent::bytes(&req.ciphertext_blob);
        let from_check = Check {
            action: "ReEncryptFrom",
            grant: Some(GrantOperation::ReEncryptFrom),
            cross_account: true,
            conditions: &from,
            alias: None,
        };
        let source =
            kms.resolve_ciphertext(caller, blob, req.source_key_id.as_deref(), from_check).await?;
        let to = crypto_conditions(
            req.destination_encryption_context.as_ref(),
            req.destination_encryption_algorithm,
        );
        let to_check = Check {
            action: "ReEncryptTo",
            grant: Some(GrantOperation::ReEncryptTo),
            cross_account: true,
            conditions: &to,
            alias: None,
        };
        let id = req.destination_key_id.as_str();
        let destination = kms.resolve_key(caller, id, Accept::KeyOrAlias, to_check).await?;
        Ok(ReEncryptKeys { source, destination })
    }

    fn key_spec(&self) -> Option<KeySpec> {
        Some(self.source.rec.key_spec)
    }
}

/// Authorizes an alias operation on the alias itself: aliases have no policy of their own,
/// so the caller's identity policies decide (AWS: "kms:CreateAlias for the alias. Provide
/// this permission in an IAM policy").
async fn authorize_alias(kms: &Kms, caller: &Caller, action: &str, name: &str) -> Result<String> {
    super::resolve::check_alias_name(name)?;
    let arn = alias_arn(&caller.account, &caller.region, name);
    kms.authorize_identity(caller, action, &arn, &Conditions::default()).await?;
    Ok(arn)
}

/// The alias an operation names, and the key it points to now, authorized for `action`.
async fn existing_alias(
    kms: &Kms,
    caller: &Caller,
    spec: &OperationSpec,
    name: &str,
) -> Result<(AliasRecord, KeyRecord)> {
    authorize_alias(kms, caller, spec.action, name).await?;
    let alias = kms
        .store
        .get_alias(&caller.account, &caller.region, name)
        .await?
        .ok_or_else(|| alias_not_found(&caller.account, &caller.region, name))?;
    let key = KeyRef {
        account: alias.account.clone(),
        region: alias.region.clone(),
        key_id: alias.target_key_id.clone(),
    };
    let current = kms.load_key(&key).await?;
    let c = Conditions::default();
    kms.authorize_key(caller, &current, &check(spec, &c)).await?;
    Ok((alias, Arc::unwrap_or_clone(current)))
}

/// CreateAlias: the new alias (IAM policy) and the key it will point to (key policy).
pub struct NewAlias {
    name: String,
    key: KeyRecord,
}

impl NewAlias {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key(&self) -> &KeyRecord {
        &self.key
    }
}

impl Target<CreateAliasRequest> for NewAlias {
    const RESOURCES: Resources = Resources::NewAlias;

    async fn resolve(kms: &Kms, caller: &Caller, req: &CreateAliasRequest) -> Result<Self> {
        let spec = CreateAliasRequest::OPERATION.spec();
        let name = req.alias_name.clone();
        authorize_alias(kms, caller, spec.action, &name).await?;
        let c = Conditions::default();
        let id = req.target_key_id.as_str();
        let key = kms.resolve_key(caller, id, Accept::KeyOnly, check(&spec, &c)).await?;
        Ok(NewAlias { name, key: Arc::unwrap_or_clone(key) })
    }
}

/// UpdateAlias: the alias (IAM policy), the key it points to now and the new key (key
/// policies) — all three, so that nobody can re-point an alias they may not use.
pub struct AliasChange {
    alias: AliasRecord,
    current: KeyRecord,
    new: KeyRecord,
}

impl AliasChange {
    pub fn alias(&self) -> &AliasRecord {
        &self.alias
    }

    pub fn current(&self) -> &KeyRecord {
        &self.current
    }

    pub fn new_key(&self) -> &KeyRecord {
        &self.new
    }
}

impl Target<UpdateAliasRequest> for AliasChange {
    const RESOURCES: Resources = Resources::AliasAndBothKeys;

    async fn resolve(kms: &Kms, caller: &Caller, req: &UpdateAliasRequest) -> Result<Self> {
        let spec = UpdateAliasRequest::OPERATION.spec();
        let name = req.alias_name.as_str();
        let (alias, current) = existing_alias(kms, caller, &spec, name).await?;
        let c = Conditions::default();
        let id = req.target_key_id.as_str();
        let new = kms.resolve_key(caller, id, Accept::KeyOnly, check(&spec, &c)).await?;
        Ok(AliasChange { alias, current, new: Arc::unwrap_or_clone(new) })
    }
}

/// DeleteAlias: the alias (IAM policy) and the key it points to (key policy).
pub struct AliasRemoval {
    alias: AliasRecord,
    key: KeyRecord,
}

impl AliasRemoval {
    pub fn alias(&self) -> &AliasRecord {
        &self.alias
    }

    pub fn key(&self) -> &KeyRecord {
        &self.key
    }
}

impl Target<DeleteAliasRequest> for AliasRemoval {
    const RESOURCES: Resources = Resources::AliasAndKey;

    async fn resolve(kms: &Kms, caller: &Caller, req: &DeleteAliasRequest) -> Result<Self> {
        let spec = DeleteAliasRequest::OPERATION.spec();
        let name = req.alias_name.as_str();
        let (alias, key) = existing_alias(kms, caller, &spec, name).await?;
        Ok(AliasRemoval { alias, key })
    }
}

/// ListAliases: authorized on `*` by identity policies; a `KeyId` only filters, and must
/// name a key of the caller's account.
pub struct AliasListing {
    key: Option<KeyRef>,
}

impl AliasListing {
    pub fn key(&self) -> Option<&KeyRef> {
        self.key.as_ref()
    }
}

impl Target<ListAliasesRequest> for AliasListing {
    const RESOURCES: Resources = Resources::AccountListing;

    async fn resolve(kms: &Kms, caller: &Caller, req: &ListAliasesRequest) -> Result<Self> {
        let spec = ListAliasesRequest::OPERATION.spec();
        kms.authorize_identity(caller, spec.action, "*", &Conditions::default()).await?;
        let key = match req.key_id.as_deref() {
            Some(id) => {
                let key = kms.key_ref(caller, id, Accept::KeyOnly).await?;
                if key.account != caller.account {
                    return Err(key_not_found(&key));
                }
                Some(kms.load_key(&key).await?.key.clone())
            }
            None => None,
        };
        Ok(AliasListing { key })
    }
}

/// ListRetirableGrants: authorized by identity policies on the retiring principal, which
/// must be of the caller's account (API reference, "Cross-account use").
pub struct RetiringPrincipalTarget {
    principal: String,
}

impl RetiringPrincipalTarget {
    pub fn principal(&self) -> &str {
        &self.principal
    }
}

impl Target<ListRetirableGrantsRequest> for RetiringPrincipalTarget {
    const RESOURCES: Resources = Resources::RetiringPrincipal;

    async fn resolve(kms: &Kms, caller: &Caller, req: &ListRetirableGrantsRequest) -> Result<Self> {
        let spec = ListRetirableGrantsRequest::OPERATION.spec();
        let principal = absent::str(&req.retiring_principal).to_string();
        if principal.split(':').nth(4) != Some(caller.account.as_str()) {
            return Err(super::access_denied(
                caller,
                spec.action,
                &principal,
                crate::authz::Verdict::NoIdentityPolicyAllows,
            ));
        }
        kms.authorize_identity(caller, spec.action, &principal, &Conditions::default()).await?;
        Ok(RetiringPrincipalTarget { principal })
    }
}

/// RetireGrant: the grant's retiring principal, its grantee (if the grant lists
/// RetireGrant) and the key account's root may retire it; anyone else needs kms:RetireGrant
/// on the key ("Retiring and revoking grants", AWS KMS developer guide).
pub struct GrantTarget {
    grant: GrantRecord,
}

impl GrantTarget {
    pub fn grant(&self) -> &GrantRecord {
        &self.grant
    }
}

impl Target<RetireGrantRequest> for GrantTarget {
    const RESOURCES: Resources = Resources::Grant;

    async fn resolve(kms: &Kms, caller: &Caller, req: &RetireGrantRequest) -> Result<Self> {
        let grant = match (&req.grant_token, &req.key_id, &req.grant_id) {
            (Some(t), _, _) => kms.store.get_grant_by_token(t).await?.ok_or_else(|| {
                KmsError::new(
                    ErrorCode::InvalidGrantTokenException,
                    "The grant token is not valid.".into(),
                )
            })?,
            (None, Some(k), Some(id)) => {
                let key = kms.key_ref(caller, k, Accept::KeyOnly).await?;
                kms.store
                    .list_grants(&key)
                    .await?
                    .into_iter()
                    .find(|g| g.grant_id == *id)
                    .ok_or_else(|| {
                        KmsError::new(
                            ErrorCode::NotFoundException,
                            format!("Grant ID {id} not found"),
                        )
                    })?
            }
            _ => {
                return Err(KmsError::new(
                    ErrorCode::ValidationException,
                    "Specify a GrantToken, or a KeyId and a GrantId.".into(),
                ))
            }
        };
        let root = format!("arn:{}:iam::{}:root", grant.key.partition(), grant.key.account);
        let by_grant = grant.retiring.as_deref() == Some(caller.principal_arn.as_str())
            || (grant.grantee == caller.principal_arn
                && grant.operations.contains(&GrantOperation::RetireGrant))
            || caller.principal_arn == root;
        if !by_grant {
            let spec = RetireGrantRequest::OPERATION.spec();
            let rec = kms.load_key(&grant.key).await?;
            let c = Conditions::default();
            kms.authorize_key(caller, &rec, &Check { grant: None, ..check(&spec, &c) }).await?;
        }
        Ok(GrantTarget { grant })
    }
}
