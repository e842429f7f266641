//! The audit record of every call, enumerated over every operation of the model: one record
//! per request, success or failure, with the request id the client saw, CloudTrail's
//! envelope, the resources authorized, and no secret the request or the answer carried.
//! Refused authentication is recorded too. The import ceremony's records are compared with
//! AWS's examples member by member.

use crate::authz_matrix::{b64, fixture, request};
use crate::common::*;
use serde_json::{json, Value};
use trent_types::Operation;

/// Members that carry secrets or blobs, in requests and answers: none may reach a record.
const SECRET_MEMBERS: &[&str] = &[
    "Plaintext",
    "CiphertextBlob",
    "Message",
    "Signature",
    "Mac",
    "PublicKey",
    "PrivateKeyPlaintext",
    "PrivateKeyCiphertextBlob",
    "SharedSecret",
    "SharedSecretCiphertextBlob",
    "CiphertextForRecipient",
    "ImportToken",
    "EncryptedKeyMaterial",
    "GrantToken",
];

/// The values of secret members anywhere in `v`.
fn secrets(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::String(s) if SECRET_MEMBERS.contains(&k.as_str()) => out.push(s.clone()),
                    _ => secrets(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| secrets(x, out)),
        _ => {}
    }
}

fn records(t: &TestServer) -> Vec<Value> {
    t.audit.0.lock().unwrap().clone()
}

