//! Condition keys deciding a statement, each through the real API with a user's SigV4
//! credentials: the import condition keys (kms:WrappingAlgorithm, kms:WrappingKeySpec,
//! kms:ExpirationModel, kms:ValidTo), kms:KeyOrigin, aws:RequestTag, kms:ResourceAliases,
//! kms:RequestAlias and aws:SourceIp.

use crate::authz::{denied, user};
use crate::common::*;
use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{AlgorithmSpec, ExpirationModelType, OriginType, WrappingKeySpec};
use aws_sdk_kms::Client;
use trent_crypto::import::{wrap_material, WrapAlgorithm};

fn now_secs() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    now.as_secs() as i64
}

/// An EXTERNAL key with `policy`, made by the account root.
async fn external_key(admin: &Client, policy: &str) -> (String, String) {
    let created = admin.create_key().origin(OriginType::External).policy(policy).send().await;
    let m = created.unwrap().key_metadata.unwrap();
    (m.key_id().to_string(), m.arn().unwrap().to_string())
}

/// GetParametersForImport (RSAES_OAEP_SHA_256 with `spec`) and 32 random bytes wrapped
/// for it: the token and the wrapped material.
async fn wrapped_material(c: &Client, key_id: &str, spec: WrappingKeySpec) -> (Blob, Blob) {
    let p = c
        .get_parameters_for_import()
        .key_id(key_id)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(spec)
        .send()
        .await
        .unwrap();
    let material = trent_crypto::random_secret(32).unwrap();
    let public = p.public_key().unwrap().as_ref();
    let wrapped = wrap_material(WrapAlgorithm::OaepSha256, public, material.as_bytes()).unwrap();
    (p.import_token.unwrap(), Blob::new(wrapped))
}

/// The importer of the AWS guide's example policy: GetParametersForImport only with
/// RSAES_OAEP_SHA_256 and RSA_4096, ImportKeyMaterial only for material that does not
/// expire, and an explicit deny of DeleteImportedKeyMaterial.
struct Importer {
    _t: TestServer,
    c: Client,
    principal: String,
    key_id: String,
    arn: String,
}

async fn importer() -> Importer {
    let t = start().await;
    let principal = format!("arn:aws:iam::{ACCOUNT}:user/importer");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"kms:GetParametersForImport","Resource":"*",
          "Condition":{{"StringEquals":{{"kms:WrappingAlgorithm":"RSAES_OAEP_SHA_256","kms:WrappingKeySpec":"RSA_4096"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"kms:ImportKeyMaterial","Resource":"*",
          "Condition":{{"StringEquals":{{"kms:ExpirationModel":"KEY_MATERIAL_DOES_NOT_EXPIRE"}}}}}},
        {{"Effect":"Deny","Principal":{{"AWS":"{principal}"}},"Action":"kms:DeleteImportedKeyMaterial","Resource":"*"}}]}}"#
    );
    let (key_id, arn) = external_key(&t.client(), &policy).await;
    let c = user(&t, ACCOUNT, "importer", None).await;
    Importer { _t: t, c, principal, key_id, arn }
}

impl Importer {
    fn denied(&self, e: (String, String), action: &str) {
        denied(e, &self.principal, action, &self.arn);
    }

