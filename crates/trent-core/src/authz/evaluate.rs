//! Policy evaluation with IAM semantics: which statements apply to a request, and the
//! decision — an explicit Deny wins over any Allow; nothing allowed is an implicit deny.

use super::conditions::{evaluate as condition, wildcard};
use super::document::{Effect, PolicyDocument, Principals, Statement};
use std::collections::BTreeMap;

/// What a request looks like to a policy.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `arn:aws:iam::<account>:root` or `arn:aws:iam::<account>:user/<name>`.
    pub principal_arn: String,
    pub principal_account: String,
    /// `kms:<Operation>`.
    pub action: String,
    /// The key ARN, or `*` for operations on no key.
    pub resource: String,
    /// Condition keys (lowercased) and their values; multi-valued keys carry several.
    pub values: BTreeMap<String, Vec<String>>,
}

impl RequestContext {
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_ascii_lowercase(), vec![value.into()]);
    }
    pub fn set_many(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(key.to_ascii_lowercase(), values);
    }
    fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_ascii_lowercase()).map(|v| v.as_slice())
    }
    fn is_root(&self) -> bool {
        self.principal_arn.ends_with(":root")
    }
}

/// How a key-policy statement's principal relates to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    None,
    /// The statement names the caller's account (root ARN or account id): it lets the
    /// account's identity policies decide (for the root user it is a direct match).
    Account,
    /// The statement names the caller itself (or `*`).
    Direct,
}

fn principal_match(p: &Principals, ctx: &RequestContext) -> PrincipalMatch {
    let aws = match p {
        Principals::Any => return PrincipalMatch::Direct,
        Principals::Aws(a) => a,
    };
    let partition = ctx.principal_arn.split(':').nth(1).unwrap_or("aws");
    // `arn:<partition>:iam::<account>:root`, compared in pieces (every call checks it).
    let names_root = |v: &str| {
        v.strip_prefix("arn:")
            .and_then(|r| r.strip_prefix(partition))
            .and_then(|r| r.strip_prefix(":iam::"))
            .and_then(|r| r.strip_prefix(ctx.principal_account.as_str()))
            == Some(":root")
    };
    let mut best = PrincipalMatch::None;
    for v in aws {
        if v == "*" || *v == ctx.principal_arn {
            return PrincipalMatch::Direct;
        }
        if names_root(v) || *v == ctx.principal_account {
            best = if ctx.is_root() { PrincipalMatch::Direct } else { PrincipalMatch::Account };
        }
    }
    best
}

fn any_matches(patterns: &[String], value: &str, ignore_case: bool) -> bool {
    patterns.iter().any(|p| wildcard(p, value, ignore_case))
}

fn conditions_hold(s: &Statement, ctx: &RequestContext) -> bool {
    s.condition
        .iter()
        .all(|(op, keys)| keys.iter().all(|(k, vals)| condition(op, vals, ctx.get(k))))
}

/// Whether `s` applies to the request, ignoring its principal.
fn applies(s: &Statement, ctx: &RequestContext) -> bool {
    let action_ok = match (&s.action, &s.not_action) {
        (Some(a), _) => any_matches(a, &ctx.action, true),
        (None, Some(na)) => !any_matches(na, &ctx.action, true),
        (None, None) => false,
    };
    // In a key policy `"Resource": "*"` means this key; ARNs are compared as ARN patterns.
    let resource_ok = match (&s.resource, &s.not_resource) {
        (Some(r), _) => any_matches(r, &ctx.resource, false),
        (None, Some(nr)) => !any_matches(nr, &ctx.resource, false),
        (None, None) => false,
    };
    action_ok && resource_ok && conditions_hold(s, ctx)
}

/// The outcome of one policy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    pub deny: bool,
    /// The strongest principal match among applicable Allow statements (resource policies);
    /// `Direct` for an identity policy's applicable Allow.
    pub allow: Option<PrincipalMatch>,
}

