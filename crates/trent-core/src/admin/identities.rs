//! Accounts, IAM-style users, their access keys and identity policies. Secrets are sealed in
//! the store; identity policies are validated when set.

use super::Admin;
use crate::authn::secret_context;
use crate::authz::PolicyDocument;
use crate::{KmsError, Result};
use serde_json::json;
use trent_crypto::Secret;
use trent_store::{AccessKeyRecord, AccountRecord, StoreError, UserRecord};
use trent_types::ErrorCode;

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

fn check_name(what: &str, name: &str, max: usize) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(KmsError::new(
            ErrorCode::ValidationException,
            format!("{what} must be 1 to {max} characters of [A-Za-z0-9+=,.@_-], not '{name}'."),
        ))
    }
}

fn check_account(account_id: &str) -> Result<()> {
    if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(KmsError::new(
            ErrorCode::ValidationException,
            format!("An account id is 12 digits, not '{account_id}'."),
        ))
    }
}

/// The partition named, or AWS's wording of a bad value.
fn check_partition(partition: &str) -> Result<&'static str> {
    crate::partition_named(partition).ok_or_else(|| {
        let names: Vec<&str> = crate::PARTITIONS.iter().map(|(n, _)| *n).collect();
        KmsError::new(
            ErrorCode::ValidationException,
            format!("A partition is one of {}, not '{partition}'.", names.join(", ")),
        )
    })
}

const IAM: &str = "iam.amazonaws.com";
const ORGANIZATIONS: &str = "organizations.amazonaws.com";

impl Admin<'_> {
    /// Creates an account in `partition` (default `aws`; with root credentials) unless it
    /// exists; returns the root's key. An existing account keeps its partition: naming
    /// another one is refused.
    pub async fn create_account(
        &self,
        account_id: &str,
        partition: Option<&str>,
    ) -> Result<BootstrapCredentials> {
        check_account(account_id)?;
        let partition = check_partition(partition.unwrap_or("aws"))?;
        let account = self.account(account_id, partition).await?;
        if account.partition != partition {
            return Err(KmsError::new(
                ErrorCode::AlreadyExistsException,
                format!(
                    "Account {account_id} exists in the partition {}, not {partition}.",
                    account.partition
                ),
            ));
        }
        self.ensure_account(account_id).await
    }

    /// The account, made in `partition` if it does not exist.
    async fn account(&self, account_id: &str, partition: &str) -> Result<AccountRecord> {
        if let Some(a) = self.kms.store.get_account(account_id).await? {
            return Ok(a);
        }
        let a = AccountRecord {
            account_id: account_id.to_string(),
            created_ms: self.kms.now_ms(),
            partition: partition.to_string(),
        };
        self.kms.store.put_account(&a).await?;
        let request = json!({ "accountId": account_id, "partition": partition });
        self.note(account_id, ORGANIZATIONS, "CreateAccount", request, json!(null)).await?;
        // Another node may have made it first: what the store holds is the account.
        Ok(self.kms.store.get_account(account_id).await?.unwrap_or(a))
    }

    pub async fn create_user(&self, account_id: &str, name: &str) -> Result<UserRecord> {
        check_account(account_id)?;
        check_name("A user name", name, 64)?;
        let account = self.account(account_id, "aws").await?;
        let user = UserRecord {
            account_id: account_id.to_string(),
            name: name.to_string(),
            created_ms: self.kms.now_ms(),
            partition: account.partition,
        };
        match self.kms.store.put_user(&user).await {
            Err(StoreError::AlreadyExists) => Err(KmsError::new(
                ErrorCode::AlreadyExistsException,
                format!("User with name {name} already exists."),
            )),
            other => {
                other?;
                let response = json!({ "user": { "userName": name, "arn": user.arn() } });
                let request = json!({ "userName": name });
                self.note(account_id, IAM, "CreateUser", request, response).await?;
                Ok(user)
            }
        }
    }

    pub async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        Ok(self.kms.store.list_users(account_id).await?)
    }

    pub(super) async fn user(&self, account_id: &str, name: &str) -> Result<UserRecord> {
        self.kms.store.get_user(account_id, name).await?.ok_or_else(|| {
            KmsError::new(
                ErrorCode::NotFoundException,
                format!("The user with name {name} cannot be found."),
            )
        })
    }

    /// A new access key for a user, or for the account root when `user` is `None`.
    pub async fn create_user_access_key(
        &self,
        account_id: &str,
        user: Option<&str>,
    ) -> Result<BootstrapCredentials> {
        check_account(account_id)?;
        let arn = match user {
            Some(name) => self.user(account_id, name).await?.arn(),
            None => self.ensure_account(account_id).await?.principal_arn,
        };
        self.create_access_key(account_id, &arn).await
    }

    pub async fn list_account_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>> {
        Ok(self.kms.store.list_access_keys(account_id).await?)
    }

    pub async fn delete_access_key(&self, access_key_id: &str) -> Result<()> {
        let account = self.kms.store.get_access_key(access_key_id).await?.map(|k| k.account_id);
        let deleted = self.kms.store.delete_access_key(access_key_id).await;
        if let (Ok(()), Some(account)) = (&deleted, &account) {
            let request = json!({ "accessKeyId": access_key_id });
            self.note(account, IAM, "DeleteAccessKey", request, json!(null)).await?;
        }
        match deleted {
            Err(StoreError::NotFound) => Err(KmsError::new(
                ErrorCode::NotFoundException,
                format!("The Access Key with id {access_key_id} cannot be found."),
            )),
            other => {
                // Refused at once by this server (other nodes: when their cache entry expires).
                self.kms.authentication().forget_access_key(access_key_id);
                Ok(other?)
            }
        }
    }

    /// Attaches (or replaces) an inline identity policy of a user.
    pub async fn put_user_policy(
        &self,
        account_id: &str,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        check_name("A policy name", policy_name, 128)?;
        let arn = self.user(account_id, user).await?.arn();
        let doc = PolicyDocument::parse(document)
            .map_err(|e| KmsError::new(ErrorCode::MalformedPolicyDocumentException, e.0))?;
        if doc.statements.iter().any(|s| s.principal.is_some() || s.not_principal.is_some()) {
            return Err(KmsError::new(
                ErrorCode::MalformedPolicyDocumentException,
                "Identity policies cannot have a Principal element.".into(),
            ));
        }
        self.kms.store.put_identity_policy(&arn, policy_name, document).await?;
        self.kms.access.authz_cache.forget_identity_policies(&arn);
        let request =
            json!({ "userName": user, "policyName": policy_name, "policyDocument": document });
        self.note(account_id, IAM, "PutUserPolicy", request, json!(null)).await
    }

    pub async fn delete_user_policy(
        &self,
        account_id: &str,
        user: &str,
        policy_name: &str,
    ) -> Result<()> {
        let arn = self.user(account_id, user).await?.arn();
        let deleted = self.kms.store.delete_identity_policy(&arn, policy_name).await;
        self.kms.access.authz_cache.forget_identity_policies(&arn);
        match deleted {
            Err(StoreError::NotFound) => Err(KmsError::new(
                ErrorCode::NotFoundException,
                format!("The user policy with name {policy_name} cannot be found."),
            )),
            other => {
                other?;
                let request = json!({ "userName": user, "policyName": policy_name });
                self.note(account_id, IAM, "DeleteUserPolicy", request, json!(null)).await
            }
        }
    }
}

