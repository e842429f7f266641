//! The embedded store: SQLite (bundled) in WAL mode with `synchronous=FULL`, so that every
//! acknowledged change survives a crash or power loss. One writer connection (SQLite allows
//! one writer at a time) used from blocking threads; reads use a small pool of connections.

use crate::model::*;
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use trent_types::{
    ExpirationModelType, ImportState, KeyMaterialState, KeySpec, KeyState, KeyUsageType,
    OriginType, RotationType,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, principal_arn TEXT NOT NULL,
  sealed_secret BLOB NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, description TEXT NOT NULL, key_usage TEXT NOT NULL,
  key_spec TEXT NOT NULL, origin TEXT NOT NULL, state TEXT NOT NULL, deletion_date_ms INTEGER,
  policy TEXT NOT NULL, multi_region INTEGER NOT NULL, tags TEXT NOT NULL,
  rotation_enabled INTEGER NOT NULL, rotation_period_days INTEGER, next_rotation_ms INTEGER,
  current_material_id TEXT,
  PRIMARY KEY (account, region, key_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_deletion ON keys (deletion_date_ms) WHERE deletion_date_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_rotation ON keys (next_rotation_ms) WHERE rotation_enabled = 1;
CREATE TABLE IF NOT EXISTS materials (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, material_id TEXT NOT NULL,
  sealed BLOB, state TEXT NOT NULL, created_ms INTEGER NOT NULL, rotation_date_ms INTEGER,
  rotation_type TEXT, import_state TEXT, expiration_model TEXT, valid_to_ms INTEGER,
  description TEXT,
  PRIMARY KEY (account, region, key_id, material_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, target_key_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account, region, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS materials_expiry ON materials (valid_to_ms) WHERE valid_to_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS aliases_target ON aliases (account, region, target_key_id);
CREATE TABLE IF NOT EXISTS users (
  account_id TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identity_policies (
  principal_arn TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL,
  PRIMARY KEY (principal_arn, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grants (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, grant_id TEXT NOT NULL,
  token TEXT NOT NULL UNIQUE, name TEXT, grantee TEXT NOT NULL, retiring TEXT,
  operations TEXT NOT NULL, constraints TEXT, issuer TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY (account, region, key_id, grant_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS grants_retiring ON grants (retiring) WHERE retiring IS NOT NULL;
PRAGMA user_version = 1;
";

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

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let w = open(path, true)?;
        let mode: String =
            w.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(backend)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("cannot enable WAL (journal_mode={mode})")));
        }
        w.execute_batch(SCHEMA).map_err(backend)?;
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

fn enum_col<T>(s: String, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(&s).ok_or_else(|| rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text))
}

fn opt_enum_col<T>(s: Option<String>, parse: fn(&str) -> Option<T>) -> rusqlite::Result<Option<T>> {
    s.map(|s| enum_col(s, parse)).transpose()
}

const KEY_COLS: &str = "account, region, key_id, version, created_ms, description, key_usage, key_spec, origin, state, deletion_date_ms, policy, multi_region, tags, rotation_enabled, rotation_period_days, next_rotation_ms, current_material_id";

fn key_row(r: &Row<'_>) -> rusqlite::Result<KeyRecord> {
    let tags: String = r.get(13)?;
    Ok(KeyRecord {
        key: KeyRef { account: r.get(0)?, region: r.get(1)?, key_id: r.get(2)? },
        version: r.get(3)?,
        created_ms: r.get(4)?,
        description: r.get(5)?,
        key_usage: enum_col(r.get(6)?, KeyUsageType::parse)?,
        key_spec: enum_col(r.get(7)?, KeySpec::parse)?,
        origin: enum_col(r.get(8)?, OriginType::parse)?,
        state: enum_col(r.get(9)?, KeyState::parse)?,
        deletion_date_ms: r.get(10)?,
        policy: r.get(11)?,
        multi_region: r.get(12)?,
        tags: serde_json::from_str(&tags)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        rotation_enabled: r.get(14)?,
        rotation_period_days: r.get(15)?,
        next_rotation_ms: r.get(16)?,
        current_material_id: r.get(17)?,
    })
}

fn tags_json(k: &KeyRecord) -> String {
    serde_json::to_string(&k.tags).unwrap_or_else(|_| "{}".into())
}

const MATERIAL_COLS: &str = "account, region, key_id, material_id, sealed, state, created_ms, rotation_date_ms, rotation_type, import_state, expiration_model, valid_to_ms, description";

fn material_row(r: &Row<'_>) -> rusqlite::Result<MaterialRecord> {
    Ok(MaterialRecord {
        key: KeyRef { account: r.get(0)?, region: r.get(1)?, key_id: r.get(2)? },
        material_id: r.get(3)?,
        sealed: r.get(4)?,
        state: enum_col(r.get(5)?, KeyMaterialState::parse)?,
        created_ms: r.get(6)?,
        rotation_date_ms: r.get(7)?,
        rotation_type: opt_enum_col(r.get(8)?, RotationType::parse)?,
        import_state: opt_enum_col(r.get(9)?, ImportState::parse)?,
        expiration_model: opt_enum_col(r.get(10)?, ExpirationModelType::parse)?,
        valid_to_ms: r.get(11)?,
        description: r.get(12)?,
    })
}

fn insert_key(
    tx: &rusqlite::Transaction<'_>,
    k: &KeyRecord,
    materials: &[MaterialRecord],
) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO keys ({KEY_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            k.key.account, k.key.region, k.key.key_id, k.version, k.created_ms, k.description,
            k.key_usage.as_str(), k.key_spec.as_str(), k.origin.as_str(), k.state.as_str(),
            k.deletion_date_ms, k.policy, k.multi_region, tags_json(k), k.rotation_enabled,
            k.rotation_period_days, k.next_rotation_ms, k.current_material_id,
        ])
    })
    .map_err(unique_or_backend)?;
    for m in materials {
        upsert_material(tx, m)?;
    }
    Ok(())
}

fn upsert_material(tx: &rusqlite::Transaction<'_>, m: &MaterialRecord) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO materials ({MATERIAL_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            m.key.account, m.key.region, m.key.key_id, m.material_id, m.sealed, m.state.as_str(),
            m.created_ms, m.rotation_date_ms, m.rotation_type.map(|v| v.as_str()),
            m.import_state.map(|v| v.as_str()), m.expiration_model.map(|v| v.as_str()),
            m.valid_to_ms, m.description,
        ])
    })
    .map_err(backend)?;
    Ok(())
}

