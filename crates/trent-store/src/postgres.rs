//! The engine for several nodes: PostgreSQL through a deadpool pool of tokio-postgres
//! connections. Every write is one transaction (PostgreSQL commits are durable with its
//! default `synchronous_commit=on`). Connections are Unix sockets, plain TCP, or TLS with
//! `sslmode=verify-full` (`postgres_tls`). A change of a key notifies the other nodes (a
//! trigger of the schema, `0005`), which [`PostgresStore::watch_keys`] listens for.

use crate::engine::{bind_value, cells_by, Engine, Query, Step, Value};
use crate::model::KeyRef;
use crate::postgres_tls::{self, PgTls};
use crate::store::SqlStore;
use crate::{Fault, Result};
use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{NoTls, Row, Socket};

/// Serializes schema creation across nodes starting at once.
const SCHEMA_LOCK: i64 = 0x7472_656e_7401;

/// The channel every key change notifies, with `account:region:key_id` as payload (the
/// `keys_notify` trigger).
const KEYS_CHANNEL: &str = "trent_keys";

/// The store on PostgreSQL.
pub type PostgresStore = SqlStore<Postgres>;

pub struct Postgres {
    pool: Pool,
    /// The connection settings, for the listening connection of [`PostgresStore::watch_keys`].
    config: tokio_postgres::Config,
    tls: PgTls,
}

fn parse_notified(payload: &str) -> Option<KeyRef> {
    let mut p = payload.splitn(3, ':');
    Some(KeyRef {
        account: p.next()?.to_string(),
        region: p.next()?.to_string(),
        key_id: p.next()?.to_string(),
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db` or key=value form) with a
    /// pool of `max_connections` and creates or migrates the schema if needed.
    pub async fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let (pg, tls) = postgres_tls::settings(url)?;
        let fast = || ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match &tls {
            PgTls::Plain => Manager::from_config(pg.clone(), NoTls, fast()),
            PgTls::Verified(rustls) => Manager::from_config(pg.clone(), rustls.clone(), fast()),
        };
        let pool = Pool::builder(manager).max_size(max_connections.max(1)).build()?;
        let engine = Postgres { pool, config: pg, tls };
        engine.migrate().await?;
        Ok(SqlStore { engine })
    }

    /// Every key another node (or this one) changes, as PostgreSQL notifies it: a listening
    /// connection of its own, reconnected when it drops (notifications sent meanwhile are
    /// lost; the caches' time-to-live covers them).
    pub fn watch_keys(&self) -> tokio::sync::mpsc::UnboundedReceiver<KeyRef> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (config, tls) = (self.engine.config.clone(), self.engine.tls.clone());
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
        match self.engine.tls {
            PgTls::Plain => "none",
            PgTls::Verified(_) => "verify-full",
        }
    }
}

impl Postgres {
    /// Runs the migrations this database has not run, under a lock: one node at a time, the
    /// others find the schema migrated.
    async fn migrate(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await?;
        let row =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?;
        let version: i32 = row.try_get(0)?;
        // A database of the first release has its tables but no row: migration 1 is
        // idempotent (IF NOT EXISTS), so it runs again harmlessly and is recorded.
        for m in crate::migrations::pending(u32::try_from(version).unwrap_or(0))? {
            tx.batch_execute(m.postgres)
                .await
                .map_err(|e| Fault::Migration { version: m.version, source: Box::new(e.into()) })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[&(m.version as i32), &now_ms()],
            )
            .await?;
        }
        Ok(tx.commit().await?)
    }
}

async fn run<C: GenericClient + Sync, T>(c: &C, q: &Query<T>) -> Result<Vec<T>> {
    let s = c.prepare_cached(q.sql).await?;
    let rows = c.query(&s, &bind(&q.params)).await?;
    rows.iter().map(|r| (q.map)(r)).collect()
}

async fn execute<C: GenericClient + Sync>(c: &C, step: &Step) -> Result<u64> {
    let s = c.prepare_cached(step.sql).await?;
    let n = c.execute(&s, &bind(&step.params)).await?;
    step.check(n)?;
    Ok(n)
}

#[async_trait]
impl Engine for Postgres {
    async fn query<T: Send + 'static>(&self, q: Query<T>) -> Result<Vec<T>> {
        run(&self.pool.get().await?, &q).await
    }

    async fn query2<A: Send + 'static, B: Send + 'static>(
        &self,
        a: Query<A>,
        b: Query<B>,
    ) -> Result<(Vec<A>, Vec<B>)> {
        let mut c = self.pool.get().await?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let out = (run(&tx, &a).await?, run(&tx, &b).await?);
        tx.commit().await?;
        Ok(out)
    }

    async fn write(&self, steps: Vec<Step>) -> Result<Vec<u64>> {
        let mut c = self.pool.get().await?;
        if let [step] = steps.as_slice() {
            // One statement is atomic on its own: no BEGIN and COMMIT round trips.
            return Ok(vec![execute(&c, step).await?]);
        }
        let tx = c.transaction().await?;
        let mut changed = Vec::with_capacity(steps.len());
        for step in &steps {
            changed.push(execute(&tx, step).await?);
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn backup_to(&self, _: &std::path::Path) -> Result<()> {
        Err(Fault::BackupUnsupported.into())
    }
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    Ok(r.try_get(i)?)
}

// A row read through the shared mapping of `rows.rs`.
cells_by!(Row, col);

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each value is checked against the column's type by its own ToSql.
        bind_value!(self, |v| v.to_sql_checked(ty, out))
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Values as tokio-postgres parameters.
fn bind(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
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
