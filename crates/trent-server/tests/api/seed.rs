//! Declarative seeding: what exists as the seed says is kept, what is missing is made, and
//! every kind of contradiction is refused by name (the e2e test drives the seed file itself).

use crate::common::*;
use std::collections::BTreeMap;
use trent_core::{Seed, SeedAccessKey, SeedKey};
use trent_types::{KeySpec, KeyUsageType, OriginType};

const ID: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

fn key() -> SeedKey {
    SeedKey {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        id: ID.into(),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsageType::EncryptDecrypt,
        origin: OriginType::AwsKms,
        description: "seeded".into(),
        policy: None,
        tags: BTreeMap::from([("team".into(), "ci".into())]),
        aliases: vec!["alias/seeded".into()],
        enabled: true,
        material: None,
    }
}

fn access_key(secret: &str) -> SeedAccessKey {
    SeedAccessKey {
        account: ACCOUNT.into(),
        user: None,
        id: "AKIASEEDTEST00000001".into(),
        secret: trent_crypto::Secret::new(secret.as_bytes().to_vec()),
    }
}

async fn refusal(t: &TestServer, seed: Seed) -> String {
    t.kms.admin().seed(&seed).await.unwrap_err().message().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_is_made_once_and_its_access_key_signs() {
    let t = start().await;
    let seed = || Seed {
        keys: vec![key()],
        access_keys: vec![access_key("s3cret")],
        ..Default::default()
    };
    let first = t.kms.admin().seed(&seed()).await.unwrap();
    assert_eq!(first.made.len(), 3, "{first:?}");
    let again = t.kms.admin().seed(&seed()).await.unwrap();
    assert!(again.made.is_empty(), "{again:?}");
    let c = t.client_in("us-east-1", "AKIASEEDTEST00000001", "s3cret");
    let m = c.describe_key().key_id("alias/seeded").send().await.unwrap().key_metadata.unwrap();
    assert_eq!((m.key_id(), m.description()), (ID, Some("seeded")));
    // What seeding made is in the trail as the operator's, once; its secret is not.
    let made: Vec<_> = ["CreateAccessKey", "CreateKey", "TagResource", "CreateAlias"]
        .iter()
        .map(|n| {
            t.events_named(n).into_iter().filter(|e| e["sourceIPAddress"] == "trent admin").count()
        })
        .collect();
    // The root's access key of the account made at start, then the seed's; the key's tags
    // are set by TagResource after CreateKey.
    assert_eq!(made, [2, 1, 1, 1]);
    let key = &t.events_named("CreateKey")[0];
    assert_eq!(key["userIdentity"]["principalId"], "trent-admin");
    assert_eq!(key["requestParameters"]["description"], "seeded");
    assert_eq!(key["responseElements"]["keyMetadata"]["keyId"], ID);
    let all = serde_json::to_string(&*t.audit.0.lock().unwrap()).unwrap();
    assert!(!all.contains("s3cret"));
}

/// Identities made and changed with `trent admin` are in the trail of their account, in the
/// shape CloudTrail gives IAM's calls; an access key by its id, never its secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_changes_to_identities_are_recorded() {
    let t = start().await;
    let admin = t.kms.admin();
    admin.create_user(ACCOUNT, "ops").await.unwrap();
    let k = admin.create_user_access_key(ACCOUNT, Some("ops")).await.unwrap();
    let policy = r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;
    admin.put_user_policy(ACCOUNT, "ops", "all", policy).await.unwrap();
    admin.delete_user_policy(ACCOUNT, "ops", "all").await.unwrap();
    admin.delete_access_key(&k.access_key_id).await.unwrap();
    for name in
        ["CreateUser", "CreateAccessKey", "PutUserPolicy", "DeleteUserPolicy", "DeleteAccessKey"]
    {
        let found: Vec<_> = t
            .events_named(name)
            .into_iter()
            .filter(|e| {
                e["requestParameters"]["userName"] == "ops"
                    || e["requestParameters"]["accessKeyId"] == k.access_key_id.as_str()
            })
            .collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(found[0]["eventSource"], "iam.amazonaws.com");
        assert_eq!(found[0]["recipientAccountId"], ACCOUNT);
        assert_eq!(found[0]["userIdentity"]["type"], "Unknown");
    }
    let secret = std::str::from_utf8(k.secret_access_key.as_bytes()).unwrap().to_string();
    let all = serde_json::to_string(&*t.audit.0.lock().unwrap()).unwrap();
    assert!(!all.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contradiction_is_refused_by_name() {
    let t = start().await;
    t.kms
        .admin()
        .seed(&Seed { keys: vec![key()], access_keys: vec![access_key("a")], ..Default::default() })
        .await
        .unwrap();
    let other = t.client().create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let cases: Vec<(Seed, &str)> = vec![
        (
            Seed {
                keys: vec![SeedKey {
                    spec: KeySpec::Hmac256,
                    usage: KeyUsageType::GenerateVerifyMac,
                    ..key()
                }],
                ..Default::default()
            },
            "exists as SYMMETRIC_DEFAULT ENCRYPT_DECRYPT AWS_KMS",
        ),
        (
            Seed {
                keys: vec![SeedKey { description: "other".into(), ..key() }],
                ..Default::default()
            },
            "has another description",
        ),
        (
            Seed {
                keys: vec![SeedKey {
                    tags: BTreeMap::from([("team".into(), "ops".into())]),
                    ..key()
                }],
                ..Default::default()
            },
            "has tag team with another value",
        ),
        (
            Seed {
                keys: vec![SeedKey {
                    id: other.clone(),
                    aliases: vec!["alias/seeded".into()],
                    description: String::new(),
                    tags: BTreeMap::new(),
                    ..key()
                }],
                ..Default::default()
            },
            "alias/seeded points to key",
        ),
        (
            Seed {
                keys: vec![SeedKey { id: "not-a-key-id".into(), ..key() }],
                ..Default::default()
            },
            "is not a key id",
        ),
        (
            Seed { access_keys: vec![access_key("b")], ..Default::default() },
            "exists for another principal or with another secret",
        ),
        (
            Seed {
                access_keys: vec![SeedAccessKey { id: "short".into(), ..access_key("a") }],
                ..Default::default()
            },
            "is not an access key id",
        ),
    ];
    for (seed, expected) in cases {
        let message = refusal(&t, seed).await;
        assert!(message.contains(expected), "{message} should say {expected}");
    }
}