/// Evaluates a resource (key) policy: statements must name the caller as principal.
pub fn evaluate_resource(doc: &PolicyDocument, ctx: &RequestContext) -> Outcome {
    let mut out = Outcome::default();
    for s in &doc.statements {
        let m = match (&s.principal, &s.not_principal) {
            (Some(p), _) => principal_match(p, ctx),
            (None, Some(np)) => {
                if principal_match(np, ctx) == PrincipalMatch::None {
                    PrincipalMatch::Direct
                } else {
                    PrincipalMatch::None
                }
            }
            (None, None) => PrincipalMatch::None,
        };
        if m == PrincipalMatch::None || !applies(s, ctx) {
            continue;
        }
        match s.effect {
            Effect::Deny => out.deny = true,
            Effect::Allow => out.allow = out.allow.max(Some(m)),
        }
    }
    out
}

/// Evaluates identity policies (no Principal element: they belong to the caller).
pub fn evaluate_identity(docs: &[PolicyDocument], ctx: &RequestContext) -> Outcome {
    let mut out = Outcome::default();
    for s in docs.iter().flat_map(|d| &d.statements) {
        if !applies(s, ctx) {
            continue;
        }
        match s.effect {
            Effect::Deny => out.deny = true,
            Effect::Allow => out.allow = Some(PrincipalMatch::Direct),
        }
    }
    out
}

/// The outcome of authorization, with the reason AWS's AccessDenied message gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    ExplicitDenyInResourcePolicy,
    ExplicitDenyInIdentityPolicy,
    NoResourcePolicyAllows,
    NoIdentityPolicyAllows,
}

impl Verdict {
    pub fn allowed(self) -> bool {
        self == Verdict::Allow
    }
}

/// The KMS decision for a key operation: explicit Deny anywhere wins; then the key policy
/// must allow the caller directly, or allow its account with the caller's identity policies
/// allowing too. Callers from another account always need their own identity allow as well
/// (unless they are that account's root).
pub fn decide(
    key_policy: &PolicyDocument,
    identity: &[PolicyDocument],
    ctx: &RequestContext,
    key_account: &str,
) -> Verdict {
    let kp = evaluate_resource(key_policy, ctx);
    let id = evaluate_identity(identity, ctx);
    if kp.deny {
        return Verdict::ExplicitDenyInResourcePolicy;
    }
    if id.deny {
        return Verdict::ExplicitDenyInIdentityPolicy;
    }
    let identity_ok = ctx.is_root() || id.allow.is_some();
    match kp.allow {
        Some(PrincipalMatch::Direct) if ctx.principal_account == key_account || identity_ok => {
            Verdict::Allow
        }
        Some(PrincipalMatch::Direct) | Some(PrincipalMatch::Account) if !identity_ok => {
            Verdict::NoIdentityPolicyAllows
        }
        Some(PrincipalMatch::Account) => Verdict::Allow,
        _ => Verdict::NoResourcePolicyAllows,
    }
}

