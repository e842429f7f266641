//! Which store holds the data: the embedded SQLite database in the data directory, or a
//! PostgreSQL database shared by several nodes.

use anyhow::Context as _;

use crate::datadir;
use std::path::Path;
use std::sync::Arc;
use trent_store::{PostgresStore, SqliteStore, Store};

/// Connections each node keeps to PostgreSQL.
const POSTGRES_POOL: usize = 16;

/// The keys other nodes change, as the shared database notifies them.
pub type KeyChanges = tokio::sync::mpsc::UnboundedReceiver<trent_store::KeyRef>;

/// Opens the store. `serving` (for `trent serve`) may create the SQLite file, and with a
/// shared database (other nodes may write it) comes the stream of the keys they change.
pub async fn open(
    dir: &Path,
    database_url: Option<&str>,
    serving: bool,
) -> anyhow::Result<(Arc<dyn Store>, Option<KeyChanges>)> {
    if let Some(url) = database_url {
        let store = PostgresStore::connect(url, POSTGRES_POOL)
            .await
            .context("cannot open the PostgreSQL database")?;
        tracing::info!(tls = %store.tls_mode(), "connected to PostgreSQL");
        let changes = serving.then(|| store.watch_keys());
        return Ok((Arc::new(store), changes));
    }
    let db = dir.join(datadir::DATABASE_FILE);
    if !serving && !db.exists() {
        return Err(anyhow::anyhow!(
            "{} has no Trent database: run `trent serve --data-dir {}` once first",
            dir.display(),
            dir.display()
        ));
    }
    datadir::ensure_private_file(&db)?;
    let store = SqliteStore::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    Ok((Arc::new(store), None))
}
