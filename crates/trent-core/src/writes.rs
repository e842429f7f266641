//! Writes to one key: serialized by the key's lock, computed from what the store holds (never
//! from the cache) as time has changed it (`lifecycle`: expired material is deleted in the same
//! write), committed with a version check, and cached before the lock is released.
//! Concurrent legal calls therefore all succeed or fail with the error their order implies; a
//! version conflict can only come from another node, and is retried with backoff.

use crate::lifecycle;
pub(crate) use crate::lifecycle::Changes;
use crate::{Kms, KmsError, Result};
use std::time::Duration;
use trent_store::{KeyRecord, KeyRef, KeyUpdate, MaterialRecord, StoreError};
use trent_types::KeyState;

/// Attempts against other nodes' writes before the caller is asked to slow down.
const ATTEMPTS: u32 = 12;

/// A little randomness in the backoff, so that nodes that collided do not collide again.
fn jitter(attempt: u32) -> Duration {
    let mut b = [0u8; 1];
    let _ = trent_crypto::random_bytes(&mut b);
    Duration::from_micros((500u64 << attempt.min(6)) + u64::from(b[0]) * 20)
}

/// One key being written: as stored, and as the write leaves it. The draft starts as the key
/// is now (expired material deleted; a transient state shown) and, when finished, keeps the
/// transient state only if the write did not change the state itself.
pub(crate) struct Draft {
    stored: KeyRecord,
    pub rec: KeyRecord,
    pub mats: Vec<MaterialRecord>,
    due: lifecycle::Expiry,
    own: Changes,
    /// The state stored under the transient one that is shown, if one is.
    settled: Option<KeyState>,
    /// When the write is made (the time of its service events).
    now: i64,
}

impl Draft {
    fn new(stored: KeyRecord, mut mats: Vec<MaterialRecord>, now: i64) -> Draft {
        let mut rec = stored.clone();
        let due = lifecycle::expire(&mut rec, &mats, now);
        lifecycle::apply(&mut mats, &due.changes);
        let settled = lifecycle::transient_state(&rec, now).map(|shown| {
            let settled = rec.state;
            rec.state = shown;
            settled
        });
        Draft { stored, rec, mats, due, own: Changes::none(), settled, now }
    }

    /// Puts back the stored state under a transient one that is shown, unless the write
    /// changed the state itself (ScheduleKeyDeletion of a key still being created: the new
    /// state stands, the transient one ends). Idempotent.
    fn settle(&mut self) {
        if let Some(settled) = self.settled.take() {
            match self.rec.transient {
                Some(t) if t.state == self.rec.state => self.rec.state = settled,
                _ => self.rec.transient = None,
            }
        }
    }

    /// Whether the write changes this key (its row, its materials, or expired material); of
    /// a settled draft.
    fn changed(&self) -> bool {
        !(self.own.upsert.is_empty()
            && self.own.remove.is_empty()
            && self.due.expired.is_empty()
            && self.rec == self.stored)
    }

    /// Records changes to the materials (applied to `mats` at once).
    pub(crate) fn change(&mut self, changes: Changes) {
        lifecycle::apply(&mut self.mats, &changes);
        self.own = lifecycle::merge(std::mem::take(&mut self.own), changes);
    }

    /// The row and material changes to write, or `None` if nothing changed (with `touch`, an
    /// unchanged key is written too: its version moves, so that a write of a whole set fails
    /// if another node changed any key of it since it was read); the draft as it will be
    /// stored.
    fn finish(mut self, touch: bool) -> (Option<KeyUpdate>, Written) {
        self.settle();
        let unchanged = !touch && !self.changed();
        let mut events = Vec::new();
        let update = (!unchanged).then(|| {
            self.rec.version += 1;
            let mut changes = lifecycle::merge(std::mem::take(&mut self.due.changes), self.own);
            // AWS records each expiry as a service event (DeleteExpiredKeyMaterial), kept
            // with the deletion of the material it records.
            let k = &self.rec.key;
            for id in &self.due.expired {
                let event = crate::audit::delete_expired_key_material(
                    &k.account,
                    &k.region,
                    &k.key_id,
                    &k.arn(),
                    id,
                    self.now,
                );
                changes.events.push(crate::audit::outbox(&event, self.now));
            }
            events = changes.events.clone();
            KeyUpdate {
                key: self.rec.clone(),
                upsert: changes.upsert,
                remove: changes.remove,
                events: changes.events,
            }
        });
        let written = Written { rec: self.rec, mats: self.mats, expired: self.due.expired, events };
        (update, written)
    }
}

