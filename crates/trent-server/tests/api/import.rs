//! Bring your own key through aws-sdk-kms: the whole ceremony for every wrapping algorithm
//! and key spec, every refusal AWS makes, expiry, deletion, reimport and rotation of
//! imported material.

use crate::common::*;
use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, ImportType, IncludeKeyMaterial, KeyMaterialState, KeyState,
    OriginType, WrappingKeySpec,
};
use trent_crypto::import::{wrap_material, WrapAlgorithm};

fn alg_of(a: &AlgorithmSpec) -> WrapAlgorithm {
    WrapAlgorithm::from_aws_name(a.as_str()).unwrap()
}

struct Params {
    token: Blob,
    public: Vec<u8>,
    alg: AlgorithmSpec,
}

async fn params(
    c: &aws_sdk_kms::Client,
    key: &str,
    alg: AlgorithmSpec,
    spec: WrappingKeySpec,
) -> Params {
    let p = c
        .get_parameters_for_import()
        .key_id(key)
        .wrapping_algorithm(alg.clone())
        .wrapping_key_spec(spec)
        .send()
        .await
        .unwrap();
    Params { token: p.import_token.unwrap(), public: p.public_key.unwrap().into_inner(), alg }
}

fn wrapped(p: &Params, material: &[u8]) -> Blob {
    Blob::new(wrap_material(alg_of(&p.alg), &p.public, material).unwrap())
}

async fn external_key(c: &aws_sdk_kms::Client) -> (String, String) {
    let m = c.create_key().origin(OriginType::External).send().await.unwrap().key_metadata.unwrap();
    (m.key_id().to_string(), m.arn().unwrap().to_string())
}

