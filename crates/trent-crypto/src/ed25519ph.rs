//! Ed25519ph (RFC 8032 §5.1, prehashed, empty context) for `ED25519_PH_SHA_512`, where the
//! caller sends the SHA-512 digest of the message. aws-lc-rs has no Ed25519ph, so this uses
//! ed25519-dalek, fed the digest the client already computed.

use digest::consts::U64;
use digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

/// A "hash" whose output is a digest computed elsewhere: what ed25519-dalek's prehash API
/// needs to sign a digest it did not compute itself.
#[derive(Clone)]
struct Prehashed([u8; 64]);

impl Default for Prehashed {
    fn default() -> Self {
        Prehashed([0; 64])
    }
}

impl OutputSizeUser for Prehashed {
    type OutputSize = U64;
}

impl Update for Prehashed {
    fn update(&mut self, _: &[u8]) {}
}

impl FixedOutput for Prehashed {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}

impl HashMarker for Prehashed {}

fn prehashed(digest: &[u8]) -> Option<Prehashed> {
    Some(Prehashed(digest.try_into().ok()?))
}

/// Signs a SHA-512 digest with the private key whose 32-byte seed is `seed`.
pub fn sign(seed: &[u8; 32], digest: &[u8]) -> Option<[u8; 64]> {
    let key = SigningKey::from_bytes(seed);
    key.sign_prehashed(prehashed(digest)?, None).ok().map(|s| s.to_bytes())
}

/// Verifies an Ed25519ph signature over a SHA-512 digest with a raw 32-byte public key.
pub fn verify(public: &[u8; 32], digest: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(sig), Some(d)) =
        (VerifyingKey::from_bytes(public), Signature::from_slice(signature), prehashed(digest))
    else {
        return false;
    };
    key.verify_prehashed(d, None, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.3, test "abc".
    #[test]
    fn rfc8032_ed25519ph_abc() {
        let hex32 = |s: &str| -> [u8; 32] { hex::decode(s).unwrap().try_into().unwrap() };
        let seed = hex32("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
        let public = hex32("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, b"abc");
        let sig = sign(&seed, digest.as_ref()).unwrap();
        assert_eq!(
            hex::encode(sig),
            "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
        );
        assert!(verify(&public, digest.as_ref(), &sig));
        assert!(!verify(&public, &[0u8; 64], &sig));
        assert!(sign(&seed, &[0u8; 63]).is_none());
    }
}
