//! The embedded store: SQLite (bundled) in WAL mode with `synchronous=FULL`, so that every
//! acknowledged change survives a crash or power loss. One writer connection (SQLite allows
//! one writer at a time) used from blocking threads; reads use a small pool of connections.

use crate::model::*;
use crate::sql::{
    self, Value, ACCESS_KEY_COLS, ALIAS_COLS, GRANT_COLS, KEY_COLS, MATERIAL_COLS, USER_COLS,
};
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use rusqlite::types::ToSqlOutput;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row, ToSql};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const READERS: usize = 4;

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
}

fn backend<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn open(path: &Path, write: bool) -> Result<Connection> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let c = Connection::open_with_flags(path, flags).map_err(backend)?;
    c.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
    c.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
    c.pragma_update(None, "foreign_keys", "ON").map_err(backend)?;
    Ok(c)
}

/// Brings the schema to this binary's version. A database that has data (version 1 or more)
/// is first copied whole to `<path>.schema-<version>.bak` (`VACUUM INTO`: consistent, and
/// compact), so that a migration that goes wrong — or a binary rolled back — can start
/// again from it.
fn migrate(w: &mut Connection, path: &Path) -> Result<()> {
    let version: u32 = w.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
    let todo = crate::migrations::pending(version)?;
    if todo.is_empty() {
        return Ok(());
    }
    if version > 0 {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".schema-{version}.bak"));
        let backup = std::path::PathBuf::from(name);
        let _ = std::fs::remove_file(&backup);
        let target = backup.to_str().ok_or_else(|| backend("the backup path is not UTF-8"))?;
        w.execute("VACUUM INTO ?1", [target]).map_err(|e| {
            backend(format!(
                "cannot back up the database to {} before migrating it: {e}",
                backup.display()
            ))
        })?;
        // Sealed material and secrets are in it: as private as the database.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| backend(format!("cannot restrict {}: {e}", backup.display())))?;
        tracing::info!(from = version, to = crate::SCHEMA_VERSION, backup = %backup.display(), "migrating the database schema");
    }
    let tx =
        w.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    for m in todo {
        tx.execute_batch(m.sqlite)
            .map_err(|e| backend(format!("schema migration {} failed: {e}", m.version)))?;
    }
    tx.pragma_update(None, "user_version", crate::SCHEMA_VERSION).map_err(backend)?;
    tx.commit().map_err(backend)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrating its schema.
    pub fn open(path: &Path) -> Result<Self> {
        let mut w = open(path, true)?;
        let mode: String =
            w.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("cannot enable WAL (journal_mode={mode})")));
        }
        migrate(&mut w, path)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(w)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs a read on a pooled read-only connection. Point reads take microseconds, so they
    /// run inline; a busy writer never blocks them (WAL).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.readers.lock().map_err(backend)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open(&self.path, false)?,
        };
        let out = f(&conn).map_err(backend);
        let mut pool = self.readers.lock().map_err(backend)?;
        if pool.len() < READERS {
            pool.push(conn);
        }
        out
    }

    /// The keys a `SELECT account, region, key_id ... ?1` query over a time returns.
    fn key_refs(&self, sql: &str, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.read(|c| {
            let mut s = c.prepare_cached(sql)?;
            let rows = s.query_map([now_ms], |r| {
                Ok(KeyRef { account: r.get(0)?, region: r.get(1)?, key_id: r.get(2)? })
            })?;
            rows.collect()
        })
    }

    /// Runs a write transaction on a blocking thread: commits wait for fsync.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().map_err(backend)?;
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let out = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
        .map_err(backend)?
    }
}

/// A row read through the shared mapping of `sql.rs`.
impl sql::Cells for Row<'_> {
    fn text(&self, i: usize) -> Result<String> {
        self.get(i).map_err(backend)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(backend)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get(i).map_err(backend)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(backend)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        self.get(i).map_err(backend)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        self.get(i).map_err(backend)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        self.get(i).map_err(backend)
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Value::Text(s) => s.as_ref().to_sql(),
            Value::OptText(s) => s.to_sql(),
            Value::Int(v) => v.to_sql(),
            Value::OptInt(v) => v.to_sql(),
            Value::Flag(v) => v.to_sql(),
            Value::OptBlob(v) => v.to_sql(),
        }
    }
}