const GRANT_COLS: &str = "account, region, key_id, grant_id, token, name, grantee, retiring, operations, constraints, issuer, created_ms";

fn json_col<T: serde::de::DeserializeOwned>(s: String) -> rusqlite::Result<T> {
    serde_json::from_str(&s).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn grant_row(r: &Row<'_>) -> rusqlite::Result<GrantRecord> {
    Ok(GrantRecord {
        key: KeyRef { account: r.get(0)?, region: r.get(1)?, key_id: r.get(2)? },
        grant_id: r.get(3)?,
        token: r.get(4)?,
        name: r.get(5)?,
        grantee: r.get(6)?,
        retiring: r.get(7)?,
        operations: json_col(r.get(8)?)?,
        constraints: r.get::<_, Option<String>>(9)?.map(json_col).transpose()?,
        issuer: r.get(10)?,
        created_ms: r.get(11)?,
    })
}

fn access_key_row(r: &Row<'_>) -> rusqlite::Result<AccessKeyRecord> {
    Ok(AccessKeyRecord {
        access_key_id: r.get(0)?,
        account_id: r.get(1)?,
        principal_arn: r.get(2)?,
        sealed_secret: r.get(3)?,
        created_ms: r.get(4)?,
    })
}

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord { account_id: r.get(0)?, name: r.get(1)?, created_ms: r.get(2)? })
}

const ALIAS_COLS: &str = "account, region, name, target_key_id, created_ms, updated_ms";

