//! Persistence in KMS terms: the store's traits, one per aggregate (service metadata,
//! identities, keys with their materials, aliases, grants, notices, usage, backup), their one
//! SQL implementation ([`SqlStore`]) and the two engines under it. SQLite is the embedded
//! default; PostgreSQL serves several nodes.

mod custom_key_stores;
mod engine;
mod migrations;
mod model;
pub mod postgres;
mod postgres_tls;
mod rows;
pub mod sqlite;
mod statements;
mod store;
mod traits;

pub use migrations::SCHEMA_VERSION;
pub use model::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::SqlStore;
pub use traits::*;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row that must be unique exists already (e.g. an alias name).
    #[error("already exists")]
    AlreadyExists,
    /// An update lost a race: the row changed since it was read. Read again and retry.
    #[error("concurrent modification")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// The database failed; the cause is for the log only. Its `Display` is the whole chain
    /// (what failed and every cause), so that a log line of this error says everything; it is
    /// not also given as `source()`, which would make a chain printer say it twice.
    #[error("{}", trent_types::error_chain(.0))]
    Backend(Fault),
}

impl From<Fault> for StoreError {
    fn from(f: Fault) -> Self {
        StoreError::Backend(f)
    }
}

/// Why the database failed: the engine's own error kept as the source, or what Trent found
/// wrong with what the database holds or with how it is reached.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("SQLite failed")]
    Sqlite(#[source] rusqlite::Error),
    #[error("PostgreSQL failed")]
    Postgres(#[source] tokio_postgres::Error),
    #[error("no PostgreSQL connection")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cannot build the PostgreSQL connection pool")]
    PoolBuild(#[from] deadpool_postgres::BuildError),
    #[error("{what} {}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exists: a backup is never written over a file", .0.display())]
    BackupExists(PathBuf),
    #[error("the path {} is not UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error("a PostgreSQL store is backed up with PostgreSQL's tools (pg_dump): see docs/operations.md, Backups")]
    BackupUnsupported,
    #[error("cannot enable WAL (journal_mode={0})")]
    NoWal(String),
    #[error("schema migration {version} failed")]
    Migration {
        version: u32,
        #[source]
        source: Box<StoreError>,
    },
    #[error("the database has schema version {found}, newer than this trent knows ({knows}): run the trent that wrote it (or a newer one), or restore a backup made by this version")]
    NewerSchema { found: u32, knows: u32 },
    #[error("unknown value '{0}' in the database")]
    UnknownValue(String),
    #[error("bad JSON column")]
    Json(#[from] serde_json::Error),
    /// The PostgreSQL connection settings are wrong (the message says how to fix them).
    #[error("{0}")]
    Settings(String),
    #[error("{what}")]
    SettingsCause {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("a database task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("a database lock was poisoned by a panic")]
    Poisoned,
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    /// A taken primary key or unique value is `AlreadyExists`; anything else a fault.
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                StoreError::AlreadyExists
            }
            _ => StoreError::Backend(Fault::Sqlite(e)),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    /// A unique violation is `AlreadyExists`; anything else a fault.
    fn from(e: tokio_postgres::Error) -> Self {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            StoreError::AlreadyExists
        } else {
            StoreError::Backend(Fault::Postgres(e))
        }
    }
}

macro_rules! fault_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Backend(e.into())
            }
        }
    )*};
}
fault_from!(
    deadpool_postgres::PoolError,
    deadpool_postgres::BuildError,
    serde_json::Error,
    tokio::task::JoinError
);
