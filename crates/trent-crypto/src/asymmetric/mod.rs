//! Asymmetric keys: generation, PKCS#8 validation against a key spec, public keys (DER
//! SubjectPublicKeyInfo), signing and verification (RAW, DIGEST, ML-DSA external μ), RSA-OAEP
//! and SM2PKE encryption, and ECDH — on aws-lc-rs, dispatching to `mldsa`, `mlkem` and `sm2`
//! for what it lacks. Private keys travel as PKCS#8 DER in wiping buffers.

use crate::{CryptoError, Secret};
use aws_lc_rs::agreement;
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair, RsaKeyPair, UnparsedPublicKey,
};
use trent_types::{EncryptionAlgorithmSpec as EA, KeySpec, SigningAlgorithmSpec as SA};

pub mod mldsa;
pub mod mlkem;
pub mod sm2;

/// Why a signing, verification or encryption request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsymError {
    /// A DIGEST message of the wrong length for the algorithm.
    DigestLength,
    /// Supported by AWS but not (yet) by Trent's crypto library.
    Unsupported(&'static str),
    /// The key material does not parse or does not fit the key spec.
    BadKey,
    /// Decryption or key agreement failed.
    Failed,
}

impl From<CryptoError> for AsymError {
    fn from(_: CryptoError) -> Self {
        AsymError::Failed
    }
}

fn rsa_bits(spec: KeySpec) -> Option<usize> {
    match spec {
        KeySpec::Rsa2048 => Some(2048),
        KeySpec::Rsa3072 => Some(3072),
        KeySpec::Rsa4096 => Some(4096),
        _ => None,
    }
}

fn ecdsa_alg(spec: KeySpec) -> Option<&'static sig::EcdsaSigningAlgorithm> {
    match spec {
        KeySpec::EccNistP256 => Some(&sig::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EccNistP384 => Some(&sig::ECDSA_P384_SHA384_ASN1_SIGNING),
        KeySpec::EccNistP521 => Some(&sig::ECDSA_P521_SHA512_ASN1_SIGNING),
        KeySpec::EccSecgP256k1 => Some(&sig::ECDSA_P256K1_SHA256_ASN1_SIGNING),
        _ => None,
    }
}

fn mldsa_alg(spec: KeySpec) -> Option<&'static sig::PqdsaSigningAlgorithm> {
    match spec {
        KeySpec::MlDsa44 => Some(&sig::ML_DSA_44_SIGNING),
        KeySpec::MlDsa65 => Some(&sig::ML_DSA_65_SIGNING),
        KeySpec::MlDsa87 => Some(&sig::ML_DSA_87_SIGNING),
        _ => None,
    }
}

fn ecdh_alg(spec: KeySpec) -> Option<&'static agreement::Algorithm> {
    match spec {
        KeySpec::EccNistP256 => Some(&agreement::ECDH_P256),
        KeySpec::EccNistP384 => Some(&agreement::ECDH_P384),
        KeySpec::EccNistP521 => Some(&agreement::ECDH_P521),
        _ => None,
    }
}

/// The key specs Trent can hold as asymmetric keys.
pub fn is_supported(spec: KeySpec) -> bool {
    rsa_bits(spec).is_some()
        || ecdsa_alg(spec).is_some()
        || mldsa_alg(spec).is_some()
        || mlkem::is_mlkem(spec)
        || spec == KeySpec::EccNistEdwards25519
        || spec == KeySpec::Sm2
}

fn doc(d: impl AsRef<[u8]>) -> Secret {
    Secret::from_slice(d.as_ref())
}

