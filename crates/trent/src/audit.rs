//! `trent audit verify`: checks the audit trail of a data directory (or given files) and says
//! where it was tampered with. While a server holds the data directory, that server checks
//! its own trail (admin socket); otherwise this command opens the keyring itself, which
//! needs the root key (or its HSM). With `--trail-bucket` or `--trail-dir` it checks the
//! trail delivered there against the digest chains the store keeps (`trent_trail::verify`).
//! Exit status 1 when the trail is broken. `trent audit events` prints the journal's records
//! in CloudTrail's shape.

use anyhow::Context as _;

use clap::{Args, Subcommand};
use std::path::PathBuf;
use trent_trail::journal::{self, check};
use trent_trail::verify::DeliveredSource;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the digest chain and the signed checkpoints; name the first broken line.
    Verify(Box<VerifyArgs>),
    /// Print the journal's records as CloudTrail shows them, one JSON object per line, oldest
    /// first (the journal keeps API calls compact; they are rendered here as they are for
    /// LookupEvents and delivery). For `jq` and `grep`; nothing secret is in them.
    Events(EventsArgs),
}

#[derive(Args)]
struct EventsArgs {
    /// The data directory of the server.
    #[arg(long, env = "TRENT_DATA_DIR", default_value = "./trent-data")]
    data_dir: PathBuf,
    /// Journal files, oldest first (default: the data directory's `audit-*.log` and
    /// `audit.log`), e.g. copies kept elsewhere.
    files: Vec<PathBuf>,
}

/// Prints every record of `files` (a checkpoint has none; a line cut by a crash is skipped).
fn events(a: &EventsArgs) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let files = match a.files.is_empty() {
        true => trent_trail::journal::trail_files(&a.data_dir),
        false => a.files.clone(),
    };
    if files.is_empty() {
        anyhow::bail!("{} has no audit trail", a.data_dir.display());
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for path in files {
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            if let Some(record) = journal::EntryLine::parse(&line).and_then(|l| l.record()) {
                writeln!(out, "{record}")?;
            }
        }
    }
    Ok(out.flush()?)
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
    /// Verify the trail delivered to this S3 bucket (see `trent serve --trail-bucket`)
    /// against the digest chains in the store, instead of the journal.
    #[arg(long, env = "TRENT_TRAIL_BUCKET")]
    trail_bucket: Option<String>,
    /// The S3 endpoint of --trail-bucket (path-style) [default: the SDK's]
    #[arg(long, env = "TRENT_TRAIL_S3_ENDPOINT")]
    trail_s3_endpoint: Option<String>,
    /// Verify the trail delivered to this directory (see `trent serve --trail-dir`).
    #[arg(long, env = "TRENT_TRAIL_DIR", conflicts_with = "trail_bucket")]
    trail_dir: Option<PathBuf>,
    /// The key prefix the trail was delivered under.
    #[arg(long, env = "TRENT_TRAIL_PREFIX")]
    trail_prefix: Option<String>,
}

pub fn run(a: AuditArgs) -> anyhow::Result<()> {
    let v = match a.command {
        AuditCommand::Verify(v) => v,
        AuditCommand::Events(e) => return events(&e),
    };
    if v.trail_bucket.is_some() || v.trail_dir.is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        return runtime.block_on(delivered(&v));
    }
    let report =
        tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(report(&v))?;
    let intact = if v.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        report["broken"].is_null()
    } else {
        print(&report)
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
    let (store, keyring) = crate::place::open_store(&a.place).await?;
    let report = if files.is_empty() {
        check::verify_dir(&a.place.data_dir, &keyring)?
    } else {
        check::verify_files(files, &keyring)?
    };
    Ok(journal::against_store(report, store.as_ref()).await?)
}

/// The delivered trail against the store's chains: with SQLite, by the server that holds the
/// data directory (admin socket), else here with the store opened directly.
async fn delivered(a: &VerifyArgs) -> anyhow::Result<()> {
    let source = DeliveredSource {
        bucket: a.trail_bucket.clone(),
        endpoint: a.trail_s3_endpoint.clone(),
        dir: a.trail_dir.clone(),
        prefix: a.trail_prefix.clone(),
    };
    let _lock = match a.place.database_url {
        Some(_) => None,
        None => match crate::lock::acquire(&a.place.data_dir, "trent audit verify") {
            Ok(lock) => Some(lock),
            Err(crate::lock::LockError::Held(holder)) => {
                let report = crate::admin_socket::send_verify_delivered(&a.place.data_dir, &source)
                    .with_context(|| format!("the data directory is held by {holder}"))?;
                return print_delivered(&report, a.json);
            }
            Err(crate::lock::LockError::Io(e)) => return Err(e),
        },
    };
    let (store, keyring) = crate::place::open_store(&a.place).await?;
    let report = trent_trail::verify::verify_delivered(store.as_ref(), &keyring, &source).await?;
    print_delivered(&report, a.json)
}

/// The delivered trail's report, as JSON or in words; an error when it is broken.
fn print_delivered(report: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
    } else {
        println!(
            "{}: {} chains (account and Region), {} digest files, {} log files checked against the store",
            report["source"].as_str().unwrap_or(""),
            report["chains"],
            report["digests"],
            report["logFiles"]
        );
        for f in &findings {
            println!(
                "BROKEN: {}: {}",
                f["object"].as_str().unwrap_or(""),
                f["what"].as_str().unwrap_or("")
            );
        }
        if findings.is_empty() {
            println!("intact");
        }
    }
    match findings.is_empty() {
        true => Ok(()),
        false => Err(anyhow::anyhow!("the delivered trail is broken")),
    }
}

/// The report in words; whether the trail is intact.
fn print(report: &serde_json::Value) -> bool {
    for n in report["nodes"].as_array().into_iter().flatten() {
        let after = n["afterLastCheckpoint"].as_u64().unwrap_or(0);
        let last = match n["lastCheckpoint"].as_u64() {
            Some(s) => format!("last checkpoint at sequence {s}"),
            None => "no checkpoint yet".into(),
        };
        println!(
            "node {}: {} records, {} checkpoints, {last}; {after} lines after it are protected by the chain only",
            n["node"].as_str().unwrap_or(""),
            n["records"],
            n["checkpoints"],
        );
        if let Some(s) = n["startsAt"].as_u64() {
            println!(
                "  (its older files were removed: it starts at the checkpoint of sequence {s})"
            );
        }
    }
    match report.get("broken").filter(|b| !b.is_null()) {
        None => {
            println!("intact");
            true
        }
        Some(b) => {
            println!(
                "BROKEN: node {}: {} line {}: {}",
                b["node"].as_str().unwrap_or(""),
                b["file"].as_str().unwrap_or(""),
                b["line"],
                b["what"].as_str().unwrap_or("")
            );
            false
        }
    }
}
