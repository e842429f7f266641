//! Request quotas per account and Region: every API call (KMS and CloudTrail's LookupEvents)
//! is counted against one quota of the table (`table.rs`) in one place — [`crate::Kms::call`]
//! and the LookupEvents gate — and refused with `ThrottlingException` past it, as AWS KMS
//! answers ("Throttling requests", AWS KMS developer guide). Each account, Region and quota
//! has a bucket as deep as one second of its rate (at least one request), so a quota of 0.25
//! per second admits one call every four seconds, as AWS words it.
//!
//! A bucket is one atomic word, the GCRA's "theoretical arrival time" (the token bucket
//! computed as a time): a call is one compare-and-swap, with no lock. An account's buckets in
//! one Region are a [`Tenant`], found in a sharded map — or, on the hot path, handed over by
//! authentication, which keeps it with the access key's cached signing key.
//!
//! The buckets live in memory on each node: several nodes behind a load balancer each admit
//! the full rate (docs/configuration.md says so).

mod resources;
mod table;

pub use resources::{ResourceQuota, ResourceQuotas};
pub use table::{aws_rate, counted, quota_of, trent_rate, Counted, KeyFamily, Profile, Quota};

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
/// A tenant untouched this long has full buckets again, so dropping it forgets nothing.
const IDLE: Duration = Duration::from_secs(60);
/// Regions one account has buckets of its own in (AWS has about forty); its other Regions
/// share the buckets of [`OTHER_REGIONS`].
pub const REGIONS_PER_ACCOUNT: usize = 64;
/// The name under which an account's Regions past [`REGIONS_PER_ACCOUNT`] are counted.
const OTHER_REGIONS: &str = "*";

/// How many quotas there are (a bucket each).
const QUOTAS: usize = KeyFamily::ALL.len() + Operation::ALL.len() + 1;

/// The index of a quota among all quotas (its bucket).
fn index(q: Quota) -> usize {
    match q {
        Quota::Cryptographic(f) => f as usize,
        Quota::Operation(op) => KeyFamily::ALL.len() + op as usize,
        Quota::LookupEvents => KeyFamily::ALL.len() + Operation::ALL.len(),
    }
}

/// One account's buckets in one Region.
pub struct Tenant {
    account: Box<str>,
    region: Box<str>,
    /// The account's keyed hash: who shares the heavy pool (`current_tenant`).
    account_key: u64,
    /// Per quota, the time (ns since the node's start) at which its bucket is full again,
    /// pushed one interval further by each call it admits.
    buckets: [AtomicU64; QUOTAS],
}

impl Tenant {
    /// Whether every bucket has been full for `idle` at `now` (ns).
    fn idle_since(&self, now: u64, idle: u64) -> bool {
        self.buckets.iter().all(|b| b.load(Ordering::Relaxed).saturating_add(idle) <= now)
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("account", &self.account)
            .field("region", &self.region)
            .finish()
    }
}

/// A caller's buckets as authentication found them (kept with the cached signing key, so the
/// hot path finds them without a lookup). A cache, not part of who the caller is: it takes no
/// part in equality, and `Kms::call` checks it is the caller's before using it.
#[derive(Clone, Default, Debug)]
pub struct TenantHandle(pub Option<Arc<Tenant>>);

impl PartialEq for TenantHandle {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for TenantHandle {}

/// Admits one call at `now` (ns) to a bucket refilled every `interval` ns and `depth` calls
/// deep: the GCRA, one compare-and-swap.
fn admit_gcra(tat: &AtomicU64, now: u64, rate: f64) -> bool {
    let interval = (1e9 / rate) as u64;
    let tolerance = ((rate.max(1.0) - 1.0) * 1e9 / rate) as u64;
    let mut current = tat.load(Ordering::Relaxed);
    loop {
        let from = current.max(now);
        if from - now > tolerance {
            return false;
        }
        let next = from.saturating_add(interval);
        match tat.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(seen) => current = seen,
        }
    }
}

