//! Start-up of a node: the keyring, a data-encryption key wrapped by the root key and kept in
//! the store, opened (or made, on the first start) before a [`crate::Kms`] exists.

use crate::{KmsError, Result};
use trent_crypto::{Keyring, RootKey};
use trent_store::Store;

const DEK_META: &str = "wrapped_dek";

/// The keyring of one store.
pub struct Bootstrap<'s> {
    store: &'s dyn Store,
}

impl<'s> Bootstrap<'s> {
    pub fn new(store: &'s dyn Store) -> Self {
        Bootstrap { store }
    }

    /// Whether the store already holds a data-encryption key wrapped by a root key (so that
    /// only that root key can open it, and a new one must never be made).
    pub async fn keyring_exists(&self) -> Result<bool> {
        Ok(self.store.get_meta(DEK_META).await?.is_some())
    }

    /// Loads the keyring: unwraps the stored DEK with the root key, or creates and stores one.
    pub async fn open_keyring(&self, root: &dyn RootKey) -> Result<Keyring> {
        let wrapped = match self.store.get_meta(DEK_META).await? {
            Some(w) => w,
            None => {
                let dek = trent_crypto::random_secret(32)?;
                // Another node may have raced us: whatever is stored now wins.
                self.store.put_meta_if_absent(DEK_META, &root.wrap(&dek)?).await?
            }
        };
        let dek = root.unwrap(&wrapped).map_err(|_| {
            KmsError::broken(
                "the root key cannot unwrap the stored data-encryption key (wrong root key file?)",
            )
        })?;
        Ok(Keyring::new(&dek)?)
    }
}
