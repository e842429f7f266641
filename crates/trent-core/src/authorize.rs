//! Authorizing each call as AWS does: the key policy, then the caller's identity policies
//! (explicit Deny wins), with the condition keys of the request (aws-behaviour.md §4).

use crate::authz::{decide, decide_identity_only, PolicyDocument, RequestContext, Verdict};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_store::KeyRecord;

/// The action being authorized and the request's own condition keys.
#[derive(Debug, Clone)]
pub(crate) struct Authz<'a> {
    pub action: &'a str,
    values: Vec<(&'static str, Vec<String>)>,
    /// The request's encryption context, for grant constraints.
    pub context: Option<BTreeMap<String, String>>,
}

impl<'a> From<&'a str> for Authz<'a> {
    fn from(action: &'a str) -> Self {
        Authz { action, values: Vec::new(), context: None }
    }
}

impl<'a> Authz<'a> {
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        self.values.push((key, vec![value.to_string()]));
        self
    }

    pub fn with_many(mut self, key: &'static str, values: Vec<String>) -> Self {
        self.values.push((key, values));
        self
    }

    pub fn with_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys`.
    pub fn with_context(mut self, context: &BTreeMap<String, String>) -> Self {
        for (k, v) in context {
            self.values.push(("kms:EncryptionContext:", vec![k.clone(), v.clone()]));
        }
        self.values.push(("kms:EncryptionContextKeys", context.keys().cloned().collect()));
        self.context = Some(context.clone());
        self
    }

    /// `aws:RequestTag/<key>` for each tag and `aws:TagKeys`.
    pub fn with_tags<'t>(mut self, tags: impl Iterator<Item = (&'t String, &'t String)>) -> Self {
        let mut keys = Vec::new();
        for (k, v) in tags {
            self.values.push(("aws:RequestTag/", vec![k.clone(), v.clone()]));
            keys.push(k.clone());
        }
        self.values.push(("aws:TagKeys", keys));
        self
    }
}

/// Operations AWS lets another account perform with a key ARN, when policies allow.
const CROSS_ACCOUNT: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "DescribeKey",
    "GetPublicKey",
    "Sign",
    "Verify",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
    "GetKeyRotationStatus",
    "CreateGrant",
    "ListGrants",
    "RetireGrant",
    "RevokeGrant",
];

fn mentions(text: &str, key: &str) -> bool {
    text.to_ascii_lowercase().contains(key)
}

fn identity_mentions(docs: &[PolicyDocument], key: &str) -> bool {
    docs.iter()
        .flat_map(|d| &d.statements)
        .any(|s| s.condition.values().any(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case(key))))
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
    KmsError::AccessDenied(match verdict {
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
    })
}

impl Kms {
    /// The caller's identity policies; the account root needs none.
    async fn identity_policies(&self, caller: &Caller) -> Result<Vec<PolicyDocument>> {
        if caller.principal_arn.ends_with(":root") {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (name, text) in self.store.list_identity_policies(&caller.principal_arn).await? {
            match PolicyDocument::parse(&text) {
                Ok(d) => out.push(d),
                Err(e) => {
                    tracing::warn!(principal = %caller.principal_arn, policy = %name, error = %e.0, "ignoring a malformed identity policy")
                }
            }
        }
        Ok(out)
    }

    /// The request context; condition keys are filled only when a policy has conditions
    /// (most requests meet policies without any, and this is the hot path).
    fn context(
        &self,
        caller: &Caller,
        authz: &Authz<'_>,
        resource: &str,
        with_values: bool,
    ) -> RequestContext {
        let mut ctx = RequestContext {
            principal_arn: caller.principal_arn.clone(),
            principal_account: caller.account.clone(),
            action: format!("kms:{}", authz.action),
            resource: resource.to_string(),
            values: BTreeMap::new(),
        };
        if !with_values {
            return ctx;
        }
        ctx.set("kms:CallerAccount", caller.account.clone());
        ctx.set("aws:PrincipalArn", caller.principal_arn.clone());
        ctx.set("aws:PrincipalAccount", caller.account.clone());
        ctx.set("aws:CurrentTime", crate::audit::event_time(self.now_ms()));
        ctx.set("aws:EpochTime", (self.now_ms() / 1000).to_string());
        if let Some(ip) = &caller.source_ip {
            ctx.set("aws:SourceIp", ip.clone());
        }
        for (k, v) in &authz.values {
            if k.ends_with(':') || k.ends_with('/') {
                // Prefix keys carry (suffix, value): kms:EncryptionContext:<k>, aws:RequestTag/<k>.
                ctx.set(&format!("{k}{}", v[0]), v[1].clone());
            } else {
                ctx.set_many(k, v.clone());
            }
        }
        ctx
    }

    /// Authorizes `authz` on a key for `caller`.
    pub(crate) async fn authorize_key(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        authz: &Authz<'_>,
    ) -> Result<()> {
        let arn = rec.key.arn();
        if rec.key.account != caller.account && !CROSS_ACCOUNT.contains(&authz.action) {
            return Err(access_denied(caller, authz.action, &arn, Verdict::NoResourcePolicyAllows));
        }
        let policy = match self.cached_policy(rec) {
            Some(p) => p,
            None => std::sync::Arc::new(PolicyDocument::parse(&rec.policy).map_err(|e| {
                KmsError::Internal(format!("stored key policy of {arn} does not parse: {}", e.0))
            })?),
        };
        let identity = self.identity_policies(caller).await?;
        let with_values =
            policy.has_conditions() || identity.iter().any(PolicyDocument::has_conditions);
        let mut ctx = self.context(caller, authz, &arn, with_values);
        if with_values {
            ctx.set("kms:KeyOrigin", rec.origin.as_str());
            ctx.set("kms:KeySpec", rec.key_spec.as_str());
            ctx.set("kms:KeyUsage", rec.key_usage.as_str());
            ctx.set("kms:MultiRegion", rec.multi_region.to_string());
            for (k, v) in &rec.tags {
                ctx.set(&format!("aws:ResourceTag/{k}"), v.clone());
            }
            if matches!(authz.action, "CreateGrant" | "ListGrants" | "RevokeGrant") {
                // Trent has no AWS services that create grants on a user's behalf.
                ctx.set("kms:GrantIsForAWSResource", "false");
            }
            // kms:ResourceAliases costs a lookup: only when a policy asks about it.
            if mentions(&rec.policy, "kms:resourcealiases")
                || identity_mentions(&identity, "kms:resourcealiases")
            {
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
                ctx.set_many("kms:ResourceAliases", aliases.into_iter().map(|a| a.name).collect());
            }
        }
        match decide(&policy, &identity, &ctx, &rec.key.account) {
            Verdict::Allow => Ok(()),
            // An explicit deny beats grants; otherwise a grant may allow what policies do not.
            v @ (Verdict::ExplicitDenyInResourcePolicy | Verdict::ExplicitDenyInIdentityPolicy) => {
                Err(access_denied(caller, authz.action, &arn, v))
            }
            v => {
                if self.grant_allows(caller, rec, authz).await? {
                    Ok(())
                } else {
                    Err(access_denied(caller, authz.action, &arn, v))
                }
            }
        }
    }

    /// Authorizes an operation on no key (CreateKey, ListKeys, ...) by identity policies.
    pub(crate) async fn authorize_account(&self, caller: &Caller, authz: &Authz<'_>) -> Result<()> {
        let identity = self.identity_policies(caller).await?;
        let with_values = identity.iter().any(PolicyDocument::has_conditions);
        let ctx = self.context(caller, authz, "*", with_values);
        match decide_identity_only(&identity, &ctx) {
            Verdict::Allow => Ok(()),
            v => Err(access_denied(caller, authz.action, "*", v)),
        }
    }
}
