//! The store for several nodes: PostgreSQL through a deadpool pool of tokio-postgres
//! connections. Same schema and semantics as the SQLite store; every call is one transaction
//! (PostgreSQL commits are durable with its default `synchronous_commit=on`). Connections
//! are Unix sockets, plain TCP, or TLS with `sslmode=verify-full` (`postgres_tls`).

use crate::model::*;
use crate::postgres_tls::{self, PgTls};
use crate::sql::{
    self, Value, ACCESS_KEY_COLS, ALIAS_COLS, BYTEWISE, GRANT_COLS, KEY_COLS, MATERIAL_COLS,
    USER_COLS,
};
use crate::{Result, Store, StoreError};
use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::ToSql;
use tokio_postgres::types::{to_sql_checked, IsNull, Type};
use tokio_postgres::{NoTls, Row, Socket};

/// Serializes schema creation across nodes starting at once.
const SCHEMA_LOCK: i64 = 0x7472_656e_7401;

pub struct PostgresStore {
    pool: Pool,
    /// The connection settings, for the listening connection of [`PostgresStore::watch_keys`].
    config: tokio_postgres::Config,
    tls: PgTls,
}

/// The channel every key write notifies, with `account:region:key_id` as payload.
const KEYS_CHANNEL: &str = "trent_keys";

fn notify_key(key: &KeyRef) -> String {
    format!("{}:{}:{}", key.account, key.region, key.key_id)
}

fn parse_notified(payload: &str) -> Option<KeyRef> {
    let mut p = payload.splitn(3, ':');
    Some(KeyRef {
        account: p.next()?.to_string(),
        region: p.next()?.to_string(),
        key_id: p.next()?.to_string(),
    })
}

/// The error and its causes (tokio-postgres says "error performing TLS handshake" and keeps
/// the why, an unknown issuer say, in its source).
fn backend<E: std::error::Error>(e: E) -> StoreError {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    StoreError::Backend(text)
}

fn unique_or_backend(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::AlreadyExists
    } else {
        backend(e)
    }
}

