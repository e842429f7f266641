//! The keyring: subkeys derived (HKDF-SHA256) from the data-encryption key for each purpose —
//! sealing key material and secrets at rest, computing key-material ids, and signing the
//! audit trail's checkpoints.

use crate::root::{gcm_open, gcm_seal};
use crate::{CryptoError, Secret};
use aws_lc_rs::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use aws_lc_rs::{hkdf, hmac};

/// Subkeys of one DEK. Every node that shares the database and the root key derives the same.
pub struct Keyring {
    material_seal: LessSafeKey,
    secret_seal: LessSafeKey,
    token_seal: LessSafeKey,
    material_id: hmac::Key,
    audit_checkpoint: hmac::Key,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(..)")
    }
}

fn derive(dek: &Secret, label: &[u8]) -> Result<Secret, CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"trent/v1/keyring").extract(dek.as_bytes());
    let info = [label];
    let okm = prk.expand(&info, hkdf::HKDF_SHA256).map_err(|_| CryptoError::Library)?;
    let mut out = Secret::zeroed(32);
    okm.fill(out.as_mut_bytes()).map_err(|_| CryptoError::Library)?;
    Ok(out)
}

fn aead(k: &Secret) -> Result<LessSafeKey, CryptoError> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, k.as_bytes()).map_err(|_| CryptoError::Library)?,
    ))
}

impl Keyring {
    pub fn new(dek: &Secret) -> Result<Self, CryptoError> {
        if dek.len() != 32 {
            return Err(CryptoError::Malformed);
        }
        Ok(Keyring {
            material_seal: aead(&derive(dek, b"material-seal")?)?,
            secret_seal: aead(&derive(dek, b"secret-seal")?)?,
            token_seal: aead(&derive(dek, b"import-token")?)?,
            material_id: hmac::Key::new(hmac::HMAC_SHA256, derive(dek, b"material-id")?.as_bytes()),
            audit_checkpoint: hmac::Key::new(
                hmac::HMAC_SHA256,
                derive(dek, b"audit-checkpoint")?.as_bytes(),
            ),
        })
    }

    /// The AAD that binds sealed key material to its key and material id, so that a row
    /// copied to another key (or relabelled) no longer opens.
    fn material_aad(key_arn: &str, material_id: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(key_arn.len() + material_id.len() + 24);
        aad.extend_from_slice(b"trent/v1/material\0");
        aad.extend_from_slice(key_arn.as_bytes());
        aad.push(0);
        aad.extend_from_slice(material_id.as_bytes());
        aad
    }

    pub fn seal_material(
        &self,
        key_arn: &str,
        material_id: &str,
        material: &Secret,
    ) -> Result<Vec<u8>, CryptoError> {
        gcm_seal(
            &self.material_seal,
            &Self::material_aad(key_arn, material_id),
            material.as_bytes(),
        )
    }

    pub fn open_material(
        &self,
        key_arn: &str,
        material_id: &str,
        sealed: &[u8],
    ) -> Result<Secret, CryptoError> {
        gcm_open(&self.material_seal, &Self::material_aad(key_arn, material_id), sealed)
    }

    /// Seals a secret that is not key material (e.g. a secret access key); `context` names
    /// what it belongs to and must be given again to open it.
    pub fn seal_secret(&self, context: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        gcm_seal(&self.secret_seal, context.as_bytes(), secret)
    }

    pub fn open_secret(&self, context: &str, sealed: &[u8]) -> Result<Secret, CryptoError> {
        gcm_open(&self.secret_seal, context.as_bytes(), sealed)
    }

    /// Seals the body of an import token.
    pub fn seal_token(&self, body: &[u8]) -> Result<Vec<u8>, CryptoError> {
        gcm_seal(&self.token_seal, b"trent/v1/import-token", body)
    }

    pub fn open_token(&self, sealed: &[u8]) -> Result<Secret, CryptoError> {
        gcm_open(&self.token_seal, b"trent/v1/import-token", sealed)
    }

    /// `KeyMaterialId`: 64 lowercase hex digits of HMAC-SHA256 over the key id and the
    /// material. AWS derives it "by a cryptographic hash over the key ID and the key
    /// material" without publishing how; ours is keyed so the id reveals nothing.
    pub fn material_id(&self, key_id: &str, material: &Secret) -> String {
        let mut ctx = hmac::Context::with_key(&self.material_id);
        ctx.update(&(key_id.len() as u32).to_be_bytes());
        ctx.update(key_id.as_bytes());
        ctx.update(material.as_bytes());
        hex::encode(ctx.sign().as_ref())
    }

    /// The MAC of an audit checkpoint (HMAC-SHA256 with a key only the root key can reach:
    /// the DEK it is derived from is unwrapped by the root key, in the HSM when it is there).
    pub fn audit_checkpoint_mac(&self, message: &[u8]) -> [u8; 32] {
        let tag = hmac::sign(&self.audit_checkpoint, message);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Whether `tag` is the MAC of `message`, compared in constant time.
    pub fn verify_audit_checkpoint(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.audit_checkpoint, message, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_bound_to_key_and_id() {
        let ring = Keyring::new(&crate::random_secret(32).unwrap()).unwrap();
        let m = crate::random_secret(32).unwrap();
        let id = ring.material_id("k1", &m);
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(id, ring.material_id("k1", &m));
        assert_ne!(id, ring.material_id("k2", &m));
        let sealed = ring.seal_material("arn:k1", &id, &m).unwrap();
        assert!(!sealed.windows(32).any(|w| w == m.as_bytes()));
        assert_eq!(ring.open_material("arn:k1", &id, &sealed).unwrap(), m);
        assert!(ring.open_material("arn:k2", &id, &sealed).is_err());
        assert!(ring.open_material("arn:k1", &"0".repeat(64), &sealed).is_err());
    }
}
