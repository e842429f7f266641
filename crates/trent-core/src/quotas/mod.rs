//! Request quotas per account and Region: every API call (KMS and CloudTrail's LookupEvents)
//! is counted against one quota of the table (`table.rs`) in one place — [`crate::Kms::call`]
//! and the LookupEvents gate — and refused with `ThrottlingException` past it, as AWS KMS
//! answers ("Throttling requests", AWS KMS developer guide). A token bucket per account,
//! Region and quota: its depth is one second of its rate (at least one request), so a quota
//! of 0.25 per second admits one call every four seconds, as AWS words it.
//!
//! The buckets live in memory on each node: several nodes behind a load balancer each admit
//! the full rate (docs/configuration.md says so).

mod resources;
mod table;

pub use resources::{ResourceQuota, ResourceQuotas};
pub use table::{aws_rate, counted, quota_of, trent_rate, Counted, KeyFamily, Profile, Quota};

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trent_types::Operation;

tokio::task_local! {
    /// The account of the call being run (a keyed hash of it), set by `Kms::call` around
    /// everything the call does, so that shared work (the heavy pool) can be shared fairly
    /// without each handler passing the account along.
    static TENANT: u64;
}

/// The account of the call this task is running, if it runs one.
pub(crate) fn current_tenant() -> Option<u64> {
    TENANT.try_with(|t| *t).ok()
}

const SHARDS: usize = 16;
/// Tenants (account and Region) held per shard before idle ones are dropped. The Region is
/// the caller's choice (any well-formed name), so the map must not grow with it.
const PER_SHARD: usize = 4096;
/// A bucket untouched this long is full again, so dropping it forgets nothing.
const IDLE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One account's buckets in one Region, by quota index (created on first use).
struct Tenant {
    buckets: Vec<(u16, Bucket)>,
    used: Instant,
}

/// The index of a quota among all quotas (for a bucket's slot).
fn index(q: Quota) -> u16 {
    match q {
        Quota::Cryptographic(f) => f as u16,
        Quota::Operation(op) => KeyFamily::ALL.len() as u16 + op as u16,
        Quota::LookupEvents => (KeyFamily::ALL.len() + Operation::ALL.len()) as u16,
    }
}

/// The request quotas of one node.
pub struct Quotas {
    /// The profile in force ([`Profile::encode`]); an operator may change it while serving.
    profile: std::sync::atomic::AtomicU64,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<u64, Tenant>>>,
}

impl Quotas {
    pub fn new(profile: Profile) -> Self {
        Quotas {
            profile: std::sync::atomic::AtomicU64::new(profile.encode()),
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    pub fn profile(&self) -> Profile {
        Profile::decode(self.profile.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Puts other numbers in force from the next call on (buckets keep their tokens).
    pub fn set_profile(&self, profile: Profile) {
        self.profile.store(profile.encode(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs `work` as a call of `account` (see [`current_tenant`]).
    pub(crate) async fn as_tenant<F: std::future::Future>(&self, account: &str, work: F) -> F::Output {
        TENANT.scope(self.hasher.hash_one(account), work).await
    }

    /// Counts one call of `account` in `region` against `quota`; `false`: throttle it.
    pub fn admit(&self, account: &str, region: &str, quota: Quota) -> bool {
        self.admit_at(account, region, quota, Instant::now())
    }

    fn admit_at(&self, account: &str, region: &str, quota: Quota, now: Instant) -> bool {
        let Some(rate) = self.profile().rate(quota, region) else { return true };
        // One keyed 64-bit hash names the tenant: no allocation on the hot path, and the key
        // is secret, so a caller cannot choose two tenants that share buckets.
        let tenant = self.hasher.hash_one((account, region));
        let depth = rate.max(1.0);
        let mut shard =
            self.shards[tenant as usize % SHARDS].lock().unwrap_or_else(|p| p.into_inner());
        if shard.len() >= PER_SHARD && !shard.contains_key(&tenant) {
            shard.retain(|_, t| now.saturating_duration_since(t.used) < IDLE);
            if shard.len() >= PER_SHARD {
                // Every tenant here was active within the minute: refuse the newcomer rather
                // than forget an active tenant's count.
                return false;
            }
        }
        let t = shard.entry(tenant).or_insert_with(|| Tenant { buckets: Vec::new(), used: now });
        t.used = now;
        let slot = index(quota);
        let b = match t.buckets.iter_mut().find(|(i, _)| *i == slot) {
            Some((_, b)) => b,
            None => {
                t.buckets.push((slot, Bucket { tokens: depth, at: now }));
                &mut t.buckets.last_mut().expect("just pushed").1
            }
        };
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(depth);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For every quota of the table: a burst of its depth is admitted, the next call is
    /// refused, and the rate comes back with time; other tenants and quotas are untouched.
    #[test]
    fn every_quota_admits_its_rate_and_refuses_beyond_it_per_tenant() {
        let quotas: Vec<Quota> = KeyFamily::ALL
            .iter()
            .map(|f| Quota::Cryptographic(*f))
            .chain(Operation::ALL.iter().map(|o| Quota::Operation(*o)))
            .chain([Quota::LookupEvents])
            .collect();
        let mut slots: Vec<u16> = quotas.iter().map(|q| index(*q)).collect();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), quotas.len(), "two quotas share a bucket");
        for profile in [Profile::Aws, Profile::Trent] {
            let q = Quotas::new(profile);
            let t0 = Instant::now();
            for quota in &quotas {
                let rate = profile.rate(*quota, "eu-west-3").unwrap();
                let depth = rate.max(1.0) as usize;
                for i in 0..depth {
                    assert!(q.admit_at("1", "eu-west-3", *quota, t0), "{quota:?} call {i}");
                }
                assert!(!q.admit_at("1", "eu-west-3", *quota, t0), "{quota:?} past its depth");
                // Another account, and the same account in another Region, are not affected.
                assert!(q.admit_at("2", "eu-west-3", *quota, t0), "{quota:?}");
                assert!(q.admit_at("1", "eu-west-1", *quota, t0), "{quota:?}");
                // One call's worth of time later, one more call.
                let later = t0 + Duration::from_secs_f64(1.0 / rate + 1e-3);
                assert!(q.admit_at("1", "eu-west-3", *quota, later), "{quota:?} after 1/rate");
            }
        }
    }

    #[test]
    fn off_admits_everything_and_idle_tenants_are_forgotten_when_the_map_is_full() {
        let off = Quotas::new(Profile::Off);
        assert!((0..10_000).all(|_| off.admit("1", "us-east-1", Quota::LookupEvents)));
        let q = Quotas::new(Profile::Aws);
        let t0 = Instant::now();
        for i in 0..(PER_SHARD * SHARDS * 2) {
            q.admit_at(&i.to_string(), "us-east-1", Quota::LookupEvents, t0);
        }
        let held: usize = q.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= PER_SHARD * SHARDS, "{held}");
        // A minute later the idle tenants make room.
        assert!(q.admit_at("new", "us-east-1", Quota::LookupEvents, t0 + IDLE));
    }
}