/// A fresh private key of `spec` as PKCS#8 DER. RSA-4096 takes about half a second: call
/// it off the async workers.
pub fn generate(spec: KeySpec) -> Result<Secret, CryptoError> {
    let lib = |_| CryptoError::Library;
    if let Some(bits) = rsa_bits(spec) {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            _ => KeySize::Rsa4096,
        };
        let k = RsaKeyPair::generate(size).map_err(lib)?;
        return Ok(doc(k.as_der().map_err(lib)?.as_ref()));
    }
    if let Some(alg) = ecdsa_alg(spec) {
        return Ok(doc(EcdsaKeyPair::generate(alg)
            .map_err(lib)?
            .to_pkcs8v1()
            .map_err(lib)?
            .as_ref()));
    }
    if let Some(alg) = mldsa_alg(spec) {
        return Ok(doc(PqdsaKeyPair::generate(alg)
            .map_err(lib)?
            .to_pkcs8v1()
            .map_err(lib)?
            .as_ref()));
    }
    if mlkem::is_mlkem(spec) {
        return mlkem::generate(spec);
    }
    if spec == KeySpec::Sm2 {
        return sm2::generate();
    }
    if spec == KeySpec::EccNistEdwards25519 {
        return Ok(doc(Ed25519KeyPair::generate()
            .map_err(lib)?
            .to_pkcs8v1()
            .map_err(lib)?
            .as_ref()));
    }
    Err(CryptoError::Malformed)
}

/// Parses `pkcs8` as a private key of exactly `spec` and returns its public key as DER
/// SubjectPublicKeyInfo. Any mismatch (curve, size, type) is `BadKey`.
pub fn public_key(spec: KeySpec, pkcs8: &Secret) -> Result<Vec<u8>, AsymError> {
    let der = pkcs8.as_bytes();
    fn bad<E>(_: E) -> AsymError {
        AsymError::BadKey
    }
    if let Some(bits) = rsa_bits(spec) {
        let k = RsaKeyPair::from_pkcs8(der).map_err(bad)?;
        if k.public_modulus_len() * 8 != bits {
            return Err(AsymError::BadKey);
        }
        return Ok(k.public_key().as_der().map_err(bad)?.as_ref().to_vec());
    }
    if let Some(alg) = ecdsa_alg(spec) {
        let k = EcdsaKeyPair::from_pkcs8(alg, der).map_err(bad)?;
        return Ok(k.public_key().as_der().map_err(bad)?.as_ref().to_vec());
    }
    if let Some(alg) = mldsa_alg(spec) {
        let k = PqdsaKeyPair::from_pkcs8(alg, der).map_err(bad)?;
        return Ok(k.public_key().as_der().map_err(bad)?.as_ref().to_vec());
    }
    if mlkem::is_mlkem(spec) {
        return mlkem::public_key(spec, pkcs8);
    }
    if spec == KeySpec::Sm2 {
        return sm2::public_key(pkcs8);
    }
    if spec == KeySpec::EccNistEdwards25519 {
        let k = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?;
        return Ok(k.public_key().as_der().map_err(bad)?.as_ref().to_vec());
    }
    Err(AsymError::BadKey)
}

/// The signing algorithms AWS lists for a key spec.
pub fn signing_algorithms(spec: KeySpec) -> Vec<SA> {
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => vec![
            SA::RsassaPssSha256,
            SA::RsassaPssSha384,
            SA::RsassaPssSha512,
            SA::RsassaPkcs1V15Sha256,
            SA::RsassaPkcs1V15Sha384,
            SA::RsassaPkcs1V15Sha512,
        ],
        KeySpec::EccNistP256 | KeySpec::EccSecgP256k1 => vec![SA::EcdsaSha256],
        KeySpec::EccNistP384 => vec![SA::EcdsaSha384],
        KeySpec::EccNistP521 => vec![SA::EcdsaSha512],
        KeySpec::EccNistEdwards25519 => vec![SA::Ed25519Sha512, SA::Ed25519PhSha512],
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => vec![SA::MlDsaShake256],
        KeySpec::Sm2 => vec![SA::Sm2dsa],
        _ => vec![],
    }
}

/// The encryption algorithms AWS lists for an ENCRYPT_DECRYPT key spec.
pub fn encryption_algorithms(spec: KeySpec) -> Vec<EA> {
    match spec {
        KeySpec::SymmetricDefault => vec![EA::SymmetricDefault],
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            vec![EA::RsaesOaepSha1, EA::RsaesOaepSha256]
        }
        KeySpec::Sm2 => vec![EA::Sm2pke],
        _ => vec![],
    }
}

