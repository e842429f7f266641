//! The admin socket of a running server, `DATA_DIR/admin.sock` (mode 0600 in the 0700 data
//! directory): `trent admin` sends one command as a JSON line and reads one JSON line back.
//! Admin commands thus work while the server holds the data directory's lock, and the server
//! sees their effect at once (a deleted access key is refused on the next request). Who may
//! open the socket may read the database and the root key file anyway.

use anyhow::Context as _;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use trent_core::{AdminRequest, Kms};

pub const SOCKET_FILE: &str = "admin.sock";
/// The largest command accepted (a policy document is at most 128 KiB).
const MAX_REQUEST: u64 = 1 << 20;
/// How long a client may take to send its command.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One line of the server's answer: progress lines (a long command's, any number), then the
/// outcome.
#[derive(serde::Serialize, serde::Deserialize)]
enum Reply {
    Ok(serde_json::Value),
    Error(String),
    Progress { done: u64, total: u64 },
}

/// Verifies the server's audit trail (`trent audit verify` while the server runs).
pub type VerifyAudit = Arc<dyn Fn() -> anyhow::Result<serde_json::Value> + Send + Sync>;

/// The socket commands that are not domain admin commands.
const VERIFY_AUDIT: &str = "VerifyAudit";
const VERIFY_DELIVERED: &str = "VerifyDelivered";
const ADVANCE_CLOCK: &str = "AdvanceClock";

/// What the socket serves besides the domain's admin commands.
#[derive(Clone)]
pub struct Extras {
    pub verify: VerifyAudit,
    /// The store and keyring a delivered trail is verified against (`VerifyDelivered`).
    pub store: Arc<dyn trent_store::Store>,
    pub keyring: Arc<trent_crypto::Keyring>,
    /// The test clock of a server started with `--dev-clock`.
    pub clock: Option<Arc<trent_core::ManualClock>>,
}

