//! Who may do what, through the real API with SigV4 credentials of different users and
//! accounts: key policies, identity policies, explicit deny, encryption context conditions,
//! cross-account use, grants and the policy lockout check (other condition keys are in
//! `conditions.rs`).

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{AlgorithmSpec, WrappingKeySpec};

const OTHER: &str = "444455556666";

pub(crate) async fn user(
    t: &TestServer,
    account: &str,
    name: &str,
    policy: Option<&str>,
) -> aws_sdk_kms::Client {
    t.kms.admin().create_user(account, name).await.unwrap();
    if let Some(p) = policy {
        t.kms.admin().put_user_policy(account, name, "inline", p).await.unwrap();
    }
    let k = t.kms.admin().create_user_access_key(account, Some(name)).await.unwrap();
    t.client_in(
        "us-east-1",
        &k.access_key_id,
        std::str::from_utf8(k.secret_access_key.as_bytes()).unwrap(),
    )
}

async fn root_of(t: &TestServer, account: &str) -> aws_sdk_kms::Client {
    let k = t.kms.admin().create_account(account, None).await.unwrap();
    t.client_in(
        "us-east-1",
        &k.access_key_id,
        std::str::from_utf8(k.secret_access_key.as_bytes()).unwrap(),
    )
}

pub(crate) fn denied(e: (String, String), principal: &str, action: &str, arn: &str) {
    assert_eq!(e.0, "AccessDeniedException", "{}", e.1);
    assert!(
        e.1.starts_with(&format!(
            "User: {principal} is not authorized to perform: kms:{action} on resource: {arn}"
        )),
        "{}",
        e.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_key_policy_delegates_to_identity_policies() {
    let t = start().await;
    let admin = t.client();
    let key = admin.create_key().send().await.unwrap().key_metadata.unwrap();
    let arn = key.arn().unwrap().to_string();
    let alice = user(&t, ACCOUNT, "alice", Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}"#)).await;
    let nobody = user(&t, ACCOUNT, "nobody", None).await;
    let ct = alice
        .encrypt()
        .key_id(key.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    alice.decrypt().ciphertext_blob(ct.clone()).send().await.unwrap();
    let e = err(alice.schedule_key_deletion().key_id(key.key_id()).send().await.unwrap_err());
    denied(e.clone(), &format!("arn:aws:iam::{ACCOUNT}:user/alice"), "ScheduleKeyDeletion", &arn);
    assert!(
        e.1.ends_with("because no identity-based policy allows the kms:ScheduleKeyDeletion action"),
        "{}",
        e.1
    );
    denied(
        err(nobody.decrypt().ciphertext_blob(ct).send().await.unwrap_err()),
        &format!("arn:aws:iam::{ACCOUNT}:user/nobody"),
        "Decrypt",
        &arn,
    );
    // Users need identity permission for CreateKey; the root does not.
    let e = err(alice.create_key().send().await.unwrap_err());
    assert_eq!(e.0, "AccessDeniedException");
    // An explicit deny in the identity policy wins over the allow.
    t.kms
        .admin()
        .put_user_policy(
            ACCOUNT,
            "alice",
            "deny",
            r#"{"Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
        )
        .await
        .unwrap();
    let ct = alice
        .encrypt()
        .key_id(key.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let e = err(alice.decrypt().ciphertext_blob(ct).send().await.unwrap_err());
    assert!(e.1.ends_with("with an explicit deny in an identity-based policy"), "{}", e.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_context_conditions() {
    let t = start().await;
    let admin = t.client();
    let app = format!("arn:aws:iam::{ACCOUNT}:user/app");
    let policy = format!(
        r#"{{"Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"{app}"}},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
          "Condition":{{"StringEquals":{{"kms:EncryptionContext:tenant":"blue"}},"ForAllValues:StringEquals":{{"kms:EncryptionContextKeys":["tenant","purpose"]}}}}}}]}}"#
    );
    let key = admin.create_key().policy(policy).send().await.unwrap().key_metadata.unwrap();
    let c = user(&t, ACCOUNT, "app", None).await;
    let ct = c
        .encrypt()
        .key_id(key.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_context("tenant", "blue")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    c.decrypt().ciphertext_blob(ct).encryption_context("tenant", "blue").send().await.unwrap();
    assert_eq!(
        err(c
            .encrypt()
            .key_id(key.key_id())
            .plaintext(Blob::new(b"x".to_vec()))
            .encryption_context("tenant", "red")
            .send()
            .await
            .unwrap_err())
        .0,
        "AccessDeniedException"
    );
    assert_eq!(
        err(c
            .encrypt()
            .key_id(key.key_id())
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await
            .unwrap_err())
        .0,
        "AccessDeniedException"
    );
    let extra = c
        .encrypt()
        .key_id(key.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_context("tenant", "blue")
        .encryption_context("other", "1")
        .send()
        .await;
    assert_eq!(err(extra.unwrap_err()).0, "AccessDeniedException");
}

/// A key whose policy lets account OTHER use it (Encrypt, Decrypt, DescribeKey and, in vain,
/// GetParametersForImport), and a ciphertext OTHER's root made with it.
struct Shared {
    t: TestServer,
    admin: aws_sdk_kms::Client,
    other_root: aws_sdk_kms::Client,
    key_id: String,
    arn: String,
    ct: Blob,
}

async fn shared() -> Shared {
    let t = start().await;
    let admin = t.client();
    let policy = format!(
        r#"{{"Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey","kms:GetParametersForImport"],"Resource":"*"}}]}}"#
    );
    let key = admin.create_key().policy(&policy).send().await.unwrap().key_metadata.unwrap();
    let arn = key.arn().unwrap().to_string();
    let other_root = root_of(&t, OTHER).await;
    let ct = other_root.encrypt().key_id(&arn).plaintext(Blob::new(b"shared".to_vec())).send();
    let ct = ct.await.unwrap().ciphertext_blob.unwrap();
    Shared { key_id: key.key_id().to_string(), t, admin, other_root, arn, ct }
}

async fn plaintext(c: &aws_sdk_kms::Client, ct: &Blob) -> Result<Vec<u8>, (String, String)> {
    let d = c.decrypt().ciphertext_blob(ct.clone()).send().await.map_err(err)?;
    Ok(d.plaintext().unwrap().as_ref().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_uses_a_key_by_its_arn_and_a_bare_id_names_its_own() {
    let s = shared().await;
    assert_eq!(plaintext(&s.admin, &s.ct).await.unwrap(), b"shared");
    assert_eq!(plaintext(&s.other_root, &s.ct).await.unwrap(), b"shared");
    let e = err(s.other_root.describe_key().key_id(&s.key_id).send().await.unwrap_err());
    assert_eq!(e.0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_another_account_also_needs_its_identity_policy() {
    let s = shared().await;
    let bare = user(&s.t, OTHER, "bare", None).await;
    assert_eq!(plaintext(&bare, &s.ct).await.unwrap_err().0, "AccessDeniedException");
    let arn = &s.arn;
    let policy = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{arn}"}}]}}"#
    );
    let allowed = user(&s.t, OTHER, "allowed", Some(&policy)).await;
    assert_eq!(plaintext(&allowed, &s.ct).await.unwrap(), b"shared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_deletion_are_never_cross_account_whatever_the_policy() {
    let s = shared().await;
    let e = err(s
        .other_root
        .get_parameters_for_import()
        .key_id(&s.arn)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap_err());
    denied(e, &format!("arn:aws:iam::{OTHER}:root"), "GetParametersForImport", &s.arn);
    let e = err(s.other_root.schedule_key_deletion().key_id(&s.arn).send().await.unwrap_err());
    assert_eq!(e.0, "AccessDeniedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_key_policy_validates_and_prevents_lockout() {
    let t = start().await;
    let admin = t.client();
    let key = admin.create_key().send().await.unwrap().key_metadata.unwrap();
    let e = err(admin
        .put_key_policy()
        .key_id(key.key_id())
        .policy(r#"{"Statement":[{"Effect":"Sometimes"}]}"#)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "MalformedPolicyDocumentException");
    let lockout = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/someone"},"Action":"kms:*","Resource":"*"}]}"#;
    let e =
        err(admin.put_key_policy().key_id(key.key_id()).policy(lockout).send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "MalformedPolicyDocumentException".into(),
            "The new key policy will not allow you to update the key policy in the future.".into()
        )
    );
    admin
        .put_key_policy()
        .key_id(key.key_id())
        .policy(lockout)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .unwrap();
    // Now even the account root is locked out, as in AWS.
    assert_eq!(
        err(admin.describe_key().key_id(key.key_id()).send().await.unwrap_err()).0,
        "AccessDeniedException"
    );
    let e = err(admin.create_key().policy(lockout).send().await.unwrap_err());
    assert_eq!(e.0, "MalformedPolicyDocumentException");
}

/// A key, two ciphertexts under it (contexts dept=eng and dept=ops) and a user with no policy
/// who is to be the grantee.
struct Grants {
    t: TestServer,
    admin: aws_sdk_kms::Client,
    key_id: String,
    grantee_arn: String,
    grantee: aws_sdk_kms::Client,
    eng: Blob,
    ops: Blob,
}

async fn grants() -> Grants {
    let t = start().await;
    let admin = t.client();
    let key = admin.create_key().send().await.unwrap().key_metadata.unwrap();
    let grantee = user(&t, ACCOUNT, "grantee", None).await;
    let encrypt = |dept: &'static str| {
        admin
            .encrypt()
            .key_id(key.key_id())
            .plaintext(Blob::new(dept.as_bytes().to_vec()))
            .encryption_context("dept", dept)
            .send()
    };
    let eng = encrypt("eng").await.unwrap().ciphertext_blob.unwrap();
    let ops = encrypt("ops").await.unwrap().ciphertext_blob.unwrap();
    Grants {
        key_id: key.key_id().to_string(),
        grantee_arn: format!("arn:aws:iam::{ACCOUNT}:user/grantee"),
        admin,
        grantee,
        eng,
        ops,
        t,
    }
}

impl Grants {
    /// The eng-decrypt grant: Decrypt, with dept=eng, retirable by the account.
    async fn eng_grant(&self) -> aws_sdk_kms::operation::create_grant::CreateGrantOutput {
        self.admin
            .create_grant()
            .key_id(&self.key_id)
            .grantee_principal(&self.grantee_arn)
            .retiring_principal(format!("arn:aws:iam::{ACCOUNT}:root"))
            .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
            .constraints(
                aws_sdk_kms::types::GrantConstraints::builder()
                    .encryption_context_subset("dept", "eng")
                    .build(),
            )
            .name("eng-decrypt")
            .send()
            .await
            .unwrap()
    }

    /// The grantee's Decrypt of `ct` with dept=`dept`: the plaintext or the error type.
    async fn decrypt(&self, ct: &Blob, dept: &str) -> Result<Vec<u8>, String> {
        match self
            .grantee
            .decrypt()
            .ciphertext_blob(ct.clone())
            .encryption_context("dept", dept)
            .send()
            .await
        {
            Ok(out) => Ok(out.plaintext().unwrap().as_ref().to_vec()),
            Err(e) => Err(err(e).0),
        }
    }
}

const DENIED: &str = "AccessDeniedException";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grant_the_grantee_is_refused() {
    let g = grants().await;
    assert_eq!(g.decrypt(&g.eng, "eng").await, Err(DENIED.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_grant_is_created_once() {
    let g = grants().await;
    let first = g.eng_grant().await;
    let again = g.eng_grant().await;
    assert_eq!(again.grant_id(), first.grant_id());
    let listed = g.admin.list_grants().key_id(&g.key_id).send().await.unwrap();
    assert_eq!(listed.grants().len(), 1);
    assert_eq!(listed.grants()[0].grantee_principal(), Some(g.grantee_arn.as_str()));
    assert_eq!(listed.grants()[0].name(), Some("eng-decrypt"));
    let retirable = g
        .admin
        .list_retirable_grants()
        .retiring_principal(format!("arn:aws:iam::{ACCOUNT}:root"))
        .send()
        .await
        .unwrap();
    assert_eq!(retirable.grants().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_allows_its_operations_under_its_constraints_and_nothing_else() {
    let g = grants().await;
    g.eng_grant().await;
    assert_eq!(g.decrypt(&g.eng, "eng").await, Ok(b"eng".to_vec()));
    assert_eq!(g.decrypt(&g.ops, "ops").await, Err(DENIED.into()), "outside the constraint");
    let e = g
        .grantee
        .encrypt()
        .key_id(&g.key_id)
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_context("dept", "eng")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).0, DENIED, "an operation the grant does not list");
}

/// Grants are cached per key: a change is in force at the next call all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_change_is_in_force_at_the_next_call() {
    let g = grants().await;
    let grant = g.eng_grant().await;
    for _ in 0..3 {
        assert_eq!(g.decrypt(&g.eng, "eng").await, Ok(b"eng".to_vec()));
    }
    g.admin.retire_grant().grant_token(grant.grant_token().unwrap()).send().await.unwrap();
    assert_eq!(g.decrypt(&g.eng, "eng").await, Err(DENIED.into()), "retired");
    let grant = g.eng_grant().await;
    assert_eq!(g.decrypt(&g.eng, "eng").await, Ok(b"eng".to_vec()), "granted again");
    let revoke = g.admin.revoke_grant().key_id(&g.key_id).grant_id(grant.grant_id().unwrap());
    revoke.send().await.unwrap();
    assert_eq!(g.decrypt(&g.eng, "eng").await, Err(DENIED.into()), "revoked");
    let stats = g.t.kms.stats();
    let (_, counts) = stats.caches.iter().find(|(name, _)| *name == "grants").unwrap();
    assert!(counts.hits >= 2, "the repeated calls were served from the cache: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_grant_allows_nothing() {
    let g = grants().await;
    let grant = g.eng_grant().await;
    g.admin.retire_grant().grant_token(grant.grant_token().unwrap()).send().await.unwrap();
    assert_eq!(g.decrypt(&g.eng, "eng").await, Err(DENIED.into()));
    assert!(g.admin.list_grants().key_id(&g.key_id).send().await.unwrap().grants().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_allows_nothing_and_is_then_not_found() {
    let g = grants().await;
    let grant = g
        .admin
        .create_grant()
        .key_id(&g.key_id)
        .grantee_principal(&g.grantee_arn)
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    assert_eq!(g.decrypt(&g.eng, "eng").await, Ok(b"eng".to_vec()));
    let revoke =
        || g.admin.revoke_grant().key_id(&g.key_id).grant_id(grant.grant_id().unwrap()).send();
    revoke().await.unwrap();
    assert_eq!(g.decrypt(&g.eng, "eng").await, Err(DENIED.into()));
    assert_eq!(err(revoke().await.unwrap_err()).0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_operations_must_fit_the_key() {
    let g = grants().await;
    let e = err(g
        .admin
        .create_grant()
        .key_id(&g.key_id)
        .grantee_principal(&g.grantee_arn)
        .operations(aws_sdk_kms::types::GrantOperation::Sign)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
}

/// One allowing and one denying request for more condition keys.
/// A grantee that got CreateGrant from a grant may create grants with some or all of its
/// operations and constraints at least as strict ("Granting CreateGrant permission", AWS KMS
/// developer guide); the constraint does not apply to DescribeKey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_grants_are_no_wider_than_their_parent() {
    use aws_sdk_kms::types::{GrantConstraints, GrantOperation as G};
    let t = start().await;
    let admin = t.client();
    let key = admin.create_key().send().await.unwrap().key_metadata.unwrap();
    let parent = user(&t, ACCOUNT, "parent", None).await;
    let child = format!("arn:aws:iam::{ACCOUNT}:user/child");
    let eq = |pairs: &[(&str, &str)]| {
        let mut b = GrantConstraints::builder();
        for (k, v) in pairs {
            b = b.encryption_context_equals(*k, *v);
        }
        b.build()
    };
    let sub = |pairs: &[(&str, &str)]| {
        let mut b = GrantConstraints::builder();
        for (k, v) in pairs {
            b = b.encryption_context_subset(*k, *v);
        }
        b.build()
    };
    let grant = |c: &aws_sdk_kms::Client, ops: &[G], cons: Option<GrantConstraints>, to: &str| {
        c.create_grant()
            .key_id(key.key_id())
            .grantee_principal(to)
            .set_operations(Some(ops.to_vec()))
            .set_constraints(cons)
            .send()
    };
    let parent_arn = format!("arn:aws:iam::{ACCOUNT}:user/parent");
    grant(
        &admin,
        &[G::CreateGrant, G::Decrypt, G::DescribeKey],
        Some(eq(&[("app", "a")])),
        &parent_arn,
    )
    .await
    .unwrap();
    // DescribeKey is allowed although it carries no encryption context.
    parent.describe_key().key_id(key.key_id()).send().await.unwrap();
    // As strict, with a subset of the operations: allowed.
    grant(&parent, &[G::Decrypt], Some(eq(&[("app", "a")])), &child).await.unwrap();
    grant(&parent, &[G::CreateGrant, G::Decrypt], Some(eq(&[("app", "a")])), &child).await.unwrap();
    // Wider: no constraint, another constraint, or an operation the parent lacks.
    for (ops, cons) in [
        (vec![G::Decrypt], None),
        (vec![G::Decrypt], Some(eq(&[("app", "b")]))),
        (vec![G::Decrypt], Some(sub(&[("app", "a")]))),
        (vec![G::Decrypt, G::Encrypt], Some(eq(&[("app", "a")]))),
    ] {
        let e = err(grant(&parent, &ops, cons.clone(), &child).await.unwrap_err());
        assert_eq!(e.0, "AccessDeniedException", "{ops:?} {cons:?}: {}", e.1);
    }
    // Under an EncryptionContextSubset parent: more pairs, or Equals holding them, are stricter.
    let subparent = user(&t, ACCOUNT, "subparent", None).await;
    let subparent_arn = format!("arn:aws:iam::{ACCOUNT}:user/subparent");
    grant(&admin, &[G::CreateGrant, G::Decrypt], Some(sub(&[("app", "a")])), &subparent_arn)
        .await
        .unwrap();
    grant(&subparent, &[G::Decrypt], Some(sub(&[("app", "a"), ("env", "prod")])), &child)
        .await
        .unwrap();
    grant(&subparent, &[G::Decrypt], Some(eq(&[("app", "a"), ("env", "prod")])), &child)
        .await
        .unwrap();
    let e = err(grant(&subparent, &[G::Decrypt], Some(sub(&[("env", "prod")])), &child)
        .await
        .unwrap_err());
    assert_eq!(e.0, "AccessDeniedException", "{}", e.1);
}

/// CreateKey API: "To use the Tags parameter, kms:TagResource (IAM policy)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_with_tags_also_needs_tag_resource() {
    let t = start().await;
    let maker = user(
        &t,
        ACCOUNT,
        "maker",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}"#),
    )
    .await;
    maker.create_key().send().await.unwrap();
    let tag = aws_sdk_kms::types::Tag::builder().tag_key("team").tag_value("a").build().unwrap();
    let e = err(maker.create_key().tags(tag.clone()).send().await.unwrap_err());
    assert_eq!(e.0, "AccessDeniedException");
    assert!(e.1.contains("kms:TagResource"), "{}", e.1);
    t.kms
        .admin()
        .put_user_policy(
            ACCOUNT,
            "maker",
            "tags",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:TagResource","Resource":"*"}]}"#,
        )
        .await
        .unwrap();
    maker.create_key().tags(tag).send().await.unwrap();
}

/// Identity policies are cached (a user's call reads no store), and a change of them is in
/// force from the next call: the cache never serves a policy older than the one acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_policy_change_is_in_force_at_the_next_call() {
    let t = start().await;
    let key = t.client().create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}"#;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Encrypt","Resource":"*"}]}"#;
    let c = user(&t, ACCOUNT, "cached", Some(allow)).await;
    let encrypt =
        || c.encrypt().key_id(&key).plaintext(aws_sdk_kms::primitives::Blob::new("x")).send();
    for _ in 0..3 {
        encrypt().await.unwrap();
    }
    let admin = t.kms.admin();
    admin.put_user_policy(ACCOUNT, "cached", "inline", deny).await.unwrap();
    assert_eq!(err(encrypt().await.unwrap_err()).0, "AccessDeniedException");
    admin.put_user_policy(ACCOUNT, "cached", "inline", allow).await.unwrap();
    encrypt().await.unwrap();
    admin.delete_user_policy(ACCOUNT, "cached", "inline").await.unwrap();
    assert_eq!(err(encrypt().await.unwrap_err()).0, "AccessDeniedException");
    let stats = t.kms.stats();
    let (_, counts) = stats.caches.iter().find(|(name, _)| *name == "identity_policies").unwrap();
    assert!(counts.hits >= 2, "the repeated calls were served from the cache: {counts:?}");
}

/// CloudTrail delivers a call made with another account's key to both accounts (one record
/// each, one `sharedEventID`); a refused one only to the caller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_account_call_is_recorded_in_both_accounts_and_a_refused_one_in_the_callers() {
    let s = shared().await;
    let by_other = |name: &str| -> Vec<serde_json::Value> {
        let events = s.t.events_named(name);
        events.into_iter().filter(|e| e["userIdentity"]["accountId"] == OTHER).collect()
    };
    let encrypt = by_other("Encrypt");
    assert_eq!(encrypt.len(), 2, "{encrypt:?}");
    let recipients: Vec<_> = encrypt.iter().map(|e| e["recipientAccountId"].clone()).collect();
    assert_eq!(recipients, [OTHER, ACCOUNT]);
    assert_eq!(encrypt[0]["sharedEventID"], encrypt[1]["sharedEventID"]);
    assert!(encrypt[0]["sharedEventID"].is_string());
    assert_ne!(encrypt[0]["eventID"], encrypt[1]["eventID"]);
    assert_eq!(encrypt[0]["requestID"], encrypt[1]["requestID"]);
    assert_eq!(encrypt[1]["resources"][0]["ARN"], s.arn.as_str());

    let bare = user(&s.t, OTHER, "bare", None).await;
    assert_eq!(plaintext(&bare, &s.ct).await.unwrap_err().0, "AccessDeniedException");
    let refused: Vec<_> =
        by_other("Decrypt").into_iter().filter(|e| e["errorCode"].is_string()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["recipientAccountId"], OTHER);
    assert!(refused[0].get("sharedEventID").is_none());
}