/// The digest algorithm of a signing algorithm (the DIGEST message must have its length).
pub fn digest_of(alg: SA) -> Option<&'static digest::Algorithm> {
    match alg {
        SA::RsassaPssSha256 | SA::RsassaPkcs1V15Sha256 | SA::EcdsaSha256 => Some(&digest::SHA256),
        SA::RsassaPssSha384 | SA::RsassaPkcs1V15Sha384 | SA::EcdsaSha384 => Some(&digest::SHA384),
        SA::RsassaPssSha512 | SA::RsassaPkcs1V15Sha512 | SA::EcdsaSha512 | SA::Ed25519PhSha512 => {
            Some(&digest::SHA512)
        }
        _ => None,
    }
}

/// The digest of `msg` with `alg` (what a client sends with MessageType DIGEST).
pub fn digest(alg: &'static digest::Algorithm, msg: &[u8]) -> Vec<u8> {
    digest::digest(alg, msg).as_ref().to_vec()
}

fn rsa_padding(alg: SA) -> Option<&'static dyn sig::RsaEncoding> {
    Some(match alg {
        SA::RsassaPssSha256 => &sig::RSA_PSS_SHA256,
        SA::RsassaPssSha384 => &sig::RSA_PSS_SHA384,
        SA::RsassaPssSha512 => &sig::RSA_PSS_SHA512,
        SA::RsassaPkcs1V15Sha256 => &sig::RSA_PKCS1_SHA256,
        SA::RsassaPkcs1V15Sha384 => &sig::RSA_PKCS1_SHA384,
        SA::RsassaPkcs1V15Sha512 => &sig::RSA_PKCS1_SHA512,
        _ => return None,
    })
}