/// A shared row mapping as rusqlite's row callback (its error carried through rusqlite's).
macro_rules! mapped {
    ($f:path) => {
        |r: &Row<'_>| $f(r).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    };
}

fn insert_key(
    tx: &rusqlite::Transaction<'_>,
    k: &KeyRecord,
    materials: &[MaterialRecord],
) -> Result<()> {
    let values = sql::key_values(k)?;
    tx.prepare_cached(&format!(
        "INSERT INTO keys ({KEY_COLS}) VALUES ({})",
        sql::placeholders(values.len())
    ))
    .and_then(|mut s| s.execute(params_from_iter(&values)))
    .map_err(unique_or_backend)?;
    for m in materials {
        upsert_material(tx, m)?;
    }
    Ok(())
}

fn upsert_material(tx: &rusqlite::Transaction<'_>, m: &MaterialRecord) -> Result<()> {
    let values = sql::material_values(m);
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO materials ({MATERIAL_COLS}) VALUES ({})",
        sql::placeholders(values.len())
    ))
    .and_then(|mut s| s.execute(params_from_iter(&values)))
    .map_err(backend)?;
    Ok(())
}

/// A constraint violation (a taken primary key or unique value) is `AlreadyExists`.
fn unique_or_backend(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::AlreadyExists
        }
        e => backend(e),
    }
}

