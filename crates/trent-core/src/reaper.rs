//! Background duties: persisting what time did (deleting keys whose deletion date has passed,
//! deleting expired imported material) and rotating keys whose automatic rotation is due.
//! Reads never wait for them: they serve keys as they are now (`lifecycle`).

use crate::{Kms, Result};
use std::sync::Arc;
use std::time::Duration;

impl Kms {
    /// Deletes, for good, every key whose deletion date has passed.
    pub async fn reap_deleted_keys(&self) -> Result<usize> {
        let due = self.store.keys_due_for_deletion(self.now_ms()).await?;
        let mut n = 0;
        for key in &due {
            n += usize::from(self.purge_if_due(key).await?);
        }
        Ok(n)
    }

    /// Runs the background duties every `every` until the task is dropped.
    pub async fn run_background(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = self.reap_deleted_keys().await {
                tracing::warn!(error = %e, "key deletion pass failed");
            }
            if let Err(e) = self.expire_due_materials().await {
                tracing::warn!(error = %e, "expiry pass failed");
            }
            if let Err(e) = self.rotate_due_keys().await {
                tracing::warn!(error = %e, "rotation pass failed");
            }
        }
    }
}
