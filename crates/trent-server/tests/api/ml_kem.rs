//! ML-KEM keys through aws-sdk-kms: creation rules, metadata, Encapsulate and Decapsulate
//! (including implicit rejection), wrong usage, and the China-Region gate.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    EncapsulationAlgorithmSpec as EA, KeySpec, KeyUsageType, OriginType, SigningAlgorithmSpec,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encapsulate_and_decapsulate() {
    let t = start().await;
    let c = t.client();
    for (spec, ct_len) in
        [(KeySpec::MlKem512, 768), (KeySpec::MlKem768, 1088), (KeySpec::MlKem1024, 1568)]
    {
        let m = c
            .create_key()
            .key_spec(spec.clone())
            .key_usage(KeyUsageType::EncapsulateDecapsulate)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        assert_eq!(m.encapsulation_algorithms(), [EA::MlKem]);
        assert!(m.signing_algorithms().is_empty() && m.encryption_algorithms().is_empty());
        let p = c.get_public_key().key_id(m.key_id()).send().await.unwrap();
        assert_eq!(p.encapsulation_algorithms(), [EA::MlKem]);
        assert_eq!(p.key_usage(), Some(&KeyUsageType::EncapsulateDecapsulate));

        let e = c
            .encapsulate()
            .key_id(m.key_id())
            .encapsulation_algorithm(EA::MlKem)
            .send()
            .await
            .unwrap();
        assert_eq!(e.key_id(), m.arn());
        let ct = e.shared_secret_ciphertext_blob().unwrap().as_ref().to_vec();
        let secret = e.shared_secret().unwrap().as_ref().to_vec();
        assert_eq!((ct.len(), secret.len()), (ct_len, 32), "{spec:?}");
        let d = c
            .decapsulate()
            .key_id(m.key_id())
            .encapsulation_algorithm(EA::MlKem)
            .shared_secret_ciphertext_blob(Blob::new(ct.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(d.shared_secret().unwrap().as_ref(), secret.as_slice());

        // Implicit rejection: an altered ciphertext decapsulates to some other secret.
        let mut altered = ct.clone();
        altered[10] ^= 0x40;
        let d = c
            .decapsulate()
            .key_id(m.key_id())
            .encapsulation_algorithm(EA::MlKem)
            .shared_secret_ciphertext_blob(Blob::new(altered))
            .send()
            .await
            .unwrap();
        assert_ne!(d.shared_secret().unwrap().as_ref(), secret.as_slice());
        assert_eq!(d.shared_secret().unwrap().as_ref().len(), 32);
        // Only a ciphertext of the wrong length is an error.
        let e = err(c
            .decapsulate()
            .key_id(m.key_id())
            .encapsulation_algorithm(EA::MlKem)
            .shared_secret_ciphertext_blob(Blob::new(&ct[1..]))
            .send()
            .await
            .unwrap_err());
        assert_eq!(e.0, "InvalidCiphertextException");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_origin_and_region_rules() {
    let t = start().await;
    let c = t.client();
    let kem = c
        .create_key()
        .key_spec(KeySpec::MlKem768)
        .key_usage(KeyUsageType::EncapsulateDecapsulate)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let e = err(c
        .sign()
        .key_id(kem.key_id())
        .message(Blob::new("m"))
        .signing_algorithm(SigningAlgorithmSpec::MlDsaShake256)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "InvalidKeyUsageException");
    let sym = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let e = err(c
        .encapsulate()
        .key_id(sym.key_id())
        .encapsulation_algorithm(EA::MlKem)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "InvalidKeyUsageException");
    assert!(e.1.ends_with("key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate."));
    let e = err(c
        .encapsulate()
        .key_id(kem.key_id())
        .encapsulation_algorithm(EA::MlKem)
        .dry_run(true)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "DryRunOperationException");
    for usage in [KeyUsageType::SignVerify, KeyUsageType::EncryptDecrypt] {
        let e = err(c
            .create_key()
            .key_spec(KeySpec::MlKem512)
            .key_usage(usage)
            .send()
            .await
            .unwrap_err());
        assert_eq!(e.0, "ValidationException");
    }
    let e = err(c
        .create_key()
        .key_spec(KeySpec::MlKem512)
        .key_usage(KeyUsageType::EncapsulateDecapsulate)
        .origin(OriginType::External)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "UnsupportedOperationException");
    let china = t.china().await;
    let e = err(china
        .create_key()
        .key_spec(KeySpec::MlKem512)
        .key_usage(KeyUsageType::EncapsulateDecapsulate)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    assert!(e.1.contains("Value 'ML_KEM_512' at 'keySpec'") && e.1.contains("SM2"), "{}", e.1);
}
