//! `trent admin`: accounts, users, access keys and identity policies — through the running
//! server's admin socket when one holds the data directory, else directly in the data
//! directory or the shared PostgreSQL database (other nodes refuse a deleted access key
//! within five seconds).

use anyhow::Context as _;

use crate::datadir;
use crate::place::{open_store, Place};
use crate::progress::{Progress, Unit};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use trent_core::{AdminRequest, Kms, KmsConfig, SystemClock, WrappingPoolConfig};
use trent_crypto::Secret;

#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    place: Place,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account (and its root access key) unless it exists.
    CreateAccount {
        /// The account id: 12 digits.
        #[arg(long)]
        account_id: String,
        /// Its ARN partition: aws, aws-cn (China Regions, cn-*), aws-us-gov (us-gov-*), … Its
        /// credentials sign only for that partition's Regions, as in AWS [default: aws]
        #[arg(long)]
        partition: Option<String>,
    },
    /// Create a user `arn:<partition>:iam::<account>:user/<name>`.
    CreateUser {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The user's name (the last part of its ARN).
        #[arg(long)]
        user_name: String,
    },
    /// List the users of an account.
    ListUsers {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
    },
    /// Create an access key for a user (or the account root without --user-name).
    CreateAccessKey {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The user's name (the last part of its ARN).
        #[arg(long)]
        user_name: Option<String>,
        /// Also append it as a profile to this AWS shared-credentials file (mode 0600).
        #[arg(long)]
        credentials_file: Option<PathBuf>,
        /// The profile to write the key under in --credentials-file.
        #[arg(long, default_value = "default", requires = "credentials_file")]
        profile: String,
    },
    /// List the access keys of an account (ids and principals, never secrets).
    ListAccessKeys {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
    },
    /// Delete an access key: requests signed with it are refused from the next one.
    DeleteAccessKey {
        /// The access key id (AKIA…).
        #[arg(long)]
        access_key_id: String,
    },
    /// Attach (or replace) an inline identity policy of a user.
    PutUserPolicy {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The user's name (the last part of its ARN).
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The policy JSON, or `file://PATH`.
        #[arg(long)]
        policy_document: String,
    },
    /// Delete an inline identity policy of a user.
    DeleteUserPolicy {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The user's name (the last part of its ARN).
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// List the keys of an account and Region, with their state, origin, spec and aliases.
    ListKeys {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The Region of the keys.
        #[arg(long, default_value = "us-east-1")]
        region: String,
    },
    /// Copy the database, consistently, while the server runs (SQLite; PostgreSQL: pg_dump).
    /// The root key is not in it: back it up separately (docs/operations.md, Backups).
    Backup {
        /// The new file to write (never written over).
        #[arg(long)]
        to: PathBuf,
        /// The account whose trail records the backup (the server's own account).
        #[arg(long, env = "TRENT_ACCOUNT_ID", default_value = "111122223333")]
        account_id: String,
    },
    /// Put a backup back as the data directory's database (the server must be stopped; the
    /// database it replaces is kept beside it). The backup must open with this directory's
    /// root key.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Serve keys of an account to AWS KMS as an External Key Store proxy under
    /// `<prefix>/kms/xks/v1` (docs/xks.md).
    CreateXksEndpoint {
        /// The account whose keys it serves (12 digits).
        #[arg(long)]
        account_id: String,
        /// The URI path prefix (the spec's optional prefix), e.g. `keystores/finance`.
        #[arg(long)]
        path_prefix: String,
        /// Require a client certificate with this subject (CN) on the endpoint: mutual TLS,
        /// with `serve --tls-client-ca CA --tls-client-optional`. AWS KMS presents
        /// `cks.kms.<region>.amazonaws.com`.
        #[arg(long)]
        client_subject: Option<String>,
    },
    /// A SigV4 credential for AWS KMS to sign its XKS requests with; prints the proxy
    /// configuration file the AWS KMS console takes. At most two at once (rotation).
    CreateXksCredential {
        /// The endpoint's URI path prefix (as given to create-xks-endpoint).
        #[arg(long)]
        path_prefix: String,
    },
    /// Delete an XKS credential (after UpdateCustomKeyStore gave AWS KMS the new one).
    DeleteXksCredential {
        /// The credential's access key id (XKS…).
        #[arg(long)]
        access_key_id: String,
    },
    /// Serve a symmetric key of the endpoint's account as an external key.
    PutXksKey {
        /// The endpoint's URI path prefix (as given to create-xks-endpoint).
        #[arg(long)]
        path_prefix: String,
        /// The id AWS KMS names it by (CreateKey's XksKeyId): 1 to 128 of A-Z a-z 0-9 - . _
        #[arg(long)]
        external_key_id: String,
        /// The Trent key (its id).
        #[arg(long)]
        key_id: String,
        /// The key's Region.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// What it is served for: ENCRYPT, DECRYPT (repeat; default both), or NONE.
        #[arg(long = "usage")]
        usages: Vec<String>,
        /// Allow only these AWS principals (awsPrincipalArn; a trailing * matches a prefix).
        #[arg(long = "allow-principal")]
        allow_principals: Vec<String>,
        /// Allow only these AWS KMS keys (kmsKeyArn; a trailing * matches a prefix).
        #[arg(long = "allow-kms-key")]
        allow_kms_keys: Vec<String>,
    },
    /// Stop serving an external key.
    DeleteXksKey {
        /// The endpoint's URI path prefix (as given to create-xks-endpoint).
        #[arg(long)]
        path_prefix: String,
        /// The external key id it is served under.
        #[arg(long)]
        external_key_id: String,
    },
    /// The XKS endpoints of an account, their credentials (ids) and keys.
    ListXksEndpoints {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
    },
    /// Delete an XKS endpoint with its credentials and keys (the Trent keys stay).
    DeleteXksEndpoint {
        /// The endpoint's URI path prefix (as given to create-xks-endpoint).
        #[arg(long)]
        path_prefix: String,
    },
    /// The test clock of a server started with --dev-clock (rehearsals only).
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Bulk-load symmetric encryption keys (as CreateKey makes them), 10,000 per transaction:
    /// for scale tests.
    CreateKeys {
        /// The account id (12 digits).
        #[arg(long)]
        account_id: String,
        /// The Region of the keys.
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// How many keys.
        #[arg(long)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// Move the running server's clock forward, e.g. `25h`, `7d`, `1d12h`, `90m`, `30s`; what
    /// the new time makes due (expiry, deletion, rotation) is done before this returns.
    Advance { duration: String },
}

/// `1d12h30m15s` (any of the parts, in this order) as milliseconds.
fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("'{text}' is not a duration like 25h, 7d, 1d12h, 90m or 30s");
    let (mut total, mut digits, mut last_unit) = (0i64, String::new(), 0usize);
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let units = [('d', 86_400_000i64), ('h', 3_600_000), ('m', 60_000), ('s', 1000)];
        let i = units.iter().position(|(u, _)| *u == c).ok_or_else(bad)?;
        let n: i64 = digits.parse().map_err(|_| bad())?;
        if i < last_unit {
            return Err(bad());
        }
        total = n.checked_mul(units[i].1).and_then(|v| v.checked_add(total)).ok_or_else(bad)?;
        (digits, last_unit) = (String::new(), i + 1);
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(total)
}

