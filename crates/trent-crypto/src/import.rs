//! Importing key material: RSA wrapping key pairs, unwrapping with each of AWS's wrapping
//! algorithms, and the import token that carries a wrapping private key between
//! GetParametersForImport and ImportKeyMaterial (docs/byok.md; AWS KMS developer guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html>).

use crate::keyring::Keyring;
use crate::{CryptoError, Secret};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_256};
use aws_lc_rs::rsa::{
    KeySize, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};

/// The wrapping key specs AWS offers (`WrappingKeySpec`): RSA, and SM2 in China Regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrappingSpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Sm2,
}

impl WrappingSpec {
    /// The RSA specs, slow to generate and so kept ready in the wrapping pool. SM2 key pairs
    /// take microseconds and are made on demand.
    pub const ALL: [WrappingSpec; 3] =
        [WrappingSpec::Rsa2048, WrappingSpec::Rsa3072, WrappingSpec::Rsa4096];

    /// The key size in bits (256 for SM2), which also names the spec inside import tokens.
    pub fn bits(self) -> u16 {
        match self {
            WrappingSpec::Rsa2048 => 2048,
            WrappingSpec::Rsa3072 => 3072,
            WrappingSpec::Rsa4096 => 4096,
            WrappingSpec::Sm2 => 256,
        }
    }

    fn from_bits(b: u16) -> Option<Self> {
        Self::ALL.into_iter().chain([WrappingSpec::Sm2]).find(|s| s.bits() == b)
    }

    fn key_size(self) -> Option<KeySize> {
        match self {
            WrappingSpec::Rsa2048 => Some(KeySize::Rsa2048),
            WrappingSpec::Rsa3072 => Some(KeySize::Rsa3072),
            WrappingSpec::Rsa4096 => Some(KeySize::Rsa4096),
            WrappingSpec::Sm2 => None,
        }
    }
}

/// The wrapping algorithms AWS still accepts (`RSAES_PKCS1_V1_5` was withdrawn 2023-10-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrapAlgorithm {
    /// RSAES_OAEP_SHA_1: OAEP with SHA-1 and MGF1-SHA-1, no label.
    OaepSha1,
    /// RSAES_OAEP_SHA_256: OAEP with SHA-256 and MGF1-SHA-256, no label.
    OaepSha256,
    /// RSA_AES_KEY_WRAP_SHA_1: OAEP-SHA-1 of an AES-256 key, then AES-KWP (RFC 5649).
    RsaAesSha1,
    /// RSA_AES_KEY_WRAP_SHA_256.
    RsaAesSha256,
    /// SM2PKE (China Regions) with an SM2 wrapping key: ASN.1 DER C1C3C2.
    Sm2pke,
}

impl WrapAlgorithm {
    pub const ALL: [WrapAlgorithm; 5] =
        [Self::OaepSha1, Self::OaepSha256, Self::RsaAesSha1, Self::RsaAesSha256, Self::Sm2pke];

    fn code(self) -> u8 {
        match self {
            Self::OaepSha1 => 1,
            Self::OaepSha256 => 2,
            Self::RsaAesSha1 => 3,
            Self::RsaAesSha256 => 4,
            Self::Sm2pke => 5,
        }
    }

    fn oaep(self) -> &'static OaepAlgorithm {
        match self {
            Self::OaepSha1 | Self::RsaAesSha1 | Self::Sm2pke => &OAEP_SHA1_MGF1SHA1,
            Self::OaepSha256 | Self::RsaAesSha256 => &OAEP_SHA256_MGF1SHA256,
        }
    }

    /// Whether the material is wrapped with AES-KWP under an RSA-wrapped AES key.
    pub fn is_rsa_aes(self) -> bool {
        matches!(self, Self::RsaAesSha1 | Self::RsaAesSha256)
    }
}

/// A wrapping key pair: the private key (PKCS#8 DER) and the public key as DER
/// SubjectPublicKeyInfo, the form GetParametersForImport returns.
pub struct WrappingKeyPair {
    pub spec: WrappingSpec,
    pub private_pkcs8: Secret,
    pub public_spki: Vec<u8>,
}

impl std::fmt::Debug for WrappingKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappingKeyPair({:?})", self.spec)
    }
}

