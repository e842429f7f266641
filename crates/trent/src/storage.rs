//! Which store holds the data: the embedded SQLite database in the data directory, or a
//! PostgreSQL database shared by several nodes.

use crate::datadir;
use std::path::Path;
use std::sync::Arc;
use trent_store::{PostgresStore, SqliteStore, Store};

/// Connections each node keeps to PostgreSQL.
const POSTGRES_POOL: usize = 16;

/// How long a node trusts its cached copy of a key when other nodes may change it.
pub const SHARED_KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens the store; `create` allows creating the SQLite file. The flag says whether other
/// nodes may write the same database.
pub async fn open(
    dir: &Path,
    database_url: Option<&str>,
    create: bool,
) -> Result<(Arc<dyn Store>, bool), String> {
    if let Some(url) = database_url {
        let store = PostgresStore::connect(url, POSTGRES_POOL)
            .await
            .map_err(|e| format!("cannot open the PostgreSQL database: {e}"))?;
        return Ok((Arc::new(store), true));
    }
    let db = dir.join(datadir::DATABASE_FILE);
    if !create && !db.exists() {
        return Err(format!(
            "{} has no Trent database: run `trent serve --data-dir {}` once first",
            dir.display(),
            dir.display()
        ));
    }
    datadir::ensure_private_file(&db)?;
    let store = SqliteStore::open(&db).map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    Ok((Arc::new(store), false))
}
