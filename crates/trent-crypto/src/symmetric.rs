//! Symmetric encryption under a KMS key's material: a per-message AES-256-GCM key derived
//! with HKDF-SHA256 from the material and a random salt (as AWS derives one per call from its
//! HBK), so that no single GCM key ever sees enough messages to risk a nonce collision.

use crate::blob::{encode_context, BlobHeader, NONCE_LEN, SALT_LEN, TAG_LEN};
use crate::{random_bytes, CryptoError, Secret};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::hkdf;
use std::collections::BTreeMap;

const INFO: &[u8] = b"trent/v1/symmetric-default";

fn message_key(material: &Secret, salt: &[u8]) -> Result<LessSafeKey, CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(material.as_bytes());
    let info = [INFO];
    let okm = prk.expand(&info, &AES_256_GCM).map_err(|_| CryptoError::Library)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 64);
    aad.extend_from_slice(header);
    aad.extend_from_slice(&encode_context(context));
    aad
}

/// Encrypts `plaintext` under `material`, naming `key` and `material_id` in the blob.
pub fn encrypt(
    key: crate::KeyRef,
    material_id: &str,
    material: &Secret,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CryptoError> {
    seal(key, material_id, material, plaintext, context, false)
}

/// The first of an external key store key's two encryptions: a version-2 blob whose
/// `nonce ‖ ciphertext ‖ tag` the proxy encrypts next (see [`crate::blob::external`]).
pub fn encrypt_external(
    key: crate::KeyRef,
    material_id: &str,
    material: &Secret,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CryptoError> {
    seal(key, material_id, material, plaintext, context, true)
}

fn seal(
    key: crate::KeyRef,
    material_id: &str,
    material: &Secret,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
    external: bool,
) -> Result<Vec<u8>, CryptoError> {
    // Salt and nonce from one draw: each draw of aws-lc's generator reseeds from RDRAND.
    let mut fresh = [0u8; SALT_LEN + NONCE_LEN];
    random_bytes(&mut fresh)?;
    let (salt, nonce) = fresh.split_at(SALT_LEN);
    let salt: [u8; SALT_LEN] = salt.try_into().map_err(|_| CryptoError::Library)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Library)?;
    let header = BlobHeader { key, material_id: material_id.to_string(), salt, external };
    let mut out = header.encode()?;
    let header_len = out.len();
    out.reserve(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let aad = aad(&out[..header_len], context);
    let tag = message_key(material, &salt)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut out[header_len + NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Library)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts a blob whose header was parsed with [`BlobHeader::decode`]. Every failure is the
/// same opaque [`CryptoError::Decrypt`].
pub fn decrypt(
    blob: &[u8],
    header: &BlobHeader,
    header_len: usize,
    material: &Secret,
    context: &BTreeMap<String, String>,
) -> Result<Secret, CryptoError> {
    if blob.len() < header_len + NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let nonce = Nonce::try_assume_unique_for_key(&blob[header_len..header_len + NONCE_LEN])
        .map_err(|_| CryptoError::Decrypt)?;
    let aad = aad(&blob[..header_len], context);
    let mut buf = Secret::from_slice(&blob[header_len + NONCE_LEN..]);
    let n = message_key(material, &header.salt)
        .map_err(|_| CryptoError::Decrypt)?
        .open_in_place(nonce, Aad::from(&aad), buf.as_mut_bytes())
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    let mut v = buf.into_vec();
    v.truncate(n);
    Ok(Secret::new(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyRef;

    fn key() -> KeyRef {
        KeyRef {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        }
    }

    #[test]
    fn round_trip_and_context_binding() {
        let m = crate::random_secret(32).unwrap();
        let mid = "ab".repeat(32);
        let mut ctx = BTreeMap::new();
        ctx.insert("purpose".to_string(), "test".to_string());
        let blob = encrypt(key(), &mid, &m, b"hello", &ctx).unwrap();
        assert_eq!(blob.len(), 1 + 1 + 16 + 8 + 1 + 9 + 32 + 16 + 12 + 5 + 16);
        let (h, hl) = BlobHeader::decode(&blob).unwrap();
        assert_eq!(h.key, key());
        assert_eq!(h.material_id, mid);
        assert_eq!(decrypt(&blob, &h, hl, &m, &ctx).unwrap().as_bytes(), b"hello");
        assert!(decrypt(&blob, &h, hl, &m, &BTreeMap::new()).is_err());
        let mut t = blob.clone();
        *t.last_mut().unwrap() ^= 1;
        assert!(decrypt(&t, &h, hl, &m, &ctx).is_err());
        // A header edited to name another key no longer authenticates.
        let mut t = blob.clone();
        t[5] ^= 1;
        let (h2, hl2) = BlobHeader::decode(&t).unwrap();
        assert!(decrypt(&t, &h2, hl2, &m, &ctx).is_err());
    }

    #[test]
    fn mrk_ids_and_garbage() {
        let mut k = key();
        k.key_id = format!("mrk-{}", "0f".repeat(16));
        let m = crate::random_secret(32).unwrap();
        let blob = encrypt(k.clone(), &"00".repeat(32), &m, b"x", &BTreeMap::new()).unwrap();
        assert_eq!(BlobHeader::decode(&blob).unwrap().0.key, k);
        for n in 0..blob.len() {
            let _ = BlobHeader::decode(&blob[..n]);
        }
        assert!(BlobHeader::decode(b"").is_err());
        assert!(BlobHeader::decode(&[2u8; 200]).is_err());
    }
}