impl WrappingKeyPair {
    /// Generates a fresh key pair. Slow (RSA-4096 takes about half a second of one core):
    /// call it off the async workers.
    pub fn generate(spec: WrappingSpec) -> Result<Self, CryptoError> {
        let Some(size) = spec.key_size() else {
            let private_pkcs8 = crate::asymmetric::sm2::generate()?;
            let public_spki = crate::asymmetric::sm2::public_key(&private_pkcs8)
                .map_err(|_| CryptoError::Library)?;
            return Ok(WrappingKeyPair { spec, private_pkcs8, public_spki });
        };
        let key = PrivateDecryptingKey::generate(size).map_err(|_| CryptoError::Library)?;
        let private = key.as_der().map_err(|_| CryptoError::Library)?;
        let public = key.public_key().as_der().map_err(|_| CryptoError::Library)?;
        Ok(WrappingKeyPair {
            spec,
            private_pkcs8: Secret::from_slice(private.as_ref()),
            public_spki: public.as_ref().to_vec(),
        })
    }
}

/// Why wrapped key material could not be unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwrapError {
    /// The length cannot be a wrapping by this key and algorithm.
    BadLength,
    /// Decryption failed (wrong key, wrong algorithm, corrupted).
    Failed,
}

/// Unwraps `wrapped` with the private key of a wrapping key pair (RSA part first for the
/// RSA_AES algorithms, as PKCS#11 CKM_RSA_AES_KEY_WRAP and AWS lay it out).
pub fn unwrap_material(
    alg: WrapAlgorithm,
    private_pkcs8: &Secret,
    wrapped: &[u8],
) -> Result<Secret, UnwrapError> {
    if alg == WrapAlgorithm::Sm2pke {
        return crate::asymmetric::sm2::decrypt(private_pkcs8, wrapped)
            .map_err(|_| UnwrapError::Failed);
    }
    let key = PrivateDecryptingKey::from_pkcs8(private_pkcs8.as_bytes())
        .map_err(|_| UnwrapError::Failed)?;
    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| UnwrapError::Failed)?;
    let n = key.key_size_bytes();
    let rsa_part = if alg.is_rsa_aes() {
        // At least one 8-byte block of padded material plus the 8-byte integrity block.
        if wrapped.len() < n + 16 || !(wrapped.len() - n).is_multiple_of(8) {
            return Err(UnwrapError::BadLength);
        }
        &wrapped[..n]
    } else {
        if wrapped.len() != n {
            return Err(UnwrapError::BadLength);
        }
        wrapped
    };
    let mut out = Secret::zeroed(key.min_output_size());
    let len = key
        .decrypt(alg.oaep(), rsa_part, out.as_mut_bytes(), None)
        .map_err(|_| UnwrapError::Failed)?
        .len();
    let mut v = out.into_vec();
    v.truncate(len);
    let first = Secret::new(v);
    if !alg.is_rsa_aes() {
        return Ok(first);
    }
    if first.len() != 32 {
        return Err(UnwrapError::Failed);
    }
    let kek = AesKek::new(&AES_256, first.as_bytes()).map_err(|_| UnwrapError::Failed)?;
    let rest = &wrapped[n..];
    let mut out = Secret::zeroed(rest.len());
    let len =
        kek.unwrap_with_padding(rest, out.as_mut_bytes()).map_err(|_| UnwrapError::Failed)?.len();
    let mut v = out.into_vec();
    v.truncate(len);
    Ok(Secret::new(v))
}