fn one_or_not_found(n: u64) -> Result<()> {
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db` or key=value form) with a
    /// pool of `max_connections` and creates the schema if needed.
    pub async fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let (pg, tls) = postgres_tls::settings(url)?;
        let fast = || ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match &tls {
            PgTls::Plain => Manager::from_config(pg.clone(), NoTls, fast()),
            PgTls::Verified(rustls) => Manager::from_config(pg.clone(), rustls.clone(), fast()),
        };
        let pool =
            Pool::builder(manager).max_size(max_connections.max(1)).build().map_err(backend)?;
        let store = PostgresStore { pool, config: pg, tls };
        let mut c = store.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        // Under the lock, one node at a time: the others find the schema migrated.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await.map_err(backend)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await
        .map_err(backend)?;
        let row = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
            .await
            .map_err(backend)?;
        let version: i32 = row.try_get(0).map_err(backend)?;
        // A database of the first release has its tables but no row: migration 1 is
        // idempotent (IF NOT EXISTS), so it runs again harmlessly and is recorded.
        for m in crate::migrations::pending(u32::try_from(version).unwrap_or(0))? {
            tx.batch_execute(m.postgres).await.map_err(|e| {
                StoreError::Backend(format!("schema migration {} failed: {e}", m.version))
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[&(m.version as i32), &now],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(store)
    }

    /// Every key another node (or this one) writes, as PostgreSQL notifies it: a listening
    /// connection of its own, reconnected when it drops (notifications sent meanwhile are
    /// lost; the caches' time-to-live covers them).
    pub fn watch_keys(&self) -> tokio::sync::mpsc::UnboundedReceiver<KeyRef> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (config, tls) = (self.config.clone(), self.tls.clone());
        tokio::spawn(async move {
            while !tx.is_closed() {
                let listened = match &tls {
                    PgTls::Plain => listen(&config, NoTls, &tx).await,
                    PgTls::Verified(rustls) => listen(&config, rustls.clone(), &tx).await,
                };
                if let Err(e) = listened {
                    tracing::warn!(error = %e, "lost the PostgreSQL notification connection; cached keys expire after their time-to-live until it is back");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        rx
    }

    /// How connections are protected: `verify-full` (TLS, chain and name checked) or `none`.
    pub fn tls_mode(&self) -> &'static str {
        match self.tls {
            PgTls::Plain => "none",
            PgTls::Verified(_) => "verify-full",
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(backend)
    }

    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let c = self.client().await?;
        let s = c.prepare_cached(sql).await.map_err(backend)?;
        c.query(&s, params).await.map_err(backend)
    }

    async fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let c = self.client().await?;
        let s = c.prepare_cached(sql).await.map_err(backend)?;
        c.query_opt(&s, params).await.map_err(backend)
    }

    /// One statement in its own (implicit) transaction; returns the rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let c = self.client().await?;
        let s = c.prepare_cached(sql).await.map_err(backend)?;
        c.execute(&s, params).await.map_err(unique_or_backend)
    }

    /// After a compare-and-set on an alias that changed `n` rows: done, or why not.
    async fn alias_outcome(&self, n: u64, account: &str, region: &str, name: &str) -> Result<()> {
        if n == 1 {
            return Ok(());
        }
        let exists = self
            .query_opt(
                "SELECT 1 FROM aliases WHERE account = $1 AND region = $2 AND name = $3",
                &[&account, &region, &name],
            )
            .await?
            .is_some();
        Err(if exists { StoreError::Conflict } else { StoreError::NotFound })
    }

    async fn key_refs(&self, statement: &str, now_ms: i64) -> Result<Vec<KeyRef>> {
        let rows = self.query(statement, &[&now_ms]).await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRef {
                    account: r.try_get(0).map_err(backend)?,
                    region: r.try_get(1).map_err(backend)?,
                    key_id: r.try_get(2).map_err(backend)?,
                })
            })
            .collect()
    }
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(backend)
}

/// A row read through the shared mapping of `sql.rs`.
impl sql::Cells for Row {
    fn text(&self, i: usize) -> Result<String> {
        col(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        col(self, i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        col(self, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        col(self, i)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        col(self, i)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        col(self, i)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        col(self, i)
    }
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each value is checked against the column's type by its own ToSql.
        match self {
            Value::Text(s) => s.as_ref().to_sql_checked(ty, out),
            Value::OptText(s) => s.to_sql_checked(ty, out),
            Value::Int(v) => v.to_sql_checked(ty, out),
            Value::OptInt(v) => v.to_sql_checked(ty, out),
            Value::Flag(v) => v.to_sql_checked(ty, out),
            Value::OptBlob(v) => v.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Shared values as tokio-postgres parameters.
fn bind<'v>(values: &'v [Value<'_>]) -> Vec<&'v (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

async fn insert_key<C: GenericClient + Sync>(
    c: &C,
    k: &KeyRecord,
    mats: &[MaterialRecord],
) -> Result<()> {
    let values = sql::key_values(k)?;
    let s = c
        .prepare_cached(&format!(
            "INSERT INTO keys ({KEY_COLS}) VALUES ({})",
            sql::placeholders(values.len())
        ))
        .await
        .map_err(backend)?;
    c.execute(&s, &bind(&values)).await.map_err(unique_or_backend)?;
    for m in mats {
        upsert_material(c, m).await?;
    }
    Ok(())
}

async fn upsert_material<C: GenericClient + Sync>(c: &C, m: &MaterialRecord) -> Result<()> {
    let values = sql::material_values(m);
    let s = c
        .prepare_cached(&format!(
            "INSERT INTO materials ({MATERIAL_COLS}) VALUES ({})
             ON CONFLICT (account, region, key_id, material_id) DO UPDATE SET sealed = EXCLUDED.sealed,
             state = EXCLUDED.state, created_ms = EXCLUDED.created_ms, rotation_date_ms = EXCLUDED.rotation_date_ms,
             rotation_type = EXCLUDED.rotation_type, import_state = EXCLUDED.import_state,
             expiration_model = EXCLUDED.expiration_model, valid_to_ms = EXCLUDED.valid_to_ms,
             description = EXCLUDED.description",
            sql::placeholders(values.len())
        ))
        .await
        .map_err(backend)?;
    c.execute(&s, &bind(&values)).await.map_err(backend)?;
    Ok(())
}

fn rows<T>(rows: Vec<Row>, f: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

/// One listening connection: forwards notified keys until it fails or nobody listens.
async fn listen<T>(
    config: &tokio_postgres::Config,
    tls: T,
    tx: &tokio::sync::mpsc::UnboundedSender<KeyRef>,
) -> std::result::Result<(), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut connection) = config.connect(tls).await?;
    let forward = tx.clone();
    // The connection is driven here; the client's own requests (LISTEN) go through it too.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    if let Some(key) = parse_notified(n.payload()) {
                        if forward.send(key).is_err() {
                            return Ok(());
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {KEYS_CHANNEL}")).await?;
    tracing::info!("listening for key changes of other nodes");
    // The client keeps the connection open until the driver ends.
    let out = driver.await.unwrap_or(Ok(()));
    drop(client);
    out
}

#[async_trait]
impl Store for PostgresStore {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.query_opt("SELECT value FROM meta WHERE name = $1", &[&name])
            .await?
            .map(|r| col(&r, 0))
            .transpose()
    }

    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.execute(
            "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &value],
        )
        .await?;
        let r = self.query_opt("SELECT value FROM meta WHERE name = $1", &[&name]).await?;
        col(&r.ok_or(StoreError::NotFound)?, 0)
    }

    async fn put_account(&self, a: &AccountRecord) -> Result<()> {
        self.execute(sql::PUT_ACCOUNT, &[&a.account_id, &a.created_ms, &a.partition])
            .await
            .map(drop)
    }

    async fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>> {
        self.query_opt(sql::GET_ACCOUNT, &[&account_id])
            .await?
            .as_ref()
            .map(sql::account_row)
            .transpose()
    }

    async fn put_access_key(&self, k: &AccessKeyRecord) -> Result<()> {
        self.execute(
            &format!("INSERT INTO access_keys ({ACCESS_KEY_COLS}) VALUES ($1,$2,$3,$4,$5)"),
            &[&k.access_key_id, &k.account_id, &k.principal_arn, &k.sealed_secret, &k.created_ms],
        )
        .await
        .map(drop)
    }

    async fn get_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        let statement =
            format!("SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE access_key_id = $1");
        self.query_opt(&statement, &[&id]).await?.as_ref().map(sql::access_key_row).transpose()
    }

    async fn list_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>> {
        let statement = format!("SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE account_id = $1 ORDER BY created_ms, access_key_id {BYTEWISE}");
        rows(self.query(&statement, &[&account_id]).await?, sql::access_key_row)
    }

    async fn delete_access_key(&self, id: &str) -> Result<()> {
        one_or_not_found(
            self.execute("DELETE FROM access_keys WHERE access_key_id = $1", &[&id]).await?,
        )
    }

    async fn put_user(&self, u: &UserRecord) -> Result<()> {
        self.execute(
            &format!("INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4)"),
            &[&u.account_id, &u.name, &u.created_ms, &u.partition],
        )
        .await
        .map(drop)
    }

    async fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>> {
        let statement =
            format!("SELECT {USER_COLS} FROM users WHERE account_id = $1 AND name = $2");
        self.query_opt(&statement, &[&account_id, &name])
            .await?
            .as_ref()
            .map(sql::user_row)
            .transpose()
    }

    async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>> {
        let statement =
            format!("SELECT {USER_COLS} FROM users WHERE account_id = $1 ORDER BY name {BYTEWISE}");
        rows(self.query(&statement, &[&account_id]).await?, sql::user_row)
    }

    async fn put_identity_policy(
        &self,
        principal_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO identity_policies (principal_arn, name, document) VALUES ($1, $2, $3)
             ON CONFLICT (principal_arn, name) DO UPDATE SET document = EXCLUDED.document",
            &[&principal_arn, &name, &document],
        )
        .await
        .map(drop)
    }

    async fn delete_identity_policy(&self, principal_arn: &str, name: &str) -> Result<()> {
        one_or_not_found(
            self.execute(
                "DELETE FROM identity_policies WHERE principal_arn = $1 AND name = $2",
                &[&principal_arn, &name],
            )
            .await?,
        )
    }

    async fn list_identity_policies(&self, principal_arn: &str) -> Result<Vec<(String, String)>> {
        let statement =
            "SELECT name, document FROM identity_policies WHERE principal_arn = $1 ORDER BY name COLLATE \"C\"";
        self.query(statement, &[&principal_arn])
            .await?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect()
    }

    async fn create_key(&self, k: &KeyRecord, materials: &[MaterialRecord]) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        insert_key(&tx, k, materials).await?;
        tx.commit().await.map_err(backend)
    }

    async fn create_keys(&self, keys: Vec<(KeyRecord, Vec<MaterialRecord>)>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        for (k, materials) in &keys {
            insert_key(&tx, k, materials).await?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>> {
        let statement = format!(
            "SELECT {KEY_COLS} FROM keys WHERE account = $1 AND region = $2 AND key_id = $3"
        );
        self.query_opt(&statement, &[&key.account, &key.region, &key.key_id])
            .await?
            .as_ref()
            .map(sql::key_row)
            .transpose()
    }

    async fn get_key_with_materials(
        &self,
        key: &KeyRef,
    ) -> Result<Option<(KeyRecord, Vec<MaterialRecord>)>> {
        let mut c = self.client().await?;
        // One snapshot for both reads.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(backend)?;
        let p: [&(dyn ToSql + Sync); 3] = [&key.account, &key.region, &key.key_id];
        let statement = format!(
            "SELECT {KEY_COLS} FROM keys WHERE account = $1 AND region = $2 AND key_id = $3"
        );
        let s = tx.prepare_cached(&statement).await.map_err(backend)?;
        let Some(row) = tx.query_opt(&s, &p).await.map_err(backend)? else { return Ok(None) };
        let rec = sql::key_row(&row)?;
        let statement = format!(
            "SELECT {MATERIAL_COLS} FROM materials WHERE account = $1 AND region = $2 AND key_id = $3 ORDER BY created_ms, material_id {BYTEWISE}"
        );
        let s = tx.prepare_cached(&statement).await.map_err(backend)?;
        let mats = rows(tx.query(&s, &p).await.map_err(backend)?, sql::material_row)?;
        tx.commit().await.map_err(backend)?;
        Ok(Some((rec, mats)))
    }

    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>> {
        let statement = format!(
            "SELECT {KEY_COLS} FROM keys WHERE account = $1 AND region = $2 AND key_id {BYTEWISE} > $3 ORDER BY key_id {BYTEWISE} LIMIT $4"
        );
        let (after, limit) = (after.unwrap_or(""), limit as i64);
        rows(self.query(&statement, &[&account, &region, &after, &limit]).await?, sql::key_row)
    }

    async fn update_keys(&self, updates: Vec<KeyUpdate>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        for u in &updates {
            let k = &u.key;
            let values = sql::update_key_values(k)?;
            let n = tx.execute(sql::UPDATE_KEY, &bind(&values)).await.map_err(backend)?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
            for m in &u.upsert {
                upsert_material(&tx, m).await?;
            }
            for id in &u.remove {
                tx.execute(
                    sql::DELETE_MATERIAL,
                    &[&k.key.account, &k.key.region, &k.key.key_id, id],
                )
                .await
                .map_err(backend)?;
            }
            // Delivered to the other nodes when (and only if) the transaction commits.
            tx.execute("SELECT pg_notify($1, $2)", &[&KEYS_CHANNEL, &notify_key(&k.key)])
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>> {
        let statement = format!("SELECT {KEY_COLS} FROM keys {}", sql::RELATED_KEYS);
        rows(self.query(&statement, &[&account, &key_id]).await?, sql::key_row)
    }

    async fn put_last_usage(&self, usages: Vec<KeyLastUsageRecord>) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        for u in &usages {
            let values = sql::last_usage_values(u);
            tx.execute(sql::UPSERT_LAST_USAGE, &bind(&values)).await.map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn get_last_usage(&self, key: &KeyRef) -> Result<Option<KeyLastUsageRecord>> {
        let statement = format!(
            "SELECT {} FROM key_last_usage WHERE account = $1 AND region = $2 AND key_id = $3",
            sql::LAST_USAGE_COLS
        );
        self.query_opt(&statement, &[&key.account, &key.region, &key.key_id])
            .await?
            .as_ref()
            .map(sql::last_usage_row)
            .transpose()
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        let p: [&(dyn ToSql + Sync); 3] = [&key.account, &key.region, &key.key_id];
        for statement in sql::DELETE_KEY_CASCADE {
            tx.execute(statement, &p).await.map_err(backend)?;
        }
        tx.execute("SELECT pg_notify($1, $2)", &[&KEYS_CHANNEL, &notify_key(key)])
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT account, region, key_id FROM keys WHERE deletion_date_ms IS NOT NULL AND deletion_date_ms <= $1 AND state = 'PendingDeletion'", now_ms).await
    }

    async fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT account, region, key_id FROM keys WHERE rotation_enabled AND next_rotation_ms IS NOT NULL AND next_rotation_ms <= $1", now_ms).await
    }

    async fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<KeyRef>> {
        self.key_refs("SELECT DISTINCT account, region, key_id FROM materials WHERE sealed IS NOT NULL AND valid_to_ms IS NOT NULL AND valid_to_ms <= $1", now_ms).await
    }

    async fn key_was_deleted(&self, key: &KeyRef) -> Result<bool> {
        let p: [&(dyn ToSql + Sync); 3] = [&key.account, &key.region, &key.key_id];
        let rows = self.query(sql::KEY_WAS_DELETED, &p).await?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(backend)?.unwrap_or(0);
        Ok(n > 0)
    }

    async fn count_keys(&self, account: &str, region: &str) -> Result<u64> {
        let rows = self.query(sql::COUNT_KEYS, &[&account, &region]).await?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose().map_err(backend)?.unwrap_or(0);
        Ok(n as u64)
    }

    async fn count_keys_by_state(&self) -> Result<Vec<KeyCount>> {
        rows(self.query(sql::COUNT_KEYS_BY_STATE, &[]).await?, sql::key_count_row)
    }

    async fn expiring_materials(&self) -> Result<Vec<ExpiringMaterial>> {
        rows(self.query(sql::EXPIRING_MATERIALS, &[]).await?, sql::expiring_row)
    }

    async fn claim_notice(&self, notice: &Notice, now_ms: i64) -> Result<bool> {
        let values = sql::notice_values(notice, now_ms);
        Ok(self.execute(sql::CLAIM_NOTICE, &bind(&values)).await? == 1)
    }

    async fn prune_notices(&self, before_ms: i64) -> Result<()> {
        self.execute(sql::PRUNE_NOTICES, &[&before_ms]).await.map(drop)
    }

    async fn backup_to(&self, _: &std::path::Path) -> Result<()> {
        Err(StoreError::Backend(
            "a PostgreSQL store is backed up with PostgreSQL's tools (pg_dump): see docs/operations.md, Backups".into(),
        ))
    }

    async fn get_materials(&self, key: &KeyRef) -> Result<Vec<MaterialRecord>> {
        let statement = format!(
            "SELECT {MATERIAL_COLS} FROM materials WHERE account = $1 AND region = $2 AND key_id = $3 ORDER BY created_ms, material_id {BYTEWISE}"
        );
        rows(
            self.query(&statement, &[&key.account, &key.region, &key.key_id]).await?,
            sql::material_row,
        )
    }

    async fn put_grant(&self, g: &GrantRecord) -> Result<()> {
        let values = sql::grant_values(g)?;
        let statement = format!(
            "INSERT INTO grants ({GRANT_COLS}) VALUES ({})",
            sql::placeholders(values.len())
        );
        self.execute(&statement, &bind(&values)).await.map(drop)
    }

    async fn list_grants(&self, key: &KeyRef) -> Result<Vec<GrantRecord>> {
        let statement = format!(
            "SELECT {GRANT_COLS} FROM grants WHERE account = $1 AND region = $2 AND key_id = $3 ORDER BY created_ms, grant_id {BYTEWISE}"
        );
        rows(
            self.query(&statement, &[&key.account, &key.region, &key.key_id]).await?,
            sql::grant_row,
        )
    }

    async fn get_grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>> {
        let statement = format!("SELECT {GRANT_COLS} FROM grants WHERE token = $1");
        self.query_opt(&statement, &[&token]).await?.as_ref().map(sql::grant_row).transpose()
    }

    async fn list_grants_by_retiring(&self, principal: &str) -> Result<Vec<GrantRecord>> {
        let statement = format!("SELECT {GRANT_COLS} FROM grants WHERE retiring = $1 ORDER BY created_ms, grant_id {BYTEWISE}");
        rows(self.query(&statement, &[&principal]).await?, sql::grant_row)
    }

    async fn delete_grant(&self, key: &KeyRef, grant_id: &str) -> Result<()> {
        one_or_not_found(
            self.execute(
                "DELETE FROM grants WHERE account = $1 AND region = $2 AND key_id = $3 AND grant_id = $4",
                &[&key.account, &key.region, &key.key_id, &grant_id],
            )
            .await?,
        )
    }

    async fn create_alias(&self, a: &AliasRecord) -> Result<()> {
        let values = sql::alias_values(a);
        let statement = format!(
            "INSERT INTO aliases ({ALIAS_COLS}) VALUES ({})",
            sql::placeholders(values.len())
        );
        self.execute(&statement, &bind(&values)).await.map(drop)
    }

    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>> {
        let statement = format!(
            "SELECT {ALIAS_COLS} FROM aliases WHERE account = $1 AND region = $2 AND name = $3"
        );
        self.query_opt(&statement, &[&account, &region, &name])
            .await?
            .as_ref()
            .map(sql::alias_row)
            .transpose()
    }

    async fn update_alias(&self, a: &AliasRecord, expected_target: &str) -> Result<()> {
        let n = self
            .execute(
                "UPDATE aliases SET target_key_id = $4, updated_ms = $5 WHERE account = $1 AND region = $2 AND name = $3 AND target_key_id = $6",
                &[&a.account, &a.region, &a.name, &a.target_key_id, &a.updated_ms, &expected_target],
            )
            .await?;
        self.alias_outcome(n, &a.account, &a.region, &a.name).await
    }

    async fn delete_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
        expected_target: &str,
    ) -> Result<()> {
        let n = self
            .execute(
                "DELETE FROM aliases WHERE account = $1 AND region = $2 AND name = $3 AND target_key_id = $4",
                &[&account, &region, &name, &expected_target],
            )
            .await?;
        self.alias_outcome(n, account, region, name).await
    }

    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        let statement = format!(
            "SELECT {ALIAS_COLS} FROM aliases WHERE account = $1 AND region = $2 AND ($3::TEXT IS NULL OR target_key_id = $3) AND name {BYTEWISE} > $4 ORDER BY name {BYTEWISE} LIMIT $5"
        );
        let (after, limit) = (after.unwrap_or(""), limit as i64);
        rows(
            self.query(&statement, &[&account, &region, &key_id, &after, &limit]).await?,
            sql::alias_row,
        )
    }
}
