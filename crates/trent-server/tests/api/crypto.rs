//! Cryptographic operations through aws-sdk-kms: encrypt/decrypt with encryption context,
//! ReEncrypt, data keys, random bytes, rotation keeping old ciphertexts readable.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, IncludeKeyMaterial, KeyMaterialState};

/// The ciphertext of "x" under `key_id`.
async fn ciphertext_of(c: &aws_sdk_kms::Client, key_id: &str) -> Blob {
    let out = c.encrypt().key_id(key_id).plaintext(Blob::new(b"x".to_vec())).send().await;
    out.unwrap().ciphertext_blob.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_identifier_encrypts_and_the_context_must_match() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().send().await.unwrap().key_metadata.unwrap();
    c.create_alias().alias_name("alias/app").target_key_id(m.key_id()).send().await.unwrap();
    let arn = m.arn().unwrap();
    for id in [m.key_id(), arn, "alias/app", &format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app")]
    {
        let e = c
            .encrypt()
            .key_id(id)
            .plaintext(Blob::new(b"secret data".to_vec()))
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap();
        assert_eq!(e.key_id(), Some(arn));
        let blob = e.ciphertext_blob().unwrap().clone();
        // KeyId is optional: the blob names the key and the material.
        let d = c
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap();
        assert_eq!(d.plaintext().unwrap().as_ref(), b"secret data");
        assert_eq!(d.key_id(), Some(arn));
        assert_eq!(d.key_material_id(), m.current_key_material_id());
        let e = err(c.decrypt().ciphertext_blob(blob.clone()).send().await.unwrap_err());
        assert_eq!(e.0, "InvalidCiphertextException");
        let e = err(c
            .decrypt()
            .ciphertext_blob(blob)
            .encryption_context("purpose", "other")
            .send()
            .await
            .unwrap_err());
        assert_eq!(e.0, "InvalidCiphertextException");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_id_naming_another_key_is_incorrect() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().send().await.unwrap().key_metadata.unwrap();
    // A KeyId that names another key.
    let other = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let blob = ciphertext_of(&c, m.key_id()).await;
    let e = err(c.decrypt().key_id(other.key_id()).ciphertext_blob(blob).send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "IncorrectKeyException".into(),
            "The key ID in the request does not identify a CMK that can perform this operation."
                .into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_foreign_ciphertext_is_one_opaque_error() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let blob = ciphertext_of(&c, m.key_id()).await;
    // Tampering anywhere is the same opaque error.
    let mut bad = blob.into_inner();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        err(c.decrypt().ciphertext_blob(Blob::new(bad)).send().await.unwrap_err()).0,
        "InvalidCiphertextException"
    );
    assert_eq!(
        err(c.decrypt().ciphertext_blob(Blob::new(b"garbage".to_vec())).send().await.unwrap_err())
            .0,
        "InvalidCiphertextException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_encrypt_answers_dry_run_operation() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().send().await.unwrap().key_metadata.unwrap();
    // DryRun.
    let e = err(c
        .encrypt()
        .key_id(m.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .dry_run(true)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "DryRunOperationException".into(),
            "The request would have succeeded, but the DryRun option is set.".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_encrypt_and_data_keys() {
    let t = start().await;
    let c = t.client();
    let a = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let b = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let blob = c
        .encrypt()
        .key_id(a.key_id())
        .plaintext(Blob::new(b"move me".to_vec()))
        .encryption_context("k", "1")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let r = c
        .re_encrypt()
        .ciphertext_blob(blob)
        .source_encryption_context("k", "1")
        .destination_key_id(b.key_id())
        .destination_encryption_context("k", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.source_key_id(), a.arn());
    assert_eq!(r.key_id(), b.arn());
    let d = c
        .decrypt()
        .ciphertext_blob(r.ciphertext_blob.unwrap())
        .encryption_context("k", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), b"move me");
    assert_eq!(d.key_id(), b.arn());

    let dk = c
        .generate_data_key()
        .key_id(a.key_id())
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("f", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(dk.plaintext().unwrap().as_ref().len(), 32);
    let back = c
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .encryption_context("f", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext(), dk.plaintext());
    let dk = c.generate_data_key().key_id(a.key_id()).number_of_bytes(64).send().await.unwrap();
    assert_eq!(dk.plaintext().unwrap().as_ref().len(), 64);
    let np = c
        .generate_data_key_without_plaintext()
        .key_id(a.key_id())
        .key_spec(DataKeySpec::Aes128)
        .send()
        .await
        .unwrap();
    let back = c.decrypt().ciphertext_blob(np.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref().len(), 16);
    let e = err(c.generate_data_key().key_id(a.key_id()).send().await.unwrap_err());
    assert_eq!(e.0, "ValidationException");
    let rnd = c.generate_random().number_of_bytes(48).send().await.unwrap();
    assert_eq!(rnd.plaintext().unwrap().as_ref().len(), 48);
    let e = err(c.generate_random().number_of_bytes(1025).send().await.unwrap_err());
    assert_eq!(e, ("ValidationException".into(), "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_old_ciphertexts_readable() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let id = m.key_id();
    let first = m.current_key_material_id().unwrap().to_string();
    let old = c
        .encrypt()
        .key_id(id)
        .plaintext(Blob::new(b"before".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let s = c.get_key_rotation_status().key_id(id).send().await.unwrap();
    assert!(!s.key_rotation_enabled());
    c.enable_key_rotation().key_id(id).rotation_period_in_days(90).send().await.unwrap();
    let s = c.get_key_rotation_status().key_id(id).send().await.unwrap();
    assert!(s.key_rotation_enabled());
    assert_eq!(s.rotation_period_in_days(), Some(90));
    assert!(s.next_rotation_date().is_some());
    c.rotate_key_on_demand().key_id(id).send().await.unwrap();
    let now = c.describe_key().key_id(id).send().await.unwrap().key_metadata.unwrap();
    let second = now.current_key_material_id().unwrap().to_string();
    assert_ne!(first, second);
    let d = c.decrypt().ciphertext_blob(old).send().await.unwrap();
    assert_eq!(d.plaintext().unwrap().as_ref(), b"before");
    assert_eq!(d.key_material_id(), Some(first.as_str()));
    let rot = c.list_key_rotations().key_id(id).send().await.unwrap();
    assert_eq!(rot.rotations().len(), 1);
    assert_eq!(rot.rotations()[0].key_material_id(), Some(second.as_str()));
    let all = c
        .list_key_rotations()
        .key_id(id)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap();
    let states: Vec<_> = all.rotations().iter().map(|r| r.key_material_state().cloned()).collect();
    assert_eq!(states, vec![Some(KeyMaterialState::NonCurrent), Some(KeyMaterialState::Current)]);
    // Automatic rotation when due.
    t.clock.advance_ms(91 * 86_400_000);
    assert_eq!(t.kms.background().rotate_due_keys().await.unwrap(), 1);
    let third = c
        .describe_key()
        .key_id(id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .current_key_material_id
        .unwrap();
    assert_ne!(third, second);
    // Each rotation is a RotateKey service event in the key's account, as AWS records it.
    let rotations = t.events_named("RotateKey");
    assert_eq!(rotations.len(), 2, "{rotations:?}");
    for (e, kind, before, after) in [
        (&rotations[0], "ON_DEMAND", &first, &second),
        (&rotations[1], "AUTOMATIC", &second, &third),
    ] {
        assert_eq!(e["eventType"], "AwsServiceEvent");
        assert_eq!(e["userIdentity"]["invokedBy"], "AWS Internal");
        assert_eq!(e["serviceEventDetails"]["rotationType"], kind);
        assert_eq!(e["serviceEventDetails"]["keyOrigin"], "AWS_KMS");
        assert_eq!(e["serviceEventDetails"]["previousKeyMaterialId"], before.as_str());
        assert_eq!(e["serviceEventDetails"]["currentKeyMaterialId"], after.as_str());
        assert!(e["resources"][0]["ARN"].as_str().unwrap().ends_with(id));
    }
    c.disable_key_rotation().key_id(id).send().await.unwrap();
    assert!(!c.get_key_rotation_status().key_id(id).send().await.unwrap().key_rotation_enabled());
}

/// With `key_cache_size = 0` every call reads its key from the store; behaviour is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_key_cache() {
    let mut config = trent_core::KmsConfig::default();
    config.wrapping_pool.size_per_spec = 0;
    config.key_cache_size = 0;
    let t = start_with(config).await;
    let c = t.client();
    let id = c.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let blob = c
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("uncached"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    c.disable_key().key_id(&id).send().await.unwrap();
    let e = err(c.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap_err());
    assert_eq!(e.0, "DisabledException");
    c.enable_key().key_id(&id).send().await.unwrap();
    c.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let back = c.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), b"uncached");
    let fresh = c.encrypt().key_id(&id).plaintext(Blob::new("y")).send().await.unwrap();
    let again = c.decrypt().ciphertext_blob(fresh.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_ne!(again.key_material_id(), back.key_material_id(), "the rotated material encrypts");
}

/// A service event whose record the trail refused stays in the store's outbox (it was
/// committed with the rotation) and is written by a later background pass, once.
#[tokio::test]
async fn a_service_event_the_trail_refused_is_written_later_from_the_outbox() {
    use std::sync::atomic::Ordering;
    let t = start().await;
    let c = t.client();
    let id = c.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    c.enable_key_rotation().key_id(&id).rotation_period_in_days(90).send().await.unwrap();
    t.audit.1.store(true, Ordering::SeqCst);
    t.clock.advance_ms(91 * 86_400_000);
    assert_eq!(t.kms.background().rotate_due_keys().await.unwrap(), 1);
    t.audit.1.store(false, Ordering::SeqCst);
    assert!(t.events_named("RotateKey").is_empty());
    // Within a minute the node that made it may still write it: nobody else does.
    t.kms.background().run_once().await;
    assert!(t.events_named("RotateKey").is_empty());
    t.clock.advance_ms(61_000);
    t.kms.background().run_once().await;
    let written = t.events_named("RotateKey");
    assert_eq!(written.len(), 1);
    assert!(written[0]["resources"][0]["ARN"].as_str().unwrap().ends_with(&id));
    t.clock.advance_ms(61_000);
    t.kms.background().run_once().await;
    assert_eq!(t.events_named("RotateKey").len(), 1, "written once");
}
