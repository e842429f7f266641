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
pub mod trail_key;
pub mod xks;

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
    Ok(uuid_v4(b))
}

/// Two fresh random UUIDs (a request's id and its audit event's) from one draw: each draw
/// of aws-lc's generator reseeds from RDRAND, which costs about 0.5 µs in a VM.
pub fn new_id_pair() -> Result<(String, String), CryptoError> {
    let mut b = [0u8; 32];
    random_bytes(&mut b)?;
    let (first, second) = b.split_at(16);
    let id = |half: &[u8]| <[u8; 16]>::try_from(half).map(uuid_v4).unwrap_or_default();
    Ok((id(first), id(second)))
}

/// The version-4 (random) UUID of 16 random bytes (RFC 9562 §5.4).
fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// The 8-4-4-4-12 lowercase text form of 16 bytes.
pub fn format_uuid(b: &[u8; 16]) -> String {
    // Every request makes two (its request and event ids): hex into place, no `format!`.
    let mut text = [b'-'; 36];
    for (bytes, at) in [(0..4, 0), (4..6, 9), (6..8, 14), (8..10, 19), (10..16, 24)] {
        let end = at + 2 * bytes.len();
        // The slice is exactly twice the bytes' length: encoding cannot fail.
        let _ = hex::encode_to_slice(&b[bytes], &mut text[at..end]);
    }
    String::from_utf8(text.to_vec()).unwrap_or_default()
}

/// A new multi-Region key id: `mrk-` and 32 lowercase hex digits.
pub fn new_mrk_id() -> Result<String, CryptoError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(format!("mrk-{}", hex::encode(b)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_uuid_is_8_4_4_4_12_lowercase_hex() {
        let b: [u8; 16] = std::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(super::format_uuid(&b), "00112233-4455-6677-8899-aabbccddeeff");
        let id = super::new_key_id().unwrap();
        assert_eq!((id.len(), &id[14..15]), (36, "4"), "version 4: {id}");
    }

    #[test]
    fn an_id_pair_is_two_distinct_version_4_uuids() {
        let (a, b) = super::new_id_pair().unwrap();
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!((id.len(), &id[14..15]), (36, "4"), "version 4: {id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "RFC 9562 variant: {id}");
        }
    }
}
