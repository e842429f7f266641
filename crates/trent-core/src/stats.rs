//! What a monitor reads of the domain, for the server's `/metrics`: how the caches answer,
//! the wrapping-key pool, CPU-heavy work in flight, audit records that could not be written,
//! and the census of keys by state and of the imported material that expires.

use crate::cache::CacheCounts;
use crate::{Background, Kms, Result};
use std::collections::BTreeMap;
use trent_store::{KeyCount, KeyRef};

/// Counters and levels, read without touching the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Per cache (`keys`, `materials`, `signing_keys`), its hits and misses.
    pub caches: Vec<(&'static str, CacheCounts)>,
    /// Per pooled wrapping key spec (`RSA_2048`, …), the key pairs ready.
    pub wrapping_pool: Vec<(&'static str, usize)>,
    /// Clients' RSA and signature jobs admitted and not finished.
    pub heavy_in_flight: usize,
    /// Audit records (of calls and of service events) that could not be written.
    pub audit_failures: u64,
}

/// What the store says of all keys, at `taken_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyCensus {
    pub taken_ms: i64,
    /// Keys per account, Region and state, as stored: what time did since the last
    /// background pass (a deletion date or a `ValidTo` passed) is counted at the next.
    pub by_state: Vec<KeyCount>,
    /// Per key with imported material that expires, the earliest `ValidTo` of its present
    /// material (the key's `ValidTo` in DescribeKey), later than `taken_ms`.
    pub expiring: Vec<(KeyRef, i64)>,
}

fn wrapping_spec_name(bits: u16) -> &'static str {
    match bits {
        2048 => "RSA_2048",
        3072 => "RSA_3072",
        4096 => "RSA_4096",
        _ => "SM2",
    }
}

impl Kms {
    pub fn stats(&self) -> Stats {
        let (identity_policies, grants) = self.access.authz_cache.counts();
        Stats {
            caches: vec![
                ("keys", self.held.keys.counts()),
                ("materials", self.held.materials.counts()),
                ("signing_keys", self.access.signing_keys.counts()),
                ("identity_policies", identity_policies),
                ("grants", grants),
            ],
            wrapping_pool: self
                .work
                .wrapping_pool
                .depth()
                .into_iter()
                .map(|(spec, n)| (wrapping_spec_name(spec.bits()), n))
                .collect(),
            heavy_in_flight: self.work.heavy.in_flight(),
            audit_failures: self.hooks.audit_failures.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl Background<'_> {
    /// Counts keys by state and finds the expiring material: two reads of the store.
    pub async fn census(&self) -> Result<KeyCensus> {
        let kms = self.kms;
        let taken_ms = kms.now_ms();
        let by_state = kms.store.count_keys_by_state().await?;
        let mut earliest: BTreeMap<KeyRef, i64> = BTreeMap::new();
        for m in kms.store.expiring_materials().await? {
            if m.valid_to_ms > taken_ms {
                let e = earliest.entry(m.key).or_insert(m.valid_to_ms);
                *e = (*e).min(m.valid_to_ms);
            }
        }
        Ok(KeyCensus { taken_ms, by_state, expiring: earliest.into_iter().collect() })
    }
}