impl AdminCommand {
    /// The command as the domain takes it, and where to store a new access key, if asked.
    fn into_request(self) -> anyhow::Result<(AdminRequest, Option<(PathBuf, String)>)> {
        use AdminCommand as C;
        use AdminRequest as R;
        Ok(match self {
            C::CreateAccount { account_id, partition } => {
                (R::CreateAccount { account_id, partition }, None)
            }
            C::CreateUser { account_id, user_name } => {
                (R::CreateUser { account_id, user_name }, None)
            }
            C::ListUsers { account_id } => (R::ListUsers { account_id }, None),
            C::CreateAccessKey { account_id, user_name, credentials_file, profile } => (
                R::CreateAccessKey { account_id, user_name },
                credentials_file.map(|f| (f, profile)),
            ),
            C::ListAccessKeys { account_id } => (R::ListAccessKeys { account_id }, None),
            C::DeleteAccessKey { access_key_id } => (R::DeleteAccessKey { access_key_id }, None),
            C::PutUserPolicy { account_id, user_name, policy_name, policy_document } => {
                let policy_document = match policy_document.strip_prefix("file://") {
                    Some(p) => {
                        std::fs::read_to_string(p).with_context(|| format!("cannot read {p}"))?
                    }
                    None => policy_document,
                };
                (R::PutUserPolicy { account_id, user_name, policy_name, policy_document }, None)
            }
            C::DeleteUserPolicy { account_id, user_name, policy_name } => {
                (R::DeleteUserPolicy { account_id, user_name, policy_name }, None)
            }
            C::CreateKeys { account_id, region, count } => {
                (R::CreateKeys { account_id, region, count }, None)
            }
            C::ListKeys { account_id, region } => (R::ListKeys { account_id, region }, None),
            C::CreateXksEndpoint { account_id, path_prefix, client_subject } => {
                (R::CreateXksEndpoint { account_id, path_prefix, client_subject }, None)
            }
            C::CreateXksCredential { path_prefix } => {
                (R::CreateXksCredential { path_prefix }, None)
            }
            C::DeleteXksCredential { access_key_id } => {
                (R::DeleteXksCredential { access_key_id }, None)
            }
            C::PutXksKey {
                path_prefix,
                external_key_id,
                key_id,
                region,
                usages,
                allow_principals,
                allow_kms_keys,
            } => {
                // None given: both; NONE: neither (a key kept but not usable).
                let usages = match usages.as_slice() {
                    [] => vec!["ENCRYPT".into(), "DECRYPT".into()],
                    [none] if none == "NONE" => Vec::new(),
                    _ => usages,
                };
                let allowed = trent_core::xks::XksAllowed {
                    aws_principal_arns: allow_principals,
                    kms_key_arns: allow_kms_keys,
                };
                let r =
                    R::PutXksKey { path_prefix, external_key_id, region, key_id, usages, allowed };
                (r, None)
            }
            C::DeleteXksKey { path_prefix, external_key_id } => {
                (R::DeleteXksKey { path_prefix, external_key_id }, None)
            }
            C::ListXksEndpoints { account_id } => (R::ListXksEndpoints { account_id }, None),
            C::DeleteXksEndpoint { path_prefix } => (R::DeleteXksEndpoint { path_prefix }, None),
            C::Backup { to, account_id } => {
                // The server may run elsewhere than here: it gets an absolute path.
                let to = std::path::absolute(&to).with_context(|| format!("{}", to.display()))?;
                let to = to.to_str().context("the backup path is not UTF-8")?.to_string();
                (R::Backup { to, account_id: Some(account_id) }, None)
            }
            C::Restore { .. } => return Err(anyhow::anyhow!("a restore is this command's own")),
            C::Clock(_) => return Err(anyhow::anyhow!("the clock is the running server's")),
        })
    }
}

