//! Every key type through aws-sdk-kms: creation rules, Sign/Verify (RAW and DIGEST),
//! GetPublicKey, RSA encryption, HMAC, ECDH, data key pairs, and importing HMAC and
//! asymmetric material.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, DataKeyPairSpec, EncryptionAlgorithmSpec, ExpirationModelType,
    KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType,
    SigningAlgorithmSpec, WrappingKeySpec,
};

async fn key(
    c: &aws_sdk_kms::Client,
    spec: KeySpec,
    usage: KeyUsageType,
) -> aws_sdk_kms::types::KeyMetadata {
    c.create_key().key_spec(spec).key_usage(usage).send().await.unwrap().key_metadata.unwrap()
}

/// The digest a DIGEST-type request carries for `alg`.
fn sha(alg: &SigningAlgorithmSpec, msg: &[u8]) -> Vec<u8> {
    let t = trent_types::SigningAlgorithmSpec::parse(alg.as_str()).unwrap();
    let d = trent_crypto::asymmetric::digest_of(t).unwrap();
    trent_crypto::asymmetric::digest(d, msg)
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
async fn sign_and_verify_every_algorithm() {
    let t = start().await;
    let c = t.client();
    let specs = [
        KeySpec::Rsa2048,
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256K1,
        KeySpec::EccNistEdwards25519,
        KeySpec::MlDsa44,
        KeySpec::MlDsa87,
    ];
    for spec in specs {
        let m = key(&c, spec.clone(), KeyUsageType::SignVerify).await;
        let id = m.key_id();
        for alg in
            m.signing_algorithms().iter().filter(|a| **a != SigningAlgorithmSpec::Ed25519PhSha512)
        {
            let s = c
                .sign()
                .key_id(id)
                .message(Blob::new(b"hello".to_vec()))
                .signing_algorithm(alg.clone())
                .send()
                .await
                .unwrap();
            let sig = s.signature.unwrap();
            let v = c
                .verify()
                .key_id(id)
                .message(Blob::new(b"hello".to_vec()))
                .signature(sig.clone())
                .signing_algorithm(alg.clone())
                .send()
                .await
                .unwrap();
            assert!(v.signature_valid());
            let e = err(c
                .verify()
                .key_id(id)
                .message(Blob::new(b"hellO".to_vec()))
                .signature(sig.clone())
                .signing_algorithm(alg.clone())
                .send()
                .await
                .unwrap_err());
            assert_eq!(
                e,
                ("KMSInvalidSignatureException".into(), String::new()),
                "{spec:?} {alg:?}"
            );
            if !matches!(spec, KeySpec::EccNistEdwards25519 | KeySpec::MlDsa44 | KeySpec::MlDsa87) {
                // A signature over the digest verifies as one over the message, and back.
                let digest = sha(alg, b"hello");
                let s2 = c
                    .sign()
                    .key_id(id)
                    .message(Blob::new(digest.clone()))
                    .message_type(MessageType::Digest)
                    .signing_algorithm(alg.clone())
                    .send()
                    .await
                    .unwrap();
                c.verify()
                    .key_id(id)
                    .message(Blob::new(b"hello".to_vec()))
                    .signature(s2.signature.unwrap())
                    .signing_algorithm(alg.clone())
                    .send()
                    .await
                    .unwrap();
                c.verify()
                    .key_id(id)
                    .message(Blob::new(digest))
                    .message_type(MessageType::Digest)
                    .signature(sig)
                    .signing_algorithm(alg.clone())
                    .send()
                    .await
                    .unwrap();
                let e = err(c
                    .sign()
                    .key_id(id)
                    .message(Blob::new(vec![1; 7]))
                    .message_type(MessageType::Digest)
                    .signing_algorithm(alg.clone())
                    .send()
                    .await
                    .unwrap_err());
                assert_eq!(
                    e,
                    (
                        "ValidationException".into(),
                        format!("Digest is invalid length for algorithm {}.", alg.as_str())
                    )
                );
            }
        }
    }
    // Ed25519: ED25519_SHA_512 signs the message, ED25519_PH_SHA_512 its SHA-512 digest.
    let ed = key(&c, KeySpec::EccNistEdwards25519, KeyUsageType::SignVerify).await;
    let digest = sha(&SigningAlgorithmSpec::RsassaPssSha512, b"prehash me");
    let ph = SigningAlgorithmSpec::Ed25519PhSha512;
    let s = c
        .sign()
        .key_id(ed.key_id())
        .message(Blob::new(digest.clone()))
        .message_type(MessageType::Digest)
        .signing_algorithm(ph.clone())
        .send()
        .await
        .unwrap();
    let v = c
        .verify()
        .key_id(ed.key_id())
        .message(Blob::new(digest))
        .message_type(MessageType::Digest)
        .signature(s.signature.unwrap())
        .signing_algorithm(ph.clone())
        .send()
        .await
        .unwrap();
    assert!(v.signature_valid());
    let e = err(c
        .sign()
        .key_id(ed.key_id())
        .message(Blob::new(b"raw".to_vec()))
        .signing_algorithm(ph)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    let e = err(c
        .sign()
        .key_id(ed.key_id())
        .message(Blob::new(vec![0; 64]))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");

    // Wrong usage and wrong algorithm, with AWS's messages.
    let enc = key(&c, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let e = err(c
        .sign()
        .key_id(enc.key_id())
        .message(Blob::new(b"x".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "InvalidKeyUsageException".into(),
            format!(
                "{} key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
                enc.arn().unwrap()
            )
        )
    );
    let p256 = key(&c, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let e = err(c
        .sign()
        .key_id(p256.key_id())
        .message(Blob::new(b"x".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha384)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "InvalidKeyUsageException".into(),
            "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.".into()
        )
    );
    let e = err(c
        .encrypt()
        .key_id(p256.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        (
            "InvalidKeyUsageException".into(),
            format!(
                "{} key usage is SIGN_VERIFY which is not valid for Encrypt.",
                p256.arn().unwrap()
            )
        )
    );
    let e = err(c.rotate_key_on_demand().key_id(p256.key_id()).send().await.unwrap_err());
    assert_eq!(e, ("UnsupportedOperationException".into(), String::new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_encryption_public_keys_macs_and_ecdh() {
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
async fn importing_hmac_and_asymmetric_material() {
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
