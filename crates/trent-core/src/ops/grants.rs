//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the
//! check that lets a grantee do what its grants list while their constraints hold.

use crate::authz::ConditionKey as K;
use crate::gate::{ChildGrant, GrantTarget, KeyTarget, RetiringPrincipalTarget};
use crate::ops::paging::page_after;
use crate::state::{check, Family};
use crate::{Authorized, Call, Caller, Conditions, Kms, KmsError, Result};
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
        issuing_account: Some(format!("arn:{}:iam::{}:root", g.key.partition(), g.key.account)),
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

/// Whether a child grant's constraints are at least as strict as its parent's: it may add
/// pairs to an EncryptionContextSubset or turn it into an EncryptionContextEquals holding
/// them, but not the reverse ("Granting CreateGrant permission", AWS KMS developer guide).
fn at_least_as_strict(child: &Option<GrantConstraints>, parent: &Option<GrantConstraints>) -> bool {
    let Some(parent) = parent else { return true };
    let empty = GrantConstraints::default();
    let child = child.as_ref().unwrap_or(&empty);
    let contains = |outer: &BTreeMap<String, String>, inner: &BTreeMap<String, String>| {
        inner.iter().all(|(k, v)| outer.get(k) == Some(v))
    };
    if let Some(eq) = &parent.encryption_context_equals {
        return child.encryption_context_equals.as_ref() == Some(eq);
    }
    if let Some(sub) = &parent.encryption_context_subset {
        return match (&child.encryption_context_equals, &child.encryption_context_subset) {
            (Some(eq), _) => contains(eq, sub),
            (None, Some(csub)) => contains(csub, sub),
            (None, None) => false,
        };
    }
    true
}

/// Whether one grant lets its grantee perform `op` on this request.
fn grant_covers(g: &GrantRecord, op: GrantOperation, conditions: &Conditions) -> bool {
    if !g.operations.contains(&op) {
        return false;
    }
    match op {
        // The constraint does not apply to DescribeKey and RetireGrant (CreateGrant API,
        // Constraints).
        GrantOperation::DescribeKey | GrantOperation::RetireGrant => true,
        // A grant-given CreateGrant may create only grants no wider than itself.
        GrantOperation::CreateGrant => conditions.child_grant.as_ref().is_some_and(|child| {
            child.operations.iter().all(|o| g.operations.contains(o))
                && at_least_as_strict(&child.constraints, &g.constraints)
        }),
        _ => constraints_hold(&g.constraints, conditions.context.as_ref()),
    }
}

impl Kms {
    /// Whether a grant on `rec` lets `caller` perform `op` with these request details.
    pub(crate) async fn grant_allows(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        op: GrantOperation,
        conditions: &Conditions,
    ) -> Result<bool> {
        let grants = self.access.authz_cache.grants_of(&rec.key).await?;
        Ok(grants
            .iter()
            .any(|g| g.grantee == caller.principal_arn && grant_covers(g, op, conditions)))
    }
}

/// Trent has no AWS services that create grants on a user's behalf.
fn not_for_aws_resource(c: &mut Conditions) {
    c.set(K::GrantIsForAwsResource, false);
}

impl Call for CreateGrantRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        let ops = self.operations.clone();
        not_for_aws_resource(c);
        c.set_many(K::GrantOperations, ops.iter().map(|o| o.as_str().to_string()).collect())
            .set_opt(K::GranteePrincipal, self.grantee_principal.as_ref())
            .set_opt(K::RetiringPrincipal, self.retiring_principal.as_ref());
        if let Some(cons) = &self.constraints {
            let mut types = Vec::new();
            if cons.encryption_context_equals.is_some() {
                types.push("EncryptionContextEquals".to_string());
            }
            if cons.encryption_context_subset.is_some() {
                types.push("EncryptionContextSubset".to_string());
            }
            c.set_many(K::GrantConstraintType, types);
        }
        c.child_grant(ChildGrant { operations: ops, constraints: self.constraints.clone() });
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<CreateGrantResponse> {
        let r = self;
        let rec = auth.target().key();
        let grantee = r
            .grantee_principal
            .clone()
            .ok_or_else(|| KmsError::validation("GranteePrincipal is required."))?;
        let ops = r.operations.clone();
        check(Family::Crypto, rec)?;
        for p in std::iter::once(&grantee).chain(r.retiring_principal.iter()) {
            if !valid_principal(p) {
                return Err(KmsError::validation(format!("Invalid principal: {p}")));
            }
        }
        if let Some(op) = ops.iter().find(|o| !operation_fits(**o, rec.key_usage, rec.key_spec)) {
            return Err(KmsError::validation(format!(
                "Grant operation {op} is not valid for a key with KeyUsage {} and KeySpec {}.",
                rec.key_usage, rec.key_spec
            )));
        }
        if r.constraints.as_ref().is_some_and(|c| {
            c.encryption_context_equals.is_some() && c.encryption_context_subset.is_some()
        }) {
            return Err(KmsError::validation(
                "Specify EncryptionContextEquals or EncryptionContextSubset, not both.",
            ));
        }
        if r.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        // Name makes CreateGrant idempotent: the same request returns the same grant.
        if let Some(name) = &r.name {
            let existing = kms.store.list_grants(&rec.key).await?;
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
            issuer: auth.caller().principal_arn.clone(),
            created_ms: kms.now_ms(),
        };
        kms.access.authz_cache.put_grant(&g, &kms.config.resource_quotas).await?;
        Ok(CreateGrantResponse { grant_token: Some(g.token), grant_id: Some(g.grant_id) })
    }
}

impl Call for ListGrantsRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        not_for_aws_resource(c);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ListGrantsResponse> {
        let rec = auth.target().key();
        let grants: Vec<GrantRecord> = kms
            .store
            .list_grants(&rec.key)
            .await?
            .into_iter()
            .filter(|g| self.grant_id.as_ref().is_none_or(|id| *id == g.grant_id))
            .filter(|g| self.grantee_principal.as_ref().is_none_or(|p| *p == g.grantee))
            .collect();
        grants_page(&grants, &self.marker, self.limit)
    }
}

impl Call for ListRetirableGrantsRequest {
    type Target = RetiringPrincipalTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, RetiringPrincipalTarget>,
    ) -> Result<ListGrantsResponse> {
        let region = &auth.caller().region;
        let grants: Vec<GrantRecord> = kms
            .store
            .list_grants_by_retiring(auth.target().principal())
            .await?
            .into_iter()
            .filter(|g| g.key.region == *region)
            .collect();
        grants_page(&grants, &self.marker, self.limit)
    }
}

impl Call for RetireGrantRequest {
    type Target = GrantTarget;

    async fn handle(self, kms: &Kms, auth: Authorized<'_, GrantTarget>) -> Result<()> {
        let grant = auth.target().grant();
        if self.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        match kms.access.authz_cache.delete_grant(&grant.key, &grant.grant_id).await {
            Err(StoreError::NotFound) => Err(KmsError::new(
                ErrorCode::NotFoundException,
                format!("Grant ID {} not found", grant.grant_id),
            )),
            other => Ok(other?),
        }
    }
}

impl Call for RevokeGrantRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        not_for_aws_resource(c);
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let rec = auth.target().key();
        if self.dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let id = self.grant_id;
        match kms.access.authz_cache.delete_grant(&rec.key, &id).await {
            Err(StoreError::NotFound) => {
                Err(KmsError::new(ErrorCode::NotFoundException, format!("Grant ID {id} not found")))
            }
            other => Ok(other?),
        }
    }
}
