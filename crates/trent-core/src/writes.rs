//! Writes to one key: serialized by the key's lock, computed from what the store holds (never
//! from the cache) as time has changed it (`lifecycle`: expired material is deleted in the same
//! write), committed with a version check, and cached before the lock is released.
//! Concurrent legal calls therefore all succeed or fail with the error their order implies; a
//! version conflict can only come from another node, and is retried with backoff.

use crate::lifecycle;
use crate::{Kms, KmsError, Result};
use std::time::Duration;
use trent_store::{KeyRecord, KeyRef, MaterialRecord, StoreError};

/// Attempts against other nodes' writes before the caller is asked to slow down.
const ATTEMPTS: u32 = 12;

/// What an update does to a key's materials besides changing its row.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub upsert: Vec<MaterialRecord>,
    pub remove: Vec<String>,
}

impl Changes {
    pub(crate) fn none() -> Self {
        Changes::default()
    }
}

impl From<Vec<MaterialRecord>> for Changes {
    fn from(upsert: Vec<MaterialRecord>) -> Self {
        Changes { upsert, remove: Vec::new() }
    }
}

/// A little randomness in the backoff, so that nodes that collided do not collide again.
fn jitter(attempt: u32) -> Duration {
    let mut b = [0u8; 1];
    let _ = trent_crypto::random_bytes(&mut b);
    Duration::from_micros((500u64 << attempt.min(6)) + u64::from(b[0]) * 20)
}

impl Kms {
    /// Reads a key and its materials, applies what time has done to them (expired material),
    /// lets `f` change them, and writes the result back atomically, holding the key's lock
    /// throughout. `f` sees the key as it is now; nothing is written if nothing changed.
    pub(crate) async fn modify_key<F>(
        &self,
        key: &KeyRef,
        mut f: F,
    ) -> Result<(KeyRecord, Vec<MaterialRecord>)>
    where
        F: FnMut(&mut KeyRecord, &[MaterialRecord]) -> Result<Changes>,
    {
        let _guard = self.keys.lock(key).await;
        for attempt in 0..ATTEMPTS {
            let Some((mut rec, mut mats)) = self.read_key(key).await? else {
                self.uncache_key(key);
                return Err(crate::gate::key_not_found(key));
            };
            let now = self.now_ms();
            if lifecycle::is_past_deletion(&rec, now) {
                self.purge_locked(key).await?;
                return Err(crate::gate::key_not_found(key));
            }
            let stored = rec.clone();
            let due = lifecycle::expire(&mut rec, &mats, now);
            lifecycle::apply(&mut mats, &due.changes);
            let own = f(&mut rec, &mats)?;
            if own.upsert.is_empty()
                && own.remove.is_empty()
                && due.expired.is_empty()
                && rec == stored
            {
                return Ok((rec, mats));
            }
            lifecycle::apply(&mut mats, &own);
            let changes = lifecycle::merge(due.changes, own);
            rec.version += 1;
            match self.store.update_key(&rec, &changes.upsert, &changes.remove).await {
                Ok(()) => {
                    self.cache_key(rec.clone(), mats.clone());
                    if !due.expired.is_empty() {
                        self.evict_materials(key);
                        self.record_expiry(&rec, &due.expired, now);
                    }
                    return Ok((rec, mats));
                }
                // Another node wrote the key since we read it: read again.
                Err(StoreError::Conflict) => tokio::time::sleep(jitter(attempt)).await,
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(key = %key.arn(), "key still contended after {ATTEMPTS} attempts");
        Err(KmsError::throttling())
    }

    /// Logs and audits the deletion of expired material (CloudTrail's DeleteExpiredKeyMaterial).
    fn record_expiry(&self, k: &KeyRecord, expired: &[String], now: i64) {
        for id in expired {
            tracing::info!(key = %k.key.arn(), material = %id, "imported key material expired");
            let event = crate::audit::delete_expired_key_material(
                &k.key.account,
                &k.key.region,
                &k.key.key_id,
                &k.key.arn(),
                id,
                now,
            );
            // The expiry has happened (it is the clock's, not a request's): a record that
            // cannot be written is an error to see, not a reason to undo it.
            if let Err(e) = self.write_audit(event) {
                tracing::error!(key = %k.key.arn(), material = %id, error = %e, "expired key material not in the audit trail");
            }
        }
        // AWS's EventBridge event names the key only, once per expiry.
        if !expired.is_empty() {
            self.send_notice(crate::notices::expiration(&k.key, now));
        }
    }

    /// Deletes a key for good (its materials, aliases and grants with it) if its deletion
    /// date has passed, as the store says under the key's lock; whether it did.
    pub(crate) async fn purge_if_due(&self, key: &KeyRef) -> Result<bool> {
        let _guard = self.keys.lock(key).await;
        match self.read_key(key).await? {
            Some((rec, _)) if lifecycle::is_past_deletion(&rec, self.now_ms()) => {
                self.purge_locked(key).await?;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => {
                self.uncache_key(key);
                Ok(true)
            }
        }
    }

    async fn purge_locked(&self, key: &KeyRef) -> Result<()> {
        self.store.delete_key(key).await?;
        self.uncache_key(key);
        self.evict_materials(key);
        tracing::info!(key = %key.arn(), "deleted key whose deletion date passed");
        Ok(())
    }
}
