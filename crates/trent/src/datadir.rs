//! The data directory: created on first start with the root key file and, once the account
//! exists, the AWS shared-credentials file — both readable by the owner only (0600). At every
//! start the directory is made 0700 if it was looser and refused if another user owns it; a
//! root key file others could read is refused (the key may have been read: as ssh refuses an
//! unprotected private key), and the other secret files are made 0600 — each change said in
//! the log.

use anyhow::Context as _;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use trent_crypto::{LocalRootKey, Secret};

pub const ROOT_KEY_FILE: &str = "root.key";
pub const DATABASE_FILE: &str = "trent.db";
pub const CREDENTIALS_FILE: &str = "credentials";

pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Say so now, not later as "cannot create root.tmp".
    let probe = dir.join(".trent-write-test");
    let me = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&probe)
        .and_then(|f| f.metadata())
        .with_context(|| format!("the data directory {} is not writable", dir.display()))?
        .uid();
    let _ = fs::remove_file(&probe);
    secure(dir, me)
}

/// The files that hold secrets or evidence, by name in the directory. Not `root.key`: one
/// that others could read is refused where it is loaded (`load_root_key`), never quietly
/// tightened.
fn is_private(name: &str) -> bool {
    name != ROOT_KEY_FILE
        && (name == CREDENTIALS_FILE
            || name.starts_with(DATABASE_FILE)
            || name.starts_with("audit")
            || name.ends_with(".key"))
}

/// What `ensure_dir` enforces of an existing directory (`me`: the server's user id).
fn secure(dir: &Path, me: u32) -> anyhow::Result<()> {
    let meta = fs::metadata(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if meta.uid() != me {
        return Err(anyhow::anyhow!(
            "the data directory {} belongs to user {}, not to this server's user {me}: another user could replace its files",
            dir.display(),
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} 0700", dir.display()))?;
        tracing::warn!(path = %dir.display(), was = %format!("{mode:04o}"), "made the data directory 0700: other users could reach its files");
    }
    for sub in [dir.to_path_buf(), dir.join("tls")] {
        let Ok(entries) = fs::read_dir(&sub) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(m) = entry.metadata() else { continue };
            let mode = m.permissions().mode() & 0o777;
            if m.is_file() && is_private(name) && mode & 0o077 != 0 {
                let path = entry.path();
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} 0600", path.display()))?;
                tracing::warn!(path = %path.display(), was = %format!("{mode:04o}"), "made a file of the data directory 0600: other users could read it");
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to a new file with mode 0600, durably (fsync of file and directory).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot create {}", path.display()))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` with mode 0600 unless the file exists (then returns false): made
/// whole and synced under a temporary name of its own (random: processes in containers may
/// all be pid 1), then hard-linked into place, which fails if another process linked its
/// file first. The caller reads the file back, so every process uses what is in place.
fn create_exclusive(path: &Path, bytes: &[u8]) -> anyhow::Result<bool> {
    let mut nonce = [0u8; 8];
    trent_crypto::random_bytes(&mut nonce)?;
    let tmp = path.with_extension(format!("tmp-{}", hex::encode(nonce)));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            // The new name is durable before any key is wrapped under it.
            if let Some(d) = path.parent().and_then(|p| fs::File::open(p).ok()) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Creates an empty file with mode 0600 unless it exists. SQLite gives its -wal and -shm
/// files the database file's permissions, so the whole database stays private.
pub fn ensure_private_file(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    Ok(())
}

pub const NODE_ID_FILE: &str = "node-id";

/// This node's name in the audit trail: `configured`, else the one kept in `DATA_DIR/node-id`
/// (made once: `node-` and 12 random hex digits).
pub fn node_id(dir: &Path, configured: Option<&str>) -> anyhow::Result<String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    if let Some(id) = configured {
        return if valid(id) {
            Ok(id.to_string())
        } else {
            Err(anyhow::anyhow!("a node id is 1 to 64 characters of [A-Za-z0-9-_.], not '{id}'"))
        };
    }
    let path = dir.join(NODE_ID_FILE);
    if let Ok(id) = fs::read_to_string(&path) {
        let id = id.trim();
        if valid(id) {
            return Ok(id.to_string());
        }
        return Err(anyhow::anyhow!("{} does not hold a node id", path.display()));
    }
    let mut b = [0u8; 6];
    trent_crypto::random_bytes(&mut b)?;
    let id = format!("node-{}", hex::encode(b));
    fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

/// Loads the root key file (`path`: `DATA_DIR/root.key`, or `--root-key-file`); with
/// `create`, makes it (32 random bytes) if it is missing. Several nodes may share one file
/// (a compose cluster's volume) and start at once: the file is made whole under a name of
/// this process's own and linked into place only if no other node's is there yet — whoever
/// comes second uses the first one's key, never replaces it.
pub fn load_root_key(path: &Path, create: bool) -> anyhow::Result<(LocalRootKey, bool)> {
    let created = if path.exists() {
        false
    } else if create {
        let key = trent_crypto::random_secret(LocalRootKey::LEN)?;
        create_exclusive(path, key.as_bytes())?
    } else {
        return Err(anyhow::anyhow!(
            "{} is missing, but the database holds keys wrapped by a root key: restore it from your backup, or give the PKCS#11 settings if the root key is in an HSM (Trent never makes a new root key for an existing database, whose keys could then never be opened)",
            path.display()
        ));
    };
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(anyhow::anyhow!(
            "{} is readable by other users (mode {mode:04o}): the root key may have been read. If you are sure it was not, `chmod 600` it; else restore from a backup taken before, or rotate by re-creating the data directory",
            path.display()
        ));
    }
    let bytes =
        Secret::new(fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
    let key = LocalRootKey::new(&bytes)
        .map_err(|_| anyhow::anyhow!("{} is not a 32-byte root key", path.display()))?;
    Ok((key, created))
}

/// Writes the AWS shared-credentials file (profile `default`) unless it exists.
pub fn write_credentials(
    dir: &Path,
    access_key_id: &str,
    secret: &Secret,
) -> anyhow::Result<Option<PathBuf>> {
    let path = dir.join(CREDENTIALS_FILE);
    if path.exists() {
        return Ok(None);
    }
    let secret = std::str::from_utf8(secret.as_bytes())
        .map_err(|_| anyhow::anyhow!("secret is not text"))?;
    let text = format!(
        "[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
    );
    write_private(&path, text.as_bytes())?;
    Ok(Some(path))
}

/// Appends a profile to an AWS shared-credentials file, creating it with mode 0600.
pub fn append_profile(
    path: &Path,
    profile: &str,
    access_key_id: &str,
    secret: &Secret,
) -> anyhow::Result<()> {
    let secret = std::str::from_utf8(secret.as_bytes())
        .map_err(|_| anyhow::anyhow!("secret is not text"))?;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let text = format!(
        "\n[{profile}]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_starting_at_once_on_one_root_key_file_make_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let made: Vec<bool> = std::thread::scope(|s| {
            let starts: Vec<_> =
                (0..8).map(|_| s.spawn(|| load_root_key(&path, true).map(|(_, c)| c))).collect();
            starts.into_iter().map(|t| t.join().unwrap().unwrap()).collect()
        });
        assert_eq!(made.iter().filter(|c| **c).count(), 1, "{made:?}");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap().len(), LocalRootKey::LEN);
        // Nothing of the attempts is left beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(!load_root_key(&path, true).unwrap().1);
    }
}
