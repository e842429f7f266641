//! Deviations from AWS found against its recordings (issue 15), each with AWS's exact answer.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, Tag};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_tag_keys_are_refused_whatever_their_case() {
    let t = start().await;
    let c = t.client();
    let reserved =
        ("TagException".to_string(), "Tags beginning with aws: are reserved".to_string());
    for tag_key in ["aws:x", "AWS:team", "Aws:Team"] {
        let tag = || Tag::builder().tag_key(tag_key).tag_value("1").build().unwrap();
        assert_eq!(
            err(c.create_key().tags(tag()).send().await.unwrap_err()),
            reserved,
            "{tag_key}"
        );
        let id = c.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
        assert_eq!(
            err(c.tag_resource().key_id(&id).tags(tag()).send().await.unwrap_err()),
            reserved
        );
    }
    // Not a prefix: allowed.
    let tag = Tag::builder().tag_key("awsome").tag_value("1").build().unwrap();
    c.create_key().tags(tag).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_agreement_with_an_rsa_spec_is_refused_without_a_final_period() {
    let t = start().await;
    let e = t
        .client()
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::KeyAgreement)
        .send()
        .await
        .unwrap_err();
    let expected = "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048";
    assert_eq!(err(e), ("ValidationException".into(), expected.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_key_that_is_no_subject_public_key_info_gets_an_empty_message() {
    let t = start().await;
    let c = t.client();
    let m = c
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::KeyAgreement)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let e = c
        .derive_shared_secret()
        .key_id(m.key_id())
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(b"not a key".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e), ("ValidationException".into(), String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_values_are_listed_in_the_order_aws_lists_them() {
    let t = start().await;
    let body = br#"{"KeyId":"alias/x","Message":"aGk=","MacAlgorithm":"HMAC_SHA_1"}"#;
    let (status, v) = t.raw("GenerateMac", body).await;
    assert_eq!(status, 400);
    let expected = "1 validation error detected: Value 'HMAC_SHA_1' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]";
    assert_eq!(
        (v["__type"].as_str(), v["message"].as_str()),
        (Some("ValidationException"), Some(expected))
    );
    let (_, v) = t.raw("CreateKey", br#"{"KeySpec":"RSA_1024","KeyUsage":"SIGN_VERIFY"}"#).await;
    let message = v["message"].as_str().unwrap_or_else(|| panic!("{v}"));
    let listed = message.split_once('[').unwrap().1;
    assert!(listed.starts_with("RSA_2048, ECC_NIST_P384, ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512"), "{message}");
}
