//! SM2 keys in a China Region through aws-sdk-kms: SM2DSA (RAW and DIGEST), SM2PKE, ECDH,
//! data key pairs, SM2 wrapping keys for import, and China's import restrictions.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec,
    KeyUsageType, MessageType, SigningAlgorithmSpec, WrappingKeySpec,
};
use trent_crypto::asymmetric;
use trent_crypto::Secret;

async fn sm2_key(c: &aws_sdk_kms::Client, usage: KeyUsageType) -> aws_sdk_kms::types::KeyMetadata {
    c.create_key()
        .key_spec(KeySpec::Sm2)
        .key_usage(usage)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sm2dsa_signs_raw_messages_verifiable_outside_the_server() {
    let t = start().await;
    let c = t.china().await;
    let signing = sm2_key(&c, KeyUsageType::SignVerify).await;
    assert_eq!(signing.signing_algorithms(), [SigningAlgorithmSpec::Sm2Dsa]);
    assert!(signing.arn().unwrap().starts_with("arn:aws-cn:kms:cn-north-1:"));
    let spki = c.get_public_key().key_id(signing.key_id()).send().await.unwrap();
    let spki = spki.public_key().unwrap().as_ref().to_vec();
    let sig = c
        .sign()
        .key_id(signing.key_id())
        .message(Blob::new("guomi"))
        .signing_algorithm(SigningAlgorithmSpec::Sm2Dsa)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    // Verified independently of the server with the default distinguishing ID.
    assert!(asymmetric::sm2::verify(&spki, b"guomi", false, sig.as_ref()).unwrap());
    let ok = c
        .verify()
        .key_id(signing.key_id())
        .message(Blob::new("guomi"))
        .signature(sig.clone())
        .signing_algorithm(SigningAlgorithmSpec::Sm2Dsa)
        .send()
        .await
        .unwrap();
    assert!(ok.signature_valid());
    let e = err(c
        .verify()
        .key_id(signing.key_id())
        .message(Blob::new("tampered"))
        .signature(sig)
        .signing_algorithm(SigningAlgorithmSpec::Sm2Dsa)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "KMSInvalidSignatureException");
    let e = err(c
        .sign()
        .key_id(signing.key_id())
        .message(Blob::new([0u8; 20]))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::Sm2Dsa)
        .send()
        .await
        .unwrap_err());
    assert_eq!(
        e,
        ("ValidationException".into(), "Digest is invalid length for algorithm SM2DSA.".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sm2pke_encrypts_up_to_1024_bytes() {
    let t = start().await;
    let c = t.china().await;
    let enc = sm2_key(&c, KeyUsageType::EncryptDecrypt).await;
    assert_eq!(enc.encryption_algorithms(), [EncryptionAlgorithmSpec::Sm2Pke]);
    let ct = c
        .encrypt()
        .key_id(enc.key_id())
        .plaintext(Blob::new("plaintext"))
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let pt = c
        .decrypt()
        .key_id(enc.key_id())
        .ciphertext_blob(ct)
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap();
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"plaintext");
    let e = err(c
        .encrypt()
        .key_id(enc.key_id())
        .plaintext(Blob::new(vec![1u8; 1025]))
        .encryption_algorithm(EncryptionAlgorithmSpec::Sm2Pke)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    assert!(e.1.contains("cannot encrypt data larger than 1024 bytes"), "{}", e.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sm2_ecdh_derives_one_secret_from_both_sides() {
    let t = start().await;
    let c = t.china().await;
    let a = sm2_key(&c, KeyUsageType::KeyAgreement).await;
    let b = sm2_key(&c, KeyUsageType::KeyAgreement).await;
    assert_eq!(a.key_agreement_algorithms(), [KeyAgreementAlgorithmSpec::Ecdh]);
    let public = |id: String| {
        let c = c.clone();
        async move { c.get_public_key().key_id(id).send().await.unwrap().public_key.unwrap() }
    };
    let derive = |id: String, peer: Blob| {
        let c = c.clone();
        async move {
            c.derive_shared_secret()
                .key_id(id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(peer)
                .send()
                .await
                .unwrap()
                .shared_secret
                .unwrap()
        }
    };
    let ab = derive(a.key_id().into(), public(b.key_id().into()).await).await;
    let ba = derive(b.key_id().into(), public(a.key_id().into()).await).await;
    assert_eq!(ab.as_ref(), ba.as_ref());
    assert_eq!(ab.as_ref().len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_key_pairs_and_import() {
    let t = start().await;
    let c = t.china().await;
    let sym = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let pair = c
        .generate_data_key_pair()
        .key_id(sym.key_id())
        .key_pair_spec(DataKeyPairSpec::Sm2)
        .send()
        .await
        .unwrap();
    let private = Secret::from_slice(pair.private_key_plaintext().unwrap().as_ref());
    assert_eq!(
        asymmetric::public_key(trent_types::KeySpec::Sm2, &private).unwrap(),
        pair.public_key().unwrap().as_ref()
    );
    // ML-KEM does not exist in China Regions.
    let e = err(c
        .generate_data_key_pair()
        .key_id(sym.key_id())
        .key_pair_spec(DataKeyPairSpec::MlKem768)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");

    // An SM2 private key imported with an SM2 wrapping key, and one with RSA-OAEP.
    for (alg, spec) in [
        (AlgorithmSpec::Sm2Pke, WrappingKeySpec::Sm2),
        (AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048),
    ] {
        let id = external(&c, KeySpec::Sm2, KeyUsageType::SignVerify).await;
        import(&c, &id, alg, spec, private.as_bytes()).await.unwrap();
        let got = c.get_public_key().key_id(&id).send().await.unwrap();
        assert_eq!(got.public_key().unwrap().as_ref(), pair.public_key().unwrap().as_ref());
    }
    // Symmetric material through SM2PKE.
    let id = external(&c, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    import(&c, &id, AlgorithmSpec::Sm2Pke, WrappingKeySpec::Sm2, &[7u8; 32]).await.unwrap();
    c.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap();

    // What China refuses: RSA_AES key wrap, and SM2PKE with an RSA wrapping key.
    let id = external(&c, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let e =
        import(&c, &id, AlgorithmSpec::RsaAesKeyWrapSha256, WrappingKeySpec::Rsa2048, &[7u8; 32])
            .await
            .unwrap_err();
    assert_eq!(e.0, "ValidationException");
    let e = import(&c, &id, AlgorithmSpec::Sm2Pke, WrappingKeySpec::Rsa2048, &[7u8; 32])
        .await
        .unwrap_err();
    assert_eq!(e.0, "ValidationException");
    // Outside China the SM2 wrapping spec is not in the enum.
    let us = t.client();
    let id = external(&us, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let e = import(&us, &id, AlgorithmSpec::Sm2Pke, WrappingKeySpec::Sm2, &[7u8; 32])
        .await
        .unwrap_err();
    assert_eq!(e.0, "ValidationException");
}
