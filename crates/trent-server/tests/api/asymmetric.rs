//! Asymmetric and HMAC keys through aws-sdk-kms: creation rules, GetPublicKey, RSA
//! encryption, HMAC, ECDH, data key pairs, and importing HMAC and asymmetric material
//! (Sign and Verify are in `signing.rs`).

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, DataKeyPairSpec, EncryptionAlgorithmSpec, ExpirationModelType,
    KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec,
    WrappingKeySpec,
};

async fn key(
    c: &aws_sdk_kms::Client,
    spec: KeySpec,
    usage: KeyUsageType,
) -> aws_sdk_kms::types::KeyMetadata {
    c.create_key().key_spec(spec).key_usage(usage).send().await.unwrap().key_metadata.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rules_and_metadata() {
    let t = start().await;
    let c = t.client();
    let m = key(&c, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    assert_eq!(m.signing_algorithms().len(), 6);
    assert!(m.encryption_algorithms().is_empty());
    assert!(m.current_key_material_id().is_none());
    let m = key(&c, KeySpec::Rsa3072, KeyUsageType::EncryptDecrypt).await;
    assert_eq!(
        m.encryption_algorithms(),
        [EncryptionAlgorithmSpec::RsaesOaepSha1, EncryptionAlgorithmSpec::RsaesOaepSha256]
    );
    let m = key(&c, KeySpec::EccNistP384, KeyUsageType::KeyAgreement).await;
    assert_eq!(m.key_agreement_algorithms(), [KeyAgreementAlgorithmSpec::Ecdh]);
    let m = key(&c, KeySpec::Hmac384, KeyUsageType::GenerateVerifyMac).await;
    assert_eq!(m.mac_algorithms(), [MacAlgorithmSpec::HmacSha384]);
    let m = key(&c, KeySpec::MlDsa65, KeyUsageType::SignVerify).await;
    assert_eq!(m.signing_algorithms(), [SigningAlgorithmSpec::MlDsaShake256]);
    for (spec, usage) in [
        (KeySpec::EccSecgP256K1, KeyUsageType::KeyAgreement),
        (KeySpec::Hmac256, KeyUsageType::EncryptDecrypt),
        (KeySpec::Rsa2048, KeyUsageType::GenerateVerifyMac),
        (KeySpec::SymmetricDefault, KeyUsageType::SignVerify),
        (KeySpec::EccNistEdwards25519, KeyUsageType::KeyAgreement),
    ] {
        let e = err(c
            .create_key()
            .key_spec(spec.clone())
            .key_usage(usage.clone())
            .send()
            .await
            .unwrap_err());
        assert_eq!(e.0, "ValidationException", "{spec:?} {usage:?}");
    }
    let e = err(c
        .create_key()
        .key_spec(KeySpec::Sm2)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    assert!(e.1.contains("at 'keySpec'") && !e.1.contains("SM2,"), "{}", e.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_encryption_and_public_keys() {
    let t = start().await;
    let c = t.client();
    let rsa = key(&c, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    for alg in [EncryptionAlgorithmSpec::RsaesOaepSha1, EncryptionAlgorithmSpec::RsaesOaepSha256] {
        let ct = c
            .encrypt()
            .key_id(rsa.key_id())
            .plaintext(Blob::new(b"rsa secret".to_vec()))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(ct.encryption_algorithm(), Some(&alg));
        let pt = c
            .decrypt()
            .key_id(rsa.key_id())
            .ciphertext_blob(ct.ciphertext_blob.unwrap())
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(pt.plaintext().unwrap().as_ref(), b"rsa secret");
        assert!(pt.key_material_id().is_none());
    }
    let e = err(c
        .encrypt()
        .key_id(rsa.key_id())
        .plaintext(Blob::new(vec![0; 191]))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("ValidationException".into(), "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.".into()));
    let e = err(c
        .encrypt()
        .key_id(rsa.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "InvalidKeyUsageException");
    let pk = c.get_public_key().key_id(rsa.key_id()).send().await.unwrap();
    assert_eq!(pk.public_key().unwrap().as_ref().len(), 294);
    assert_eq!(pk.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    let sym = c.create_key().send().await.unwrap().key_metadata.unwrap();
    assert_eq!(
        err(c.get_public_key().key_id(sym.key_id()).send().await.unwrap_err()).0,
        "UnsupportedOperationException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_macs_verify_and_refuse_another_algorithm() {
    let t = start().await;
    let c = t.client();
    let h = key(&c, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = c
        .generate_mac()
        .key_id(h.key_id())
        .message(Blob::new(b"m".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    assert_eq!(mac.as_ref().len(), 32);
    let v = c
        .verify_mac()
        .key_id(h.key_id())
        .message(Blob::new(b"m".to_vec()))
        .mac(mac.clone())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(v.mac_valid());
    let e = err(c
        .verify_mac()
        .key_id(h.key_id())
        .message(Blob::new(b"n".to_vec()))
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("KMSInvalidMacException".into(), String::new()));
    let e = err(c
        .generate_mac()
        .key_id(h.key_id())
        .message(Blob::new(b"m".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "InvalidKeyUsageException".into(),
            "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecdh_derives_the_secret_the_peer_derives() {
    let t = start().await;
    let c = t.client();
    let ka = key(&c, KeySpec::EccNistP256, KeyUsageType::KeyAgreement).await;
    let peer = trent_crypto::asymmetric::generate(trent_types::KeySpec::EccNistP256).unwrap();
    let peer_pub =
        trent_crypto::asymmetric::public_key(trent_types::KeySpec::EccNistP256, &peer).unwrap();
    let out = c
        .derive_shared_secret()
        .key_id(ka.key_id())
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(peer_pub))
        .send()
        .await
        .unwrap();
    let kms_pub = c.get_public_key().key_id(ka.key_id()).send().await.unwrap().public_key.unwrap();
    let local =
        trent_crypto::asymmetric::ecdh(trent_types::KeySpec::EccNistP256, &peer, kms_pub.as_ref())
            .unwrap();
    assert_eq!(out.shared_secret().unwrap().as_ref(), local.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_key_pairs() {
    let t = start().await;
    let c = t.client();
    let k = c.create_key().send().await.unwrap().key_metadata.unwrap();
    for spec in [
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccSecgP256K1,
        DataKeyPairSpec::EccNistEdwards25519,
        DataKeyPairSpec::MlKem512,
        DataKeyPairSpec::MlKem1024,
    ] {
        let p = c
            .generate_data_key_pair()
            .key_id(k.key_id())
            .key_pair_spec(spec.clone())
            .encryption_context("k", "v")
            .send()
            .await
            .unwrap();
        let private = p.private_key_plaintext.unwrap();
        let ts = trent_types::KeySpec::parse(spec.as_str()).unwrap();
        let public = trent_crypto::asymmetric::public_key(
            ts,
            &trent_crypto::Secret::from_slice(private.as_ref()),
        )
        .unwrap();
        assert_eq!(p.public_key.unwrap().as_ref(), public.as_slice(), "{spec:?}");
        let back = c
            .decrypt()
            .ciphertext_blob(p.private_key_ciphertext_blob.unwrap())
            .encryption_context("k", "v")
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), private.as_ref());
    }
    let np = c
        .generate_data_key_pair_without_plaintext()
        .key_id(k.key_id())
        .key_pair_spec(DataKeyPairSpec::EccNistP384)
        .send()
        .await
        .unwrap();
    assert!(np.public_key().is_some() && np.private_key_ciphertext_blob().is_some());
    let e = err(c
        .generate_data_key_pair()
        .key_id(k.key_id())
        .key_pair_spec(DataKeyPairSpec::Sm2)
        .send()
        .await
        .unwrap_err());
    // Outside China Regions SM2 is not in the enum AWS prints.
    assert_eq!(e.0, "ValidationException");
    assert!(e.1.contains("Value 'SM2' at 'keyPairSpec'") && e.1.contains("ML_KEM_1024"), "{}", e.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_hmac_material_is_the_key_and_stays_bound() {
    let t = start().await;
    let c = t.client();
    // HMAC: lengths AWS accepts, and the MAC is the HMAC of the imported key.
    let h = external(&c, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let e = import(&c, &h, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, &[1u8; 31])
        .await
        .unwrap_err();
    assert_eq!(e.0, "IncorrectKeyMaterialException");
    let hk = [7u8; 40];
    import(&c, &h, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, &hk).await.unwrap();
    let mac = c
        .generate_mac()
        .key_id(&h)
        .message(Blob::new(b"msg".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    let local = trent_crypto::mac::generate_mac(
        trent_types::MacAlgorithmSpec::HmacSha256,
        &trent_crypto::Secret::from_slice(&hk),
        b"msg",
    );
    assert_eq!(mac.as_ref(), local.as_slice());
    // A bound HMAC key takes no other material.
    let e = import(&c, &h, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, &[8u8; 40])
        .await
        .unwrap_err();
    assert_eq!(e.0, "IncorrectKeyMaterialException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_ecc_material_gives_its_public_key_and_only_it_reimports() {
    let t = start().await;
    let c = t.client();
    // ECC: the public key is the imported one; another curve is refused.
    let p256 = trent_crypto::asymmetric::generate(trent_types::KeySpec::EccNistP256).unwrap();
    let ec = external(&c, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let p384 = trent_crypto::asymmetric::generate(trent_types::KeySpec::EccNistP384).unwrap();
    let e =
        import(&c, &ec, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, p384.as_bytes())
            .await
            .unwrap_err();
    assert_eq!(e.0, "IncorrectKeyMaterialException");
    import(&c, &ec, AlgorithmSpec::RsaAesKeyWrapSha1, WrappingKeySpec::Rsa3072, p256.as_bytes())
        .await
        .unwrap();
    let public = c.get_public_key().key_id(&ec).send().await.unwrap().public_key.unwrap();
    assert_eq!(
        public.as_ref(),
        trent_crypto::asymmetric::public_key(trent_types::KeySpec::EccNistP256, &p256)
            .unwrap()
            .as_slice()
    );
    // Reimport of the same material works; different material does not.
    import(&c, &ec, AlgorithmSpec::RsaesOaepSha1, WrappingKeySpec::Rsa4096, p256.as_bytes())
        .await
        .unwrap();
    let other = trent_crypto::asymmetric::generate(trent_types::KeySpec::EccNistP256).unwrap();
    assert_eq!(
        import(&c, &ec, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, other.as_bytes())
            .await
            .unwrap_err()
            .0,
        "IncorrectKeyMaterialException"
    );
    // Symmetric-only parameters.
    let e = err(c
        .import_key_material()
        .key_id(&ec)
        .import_type(aws_sdk_kms::types::ImportType::NewKeyMaterial)
        .import_token(Blob::new(vec![1]))
        .encrypted_key_material(Blob::new(vec![1]))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "ValidationException".into(),
            "ImportType is valid only for symmetric encryption KMS keys.".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_rsa_private_keys_need_key_wrap_and_sign() {
    let t = start().await;
    let c = t.client();
    // RSA private keys need RSA_AES_KEY_WRAP; P-521 does not fit RSA_2048 with OAEP.
    let rsa = external(&c, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let e = err(c
        .get_parameters_for_import()
        .key_id(&rsa)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa4096)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    let rsa_key = trent_crypto::asymmetric::generate(trent_types::KeySpec::Rsa2048).unwrap();
    import(
        &c,
        &rsa,
        AlgorithmSpec::RsaAesKeyWrapSha256,
        WrappingKeySpec::Rsa2048,
        rsa_key.as_bytes(),
    )
    .await
    .unwrap();
    let s = c
        .sign()
        .key_id(&rsa)
        .message(Blob::new(b"x".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap();
    let spki =
        trent_crypto::asymmetric::public_key(trent_types::KeySpec::Rsa2048, &rsa_key).unwrap();
    assert!(trent_crypto::asymmetric::verify(
        trent_types::KeySpec::Rsa2048,
        &spki,
        trent_types::SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        trent_crypto::asymmetric::Message::Raw(b"x"),
        s.signature().unwrap().as_ref()
    )
    .unwrap());
    let p521 = external(&c, KeySpec::EccNistP521, KeyUsageType::SignVerify).await;
    let e = err(c
        .get_parameters_for_import()
        .key_id(&p521)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha1)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
}
