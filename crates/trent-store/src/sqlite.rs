//! The embedded engine: SQLite (bundled) in WAL mode with `synchronous=FULL`, so that every
//! acknowledged change survives a crash or power loss. One writer connection (SQLite allows
//! one writer at a time) used from blocking threads; reads use a small pool of connections.

use crate::engine::{bind_value, cells_by, Engine, Query, Step, Value};
use crate::store::SqlStore;
use crate::{Fault, Result};
use async_trait::async_trait;
use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, OpenFlags, Row, ToSql};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const READERS: usize = 4;

/// The store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(SqlStore { engine: Sqlite::open(path)? })
    }
}

pub struct Sqlite {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
}

fn open(path: &Path, write: bool) -> Result<Connection> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let c = Connection::open_with_flags(path, flags)?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    Ok(c)
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| Fault::NotUtf8(path.to_path_buf()).into())
}

/// Sealed material and secrets are in a copy: as private as the database.
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        Fault::File { what: "cannot restrict", path: path.to_path_buf(), source }.into()
    })
}

/// Brings the schema to this binary's version. A database that has data (version 1 or more)
/// is first copied whole to `<path>.schema-<version>.bak` (`VACUUM INTO`: consistent, and
/// compact), so that a migration that goes wrong — or a binary rolled back — can start
/// again from it.
fn migrate(w: &mut Connection, path: &Path) -> Result<()> {
    let version: u32 = w.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let todo = crate::migrations::pending(version)?;
    if todo.is_empty() {
        return Ok(());
    }
    if version > 0 {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".schema-{version}.bak"));
        let backup = PathBuf::from(name);
        let _ = std::fs::remove_file(&backup);
        w.execute("VACUUM INTO ?1", [utf8(&backup)?]).map_err(|e| Fault::Migration {
            version: todo[0].version,
            source: Box::new(e.into()),
        })?;
        owner_only(&backup)?;
        tracing::info!(from = version, to = crate::SCHEMA_VERSION, backup = %backup.display(), "migrating the database schema");
    }
    let tx = w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for m in todo {
        tx.execute_batch(m.sqlite)
            .map_err(|e| Fault::Migration { version: m.version, source: Box::new(e.into()) })?;
    }
    tx.pragma_update(None, "user_version", crate::SCHEMA_VERSION)?;
    Ok(tx.commit()?)
}

impl Sqlite {
    fn open(path: &Path) -> Result<Self> {
        let mut w = open(path, true)?;
        let mode: String = w.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Fault::NoWal(mode).into());
        }
        migrate(&mut w, path)?;
        Ok(Sqlite {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(w)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs a read on a pooled read-only connection. Point reads take microseconds, so they
    /// run inline; a busy writer never blocks them (WAL).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().map_err(|_| Fault::Poisoned)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open(&self.path, false)?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().map_err(|_| Fault::Poisoned)?;
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }
}

fn run<T>(c: &Connection, q: &Query<T>) -> Result<Vec<T>> {
    let mut s = c.prepare_cached(q.sql)?;
    let mut rows = s.query(params_from_iter(&q.params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push((q.map)(r)?);
    }
    Ok(out)
}

#[async_trait]
impl Engine for Sqlite {
    async fn query<T: Send + 'static>(&self, q: Query<T>) -> Result<Vec<T>> {
        self.read(|c| run(c, &q))
    }

    async fn query2<A: Send + 'static, B: Send + 'static>(
        &self,
        a: Query<A>,
        b: Query<B>,
    ) -> Result<(Vec<A>, Vec<B>)> {
        self.read(|c| {
            // One read transaction: both reads see the same snapshot (WAL).
            let tx = c.unchecked_transaction()?;
            let out = (run(&tx, &a)?, run(&tx, &b)?);
            tx.commit()?;
            Ok(out)
        })
    }

    /// On a blocking thread: commits wait for fsync.
    async fn write(&self, steps: Vec<Step>) -> Result<Vec<u64>> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().map_err(|_| Fault::Poisoned)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut changed = Vec::with_capacity(steps.len());
            for step in &steps {
                let n = tx.prepare_cached(step.sql)?.execute(params_from_iter(&step.params))?;
                step.check(n as u64)?;
                changed.push(n as u64);
            }
            tx.commit()?;
            Ok(changed)
        })
        .await?
    }

    async fn backup_to(&self, to: &Path) -> Result<()> {
        // A connection of its own: VACUUM INTO reads one snapshot (WAL), so the writer and
        // the readers go on while it copies.
        let (from, to) = (self.path.clone(), to.to_path_buf());
        tokio::task::spawn_blocking(move || {
            // The file is made here, owner-only, and only if nothing is at the path: O_EXCL
            // refuses an existing file and a symbolic link planted there (wherever it points).
            // VACUUM INTO then fills the empty file.
            use std::os::unix::fs::OpenOptionsExt;
            let made =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&to);
            if let Err(source) = made {
                return Err(if source.kind() == std::io::ErrorKind::AlreadyExists {
                    Fault::BackupExists(to)
                } else {
                    Fault::File { what: "cannot create", path: to, source }
                }
                .into());
            }
            let c = open(&from, false)?;
            if let Err(e) = c.execute("VACUUM INTO ?1", [utf8(&to)?]) {
                let _ = std::fs::remove_file(&to);
                return Err(e.into());
            }
            std::fs::File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(|source| Fault::File { what: "cannot sync", path: to, source }.into())
        })
        .await?
    }
}

fn cell<T: rusqlite::types::FromSql>(r: &Row<'_>, i: usize) -> Result<T> {
    Ok(r.get(i)?)
}

// A row read through the shared mapping of `rows.rs`.
cells_by!(Row<'_>, cell);

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        bind_value!(self, |v| v.to_sql())
    }
}
