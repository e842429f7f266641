//! Numbered schema migrations, the same numbers for both engines (`schema/<engine>/NNNN_*.sql`):
//! a store opened runs those it has not run, in order, in one transaction, and records the
//! version it reached (SQLite: `PRAGMA user_version`; PostgreSQL: `schema_migrations`). A
//! database newer than this binary is refused: an older binary cannot know what a newer
//! schema means.

use crate::{Fault, Result};

/// One migration: its number and its statements for each engine.
pub(crate) struct Migration {
    pub version: u32,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../schema/sqlite/0001_initial.sql"),
        postgres: include_str!("../schema/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../schema/sqlite/0002_notices.sql"),
        postgres: include_str!("../schema/postgres/0002_notices.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../schema/sqlite/0003_multi_region.sql"),
        postgres: include_str!("../schema/postgres/0003_multi_region.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../schema/sqlite/0004_partitions.sql"),
        postgres: include_str!("../schema/postgres/0004_partitions.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../schema/sqlite/0005_one_sql.sql"),
        postgres: include_str!("../schema/postgres/0005_one_sql.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../schema/sqlite/0006_trail.sql"),
        postgres: include_str!("../schema/postgres/0006_trail.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../schema/sqlite/0007_trail_outbox.sql"),
        postgres: include_str!("../schema/postgres/0007_trail_outbox.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../schema/sqlite/0008_trail_events.sql"),
        postgres: include_str!("../schema/postgres/0008_trail_events.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../schema/sqlite/0009_xks.sql"),
        postgres: include_str!("../schema/postgres/0009_xks.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../schema/sqlite/0010_custom_key_stores.sql"),
        postgres: include_str!("../schema/postgres/0010_custom_key_stores.sql"),
    },
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// The migrations a database at `current` still needs, or why it cannot be opened.
pub(crate) fn pending(current: u32) -> Result<&'static [Migration]> {
    if current > SCHEMA_VERSION {
        return Err(Fault::NewerSchema { found: current, knows: SCHEMA_VERSION }.into());
    }
    Ok(&MIGRATIONS[current as usize..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert!(pending(SCHEMA_VERSION).unwrap().is_empty());
        let newer = pending(SCHEMA_VERSION + 1).err().unwrap().to_string();
        assert!(newer.contains("newer than this trent knows"), "{newer}");
    }
}
