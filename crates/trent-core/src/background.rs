//! Background duties, a type of their own: persisting what time did (deleting keys whose
//! deletion date has passed, deleting expired imported material), rotating keys whose
//! automatic rotation is due, and warning of material about to expire (`notices.rs`). Reads
//! never wait for them: they serve keys as they are now (`lifecycle`).

use crate::lifecycle::NOT_DUE;
use crate::{Kms, Result};
use std::sync::Arc;
use std::time::Duration;
use trent_types::{ErrorCode, RotationType};

/// The background duties of one [`Kms`].
pub struct Background<'k> {
    pub(crate) kms: &'k Kms,
}

impl Kms {
    pub fn background(&self) -> Background<'_> {
        Background { kms: self }
    }

    /// Runs the background duties every `every` until the task is dropped; expired imported
    /// material is deleted (and DeleteExpiredKeyMaterial written) every second, so that the
    /// record follows `ValidTo` within a second or two whether or not anyone calls.
    pub async fn run_background(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        let mut expiry = tokio::time::interval(Duration::from_secs(1));
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.background().run_once().await,
                _ = expiry.tick() => {
                    if let Err(e) = self.background().expire_due_materials().await {
                        tracing::warn!(error = %e, "expiry pass failed");
                    }
                }
            }
        }
    }
}

impl Background<'_> {
    /// Every duty once, each logged if it fails (the next pass tries again).
    pub async fn run_once(&self) {
        if let Err(e) = self.reap_deleted_keys().await {
            tracing::warn!(error = %e, "key deletion pass failed");
        }
        if let Err(e) = self.expire_due_materials().await {
            tracing::warn!(error = %e, "expiry pass failed");
        }
        if let Err(e) = self.rotate_due_keys().await {
            tracing::warn!(error = %e, "rotation pass failed");
        }
        if let Err(e) = self.warn_expiring_materials().await {
            tracing::warn!(error = %e, "expiry warning pass failed");
        }
        if let Err(e) = self.kms.sweep_outbox().await {
            tracing::warn!(error = %e, "outbox pass failed");
        }
    }

    /// Deletes, for good, every key whose deletion date has passed.
    pub async fn reap_deleted_keys(&self) -> Result<usize> {
        let due = self.kms.store.keys_due_for_deletion(self.kms.now_ms()).await?;
        let mut n = 0;
        for key in &due {
            n += usize::from(self.kms.purge_if_due(key).await?);
        }
        Ok(n)
    }

    /// Persists the deletion of expired imported material, key by key.
    pub async fn expire_due_materials(&self) -> Result<usize> {
        let due = self.kms.store.keys_with_expired_material(self.kms.now_ms()).await?;
        for key in &due {
            self.kms.expire_material(key).await?;
        }
        Ok(due.len())
    }

    /// Rotates every key whose automatic rotation is due.
    pub async fn rotate_due_keys(&self) -> Result<usize> {
        let due = self.kms.store.keys_due_for_rotation(self.kms.now_ms()).await?;
        let mut n = 0;
        for key in due {
            match self.kms.rotate(&key, RotationType::Automatic).await {
                Ok(_) => n += 1,
                Err(e)
                    if e.code() == ErrorCode::KMSInvalidStateException
                        && e.message() == NOT_DUE => {} // another node rotated it
                Err(e) => tracing::warn!(key = %key.arn(), error = %e, "automatic rotation failed"),
            }
        }
        Ok(n)
    }
}
