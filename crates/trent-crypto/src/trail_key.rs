//! The key that signs the trail's digest files: RSA 2048 with SHA256withRSA (PKCS #1 v1.5),
//! as CloudTrail signs its own ("Custom implementations of CloudTrail log file integrity
//! validation", CloudTrail user guide). Its public key is published as PKCS #1
//! `RSAPublicKey` DER, the form `ListPublicKeys` answers and `aws cloudtrail validate-logs`
//! loads.

use crate::{CryptoError, Secret};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, KeyPair, RsaKeyPair, UnparsedPublicKey};

/// The private key. Its PKCS #8 form leaves this type only as a [`Secret`] (to be sealed).
pub struct TrailSigningKey {
    pair: RsaKeyPair,
}

impl std::fmt::Debug for TrailSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrailSigningKey({})", self.fingerprint())
    }
}

impl TrailSigningKey {
    /// A new key, and its PKCS #8 document to keep (sealed).
    pub fn generate() -> Result<(Self, Secret), CryptoError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| CryptoError::Library)?;
        let der = pair.as_der().map_err(|_| CryptoError::Library)?;
        let pkcs8 = Secret::new(der.as_ref().to_vec());
        Ok((TrailSigningKey { pair }, pkcs8))
    }

    /// The key of a PKCS #8 document made by [`TrailSigningKey::generate`].
    pub fn from_pkcs8(pkcs8: &Secret) -> Result<Self, CryptoError> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8.as_bytes()).map_err(|_| CryptoError::Malformed)?;
        Ok(TrailSigningKey { pair })
    }

    /// The public key, PKCS #1 `RSAPublicKey` DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// What a digest file names its key by (`digestPublicKeyFingerprint`): 32 hex digits, as
    /// long as AWS's, here the first half of the SHA-256 of the public key's DER.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.public_key_der())
    }

    /// The SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut out = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut out)
            .map_err(|_| CryptoError::Library)?;
        Ok(out)
    }
}

/// The fingerprint of a public key given as PKCS #1 DER.
pub fn fingerprint_of(public_key_der: &[u8]) -> String {
    hex::encode(&crate::sha256(public_key_der)[..16])
}

/// Whether `signature` is a SHA256withRSA signature of `message` by the PKCS #1 DER key.
pub fn verify(public_key_der: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, public_key_der)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_the_published_key_and_only_for_its_message() {
        let (key, pkcs8) = TrailSigningKey::generate().unwrap();
        let again = TrailSigningKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key.public_key_der(), again.public_key_der());
        assert_eq!(key.fingerprint().len(), 32);
        let s = again.sign(b"2015-08-17T15:01:31Z\nbucket/key\nabc\nnull").unwrap();
        assert_eq!(s.len(), 256);
        assert!(verify(&key.public_key_der(), b"2015-08-17T15:01:31Z\nbucket/key\nabc\nnull", &s));
        assert!(!verify(&key.public_key_der(), b"2015-08-17T15:01:32Z\nbucket/key\nabc\nnull", &s));
        assert!(!format!("{key:?}").contains(&hex::encode(pkcs8.as_bytes())));
    }
}