/// Imports `material` with RSAES_OAEP_SHA_256 / RSA_2048 and the given expiry.
async fn import(
    c: &aws_sdk_kms::Client,
    key: &str,
    material: &[u8],
    valid_to: Option<DateTime>,
) -> aws_sdk_kms::operation::import_key_material::ImportKeyMaterialOutput {
    let (alg, spec) = (AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048);
    import_with(c, key, alg, spec, material, valid_to).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_and_wrapping_spec() {
    let t = start().await;
    let c = t.client();
    for spec in [WrappingKeySpec::Rsa2048, WrappingKeySpec::Rsa3072, WrappingKeySpec::Rsa4096] {
        for alg in [
            AlgorithmSpec::RsaesOaepSha1,
            AlgorithmSpec::RsaesOaepSha256,
            AlgorithmSpec::RsaAesKeyWrapSha1,
            AlgorithmSpec::RsaAesKeyWrapSha256,
        ] {
            let (id, arn) = external_key(&c).await;
            let p = params(&c, &id, alg.clone(), spec.clone()).await;
            let n = match spec {
                WrappingKeySpec::Rsa2048 => 294,
                WrappingKeySpec::Rsa3072 => 422,
                _ => 550,
            };
            assert_eq!(p.public.len(), n, "SubjectPublicKeyInfo of {spec:?}");
            let material = trent_crypto::random_secret(32).unwrap();
            let out = c
                .import_key_material()
                .key_id(&arn)
                .import_token(p.token.clone())
                .encrypted_key_material(wrapped(&p, material.as_bytes()))
                .valid_to(in_days(30))
                .send()
                .await
                .unwrap();
            assert_eq!(out.key_id(), Some(arn.as_str()));
            assert_eq!(out.key_material_id().unwrap().len(), 64);
            let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
            assert_eq!(m.key_state(), Some(&KeyState::Enabled), "{alg:?} {spec:?}");
            assert_eq!(m.expiration_model(), Some(&ExpirationModelType::KeyMaterialExpires));
            assert!(m.valid_to().is_some());
            assert_eq!(m.current_key_material_id(), out.key_material_id());
            let ct = c
                .encrypt()
                .key_id(&id)
                .plaintext(Blob::new(b"byok".to_vec()))
                .send()
                .await
                .unwrap()
                .ciphertext_blob
                .unwrap();
            assert_eq!(
                c.decrypt().ciphertext_blob(ct).send().await.unwrap().plaintext().unwrap().as_ref(),
                b"byok"
            );
        }
    }
}

/// What the refusal tests share: a server, a client, an EXTERNAL key with wrapping parameters
/// and 256 bits of material.
struct Refusals {
    t: TestServer,
    c: aws_sdk_kms::Client,
    id: String,
    arn: String,
    p: Params,
    material: trent_crypto::Secret,
}

async fn refusals() -> Refusals {
    let t = start().await;
    let c = t.client();
    let (id, arn) = external_key(&c).await;
    let material = trent_crypto::random_secret(32).unwrap();
    let p = params(&c, &id, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048).await;
    Refusals { t, c, id, arn, p, material }
}

impl Refusals {
    async fn import(&self, key: &str, token: Blob, enc: Blob) -> (String, String) {
        err(self
            .c
            .import_key_material()
            .key_id(key)
            .import_token(token)
            .encrypted_key_material(enc)
            .valid_to(in_days(10))
            .send()
            .await
            .unwrap_err())
    }

    async fn parameters(
        &self,
        key: &str,
        alg: AlgorithmSpec,
        spec: WrappingKeySpec,
    ) -> (String, String) {
        err(self
            .c
            .get_parameters_for_import()
            .key_id(key)
            .wrapping_algorithm(alg)
            .wrapping_key_spec(spec)
            .send()
            .await
            .unwrap_err())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_another_key_or_tampered_is_invalid() {
    let r = refusals().await;
    let (other, _) = external_key(&r.c).await;
    let e = r.import(&other, r.p.token.clone(), wrapped(&r.p, r.material.as_bytes())).await;
    assert_eq!(e.0, "InvalidImportTokenException");
    let mut bad = r.p.token.clone().into_inner();
    bad[40] ^= 1;
    let e = r.import(&r.id, Blob::new(bad), wrapped(&r.p, r.material.as_bytes())).await;
    assert_eq!(e.0, "InvalidImportTokenException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_after_24_hours() {
    let r = refusals().await;
    r.t.clock.advance_ms(24 * 3_600_000 + 1000);
    let e = r.import(&r.id, r.p.token.clone(), wrapped(&r.p, r.material.as_bytes())).await;
    assert_eq!(e.0, "ExpiredImportTokenException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn material_that_does_not_unwrap_or_does_not_fit_is_refused() {
    let r = refusals().await;
    // Garbage instead of wrapped material: opaque, as any failed decryption.
    let e = r.import(&r.id, r.p.token.clone(), Blob::new(vec![1u8; 256])).await;
    assert_eq!(e, ("InvalidCiphertextException".into(), String::new()));
    // 16 bytes for a 256-bit key.
    let e = r.import(&r.id, r.p.token.clone(), wrapped(&r.p, &[5u8; 16])).await;
    assert_eq!(e.0, "IncorrectKeyMaterialException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiration_rules_are_validated_and_a_refusal_changes_nothing() {
    let r = refusals().await;
    let before = r.c.describe_key().key_id(&r.id).send().await.unwrap().key_metadata;
    let ok = wrapped(&r.p, r.material.as_bytes());
    let base = || {
        r.c.import_key_material()
            .key_id(&r.id)
            .import_token(r.p.token.clone())
            .encrypted_key_material(ok.clone())
    };
    let e = err(base().send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "ValidationException".into(),
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES".into()
        )
    );
    assert_eq!(
        err(base().valid_to(in_days(-1)).send().await.unwrap_err()).0,
        "ValidationException"
    );
    assert_eq!(
        err(base().valid_to(in_days(366)).send().await.unwrap_err()).0,
        "ValidationException"
    );
    let e = err(base()
        .valid_to(in_days(5))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    assert_eq!(r.c.describe_key().key_id(&r.id).send().await.unwrap().key_metadata, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawn_and_china_only_wrapping_algorithms_are_refused() {
    let r = refusals().await;
    // PKCS#1 v1.5 is withdrawn; SM2 is for China Regions only.
    let e = r.parameters(&r.id, AlgorithmSpec::RsaesPkcs1V15, WrappingKeySpec::Rsa2048).await;
    assert_eq!(e.0, "ValidationException");
    let e = r.parameters(&r.id, AlgorithmSpec::Sm2Pke, WrappingKeySpec::Sm2).await;
    assert_eq!(e.0, "ValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_kms_key_takes_no_imported_material() {
    let r = refusals().await;
    let kms_key = r.c.create_key().send().await.unwrap().key_metadata.unwrap();
    let e = r
        .parameters(kms_key.key_id(), AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048)
        .await;
    assert_eq!(
        e,
        (
            "UnsupportedOperationException".into(),
            format!(
                "{} origin is AWS_KMS which is not valid for this operation.",
                kms_key.arn().unwrap()
            )
        )
    );
    let e =
        err(r.c.delete_imported_key_material().key_id(kms_key.key_id()).send().await.unwrap_err());
    assert_eq!(e.0, "UnsupportedOperationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_operations_take_no_alias() {
    let r = refusals().await;
    r.c.create_alias().alias_name("alias/ext").target_key_id(&r.id).send().await.unwrap();
    let e =
        r.parameters("alias/ext", AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048).await;
    assert_eq!(e, ("NotFoundException".into(), "Invalid keyId 'alias/ext'".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_pending_deletion_takes_no_import() {
    let r = refusals().await;
    r.c.schedule_key_deletion().key_id(&r.id).send().await.unwrap();
    let e = r.import(&r.id, r.p.token.clone(), wrapped(&r.p, r.material.as_bytes())).await;
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{} is pending deletion.", r.arn)));
    let e = r.parameters(&r.id, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048).await;
    assert_eq!(e.0, "KMSInvalidStateException");
    // Cancelled, the same token imports.
    r.c.cancel_key_deletion().key_id(&r.id).send().await.unwrap();
    let ok =
        r.c.import_key_material()
            .key_id(&r.id)
            .import_token(r.p.token.clone())
            .encrypted_key_material(wrapped(&r.p, r.material.as_bytes()))
            .valid_to(in_days(10))
            .send()
            .await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// An imported key (no expiry) with a ciphertext of "kept" under its material.
struct Imported {
    t: TestServer,
    c: aws_sdk_kms::Client,
    id: String,
    arn: String,
    material: trent_crypto::Secret,
    material_id: String,
    ct: Blob,
}

async fn imported() -> Imported {
    let t = start().await;
    let c = t.client();
    let (id, arn) = external_key(&c).await;
    let material = trent_crypto::random_secret(32).unwrap();
    let first = import(&c, &id, material.as_bytes(), None).await;
    let ct = c.encrypt().key_id(&id).plaintext(Blob::new(b"kept".to_vec())).send().await;
    let ct = ct.unwrap().ciphertext_blob.unwrap();
    let material_id = first.key_material_id.unwrap();
    Imported { t, c, id, arn, material, material_id, ct }
}

impl Imported {
    async fn metadata(&self) -> aws_sdk_kms::types::KeyMetadata {
        self.c.describe_key().key_id(&self.id).send().await.unwrap().key_metadata.unwrap()
    }

    async fn decrypt(&self) -> Result<Vec<u8>, (String, String)> {
        let d = self.c.decrypt().ciphertext_blob(self.ct.clone()).send().await.map_err(err)?;
        Ok(d.plaintext().unwrap().as_ref().to_vec())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_same_material_reimports_and_it_may_take_a_new_expiry() {
    let k = imported().await;
    let other = trent_crypto::random_secret(32).unwrap();
    let p = params(&k.c, &k.id, AlgorithmSpec::RsaAesKeyWrapSha256, WrappingKeySpec::Rsa3072).await;
    let e = err(k
        .c
        .import_key_material()
        .key_id(&k.id)
        .import_token(p.token.clone())
        .encrypted_key_material(wrapped(&p, other.as_bytes()))
        .valid_to(in_days(3))
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "IncorrectKeyMaterialException");
    let again = import(&k.c, &k.id, k.material.as_bytes(), Some(in_days(3))).await;
    assert_eq!(again.key_material_id(), Some(k.material_id.as_str()));
    let m = k.metadata().await;
    assert_eq!(m.expiration_model(), Some(&ExpirationModelType::KeyMaterialExpires));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_material_leaves_the_key_pending_import_until_reimported() {
    let k = imported().await;
    // Delete: PendingImport, no expiration fields, CurrentKeyMaterialId kept.
    let d = k.c.delete_imported_key_material().key_id(&k.id).send().await.unwrap();
    assert_eq!(d.key_id(), Some(k.arn.as_str()));
    assert_eq!(d.key_material_id(), Some(k.material_id.as_str()));
    let m = k.metadata().await;
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
    assert!(m.expiration_model().is_none() && m.valid_to().is_none());
    assert_eq!(m.current_key_material_id(), Some(k.material_id.as_str()));
    let pending = ("KMSInvalidStateException".into(), format!("{} is pending import.", k.arn));
    assert_eq!(k.decrypt().await.unwrap_err(), pending);
    // Reimport restores it; old ciphertexts decrypt again.
    import(&k.c, &k.id, k.material.as_bytes(), Some(in_days(1))).await;
    assert_eq!(k.decrypt().await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn material_expires_at_valid_to_on_read_and_the_next_write_records_it() {
    let k = imported().await;
    import(&k.c, &k.id, k.material.as_bytes(), Some(in_days(1))).await;
    // At ValidTo the material is gone, before any background pass.
    k.t.clock.advance_ms(DAY * 1000 + 1000);
    let e = k.c.encrypt().key_id(&k.id).plaintext(Blob::new(b"x".to_vec())).send().await;
    let pending = ("KMSInvalidStateException".into(), format!("{} is pending import.", k.arn));
    assert_eq!(err(e.unwrap_err()), pending);
    assert_eq!(k.metadata().await.key_state(), Some(&KeyState::PendingImport));
    // Those were reads: they served the key as it is now and wrote nothing.
    let expired_events = || {
        let events = k.t.audit.0.lock().unwrap().clone();
        events
            .into_iter()
            .filter(|e| e["eventName"] == "DeleteExpiredKeyMaterial")
            .collect::<Vec<_>>()
    };
    assert!(expired_events().is_empty());
    let stored_key = trent_store::KeyRef {
        account: ACCOUNT.to_string(),
        region: "us-east-1".into(),
        key_id: k.id.clone(),
    };
    let stored = k.t.kms.store().get_key(&stored_key).await.unwrap().unwrap();
    assert_eq!(stored.state, trent_types::KeyState::Enabled);
    // The next write of the key deletes the expired material first, and records it.
    import(&k.c, &k.id, k.material.as_bytes(), None).await;
    let expired = expired_events();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["serviceEventDetails"]["keyId"], k.id.as_str());
    assert_eq!(expired[0]["eventType"], "AwsServiceEvent");
    assert_eq!(k.decrypt().await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_pass_expires_material() {
    let t = start().await;
    let c = t.client();
    let (id, _) = external_key(&c).await;
    import(&c, &id, trent_crypto::random_secret(32).unwrap().as_bytes(), Some(in_days(2))).await;
    assert_eq!(t.kms.background().expire_due_materials().await.unwrap(), 0);
    t.clock.advance_ms(2 * DAY * 1000 + 1000);
    assert_eq!(t.kms.background().expire_due_materials().await.unwrap(), 1);
    let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
}

/// Rotation of imported material ("Rotate key material on demand", AWS KMS developer guide).
impl Imported {
    /// Stages new material (ImportType NEW_KEY_MATERIAL): its KeyMaterialId, or the refusal.
    async fn stage(&self, description: Option<&str>) -> Result<String, (String, String)> {
        let material = trent_crypto::random_secret(32).unwrap();
        let p =
            params(&self.c, &self.id, AlgorithmSpec::RsaesOaepSha1, WrappingKeySpec::Rsa2048).await;
        let out = self
            .c
            .import_key_material()
            .key_id(&self.id)
            .import_token(p.token.clone())
            .encrypted_key_material(wrapped(&p, material.as_bytes()))
            .import_type(ImportType::NewKeyMaterial)
            .set_key_material_description(description.map(String::from))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await
            .map_err(err)?;
        Ok(out.key_material_id.unwrap())
    }

    async fn current(&self) -> Option<String> {
        self.metadata().await.current_key_material_id().map(String::from)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_material_rotates_only_on_demand_and_only_once_staged() {
    let r = imported().await;
    let e = err(r.c.rotate_key_on_demand().key_id(&r.id).send().await.unwrap_err());
    let message = format!("No available key material pending rotation for the key: {}.", r.arn);
    assert_eq!(e, ("KMSInvalidStateException".into(), message));
    // Automatic rotation stays unsupported for imported material.
    let e = err(r.c.enable_key_rotation().key_id(&r.id).send().await.unwrap_err());
    assert_eq!(e.0, "UnsupportedOperationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_material_at_a_time_is_staged_and_listed_pending_rotation() {
    let r = imported().await;
    let second = r.stage(Some("second")).await.unwrap();
    assert_eq!(r.current().await, Some(r.material_id.clone()));
    // A second staged material is refused with AWS's message.
    let e = r.stage(None).await.unwrap_err();
    assert_eq!(e.0, "KMSInvalidStateException");
    let tail = format!(
        "cannot be imported into KMS key {}, because another key material (id: {second}) is pending rotation.",
        r.arn
    );
    assert!(e.1.starts_with("New key material (id: ") && e.1.ends_with(&tail), "{}", e.1);
    let all =
        r.c.list_key_rotations()
            .key_id(&r.id)
            .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
            .send()
            .await
            .unwrap();
    let states: Vec<_> = all
        .rotations()
        .iter()
        .map(|r| (r.key_material_id().unwrap().to_string(), r.key_material_state().cloned()))
        .collect();
    assert_eq!(
        states,
        vec![
            (r.material_id.clone(), Some(KeyMaterialState::Current)),
            (second.clone(), Some(KeyMaterialState::PendingRotation))
        ]
    );
    assert_eq!(all.rotations()[1].key_material_description(), Some("second"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_makes_the_staged_material_current_and_old_ciphertexts_decrypt() {
    let r = imported().await;
    let c = &r.c;
    let second = r.stage(None).await.unwrap();
    c.rotate_key_on_demand().key_id(&r.id).send().await.unwrap();
    assert_eq!(r.current().await, Some(second.clone()));
    let d = c.decrypt().ciphertext_blob(r.ct.clone()).send().await.unwrap();
    assert_eq!(
        (d.plaintext().unwrap().as_ref(), d.key_material_id()),
        (&b"kept"[..], Some(r.material_id.as_str()))
    );
    let new = c.encrypt().key_id(&r.id).plaintext(Blob::new(b"new".to_vec())).send().await;
    let new = new.unwrap().ciphertext_blob.unwrap();
    let d = c.decrypt().ciphertext_blob(new).send().await.unwrap();
    assert_eq!(d.key_material_id(), Some(second.as_str()));
    let rot = c.list_key_rotations().key_id(&r.id).send().await.unwrap();
    assert_eq!(rot.rotations().len(), 1);
    assert_eq!(rot.rotations()[0].key_material_id(), Some(second.as_str()));
}