/// Opens the store and the keyring itself (no server holds the data directory).
async fn open(p: &Place) -> anyhow::Result<Kms> {
    let (store, keyring) = open_store(p).await?;
    let config = KmsConfig {
        wrapping_pool: WrappingPoolConfig { size_per_spec: 0, tokens_per_key_pair: 1 },
        ..KmsConfig::default()
    };
    Ok(Kms::new(store, keyring, Arc::new(SystemClock), config))
}

async fn run_here(
    p: &Place,
    req: AdminRequest,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<serde_json::Value> {
    let kms = open(p).await?;
    Ok(kms.admin().execute_reporting(req, progress).await?)
}

/// With PostgreSQL every node and `trent admin` write the database directly. With SQLite the
/// data directory has one writer: this command when no server runs (it holds the lock while
/// it works), otherwise the running server, through its admin socket.
async fn execute(
    p: &Place,
    req: AdminRequest,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<serde_json::Value> {
    if p.database_url.is_some() {
        return run_here(p, req, progress).await;
    }
    if !p.data_dir.join(datadir::DATABASE_FILE).exists() {
        return Err(anyhow::anyhow!(
            "{} has no Trent database: run `trent serve --data-dir {}` once first",
            p.data_dir.display(),
            p.data_dir.display()
        ));
    }
    match crate::lock::acquire(&p.data_dir, "trent admin") {
        Ok(lock) => {
            let out = run_here(p, req, progress).await;
            drop(lock);
            out
        }
        Err(crate::lock::LockError::Held(holder)) => {
            crate::admin_socket::send_reporting(&p.data_dir, &req, progress)
                .with_context(|| format!("the data directory is held by {holder}"))
        }
        Err(crate::lock::LockError::Io(e)) => Err(e),
    }
}

pub fn run(a: AdminArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(admin(a))
}

async fn admin(a: AdminArgs) -> anyhow::Result<()> {
    let place = a.place;
    if let AdminCommand::Restore { from } = &a.command {
        let lock = match crate::lock::acquire(&place.data_dir, "trent admin restore") {
            Ok(lock) => lock,
            Err(crate::lock::LockError::Held(holder)) => {
                return Err(anyhow::anyhow!(
                    "stop the server first: {holder} has the database open"
                ))
            }
            Err(crate::lock::LockError::Io(e)) => return Err(e),
        };
        let out = crate::backup::restore(&place, from).await;
        drop(lock);
        println!("{}", serde_json::to_string_pretty(&out?).unwrap_or_default());
        return Ok(());
    }
    if let AdminCommand::Clock(ClockCommand::Advance { duration }) = &a.command {
        // The clock lives in the running server only: there is nothing to do without one.
        let out =
            crate::admin_socket::send_advance_clock(&place.data_dir, parse_duration(duration)?)?;
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    let (req, save_to) = a.command.into_request()?;
    // The long commands show their progress on standard error.
    let out = match &req {
        AdminRequest::CreateKeys { count, .. } => {
            let total = *count as u64;
            let progress = Progress::new("creating keys", total, Unit::Count("keys"));
            let out = execute(&place, req, &|done, _| progress.set(done)).await;
            progress.finish(if out.is_ok() { total } else { 0 });
            out?
        }
        AdminRequest::Backup { to, .. } => {
            let watch = BackupWatch::start(&place, PathBuf::from(to));
            let out = execute(&place, req, &|_, _| {}).await;
            watch.stop();
            out?
        }
        _ => execute(&place, req, &|_, _| {}).await?,
    };
    if let Some((path, profile)) = save_to {
        let key = &out["AccessKey"];
        let id = key["AccessKeyId"].as_str().unwrap_or_default();
        let secret =
            Secret::new(key["SecretAccessKey"].as_str().unwrap_or_default().as_bytes().to_vec());
        datadir::append_profile(&path, &profile, id, &secret)?;
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}

/// The progress of a backup, read from the size of the file being written against the
/// database's (SQLite's VACUUM INTO says nothing while it copies; the copy is at most the
/// database's size, smaller when it had free pages).
struct BackupWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackupWatch {
    fn start(p: &Place, to: PathBuf) -> Self {
        let db = p.data_dir.join(datadir::DATABASE_FILE);
        let size = |f: &std::path::Path| std::fs::metadata(f).map_or(0, |m| m.len());
        let total = size(&db) + size(&PathBuf::from(format!("{}-wal", db.display())));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = (p.database_url.is_none() && total > 0).then(|| {
            std::thread::spawn(move || {
                let progress = Progress::new("backing up", total, Unit::Bytes);
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    progress.set(size(&to).min(total));
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                // The file as the backup left it (none if it failed).
                progress.finish(size(&to));
            })
        });
        BackupWatch { stop, thread }
    }

    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_are_days_hours_minutes_seconds() {
        assert_eq!(parse_duration("25h").ok(), Some(25 * 3_600_000));
        assert_eq!(parse_duration("1d12h").ok(), Some(36 * 3_600_000));
        assert_eq!(parse_duration("90m").ok(), Some(90 * 60_000));
        assert_eq!(parse_duration("1h30s").ok(), Some(3_630_000));
        for bad in ["", "25", "h", "12h1d", "1x", "0s", "-1h", "99999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
