//! `trent admin`: accounts, users, access keys and identity policies, managed directly in
//! the data directory or the shared database (a running server sees changes at once, and a
//! deleted access key stops working within five seconds).

use crate::datadir;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use trent_core::{Kms, KmsConfig, SystemClock, WrappingPoolConfig};

#[derive(Args)]
pub struct AdminArgs {
    /// The data directory of the server.
    #[arg(long, env = "TRENT_DATA_DIR", default_value = "./trent-data")]
    data_dir: PathBuf,
    /// The PostgreSQL database of the nodes, when they use one (see `trent serve`).
    #[arg(long, env = "TRENT_DATABASE_URL")]
    database_url: Option<String>,
    #[command(flatten)]
    root_key: crate::root_key::RootKeyArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (and its root access key) unless it exists.
    CreateAccount {
        #[arg(long)]
        account_id: String,
    },
    /// Create a user `arn:aws:iam::<account>:user/<name>`.
    CreateUser {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        user_name: String,
    },
    /// List the users of an account.
    ListUsers {
        #[arg(long)]
        account_id: String,
    },
    /// Create an access key for a user (or the account root without --user-name).
    CreateAccessKey {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        user_name: Option<String>,
        /// Also append it as a profile to this AWS shared-credentials file (mode 0600).
        #[arg(long)]
        credentials_file: Option<PathBuf>,
        #[arg(long, default_value = "default", requires = "credentials_file")]
        profile: String,
    },
    /// List the access keys of an account (ids and principals, never secrets).
    ListAccessKeys {
        #[arg(long)]
        account_id: String,
    },
    DeleteAccessKey {
        #[arg(long)]
        access_key_id: String,
    },
    /// Attach (or replace) an inline identity policy of a user.
    PutUserPolicy {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
        /// The policy JSON, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    DeleteUserPolicy {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
    },
    /// Bulk-load symmetric encryption keys (as CreateKey makes them), 10,000 per transaction:
    /// for scale tests. Stop the server first, or restart it after: it caches keys.
    CreateKeys {
        #[arg(long)]
        account_id: String,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long)]
        count: usize,
    },
}

async fn open(a: &AdminArgs) -> Result<Kms, String> {
    let (store, _) = crate::storage::open(&a.data_dir, a.database_url.as_deref(), false).await?;
    let root = crate::root_key::open(&a.data_dir, &a.root_key, false)?;
    let keyring =
        trent_core::open_keyring(store.as_ref(), root.as_ref()).await.map_err(|e| e.to_string())?;
    let config = KmsConfig {
        wrapping_pool: WrappingPoolConfig { size_per_spec: 0, tokens_per_key_pair: 1 },
        ..KmsConfig::default()
    };
    Ok(Kms::new(store, keyring, Arc::new(SystemClock), config))
}

fn secret_text(c: &trent_core::BootstrapCredentials) -> String {
    String::from_utf8_lossy(c.secret_access_key.as_bytes()).into_owned()
}

pub fn run(a: AdminArgs) -> Result<(), String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(admin(a))
}

async fn admin(a: AdminArgs) -> Result<(), String> {
    let kms = open(&a).await?;
    let e = |e: trent_core::KmsError| e.to_string();
    let out = match a.command {
        AdminCommand::CreateAccount { account_id } => {
            let c = kms.create_account(&account_id).await.map_err(e)?;
            json!({ "AccountId": account_id, "Root": { "Arn": c.principal_arn, "AccessKeyId": c.access_key_id, "SecretAccessKey": secret_text(&c) } })
        }
        AdminCommand::CreateUser { account_id, user_name } => {
            let u = kms.create_user(&account_id, &user_name).await.map_err(e)?;
            json!({ "User": { "UserName": u.name, "Arn": u.arn() } })
        }
        AdminCommand::ListUsers { account_id } => {
            let users = kms.list_users(&account_id).await.map_err(e)?;
            json!({ "Users": users.iter().map(|u| json!({ "UserName": u.name, "Arn": u.arn() })).collect::<Vec<_>>() })
        }
        AdminCommand::CreateAccessKey { account_id, user_name, credentials_file, profile } => {
            let c =
                kms.create_user_access_key(&account_id, user_name.as_deref()).await.map_err(e)?;
            if let Some(path) = credentials_file {
                datadir::append_profile(&path, &profile, &c.access_key_id, &c.secret_access_key)?;
            }
            json!({ "AccessKey": { "Arn": c.principal_arn, "AccessKeyId": c.access_key_id, "SecretAccessKey": secret_text(&c) } })
        }
        AdminCommand::ListAccessKeys { account_id } => {
            let keys = kms.list_account_access_keys(&account_id).await.map_err(e)?;
            json!({ "AccessKeys": keys.iter().map(|k| json!({ "AccessKeyId": k.access_key_id, "Arn": k.principal_arn })).collect::<Vec<_>>() })
        }
        AdminCommand::DeleteAccessKey { access_key_id } => {
            kms.delete_access_key(&access_key_id).await.map_err(e)?;
            json!({})
        }
        AdminCommand::PutUserPolicy { account_id, user_name, policy_name, policy_document } => {
            let doc = match policy_document.strip_prefix("file://") {
                Some(p) => {
                    std::fs::read_to_string(p).map_err(|err| format!("cannot read {p}: {err}"))?
                }
                None => policy_document,
            };
            kms.put_user_policy(&account_id, &user_name, &policy_name, &doc).await.map_err(e)?;
            json!({})
        }
        AdminCommand::DeleteUserPolicy { account_id, user_name, policy_name } => {
            kms.delete_user_policy(&account_id, &user_name, &policy_name).await.map_err(e)?;
            json!({})
        }
        AdminCommand::CreateKeys { account_id, region, count } => {
            let started = std::time::Instant::now();
            kms.bulk_create_keys(&account_id, &region, count, |n| {
                if n % 100_000 == 0 || n == count {
                    eprintln!("created {n} keys");
                }
            })
            .await
            .map_err(e)?;
            let seconds = started.elapsed().as_secs_f64();
            json!({ "Created": count, "Seconds": (seconds * 10.0).round() / 10.0, "KeysPerSecond": (count as f64 / seconds).round() })
        }
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}
