//! Authorization for every operation, generated from the operation list: (a) a user with no
//! policy is refused every operation and nothing changes; (b) a user allowed only on key A
//! can neither read nor change key B through any operation, alias operations included,
//! while the same calls on A pass authorization; (c) another account without a key-policy
//! grant is refused every operation on this account's keys. `request` is an exhaustive match
//! over `Operation`, so an operation added without its case does not compile.

use crate::common::*;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trent_types::Operation;

const OTHER: &str = "444455556666";
const REGION: &str = "us-east-1";

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What one request acts on.
#[derive(Clone)]
pub(crate) struct On {
    /// How the request names the key (id or ARN).
    key: String,
    /// A ciphertext under that key.
    ciphertext: String,
    /// An existing alias pointing at the key (UpdateAlias, DeleteAlias).
    alias: String,
    /// A new alias name (CreateAlias).
    new_alias: String,
    /// The other key of a two-key request: UpdateAlias's new key, ReEncrypt's destination.
    second_key: String,
    /// A grant on the key (RetireGrant, RevokeGrant).
    grant_token: String,
    grant_id: String,
    /// The retiring principal ListRetirableGrants asks about.
    principal: String,
}

/// A valid request of `op` acting on `on`. Exhaustive: a new operation needs its case here.
pub(crate) fn request(op: Operation, on: &On) -> Value {
    use Operation as O;
    let k = on.key.as_str();
    match op {
        O::CancelKeyDeletion
        | O::DeleteImportedKeyMaterial
        | O::DescribeKey
        | O::DisableKey
        | O::DisableKeyRotation
        | O::EnableKey
        | O::EnableKeyRotation
        | O::GetKeyLastUsage
        | O::GetKeyPolicy
        | O::GetKeyRotationStatus
        | O::GetPublicKey
        | O::ListGrants
        | O::ListKeyPolicies
        | O::ListKeyRotations
        | O::ListResourceTags
        | O::RotateKeyOnDemand => json!({ "KeyId": k }),
        O::ConnectCustomKeyStore
        | O::DeleteCustomKeyStore
        | O::DisconnectCustomKeyStore
        | O::UpdateCustomKeyStore => json!({ "CustomKeyStoreId": "cks-1234567890abcdef0" }),
        O::CreateCustomKeyStore => json!({ "CustomKeyStoreName": "store" }),
        O::DescribeCustomKeyStores | O::CreateKey | O::ListKeys | O::ListAliases => json!({}),
        O::CreateAlias => json!({ "AliasName": on.new_alias, "TargetKeyId": k }),
        O::UpdateAlias => json!({ "AliasName": on.alias, "TargetKeyId": on.second_key }),
        O::DeleteAlias => json!({ "AliasName": on.alias }),
        O::CreateGrant => json!({
            "KeyId": k,
            "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/grantee"),
            "Operations": ["Decrypt"]
        }),
        O::ListRetirableGrants => json!({ "RetiringPrincipal": on.principal }),
        O::RetireGrant => json!({ "GrantToken": on.grant_token }),
        O::RevokeGrant => json!({ "KeyId": k, "GrantId": on.grant_id }),
        O::Encrypt => json!({ "KeyId": k, "Plaintext": b64(b"secret") }),
        O::Decrypt => json!({ "CiphertextBlob": on.ciphertext }),
        O::ReEncrypt => {
            json!({ "CiphertextBlob": on.ciphertext, "DestinationKeyId": on.second_key })
        }
        O::GenerateDataKey | O::GenerateDataKeyWithoutPlaintext => {
            json!({ "KeyId": k, "KeySpec": "AES_256" })
        }
        O::GenerateDataKeyPair | O::GenerateDataKeyPairWithoutPlaintext => {
            json!({ "KeyId": k, "KeyPairSpec": "ECC_NIST_P256" })
        }
        O::GenerateRandom => json!({ "NumberOfBytes": 16 }),
        O::Sign => json!({
            "KeyId": k, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"
        }),
        O::Verify => json!({
            "KeyId": k, "Message": b64(b"m"), "Signature": b64(&[1; 64]),
            "SigningAlgorithm": "ECDSA_SHA_256"
        }),
        O::GenerateMac => {
            json!({ "KeyId": k, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256" })
        }
        O::VerifyMac => json!({
            "KeyId": k, "Message": b64(b"m"), "Mac": b64(&[1; 32]), "MacAlgorithm": "HMAC_SHA_256"
        }),
        O::DeriveSharedSecret => json!({
            "KeyId": k, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64(&[4; 65])
        }),
        O::Encapsulate => json!({ "KeyId": k, "EncapsulationAlgorithm": "ML_KEM" }),
        O::Decapsulate => json!({
            "KeyId": k, "EncapsulationAlgorithm": "ML_KEM",
            "SharedSecretCiphertextBlob": b64(&[1; 768])
        }),
        O::GetParametersForImport => json!({
            "KeyId": k, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"
        }),
        O::ImportKeyMaterial => json!({
            "KeyId": k, "ImportToken": b64(&[1; 64]), "EncryptedKeyMaterial": b64(&[1; 256]),
            "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"
        }),
        O::PutKeyPolicy => json!({
            "KeyId": k,
            "Policy": format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#)
        }),
        O::ReplicateKey => json!({ "KeyId": k, "ReplicaRegion": "us-west-2" }),
        O::UpdatePrimaryRegion => json!({ "KeyId": k, "PrimaryRegion": "us-west-2" }),
        O::ScheduleKeyDeletion => json!({ "KeyId": k, "PendingWindowInDays": 7 }),
        O::TagResource => json!({ "KeyId": k, "Tags": [{ "TagKey": "t", "TagValue": "v" }] }),
        O::UntagResource => json!({ "KeyId": k, "TagKeys": ["t"] }),
        O::UpdateKeyDescription => json!({ "KeyId": k, "Description": "changed" }),
    }
}

/// Everything a caller could change in the account, to compare before and after.
async fn snapshot(t: &TestServer) -> BTreeMap<String, String> {
    let s = t.kms.store();
    let mut out = BTreeMap::new();
    // The replica Region of ReplicateKey's and UpdatePrimaryRegion's requests too.
    for region in [REGION, "us-west-2"] {
        for k in s.list_keys(ACCOUNT, region, None, 1000).await.unwrap() {
            let grants = s.list_grants(&k.key).await.unwrap();
            let mats = s.get_materials(&k.key).await.unwrap();
            let name = format!("key {region} {}", k.key.key_id);
            out.insert(name, format!("{k:?} {grants:?} {mats:?}"));
        }
    }
    for a in s.list_aliases(ACCOUNT, REGION, None, None, 1000).await.unwrap() {
        out.insert(format!("alias {}", a.name), format!("{a:?}"));
    }
    out
}

struct Caller {
    akid: String,
    secret: String,
}

async fn user(t: &TestServer, account: &str, name: &str, policy: Option<&str>) -> Caller {
    t.kms.admin().create_user(account, name).await.unwrap();
    if let Some(p) = policy {
        t.kms.admin().put_user_policy(account, name, "inline", p).await.unwrap();
    }
    let k = t.kms.admin().create_user_access_key(account, Some(name)).await.unwrap();
    Caller {
        akid: k.access_key_id,
        secret: String::from_utf8(k.secret_access_key.as_bytes().to_vec()).unwrap(),
    }
}

async fn root_of(t: &TestServer, account: &str) -> Caller {
    let k = t.kms.admin().create_account(account, None).await.unwrap();
    Caller {
        akid: k.access_key_id,
        secret: String::from_utf8(k.secret_access_key.as_bytes().to_vec()).unwrap(),
    }
}

async fn call(t: &TestServer, who: &Caller, op: Operation, body: &Value) -> (u16, Value) {
    t.raw_as(&who.akid, &who.secret, op.name(), body.to_string().as_bytes()).await
}

fn error_type(v: &Value) -> &str {
    v.get("__type").and_then(|t| t.as_str()).unwrap_or("")
}

/// The account's keys A and B, their ciphertexts, aliases and a grant on each.
pub(crate) struct Fixture {
    pub(crate) a: String,
    b: String,
    ct_a: String,
    ct_b: String,
    grant_a: (String, String),
    grant_b: (String, String),
}

async fn root_call(t: &TestServer, target: &str, body: Value) -> Value {
    let (status, v) = t.raw(target, body.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{target}: {v}");
    v
}

pub(crate) async fn fixture(t: &TestServer) -> Fixture {
    let mut keys = Vec::new();
    for _ in 0..2 {
        let v = root_call(t, "CreateKey", json!({})).await;
        keys.push(v["KeyMetadata"]["Arn"].as_str().unwrap().to_string());
    }
    let (a, b) = (keys[0].clone(), keys[1].clone());
    let mut cts = Vec::new();
    let mut grants = Vec::new();
    for k in [&a, &b] {
        let v = root_call(t, "Encrypt", json!({ "KeyId": k, "Plaintext": b64(b"payload") })).await;
        cts.push(v["CiphertextBlob"].as_str().unwrap().to_string());
        let g = root_call(
            t,
            "CreateGrant",
            json!({ "KeyId": k, "Operations": ["Decrypt"],
                    "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/someone") }),
        )
        .await;
        grants.push((
            g["GrantToken"].as_str().unwrap().to_string(),
            g["GrantId"].as_str().unwrap().to_string(),
        ));
    }
    for (name, k) in [("alias/a-1", &a), ("alias/b", &b), ("alias/a-onb", &b)] {
        root_call(t, "CreateAlias", json!({ "AliasName": name, "TargetKeyId": k })).await;
    }
    Fixture {
        a,
        b,
        ct_a: cts[0].clone(),
        ct_b: cts[1].clone(),
        grant_a: grants[0].clone(),
        grant_b: grants[1].clone(),
    }
}

impl Fixture {
    /// Requests that act on key B (and, for two-key requests, on B in either role).
    fn on_b(&self, op: Operation, principal: &str) -> Vec<On> {
        let base = On {
            key: self.b.clone(),
            ciphertext: self.ct_b.clone(),
            alias: "alias/a-onb".into(),
            new_alias: "alias/a-new".into(),
            second_key: self.a.clone(),
            grant_token: self.grant_b.0.clone(),
            grant_id: self.grant_b.1.clone(),
            principal: principal.into(),
        };
        match op {
            // B as the current target, then B as the new target.
            Operation::UpdateAlias => vec![
                base.clone(),
                On { alias: "alias/a-1".into(), second_key: self.b.clone(), ..base },
            ],
            // B as the source, then B as the destination.
            Operation::ReEncrypt => vec![
                base.clone(),
                On { ciphertext: self.ct_a.clone(), second_key: self.b.clone(), ..base },
            ],
            _ => vec![base],
        }
    }

    pub(crate) fn on_a(&self, principal: &str) -> On {
        On {
            key: self.a.clone(),
            ciphertext: self.ct_a.clone(),
            alias: "alias/a-1".into(),
            new_alias: "alias/a-new".into(),
            second_key: self.a.clone(),
            grant_token: self.grant_a.0.clone(),
            grant_id: self.grant_a.1.clone(),
            principal: principal.into(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_policies_is_refused_every_operation_and_nothing_changes() {
    let t = start().await;
    let f = fixture(&t).await;
    let nobody = user(&t, ACCOUNT, "nobody", None).await;
    let me = format!("arn:aws:iam::{ACCOUNT}:user/nobody");
    let before = snapshot(&t).await;
    for op in Operation::ALL {
        for on in f.on_b(*op, &me) {
            let body = request(*op, &on);
            let (status, v) = call(&t, &nobody, *op, &body).await;
            assert_eq!(
                (status, error_type(&v)),
                (400, "AccessDeniedException"),
                "{op:?} {body}: {v}"
            );
        }
    }
    assert_eq!(snapshot(&t).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_allowed_on_key_a_cannot_reach_key_b_through_any_operation() {
    let t = start().await;
    let f = fixture(&t).await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"kms:*","Resource":["{}","arn:aws:kms:{REGION}:{ACCOUNT}:alias/a-*"]}}]}}"#,
        f.a
    );
    let onlya = user(&t, ACCOUNT, "onlya", Some(&policy)).await;
    let me = format!("arn:aws:iam::{ACCOUNT}:user/onlya");
    let before = snapshot(&t).await;
    for op in Operation::ALL {
        for on in f.on_b(*op, &me) {
            let body = request(*op, &on);
            let (status, v) = call(&t, &onlya, *op, &body).await;
            assert_eq!(
                (status, error_type(&v)),
                (400, "AccessDeniedException"),
                "{op:?} {body}: {v}"
            );
        }
    }
    assert_eq!(snapshot(&t).await, before, "a refused call changed something");
    // The same calls on A pass authorization (whatever the operation then answers), so the
    // refusals above are about B. Operations on no key need a policy on "*", which this
    // user lacks — ReplicateKey too, for kms:CreateKey in the replica Region.
    for op in Operation::ALL {
        let body = request(*op, &f.on_a(&me));
        let (_, v) = call(&t, &onlya, *op, &body).await;
        let refused = error_type(&v) == "AccessDeniedException";
        let resources = op.spec().resources;
        let needs_star = !resources.names_a_key()
            || resources == trent_types::Resources::PrimaryAndReplicaRegion;
        assert_eq!(refused, needs_star, "{op:?} {body}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_account_without_a_key_policy_grant_is_refused() {
    let t = start().await;
    let f = fixture(&t).await;
    let other = root_of(&t, OTHER).await;
    let as_other = |op: Operation, body: Value| {
        let other = &other;
        let t = &t;
        async move {
            let (s, v) = call(t, other, op, &body).await;
            assert_eq!(s, 200, "{op:?}: {v}");
            v
        }
    };
    // The other account's own key, a ciphertext under it and two aliases of its own.
    let own = as_other(Operation::CreateKey, json!({})).await["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    let ct_own = as_other(Operation::Encrypt, json!({ "KeyId": own, "Plaintext": b64(b"x") }))
        .await["CiphertextBlob"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["alias/mine", "alias/doomed"] {
        as_other(Operation::CreateAlias, json!({ "AliasName": name, "TargetKeyId": own })).await;
    }
    let before = snapshot(&t).await;
    let base = On {
        key: f.b.clone(),
        ciphertext: f.ct_b.clone(),
        alias: "alias/mine".into(),
        new_alias: "alias/new".into(),
        second_key: own.clone(),
        grant_token: f.grant_b.0.clone(),
        grant_id: f.grant_b.1.clone(),
        principal: format!("arn:aws:iam::{ACCOUNT}:user/someone"),
    };
    for op in Operation::ALL {
        let cases = match op {
            // Its own alias moved onto this account's key B.
            Operation::UpdateAlias => vec![On { second_key: f.b.clone(), ..base.clone() }],
            // From B to its own key, and from its own key to B.
            Operation::ReEncrypt => vec![
                base.clone(),
                On { ciphertext: ct_own.clone(), second_key: f.b.clone(), ..base.clone() },
            ],
            Operation::DeleteAlias => vec![On { alias: "alias/doomed".into(), ..base.clone() }],
            _ => vec![base.clone()],
        };
        for on in cases {
            let body = request(*op, &on);
            let (status, v) = call(&t, &other, *op, &body).await;
            let names_this_account =
                op.spec().resources.names_a_key() || *op == Operation::ListRetirableGrants;
            if *op == Operation::DeleteAlias {
                // An alias name is always the caller's own alias.
                assert_eq!(status, 200, "{v}");
            } else if names_this_account {
                assert_eq!(
                    (status, error_type(&v)),
                    (400, "AccessDeniedException"),
                    "{op:?} {body}: {v}"
                );
            } else {
                // Operations on no key act on the caller's own account.
                let text = v.to_string();
                for k in [&f.a, &f.b] {
                    let id = k.rsplit('/').next().unwrap();
                    assert!(!text.contains(id), "{op:?} showed account {ACCOUNT}'s keys: {v}");
                }
            }
        }
    }
    assert_eq!(snapshot(&t).await, before, "another account changed this one");
}

/// The hijack of the issue: a user allowed UpdateAlias and Decrypt on her own key re-points
/// an alias of a key she may not use, so that the application encrypts to her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_cannot_be_moved_off_a_key_the_caller_may_not_use() {
    let t = start().await;
    let prod = root_call(&t, "CreateKey", json!({})).await["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    let own = root_call(&t, "CreateKey", json!({})).await["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    root_call(&t, "CreateAlias", json!({ "AliasName": "alias/prod", "TargetKeyId": prod })).await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["kms:UpdateAlias","kms:Decrypt"],"Resource":"{own}"}},
            {{"Effect":"Allow","Action":"kms:UpdateAlias","Resource":"arn:aws:kms:{REGION}:{ACCOUNT}:alias/*"}}]}}"#
    );
    let mallory = user(&t, ACCOUNT, "mallory", Some(&policy)).await;
    let (status, v) = call(
        &t,
        &mallory,
        Operation::UpdateAlias,
        &json!({ "AliasName": "alias/prod", "TargetKeyId": own }),
    )
    .await;
    assert_eq!((status, error_type(&v)), (400, "AccessDeniedException"), "{v}");
    assert!(v["message"].as_str().unwrap().contains(&prod), "names the current key: {v}");
    let alias = t.kms.store().get_alias(ACCOUNT, REGION, "alias/prod").await.unwrap().unwrap();
    assert!(prod.ends_with(&alias.target_key_id), "{alias:?}");
    // Nor may she delete it.
    let (_, v) =
        call(&t, &mallory, Operation::DeleteAlias, &json!({ "AliasName": "alias/prod" })).await;
    assert_eq!(error_type(&v), "AccessDeniedException", "{v}");
    assert!(t.kms.store().get_alias(ACCOUNT, REGION, "alias/prod").await.unwrap().is_some());
}
