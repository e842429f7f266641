//! The node's journal: `DATA_DIR/audit.log` and its rotated `audit-<first sequence>.log`
//! files, JSON lines chained by digests (`crate::chain`). What a call must have on disk before
//! it is answered is written here (`file`); read in order for delivery and the cluster's
//! copy (`reader`), backwards for LookupEvents (`lookup`), and checked against its chain and
//! the store (`check`).

pub mod check;
pub mod file;
pub mod lookup;
pub mod reader;

pub use check::{against_store, verify_dir, verify_files};
pub use file::{trail_files, AuditOptions, FileAudit, LIVE_FILE};
pub use lookup::{FileTrail, StoreTrail};
pub use reader::JournalReader;

use serde_json::value::RawValue;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A journal line as its readers see it: its sequence and its entry, unparsed (a checkpoint
/// has neither entry).
#[derive(serde::Deserialize)]
pub struct EntryLine<'a> {
    pub sequence: u64,
    #[serde(borrow, default)]
    record: Option<&'a RawValue>,
    #[serde(borrow, default)]
    call: Option<&'a RawValue>,
}

impl<'a> EntryLine<'a> {
    /// The line of `text`; `None` if it is not a journal line.
    pub fn parse(text: &'a str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The record in CloudTrail's shape (a compact call rendered), or an expiry notice in
    /// EventBridge's; `None` for a checkpoint.
    pub fn record(&self) -> Option<Cow<'a, str>> {
        match (self.call, self.record) {
            (Some(call), _) => crate::record::render_compact(call.get()).map(Cow::Owned),
            (None, Some(record)) => Some(Cow::Borrowed(record.get())),
            (None, None) => None,
        }
    }
}

/// What went wrong with the journal's files.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has no audit trail", .0.display())]
    NoTrail(PathBuf),
    #[error(transparent)]
    Store(#[from] trent_store::StoreError),
}

impl JournalError {
    pub(crate) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| JournalError::Io { what, path, source }
    }
}
