//! HMAC keys: generation, accepted import lengths, GenerateMac and a constant-time VerifyMac.

use crate::{random_secret, CryptoError, Secret};
use aws_lc_rs::hmac;
use trent_types::{KeySpec, MacAlgorithmSpec as MA};

/// The MAC algorithm of an HMAC key spec (each spec has exactly one).
pub fn algorithm_of(spec: KeySpec) -> Option<MA> {
    match spec {
        KeySpec::Hmac224 => Some(MA::HmacSha224),
        KeySpec::Hmac256 => Some(MA::HmacSha256),
        KeySpec::Hmac384 => Some(MA::HmacSha384),
        KeySpec::Hmac512 => Some(MA::HmacSha512),
        _ => None,
    }
}

/// Key lengths AWS accepts for imported HMAC material, in bytes.
pub fn import_lengths(spec: KeySpec) -> Option<std::ops::RangeInclusive<usize>> {
    match spec {
        KeySpec::Hmac224 => Some(28..=64),
        KeySpec::Hmac256 => Some(32..=64),
        KeySpec::Hmac384 => Some(48..=128),
        KeySpec::Hmac512 => Some(64..=128),
        _ => None,
    }
}

/// A generated key has the digest's output length.
pub fn generate(spec: KeySpec) -> Result<Secret, CryptoError> {
    let len = *import_lengths(spec).ok_or(CryptoError::Malformed)?.start();
    random_secret(len)
}

fn lc(alg: MA) -> hmac::Algorithm {
    match alg {
        MA::HmacSha224 => hmac::HMAC_SHA224,
        MA::HmacSha256 => hmac::HMAC_SHA256,
        MA::HmacSha384 => hmac::HMAC_SHA384,
        MA::HmacSha512 => hmac::HMAC_SHA512,
    }
}

pub fn generate_mac(alg: MA, key: &Secret, message: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(lc(alg), key.as_bytes()), message).as_ref().to_vec()
}

/// Constant-time comparison of the expected MAC with `mac`.
pub fn verify_mac(alg: MA, key: &Secret, message: &[u8], mac: &[u8]) -> bool {
    hmac::verify(&hmac::Key::new(lc(alg), key.as_bytes()), message, mac).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let key = Secret::from_slice(b"Jefe");
        let mac = generate_mac(MA::HmacSha256, &key, b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_mac(MA::HmacSha256, &key, b"what do ya want for nothing?", &mac));
        assert!(!verify_mac(MA::HmacSha256, &key, b"what do ya want for nothing!", &mac));
        assert_eq!(generate(KeySpec::Hmac384).unwrap().len(), 48);
    }
}
