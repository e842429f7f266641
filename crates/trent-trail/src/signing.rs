//! The trail's signing key: made once by the first node, kept in the store sealed under the
//! root key (meta `trail/signing-key`: its creation time, then the sealed PKCS #8), so that
//! every node of a cluster signs with it and nothing on a node's disk can forge a digest.

use trent_crypto::trail_key::TrailSigningKey;
use trent_crypto::{CryptoError, Keyring};
use trent_store::{MetaStore, StoreError};

const META: &str = "trail/signing-key";
/// What the sealed key is bound to: it opens only as this.
const CONTEXT: &str = "trent/v1/trail-signing-key";

/// The signing key and when it was made (the start of its validity in ListPublicKeys).
pub struct SigningKey {
    pub key: TrailSigningKey,
    pub created_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("the trail's signing key could not be read or kept")]
    Store(#[from] StoreError),
    #[error("the trail's signing key could not be made or opened")]
    Crypto(#[from] CryptoError),
    #[error("the stored trail signing key is malformed")]
    Malformed,
}

/// The store's signing key, if one was made.
pub async fn load(
    store: &dyn MetaStore,
    keyring: &Keyring,
) -> Result<Option<SigningKey>, SigningKeyError> {
    match store.get_meta(META).await? {
        Some(stored) => open(&stored, keyring).map(Some),
        None => Ok(None),
    }
}

fn open(stored: &[u8], keyring: &Keyring) -> Result<SigningKey, SigningKeyError> {
    let (created, sealed) = stored.split_at_checked(8).ok_or(SigningKeyError::Malformed)?;
    let created: [u8; 8] = created.try_into().map_err(|_| SigningKeyError::Malformed)?;
    let pkcs8 = keyring.open_secret(CONTEXT, sealed)?;
    Ok(SigningKey {
        key: TrailSigningKey::from_pkcs8(&pkcs8)?,
        created_ms: i64::from_be_bytes(created),
    })
}

/// The store's signing key, made (and kept) if there is none yet; two nodes starting at once
/// keep the first one stored.
pub async fn load_or_create(
    store: &dyn MetaStore,
    keyring: &Keyring,
    now_ms: i64,
) -> Result<SigningKey, SigningKeyError> {
    let stored = match store.get_meta(META).await? {
        Some(v) => v,
        None => {
            let (_, pkcs8) = TrailSigningKey::generate()?;
            let mut value = now_ms.to_be_bytes().to_vec();
            value.extend(keyring.seal_secret(CONTEXT, pkcs8.as_bytes())?);
            store.put_meta_if_absent(META, &value).await?
        }
    };
    open(&stored, keyring)
}
