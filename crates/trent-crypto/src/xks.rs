//! The cryptography of the External Key Store proxy API (AWS's `xks_proxy_api_spec.md`, v1):
//! AES-256-GCM under an external key's material with the spec's AAD — the 2-byte big-endian
//! length of `additionalAuthenticatedData`, the data, the 1-byte length of
//! `ciphertextMetadata`, the metadata ("Encrypt", response parameter 2), so that neither can be
//! passed off as the other — and the Ciphertext Data Integrity Value (Appendix C). The key is
//! the material itself, as an HSM behind any proxy would use it, so that ciphertext made here
//! decrypts in any proxy that holds the same material.

use crate::{random_bytes, CryptoError, Secret};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

/// The initialization vector this proxy makes (the spec allows 12 or 16 bytes; AES-GCM's
/// 96-bit IV is the one it defines without hashing).
pub const IV_LEN: usize = 12;
/// The authentication tag's length: the spec's only one.
pub const TAG_LEN: usize = 16;
/// The most `ciphertextMetadata` may have.
pub const MAX_METADATA: usize = 20;
/// The most `additionalAuthenticatedData` may have that the 2-byte length can say.
const MAX_AAD: usize = u16::MAX as usize;

/// What an Encrypt returns, besides the metadata the caller chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub iv: [u8; IV_LEN],
    pub ciphertext: Vec<u8>,
    pub tag: [u8; TAG_LEN],
}

/// The AAD the key manager sees: `len16(aad) ‖ aad ‖ len8(metadata) ‖ metadata`.
pub fn gcm_aad(aad: &[u8], metadata: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let aad_len = u16::try_from(aad.len()).map_err(|_| CryptoError::Malformed)?;
    let metadata_len = match u8::try_from(metadata.len()) {
        Ok(n) if metadata.len() <= MAX_METADATA => n,
        _ => return Err(CryptoError::Malformed),
    };
    let mut out = Vec::with_capacity(3 + aad.len() + metadata.len());
    out.extend_from_slice(&aad_len.to_be_bytes());
    out.extend_from_slice(aad);
    out.push(metadata_len);
    out.extend_from_slice(metadata);
    Ok(out)
}

fn key(material: &Secret) -> Result<LessSafeKey, CryptoError> {
    let unbound =
        UnboundKey::new(&AES_256_GCM, material.as_bytes()).map_err(|_| CryptoError::Malformed)?;
    Ok(LessSafeKey::new(unbound))
}

/// Encrypts `plaintext` under `material` with a fresh random IV.
pub fn encrypt(
    material: &Secret,
    plaintext: &[u8],
    aad: &[u8],
    metadata: &[u8],
) -> Result<Sealed, CryptoError> {
    if aad.len() > MAX_AAD {
        return Err(CryptoError::Malformed);
    }
    let full_aad = gcm_aad(aad, metadata)?;
    let mut iv = [0u8; IV_LEN];
    random_bytes(&mut iv)?;
    let mut ciphertext = plaintext.to_vec();
    let tag = key(material)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(&full_aad),
            &mut ciphertext,
        )
        .map_err(|_| CryptoError::Library)?;
    let tag: [u8; TAG_LEN] = tag.as_ref().try_into().map_err(|_| CryptoError::Library)?;
    Ok(Sealed { iv, ciphertext, tag })
}

/// Decrypts; every failure (a wrong key, IV, tag, AAD or metadata, an IV of a length this
/// proxy never makes) is the same opaque [`CryptoError::Decrypt`].
pub fn decrypt(
    material: &Secret,
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
    aad: &[u8],
    metadata: &[u8],
) -> Result<Secret, CryptoError> {
    if tag.len() != TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| CryptoError::Decrypt)?;
    let full_aad = gcm_aad(aad, metadata).map_err(|_| CryptoError::Decrypt)?;
    let mut buf = Secret::zeroed(ciphertext.len() + TAG_LEN);
    buf.as_mut_bytes()[..ciphertext.len()].copy_from_slice(ciphertext);
    buf.as_mut_bytes()[ciphertext.len()..].copy_from_slice(tag);
    let n = key(material)
        .map_err(|_| CryptoError::Decrypt)?
        .open_in_place(nonce, Aad::from(&full_aad), buf.as_mut_bytes())
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    let mut v = buf.into_vec();
    v.truncate(n);
    Ok(Secret::new(v))
}