/// After a compare-and-set on an alias that changed `n` rows: done, or why not.
fn alias_outcome(
    tx: &rusqlite::Transaction<'_>,
    n: usize,
    account: &str,
    region: &str,
    name: &str,
) -> Result<()> {
    if n == 1 {
        return Ok(());
    }
    let exists = tx
        .query_row(
            "SELECT 1 FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3",
            params![account, region, name],
            |_| Ok(()),
        )
        .optional()
        .map_err(backend)?
        .is_some();
    Err(if exists { StoreError::Conflict } else { StoreError::NotFound })
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            c.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0)).optional()
        })
    }

    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES (?1, ?2)",
                params![name, value],
            )
            .map_err(backend)?;
            tx.query_row("SELECT value FROM meta WHERE name = ?1", [&name], |r| r.get(0))
                .map_err(backend)
        })
        .await
    }

    async fn put_account(&self, a: &AccountRecord) -> Result<()> {
        let a = a.clone();
        self.write(move |tx| {
            tx.execute(sql::PUT_ACCOUNT, params![a.account_id, a.created_ms, a.partition])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>> {
        self.read(|c| {
            c.query_row(sql::GET_ACCOUNT, [account_id], mapped!(sql::account_row)).optional()
        })
    }

    async fn put_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        let k = k.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO access_keys ({ACCESS_KEY_COLS}) VALUES (?1,?2,?3,?4,?5)"),
                params![
                    k.access_key_id,
                    k.account_id,
                    k.principal_arn,
                    k.sealed_secret,
                    k.created_ms
                ],
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE access_key_id = ?1"),
                [id],
                mapped!(sql::access_key_row),
            )
            .optional()
        })
    }

    async fn list_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!("SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE account_id = ?1 ORDER BY created_ms, access_key_id"))?;
            let rows = s.query_map([account_id], mapped!(sql::access_key_row))?;
            rows.collect()
        })
    }

    async fn delete_access_key(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |tx| {
            let n = tx
                .execute("DELETE FROM access_keys WHERE access_key_id = ?1", [&id])
                .map_err(backend)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn put_user(&self, u: &UserRecord) -> Result<()> {
        let u = u.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4)"),
                params![u.account_id, u.name, u.created_ms, u.partition],
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE account_id = ?1 AND name = ?2"),
                params![account_id, name],
                mapped!(sql::user_row),
            )
            .optional()
        })
    }

    async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE account_id = ?1 ORDER BY name"
            ))?;
            let rows = s.query_map([account_id], mapped!(sql::user_row))?;
            rows.collect()
        })
    }

    async fn put_identity_policy(
        &self,
        principal_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<()> {
        let (p, n, d) = (principal_arn.to_string(), name.to_string(), document.to_string());
        self.write(move |tx| {
            tx.execute("INSERT OR REPLACE INTO identity_policies (principal_arn, name, document) VALUES (?1, ?2, ?3)", params![p, n, d])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn delete_identity_policy(&self, principal_arn: &str, name: &str) -> Result<()> {
        let (p, n) = (principal_arn.to_string(), name.to_string());
        self.write(move |tx| {
            let k = tx
                .execute(
                    "DELETE FROM identity_policies WHERE principal_arn = ?1 AND name = ?2",
                    params![p, n],
                )
                .map_err(backend)?;
            if k == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn list_identity_policies(&self, principal_arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut s = c.prepare_cached("SELECT name, document FROM identity_policies WHERE principal_arn = ?1 ORDER BY name")?;
            let rows = s.query_map([principal_arn], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    async fn create_key(&self, k: &KeyRecord, materials: &[MaterialRecord]) -> Result<()> {
        let (k, materials) = (k.clone(), materials.to_vec());
        self.write(move |tx| insert_key(tx, &k, &materials)).await
    }

    async fn create_keys(&self, keys: Vec<(KeyRecord, Vec<MaterialRecord>)>) -> Result<()> {
        self.write(move |tx| {
            for (k, materials) in &keys {
                insert_key(tx, k, materials)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3"
            ))?
            .query_row(params![key.account, key.region, key.key_id], mapped!(sql::key_row))
            .optional()
        })
    }

    async fn get_key_with_materials(
        &self,
        key: &KeyRef,
    ) -> Result<Option<(KeyRecord, Vec<MaterialRecord>)>> {
        self.read(|c| {
            // One read transaction: both reads see the same snapshot (WAL).
            let tx = c.unchecked_transaction()?;
            let rec = tx
                .prepare_cached(&format!(
                    "SELECT {KEY_COLS} FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3"
                ))?
                .query_row(params![key.account, key.region, key.key_id], mapped!(sql::key_row))
                .optional()?;
            let Some(rec) = rec else { return Ok(None) };
            let mats = tx
                .prepare_cached(&format!(
                    "SELECT {MATERIAL_COLS} FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3 ORDER BY created_ms, material_id"
                ))?
                .query_map(params![key.account, key.region, key.key_id], mapped!(sql::material_row))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            Ok(Some((rec, mats)))
        })
    }

    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {KEY_COLS} FROM keys WHERE account = ?1 AND region = ?2 AND key_id > ?3 ORDER BY key_id LIMIT ?4"
            ))?;
            let rows = s.query_map(params![account, region, after.unwrap_or(""), limit as i64], mapped!(sql::key_row))?;
            rows.collect()
        })
    }

    async fn update_keys(&self, updates: Vec<KeyUpdate>) -> Result<()> {
        self.write(move |tx| {
            for u in &updates {
                let k = &u.key;
                let values = sql::update_key_values(k)?;
                let n = tx
                    .prepare_cached(sql::UPDATE_KEY)
                    .and_then(|mut s| s.execute(params_from_iter(&values)))
                    .map_err(backend)?;
                if n != 1 {
                    return Err(StoreError::Conflict);
                }
                for m in &u.upsert {
                    upsert_material(tx, m)?;
                }
                for id in &u.remove {
                    tx.execute(
                        sql::DELETE_MATERIAL,
                        params![k.key.account, k.key.region, k.key.key_id, id],
                    )
                    .map_err(backend)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        self.read(|c| {
            let mut s =
                c.prepare_cached(&format!("SELECT {KEY_COLS} FROM keys {}", sql::RELATED_KEYS))?;
            let rows = s.query_map(params![account, key_id], mapped!(sql::key_row))?;
            rows.collect()
        })
    }

    async fn put_last_usage(&self, usages: Vec<KeyLastUsageRecord>) -> Result<()> {
        self.write(move |tx| {
            for u in &usages {
                let values = sql::last_usage_values(u);
                tx.prepare_cached(sql::UPSERT_LAST_USAGE)
                    .and_then(|mut s| s.execute(params_from_iter(&values)))
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_last_usage(&self, key: &KeyRef) -> Result<Option<KeyLastUsageRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM key_last_usage WHERE account = ?1 AND region = ?2 AND key_id = ?3",
                sql::LAST_USAGE_COLS
            ))?
            .query_row(params![key.account, key.region, key.key_id], mapped!(sql::last_usage_row))
            .optional()
        })
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let key = key.clone();
        self.write(move |tx| {
            for statement in sql::DELETE_KEY_CASCADE {
                tx.execute(statement, params![key.account, key.region, key.key_id])
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT account, region, key_id FROM keys WHERE deletion_date_ms IS NOT NULL AND deletion_date_ms <= ?1 AND state = 'PendingDeletion'", now_ms)
    }

    async fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT account, region, key_id FROM keys WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL AND next_rotation_ms <= ?1", now_ms)
    }

    async fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT DISTINCT account, region, key_id FROM materials WHERE sealed IS NOT NULL AND valid_to_ms IS NOT NULL AND valid_to_ms <= ?1", now_ms)
    }

    async fn key_was_deleted(&self, key: &KeyRef) -> Result<bool> {
        self.read(|c| {
            let mut s = c.prepare_cached(sql::KEY_WAS_DELETED)?;
            s.query_row(params![key.account, key.region, key.key_id], |r| r.get::<_, i64>(0))
                .map(|n| n > 0)
        })
    }

    async fn count_keys(&self, account: &str, region: &str) -> Result<u64> {
        self.read(|c| {
            let mut s = c.prepare_cached(sql::COUNT_KEYS)?;
            s.query_row(params![account, region], |r| r.get::<_, i64>(0)).map(|n| n as u64)
        })
    }

    async fn count_keys_by_state(&self) -> Result<Vec<KeyCount>> {
        self.read(|c| {
            let mut s = c.prepare_cached(sql::COUNT_KEYS_BY_STATE)?;
            let rows = s.query_map([], mapped!(sql::key_count_row))?;
            rows.collect()
        })
    }

    async fn expiring_materials(&self) -> Result<Vec<ExpiringMaterial>> {
        self.read(|c| {
            let mut s = c.prepare_cached(sql::EXPIRING_MATERIALS)?;
            let rows = s.query_map([], mapped!(sql::expiring_row))?;
            rows.collect()
        })
    }

    async fn claim_notice(&self, notice: &Notice, now_ms: i64) -> Result<bool> {
        let notice = notice.clone();
        self.write(move |tx| {
            let values = sql::notice_values(&notice, now_ms);
            let n = tx.execute(sql::CLAIM_NOTICE, params_from_iter(&values)).map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn prune_notices(&self, before_ms: i64) -> Result<()> {
        self.write(move |tx| {
            tx.execute(sql::PRUNE_NOTICES, [before_ms]).map_err(backend)?;
            Ok(())
        })
        .await
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
            if let Err(e) = made {
                return Err(backend(if e.kind() == std::io::ErrorKind::AlreadyExists {
                    format!("{} exists: a backup is never written over a file", to.display())
                } else {
                    format!("cannot create {}: {e}", to.display())
                }));
            }
            let target = to.to_str().ok_or_else(|| backend("the backup path is not UTF-8"))?;
            let c = open(&from, false)?;
            let copied = c.execute("VACUUM INTO ?1", [target]);
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&to);
                return Err(backend(format!("cannot back up to {}: {e}", to.display())));
            }
            std::fs::File::open(&to).and_then(|f| f.sync_all()).map_err(backend)
        })
        .await
        .map_err(backend)?
    }

    async fn get_materials(&self, key: &KeyRef) -> Result<Vec<MaterialRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {MATERIAL_COLS} FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3 ORDER BY created_ms, material_id"
            ))?;
            let rows = s.query_map(params![key.account, key.region, key.key_id], mapped!(sql::material_row))?;
            rows.collect()
        })
    }

    async fn put_grant(&self, g: &GrantRecord) -> Result<()> {
        let g = g.clone();
        self.write(move |tx| {
            let values = sql::grant_values(&g)?;
            tx.execute(
                &format!(
                    "INSERT INTO grants ({GRANT_COLS}) VALUES ({})",
                    sql::placeholders(values.len())
                ),
                params_from_iter(&values),
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn list_grants(&self, key: &KeyRef) -> Result<Vec<GrantRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {GRANT_COLS} FROM grants WHERE account = ?1 AND region = ?2 AND key_id = ?3 ORDER BY created_ms, grant_id"
            ))?;
            let rows = s.query_map(params![key.account, key.region, key.key_id], mapped!(sql::grant_row))?;
            rows.collect()
        })
    }

    async fn get_grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {GRANT_COLS} FROM grants WHERE token = ?1"))?
                .query_row([token], mapped!(sql::grant_row))
                .optional()
        })
    }

    async fn list_grants_by_retiring(&self, principal: &str) -> Result<Vec<GrantRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {GRANT_COLS} FROM grants WHERE retiring = ?1 ORDER BY created_ms, grant_id"
            ))?;
            let rows = s.query_map([principal], mapped!(sql::grant_row))?;
            rows.collect()
        })
    }

    async fn delete_grant(&self, key: &KeyRef, grant_id: &str) -> Result<()> {
        let (key, id) = (key.clone(), grant_id.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM grants WHERE account = ?1 AND region = ?2 AND key_id = ?3 AND grant_id = ?4",
                    params![key.account, key.region, key.key_id, id],
                )
                .map_err(backend)?;
            if n == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
        .await
    }

    async fn create_alias(&self, a: &AliasRecord) -> Result<()> {
        let a = a.clone();
        self.write(move |tx| {
            let values = sql::alias_values(&a);
            tx.execute(
                &format!(
                    "INSERT INTO aliases ({ALIAS_COLS}) VALUES ({})",
                    sql::placeholders(values.len())
                ),
                params_from_iter(&values),
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {ALIAS_COLS} FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3"
            ))?
            .query_row(params![account, region, name], mapped!(sql::alias_row))
            .optional()
        })
    }

    async fn update_alias(&self, a: &AliasRecord, expected_target: &str) -> Result<()> {
        let (a, expected) = (a.clone(), expected_target.to_string());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE aliases SET target_key_id = ?4, updated_ms = ?5 WHERE account = ?1 AND region = ?2 AND name = ?3 AND target_key_id = ?6",
                    params![a.account, a.region, a.name, a.target_key_id, a.updated_ms, expected],
                )
                .map_err(backend)?;
            alias_outcome(tx, n, &a.account, &a.region, &a.name)
        })
        .await
    }

    async fn delete_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
        expected_target: &str,
    ) -> Result<()> {
        let (account, region, name) = (account.to_string(), region.to_string(), name.to_string());
        let expected = expected_target.to_string();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3 AND target_key_id = ?4",
                    params![account, region, name, expected],
                )
                .map_err(backend)?;
            alias_outcome(tx, n, &account, &region, &name)
        })
        .await
    }

    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {ALIAS_COLS} FROM aliases WHERE account = ?1 AND region = ?2 AND (?3 IS NULL OR target_key_id = ?3) AND name > ?4 ORDER BY name LIMIT ?5"
            ))?;
            let rows = s.query_map(params![account, region, key_id, after.unwrap_or(""), limit as i64], mapped!(sql::alias_row))?;
            rows.collect()
        })
    }
}
