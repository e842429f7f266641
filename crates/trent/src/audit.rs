//! `trent audit verify`: checks the audit trail of a data directory (or given files) and says
//! where it was tampered with. While a server holds the data directory, that server checks
//! its own trail (admin socket); otherwise this command opens the keyring itself, which
//! needs the root key (or its HSM). Exit status 1 when the trail is broken.

use anyhow::Context as _;

use crate::audit_verify;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the digest chain and the signed checkpoints; name the first broken line.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    place: crate::place::Place,
    /// Trail files, oldest first (default: the data directory's `audit-*.log` and
    /// `audit.log`), e.g. copies shipped elsewhere.
    files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: AuditArgs) -> anyhow::Result<()> {
    let AuditCommand::Verify(v) = a.command;
    let report =
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(report(&v))?;
    let intact = if v.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        report["broken"].is_null()
    } else {
        audit_verify::print(&report)
    };
    if intact {
        Ok(())
    } else {
        Err(anyhow::anyhow!("the audit trail is broken"))
    }
}

async fn report(a: &VerifyArgs) -> anyhow::Result<serde_json::Value> {
    let files = &a.files;
    // With SQLite the data directory has one holder: a running server verifies its own trail.
    let _lock = if a.place.database_url.is_none() {
        match crate::lock::acquire(&a.place.data_dir, "trent audit verify") {
            Ok(lock) => Some(lock),
            Err(crate::lock::LockError::Held(holder)) if files.is_empty() => {
                return crate::admin_socket::send_verify_audit(&a.place.data_dir)
                    .with_context(|| format!("the data directory is held by {holder}"));
            }
            Err(crate::lock::LockError::Held(holder)) => {
                return Err(anyhow::anyhow!(
                    "the data directory is held by {holder}: verify its own trail without file arguments, or stop it"
                ))
            }
            Err(crate::lock::LockError::Io(e)) => return Err(e),
        }
    } else {
        None
    };
    let (_, keyring) = crate::place::open_store(&a.place).await?;
    if files.is_empty() {
        audit_verify::verify_dir(&a.place.data_dir, &keyring)
    } else {
        audit_verify::verify_files(files, &keyring)
    }
}