/// The Ciphertext Data Integrity Value: SHA-256 over `aad ‖ metadata ‖ iv ‖ ciphertext ‖ tag`
/// (Appendix C: no lengths; it guards against bit flips, not against an adversary).
pub fn integrity_value(
    aad: &[u8],
    metadata: &[u8],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [aad, metadata, iv, ciphertext, tag] {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn material() -> Secret {
        Secret::from_slice(&[7u8; 32])
    }

    #[test]
    fn the_specs_integrity_value_example() {
        // Appendix C: 33 bytes of AAD, 13 of metadata, a 12-byte IV, 12 bytes of ciphertext
        // and a 16-byte tag hash to qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=.
        let iv = hex::decode("1ccae5470f39700254779031").unwrap();
        let ciphertext = hex::decode("821c642b5b71783367deaf18").unwrap();
        let tag = hex::decode("bc1c4dda7707d6812447c5955e99b261").unwrap();
        let v = integrity_value(
            b"project=nile,department=marketing",
            b"key_version=1",
            &iv,
            &ciphertext,
            &tag,
        );
        assert_eq!(
            hex::encode(v),
            "a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7"
        );
    }

    #[test]
    fn round_trip_bound_to_aad_and_metadata() {
        let m = material();
        let s = encrypt(&m, b"Hello World!", b"project=nile", b"v1").unwrap();
        assert_eq!(s.ciphertext.len(), 12, "GCM keeps the plaintext's length");
        let back = decrypt(&m, &s.iv, &s.ciphertext, &s.tag, b"project=nile", b"v1").unwrap();
        assert_eq!(back.as_bytes(), b"Hello World!");
        let fails = |iv: &[u8], ct: &[u8], tag: &[u8], aad: &[u8], md: &[u8]| {
            matches!(decrypt(&m, iv, ct, tag, aad, md), Err(CryptoError::Decrypt))
        };
        assert!(fails(&s.iv, &s.ciphertext, &s.tag, b"project=nil", b"v1"));
        assert!(fails(&s.iv, &s.ciphertext, &s.tag, b"project=nile", b"v2"));
        assert!(fails(&s.iv, &s.ciphertext, &s.tag[..15], b"project=nile", b"v1"));
        assert!(fails(&[0u8; 16], &s.ciphertext, &s.tag, b"project=nile", b"v1"));
        let mut flipped = s.ciphertext.clone();
        flipped[0] ^= 1;
        assert!(fails(&s.iv, &flipped, &s.tag, b"project=nile", b"v1"));
        let other = Secret::from_slice(&[8u8; 32]);
        assert!(decrypt(&other, &s.iv, &s.ciphertext, &s.tag, b"project=nile", b"v1").is_err());
    }

    #[test]
    fn metadata_cannot_be_passed_off_as_aad() {
        // The spec's NOTE: encrypted with no AAD and metadata M, decrypting with AAD M and no
        // metadata must fail — the lengths in the AAD tell them apart.
        let m = material();
        let s = encrypt(&m, b"data key", b"", b"meta").unwrap();
        assert!(decrypt(&m, &s.iv, &s.ciphertext, &s.tag, b"meta", b"").is_err());
        assert!(decrypt(&m, &s.iv, &s.ciphertext, &s.tag, b"", b"meta").is_ok());
        assert_eq!(gcm_aad(b"ab", b"c").unwrap(), [0, 2, b'a', b'b', 1, b'c']);
        assert!(gcm_aad(b"", &[0u8; 21]).is_err(), "metadata is at most 20 bytes");
    }

    #[test]
    fn only_256_bit_material_is_a_key() {
        assert!(encrypt(&Secret::from_slice(&[1u8; 16]), b"x", b"", b"").is_err());
    }
}
