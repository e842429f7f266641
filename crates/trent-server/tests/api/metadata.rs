//! Aliases, tags and key policies through aws-sdk-kms.

use crate::common::*;
use aws_sdk_kms::types::Tag;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases() {
    let t = start().await;
    let c = t.client();
    let a = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let b = c.create_key().send().await.unwrap().key_metadata.unwrap();
    c.create_alias().alias_name("alias/one").target_key_id(a.key_id()).send().await.unwrap();
    let e = err(c
        .create_alias()
        .alias_name("alias/one")
        .target_key_id(b.key_id())
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "AlreadyExistsException".into(),
            format!(
                "An alias with the name arn:aws:kms:us-east-1:{ACCOUNT}:alias/one already exists"
            )
        )
    );
    let e =
        err(c.create_alias().alias_name("one").target_key_id(a.key_id()).send().await.unwrap_err());
    assert_eq!(e, ("ValidationException".into(), "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html".into()));
    let e = err(c
        .create_alias()
        .alias_name("alias/aws/mine")
        .target_key_id(a.key_id())
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "NotAuthorizedException");
    let e = err(c
        .create_alias()
        .alias_name("alias/bad name")
        .target_key_id(a.key_id())
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    assert!(e.1.contains("regular expression pattern"), "{}", e.1);
    c.update_alias().alias_name("alias/one").target_key_id(b.key_id()).send().await.unwrap();
    let d = c.describe_key().key_id("alias/one").send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().key_id(), b.key_id());
    let l = c.list_aliases().key_id(b.key_id()).send().await.unwrap();
    assert_eq!(l.aliases().len(), 1);
    assert_eq!(
        l.aliases()[0].alias_arn(),
        Some(format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/one").as_str())
    );
    c.delete_alias().alias_name("alias/one").send().await.unwrap();
    let e = err(c.describe_key().key_id("alias/one").send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "NotFoundException".into(),
            format!("Alias arn:aws:kms:us-east-1:{ACCOUNT}:alias/one is not found.")
        )
    );
    let e = err(c.delete_alias().alias_name("alias/one").send().await.unwrap_err());
    assert_eq!(e.0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_policies() {
    let t = start().await;
    let c = t.client();
    let k = c
        .create_key()
        .tags(Tag::builder().tag_key("team").tag_value("a").build().unwrap())
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let id = k.key_id();
    c.tag_resource()
        .key_id(id)
        .tags(Tag::builder().tag_key("env").tag_value("dev").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = c.list_resource_tags().key_id(id).send().await.unwrap();
    let pairs: Vec<_> =
        tags.tags().iter().map(|t| (t.tag_key().to_string(), t.tag_value().to_string())).collect();
    assert_eq!(pairs, vec![("env".into(), "dev".into()), ("team".into(), "a".into())]);
    c.untag_resource().key_id(id).tag_keys("team").send().await.unwrap();
    assert_eq!(c.list_resource_tags().key_id(id).send().await.unwrap().tags().len(), 1);
    let e = err(c
        .tag_resource()
        .key_id(id)
        .tags(Tag::builder().tag_key("aws:x").tag_value("1").build().unwrap())
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("TagException".into(), "Tags beginning with aws: are reserved".into()));

    let p = c.get_key_policy().key_id(id).policy_name("default").send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    assert_eq!(doc["Id"], "key-default-1");
    assert_eq!(doc["Statement"][0]["Sid"], "Enable IAM User Permissions");
    assert_eq!(doc["Statement"][0]["Principal"]["AWS"], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert!(p.policy().unwrap().contains("\"Version\" : \"2012-10-17\""));
    let l = c.list_key_policies().key_id(id).send().await.unwrap();
    assert_eq!(l.policy_names(), ["default".to_string()]);
    let new = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}"#;
    c.put_key_policy().key_id(id).policy_name("default").policy(new).send().await.unwrap();
    assert_eq!(c.get_key_policy().key_id(id).send().await.unwrap().policy(), Some(new));
    let e = err(c.put_key_policy().key_id(id).policy("not json").send().await.unwrap_err());
    assert_eq!(e.0, "MalformedPolicyDocumentException");
}
