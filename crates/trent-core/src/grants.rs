//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the
//! check that lets a grantee do what its grants list while their constraints hold.

use crate::authorize::Authz;
use crate::keys::page_after;
use crate::resolve::Accept;
use crate::state::{check, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_store::{GrantRecord, KeyRecord, StoreError};
use trent_types::*;

/// A random grant id or grant token, as lowercase hex.
fn token(bytes: usize) -> Result<String> {
    let mut b = vec![0u8; bytes];
    trent_crypto::random_bytes(&mut b)?;
    Ok(hex::encode(b))
}

/// The operations a grant may list for a key of this usage.
fn operation_fits(op: GrantOperation, usage: KeyUsageType, spec: KeySpec) -> bool {
    use GrantOperation as G;
    match op {
        G::DescribeKey | G::CreateGrant | G::RetireGrant => true,
        G::Encrypt | G::Decrypt | G::ReEncryptFrom | G::ReEncryptTo => {
            usage == KeyUsageType::EncryptDecrypt
        }
        G::GenerateDataKey
        | G::GenerateDataKeyWithoutPlaintext
        | G::GenerateDataKeyPair
        | G::GenerateDataKeyPairWithoutPlaintext => {
            usage == KeyUsageType::EncryptDecrypt && spec == KeySpec::SymmetricDefault
        }
        G::Sign | G::Verify => usage == KeyUsageType::SignVerify,
        G::GetPublicKey => {
            spec != KeySpec::SymmetricDefault && usage != KeyUsageType::GenerateVerifyMac
        }
        G::GenerateMac | G::VerifyMac => usage == KeyUsageType::GenerateVerifyMac,
        G::DeriveSharedSecret => usage == KeyUsageType::KeyAgreement,
        G::Encapsulate | G::Decapsulate => usage == KeyUsageType::EncapsulateDecapsulate,
    }
}

/// Whether the request's encryption context satisfies a grant's constraints.
fn constraints_hold(
    c: &Option<GrantConstraints>,
    context: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(c) = c else { return true };
    let empty = BTreeMap::new();
    let ctx = context.unwrap_or(&empty);
    if let Some(eq) = &c.encryption_context_equals {
        if eq != ctx {
            return false;
        }
    }
    if let Some(sub) = &c.encryption_context_subset {
        if !sub.iter().all(|(k, v)| ctx.get(k) == Some(v)) {
            return false;
        }
    }
    true
}

fn valid_principal(p: &str) -> bool {
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
}

fn entry(g: &GrantRecord) -> GrantListEntry {
    GrantListEntry {
        key_id: Some(g.key.arn()),
        grant_id: Some(g.grant_id.clone()),
        name: g.name.clone(),
        creation_date: Some(Timestamp(g.created_ms)),
        grantee_principal: Some(g.grantee.clone()),
        retiring_principal: g.retiring.clone(),
        issuing_account: Some(format!("arn:aws:iam::{}:root", g.key.account)),
        operations: Some(g.operations.clone()),
        constraints: g.constraints.clone(),
        grantee_service_principal: None,
        retiring_service_principal: None,
    }
}

/// A ListGrants-shaped answer: one page of `grants` after `marker`.
fn grants_page(
    grants: &[GrantRecord],
    marker: &Option<String>,
    limit: Option<i64>,
) -> Result<ListGrantsResponse> {
    let (items, next) = page_after(grants, marker, limit, |g| g.grant_id.clone())?;
    Ok(ListGrantsResponse {
        grants: Some(items.iter().map(entry).collect()),
        truncated: Some(next.is_some()),
        next_marker: next,
    })
}

impl Kms {
    /// Whether a grant on `rec` lets `caller` perform `authz`.
    pub(crate) async fn grant_allows(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        authz: &Authz<'_>,
    ) -> Result<bool> {
        let Some(op) = GrantOperation::parse(authz.action) else { return Ok(false) };
        let grants = self.store.list_grants(&rec.key).await?;
        Ok(grants.iter().any(|g| {
            g.grantee == caller.principal_arn
                && g.operations.contains(&op)
                && constraints_hold(&g.constraints, authz.context.as_ref())
        }))
    }

    pub async fn create_grant(
        &self,
        caller: &Caller,
        r: CreateGrantRequest,
    ) -> Result<CreateGrantResponse> {
        let grantee = r
            .grantee_principal
            .clone()
            .ok_or_else(|| KmsError::Validation("GranteePrincipal is required.".into()))?;
        let ops = r.operations.clone().unwrap_or_default();
        let authz = Authz::from("CreateGrant")
            .with_many("kms:GrantOperations", ops.iter().map(|o| o.as_str().to_string()).collect())
            .with("kms:GranteePrincipal", &grantee)
            .with_opt("kms:RetiringPrincipal", r.retiring_principal.as_ref());
        let rec =
            self.resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, authz).await?;
        check(Family::Crypto, &rec)?;
        for p in std::iter::once(&grantee).chain(r.retiring_principal.iter()) {
            if !valid_principal(p) {
                return Err(KmsError::Validation(format!("Invalid principal: {p}")));
            }
        }
        if let Some(op) = ops.iter().find(|o| !operation_fits(**o, rec.key_usage, rec.key_spec)) {
            return Err(KmsError::Validation(format!(
                "Grant operation {op} is not valid for a key with KeyUsage {} and KeySpec {}.",
                rec.key_usage, rec.key_spec
            )));
        }
        if r.constraints.as_ref().is_some_and(|c| {
            c.encryption_context_equals.is_some() && c.encryption_context_subset.is_some()
        }) {
            return Err(KmsError::Validation(
                "Specify EncryptionContextEquals or EncryptionContextSubset, not both.".into(),
            ));
        }
        if r.dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        // Name makes CreateGrant idempotent: the same request returns the same grant.
        if let Some(name) = &r.name {
            let existing = self.store.list_grants(&rec.key).await?;
            if let Some(g) = existing.iter().find(|g| {
                g.name.as_ref() == Some(name)
                    && g.grantee == grantee
                    && g.retiring == r.retiring_principal
                    && g.operations == ops
                    && g.constraints == r.constraints
            }) {
                return Ok(CreateGrantResponse {
                    grant_token: Some(g.token.clone()),
                    grant_id: Some(g.grant_id.clone()),
                });
            }
        }
        let g = GrantRecord {
            key: rec.key.clone(),
            grant_id: token(32)?,
            token: token(48)?,
            name: r.name,
            grantee,
            retiring: r.retiring_principal,
            operations: ops,
            constraints: r.constraints,
            issuer: caller.principal_arn.clone(),
            created_ms: self.now_ms(),
        };
        self.store.put_grant(&g).await?;
        Ok(CreateGrantResponse { grant_token: Some(g.token), grant_id: Some(g.grant_id) })
    }

    pub async fn list_grants(
        &self,
        caller: &Caller,
        r: ListGrantsRequest,
    ) -> Result<ListGrantsResponse> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "ListGrants")
            .await?;
        let grants: Vec<GrantRecord> = self
            .store
            .list_grants(&rec.key)
            .await?
            .into_iter()
            .filter(|g| r.grant_id.as_ref().is_none_or(|id| *id == g.grant_id))
            .filter(|g| r.grantee_principal.as_ref().is_none_or(|p| *p == g.grantee))
            .collect();
        grants_page(&grants, &r.marker, r.limit)
    }

    pub async fn list_retirable_grants(
        &self,
        caller: &Caller,
        r: ListRetirableGrantsRequest,
    ) -> Result<ListGrantsResponse> {
        self.authorize_account(caller, &Authz::from("ListRetirableGrants")).await?;
        let principal = r.retiring_principal.unwrap_or_default();
        let grants: Vec<GrantRecord> = self
            .store
            .list_grants_by_retiring(&principal)
            .await?
            .into_iter()
            .filter(|g| g.key.region == caller.region)
            .collect();
        grants_page(&grants, &r.marker, r.limit)
    }

    /// The retiring principal, the grantee (if RetireGrant is among its operations) and the
    /// key account's root may retire a grant; so may whoever the key policy allows.
    pub async fn retire_grant(&self, caller: &Caller, r: RetireGrantRequest) -> Result<()> {
        let grant = match (&r.grant_token, &r.key_id, &r.grant_id) {
            (Some(t), _, _) => self.store.get_grant_by_token(t).await?.ok_or_else(|| {
                KmsError::InvalidGrantToken("The grant token is not valid.".into())
            })?,
            (None, Some(k), Some(id)) => {
                let key = self.key_ref(caller, k, Accept::KeyOnly).await?;
                self.store
                    .list_grants(&key)
                    .await?
                    .into_iter()
                    .find(|g| g.grant_id == *id)
                    .ok_or_else(|| KmsError::NotFound(format!("Grant ID {id} not found")))?
            }
            _ => {
                return Err(KmsError::Validation(
                    "Specify a GrantToken, or a KeyId and a GrantId.".into(),
                ))
            }
        };
        let may = grant.retiring.as_deref() == Some(caller.principal_arn.as_str())
            || (grant.grantee == caller.principal_arn
                && grant.operations.contains(&GrantOperation::RetireGrant))
            || caller.principal_arn == format!("arn:aws:iam::{}:root", grant.key.account);
        if !may {
            let rec = self.load_key(&grant.key).await?;
            self.authorize_key(caller, &rec, &Authz::from("RetireGrant")).await?;
        }
        if r.dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        match self.store.delete_grant(&grant.key, &grant.grant_id).await {
            Err(StoreError::NotFound) => {
                Err(KmsError::NotFound(format!("Grant ID {} not found", grant.grant_id)))
            }
            other => Ok(other?),
        }
    }

    pub async fn revoke_grant(&self, caller: &Caller, r: RevokeGrantRequest) -> Result<()> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "RevokeGrant")
            .await?;
        if r.dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        let id = r.grant_id.unwrap_or_default();
        match self.store.delete_grant(&rec.key, &id).await {
            Err(StoreError::NotFound) => {
                Err(KmsError::NotFound(format!("Grant ID {id} not found")))
            }
            other => Ok(other?),
        }
    }
}