/// Listens on the admin socket until the task is dropped. The caller holds the data
/// directory's lock, so a socket file left by a crashed server may be replaced.
/// Binds the socket; the returned future answers on it (the caller runs it as one of the
/// server's tasks).
pub fn serve(
    dir: &Path,
    kms: Arc<Kms>,
    extras: Extras,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let path = dir.join(SOCKET_FILE);
    let _ = std::fs::remove_file(&path);
    // Bound inside a directory only the owner can enter, made owner-only there, then moved
    // into place: at no moment can another user reach a socket with a looser mode (bind(2)
    // makes it with the process's umask).
    let private = dir.join(format!(".admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .with_context(|| format!("cannot create {}", private.display()))?;
    let bound = private.join(SOCKET_FILE);
    let listener = (|| {
        let l = tokio::net::UnixListener::bind(&bound)?;
        std::fs::set_permissions(&bound, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&bound, &path)?;
        Ok::<_, std::io::Error>(l)
    })();
    let _ = std::fs::remove_dir_all(&private);
    let listener = listener.with_context(|| format!("cannot listen on {}", path.display()))?;
    Ok(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(answer(stream, kms.clone(), extras.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// Moves the test clock forward and runs the background duties once, so that what the new
/// time makes due (expiry, deletion, rotation, warnings) is done when the command returns.
async fn advance_clock(kms: &Kms, clock: Option<&trent_core::ManualClock>, ms: i64) -> Reply {
    let Some(clock) = clock else {
        return Reply::Error(
            "the clock can be moved only on a server started with --dev-clock".into(),
        );
    };
    if ms <= 0 {
        return Reply::Error("the clock only moves forward".into());
    }
    clock.advance_ms(ms);
    tracing::warn!(advanced_ms = ms, now = %trent_core::audit::event_time(kms.now_ms()), "!!! test clock moved forward !!!");
    kms.background().run_once().await;
    Reply::Ok(serde_json::json!({ "Now": trent_core::audit::event_time(kms.now_ms()) }))
}

async fn answer(stream: tokio::net::UnixStream, kms: Arc<Kms>, extras: Extras) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read.take(MAX_REQUEST));
    let read = tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await;
    let parsed = serde_json::from_str::<serde_json::Value>(&line).unwrap_or_default();
    let command = parsed.get("Command").and_then(|c| c.as_str());
    let reply = match read {
        Ok(Ok(_)) if command == Some(VERIFY_AUDIT) => {
            // Reads every file of the trail: off the async workers.
            let verify = extras.verify.clone();
            match tokio::task::spawn_blocking(move || verify()).await {
                Ok(Ok(v)) => Reply::Ok(v),
                Ok(Err(e)) => Reply::Error(format!("{e:#}")),
                Err(_) => Reply::Error("the verification failed".into()),
            }
        }
        Ok(Ok(_)) if command == Some(VERIFY_DELIVERED) => {
            let source = parsed
                .get("Source")
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let (store, keyring) = (extras.store.clone(), extras.keyring.clone());
            match trent_trail::verify::verify_delivered(store.as_ref(), &keyring, &source).await {
                Ok(v) => Reply::Ok(v),
                Err(e) => Reply::Error(format!("{e:#}")),
            }
        }
        Ok(Ok(_)) if command == Some(ADVANCE_CLOCK) => {
            let ms = parsed.get("Milliseconds").and_then(|m| m.as_i64()).unwrap_or(0);
            advance_clock(&kms, extras.clock.as_deref(), ms).await
        }
        Ok(Ok(_)) => match serde_json::from_str::<AdminRequest>(&line) {
            Ok(req) => {
                let name = command_name(&req);
                match execute_reporting(&kms, req, &mut write).await {
                    Ok(v) => {
                        tracing::info!(command = name, "admin command");
                        Reply::Ok(v)
                    }
                    Err(e) => {
                        tracing::info!(command = name, error = %e, "admin command refused");
                        Reply::Error(e.to_string())
                    }
                }
            }
            Err(e) => Reply::Error(format!("not an admin command: {e}")),
        },
        Ok(Err(e)) => Reply::Error(format!("cannot read the command: {e}")),
        Err(_) => Reply::Error("no command within 30 seconds".into()),
    };
    let mut text = serde_json::to_string(&reply).unwrap_or_default();
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
}

/// Runs `req`, writing each progress report to the client as it comes (one per transaction
/// of a bulk command); the outcome is the caller's to write.
async fn execute_reporting(
    kms: &Kms,
    req: AdminRequest,
    write: &mut tokio::net::unix::OwnedWriteHalf,
) -> trent_core::Result<serde_json::Value> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let report = move |done, total| {
        let _ = tx.send(Reply::Progress { done, total });
    };
    let admin = kms.admin();
    let work = admin.execute_reporting(req, &report);
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            Some(progress) = rx.recv() => {
                let mut text = serde_json::to_string(&progress).unwrap_or_default();
                text.push('\n');
                // A client gone away does not stop the command: its outcome is still written.
                let _ = write.write_all(text.as_bytes()).await;
            }
        }
    }
}

/// The command's name (never its arguments: they may hold a policy or a secret).
fn command_name(req: &AdminRequest) -> String {
    serde_json::to_value(req)
        .ok()
        .and_then(|v| v.get("Command").and_then(|c| c.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// Asks the server running on `dir` to verify its audit trail.
pub fn send_verify_audit(dir: &Path) -> anyhow::Result<serde_json::Value> {
    send(dir, &serde_json::json!({ "Command": VERIFY_AUDIT }))
}

/// Asks the server running on `dir` to verify the trail delivered to `source` against its
/// store.
pub fn send_verify_delivered(
    dir: &Path,
    source: &trent_trail::verify::DeliveredSource,
) -> anyhow::Result<serde_json::Value> {
    send(dir, &serde_json::json!({ "Command": VERIFY_DELIVERED, "Source": source }))
}

/// Asks the server running on `dir` to move its test clock forward by `ms`.
pub fn send_advance_clock(dir: &Path, ms: i64) -> anyhow::Result<serde_json::Value> {
    send(dir, &serde_json::json!({ "Command": ADVANCE_CLOCK, "Milliseconds": ms }))
}

/// Sends `req` to the server running on `dir`; its answer, or why there is none.
pub fn send(dir: &Path, req: &impl serde::Serialize) -> anyhow::Result<serde_json::Value> {
    send_reporting(dir, req, &|_, _| {})
}

/// As [`send`], telling `progress` (done, total) what the server says of a long command.
pub fn send_reporting(
    dir: &Path,
    req: &impl serde::Serialize,
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<serde_json::Value> {
    let path = dir.join(SOCKET_FILE);
    let mut stream = std::os::unix::net::UnixStream::connect(&path)
        .with_context(|| format!("cannot reach the server's admin socket {}", path.display()))?;
    let mut text = serde_json::to_string(req)?;
    text.push('\n');
    stream.write_all(text.as_bytes()).context("cannot send the command")?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).context("no answer from the server")?;
        anyhow::ensure!(n > 0, "no answer from the server");
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Progress { done, total }) => progress(done, total),
            Ok(Reply::Ok(v)) => return Ok(v),
            Ok(Reply::Error(e)) => return Err(anyhow::anyhow!(e)),
            Err(_) => return Err(anyhow::anyhow!("the server's answer is not understood")),
        }
    }
}
