//! The root key: it wraps the data-encryption key (DEK) and nothing else, so that a root key
//! in an HSM (PKCS#11) needs only wrap/unwrap and is touched once at start-up.

use crate::{random_bytes, CryptoError, Secret};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

/// Something that can wrap and unwrap the DEK.
pub trait RootKey: Send + Sync {
    /// A short description for logs (never key bytes).
    fn describe(&self) -> String;
    fn wrap(&self, dek: &Secret) -> Result<Vec<u8>, CryptoError>;
    fn unwrap(&self, wrapped: &[u8]) -> Result<Secret, CryptoError>;
}

const WRAP_AAD: &[u8] = b"trent/v1/root-key-wrap";

/// A 256-bit AES key held in process memory, read from the root key file.
pub struct LocalRootKey {
    key: LessSafeKey,
}

impl LocalRootKey {
    pub const LEN: usize = 32;

    pub fn new(bytes: &Secret) -> Result<Self, CryptoError> {
        if bytes.len() != Self::LEN {
            return Err(CryptoError::Malformed);
        }
        let key =
            UnboundKey::new(&AES_256_GCM, bytes.as_bytes()).map_err(|_| CryptoError::Library)?;
        Ok(LocalRootKey { key: LessSafeKey::new(key) })
    }
}

impl RootKey for LocalRootKey {
    fn describe(&self) -> String {
        "local root key file (AES-256-GCM)".into()
    }

    fn wrap(&self, dek: &Secret) -> Result<Vec<u8>, CryptoError> {
        gcm_seal(&self.key, WRAP_AAD, dek.as_bytes())
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Secret, CryptoError> {
        gcm_open(&self.key, WRAP_AAD, wrapped)
    }
}

/// `nonce(12) || ciphertext || tag(16)` with a random nonce.
pub(crate) fn gcm_seal(
    key: &LessSafeKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    random_bytes(&mut nonce)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Library)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

pub(crate) fn gcm_open(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Secret, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Decrypt);
    }
    let nonce =
        Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).map_err(|_| CryptoError::Decrypt)?;
    let mut buf = Secret::from_slice(&sealed[NONCE_LEN..]);
    let len = key
        .open_in_place(nonce, Aad::from(aad), buf.as_mut_bytes())
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    let mut v = buf.into_vec();
    v.truncate(len);
    Ok(Secret::new(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_unwraps_and_detects_tampering() {
        let root = LocalRootKey::new(&crate::random_secret(32).unwrap()).unwrap();
        let dek = crate::random_secret(32).unwrap();
        let mut w = root.wrap(&dek).unwrap();
        assert_eq!(root.unwrap(&w).unwrap(), dek);
        w[20] ^= 1;
        assert_eq!(root.unwrap(&w), Err(CryptoError::Decrypt));
        let other = LocalRootKey::new(&crate::random_secret(32).unwrap()).unwrap();
        assert!(other.unwrap(&root.wrap(&dek).unwrap()).is_err());
    }
}
