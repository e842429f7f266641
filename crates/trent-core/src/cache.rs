//! A bounded, sharded map for the caches (keys, opened materials, signing keys). Reads take
//! one shard's read lock; a full shard evicts the oldest of a few sampled entries — never the
//! whole map — and entries may expire after a time-to-live. Whether an entry may replace
//! another is the caller's decision (`insert_unless`), so a cache of versioned records can
//! refuse to go back in time. `Generational` wraps one for values loaded from the store that
//! writes invalidate (identity policies, grants).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

const SHARDS: usize = 16;
/// Entries looked at to choose one to evict.
const SAMPLE: usize = 8;

struct Slot<V> {
    at: Instant,
    value: V,
}

type Shard<K, V> = RwLock<HashMap<K, Slot<V>>>;

pub(crate) struct BoundedCache<K, V> {
    shards: Box<[Shard<K, V>]>,
    per_shard: usize,
    ttl: Option<Duration>,
    hasher: RandomState,
    /// Lookups answered from the cache, and not (for the metrics' hit ratio).
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a cache answered a lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> BoundedCache<K, V> {
    /// A cache of about `capacity` entries (0: caches nothing), each valid for `ttl`.
    pub(crate) fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        BoundedCache {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard,
            ttl,
            hasher: RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.per_shard > 0
    }

    /// The shard of `key`, or of any borrowed form of it (which hashes alike, by `Borrow`'s
    /// contract), so that a lookup need not build an owned key.
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &Shard<K, V> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    fn fresh(&self, slot: &Slot<V>) -> bool {
        self.ttl.is_none_or(|ttl| slot.at.elapsed() < ttl)
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.shard(key).read().ok()?;
        let found = map.get(key).filter(|s| self.fresh(s)).map(|s| s.value.clone());
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn counts(&self) -> CacheCounts {
        CacheCounts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Inserts `value` unless `keep(existing, &value)` says a live existing entry wins;
    /// returns the entry the cache holds afterwards.
    pub(crate) fn insert_unless(&self, key: K, value: V, keep: impl Fn(&V, &V) -> bool) -> V {
        if !self.enabled() {
            return value;
        }
        let Ok(mut map) = self.shard(&key).write() else { return value };
        if let Some(s) = map.get(&key) {
            if self.fresh(s) && keep(&s.value, &value) {
                return s.value.clone();
            }
        }
        self.put_locked(&mut map, key, value.clone());
        value
    }

    /// Inserts `value` if `admit()`, asked under the lock that `remove` takes: a remove that
    /// follows whatever made `admit` true cannot fall between the check and the insert.
    pub(crate) fn insert_if(&self, key: K, value: V, admit: impl FnOnce() -> bool) {
        if !self.enabled() {
            return;
        }
        let Ok(mut map) = self.shard(&key).write() else { return };
        if admit() {
            self.put_locked(&mut map, key, value);
        }
    }

    /// Inserts into a locked shard, evicting a sampled old entry when it is full.
    fn put_locked(&self, map: &mut HashMap<K, Slot<V>>, key: K, value: V) {
        if !map.contains_key(&key) && map.len() >= self.per_shard {
            let victim = map.iter().take(SAMPLE).min_by_key(|(_, s)| s.at).map(|(k, _)| k.clone());
            if let Some(v) = victim {
                map.remove(&v);
            }
        }
        map.insert(key, Slot { at: Instant::now(), value });
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        self.insert_unless(key, value, |_, _| false);
    }

    pub(crate) fn remove(&self, key: &K) {
        if let Ok(mut map) = self.shard(key).write() {
            map.remove(key);
        }
    }

    /// Keeps only the entries for which `f` holds.
    pub(crate) fn retain(&self, f: impl Fn(&K) -> bool) {
        for shard in self.shards.iter() {
            if let Ok(mut map) = shard.write() {
                map.retain(|k, _| f(k));
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().map(|m| m.len()).unwrap_or(0)).sum()
    }
}

/// A cache of what the store holds, never older than a write this node acknowledged: a
/// write bumps the generation and then drops the entry (after the store has it), and a load
/// that read the store before a write's bump is not kept. With several nodes, another node's
/// write is seen once the entry expires (the key cache's time-to-live).
pub(crate) struct Generational<K, V> {
    entries: BoundedCache<K, V>,
    generation: AtomicU64,
}

/// The generation a load began at: its value is kept only if no write began since.
pub(crate) struct LoadStart(u64);

impl<K: Hash + Eq + Clone, V: Clone> Generational<K, V> {
    pub(crate) fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        Generational { entries: BoundedCache::new(capacity, ttl), generation: AtomicU64::new(0) }
    }

    pub(crate) fn counts(&self) -> CacheCounts {
        self.entries.counts()
    }

    /// The cached value, or where a load of it begins (before it reads the store).
    pub(crate) fn get(&self, key: &K) -> Result<V, LoadStart> {
        self.entries.get(key).ok_or_else(|| LoadStart(self.generation.load(Ordering::SeqCst)))
    }

    /// Keeps what a load read, unless a write began after the load did. The generation is
    /// read under the entry's lock: a write that bumps it after the check removes the entry
    /// after the insert, before it is acknowledged.
    pub(crate) fn loaded(&self, start: LoadStart, key: K, value: V) {
        self.entries.insert_if(key, value, || self.generation.load(Ordering::SeqCst) == start.0);
    }

    /// After `key`'s value changed in the store.
    pub(crate) fn forget(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_a_write_overtook_is_not_kept() {
        let c = Generational::new(10, None);
        let Err(start) = c.get(&1) else { panic!("empty") };
        // A write lands (and is acknowledged) while the load is reading the old value.
        c.forget(&1);
        c.loaded(start, 1, "old");
        assert!(c.get(&1).is_err());
        let Err(start) = c.get(&1) else { panic!("empty") };
        c.loaded(start, 1, "new");
        assert_eq!(c.get(&1).ok(), Some("new"));
        c.forget(&1);
        assert!(c.get(&1).is_err());
    }

    #[test]
    fn stays_bounded_without_dropping_everything() {
        let c = BoundedCache::new(160, None);
        for i in 0..10_000u32 {
            c.insert(i, i);
        }
        let n = c.len();
        assert!(n <= 160, "{n}");
        // A full shard evicts one entry per insert, so the cache stays nearly full.
        assert!(n >= 150, "{n}");
        assert_eq!(c.get(&9_999), Some(9_999));
    }

    #[test]
    fn keep_refuses_a_replacement() {
        let c = BoundedCache::new(10, None);
        c.insert("k", 5);
        assert_eq!(c.insert_unless("k", 4, |old, new| old > new), 5);
        assert_eq!(c.get(&"k"), Some(5));
        assert_eq!(c.insert_unless("k", 6, |old, new| old > new), 6);
        assert_eq!(c.get(&"k"), Some(6));
    }

    #[test]
    fn insert_if_inserts_only_what_it_admits() {
        let c = BoundedCache::new(10, None);
        c.insert_if("k", 1, || false);
        assert_eq!(c.get(&"k"), None);
        c.insert_if("k", 2, || true);
        assert_eq!(c.get(&"k"), Some(2));
    }

    #[test]
    fn zero_capacity_caches_nothing_and_ttl_expires() {
        let c = BoundedCache::new(0, None);
        c.insert(1, 1);
        assert_eq!(c.get(&1), None);
        let c = BoundedCache::new(10, Some(Duration::from_millis(1)));
        c.insert(1, 1);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.get(&1), None);
    }
}
