//! The decision for one action on one resource, as AWS makes it: the key policy, then the
//! caller's identity policies (explicit Deny wins), then grants; AWS's four AccessDenied
//! wordings.

use super::conditions::Conditions;
use crate::authz::{
    decide, decide_identity_only, ConditionKey as K, PolicyDocument, RequestContext, Verdict,
};
use crate::{Caller, Kms, KmsError, Result};
use std::sync::Arc;
use trent_store::KeyRecord;
use trent_types::{ErrorCode, GrantOperation};

/// One action to authorize on a key.
#[derive(Clone, Copy)]
pub(crate) struct Check<'a> {
    /// The IAM action without `kms:`.
    pub action: &'a str,
    /// The grant operation that may allow it.
    pub grant: Option<GrantOperation>,
    /// Whether a caller of another account may perform it.
    pub cross_account: bool,
    pub conditions: &'a Conditions,
    /// The alias name the request named the key by (`kms:RequestAlias`).
    pub alias: Option<&'a str>,
}

pub(crate) fn access_denied(
    caller: &Caller,
    action: &str,
    resource: &str,
    verdict: Verdict,
) -> KmsError {
    let who = format!(
        "User: {} is not authorized to perform: kms:{action} on resource: {resource}",
        caller.principal_arn
    );
    KmsError::new(
        ErrorCode::AccessDeniedException,
        match verdict {
            Verdict::ExplicitDenyInResourcePolicy => {
                format!("{who} with an explicit deny in a resource-based policy")
            }
            Verdict::ExplicitDenyInIdentityPolicy => {
                format!("{who} with an explicit deny in an identity-based policy")
            }
            Verdict::NoIdentityPolicyAllows => {
                format!("{who} because no identity-based policy allows the kms:{action} action")
            }
            Verdict::NoResourcePolicyAllows | Verdict::Allow => {
                format!("{who} because no resource-based policy allows the kms:{action} action")
            }
        },
    )
}

fn mentions(text: &str, key: &str) -> bool {
    text.to_ascii_lowercase().contains(key)
}

fn identity_mentions(docs: &[PolicyDocument], key: &str) -> bool {
    docs.iter()
        .flat_map(|d| &d.statements)
        .any(|s| s.condition.values().any(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case(key))))
}

impl Kms {
    /// The global condition keys of every request, whatever its API: one function, so that no
    /// surface evaluates a policy with a context that lacks them (a `Deny` on
    /// `aws:CurrentTime` or `aws:SourceIp` must hold for LookupEvents as for Decrypt). A key
    /// Trent cannot know (`aws:SourceVpc`, …) stays absent, which IAM's rules for a missing
    /// key then decide ("Condition keys that are not present in the request context").
    pub(crate) fn global_values(&self, caller: &Caller, ctx: &mut RequestContext) {
        let now = self.now_ms();
        let mut set = |k: K, v: String| ctx.set(&k.name(), v);
        set(K::CallerAccount, caller.account.clone());
        set(K::PrincipalArn, caller.principal_arn.clone());
        set(K::PrincipalAccount, caller.account.clone());
        set(K::CurrentTime, crate::audit::event_time(now));
        set(K::EpochTime, (now / 1000).to_string());
        set(K::SecureTransport, caller.secure_transport.to_string());
        set(K::RequestedRegion, caller.region.clone());
        let root = caller.principal_arn.ends_with(":root");
        set(K::PrincipalType, if root { "Account" } else { "User" }.to_string());
        if let Some(ip) = &caller.source_ip {
            set(K::SourceIp, ip.clone());
        }
    }

    /// The caller's identity policies; the account root needs none.
    /// The request context; condition keys are filled only when a policy has conditions
    /// (most requests meet policies without any, and this is the hot path).
    fn context(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        conditions: &Conditions,
        with_values: bool,
    ) -> RequestContext {
        let mut ctx = RequestContext {
            principal_arn: caller.principal_arn.clone(),
            principal_account: caller.account.clone(),
            action: ["kms:", action].concat(),
            resource: resource.to_string(),
            values: Default::default(),
        };
        if !with_values {
            return ctx;
        }
        self.global_values(caller, &mut ctx);
        for (k, v) in &conditions.values {
            ctx.set_many(&k.name(), v.clone());
        }
        ctx
    }

    /// Authorizes `check` on a key for `caller`.
    pub(crate) async fn authorize_key(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        check: &Check<'_>,
    ) -> Result<()> {
        let arn = rec.key.arn();
        // Noted before the decision: a refused call's record names what it was refused on.
        crate::audit::note_resource(&arn);
        if rec.key.account != caller.account && !check.cross_account {
            return Err(access_denied(caller, check.action, &arn, Verdict::NoResourcePolicyAllows));
        }
        let verdict = self.key_verdict(caller, rec, &arn, &rec.policy, check).await?;
        match verdict {
            Verdict::Allow => Ok(()),
            // An explicit deny beats grants; otherwise a grant may allow what policies do not.
            v @ (Verdict::ExplicitDenyInResourcePolicy | Verdict::ExplicitDenyInIdentityPolicy) => {
                Err(access_denied(caller, check.action, &arn, v))
            }
            v => {
                let by_grant = match check.grant {
                    Some(op) => self.grant_allows(caller, rec, op, check.conditions).await?,
                    None => false,
                };
                if by_grant {
                    Ok(())
                } else {
                    Err(access_denied(caller, check.action, &arn, v))
                }
            }
        }
    }

