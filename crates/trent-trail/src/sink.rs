//! Where records go: the sink the domain and the HTTP layer hand each record to (the
//! binary's journal, a test's memory, or the log), and what a write that failed says.

use crate::record::Entry;

/// A record that could not be written (the trail does not hold it). Shown with its cause, so
/// that the log line of one says why; cloned to every caller whose record was in the failed
/// write.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The trail's file could not be written, synced or rotated.
    #[error("the audit record could not be written: {0}")]
    Io(std::sync::Arc<std::io::Error>),
    /// The writer is gone (stopped, failed, or its lock poisoned by a panic).
    #[error("the audit record could not be written: {0}")]
    Writer(&'static str),
}

impl From<std::io::Error> for AuditError {
    fn from(e: std::io::Error) -> Self {
        AuditError::Io(std::sync::Arc::new(e))
    }
}

pub trait AuditSink: Send + Sync {
    /// Appends one entry (a call's compact record, or a record in CloudTrail's shape); done
    /// once it is in the trail.
    fn record(&self, entry: Entry) -> AuditWrite;

    /// Whether a record handed here is in a trail (a journal), not only in the log: service
    /// and admin events leave the store's outbox only for a sink that keeps them.
    fn keeps_records(&self) -> bool {
        true
    }
}

/// A record handed to a sink: written already, or queued behind a write under way (a sink
/// that writes many callers' records at once, so that no caller waits for another's
/// write(2) on a thread of its own).
pub enum AuditWrite {
    Done(Result<(), AuditError>),
    Queued(tokio::sync::oneshot::Receiver<Result<(), AuditError>>),
}

fn writer_stopped() -> AuditError {
    AuditError::Writer("the audit writer stopped")
}

impl AuditWrite {
    /// `Ok` once the record is in the trail.
    pub async fn written(self) -> Result<(), AuditError> {
        match self {
            AuditWrite::Done(r) => r,
            AuditWrite::Queued(rx) => rx.await.unwrap_or_else(|_| Err(writer_stopped())),
        }
    }

    /// The same, waited for on a thread outside any runtime.
    pub fn written_blocking(self) -> Result<(), AuditError> {
        match self {
            AuditWrite::Done(r) => r,
            AuditWrite::Queued(rx) => rx.blocking_recv().unwrap_or_else(|_| Err(writer_stopped())),
        }
    }
}

/// Writes each event to the log under the `audit` target.
pub struct LogAudit;

impl AuditSink for LogAudit {
    fn record(&self, entry: Entry) -> AuditWrite {
        tracing::info!(target: "audit", event = %entry.rendered());
        AuditWrite::Done(Ok(()))
    }

    fn keeps_records(&self) -> bool {
        false
    }
}
