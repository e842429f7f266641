//! Sign and Verify through aws-sdk-kms: every signing algorithm of every key spec, RAW and
//! DIGEST messages, Ed25519's pre-hash variant, and the refusals AWS words for a wrong key
//! usage or algorithm.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};

type Failed = (String, String);

async fn key(c: &aws_sdk_kms::Client, spec: KeySpec) -> aws_sdk_kms::types::KeyMetadata {
    c.create_key()
        .key_spec(spec)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
}

/// The digest a DIGEST-type request carries for `alg`.
fn sha(alg: &SigningAlgorithmSpec, msg: &[u8]) -> Vec<u8> {
    let t = trent_types::SigningAlgorithmSpec::parse(alg.as_str()).unwrap();
    let d = trent_crypto::asymmetric::digest_of(t).unwrap();
    trent_crypto::asymmetric::digest(d, msg)
}

/// Sign and Verify calls with one key and algorithm.
struct Signer<'a> {
    c: &'a aws_sdk_kms::Client,
    id: String,
    alg: SigningAlgorithmSpec,
}

impl Signer<'_> {
    async fn sign(&self, msg: &[u8], ty: MessageType) -> Result<Blob, Failed> {
        let s = self
            .c
            .sign()
            .key_id(&self.id)
            .message(Blob::new(msg.to_vec()))
            .message_type(ty)
            .signing_algorithm(self.alg.clone())
            .send()
            .await
            .map_err(err)?;
        Ok(s.signature.unwrap())
    }

    async fn verify(&self, msg: &[u8], ty: MessageType, sig: &Blob) -> Result<bool, Failed> {
        let v = self
            .c
            .verify()
            .key_id(&self.id)
            .message(Blob::new(msg.to_vec()))
            .message_type(ty)
            .signature(sig.clone())
            .signing_algorithm(self.alg.clone())
            .send()
            .await
            .map_err(err)?;
        Ok(v.signature_valid())
    }
}

/// Every signing algorithm of `specs`' keys (Ed25519's pre-hash variant has its own test).
async fn signers<'a>(c: &'a aws_sdk_kms::Client, specs: &[KeySpec]) -> Vec<Signer<'a>> {
    let mut out = Vec::new();
    for spec in specs {
        let m = key(c, spec.clone()).await;
        for alg in m.signing_algorithms() {
            if *alg != SigningAlgorithmSpec::Ed25519PhSha512 {
                out.push(Signer { c, id: m.key_id().to_string(), alg: alg.clone() });
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_algorithm_signs_and_verifies_and_refuses_another_message() {
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
    let all = signers(&c, &specs).await;
    // RSA has six, each ECDSA curve one, Ed25519 one (besides its pre-hash), ML-DSA one each.
    assert_eq!(all.len(), 13, "signing algorithms of the specs");
    for s in all {
        let sig = s.sign(b"hello", MessageType::Raw).await.unwrap();
        assert!(s.verify(b"hello", MessageType::Raw, &sig).await.unwrap(), "{:?}", s.alg);
        let e = s.verify(b"hellO", MessageType::Raw, &sig).await.unwrap_err();
        assert_eq!(e, ("KMSInvalidSignatureException".into(), String::new()), "{:?}", s.alg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_over_the_digest_is_one_over_the_message() {
    let t = start().await;
    let c = t.client();
    let specs = [
        KeySpec::Rsa2048,
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256K1,
    ];
    for s in signers(&c, &specs).await {
        let digest = sha(&s.alg, b"hello");
        let of_message = s.sign(b"hello", MessageType::Raw).await.unwrap();
        let of_digest = s.sign(&digest, MessageType::Digest).await.unwrap();
        assert!(s.verify(b"hello", MessageType::Raw, &of_digest).await.unwrap());
        assert!(s.verify(&digest, MessageType::Digest, &of_message).await.unwrap());
        let e = s.sign(&[1; 7], MessageType::Digest).await.unwrap_err();
        let message = format!("Digest is invalid length for algorithm {}.", s.alg.as_str());
        assert_eq!(e, ("ValidationException".into(), message));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_signs_the_message_and_its_prehash_variant_the_digest() {
    let t = start().await;
    let c = t.client();
    let ed = key(&c, KeySpec::EccNistEdwards25519).await;
    let id = ed.key_id().to_string();
    // ED25519_PH_SHA_512 signs a SHA-512 digest, and only a digest.
    let ph = Signer { c: &c, id: id.clone(), alg: SigningAlgorithmSpec::Ed25519PhSha512 };
    let digest = sha(&SigningAlgorithmSpec::RsassaPssSha512, b"prehash me");
    let sig = ph.sign(&digest, MessageType::Digest).await.unwrap();
    assert!(ph.verify(&digest, MessageType::Digest, &sig).await.unwrap());
    let e = ph.sign(b"raw", MessageType::Raw).await.unwrap_err();
    assert_eq!(e.0, "ValidationException");
    // ED25519_SHA_512 signs the message, and never a digest.
    let pure = Signer { c: &c, id, alg: SigningAlgorithmSpec::Ed25519Sha512 };
    let e = pure.sign(&[0; 64], MessageType::Digest).await.unwrap_err();
    assert_eq!(e.0, "ValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_usage_or_algorithm_is_refused_with_aws_messages() {
    let t = start().await;
    let c = t.client();
    let enc = c
        .create_key()
        .key_spec(KeySpec::Rsa2048)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let pss =
        Signer { c: &c, id: enc.key_id().to_string(), alg: SigningAlgorithmSpec::RsassaPssSha256 };
    let e = pss.sign(b"x", MessageType::Raw).await.unwrap_err();
    let arn = enc.arn().unwrap();
    let message = format!("{arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.");
    assert_eq!(e, ("InvalidKeyUsageException".into(), message));

    let p256 = key(&c, KeySpec::EccNistP256).await;
    let p384_alg =
        Signer { c: &c, id: p256.key_id().to_string(), alg: SigningAlgorithmSpec::EcdsaSha384 };
    let e = p384_alg.sign(b"x", MessageType::Raw).await.unwrap_err();
    let message = "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.";
    assert_eq!(e, ("InvalidKeyUsageException".into(), message.into()));

    let e = err(c
        .encrypt()
        .key_id(p256.key_id())
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err());
    let arn = p256.arn().unwrap();
    let message = format!("{arn} key usage is SIGN_VERIFY which is not valid for Encrypt.");
    assert_eq!(e, ("InvalidKeyUsageException".into(), message));
    let e = err(c.rotate_key_on_demand().key_id(p256.key_id()).send().await.unwrap_err());
    assert_eq!(e, ("UnsupportedOperationException".into(), String::new()));
}
