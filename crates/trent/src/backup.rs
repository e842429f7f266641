//! `trent admin restore`: puts an online backup (`trent admin backup`) back as the data
//! directory's database, once it is known to be whole and to open with this directory's root
//! key. The database it replaces is kept beside it, never deleted.

use anyhow::Context as _;

use crate::datadir::DATABASE_FILE;
use crate::place::Place;
use crate::progress::{Progress, Unit};
use std::path::Path;

/// Restores `from` into `p.data_dir`, which no server may hold (the caller holds its lock).
pub async fn restore(p: &Place, from: &Path) -> anyhow::Result<serde_json::Value> {
    if p.database_url.is_some() {
        return Err(anyhow::anyhow!("a PostgreSQL database is restored with PostgreSQL's tools (pg_restore): see docs/operations.md, Backups"));
    }
    let db = p.data_dir.join(DATABASE_FILE);
    let staged = p.data_dir.join(format!("{DATABASE_FILE}.restoring"));
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", staged.display()));
    }
    // Written owner-only whatever the backup's own mode (it holds the sealed keys).
    let copied = (|| {
        use std::io::{Read as _, Write as _};
        use std::os::unix::fs::OpenOptionsExt;
        let mut src = std::fs::File::open(from)?;
        let total = src.metadata()?.len();
        let mut dst =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&staged)?;
        let progress = Progress::new("restoring", total, Unit::Bytes);
        let (mut buf, mut done) = (vec![0u8; 1 << 20], 0u64);
        loop {
            let n = src.read(&mut buf)?;
            if n == 0 {
                break;
            }
            dst.write_all(&buf[..n])?;
            done += n as u64;
            progress.set(done);
        }
        progress.finish(done);
        dst.sync_all()
    })();
    copied.map_err(|e| {
        anyhow::anyhow!("cannot copy {} into {}: {e}", from.display(), p.data_dir.display())
    })?;
    // Opened as the server will open it: migrated if older, refused if newer or not a
    // database; then the keyring must open with this directory's root key.
    let checked = async {
        let store = trent_store::SqliteStore::open(&staged)
            .with_context(|| format!("{}", from.display()))?;
        let root = crate::root_key::open(&p.data_dir, &p.root_key, false)?;
        let bootstrap = trent_core::Bootstrap::new(&store);
        if !bootstrap.keyring_exists().await? {
            return Err(anyhow::anyhow!(
                "{} is not a Trent database (it has no keyring)",
                from.display()
            ));
        }
        bootstrap.open_keyring(root.as_ref()).await.map_err(|e| {
            anyhow::anyhow!(
                "{} does not open with this data directory's root key: {e}",
                from.display()
            )
        })?;
        Ok::<_, anyhow::Error>(())
    };
    if let Err(e) = checked.await {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    let kept = if db.exists() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let kept = p.data_dir.join(format!("{DATABASE_FILE}.before-restore-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let from = format!("{}{suffix}", db.display());
            if Path::new(&from).exists() {
                std::fs::rename(&from, format!("{}{suffix}", kept.display()))
                    .with_context(|| format!("cannot set {from} aside"))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", staged.display());
        if Path::new(&from).exists() {
            std::fs::rename(&from, format!("{}{suffix}", db.display()))
                .context("cannot put the restored database in place")?;
        }
    }
    let dir = std::fs::File::open(&p.data_dir).and_then(|d| d.sync_all());
    dir.with_context(|| format!("cannot sync {}", p.data_dir.display()))?;
    Ok(serde_json::json!({
        "Restored": from.display().to_string(),
        "SetAside": kept.map(|k| k.display().to_string()),
    }))
}