impl Admin<'_> {
    /// Stores an access key with its secret sealed under the keyring.
    pub(super) async fn put_access_key(
        &self,
        account_id: &str,
        principal_arn: &str,
        access_key_id: &str,
        secret: &Secret,
    ) -> Result<()> {
        let sealed =
            self.kms.held.keyring.seal_secret(&secret_context(access_key_id), secret.as_bytes())?;
        self.kms
            .store
            .put_access_key(&AccessKeyRecord {
                access_key_id: access_key_id.to_string(),
                account_id: account_id.to_string(),
                principal_arn: principal_arn.to_string(),
                sealed_secret: sealed,
                created_ms: self.kms.now_ms(),
            })
            .await?;
        // The key by its id only, never its secret.
        let user = principal_arn.rsplit_once(":user/").map(|(_, name)| name);
        let response = json!({ "accessKey": { "accessKeyId": access_key_id, "status": "Active", "userName": user } });
        let request = json!({ "userName": user });
        self.note(account_id, IAM, "CreateAccessKey", request, response).await
    }

    /// Records what the operator did in `account_id` (`audit::admin_event`; identities are
    /// IAM's, whose events are in us-east-1).
    pub(super) async fn note(
        &self,
        account_id: &str,
        source: &str,
        name: &str,
        request: serde_json::Value,
        response: serde_json::Value,
    ) -> Result<()> {
        let now = self.kms.now_ms();
        let event = crate::audit::admin_event(
            account_id,
            "us-east-1",
            source,
            name,
            request,
            response,
            now,
        );
        self.kms.record_admin(event).await
    }

    /// The secret of a stored access key.
    pub(super) fn open_access_key_secret(&self, k: &AccessKeyRecord) -> Result<Secret> {
        Ok(self
            .kms
            .held
            .keyring
            .open_secret(&secret_context(&k.access_key_id), &k.sealed_secret)?)
    }

    /// Makes sure `account_id` exists (in the `aws` partition if it is new) with root
    /// credentials; returns them.
    pub async fn ensure_account(&self, account_id: &str) -> Result<BootstrapCredentials> {
        let account = self.account(account_id, "aws").await?;
        let principal_arn = account.root_arn();
        debug_assert!(principal_arn.ends_with(ACCOUNT_ROOT_USER));
        let existing = self.kms.store.list_access_keys(account_id).await?;
        if let Some(k) = existing.iter().find(|k| k.principal_arn == principal_arn) {
            let secret = self.open_access_key_secret(k)?;
            return Ok(BootstrapCredentials {
                access_key_id: k.access_key_id.clone(),
                secret_access_key: secret,
                principal_arn,
            });
        }
        self.create_access_key(account_id, &principal_arn).await
    }

    /// Creates an access key for `principal_arn` in `account_id`.
    async fn create_access_key(
        &self,
        account_id: &str,
        principal_arn: &str,
    ) -> Result<BootstrapCredentials> {
        let access_key_id = format!("AKIA{}", random_text(BASE32, 16)?);
        let secret = Secret::new(random_text(SECRET_CHARS, 40)?.into_bytes());
        self.put_access_key(account_id, principal_arn, &access_key_id, &secret).await?;
        Ok(BootstrapCredentials {
            access_key_id,
            secret_access_key: secret,
            principal_arn: principal_arn.to_string(),
        })
    }
}