/// A key as a write left it.
struct Written {
    rec: KeyRecord,
    mats: Vec<MaterialRecord>,
    expired: Vec<String>,
    /// The service events committed with it, for the journal.
    events: Vec<trent_store::OutboxEvent>,
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
        let _guard = self.held.keys.lock(key).await;
        for attempt in 0..ATTEMPTS {
            let Some((rec, mats)) = self.held.keys.read_key(key).await? else {
                self.held.keys.uncache_key(key);
                return Err(crate::gate::key_not_found(key));
            };
            let now = self.now_ms();
            if lifecycle::is_past_deletion(&rec, now) {
                self.purge_locked(key).await?;
                return Err(crate::gate::key_not_found(key));
            }
            let mut draft = Draft::new(rec, mats, now);
            let own = f(&mut draft.rec, &draft.mats)?;
            draft.change(own);
            match self.commit(vec![draft], now, false).await? {
                Some(mut done) => return Ok(done.remove(0)),
                // Another node wrote the key since we read it: read again.
                None => tokio::time::sleep(jitter(attempt)).await,
            }
        }
        tracing::warn!(key = %key.arn(), "key still contended after {ATTEMPTS} attempts");
        Err(KmsError::throttling())
    }

    /// `modify_key` for every key of a multi-Region set (the keys with this id in every
    /// Region of the account, past-deletion ones left out), written in one transaction under
    /// the set's one lock. `f` sees the drafts ordered by Region.
    pub(crate) async fn modify_related<F>(
        &self,
        account: &str,
        key_id: &str,
        mut f: F,
    ) -> Result<Vec<(KeyRecord, Vec<MaterialRecord>)>>
    where
        F: FnMut(&mut [Draft], i64) -> Result<()> + Send,
    {
        let probe =
            KeyRef { account: account.into(), region: String::new(), key_id: key_id.into() };
        let _guard = self.held.keys.lock(&probe).await;
        self.modify_related_locked(account, key_id, &mut f).await
    }

    /// `modify_related` for a caller that holds the set's lock already.
    pub(crate) async fn modify_related_locked(
        &self,
        account: &str,
        key_id: &str,
        f: &mut (dyn FnMut(&mut [Draft], i64) -> Result<()> + Send),
    ) -> Result<Vec<(KeyRecord, Vec<MaterialRecord>)>> {
        for attempt in 0..ATTEMPTS {
            let now = self.now_ms();
            let mut drafts = Vec::new();
            for rec in self.store.related_keys(account, key_id).await? {
                if lifecycle::is_past_deletion(&rec, now) {
                    continue;
                }
                let mats = self.store.get_materials(&rec.key).await?;
                drafts.push(Draft::new(rec, mats, now));
            }
            f(&mut drafts, now)?;
            // What `f` made of one key may rest on what it read of another: if anything is
            // written, every key of the set is, each with its version checked.
            if let Some(done) = self.commit(drafts, now, true).await? {
                return Ok(done);
            }
            tokio::time::sleep(jitter(attempt)).await;
        }
        tracing::warn!(
            account,
            key_id,
            "multi-Region key still contended after {ATTEMPTS} attempts"
        );
        Err(KmsError::throttling())
    }

    /// Writes the drafts that changed (with `touch_all`, every draft once any changed) in one
    /// transaction and caches them; `None` when another node wrote one of them since it was
    /// read. The caller holds their lock.
    async fn commit(
        &self,
        drafts: Vec<Draft>,
        now: i64,
        touch_all: bool,
    ) -> Result<Option<Vec<(KeyRecord, Vec<MaterialRecord>)>>> {
        let mut drafts = drafts;
        drafts.iter_mut().for_each(Draft::settle);
        let touch = touch_all && drafts.iter().any(Draft::changed);
        let (updates, written): (Vec<_>, Vec<_>) =
            drafts.into_iter().map(|d| d.finish(touch)).unzip();
        let updates: Vec<KeyUpdate> = updates.into_iter().flatten().collect();
        if !updates.is_empty() {
            match self.store.update_keys(updates).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        let mut out = Vec::with_capacity(written.len());
        let mut events = Vec::new();
        for w in written {
            self.held.keys.cache_key(w.rec.clone(), w.mats.clone());
            if !w.expired.is_empty() {
                self.held.evict_materials(&w.rec.key);
                for id in &w.expired {
                    tracing::info!(key = %w.rec.key.arn(), material = %id, "imported key material expired");
                }
                // AWS's EventBridge event names the key only, once per expiry.
                self.send_notice(crate::notices::expiration(&w.rec.key, now));
            }
            events.extend(w.events);
            out.push((w.rec, w.mats));
        }
        self.journal_events(events).await;
        Ok(Some(out))
    }

    /// Deletes a key for good (its materials, aliases and grants with it) if its deletion
    /// date has passed, as the store says under the key's lock; whether it did.
    pub(crate) async fn purge_if_due(&self, key: &KeyRef) -> Result<bool> {
        let _guard = self.held.keys.lock(key).await;
        match self.held.keys.read_key(key).await? {
            Some((rec, _)) if lifecycle::is_past_deletion(&rec, self.now_ms()) => {
                self.purge_locked(key).await?;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => {
                self.held.keys.uncache_key(key);
                Ok(true)
            }
        }
    }

    /// The caller holds the key's lock, which is its multi-Region set's lock too.
    async fn purge_locked(&self, key: &KeyRef) -> Result<()> {
        // AWS records the deletion as a service event in the key's account: written with it.
        let now = self.now_ms();
        let event = crate::audit::outbox(&crate::audit::delete_key(key, now), now);
        self.store.delete_key(key, std::slice::from_ref(&event)).await?;
        self.held.keys.uncache_key(key);
        self.held.evict_materials(key);
        self.access.authz_cache.forget_grants(key);
        tracing::info!(key = %key.arn(), "deleted key whose deletion date passed");
        self.journal_events(vec![event]).await;
        if key.key_id.starts_with("mrk-") {
            self.after_replica_deletion(key).await?;
        }
        Ok(())
    }

    /// When the last replica of a primary waiting in `PendingReplicaDeletion` is gone, the
    /// primary's own waiting period starts: `PendingDeletion`, deletion date = now + period.
    async fn after_replica_deletion(&self, key: &KeyRef) -> Result<()> {
        self.modify_related_locked(&key.account, &key.key_id, &mut |drafts, now| {
            if drafts.len() != 1 || drafts[0].rec.state != KeyState::PendingReplicaDeletion {
                return Ok(());
            }
            let d = &mut drafts[0];
            let days = d.rec.pending_window_days.take().unwrap_or(30);
            d.rec.state = KeyState::PendingDeletion;
            d.rec.deletion_date_ms = Some(now + days * 86_400_000);
            tracing::info!(key = %d.rec.key.arn(), days, "last replica deleted; the primary's deletion is scheduled");
            Ok(())
        })
        .await
        .map(drop)
    }
}
