//! What a tenant cannot get around, each case generated from the list it belongs to: an
//! explicit Deny holds in every partition (`trent_store::PARTITIONS`), every operation is
//! counted against its request quota (`Operation::ALL`), LookupEvents is throttled per
//! account, every resource quota is enforced (`ResourceQuota::ALL`), and the global condition
//! keys reach every API surface.

use crate::authz_matrix::{fixture, request};
use crate::common::*;
use serde_json::{json, Value};
use trent_core::quotas::{Profile, ResourceQuota, ResourceQuotas};
use trent_core::KmsConfig;
use trent_types::Operation;

const THROTTLED: &str =
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";
const LOOKUP: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// A Region of `partition`: its prefix and a Region name's usual shape.
fn region_of(prefix: &str) -> String {
    if prefix.is_empty() {
        "us-east-1".into()
    } else {
        format!("{prefix}east-1")
    }
}

fn error_type(v: &Value) -> &str {
    v.get("__type").and_then(|t| t.as_str()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_deny_holds_in_every_partition_and_credentials_stay_in_theirs() {
    let t = start().await;
    let partitions = trent_store::PARTITIONS;
    for (i, (partition, prefix)) in partitions.iter().enumerate() {
        assert_eq!(trent_store::partition_of(&region_of(prefix)), *partition);
        let account = format!("{:012}", 900_000_000_000u64 + i as u64);
        let (root_id, root_secret) = t.account_in(&account, partition).await;
        let region = region_of(prefix);
        let root = t.client_in(&region, &root_id, &root_secret);
        // A key anyone of the account may use (a common pattern), and alice, who may do
        // everything but Decrypt.
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account}}}]});
        let key = root.create_key().policy(policy.to_string()).send().await.unwrap();
        let key = key.key_metadata.unwrap();
        assert!(key.arn().unwrap().starts_with(&format!("arn:{partition}:kms:{region}:")));
        let admin = t.kms.admin();
        let alice = admin.create_user(&account, "alice").await.unwrap();
        assert_eq!(alice.arn(), format!("arn:{partition}:iam::{account}:user/alice"));
        let identity = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"kms:*","Resource":"*"},
            {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#;
        admin.put_user_policy(&account, "alice", "no-decrypt", identity).await.unwrap();
        let k = admin.create_user_access_key(&account, Some("alice")).await.unwrap();
        let secret = String::from_utf8(k.secret_access_key.as_bytes().to_vec()).unwrap();
        let as_alice = t.client_in(&region, &k.access_key_id, &secret);
        let blob = as_alice
            .encrypt()
            .key_id(key.key_id())
            .plaintext(aws_sdk_kms::primitives::Blob::new("x"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{partition}: the Allow: {:?}", err(e)))
            .ciphertext_blob
            .unwrap();
        let denied = as_alice.decrypt().ciphertext_blob(blob.clone()).send().await.unwrap_err();
        let (code, message) = err(denied);
        assert_eq!(code, "AccessDeniedException", "{partition}: {message}");
        assert!(message.contains("explicit deny in an identity-based policy"), "{message}");
        // In every other partition's Regions her credentials (and the root's) are unknown:
        // no Region she chooses takes her out of her policies.
        for (other, other_prefix) in partitions {
            if other == partition {
                continue;
            }
            let there = region_of(other_prefix);
            for (id, secret) in [(&k.access_key_id, &secret), (&root_id, &root_secret)] {
                let c = t.client_in(&there, id, secret);
                let e = c.decrypt().ciphertext_blob(blob.clone()).send().await.unwrap_err();
                let (code, message) = err(e);
                assert_eq!(
                    (code.as_str(), message.as_str()),
                    (
                        "UnrecognizedClientException",
                        "The security token included in the request is invalid."
                    ),
                    "{partition} credentials signed for {there}"
                );
            }
        }
    }
    // An account keeps its partition.
    let again = t.kms.admin().create_account("900000000001", Some("aws")).await.unwrap_err();
    assert_eq!(again.code(), trent_types::ErrorCode::AlreadyExistsException);
    let bad = t.kms.admin().create_account("123456789012", Some("aws-mars")).await.unwrap_err();
    assert_eq!(bad.code(), trent_types::ErrorCode::ValidationException);
}

/// With a quota of one call per thousand seconds, every operation's second call (the first,
/// for one that shares the cryptographic quota already spent) is throttled, with AWS's
/// answer: no operation escapes the one place calls are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_is_counted_against_its_request_quota() {
    let t = start().await;
    let f = fixture(&t).await;
    let me = format!("arn:aws:iam::{ACCOUNT}:root");
    t.kms.set_quota_profile(Profile::Fixed(0.001));
    for op in Operation::ALL {
        let body = request(*op, &f.on_a(&me));
        let mut answers = Vec::new();
        for _ in 0..2 {
            answers.push(t.raw(op.name(), body.to_string().as_bytes()).await);
        }
        let throttled: Vec<bool> =
            answers.iter().map(|(_, v)| error_type(v) == "ThrottlingException").collect();
        let own = trent_core::quotas::counted(*op) == trent_core::quotas::Counted::Own;
        if own {
            assert_eq!(throttled, [false, true], "{op:?}: {answers:?}");
        } else {
            assert!(throttled[1], "{op:?}: {answers:?}");
        }
        let (status, v) = answers.last().unwrap();
        assert_eq!((*status, v["message"].as_str()), (400, Some(THROTTLED)), "{op:?}");
    }
    // Another account, and the same account in another Region, are not held back.
    let (akid, secret) = t.account_in("444455556666", "aws").await;
    let (status, v) = t.raw_as(&akid, &secret, "ListKeys", b"{}").await;
    assert_eq!(status, 200, "{v}");
    let west = t.client_in("us-west-2", &t.creds.access_key_id, &t.secret());
    west.list_keys().send().await.unwrap();
    // The profile switched back: calls pass again.
    t.kms.set_quota_profile(Profile::Trent);
    let (status, v) = t.raw("ListKeys", b"{}").await;
    assert_eq!(status, 200, "{v}");
}

