//! Start-up: the keyring (a data-encryption key wrapped by the root key and kept in the
//! store), the default account with its access key, and access-key lookup for SigV4.

use crate::{Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::{Keyring, RootKey, Secret};
use trent_store::{AccessKeyRecord, AccountRecord, Store};

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

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_text(alphabet: &[u8], len: usize) -> Result<String> {
    let mut b = vec![0u8; len];
    trent_crypto::random_bytes(&mut b)?;
    // Both alphabets have a power-of-two size, so the modulo is unbiased.
    Ok(b.iter().map(|x| alphabet[*x as usize % alphabet.len()] as char).collect())
}

fn secret_context(access_key_id: &str) -> String {
    format!("access-key/{access_key_id}")
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
    /// Makes sure `account_id` exists with root credentials; returns them.
    pub async fn ensure_account(&self, account_id: &str) -> Result<BootstrapCredentials> {
        let now = self.now_ms();
        if self.store.get_account(account_id).await?.is_none() {
            self.store
                .put_account(&AccountRecord { account_id: account_id.to_string(), created_ms: now })
                .await?;
        }
        let principal_arn = format!("arn:aws:iam::{account_id}:{ACCOUNT_ROOT_USER}");
        let existing = self.store.list_access_keys(account_id).await?;
        if let Some(k) = existing.iter().find(|k| k.principal_arn == principal_arn) {
            let secret =
                self.keyring.open_secret(&secret_context(&k.access_key_id), &k.sealed_secret)?;
            return Ok(BootstrapCredentials {
                access_key_id: k.access_key_id.clone(),
                secret_access_key: secret,
                principal_arn,
            });
        }
        self.create_access_key(account_id, &principal_arn).await
    }

    /// Creates an access key for `principal_arn` in `account_id`.
    pub async fn create_access_key(
        &self,
        account_id: &str,
        principal_arn: &str,
    ) -> Result<BootstrapCredentials> {
        let access_key_id = format!("AKIA{}", random_text(BASE32, 16)?);
        let secret = Secret::new(random_text(SECRET_CHARS, 40)?.into_bytes());
        let sealed =
            self.keyring.seal_secret(&secret_context(&access_key_id), secret.as_bytes())?;
        self.store
            .put_access_key(&AccessKeyRecord {
                access_key_id: access_key_id.clone(),
                account_id: account_id.to_string(),
                principal_arn: principal_arn.to_string(),
                sealed_secret: sealed,
                created_ms: self.now_ms(),
            })
            .await?;
        Ok(BootstrapCredentials {
            access_key_id,
            secret_access_key: secret,
            principal_arn: principal_arn.to_string(),
        })
    }

    /// The account, principal and secret of an access key, for SigV4 verification.
    pub async fn lookup_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<BootstrapCredentialsWithAccount>>> {
        let Some(k) = self.store.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        let secret =
            self.keyring.open_secret(&secret_context(&k.access_key_id), &k.sealed_secret)?;
        Ok(Some(Arc::new(BootstrapCredentialsWithAccount {
            account_id: k.account_id,
            credentials: BootstrapCredentials {
                access_key_id: k.access_key_id,
                secret_access_key: secret,
                principal_arn: k.principal_arn,
            },
        })))
    }
}

/// An access key with the account it belongs to.
#[derive(Debug, Clone)]
pub struct BootstrapCredentialsWithAccount {
    pub account_id: String,
    pub credentials: BootstrapCredentials,
}