/// The IAM decision for operations on no key (CreateKey, ListKeys, GenerateRandom, ...):
/// the account root may; users need an identity policy allow and no deny.
pub fn decide_identity_only(identity: &[PolicyDocument], ctx: &RequestContext) -> Verdict {
    let id = evaluate_identity(identity, ctx);
    if id.deny {
        Verdict::ExplicitDenyInIdentityPolicy
    } else if ctx.is_root() || id.allow.is_some() {
        Verdict::Allow
    } else {
        Verdict::NoIdentityPolicyAllows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(principal: &str, action: &str) -> RequestContext {
        let account = principal.split(':').nth(4).unwrap_or_default().to_string();
        RequestContext {
            principal_arn: principal.into(),
            principal_account: account,
            action: action.into(),
            resource: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
            values: BTreeMap::new(),
        }
    }

    /// The tests ask only whether the request is allowed.
    fn decide(
        kp: &PolicyDocument,
        id: &[PolicyDocument],
        ctx: &RequestContext,
        account: &str,
    ) -> bool {
        super::decide(kp, id, ctx, account).allowed()
    }

    fn doc(s: &str) -> PolicyDocument {
        PolicyDocument::parse(s).unwrap()
    }

    const DEFAULT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

    #[test]
    fn default_policy_delegates_to_identity_policies() {
        let kp = doc(DEFAULT);
        assert!(decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::111122223333:root", "kms:Encrypt"),
            "111122223333"
        ));
        let alice = ctx("arn:aws:iam::111122223333:user/alice", "kms:Encrypt");
        assert!(!decide(&kp, &[], &alice, "111122223333"));
        let allow = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}"#,
        );
        assert!(decide(&kp, std::slice::from_ref(&allow), &alice, "111122223333"));
        assert!(!decide(
            &kp,
            &[allow],
            &ctx("arn:aws:iam::111122223333:user/alice", "kms:ScheduleKeyDeletion"),
            "111122223333"
        ));
        // Another account's root is not this account's root.
        assert!(!decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::444455556666:root", "kms:Encrypt"),
            "111122223333"
        ));
    }

    #[test]
    fn explicit_deny_wins_even_in_the_same_policy() {
        let kp = doc(r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:Decrypt","Resource":"*"}]}"#);
        assert!(decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::111122223333:user/bob", "kms:Encrypt"),
            "111122223333"
        ));
        assert!(!decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::111122223333:user/bob", "kms:Decrypt"),
            "111122223333"
        ));
        let deny = doc(r#"{"Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#);
        assert!(!decide(
            &kp,
            &[deny],
            &ctx("arn:aws:iam::111122223333:user/carol", "kms:Encrypt"),
            "111122223333"
        ));
    }

    #[test]
    fn cross_account_needs_both_sides() {
        let kp = doc(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}"#,
        );
        let other_user = ctx("arn:aws:iam::444455556666:user/dave", "kms:Decrypt");
        assert!(!decide(&kp, &[], &other_user, "111122223333"));
        let allow = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:111122223333:key/*"}]}"#,
        );
        assert!(decide(&kp, &[allow], &other_user, "111122223333"));
        assert!(decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::444455556666:root", "kms:Encrypt"),
            "111122223333"
        ));
        assert!(!decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::444455556666:root", "kms:ScheduleKeyDeletion"),
            "111122223333"
        ));
    }

    #[test]
    fn conditions_and_not_action() {
        let kp = doc(r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/importer"},"Action":"kms:ImportKeyMaterial","Resource":"*",
             "Condition":{"StringEquals":{"kms:ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}}},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/importer"},"NotAction":["kms:ImportKeyMaterial","kms:ScheduleKeyDeletion"],"Resource":"*"}]}"#);
        let mut c = ctx("arn:aws:iam::111122223333:user/importer", "kms:ImportKeyMaterial");
        assert!(!decide(&kp, &[], &c, "111122223333"), "no ExpirationModel in the request");
        c.set("kms:ExpirationModel", "KEY_MATERIAL_EXPIRES");
        assert!(!decide(&kp, &[], &c, "111122223333"));
        c.set("kms:ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE");
        assert!(decide(&kp, &[], &c, "111122223333"));
        assert!(decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::111122223333:user/importer", "kms:GetParametersForImport"),
            "111122223333"
        ));
        assert!(!decide(
            &kp,
            &[],
            &ctx("arn:aws:iam::111122223333:user/importer", "kms:ScheduleKeyDeletion"),
            "111122223333"
        ));
    }

    #[test]
    fn malformed_documents() {
        assert!(PolicyDocument::parse("[]").is_err());
        assert!(PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe"}]}"#).is_err());
        assert!(PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Nope":"x"}}]}"#
        )
        .is_err());
        assert!(PolicyDocument::parse("not json").is_err());
    }
}