async fn lookup(t: &TestServer, akid: &str, secret: &str) -> (u16, Value) {
    let (status, _, v) = t.raw_for_service(akid, secret, "cloudtrail", LOOKUP, b"{}").await;
    (status, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_is_throttled_past_two_per_second_per_account() {
    let t = start().await;
    let (akid, secret) = (t.creds.access_key_id.clone(), t.secret());
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for _ in 0..6 {
        let (status, v) = lookup(&t, &akid, &secret).await;
        statuses.push(status);
        last = v;
    }
    assert_eq!(&statuses[..2], [200, 200], "{last}");
    assert!(statuses[2..].contains(&400), "{statuses:?}");
    assert_eq!(last["__type"], "ThrottlingException", "{last}");
    assert_eq!(last["message"], "Rate exceeded");
    // The throttled calls are in the trail too, as refused LookupEvents.
    let records = t.audit.0.lock().unwrap().clone();
    let refused = records
        .iter()
        .filter(|r| r["eventName"] == "LookupEvents" && r["errorCode"] == "ThrottlingException")
        .count();
    assert!(refused >= 1);
    // Another account's LookupEvents is not held back.
    let (other, other_secret) = t.account_in("444455556666", "aws").await;
    assert_eq!(lookup(&t, &other, &other_secret).await.0, 200);
    // Half a second later the account may read again.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(lookup(&t, &akid, &secret).await.0, 200);
}

/// A policy of `bytes` bytes (valid JSON, padded in its Sid).
fn policy_of(bytes: usize) -> String {
    let head = r#"{"Version":"2012-10-17","Statement":[{"Sid":""#;
    let tail = format!(
        r#"","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let pad = bytes - head.len() - tail.len();
    format!("{head}{}{tail}", "a".repeat(pad))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_policy_past_32_kb_is_refused_with_limit_exceeded() {
    let t = start().await;
    let c = t.client();
    for op in ["CreateKey", "PutKeyPolicy"] {
        let key = c.create_key().send().await.unwrap().key_metadata.unwrap();
        for (bytes, ok) in [(30_000, true), (32_768, true), (32_769, false), (40_000, false)] {
            let policy = policy_of(bytes);
            assert_eq!(policy.len(), bytes);
            let body = match op {
                "CreateKey" => json!({ "Policy": policy }),
                _ => json!({ "KeyId": key.key_id(), "Policy": policy }),
            };
            let (status, v) = t.raw(op, body.to_string().as_bytes()).await;
            if ok {
                assert_eq!(status, 200, "{op} {bytes}: {v}");
            } else {
                assert_eq!(error_type(&v), "LimitExceededException", "{op} {bytes}: {v}");
                assert!(v["message"].as_str().unwrap().contains("32768"), "{v}");
            }
        }
    }
}

/// Every resource quota, set to a small number, is enforced with AWS's error; `exceed` is an
/// exhaustive match, so a new quota needs its case here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_quota_is_enforced() {
    let mut config = KmsConfig::default();
    config.wrapping_pool.size_per_spec = 0;
    let mut quotas = ResourceQuotas::default();
    for q in ResourceQuota::ALL {
        quotas.set(q, if q == ResourceQuota::KeyPolicyBytes { 600 } else { 3 });
    }
    config.resource_quotas = quotas;
    let t = start_with(config).await;
    for q in ResourceQuota::ALL {
        let (refused, expected) = exceed(&t, q).await;
        assert_eq!(error_type(&refused), expected, "{q:?}: {refused}");
    }
}

async fn ok(t: &TestServer, target: &str, body: Value) -> Value {
    let (status, v) = t.raw(target, body.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{target} {body}: {v}");
    v
}

/// Takes quota `q` (set to 3, or 600 bytes) to its limit and one past it: the refusal and
/// the error it must be.
async fn exceed(t: &TestServer, q: ResourceQuota) -> (Value, &'static str) {
    let new_key = || async { ok(t, "CreateKey", json!({})).await["KeyMetadata"]["KeyId"].clone() };
    match q {
        ResourceQuota::KeysPerRegion => {
            // Other tests' keys live in us-east-1: count this Region from zero.
            let west = t.client_in("eu-west-3", &t.creds.access_key_id, &t.secret());
            for _ in 0..3 {
                west.create_key().send().await.unwrap();
            }
            let e = west.create_key().send().await.unwrap_err();
            (json!({ "__type": err(e).0 }), "LimitExceededException")
        }
        ResourceQuota::AliasesPerKey => {
            let key = new_key().await;
            for i in 0..3 {
                ok(
                    t,
                    "CreateAlias",
                    json!({ "AliasName": format!("alias/q{i}"), "TargetKeyId": key }),
                )
                .await;
            }
            let body = json!({ "AliasName": "alias/q3", "TargetKeyId": key });
            (t.raw("CreateAlias", body.to_string().as_bytes()).await.1, "LimitExceededException")
        }
        ResourceQuota::GrantsPerKey => {
            let key = new_key().await;
            let grant = json!({ "KeyId": key, "Operations": ["Decrypt"],
                "GranteePrincipal": format!("arn:aws:iam::{ACCOUNT}:user/g") });
            for _ in 0..3 {
                ok(t, "CreateGrant", grant.clone()).await;
            }
            (t.raw("CreateGrant", grant.to_string().as_bytes()).await.1, "LimitExceededException")
        }
        ResourceQuota::TagsPerKey => {
            let key = new_key().await;
            let tags: Vec<Value> =
                (0..3).map(|i| json!({ "TagKey": format!("t{i}"), "TagValue": "v" })).collect();
            ok(t, "TagResource", json!({ "KeyId": key, "Tags": tags })).await;
            let more = json!({ "KeyId": key, "Tags": [{ "TagKey": "t9", "TagValue": "v" }] });
            (t.raw("TagResource", more.to_string().as_bytes()).await.1, "TagException")
        }
        ResourceQuota::KeyPolicyBytes => {
            let body = json!({ "Policy": policy_of(601) });
            (t.raw("CreateKey", body.to_string().as_bytes()).await.1, "LimitExceededException")
        }
        ResourceQuota::CustomKeyStoresPerRegion => {
            // Three stores put straight into the store (this server reaches no proxy; the
            // quota is checked before the proxy is).
            for i in 0..3 {
                let c = trent_store::CustomKeyStoreRecord {
                    account: ACCOUNT.into(),
                    region: "us-east-1".into(),
                    id: format!("cks-{i:017}"),
                    version: 1,
                    name: format!("store-{i}"),
                    store_type: "EXTERNAL_KEY_STORE".into(),
                    created_ms: 1,
                    connectivity: "PUBLIC_ENDPOINT".into(),
                    uri_endpoint: "https://xks.example.com".into(),
                    uri_path: format!("/s{i}/kms/xks/v1"),
                    access_key_id: "ABCDEFGHIJKLMNOPQRST".into(),
                    sealed_secret: vec![0; 40],
                    connection_state: "DISCONNECTED".into(),
                    connection_error: None,
                };
                t.kms.store().create_custom_key_store(&c, 3).await.unwrap();
            }
            let body = json!({
                "CustomKeyStoreName": "store-3",
                "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                "XksProxyConnectivity": "PUBLIC_ENDPOINT",
                "XksProxyUriEndpoint": "https://xks.example.com",
                "XksProxyUriPath": "/s3/kms/xks/v1",
                "XksProxyAuthenticationCredential": {
                    "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
                    "RawSecretAccessKey": "a".repeat(43)
                }
            });
            let refused = t.raw("CreateCustomKeyStore", body.to_string().as_bytes()).await.1;
            (refused, "LimitExceededException")
        }
    }
}

/// The global condition keys are in every context: a Deny on `aws:SourceIp` or
/// `aws:CurrentTime` holds for LookupEvents (CloudTrail's surface) as for KMS's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_condition_keys_reach_lookup_events_and_kms_alike() {
    let t = start().await;
    let admin = t.kms.admin();
    admin.create_user(ACCOUNT, "reader").await.unwrap();
    let k = admin.create_user_access_key(ACCOUNT, Some("reader")).await.unwrap();
    let secret = String::from_utf8(k.secret_access_key.as_bytes().to_vec()).unwrap();
    let allow =
        r#"{"Effect":"Allow","Action":["cloudtrail:LookupEvents","kms:ListKeys"],"Resource":"*"}"#;
    let denies = [
        // Only from a network the test is not on.
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}"#,
        // Only after a date long past.
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2001-01-01T00:00:00Z"}}}"#,
        // Only over TLS (this server speaks plain HTTP).
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        // Only in another Region.
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}"#,
    ];
    for deny in denies {
        let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{allow},{deny}]}}"#);
        admin.put_user_policy(ACCOUNT, "reader", "p", &policy).await.unwrap();
        let (status, v) = lookup(&t, &k.access_key_id, &secret).await;
        assert_eq!((status, error_type(&v)), (400, "AccessDeniedException"), "{deny}: {v}");
        let (status, v) = t.raw_as(&k.access_key_id, &secret, "ListKeys", b"{}").await;
        assert_eq!((status, error_type(&v)), (400, "AccessDeniedException"), "{deny}: {v}");
    }
    let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{allow}]}}"#);
    admin.put_user_policy(ACCOUNT, "reader", "p", &policy).await.unwrap();
    assert_eq!(lookup(&t, &k.access_key_id, &secret).await.0, 200);
}

/// Only header signatures are accepted: a presigned query string (X-Amz-Signature in the
/// URL, which AWS bounds by X-Amz-Expires) authenticates nothing here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_query_string_is_not_a_signature() {
    let t = start().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let date = trent_sigv4::format_amz_date(now.as_secs() as i64);
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}%2F{}%2Fus-east-1%2Fkms%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
        t.creds.access_key_id,
        &date[..8],
        "0".repeat(64)
    );
    let req = format!(
        "POST /?{query} HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let (status, v) = http_exchange(t.addr, req.as_bytes()).await;
    assert_eq!((status, error_type(&v)), (400, "MissingAuthenticationTokenException"), "{v}");
}