/// Wraps key material for import under a wrapping public key (DER SubjectPublicKeyInfo), as
/// a user does before ImportKeyMaterial: the step the AWS guide does with openssl.
pub fn wrap_material(
    alg: WrapAlgorithm,
    public_spki: &[u8],
    material: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if alg == WrapAlgorithm::Sm2pke {
        return crate::asymmetric::sm2::encrypt(public_spki, material)
            .map_err(|_| CryptoError::Malformed);
    }
    let public = OaepPublicEncryptingKey::new(
        PublicEncryptingKey::from_der(public_spki).map_err(|_| CryptoError::Malformed)?,
    )
    .map_err(|_| CryptoError::Malformed)?;
    let mut out = vec![0u8; public.ciphertext_size()];
    if !alg.is_rsa_aes() {
        let n = public
            .encrypt(alg.oaep(), material, &mut out, None)
            .map_err(|_| CryptoError::Malformed)?
            .len();
        out.truncate(n);
        return Ok(out);
    }
    let aes = crate::random_secret(32)?;
    let n = public
        .encrypt(alg.oaep(), aes.as_bytes(), &mut out, None)
        .map_err(|_| CryptoError::Library)?
        .len();
    out.truncate(n);
    let kek = AesKek::new(&AES_256, aes.as_bytes()).map_err(|_| CryptoError::Library)?;
    let mut wrapped = vec![0u8; material.len() + 16];
    let m =
        kek.wrap_with_padding(material, &mut wrapped).map_err(|_| CryptoError::Malformed)?.len();
    out.extend_from_slice(&wrapped[..m]);
    Ok(out)
}

impl WrapAlgorithm {
    /// The AWS name (`WrappingAlgorithm`).
    pub fn aws_name(self) -> &'static str {
        match self {
            Self::OaepSha1 => "RSAES_OAEP_SHA_1",
            Self::OaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaAesSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            Self::RsaAesSha256 => "RSA_AES_KEY_WRAP_SHA_256",
            Self::Sm2pke => "SM2PKE",
        }
    }

    pub fn from_aws_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.aws_name() == s)
    }
}

/// What an import token carries. Any node with the same keyring can redeem it; nothing of
/// it is stored.
#[derive(Debug)]
pub struct ImportToken {
    pub key_arn: String,
    pub algorithm: WrapAlgorithm,
    pub spec: WrappingSpec,
    pub expires_ms: i64,
    pub private_pkcs8: Secret,
}

const TOKEN_VERSION: u8 = 1;

/// Why an import token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours, tampered with, or sealed under another keyring.
    Invalid,
}

impl ImportToken {
    /// Seals the token: `version || AES-256-GCM(token key, body)`.
    pub fn seal(&self, ring: &Keyring) -> Result<Vec<u8>, CryptoError> {
        let mut body = Vec::with_capacity(self.private_pkcs8.len() + self.key_arn.len() + 32);
        body.push(self.algorithm.code());
        body.extend_from_slice(&self.spec.bits().to_be_bytes());
        body.extend_from_slice(&self.expires_ms.to_be_bytes());
        for part in [self.key_arn.as_bytes(), self.private_pkcs8.as_bytes()] {
            body.extend_from_slice(&(part.len() as u16).to_be_bytes());
            body.extend_from_slice(part);
        }
        let body = Secret::new(body);
        let mut out = vec![TOKEN_VERSION];
        out.extend(ring.seal_token(body.as_bytes())?);
        Ok(out)
    }

