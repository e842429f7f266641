//! One writer per data directory: `trent serve` (and `trent admin` when no server runs) holds
//! an exclusive lock on `DATA_DIR/trent.lock` for as long as it runs, so two processes never
//! serve one SQLite database with caches that cannot see each other's writes. The file names
//! the holder, for the refusal message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub const LOCK_FILE: &str = "trent.lock";

/// Held for the life of the process; released by the kernel when it exits, however it exits.
pub struct DirLock {
    _file: File,
}

/// Why the lock could not be taken.
pub enum LockError {
    /// Another process holds it; its own description of itself (e.g. `trent serve, pid 42`).
    Held(String),
    Io(anyhow::Error),
}

/// Takes the data directory's lock for `what` (e.g. `trent serve`).
pub fn acquire(dir: &Path, what: &str) -> Result<DirLock, LockError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            LockError::Io(anyhow::Error::new(e).context(format!("cannot open {}", path.display())))
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held(if holder.is_empty() {
                "another process".into()
            } else {
                holder.to_string()
            }));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(LockError::Io(
                anyhow::Error::new(e).context(format!("cannot lock {}", path.display())),
            ))
        }
    }
    let me = format!("{what}, pid {}\n", std::process::id());
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| file.write_all(me.as_bytes()))
        .map_err(|e| {
            LockError::Io(anyhow::Error::new(e).context(format!("cannot write {}", path.display())))
        })?;
    Ok(DirLock { _file: file })
}

/// The refusal `trent serve` gives when the directory is taken.
pub fn in_use(dir: &Path, holder: &str) -> String {
    format!(
        "the data directory {} is in use by {holder}: only one process may serve a data directory (stop it first; several nodes share a PostgreSQL database, see --database-url)",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "trent serve").ok().unwrap();
        match acquire(dir.path(), "trent serve") {
            Err(LockError::Held(h)) => {
                assert_eq!(h, format!("trent serve, pid {}", std::process::id()))
            }
            _ => panic!("the second lock was granted"),
        }
        drop(first);
        assert!(acquire(dir.path(), "trent admin").is_ok());
    }
}