    async fn parameters(&self, alg: AlgorithmSpec, spec: WrappingKeySpec) -> (String, String) {
        let p = self.c.get_parameters_for_import().key_id(&self.key_id);
        err(p.wrapping_algorithm(alg).wrapping_key_spec(spec).send().await.unwrap_err())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapping_algorithm_and_spec_decide_get_parameters_for_import() {
    let i = importer().await;
    let e = i.parameters(AlgorithmSpec::RsaesOaepSha1, WrappingKeySpec::Rsa4096).await;
    i.denied(e, "GetParametersForImport");
    let e = i.parameters(AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048).await;
    i.denied(e, "GetParametersForImport");
    wrapped_material(&i.c, &i.key_id, WrappingKeySpec::Rsa4096).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiration_model_decides_import_key_material() {
    let i = importer().await;
    let (token, wrapped) = wrapped_material(&i.c, &i.key_id, WrappingKeySpec::Rsa4096).await;
    let valid_to = DateTime::from_secs(now_secs() + 86400);
    let base = || {
        i.c.import_key_material()
            .key_id(&i.key_id)
            .import_token(token.clone())
            .encrypted_key_material(wrapped.clone())
    };
    // Expiring material, by default with ValidTo or explicitly, is denied.
    i.denied(err(base().valid_to(valid_to).send().await.unwrap_err()), "ImportKeyMaterial");
    let expires = base().expiration_model(ExpirationModelType::KeyMaterialExpires);
    i.denied(err(expires.valid_to(valid_to).send().await.unwrap_err()), "ImportKeyMaterial");
    base().expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_deny_wins_and_nothing_else_is_granted() {
    let i = importer().await;
    let e = err(i.c.delete_imported_key_material().key_id(&i.key_id).send().await.unwrap_err());
    assert!(e.1.ends_with("with an explicit deny in a resource-based policy"), "{}", e.1);
    let plaintext = Blob::new(b"x".to_vec());
    let e = err(i.c.encrypt().key_id(&i.key_id).plaintext(plaintext).send().await.unwrap_err());
    i.denied(e, "Encrypt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_to_caps_the_expiry_of_imported_material() {
    let t = start().await;
    let now = now_secs();
    // kms:ValidTo is epoch seconds (NumericLessThanEquals), IfExists so that
    // GetParametersForImport, which has no ValidTo, is allowed.
    let principal = format!("arn:aws:iam::{ACCOUNT}:user/shortlived");
    let limit = now + 7 * 86400;
    let policy = format!(
        r#"{{"Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":["kms:GetParametersForImport","kms:ImportKeyMaterial"],"Resource":"*","Condition":{{"NumericLessThanEqualsIfExists":{{"kms:ValidTo":"{limit}"}},"StringEquals":{{"kms:KeyOrigin":"EXTERNAL"}}}}}}]}}"#
    );
    let (key_id, _) = external_key(&t.client(), &policy).await;
    let c = user(&t, ACCOUNT, "shortlived", None).await;
    let (token, wrapped) = wrapped_material(&c, &key_id, WrappingKeySpec::Rsa2048).await;
    let import = |days: i64| {
        c.import_key_material()
            .key_id(&key_id)
            .import_token(token.clone())
            .encrypted_key_material(wrapped.clone())
            .valid_to(DateTime::from_secs(now + days * 86400))
            .send()
    };
    assert_eq!(err(import(30).await.unwrap_err()).0, "AccessDeniedException");
    import(3).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_origin_decides_create_key() {
    let t = start().await;
    let policy = r#"{"Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:KeyOrigin":"EXTERNAL"}}}]}"#;
    let maker = user(&t, ACCOUNT, "maker", Some(policy)).await;
    maker.create_key().origin(OriginType::External).send().await.unwrap();
    assert_eq!(err(maker.create_key().send().await.unwrap_err()).0, "AccessDeniedException");
}

/// A key whose policy lets the user "tagger" tag it only with env=dev, encrypt only while
/// it has the alias alias/team, describe it only when named by that alias, and generate
/// data keys only from 127.0.0.0/8 (and without plaintext only from 10.0.0.0/8).
async fn tagger_key(t: &TestServer) -> (Client, String) {
    let tagger = format!("arn:aws:iam::{ACCOUNT}:user/tagger");
    let policy = format!(
        r#"{{"Statement":[
        {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
        {{"Effect":"Allow","Principal":{{"AWS":"{tagger}"}},"Action":"kms:TagResource","Resource":"*","Condition":{{"StringEquals":{{"aws:RequestTag/env":"dev"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"{tagger}"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"ForAnyValue:StringEquals":{{"kms:ResourceAliases":"alias/team"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"{tagger}"}},"Action":"kms:DescribeKey","Resource":"*","Condition":{{"StringEquals":{{"kms:RequestAlias":"alias/team"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"{tagger}"}},"Action":"kms:GenerateDataKey","Resource":"*","Condition":{{"IpAddress":{{"aws:SourceIp":"127.0.0.0/8"}}}}}},
        {{"Effect":"Allow","Principal":{{"AWS":"{tagger}"}},"Action":"kms:GenerateDataKeyWithoutPlaintext","Resource":"*","Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}]}}"#
    );
    let key = t.client().create_key().policy(policy).send().await.unwrap().key_metadata.unwrap();
    (user(t, ACCOUNT, "tagger", None).await, key.key_id().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_tag_decides_tag_resource() {
    let t = start().await;
    let (c, key_id) = tagger_key(&t).await;
    let tag = |v: &str| aws_sdk_kms::types::Tag::builder().tag_key("env").tag_value(v).build();
    c.tag_resource().key_id(&key_id).tags(tag("dev").unwrap()).send().await.unwrap();
    let e =
        err(c.tag_resource().key_id(&key_id).tags(tag("prod").unwrap()).send().await.unwrap_err());
    assert_eq!(e.0, "AccessDeniedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_aliases_and_request_alias_decide() {
    let t = start().await;
    let (c, key_id) = tagger_key(&t).await;
    let encrypt = || c.encrypt().key_id(&key_id).plaintext(Blob::new(b"x".to_vec())).send();
    assert_eq!(err(encrypt().await.unwrap_err()).0, "AccessDeniedException");
    t.client().create_alias().alias_name("alias/team").target_key_id(&key_id).send().await.unwrap();
    encrypt().await.unwrap();
    c.describe_key().key_id("alias/team").send().await.unwrap();
    let e = err(c.describe_key().key_id(&key_id).send().await.unwrap_err());
    assert_eq!(e.0, "AccessDeniedException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_ip_decides() {
    let t = start().await;
    let (c, key_id) = tagger_key(&t).await;
    c.generate_data_key().key_id(&key_id).number_of_bytes(16).send().await.unwrap();
    let without = c.generate_data_key_without_plaintext().key_id(&key_id).number_of_bytes(16);
    assert_eq!(err(without.send().await.unwrap_err()).0, "AccessDeniedException");
}
