//! Bad input over raw, correctly signed HTTP: every row must come back as a 400 with the AWS
//! error type (and, where AWS's wording is known, its message) — never a 500 or a panic.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_aws_errors() {
    let t = start().await;
    let key =
        t.client().create_key().send().await.unwrap().key_metadata.unwrap().key_id().to_string();
    let big = base64_of(&vec![7u8; 4097]);
    let rows: Vec<(&str, String, &str, Option<&str>)> = vec![
        ("Encrypt", "{not json".into(), "SerializationException", None),
        ("Encrypt", "[1,2]".into(), "SerializationException", None),
        ("Encrypt", r#"{"KeyId":5,"Plaintext":"eA=="}"#.into(), "SerializationException", None),
        ("Encrypt", format!(r#"{{"KeyId":"{key}","Plaintext":"%%%not-base64"}}"#), "SerializationException", None),
        ("Encrypt", format!(r#"{{"KeyId":"{key}","Plaintext":"{big}"}}"#), "ValidationException",
            Some("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")),
        ("Encrypt", format!(r#"{{"KeyId":"{key}"}}"#), "ValidationException",
            Some("1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null")),
        ("Encrypt", r#"{"KeyId":"","Plaintext":"eA=="}"#.into(), "ValidationException",
            Some("1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1")),
        ("Encrypt", format!(r#"{{"KeyId":"{key}","Plaintext":"eA==","EncryptionAlgorithm":"ROT13"}}"#), "ValidationException", None),
        ("Encrypt", r#"{"KeyId":"00000000-0000-0000-0000-000000000000","Plaintext":"eA=="}"#.into(), "NotFoundException",
            Some("Key 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000' does not exist")),
        ("Encrypt", r#"{"KeyId":"nope","Plaintext":"eA=="}"#.into(), "NotFoundException", Some("Invalid keyId 'nope'")),
        ("Decrypt", r#"{"CiphertextBlob":"AAAA"}"#.into(), "InvalidCiphertextException", None),
        ("CreateAlias", format!(r#"{{"AliasName":"no-prefix","TargetKeyId":"{key}"}}"#), "ValidationException", None),
        ("CreateAlias", format!(r#"{{"AliasName":"alias/a:b","TargetKeyId":"{key}"}}"#), "ValidationException",
            Some("alias/a:b contains invalid characters for an alias")),
        ("CreateAlias", format!(r#"{{"AliasName":"alias/white space","TargetKeyId":"{key}"}}"#), "ValidationException", None),
        ("CreateKey", r#"{"KeyUsage":"NOPE"}"#.into(), "ValidationException", None),
        ("CreateKey", r#"{"Description":7}"#.into(), "SerializationException", None),
        ("ListKeys", r#"{"Limit":0}"#.into(), "ValidationException",
            Some("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")),
        ("GenerateRandom", "{}".into(), "ValidationException", Some("NumberOfBytes is required.")),
        ("GenerateDataKey", format!(r#"{{"KeyId":"{key}","NumberOfBytes":2000}}"#), "ValidationException", None),
        ("TagResource", format!(r#"{{"KeyId":"{key}","Tags":[{{"TagKey":"","TagValue":"v"}}]}}"#), "ValidationException",
            Some("1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1")),
        // A member the model marks sensitive is never quoted back (nor, so, audited).
        ("CreateCustomKeyStore", r#"{"CustomKeyStoreName":"s","KeyStorePassword":"hunter"}"#.into(), "ValidationException",
            Some("1 validation error detected: Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7")),
        ("NoSuchOperation", "{}".into(), "UnknownOperationException", None),
    ];
    for (op, body, code, msg) in rows {
        let (status, json) = t.raw(op, body.as_bytes()).await;
        assert_eq!(status, 400, "{op} {body}: {json}");
        assert_eq!(json["__type"], code, "{op} {body}: {json}");
        if let Some(m) = msg {
            assert_eq!(json["message"], m, "{op} {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_is_required_and_checked() {
    let t = start().await;
    // No Authorization header at all.
    let req = b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
    let (status, json) = http_exchange(t.addr, req).await;
    assert_eq!(
        (status, json["__type"].as_str()),
        (400, Some("MissingAuthenticationTokenException"))
    );
    // Garbled header.
    let req = b"POST / HTTP/1.1\r\nhost: x\r\nauthorization: AWS4-HMAC-SHA256 Credential=A/x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
    let (_, json) = http_exchange(t.addr, req).await;
    assert_eq!(json["__type"], "IncompleteSignatureException");
    // Wrong secret, unknown access key.
    let bad = t.client_in("us-east-1", &t.creds.access_key_id, "wrong-secret");
    assert_eq!(err(bad.list_keys().send().await.unwrap_err()).0, "InvalidSignatureException");
    let unknown = t.client_in("us-east-1", "AKIAAAAAAAAAAAAAAAAA", "x");
    let e = err(unknown.list_keys().send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "UnrecognizedClientException".into(),
            "The security token included in the request is invalid.".into()
        )
    );
    // An oversized body is refused before it is read, by each operation's own limit.
    for (op, limit) in
        [("Encrypt", 128 * 1024), ("ListKeys", 64 * 1024), ("PutKeyPolicy", 256 * 1024)]
    {
        assert_eq!(trent_types::Operation::from_name(op).unwrap().max_body(), limit);
        let big = vec![b'a'; limit + 10];
        let (status, json) = t.raw(op, &big).await;
        assert_eq!(
            (status, json["__type"].as_str()),
            (413, Some("RequestEntityTooLargeException"))
        );
    }
    // A policy of the model's largest size (131,072 characters) still fits PutKeyPolicy's
    // body, and is refused by the key policy quota (32 KB), as AWS refuses it.
    let key = t.client().create_key().send().await.unwrap().key_metadata.unwrap();
    let pad = "x".repeat(131_072 - 300);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Id":"{pad}","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    assert!(policy.len() <= 131_072);
    let body = serde_json::json!({ "KeyId": key.key_id(), "Policy": policy }).to_string();
    let (status, json) = t.raw("PutKeyPolicy", body.as_bytes()).await;
    assert_eq!((status, json["__type"].as_str()), (400, Some("LimitExceededException")), "{json}");
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_operation_answers_garbage_with_a_server_error() {
    let t = start().await;
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{}".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"str\"".to_vec(),
        br#"{"KeyId":"x","Plaintext":"!!","Limit":-1,"Tags":[{}],"EncryptionContext":{"a":1}}"#
            .to_vec(),
        br#"{"KeyId":"alias/aws/x","CiphertextBlob":"AAAA","NumberOfBytes":99999999999999999999}"#
            .to_vec(),
        nested.into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x7b],
    ];
    let mut noise = vec![0u8; 512];
    trent_crypto::random_bytes(&mut noise).unwrap();
    bodies.push(noise);
    for op in trent_types::Operation::ALL {
        for body in &bodies {
            let (status, json) = t.raw(op.name(), body).await;
            assert!(
                status < 500,
                "{} answered {status} to {:?}: {json}",
                op.name(),
                String::from_utf8_lossy(body)
            );
            if status != 200 {
                assert!(json["__type"].is_string(), "{} {status}: {json}", op.name());
            }
        }
    }
}
