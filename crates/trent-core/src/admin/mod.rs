//! Administration outside the KMS API — accounts, users, access keys, identity policies, bulk
//! key loading, declarative seeding — as `trent admin` performs it, directly on a store or through a running
//! server's admin socket. Admin calls take no API caller: whoever may reach the data
//! directory (or the socket in it) is the operator.

mod bulk;
mod identities;
mod listing;
mod seed;
mod xks;

pub(crate) use identities::{random_text, BASE32, SECRET_CHARS};
pub use identities::{BootstrapCredentials, ACCOUNT_ROOT_USER};
pub use seed::{Seed, SeedAccessKey, SeedAccount, SeedKey, SeedMaterial, SeedReport, SeedUser};

use crate::{Kms, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The administration of one [`Kms`].
pub struct Admin<'k> {
    kms: &'k Kms,
}

impl Kms {
    pub fn admin(&self) -> Admin<'_> {
        Admin { kms: self }
    }
}

/// One admin command, as the CLI sends it to a running server (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Command")]
pub enum AdminRequest {
    CreateAccount {
        account_id: String,
        /// The ARN partition (`aws` when absent).
        #[serde(default)]
        partition: Option<String>,
    },
    CreateUser {
        account_id: String,
        user_name: String,
    },
    ListUsers {
        account_id: String,
    },
    /// For a user, or for the account root without `user_name`.
    CreateAccessKey {
        account_id: String,
        user_name: Option<String>,
    },
    ListAccessKeys {
        account_id: String,
    },
    DeleteAccessKey {
        access_key_id: String,
    },
    PutUserPolicy {
        account_id: String,
        user_name: String,
        policy_name: String,
        policy_document: String,
    },
    DeleteUserPolicy {
        account_id: String,
        user_name: String,
        policy_name: String,
    },
    CreateKeys {
        account_id: String,
        region: String,
        count: usize,
    },
    ListKeys {
        account_id: String,
        region: String,
    },
    /// An XKS proxy endpoint of the account under a URI path prefix (docs/xks.md).
    CreateXksEndpoint {
        account_id: String,
        path_prefix: String,
        /// The subject (CN) a client certificate must have on it (mutual TLS), if any.
        client_subject: Option<String>,
    },
    /// A SigV4 credential of an endpoint (at most two at once).
    CreateXksCredential {
        path_prefix: String,
    },
    DeleteXksCredential {
        access_key_id: String,
    },
    /// Serves a symmetric key of the endpoint's account as an external key.
    PutXksKey {
        path_prefix: String,
        external_key_id: String,
        region: String,
        key_id: String,
        usages: Vec<String>,
        #[serde(default)]
        allowed: crate::xks::XksAllowed,
    },
    DeleteXksKey {
        path_prefix: String,
        external_key_id: String,
    },
    /// The endpoints of an account, with their credentials' ids and their keys.
    ListXksEndpoints {
        account_id: String,
    },
    DeleteXksEndpoint {
        path_prefix: String,
    },
    /// An online backup of the store to a new file (an absolute path).
    Backup {
        to: String,
        /// The account whose trail records it (none: not recorded, an older client).
        #[serde(default)]
        account_id: Option<String>,
    },
}

fn secret_text(c: &crate::BootstrapCredentials) -> String {
    String::from_utf8_lossy(c.secret_access_key.as_bytes()).into_owned()
}