fn verification_alg(spec: KeySpec, alg: SA) -> Option<&'static dyn sig::VerificationAlgorithm> {
    Some(match (spec, alg) {
        (_, SA::RsassaPssSha256) => &sig::RSA_PSS_2048_8192_SHA256,
        (_, SA::RsassaPssSha384) => &sig::RSA_PSS_2048_8192_SHA384,
        (_, SA::RsassaPssSha512) => &sig::RSA_PSS_2048_8192_SHA512,
        (_, SA::RsassaPkcs1V15Sha256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (_, SA::RsassaPkcs1V15Sha384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (_, SA::RsassaPkcs1V15Sha512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, SA::EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccSecgP256k1, SA::EcdsaSha256) => &sig::ECDSA_P256K1_SHA256_ASN1,
        (KeySpec::EccNistP384, SA::EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeySpec::EccNistP521, SA::EcdsaSha512) => &sig::ECDSA_P521_SHA512_ASN1,
        (KeySpec::EccNistEdwards25519, SA::Ed25519Sha512) => &sig::ED25519,
        (KeySpec::MlDsa44, SA::MlDsaShake256) => &sig::ML_DSA_44,
        (KeySpec::MlDsa65, SA::MlDsaShake256) => &sig::ML_DSA_65,
        (KeySpec::MlDsa87, SA::MlDsaShake256) => &sig::ML_DSA_87,
        _ => return None,
    })
}

/// The message to sign or verify: the message itself, its digest, or (ML-DSA only) the
/// 64-byte message representative μ.
#[derive(Debug, Clone, Copy)]
pub enum Message<'a> {
    Raw(&'a [u8]),
    Digest(&'a [u8]),
    ExternalMu(&'a [u8]),
}

fn imported_digest(alg: SA, d: &[u8]) -> Result<Digest, AsymError> {
    let dalg =
        digest_of(alg).ok_or(AsymError::Unsupported("DIGEST messages for this algorithm"))?;
    Digest::import_less_safe(d, dalg).map_err(|_| AsymError::DigestLength)
}

/// Signs with the private key `pkcs8` of `spec`; the algorithm must be one of the spec's.
pub fn sign(
    spec: KeySpec,
    pkcs8: &Secret,
    alg: SA,
    msg: Message<'_>,
) -> Result<Vec<u8>, AsymError> {
    let der = pkcs8.as_bytes();
    let bad = |_: aws_lc_rs::error::KeyRejected| AsymError::BadKey;
    if alg == SA::Sm2dsa {
        return match msg {
            Message::Raw(m) => sm2::sign(pkcs8, m, false),
            Message::Digest(d) => sm2::sign(pkcs8, d, true),
            Message::ExternalMu(_) => Err(AsymError::DigestLength),
        };
    }
    if alg == SA::Ed25519PhSha512 {
        let Message::Digest(d) = msg else { return Err(AsymError::DigestLength) };
        let k = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?;
        let seed = k.seed().and_then(|s| s.as_be_bytes()).map_err(|_| AsymError::BadKey)?;
        let seed: &[u8; 32] = seed.as_ref().try_into().map_err(|_| AsymError::BadKey)?;
        return crate::ed25519ph::sign(seed, d).map(|s| s.to_vec()).ok_or(AsymError::DigestLength);
    }
    if let Some(padding) = rsa_padding(alg) {
        let k = RsaKeyPair::from_pkcs8(der).map_err(bad)?;
        let mut out = vec![0u8; k.public_modulus_len()];
        match msg {
            Message::Raw(m) => {
                k.sign(padding, &SystemRandom::new(), m, &mut out).map_err(|_| AsymError::Failed)?
            }
            Message::Digest(d) => k
                .sign_digest(padding, &imported_digest(alg, d)?, &mut out)
                .map_err(|_| AsymError::Failed)?,
            Message::ExternalMu(_) => return Err(AsymError::DigestLength),
        }
        return Ok(out);
    }
    if let Some(ec) = ecdsa_alg(spec) {
        let k = EcdsaKeyPair::from_pkcs8(ec, der).map_err(bad)?;
        let s = match msg {
            Message::Raw(m) => k.sign(&SystemRandom::new(), m),
            Message::Digest(d) => k.sign_digest(&imported_digest(alg, d)?),
            Message::ExternalMu(_) => return Err(AsymError::DigestLength),
        }
        .map_err(|_| AsymError::Failed)?;
        return Ok(s.as_ref().to_vec());
    }
    if let Some(pq) = mldsa_alg(spec) {
        let m = match msg {
            Message::Raw(m) => m,
            Message::ExternalMu(mu) => return mldsa::sign_mu(spec, pkcs8, mu),
            Message::Digest(_) => return Err(AsymError::DigestLength),
        };
        let k = PqdsaKeyPair::from_pkcs8(pq, der).map_err(bad)?;
        let mut out = vec![0u8; pq.signature_len()];
        let n = k.sign(m, &mut out).map_err(|_| AsymError::Failed)?;
        out.truncate(n);
        return Ok(out);
    }
    if spec == KeySpec::EccNistEdwards25519 {
        let Message::Raw(m) = msg else {
            return Err(AsymError::Unsupported("ED25519_SHA_512 with MessageType DIGEST"));
        };
        let k = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?;
        return Ok(k.sign(m).as_ref().to_vec());
    }
    Err(AsymError::BadKey)
}

/// Verifies `signature` with the public key `spki`; `Ok(false)` for a wrong signature.
pub fn verify(
    spec: KeySpec,
    spki: &[u8],
    alg: SA,
    msg: Message<'_>,
    signature: &[u8],
) -> Result<bool, AsymError> {
    if alg == SA::Sm2dsa {
        return match msg {
            Message::Raw(m) => sm2::verify(spki, m, false, signature),
            Message::Digest(d) => sm2::verify(spki, d, true, signature),
            Message::ExternalMu(_) => Err(AsymError::DigestLength),
        };
    }
    if alg == SA::Ed25519PhSha512 {
        let Message::Digest(d) = msg else { return Err(AsymError::DigestLength) };
        // An Ed25519 SubjectPublicKeyInfo is a fixed 12-byte prefix and the 32-byte key.
        const PREFIX: [u8; 12] =
            [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        if spki.len() != 44 || spki[..12] != PREFIX {
            return Err(AsymError::BadKey);
        }
        let public: &[u8; 32] = spki[12..].try_into().map_err(|_| AsymError::BadKey)?;
        return Ok(crate::ed25519ph::verify(public, d, signature));
    }
    let v = verification_alg(spec, alg).ok_or(AsymError::BadKey)?;
    let key = UnparsedPublicKey::new(v, spki);
    Ok(match msg {
        Message::Raw(m) => key.verify(m, signature).is_ok(),
        Message::ExternalMu(mu) if mldsa_alg(spec).is_some() => {
            return mldsa::verify_mu(spec, spki, mu, signature)
        }
        Message::ExternalMu(_) => return Err(AsymError::DigestLength),
        Message::Digest(d) => {
            if mldsa_alg(spec).is_some() || spec == KeySpec::EccNistEdwards25519 {
                return Err(AsymError::Unsupported("this algorithm with MessageType DIGEST"));
            }
            key.verify_digest(&imported_digest(alg, d)?, signature).is_ok()
        }
    })
}

fn oaep(alg: EA) -> Option<&'static aws_lc_rs::rsa::OaepAlgorithm> {
    match alg {
        EA::RsaesOaepSha1 => Some(&aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1),
        EA::RsaesOaepSha256 => Some(&aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256),
        _ => None,
    }
}

/// The largest plaintext an asymmetric encryption algorithm takes: for RSA-OAEP modulus
/// bytes − 2·hLen − 2, for SM2PKE 1024 bytes (Encrypt API).
pub fn max_plaintext(spec: KeySpec, alg: EA) -> Option<usize> {
    if alg == EA::Sm2pke {
        return Some(sm2::MAX_PLAINTEXT);
    }
    let n = rsa_bits(spec)? / 8;
    let h = match alg {
        EA::RsaesOaepSha1 => 20,
        EA::RsaesOaepSha256 => 32,
        _ => return None,
    };
    Some(n - 2 * h - 2)
}

/// Encrypts `plaintext` to the public key `spki` with RSA-OAEP or SM2PKE.
pub fn encrypt(spki: &[u8], alg: EA, plaintext: &[u8]) -> Result<Vec<u8>, AsymError> {
    if alg == EA::Sm2pke {
        return sm2::encrypt(spki, plaintext);
    }
    let o = oaep(alg).ok_or(AsymError::BadKey)?;
    let k = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(spki).map_err(|_| AsymError::BadKey)?,
    )
    .map_err(|_| AsymError::BadKey)?;
    let mut out = vec![0u8; k.ciphertext_size()];
    let n = k.encrypt(o, plaintext, &mut out, None).map_err(|_| AsymError::Failed)?.len();
    out.truncate(n);
    Ok(out)
}

/// Decrypts an RSA-OAEP or SM2PKE ciphertext with the private key `pkcs8`.
pub fn decrypt(pkcs8: &Secret, alg: EA, ciphertext: &[u8]) -> Result<Secret, AsymError> {
    if alg == EA::Sm2pke {
        return sm2::decrypt(pkcs8, ciphertext);
    }
    let o = oaep(alg).ok_or(AsymError::BadKey)?;
    let k = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(pkcs8.as_bytes()).map_err(|_| AsymError::BadKey)?,
    )
    .map_err(|_| AsymError::BadKey)?;
    let mut out = Secret::zeroed(k.min_output_size());
    let n =
        k.decrypt(o, ciphertext, out.as_mut_bytes(), None).map_err(|_| AsymError::Failed)?.len();
    let mut v = out.into_vec();
    v.truncate(n);
    Ok(Secret::new(v))
}

/// ECDH between the private key `pkcs8` of `spec` and a peer public key (DER
/// SubjectPublicKeyInfo): the raw shared secret (the x coordinate), as AWS returns it.
pub fn ecdh(spec: KeySpec, pkcs8: &Secret, peer_spki: &[u8]) -> Result<Secret, AsymError> {
    if spec == KeySpec::Sm2 {
        return sm2::ecdh(pkcs8, peer_spki);
    }
    let alg = ecdh_alg(spec).ok_or(AsymError::BadKey)?;
    let private = agreement::PrivateKey::from_private_key_der(alg, pkcs8.as_bytes())
        .map_err(|_| AsymError::BadKey)?;
    let peer = agreement::UnparsedPublicKey::new(alg, peer_spki);
    agreement::agree(&private, peer, AsymError::Failed, |s| Ok(Secret::from_slice(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_generates_signs_and_verifies() {
        for spec in [
            KeySpec::Rsa2048,
            KeySpec::EccNistP256,
            KeySpec::EccNistP384,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
            KeySpec::EccNistEdwards25519,
            KeySpec::MlDsa44,
            KeySpec::MlDsa65,
            KeySpec::MlDsa87,
        ] {
            let key = generate(spec).unwrap();
            let spki = public_key(spec, &key).unwrap();
            for alg in signing_algorithms(spec).into_iter().filter(|a| *a != SA::Ed25519PhSha512) {
                let s = sign(spec, &key, alg, Message::Raw(b"message")).unwrap();
                assert!(
                    verify(spec, &spki, alg, Message::Raw(b"message"), &s).unwrap(),
                    "{spec:?} {alg:?}"
                );
                assert!(
                    !verify(spec, &spki, alg, Message::Raw(b"other"), &s).unwrap(),
                    "{spec:?} {alg:?}"
                );
                if let Some(d) = digest_of(alg) {
                    let dg = digest::digest(d, b"message");
                    let s2 = sign(spec, &key, alg, Message::Digest(dg.as_ref())).unwrap();
                    // A signature over the digest verifies as a signature over the message.
                    assert!(
                        verify(spec, &spki, alg, Message::Raw(b"message"), &s2).unwrap(),
                        "{spec:?} {alg:?} digest"
                    );
                    assert_eq!(
                        sign(spec, &key, alg, Message::Digest(&[0u8; 5])),
                        Err(AsymError::DigestLength)
                    );
                }
            }
        }
    }

    #[test]
    fn ed25519ph_over_a_digest() {
        let key = generate(KeySpec::EccNistEdwards25519).unwrap();
        let spki = public_key(KeySpec::EccNistEdwards25519, &key).unwrap();
        let d = digest(&digest::SHA512, b"prehashed");
        let s = sign(KeySpec::EccNistEdwards25519, &key, SA::Ed25519PhSha512, Message::Digest(&d))
            .unwrap();
        assert!(verify(
            KeySpec::EccNistEdwards25519,
            &spki,
            SA::Ed25519PhSha512,
            Message::Digest(&d),
            &s
        )
        .unwrap());
        let other = digest(&digest::SHA512, b"other");
        assert!(!verify(
            KeySpec::EccNistEdwards25519,
            &spki,
            SA::Ed25519PhSha512,
            Message::Digest(&other),
            &s
        )
        .unwrap());
    }

    #[test]
    fn keys_must_match_their_spec() {
        let p256 = generate(KeySpec::EccNistP256).unwrap();
        assert!(public_key(KeySpec::EccNistP256, &p256).is_ok());
        assert_eq!(public_key(KeySpec::EccNistP384, &p256), Err(AsymError::BadKey));
        assert_eq!(public_key(KeySpec::Rsa2048, &p256), Err(AsymError::BadKey));
        let rsa = generate(KeySpec::Rsa2048).unwrap();
        assert_eq!(public_key(KeySpec::Rsa3072, &rsa), Err(AsymError::BadKey));
    }

    #[test]
    fn rsa_oaep_and_ecdh() {
        let rsa = generate(KeySpec::Rsa2048).unwrap();
        let spki = public_key(KeySpec::Rsa2048, &rsa).unwrap();
        assert_eq!(max_plaintext(KeySpec::Rsa2048, EA::RsaesOaepSha256), Some(190));
        assert_eq!(max_plaintext(KeySpec::Rsa4096, EA::RsaesOaepSha1), Some(470));
        let ct = encrypt(&spki, EA::RsaesOaepSha256, b"hi").unwrap();
        assert_eq!(decrypt(&rsa, EA::RsaesOaepSha256, &ct).unwrap().as_bytes(), b"hi");
        assert!(decrypt(&rsa, EA::RsaesOaepSha1, &ct).is_err());
        let a = generate(KeySpec::EccNistP384).unwrap();
        let b = generate(KeySpec::EccNistP384).unwrap();
        let ab =
            ecdh(KeySpec::EccNistP384, &a, &public_key(KeySpec::EccNistP384, &b).unwrap()).unwrap();
        let ba =
            ecdh(KeySpec::EccNistP384, &b, &public_key(KeySpec::EccNistP384, &a).unwrap()).unwrap();
        assert_eq!(ab, ba);
        assert_eq!(ab.len(), 48);
    }
}