    /// Whether the policies alone (`policy` standing in for the key's own) allow `action`:
    /// the lockout safety check of PutKeyPolicy and CreateKey.
    pub(crate) async fn policy_allows(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        policy: &str,
        action: &str,
    ) -> Result<bool> {
        let conditions = Conditions::default();
        let check = Check {
            action,
            grant: None,
            cross_account: false,
            conditions: &conditions,
            alias: None,
        };
        let arn = rec.key.arn();
        Ok(self.key_verdict(caller, rec, &arn, policy, &check).await? == Verdict::Allow)
    }

    async fn key_verdict(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        arn: &str,
        policy_text: &str,
        check: &Check<'_>,
    ) -> Result<Verdict> {
        let policy = match self.held.keys.cached_policy(rec).filter(|_| policy_text == rec.policy) {
            Some(p) => p,
            None => Arc::new(PolicyDocument::parse(policy_text).map_err(|source| {
                KmsError::Internal(crate::Fault::KeyPolicy { arn: arn.to_string(), source })
            })?),
        };
        let identity = self.access.authz_cache.identity_policies(caller).await?;
        let with_values =
            policy.has_conditions() || identity.iter().any(PolicyDocument::has_conditions);
        let mut ctx = self.context(caller, check.action, arn, check.conditions, with_values);
        if with_values {
            let mut set = |k: K, v: String| ctx.set(&k.name(), v);
            set(K::KeyOrigin, rec.origin.as_str().into());
            set(K::KeySpec, rec.key_spec.as_str().into());
            set(K::KeyUsage, rec.key_usage.as_str().into());
            set(K::MultiRegion, rec.multi_region.to_string());
            if let Some(alias) = check.alias {
                set(K::RequestAlias, alias.to_string());
            }
            for (k, v) in &rec.tags {
                set(K::ResourceTag(k.clone()), v.clone());
            }
            // kms:ResourceAliases costs a lookup: only when a policy asks about it.
            let key = K::ResourceAliases.name().to_ascii_lowercase();
            if mentions(policy_text, &key) || identity_mentions(&identity, &key) {
                let aliases = self
                    .store
                    .list_aliases(
                        &rec.key.account,
                        &rec.key.region,
                        Some(&rec.key.key_id),
                        None,
                        50,
                    )
                    .await?;
                ctx.set_many(
                    &K::ResourceAliases.name(),
                    aliases.into_iter().map(|a| a.name).collect(),
                );
            }
        }
        Ok(decide(&policy, &identity, &ctx, &rec.key.account))
    }

    /// Authorizes `action` on a resource that has no policy of its own (the account, an
    /// alias, a retiring principal): the caller's identity policies decide.
    pub(crate) async fn authorize_identity(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        conditions: &Conditions,
    ) -> Result<()> {
        // An alias is a resource of its own in CloudTrail (AWS's CreateAlias example lists
        // the key and the alias); `*` and principals are not.
        if resource.contains(":alias/") {
            crate::audit::note_resource(resource);
        }
        let identity = self.access.authz_cache.identity_policies(caller).await?;
        let with_values = identity.iter().any(PolicyDocument::has_conditions);
        let ctx = self.context(caller, action, resource, conditions, with_values);
        match decide_identity_only(&identity, &ctx) {
            Verdict::Allow => Ok(()),
            v => Err(access_denied(caller, action, resource, v)),
        }
    }
}

impl Kms {
    /// Authorizes a CloudTrail `action` (`cloudtrail:LookupEvents`, `cloudtrail:DescribeTrails`,
    /// …: IAM actions on `*`; the account root may, users need an identity policy;
    /// "Identity-based policy examples for AWS CloudTrail"), and counts it against the
    /// LookupEvents quota when `throttled`.
    pub async fn authorize_cloudtrail(
        &self,
        caller: &Caller,
        action: &str,
        throttled: bool,
    ) -> Result<()> {
        let identity = self.access.authz_cache.identity_policies(caller).await?;
        let mut ctx = RequestContext {
            principal_arn: caller.principal_arn.clone(),
            principal_account: caller.account.clone(),
            action: action.into(),
            resource: "*".into(),
            values: Default::default(),
        };
        self.global_values(caller, &mut ctx);
        let who = format!("User: {} is not authorized to perform: {action}", caller.principal_arn);
        match decide_identity_only(&identity, &ctx) {
            // CloudTrail: "2 requests per second per account per Region" for LookupEvents;
            // counted after authorization, as `Kms::call` counts the KMS operations.
            Verdict::Allow if !throttled => Ok(()),
            Verdict::Allow => {
                let quotas = &self.access.quotas;
                quotas.charge(&quotas.tenant_of(caller), crate::quotas::Quota::LookupEvents)
            }
            Verdict::ExplicitDenyInIdentityPolicy => Err(KmsError::new(
                ErrorCode::AccessDeniedException,
                format!("{who} with an explicit deny in an identity-based policy"),
            )),
            _ => Err(KmsError::new(
                ErrorCode::AccessDeniedException,
                format!("{who} because no identity-based policy allows the {action} action"),
            )),
        }
    }
}