/// The request quotas of one node.
pub struct Quotas {
    /// The profile in force ([`Profile::encode`]); an operator may change it while serving.
    profile: AtomicU64,
    started: Instant,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<u64, Arc<Tenant>>>>,
    /// Tenants per account (by its keyed hash). Locked inside a shard's lock, never around
    /// one.
    accounts: Mutex<HashMap<u64, usize>>,
    /// The bucket of each XKS endpoint Trent serves, by path prefix (endpoints are the
    /// operator's: the map holds no more than there are).
    xks: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Quotas {
    pub fn new(profile: Profile) -> Self {
        Quotas {
            profile: AtomicU64::new(profile.encode()),
            started: Instant::now(),
            hasher: Default::default(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            accounts: Mutex::new(HashMap::new()),
            xks: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request on the XKS endpoint `path_prefix` against `rate` a second (the
    /// spec: "An XKS proxy MAY implement independent request quotas on each path prefix");
    /// `false`: ThrottlingException.
    pub(crate) fn admit_xks(&self, path_prefix: &str, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let bucket = {
            let mut xks = self.xks.lock().unwrap_or_else(|p| p.into_inner());
            xks.entry(path_prefix.to_string()).or_default().clone()
        };
        admit_gcra(&bucket, self.now_ns(), f64::from(rate))
    }

    pub fn profile(&self) -> Profile {
        Profile::decode(self.profile.load(Ordering::Relaxed))
    }

    /// Puts other numbers in force from the next call on, with every bucket full (a bucket's
    /// state is a time computed with the old rate).
    pub fn set_profile(&self, profile: Profile) {
        self.profile.store(profile.encode(), Ordering::Relaxed);
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            for t in shard.values() {
                t.buckets.iter().for_each(|b| b.store(0, Ordering::Relaxed));
            }
        }
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Runs `work` as a call of `tenant`'s account (see [`current_tenant`]).
    /// Not an `async fn`: that would hold `work` twice (its argument and its scope), and a
    /// call's future is copied whole when it is boxed for its task.
    pub(crate) fn as_tenant<F: std::future::Future>(
        &self,
        tenant: &Tenant,
        work: F,
    ) -> impl std::future::Future<Output = F::Output> {
        TENANT.scope(tenant.account_key, work)
    }

    /// The buckets of `account` in `region`, made on first use. Past
    /// [`REGIONS_PER_ACCOUNT`] Regions an account's further Regions share one set of buckets:
    /// a Region is any well-formed name the caller chooses, and a new name must not be a new
    /// quota. When the map is full, the tenants idle for a minute go, else one of the shard's
    /// (its count restarts full): a newcomer is never refused for others' sake.
    pub fn tenant(&self, account: &str, region: &str) -> Arc<Tenant> {
        // One keyed 64-bit hash names the tenant; the key is secret, so a caller cannot
        // choose two tenants that share a slot (and the strings are compared).
        let key = self.hasher.hash_one((account, region));
        let mut shard =
            self.shards[key as usize % SHARDS].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = shard.get(&key).filter(|t| Self::is_for(t, account, region)) {
            return t.clone();
        }
        let account_key = self.hasher.hash_one(account);
        {
            let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            let held = accounts.get(&account_key).copied().unwrap_or(0);
            if held >= REGIONS_PER_ACCOUNT && region != OTHER_REGIONS {
                drop(accounts);
                drop(shard);
                return self.tenant(account, OTHER_REGIONS);
            }
        }
        if shard.len() >= PER_SHARD {
            let (now, idle) = (self.now_ns(), IDLE.as_nanos() as u64);
            let mut gone: Vec<u64> = Vec::new();
            shard.retain(|_, t| {
                let keep = !t.idle_since(now, idle);
                if !keep {
                    gone.push(t.account_key);
                }
                keep
            });
            if shard.len() >= PER_SHARD {
                if let Some(k) = shard.keys().next().copied() {
                    gone.extend(shard.remove(&k).map(|t| t.account_key));
                }
            }
            let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            for a in gone {
                if let Some(n) = accounts.get_mut(&a) {
                    *n -= 1;
                    if *n == 0 {
                        accounts.remove(&a);
                    }
                }
            }
        }
        let t = Arc::new(Tenant {
            account: account.into(),
            region: region.into(),
            account_key,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        });
        if let Some(old) = shard.insert(key, t.clone()) {
            // A slot held by another (account, Region) of the same hash: it is replaced.
            let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = accounts.get_mut(&old.account_key) {
                *n = n.saturating_sub(1);
            }
        }
        *self.accounts.lock().unwrap_or_else(|p| p.into_inner()).entry(account_key).or_insert(0) +=
            1;
        t
    }

    /// Counts one call of `account` in `region` against `quota`; `false`: throttle it.
    pub fn admit(&self, account: &str, region: &str, quota: Quota) -> bool {
        self.admit_to(&self.tenant(account, region), quota)
    }

    /// Counts one call against `quota` in `tenant`'s buckets.
    pub fn admit_to(&self, tenant: &Tenant, quota: Quota) -> bool {
        match self.profile().rate(quota, &tenant.region) {
            None => true,
            Some(rate) => admit_gcra(&tenant.buckets[index(quota)], self.now_ns(), rate),
        }
    }

    /// Whether `tenant` holds the buckets of `account` in `region`.
    pub fn is_for(tenant: &Tenant, account: &str, region: &str) -> bool {
        &*tenant.account == account && &*tenant.region == region
    }

    /// The caller's buckets: those authentication handed over if they are the caller's (a
    /// caller copied into another Region is not), else from the map.
    pub(crate) fn tenant_of(&self, caller: &crate::Caller) -> Arc<Tenant> {
        match &caller.quota.0 {
            Some(t) if Self::is_for(t, &caller.account, &caller.region) => t.clone(),
            _ => self.tenant(&caller.account, &caller.region),
        }
    }

    /// Counts one call against `quota` in `tenant`'s buckets: ThrottlingException past it
    /// (LookupEvents' own wording for CloudTrail's quota).
    pub(crate) fn charge(&self, tenant: &Tenant, quota: Quota) -> crate::Result<()> {
        if self.admit_to(tenant, quota) {
            Ok(())
        } else if quota == Quota::LookupEvents {
            Err(crate::KmsError::throttling_lookup_events())
        } else {
            Err(crate::KmsError::throttling())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_quotas() -> Vec<Quota> {
        KeyFamily::ALL
            .iter()
            .map(|f| Quota::Cryptographic(*f))
            .chain(Operation::ALL.iter().map(|o| Quota::Operation(*o)))
            .chain([Quota::LookupEvents])
            .collect()
    }

    /// For every quota of the table: a burst of its depth is admitted, the next call is
    /// refused, and the rate comes back with time; other tenants and quotas are untouched.
    #[test]
    fn every_quota_admits_its_rate_and_refuses_beyond_it_per_tenant() {
        let quotas = all_quotas();
        let mut slots: Vec<usize> = quotas.iter().map(|q| index(*q)).collect();
        slots.sort();
        slots.dedup();
        assert_eq!(slots.len(), quotas.len(), "two quotas share a bucket");
        assert!(slots.iter().all(|s| *s < QUOTAS));
        for profile in [Profile::Aws, Profile::Trent, Profile::Fixed(3.0)] {
            let q = Quotas::new(profile);
            let (one, same_elsewhere, other) = (
                q.tenant("1", "eu-west-3"),
                q.tenant("1", "eu-west-1"),
                q.tenant("2", "eu-west-3"),
            );
            let t0 = 1_000_000_000;
            for quota in &quotas {
                let rate = profile.rate(*quota, "eu-west-3").unwrap();
                let slot = &one.buckets[index(*quota)];
                let depth = rate.max(1.0) as usize;
                for i in 0..depth {
                    assert!(admit_gcra(slot, t0, rate), "{quota:?} call {i}");
                }
                assert!(!admit_gcra(slot, t0, rate), "{quota:?} past its depth");
                // Another account, and the same account in another Region, are not affected.
                assert!(admit_gcra(&other.buckets[index(*quota)], t0, rate), "{quota:?}");
                let elsewhere = profile.rate(*quota, "eu-west-1").unwrap();
                assert!(admit_gcra(&same_elsewhere.buckets[index(*quota)], t0, elsewhere));
                // One call's worth of time later, one more call.
                let later = t0 + (1e9 / rate) as u64 + 1;
                assert!(admit_gcra(slot, later, rate), "{quota:?} after 1/rate");
                assert!(!admit_gcra(slot, later, rate), "{quota:?} only one");
            }
        }
    }

    #[test]
    fn a_quarter_per_second_is_one_call_every_four_seconds() {
        let b = AtomicU64::new(0);
        let s = 1_000_000_000u64;
        assert!(admit_gcra(&b, 10 * s, 0.25));
        assert!(!admit_gcra(&b, 10 * s + 1, 0.25));
        assert!(!admit_gcra(&b, 13 * s, 0.25));
        assert!(admit_gcra(&b, 14 * s, 0.25));
    }

    #[test]
    fn the_one_place_counts_through_a_tenant_or_by_name_alike() {
        let q = Quotas::new(Profile::Fixed(1.0));
        let t = q.tenant("1", "us-east-1");
        assert!(Quotas::is_for(&t, "1", "us-east-1") && !Quotas::is_for(&t, "1", "us-east-2"));
        assert!(q.admit_to(&t, Quota::LookupEvents));
        assert!(!q.admit("1", "us-east-1", Quota::LookupEvents), "the same bucket");
        q.set_profile(Profile::Off);
        assert!((0..1000).all(|_| q.admit_to(&t, Quota::LookupEvents)));
    }

    #[test]
    fn a_full_map_never_refuses_a_newcomer_and_new_region_names_are_not_new_quotas() {
        let q = Quotas::new(Profile::Fixed(1.0));
        // One account naming region after region: past 64 they share one bucket set.
        for i in 0..200 {
            let t = q.tenant("111111111111", &format!("xx-spam-{i}"));
            q.admit_to(&t, Quota::LookupEvents);
        }
        let spam = q.accounts.lock().unwrap()[&q.hasher.hash_one("111111111111")];
        assert_eq!(spam, REGIONS_PER_ACCOUNT + 1);
        let shared = q.tenant("111111111111", "xx-spam-150");
        assert!(!q.admit_to(&shared, Quota::LookupEvents), "the shared bucket was spent");
        // Many accounts: the map stays bounded and every newcomer gets buckets.
        for i in 0..(PER_SHARD * SHARDS + 1000) {
            let t = q.tenant(&format!("{i:012}"), "us-east-1");
            assert!(q.admit_to(&t, Quota::LookupEvents), "newcomer {i} refused");
        }
        let held: usize = q.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= PER_SHARD * SHARDS, "{held}");
        let counted: usize = q.accounts.lock().unwrap().values().sum();
        assert_eq!(counted, held, "the per-account counts follow evictions");
    }
}