/// Sends one signed request as the account root and returns its status, body and record.
async fn call(t: &TestServer, op: &str, body: &Value) -> (u16, Value, Value) {
    let before = records(t).len();
    let (status, id, answer) =
        t.raw_with_id(&t.creds.access_key_id, &t.secret(), op, body.to_string().as_bytes()).await;
    // What the service did by itself in the call's wake (RotateKeyOnDemand's RotateKey, as
    // AWS records it too) is a record of its own, not the call's.
    let new: Vec<Value> = records(t)[before..]
        .iter()
        .filter(|r| r["eventType"] != "AwsServiceEvent")
        .cloned()
        .collect();
    assert_eq!(new.len(), 1, "{op}: one record per call, got {new:?}");
    let r = new[0].clone();
    assert_eq!(r["requestID"], id.as_str(), "{op}: the request id the client saw");
    (status, answer, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_one_record_with_its_envelope_and_no_secret() {
    let t = start().await;
    let f = fixture(&t).await;
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    for op in Operation::ALL {
        let body = request(*op, &f.on_a(&root));
        let (status, answer, r) = call(&t, op.name(), &body).await;
        let name = op.name();
        assert_eq!(r["eventName"], name);
        assert_eq!(r["eventSource"], "kms.amazonaws.com");
        assert_eq!(r["eventType"], "AwsApiCall");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["readOnly"], op.spec().read_only, "{name}");
        assert_eq!(r["recipientAccountId"], ACCOUNT);
        assert_eq!(r["userIdentity"]["type"], "Root");
        assert_eq!(r["userIdentity"]["accessKeyId"], t.creds.access_key_id.as_str());
        assert_eq!(r["sourceIPAddress"], "127.0.0.1");
        if status == 200 {
            assert!(r.get("errorCode").is_none(), "{name}: {r}");
        } else {
            assert_eq!(r["errorCode"], answer["__type"], "{name}: {r}");
            assert_eq!(r["errorMessage"], answer.get("message").cloned().unwrap_or(json!("")));
        }
        if op.spec().read_only {
            assert!(r["responseElements"].is_null(), "{name}: {r}");
        }
        // A call that names key A records it as a resource, refused or not.
        if body.get("KeyId").is_some() || body.get("CiphertextBlob").is_some() {
            let arns: Vec<&str> = r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["ARN"].as_str().unwrap())
                .collect();
            assert!(arns.contains(&f.a.as_str()), "{name}: {r}");
        }
        let mut hidden = Vec::new();
        secrets(&body, &mut hidden);
        secrets(&answer, &mut hidden);
        let text = r.to_string();
        for s in hidden.iter().filter(|s| s.len() >= 8) {
            assert!(!text.contains(s.as_str()), "{name}: a secret in the record: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_ceremony_is_recorded_as_aws_records_it() {
    let t = start().await;
    let (_, created, r) = call(&t, "CreateKey", &json!({ "Origin": "EXTERNAL" })).await;
    let arn = created["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    assert_eq!(
        r["requestParameters"],
        json!({
            "description": "", "origin": "EXTERNAL", "bypassPolicyLockoutSafetyCheck": false,
            "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keySpec": "SYMMETRIC_DEFAULT",
            "keyUsage": "ENCRYPT_DECRYPT"
        })
    );
    let meta = &r["responseElements"]["keyMetadata"];
    assert_eq!(meta["AWSAccountId"], ACCOUNT);
    assert_eq!(meta["keyId"], key_id.as_str());
    assert_eq!(meta["keyState"], "PendingImport");
    assert_eq!(meta["enabled"], false);
    assert!(meta["creationDate"].as_str().unwrap().contains(", 20"), "{meta}");
    assert_eq!(
        r["resources"],
        json!([{ "accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn }])
    );

    let params = json!({
        "KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"
    });
    let (status, p, r) = call(&t, "GetParametersForImport", &params).await;
    assert_eq!(status, 200);
    assert_eq!(
        r["requestParameters"],
        json!({ "keyId": key_id, "wrappingAlgorithm": "RSAES_OAEP_SHA_256", "wrappingKeySpec": "RSA_2048" })
    );
    assert!(r["responseElements"].is_null());
    assert_eq!(r["readOnly"], true);
    let text = r.to_string();
    for secret in ["PublicKey", "ImportToken"] {
        assert!(!text.contains(p[secret].as_str().unwrap()), "{secret} in {text}");
    }

    let public = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        p["PublicKey"].as_str().unwrap(),
    )
    .unwrap();
    let material = [7u8; 32];
    let wrapped = trent_crypto::import::wrap_material(
        trent_crypto::import::WrapAlgorithm::OaepSha256,
        &public,
        &material,
    )
    .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let valid_to = now.as_secs() as i64 + 30 * 86_400;
    let valid_to_text = trent_types::trail::date_text(trent_types::Timestamp(valid_to * 1000));
    let import = json!({
        "KeyId": key_id, "ImportToken": p["ImportToken"], "EncryptedKeyMaterial": b64(&wrapped),
        "ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": valid_to
    });
    let (status, imported, r) = call(&t, "ImportKeyMaterial", &import).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        r["requestParameters"],
        json!({ "keyId": key_id, "validTo": valid_to_text, "expirationModel": "KEY_MATERIAL_EXPIRES" })
    );
    let material_id = imported["KeyMaterialId"].as_str().unwrap();
    assert_eq!(r["responseElements"], json!({ "keyId": arn, "keyMaterialId": material_id }));
    assert!(!r.to_string().contains(&b64(&wrapped)));

    let (_, _, r) = call(&t, "DeleteImportedKeyMaterial", &json!({ "KeyId": key_id })).await;
    assert_eq!(r["requestParameters"], json!({ "keyId": key_id }));
    assert_eq!(r["responseElements"], json!({ "keyId": arn, "keyMaterialId": material_id }));
    assert_eq!(r["readOnly"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cryptographic_call_names_its_material_and_a_refusal_its_error() {
    let t = start().await;
    let (_, created, _) = call(&t, "CreateKey", &json!({})).await;
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let material = created["KeyMetadata"]["CurrentKeyMaterialId"].clone();
    let body = json!({ "KeyId": key_id, "Plaintext": b64(b"top secret payload"),
                       "EncryptionContext": { "Department": "Engineering" } });
    let (_, out, r) = call(&t, "Encrypt", &body).await;
    assert_eq!(
        r["requestParameters"],
        json!({ "keyId": key_id, "encryptionContext": { "Department": "Engineering" } })
    );
    assert_eq!(r["additionalEventData"], json!({ "keyMaterialId": material }));
    let ct = out["CiphertextBlob"].clone();
    let (status, answer, r) = call(&t, "Decrypt", &json!({ "CiphertextBlob": ct })).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(r["errorCode"], "InvalidCiphertextException");
    assert!(r["resources"][0]["ARN"].as_str().unwrap().ends_with(&key_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_authentication_is_recorded_with_what_was_claimed() {
    let t = start().await;
    let before = records(&t).len();
    let (status, id, answer) =
        t.raw_with_id("AKIANOBODYKNOWS00000", "secret", "ListKeys", b"{}").await;
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], "UnrecognizedClientException");
    let (_, bad_id, answer) =
        t.raw_with_id(&t.creds.access_key_id, "not the secret", "DescribeKey", b"{}").await;
    assert_eq!(answer["__type"], "InvalidSignatureException");
    let new = records(&t)[before..].to_vec();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0]["requestID"], id.as_str());
    assert_eq!(new[0]["eventName"], "ListKeys");
    assert_eq!(new[0]["errorCode"], "UnrecognizedClientException");
    assert_eq!(
        new[0]["userIdentity"],
        json!({ "type": "Unknown", "accessKeyId": "AKIANOBODYKNOWS00000" })
    );
    assert_eq!(new[1]["requestID"], bad_id.as_str());
    assert_eq!(new[1]["errorCode"], "InvalidSignatureException");
    assert!(new[1]["requestParameters"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_record_a_call_fails_and_nothing_runs_until_the_trail_works() {
    let t = start().await;
    let c = t.client();
    let keys =
        || async { t.kms.store().list_keys(ACCOUNT, "us-east-1", None, 100).await.unwrap().len() };
    t.audit.1.store(true, std::sync::atomic::Ordering::SeqCst);
    // The call whose record is lost is answered with an error...
    let e = err(c.create_key().send().await.unwrap_err());
    assert_eq!(e.0, "KMSInternalException");
    let made = keys().await;
    // ...and until a record is written again, no call runs.
    let e = err(c.create_key().send().await.unwrap_err());
    assert_eq!(e.0, "KMSInternalException");
    assert_eq!(keys().await, made, "a refused call ran");
    t.audit.1.store(false, std::sync::atomic::Ordering::SeqCst);
    // The next call is refused but recorded, which shows the trail works; then calls run.
    let _ = c.create_key().send().await;
    c.create_key().send().await.unwrap();
    assert_eq!(keys().await, made + 1);
    let last = records(&t).last().cloned().unwrap();
    assert_eq!(last["eventName"], "CreateKey");
    assert!(last.get("errorCode").is_none());
}

const LOOKUP: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

/// LookupEvents, retried as the SDKs retry a throttled call (CloudTrail admits two per
/// second per account).
async fn lookup(t: &TestServer, akid: &str, secret: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    loop {
        let (status, _, v) =
            t.raw_for_service(akid, secret, "cloudtrail", LOOKUP, body.as_bytes()).await;
        if v["__type"] != "ThrottlingException" {
            return (status, v);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_finds_records_newest_first_in_pages_of_the_callers_account() {
    let t = start().await;
    let (akid, secret) = (t.creds.access_key_id.clone(), t.secret());
    for i in 0..5 {
        call(&t, "CreateKey", &json!({ "Description": format!("k{i}") })).await;
    }
    call(&t, "ListKeys", &json!({})).await;
    let by_name = json!({ "LookupAttributes": [{ "AttributeKey": "EventName", "AttributeValue": "CreateKey" }], "MaxResults": 2 });
    let (status, page) = lookup(&t, &akid, &secret, by_name.clone()).await;
    assert_eq!(status, 200, "{page}");
    let events = page["Events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    let inner: Value =
        serde_json::from_str(events[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(inner["requestParameters"]["description"], "k4", "newest first");
    assert_eq!(events[0]["EventName"], "CreateKey");
    assert_eq!(events[0]["Username"], "root");
    assert_eq!(events[0]["ReadOnly"], "false");
    assert_eq!(events[0]["Resources"][0]["ResourceType"], "AWS::KMS::Key");
    // The pages together are every CreateKey, once.
    let mut seen = 0;
    let mut next = page["NextToken"].clone();
    seen += 2;
    while let Some(tok) = next.as_str() {
        let mut q = by_name.clone();
        q["NextToken"] = json!(tok);
        let (status, p) = lookup(&t, &akid, &secret, q).await;
        assert_eq!(status, 200, "{p}");
        seen += p["Events"].as_array().unwrap().len();
        next = p["NextToken"].clone();
    }
    assert_eq!(seen, 5);
    // Reading the trail is recorded too, as CloudTrail records LookupEvents.
    let last = records(&t).last().cloned().unwrap();
    assert_eq!(last["eventSource"], "cloudtrail.amazonaws.com");
    assert_eq!(last["eventName"], "LookupEvents");
    assert_eq!(last["readOnly"], true);
    assert_eq!(last["requestParameters"]["lookupAttributes"][0]["attributeValue"], "CreateKey");
    // A token of another query is refused; so is a second attribute.
    let other = json!({ "NextToken": page["NextToken"] });
    let (status, e) = lookup(&t, &akid, &secret, other).await;
    assert_eq!((status, e["__type"].as_str()), (400, Some("InvalidNextTokenException")));
    // Another account sees none of these records: only the operator's making of it.
    let other = t.kms.admin().create_account("444455556666", None).await.unwrap();
    let secret2 = std::str::from_utf8(other.secret_access_key.as_bytes()).unwrap().to_string();
    let (status, p) = lookup(&t, &other.access_key_id, &secret2, json!({})).await;
    assert_eq!(status, 200, "{p}");
    let names: Vec<_> = p["Events"].as_array().unwrap().iter().map(|e| &e["EventName"]).collect();
    assert_eq!(names, ["CreateAccessKey", "CreateAccount"], "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_events_needs_its_iam_permission_and_a_cloudtrail_signature() {
    let t = start().await;
    t.kms.admin().create_user(ACCOUNT, "reader").await.unwrap();
    let k = t.kms.admin().create_user_access_key(ACCOUNT, Some("reader")).await.unwrap();
    let secret = std::str::from_utf8(k.secret_access_key.as_bytes()).unwrap().to_string();
    let (status, e) = lookup(&t, &k.access_key_id, &secret, json!({})).await;
    assert_eq!((status, e["__type"].as_str()), (400, Some("AccessDeniedException")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("cloudtrail:LookupEvents"), "{e}");
    let allow =
        r#"{"Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#;
    t.kms.admin().put_user_policy(ACCOUNT, "reader", "read-trail", allow).await.unwrap();
    let (status, p) = lookup(&t, &k.access_key_id, &secret, json!({})).await;
    assert_eq!(status, 200, "{p}");
    // A request signed for kms is not one for cloudtrail.
    let body = b"{}";
    let (status, _, e) = t.raw_for_service(&k.access_key_id, &secret, "kms", LOOKUP, body).await;
    assert_eq!(status, 400);
    assert_eq!(e["__type"], "InvalidSignatureException", "{e}");
}