    pub fn open(ring: &Keyring, token: &[u8]) -> Result<Self, TokenError> {
        let (&v, sealed) = token.split_first().ok_or(TokenError::Invalid)?;
        if v != TOKEN_VERSION {
            return Err(TokenError::Invalid);
        }
        let body = ring.open_token(sealed).map_err(|_| TokenError::Invalid)?;
        let b = body.as_bytes();
        let take = |b: &[u8], at: usize, n: usize| {
            b.get(at..at + n).ok_or(TokenError::Invalid).map(|s| s.to_vec())
        };
        let code = *b.first().ok_or(TokenError::Invalid)?;
        let algorithm =
            WrapAlgorithm::ALL.into_iter().find(|a| a.code() == code).ok_or(TokenError::Invalid)?;
        let bits = u16::from_be_bytes(take(b, 1, 2)?.try_into().map_err(|_| TokenError::Invalid)?);
        let spec = WrappingSpec::from_bits(bits).ok_or(TokenError::Invalid)?;
        let expires_ms =
            i64::from_be_bytes(take(b, 3, 8)?.try_into().map_err(|_| TokenError::Invalid)?);
        let mut at = 11;
        let mut parts = Vec::with_capacity(2);
        for _ in 0..2 {
            let len =
                u16::from_be_bytes(take(b, at, 2)?.try_into().map_err(|_| TokenError::Invalid)?)
                    as usize;
            parts.push(take(b, at + 2, len)?);
            at += 2 + len;
        }
        let private_pkcs8 = Secret::new(parts.pop().ok_or(TokenError::Invalid)?);
        let key_arn = String::from_utf8(parts.pop().ok_or(TokenError::Invalid)?)
            .map_err(|_| TokenError::Invalid)?;
        Ok(ImportToken { key_arn, algorithm, spec, expires_ms, private_pkcs8 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(alg: WrapAlgorithm, spki: &[u8], material: &[u8]) -> Vec<u8> {
        wrap_material(alg, spki, material).unwrap()
    }

    #[test]
    fn every_algorithm_round_trips_and_detects_damage() {
        let pair = WrappingKeyPair::generate(WrappingSpec::Rsa2048).unwrap();
        let material = crate::random_secret(32).unwrap();
        for alg in WrapAlgorithm::ALL.into_iter().filter(|a| *a != WrapAlgorithm::Sm2pke) {
            let w = wrap(alg, &pair.public_spki, material.as_bytes());
            assert_eq!(unwrap_material(alg, &pair.private_pkcs8, &w).unwrap(), material, "{alg:?}");
            let mut bad = w.clone();
            bad[10] ^= 1;
            assert_eq!(
                unwrap_material(alg, &pair.private_pkcs8, &bad).unwrap_err(),
                UnwrapError::Failed
            );
            assert_eq!(
                unwrap_material(alg, &pair.private_pkcs8, &w[..w.len() - 1]).unwrap_err(),
                UnwrapError::BadLength
            );
        }
        // A long private key fits only through RSA_AES key wrap.
        let big = crate::random_secret(1200).unwrap();
        let w = wrap(WrapAlgorithm::RsaAesSha256, &pair.public_spki, big.as_bytes());
        assert_eq!(
            unwrap_material(WrapAlgorithm::RsaAesSha256, &pair.private_pkcs8, &w).unwrap(),
            big
        );
        // The wrong OAEP hash fails.
        let w = wrap(WrapAlgorithm::OaepSha1, &pair.public_spki, material.as_bytes());
        assert!(unwrap_material(WrapAlgorithm::OaepSha256, &pair.private_pkcs8, &w).is_err());
    }

    #[test]
    fn sm2_wrapping_keys_round_trip() {
        let pair = WrappingKeyPair::generate(WrappingSpec::Sm2).unwrap();
        let material = crate::random_secret(32).unwrap();
        let w = wrap(WrapAlgorithm::Sm2pke, &pair.public_spki, material.as_bytes());
        assert_eq!(
            unwrap_material(WrapAlgorithm::Sm2pke, &pair.private_pkcs8, &w).unwrap(),
            material
        );
        let mut bad = w.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert!(unwrap_material(WrapAlgorithm::Sm2pke, &pair.private_pkcs8, &bad).is_err());
        assert_eq!(WrappingSpec::from_bits(256), Some(WrappingSpec::Sm2));
    }

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let ring = Keyring::new(&crate::random_secret(32).unwrap()).unwrap();
        let pair = WrappingKeyPair::generate(WrappingSpec::Rsa2048).unwrap();
        let t = ImportToken {
            key_arn: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
            algorithm: WrapAlgorithm::RsaAesSha256,
            spec: WrappingSpec::Rsa2048,
            expires_ms: 1234,
            private_pkcs8: pair.private_pkcs8,
        };
        let sealed = t.seal(&ring).unwrap();
        assert!(sealed.len() < 6144);
        let back = ImportToken::open(&ring, &sealed).unwrap();
        assert_eq!(
            (back.key_arn.as_str(), back.algorithm, back.spec, back.expires_ms),
            (t.key_arn.as_str(), t.algorithm, t.spec, 1234)
        );
        assert_eq!(back.private_pkcs8, t.private_pkcs8);
        for i in [0, 1, 20, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(ImportToken::open(&ring, &bad).is_err());
        }
        let other = Keyring::new(&crate::random_secret(32).unwrap()).unwrap();
        assert!(ImportToken::open(&other, &sealed).is_err());
        assert!(ImportToken::open(&ring, b"").is_err());
    }
}
