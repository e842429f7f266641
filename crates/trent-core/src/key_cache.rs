//! The keys as the hot path needs them — the record, its materials and its parsed key policy —
//! so that a cryptographic call reads nothing from the database; and the per-key locks that
//! serialize writes.
//!
//! Why the cache never serves a state older than one this process acknowledged: every write
//! and every load that fills the cache runs under the key's lock (a write reads the store,
//! writes it and updates the cache before it lets go), and an insert never replaces an entry
//! with a lower version. With several nodes on one database (PostgreSQL), entries also expire
//! after a short time-to-live, which bounds how long another node's write stays unseen.

use crate::authz::PolicyDocument;
use crate::cache::BoundedCache;
use crate::clock::Clock;
use crate::Result;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use trent_store::{KeyRecord, KeyRef, MaterialRecord, Store};

pub(crate) struct CachedKey {
    /// Shared with the calls that use it: a call holds the record, never a copy of it (a
    /// copy of its strings, policy text included, was a tenth of an Encrypt's allocations).
    pub rec: Arc<KeyRecord>,
    pub mats: Vec<MaterialRecord>,
    /// `None` when the stored policy does not parse (authorization reports it).
    pub policy: Option<Arc<PolicyDocument>>,
}

/// A key's materials as a slice borrowed from the cache entry.
pub(crate) struct Materials(Option<Arc<CachedKey>>);

impl std::ops::Deref for Materials {
    type Target = [MaterialRecord];
    fn deref(&self) -> &[MaterialRecord] {
        self.0.as_ref().map(|c| c.mats.as_slice()).unwrap_or(&[])
    }
}

/// Locks striped over keys: two keys may share a stripe, which only serializes them.
const STRIPES: usize = 256;

/// The cache with the store it loads from and the clock that says what a key is now.
pub(crate) struct KeyCache {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entries: BoundedCache<KeyRef, Arc<CachedKey>>,
    locks: Box<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
}

impl KeyCache {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        capacity: usize,
        ttl: Option<std::time::Duration>,
    ) -> Self {
        KeyCache {
            store,
            clock,
            entries: BoundedCache::new(capacity, ttl),
            locks: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }

    pub(crate) fn counts(&self) -> crate::cache::CacheCounts {
        self.entries.counts()
    }

    /// The lock every write of `key`, and every load of it into the cache, holds. The
    /// Region is not part of the stripe: the keys of one multi-Region set share one lock, so
    /// that a write of the whole set (`writes::modify_related`) takes one lock, in no order.
    pub(crate) async fn lock(&self, key: &KeyRef) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = self.hasher.hash_one((&key.account, &key.key_id)) as usize % STRIPES;
        self.locks[stripe].lock().await
    }

    /// Caches what the store holds for a key, unless the cache already holds a newer version.
    fn put(&self, rec: KeyRecord, mats: Vec<MaterialRecord>) -> Arc<CachedKey> {
        let policy = PolicyDocument::parse(&rec.policy).ok().map(Arc::new);
        let entry = Arc::new(CachedKey { rec: Arc::new(rec), mats, policy });
        self.entries.insert_unless(entry.rec.key.clone(), entry, |old, new| {
            old.rec.version > new.rec.version
        })
    }

    /// The key and its materials, from the cache or the store; `None` if there is no key.
    /// As it is now: when time has changed it since it was stored (expired imported
    /// material), the changed copy, which is served but neither cached nor written.
    pub(crate) async fn cached_key(&self, key: &KeyRef) -> Result<Option<Arc<CachedKey>>> {
        let Some(c) = self.stored_key(key).await? else { return Ok(None) };
        Ok(Some(match crate::lifecycle::as_of(&c.rec, &c.mats, self.clock.now_ms()) {
            None => c,
            Some((rec, mats)) => {
                Arc::new(CachedKey { rec: Arc::new(rec), mats, policy: c.policy.clone() })
            }
        }))
    }

    /// The key and its materials as stored, from the cache or the store.
    async fn stored_key(&self, key: &KeyRef) -> Result<Option<Arc<CachedKey>>> {
        if let Some(c) = self.entries.get(key) {
            return Ok(Some(c));
        }
        if !self.entries.enabled() {
            return Ok(self.read_key(key).await?.map(|(rec, mats)| self.put(rec, mats)));
        }
        // Loaded under the key's lock, so that no write can fall between reading the store
        // and filling the cache.
        let _guard = self.lock(key).await;
        if let Some(c) = self.entries.get(key) {
            return Ok(Some(c));
        }
        Ok(self.read_key(key).await?.map(|(rec, mats)| self.put(rec, mats)))
    }

    /// A key with its materials as one snapshot of the store.
    pub(crate) async fn read_key(
        &self,
        key: &KeyRef,
    ) -> Result<Option<(KeyRecord, Vec<MaterialRecord>)>> {
        Ok(self.store.get_key_with_materials(key).await?)
    }

    /// The materials of a key (cached with the key; shared, not copied).
    pub(crate) async fn materials_of(&self, key: &KeyRef) -> Result<Materials> {
        Ok(Materials(self.cached_key(key).await?))
    }

    /// Records what a write left in the store; the caller holds the key's lock.
    pub(crate) fn cache_key(&self, rec: KeyRecord, mats: Vec<MaterialRecord>) {
        self.put(rec, mats);
    }

    /// Forgets a key; the caller holds the key's lock.
    pub(crate) fn uncache_key(&self, key: &KeyRef) {
        self.entries.remove(key);
    }

    /// The parsed policy of `rec` when the cache holds exactly this policy text.
    pub(crate) fn cached_policy(&self, rec: &KeyRecord) -> Option<Arc<PolicyDocument>> {
        self.entries
            .get(&rec.key)
            .filter(|c| c.rec.policy == rec.policy)
            .and_then(|c| c.policy.clone())
    }
}