fn alias_row(r: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        account: r.get(0)?,
        region: r.get(1)?,
        name: r.get(2)?,
        target_key_id: r.get(3)?,
        created_ms: r.get(4)?,
        updated_ms: r.get(5)?,
    })
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
            tx.execute(
                "INSERT OR IGNORE INTO accounts (account_id, created_ms) VALUES (?1, ?2)",
                params![a.account_id, a.created_ms],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>> {
        self.read(|c| {
            c.query_row(
                "SELECT account_id, created_ms FROM accounts WHERE account_id = ?1",
                [account_id],
                |r| Ok(AccountRecord { account_id: r.get(0)?, created_ms: r.get(1)? }),
            )
            .optional()
        })
    }

    async fn put_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        let k = k.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO access_keys (access_key_id, account_id, principal_arn, sealed_secret, created_ms) VALUES (?1,?2,?3,?4,?5)",
                params![k.access_key_id, k.account_id, k.principal_arn, k.sealed_secret, k.created_ms],
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        self.read(|c| {
            c.query_row(
                "SELECT access_key_id, account_id, principal_arn, sealed_secret, created_ms FROM access_keys WHERE access_key_id = ?1",
                [id],
                access_key_row,
            )
            .optional()
        })
    }

    async fn list_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached("SELECT access_key_id, account_id, principal_arn, sealed_secret, created_ms FROM access_keys WHERE account_id = ?1 ORDER BY created_ms, access_key_id")?;
            let rows = s.query_map([account_id], access_key_row)?;
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
                "INSERT INTO users (account_id, name, created_ms) VALUES (?1, ?2, ?3)",
                params![u.account_id, u.name, u.created_ms],
            )
            .map_err(unique_or_backend)?;
            Ok(())
        })
        .await
    }

    async fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>> {
        self.read(|c| {
            c.query_row("SELECT account_id, name, created_ms FROM users WHERE account_id = ?1 AND name = ?2", params![account_id, name], user_row)
            .optional()
        })
    }

    async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached("SELECT account_id, name, created_ms FROM users WHERE account_id = ?1 ORDER BY name")?;
            let rows = s.query_map([account_id], user_row)?;
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
            .query_row(params![key.account, key.region, key.key_id], key_row)
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
                .query_row(params![key.account, key.region, key.key_id], key_row)
                .optional()?;
            let Some(rec) = rec else { return Ok(None) };
            let mats = tx
                .prepare_cached(&format!(
                    "SELECT {MATERIAL_COLS} FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3 ORDER BY created_ms, material_id"
                ))?
                .query_map(params![key.account, key.region, key.key_id], material_row)?
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
            let rows = s.query_map(params![account, region, after.unwrap_or(""), limit as i64], key_row)?;
            rows.collect()
        })
    }

    async fn update_key(
        &self,
        k: &KeyRecord,
        materials: &[MaterialRecord],
        remove: &[String],
    ) -> Result<()> {
        let (k, materials, remove) = (k.clone(), materials.to_vec(), remove.to_vec());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE keys SET version = ?4, description = ?5, state = ?6, deletion_date_ms = ?7, policy = ?8,
                     tags = ?9, rotation_enabled = ?10, rotation_period_days = ?11, next_rotation_ms = ?12,
                     current_material_id = ?13
                     WHERE account = ?1 AND region = ?2 AND key_id = ?3 AND version = ?4 - 1",
                    params![
                        k.key.account, k.key.region, k.key.key_id, k.version, k.description, k.state.as_str(),
                        k.deletion_date_ms, k.policy, tags_json(&k), k.rotation_enabled, k.rotation_period_days,
                        k.next_rotation_ms, k.current_material_id,
                    ],
                )
                .map_err(backend)?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
            for m in &materials {
                upsert_material(tx, m)?;
            }
            for id in &remove {
                tx.execute(
                    "DELETE FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3 AND material_id = ?4",
                    params![k.key.account, k.key.region, k.key.key_id, id],
                )
                .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let key = key.clone();
        self.write(move |tx| {
            let p = params![key.account, key.region, key.key_id];
            tx.execute(
                "DELETE FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3",
                p,
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND target_key_id = ?3",
                p,
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM grants WHERE account = ?1 AND region = ?2 AND key_id = ?3", p)
                .map_err(backend)?;
            tx.execute("DELETE FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3", p)
                .map_err(backend)?;
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

    async fn get_materials(&self, key: &KeyRef) -> Result<Vec<MaterialRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {MATERIAL_COLS} FROM materials WHERE account = ?1 AND region = ?2 AND key_id = ?3 ORDER BY created_ms, material_id"
            ))?;
            let rows = s.query_map(params![key.account, key.region, key.key_id], material_row)?;
            rows.collect()
        })
    }

    async fn put_grant(&self, g: &GrantRecord) -> Result<()> {
        let g = g.clone();
        let ops = serde_json::to_string(&g.operations).map_err(backend)?;
        let constraints =
            g.constraints.as_ref().map(serde_json::to_string).transpose().map_err(backend)?;
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO grants ({GRANT_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
                params![g.key.account, g.key.region, g.key.key_id, g.grant_id, g.token, g.name, g.grantee, g.retiring, ops, constraints, g.issuer, g.created_ms],
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
            let rows = s.query_map(params![key.account, key.region, key.key_id], grant_row)?;
            rows.collect()
        })
    }

    async fn get_grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {GRANT_COLS} FROM grants WHERE token = ?1"))?
                .query_row([token], grant_row)
                .optional()
        })
    }

    async fn list_grants_by_retiring(&self, principal: &str) -> Result<Vec<GrantRecord>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {GRANT_COLS} FROM grants WHERE retiring = ?1 ORDER BY created_ms, grant_id"
            ))?;
            let rows = s.query_map([principal], grant_row)?;
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
            tx.execute(
                &format!("INSERT INTO aliases ({ALIAS_COLS}) VALUES (?1,?2,?3,?4,?5,?6)"),
                params![a.account, a.region, a.name, a.target_key_id, a.created_ms, a.updated_ms],
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
            .query_row(params![account, region, name], alias_row)
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
            let rows = s.query_map(params![account, region, key_id, after.unwrap_or(""), limit as i64], alias_row)?;
            rows.collect()
        })
    }
}
