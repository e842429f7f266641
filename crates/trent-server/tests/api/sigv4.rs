//! SigV4 as strict as AWS, through the server: a captured request cannot be re-aimed at
//! another operation, and every rule of what must be signed is enforced; session tokens are
//! refused (Trent issues none).

use crate::common::*;
use serde_json::json;

const CT: (&str, &str) = ("content-type", "application/x-amz-json-1.1");

fn error_type(v: &serde_json::Value) -> &str {
    v.get("__type").and_then(|t| t.as_str()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_cannot_be_re_aimed_at_another_operation() {
    let t = start().await;
    let key = t.client().create_key().send().await.unwrap().key_metadata.unwrap();
    let body = json!({ "KeyId": key.key_id() }).to_string();
    // Signed as a DescribeKey without X-Amz-Target among the signed headers, sent as DisableKey.
    for signed in ["host;x-amz-date", "content-type;host;x-amz-date"] {
        let (status, v) = t
            .raw_signed(
                &[CT, ("x-amz-target", "TrentService.DisableKey")],
                signed,
                "us-east-1",
                body.as_bytes(),
            )
            .await;
        assert_eq!((status, error_type(&v)), (400, "InvalidSignatureException"), "{v}");
        assert!(v["message"].as_str().unwrap().contains("'x-amz-target' must be a 'SignedHeader'"));
    }
    let d = t.client().describe_key().key_id(key.key_id()).send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().key_state(), Some(&aws_sdk_kms::types::KeyState::Enabled));
    // Properly signed, the same request works.
    let (status, v) = t
        .raw_signed(
            &[CT, ("x-amz-target", "TrentService.DescribeKey")],
            "content-type;host;x-amz-date;x-amz-target",
            "us-east-1",
            body.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_aws_refuses_is_refused() {
    let t = start().await;
    let target = ("x-amz-target", "TrentService.ListKeys");
    let all = "content-type;host;x-amz-date;x-amz-target";
    let long = "a".repeat(300);
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        // Host unsigned.
        (
            vec![CT, target],
            "content-type;x-amz-date;x-amz-target",
            "us-east-1",
            "InvalidSignatureException",
        ),
        // A session token: Trent issued none.
        (
            vec![CT, target, ("x-amz-security-token", "junk")],
            "content-type;host;x-amz-date;x-amz-security-token;x-amz-target",
            "us-east-1",
            "UnrecognizedClientException",
        ),
        // Regions that are not Region names.
        (vec![CT, target], all, "us-east-1:444455556666", "InvalidSignatureException"),
        (vec![CT, target], all, "Us-East-1", "InvalidSignatureException"),
        (vec![CT, target], all, &long, "InvalidSignatureException"),
    ];
    for (headers, signed, region, expected) in &cases {
        let (status, v) = t.raw_signed(headers, signed, region, b"{}").await;
        assert_eq!((status, error_type(&v)), (400, *expected), "{signed} {region}: {v}");
    }
    // No key, alias or account of a malformed Region was made.
    let regions: std::collections::BTreeSet<String> = t
        .kms
        .store()
        .list_keys(ACCOUNT, "us-east-1:444455556666", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key.region)
        .collect();
    assert!(regions.is_empty());
    let (status, v) = t.raw_signed(&[CT, target], all, "us-east-1", b"{}").await;
    assert_eq!(status, 200, "{v}");
}
