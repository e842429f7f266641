//! What the service does by itself (DeleteKey at the end of a waiting period, RotateKey,
//! DeleteExpiredKeyMaterial) reaches the trail through the store: its record is committed in
//! the transaction that makes the change (the outbox), written to this node's journal right
//! after, and then leaves the outbox. A crash between the two leaves it there, and the
//! background pass of any node writes it later (`sweep_outbox`): a change is never without
//! its record.

use crate::{Kms, Result};
use trent_store::OutboxEvent;

/// How long an outbox event waits for the node that made it before another node writes it.
const STALE_MS: i64 = 60_000;

impl Kms {
    /// Writes committed service events to the journal; each leaves the outbox once it is
    /// there. One that cannot be written stays for `sweep_outbox` (the change has happened:
    /// it is never undone for its record).
    pub(crate) async fn journal_events(&self, events: Vec<OutboxEvent>) {
        // A process with no journal (`trent admin` on the store itself) leaves its records
        // to a server's outbox pass.
        if !self.hooks.audit.keeps_records() {
            return;
        }
        for e in events {
            match self.hooks.record(trent_trail::Entry::Record(e.record)).await {
                Ok(()) => {
                    if let Err(err) = self.store.outbox_done(&e.event_id).await {
                        // Left in the outbox, it would be written a second time.
                        tracing::warn!(event_id = %e.event_id, error = %err, "a journaled service event is still in the outbox");
                    }
                }
                Err(err) => {
                    tracing::error!(event_id = %e.event_id, error = %err, "a service event is not in the journal yet; it stays in the store's outbox")
                }
            }
        }
    }

    /// Records what the operator did (`admin_event`): kept in the store's outbox first, so a
    /// `trent admin` that runs on the store without a server leaves it for a server to
    /// journal, then journaled here when this process has a journal.
    pub(crate) async fn record_admin(&self, event: serde_json::Value) -> Result<()> {
        let now = self.now_ms();
        let e = crate::audit::outbox(&event, now);
        self.store.put_outbox(std::slice::from_ref(&e)).await?;
        self.journal_events(vec![e]).await;
        Ok(())
    }

    /// Writes the service events other nodes (or this one, before a crash) committed but
    /// never journaled; each is claimed first, so one node writes it.
    pub(crate) async fn sweep_outbox(&self) -> Result<usize> {
        let now = self.now_ms();
        let mut n = 0;
        for e in self.store.stale_outbox(now - STALE_MS).await? {
            if self.store.claim_outbox(&e.event_id, now, now - STALE_MS).await? {
                tracing::info!(event_id = %e.event_id, "journaling a service event left in the outbox");
                self.journal_events(vec![e]).await;
                n += 1;
            }
        }
        Ok(n)
    }
}
