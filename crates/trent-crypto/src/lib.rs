//! Everything cryptographic in Trent, on aws-lc-rs: secrets that wipe themselves, the root
//! key and the data-encryption key it wraps, sealing of key material at rest, key-material
//! identifiers, and the symmetric ciphertext blob. Pure: no I/O.

pub mod asymmetric;
pub mod blob;
pub mod ed25519ph;
pub mod import;
pub mod keyring;
pub mod mac;
pub mod root;
pub mod secret;
pub mod symmetric;

pub use blob::{BlobHeader, KeyRef};
pub use keyring::Keyring;
pub use root::{LocalRootKey, RootKey};
pub use secret::Secret;

/// A cryptographic operation failed. Deliberately without detail: on decrypt every failure
/// must look the same to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("decryption failed")]
    Decrypt,
    #[error("malformed input")]
    Malformed,
    #[error("the crypto library refused the operation")]
    Library,
}

/// Cryptographically secure random bytes.
pub fn random_bytes(out: &mut [u8]) -> Result<(), CryptoError> {
    aws_lc_rs::rand::fill(out).map_err(|_| CryptoError::Library)
}

/// A fresh random secret of `len` bytes.
pub fn random_secret(len: usize) -> Result<Secret, CryptoError> {
    let mut s = Secret::zeroed(len);
    random_bytes(s.as_mut_bytes())?;
    Ok(s)
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// A new key id: a random (version 4) UUID in lowercase, as AWS issues them.
pub fn new_key_id() -> Result<String, CryptoError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(format_uuid(&b))
}

/// The 8-4-4-4-12 lowercase text form of 16 bytes.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A new multi-Region key id: `mrk-` and 32 lowercase hex digits.
pub fn new_mrk_id() -> Result<String, CryptoError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(format!("mrk-{}", hex::encode(b)))
}
