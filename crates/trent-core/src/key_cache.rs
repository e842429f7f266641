//! A bounded cache of keys as the hot path needs them: the record, its materials and its
//! parsed key policy, so that a cryptographic call reads nothing from the database. Every
//! write of this process replaces or evicts the entry. With one server per database (SQLite)
//! entries live until evicted; with several nodes on one database (PostgreSQL) they expire
//! after a short time-to-live, so another node's change is seen within it — the eventual
//! consistency AWS KMS documents for its own API.

use crate::authz::PolicyDocument;
use crate::{Kms, Result};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use trent_store::{KeyRecord, KeyRef, MaterialRecord};

pub(crate) struct CachedKey {
    loaded: std::time::Instant,
    pub rec: KeyRecord,
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

pub(crate) struct KeyCache {
    capacity: usize,
    ttl: Option<std::time::Duration>,
    map: RwLock<HashMap<KeyRef, Arc<CachedKey>>>,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize, ttl: Option<std::time::Duration>) -> Self {
        KeyCache { capacity, ttl, map: RwLock::new(HashMap::new()) }
    }

    fn get(&self, key: &KeyRef) -> Option<Arc<CachedKey>> {
        let entry = self.map.read().ok()?.get(key).cloned()?;
        match self.ttl {
            Some(ttl) if entry.loaded.elapsed() >= ttl => None,
            _ => Some(entry),
        }
    }

    fn put(&self, rec: KeyRecord, mats: Vec<MaterialRecord>) -> Arc<CachedKey> {
        let policy = PolicyDocument::parse(&rec.policy).ok().map(Arc::new);
        let entry = Arc::new(CachedKey { loaded: std::time::Instant::now(), rec, mats, policy });
        if self.capacity == 0 {
            return entry;
        }
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.capacity {
                // Wholesale eviction keeps this bounded and simple; entries reload cheaply.
                map.clear();
            }
            map.insert(entry.rec.key.clone(), entry.clone());
        }
        entry
    }

    pub(crate) fn evict(&self, key: &KeyRef) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }
}

impl Kms {
    /// The key and its materials, from the cache or the store; `None` if there is no key.
    pub(crate) async fn cached_key(&self, key: &KeyRef) -> Result<Option<Arc<CachedKey>>> {
        if let Some(c) = self.keys.get(key) {
            return Ok(Some(c));
        }
        let Some(rec) = self.store.get_key(key).await? else { return Ok(None) };
        let mats = self.store.get_materials(key).await?;
        Ok(Some(self.keys.put(rec, mats)))
    }

    /// The materials of a key (cached with the key; shared, not copied).
    pub(crate) async fn materials_of(&self, key: &KeyRef) -> Result<Materials> {
        Ok(Materials(self.cached_key(key).await?))
    }

    /// Records what a successful write left in the store.
    pub(crate) fn cache_key(&self, rec: KeyRecord, mats: Vec<MaterialRecord>) {
        self.keys.put(rec, mats);
    }

    pub(crate) fn uncache_key(&self, key: &KeyRef) {
        self.keys.evict(key);
    }

    /// The parsed policy of `rec` when the cache holds exactly this policy text.
    pub(crate) fn cached_policy(&self, rec: &KeyRecord) -> Option<Arc<PolicyDocument>> {
        self.keys
            .get(&rec.key)
            .filter(|c| c.rec.policy == rec.policy)
            .and_then(|c| c.policy.clone())
    }
}