impl Admin<'_> {
    /// Runs one command; the answer is the JSON `trent admin` prints.
    pub async fn execute(&self, req: AdminRequest) -> Result<Value> {
        self.execute_reporting(req, &|_, _| {}).await
    }

    /// As [`Admin::execute`], telling `progress` (done, total) how far a long command
    /// (`CreateKeys`) has come, for the CLI's progress bar.
    pub async fn execute_reporting(
        &self,
        req: AdminRequest,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<Value> {
        use AdminRequest as A;
        Ok(match req {
            A::CreateAccount { account_id, partition } => {
                let c = self.create_account(&account_id, partition.as_deref()).await?;
                json!({ "AccountId": account_id, "Root": { "Arn": c.principal_arn, "AccessKeyId": c.access_key_id, "SecretAccessKey": secret_text(&c) } })
            }
            A::CreateUser { account_id, user_name } => {
                let u = self.create_user(&account_id, &user_name).await?;
                json!({ "User": { "UserName": u.name, "Arn": u.arn() } })
            }
            A::ListUsers { account_id } => {
                let users = self.list_users(&account_id).await?;
                json!({ "Users": users.iter().map(|u| json!({ "UserName": u.name, "Arn": u.arn() })).collect::<Vec<_>>() })
            }
            A::CreateAccessKey { account_id, user_name } => {
                let c = self.create_user_access_key(&account_id, user_name.as_deref()).await?;
                json!({ "AccessKey": { "Arn": c.principal_arn, "AccessKeyId": c.access_key_id, "SecretAccessKey": secret_text(&c) } })
            }
            A::ListAccessKeys { account_id } => {
                let keys = self.list_account_access_keys(&account_id).await?;
                json!({ "AccessKeys": keys.iter().map(|k| json!({ "AccessKeyId": k.access_key_id, "Arn": k.principal_arn })).collect::<Vec<_>>() })
            }
            A::DeleteAccessKey { access_key_id } => {
                self.delete_access_key(&access_key_id).await?;
                json!({})
            }
            A::PutUserPolicy { account_id, user_name, policy_name, policy_document } => {
                self.put_user_policy(&account_id, &user_name, &policy_name, &policy_document)
                    .await?;
                json!({})
            }
            A::DeleteUserPolicy { account_id, user_name, policy_name } => {
                self.delete_user_policy(&account_id, &user_name, &policy_name).await?;
                json!({})
            }
            A::ListKeys { account_id, region } => self.list_keys(&account_id, &region).await?,
            A::Backup { to, account_id } => {
                let started = std::time::Instant::now();
                self.kms.store.backup_to(std::path::Path::new(&to)).await?;
                tracing::info!(to = %to, "backed up the store");
                if let Some(account) = account_id {
                    let request = json!({ "to": to });
                    self.note(&account, "trent.amazonaws.com", "Backup", request, json!(null))
                        .await?;
                }
                json!({ "Backup": to, "Seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0 })
            }
            A::CreateXksEndpoint { .. }
            | A::CreateXksCredential { .. }
            | A::DeleteXksCredential { .. }
            | A::PutXksKey { .. }
            | A::DeleteXksKey { .. }
            | A::ListXksEndpoints { .. }
            | A::DeleteXksEndpoint { .. } => self.xks(req).await?,
            A::CreateKeys { account_id, region, count } => {
                let started = std::time::Instant::now();
                self.bulk_create_keys(&account_id, &region, count, |n| {
                    progress(n as u64, count as u64);
                    if n % 100_000 == 0 || n == count {
                        tracing::info!(created = n, of = count, "bulk key creation");
                    }
                })
                .await?;
                let request = json!({ "count": count, "region": region });
                self.note(
                    &account_id,
                    "trent.amazonaws.com",
                    "BulkCreateKeys",
                    request,
                    json!(null),
                )
                .await?;
                let seconds = started.elapsed().as_secs_f64();
                json!({ "Created": count, "Seconds": (seconds * 10.0).round() / 10.0, "KeysPerSecond": (count as f64 / seconds).round() })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AdminRequest;

    #[test]
    fn requests_travel_as_tagged_json() {
        let r =
            AdminRequest::CreateUser { account_id: "111122223333".into(), user_name: "a".into() };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"Command":"CreateUser","account_id":"111122223333","user_name":"a"}"#);
        assert_eq!(serde_json::from_str::<AdminRequest>(&text).unwrap(), r);
    }
}
