//! Start-up and authentication: the keyring (a data-encryption key wrapped by the root key and
//! kept in the store), and access-key lookup for SigV4.

use crate::{Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::{Keyring, RootKey, Secret};
use trent_store::Store;

const DEK_META: &str = "wrapped_dek";

/// The principal name of an account's root credentials.
pub const ACCOUNT_ROOT_USER: &str = "root";

/// Credentials of an access key, returned so the binary can write the credentials file.
#[derive(Clone)]
pub struct BootstrapCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub principal_arn: String,
}

impl std::fmt::Debug for BootstrapCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

pub(crate) const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub(crate) const SECRET_CHARS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn random_text(alphabet: &[u8], len: usize) -> Result<String> {
    let mut b = vec![0u8; len];
    trent_crypto::random_bytes(&mut b)?;
    // Both alphabets have a power-of-two size, so the modulo is unbiased.
    Ok(b.iter().map(|x| alphabet[*x as usize % alphabet.len()] as char).collect())
}

pub(crate) fn secret_context(access_key_id: &str) -> String {
    format!("access-key/{access_key_id}")
}

/// Whether the store already holds a data-encryption key wrapped by a root key (so that only
/// that root key can open it, and a new one must never be made).
pub async fn keyring_exists(store: &dyn Store) -> Result<bool> {
    Ok(store.get_meta(DEK_META).await?.is_some())
}

/// Loads the keyring: unwraps the stored DEK with the root key, or creates and stores one.
pub async fn open_keyring(store: &dyn Store, root: &dyn RootKey) -> Result<Keyring> {
    let wrapped = match store.get_meta(DEK_META).await? {
        Some(w) => w,
        None => {
            let dek = trent_crypto::random_secret(32)?;
            // Another node may have raced us: whatever is stored now wins.
            store.put_meta_if_absent(DEK_META, &root.wrap(&dek)?).await?
        }
    };
    let dek = root.unwrap(&wrapped).map_err(|_| {
        KmsError::Internal(
            "the root key cannot unwrap the stored data-encryption key (wrong root key file?)"
                .into(),
        )
    })?;
    Ok(Keyring::new(&dek)?)
}

impl Kms {
    /// The identity and SigV4 signing key of an access key for one date, Region and service,
    /// from a cache that trusts an entry for a few seconds (another node may delete the key;
    /// this server forgets it at once when its own admin deletes it).
    pub async fn signing_identity(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<Option<Arc<SigningIdentity>>> {
        let ck = (access_key_id.to_string(), date.to_string(), region.to_string());
        if let Some(k) = self.signing_keys.get(&ck) {
            return Ok(Some(k));
        }
        let Some(k) = self.store.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        let secret =
            self.keyring.open_secret(&secret_context(&k.access_key_id), &k.sealed_secret)?;
        let Ok(secret) = std::str::from_utf8(secret.as_bytes()) else { return Ok(None) };
        let identity = Arc::new(SigningIdentity {
            account: k.account_id,
            principal_arn: crate::in_partition_of(&k.principal_arn, region),
            key: trent_sigv4::SigningKey::derive(secret, date, region, service),
        });
        self.signing_keys.insert(ck, identity.clone());
        Ok(Some(identity))
    }

    /// Forgets the cached signing keys of an access key (deleted by this server's admin).
    pub(crate) fn forget_access_key(&self, access_key_id: &str) {
        self.signing_keys.retain(|(id, _, _)| id != access_key_id);
    }
}

/// Who an access key authenticates, and its derived signing key.
pub struct SigningIdentity {
    pub account: String,
    /// The principal, in the partition of the Region the request was signed for.
    pub principal_arn: String,
    pub key: trent_sigv4::SigningKey,
}

/// Signing keys cached per (access key id, date, Region).
pub(crate) type SigningKeyCache =
    crate::cache::BoundedCache<(String, String, String), Arc<SigningIdentity>>;

/// How many signing keys are cached, and for how long one is trusted before the store is
/// asked again: a key deleted on another node stops working within this time.
pub(crate) const SIGNING_KEY_CACHE: usize = 4096;
pub(crate) const SIGNING_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(5);
