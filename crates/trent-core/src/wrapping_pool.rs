//! Pre-generated RSA wrapping key pairs, one queue per wrapping key spec, refilled in the
//! background so that GetParametersForImport never waits for RSA key generation (about 0.5 s
//! of one core for RSA-4096) while the pool holds keys. On-demand generation (the pool is
//! empty) runs within the clients' bounds of `heavy.rs`; the refill, one pair at a time, runs
//! beside them so that it never delays a client's RSA work.
//!
//! Policy: by default every key pair backs exactly one import token (a fresh key pair per
//! call, as AWS does). `tokens_per_key_pair > 1` lets one pair back that many tokens within
//! its first 24 hours — faster bursts at the cost of sharing a wrapping key between imports —
//! but never between accounts: a pair's first token binds it to that account, and its other
//! tokens go only to that account's calls (one tenant's wrapping key is never another's).

use crate::heavy::HeavyWork;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use trent_crypto::import::{WrappingKeyPair, WrappingSpec};

const PAIR_LIFETIME_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone)]
pub struct WrappingPoolConfig {
    /// Key pairs kept ready per wrapping key spec; 0 generates on demand only.
    pub size_per_spec: usize,
    /// How many import tokens one key pair may back (1 = a fresh pair per call).
    pub tokens_per_key_pair: u32,
}

impl Default for WrappingPoolConfig {
    fn default() -> Self {
        WrappingPoolConfig { size_per_spec: 4, tokens_per_key_pair: 1 }
    }
}

struct Entry {
    pair: Arc<WrappingKeyPair>,
    uses_left: u32,
    created_ms: i64,
}

/// The refill waits for this long without a take before it generates: a ceremony's
/// ImportKeyMaterial (an RSA private-key operation) follows its GetParametersForImport within
/// milliseconds, and a burst of ceremonies would otherwise share the cores with RSA key
/// generation (it doubled a ceremony's time on two cores).
const QUIET_BEFORE_REFILL: std::time::Duration = std::time::Duration::from_secs(1);

struct Inner {
    cfg: WrappingPoolConfig,
    /// Fresh pairs, not yet used by any account.
    queues: Mutex<HashMap<WrappingSpec, VecDeque<Entry>>>,
    /// Pairs with tokens left, each bound to the account that took its first token.
    bound: Mutex<HashMap<(String, WrappingSpec), Entry>>,
    /// When a key pair was last asked for.
    last_take: Mutex<Option<std::time::Instant>>,
    wake: tokio::sync::Notify,
    stop: AtomicBool,
}

pub(crate) struct WrappingPool {
    inner: Arc<Inner>,
    heavy: Arc<HeavyWork>,
}

fn now_ms() -> i64 {
    crate::clock::Clock::now_ms(&crate::clock::SystemClock)
}

impl WrappingPool {
    /// A pool of `cfg.size_per_spec` pairs per spec, refilled by a task of the current Tokio
    /// runtime (without a runtime, or with size 0, pairs are made on demand only).
    pub(crate) fn new(cfg: WrappingPoolConfig, heavy: Arc<HeavyWork>) -> Self {
        let inner = Arc::new(Inner {
            cfg,
            queues: Mutex::new(HashMap::new()),
            bound: Mutex::new(HashMap::new()),
            last_take: Mutex::new(None),
            wake: tokio::sync::Notify::new(),
            stop: AtomicBool::new(false),
        });
        if inner.cfg.size_per_spec > 0 {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(refill(inner.clone(), heavy.clone()));
            }
        }
        WrappingPool { inner, heavy }
    }

    fn try_take(&self, account: &str, spec: WrappingSpec) -> Option<Arc<WrappingKeyPair>> {
        let now = now_ms();
        let fresh = |e: &Entry| now - e.created_ms < PAIR_LIFETIME_MS;
        let mut bound = self.inner.bound.lock().ok()?;
        let slot = (account.to_string(), spec);
        if let Some(e) = bound.get_mut(&slot).filter(|e| fresh(e)) {
            e.uses_left -= 1;
            let pair = e.pair.clone();
            if e.uses_left == 0 {
                bound.remove(&slot);
            }
            return Some(pair);
        }
        bound.retain(|_, e| fresh(e));
        let mut queues = self.inner.queues.lock().ok()?;
        let q = queues.entry(spec).or_default();
        while let Some(mut e) = q.pop_front() {
            if !fresh(&e) {
                continue;
            }
            e.uses_left -= 1;
            let pair = e.pair.clone();
            if e.uses_left > 0 {
                bound.insert(slot, e);
            }
            return Some(pair);
        }
        None
    }

    /// The key pairs ready per pooled spec, for the metrics.
    pub(crate) fn depth(&self) -> Vec<(WrappingSpec, usize)> {
        let Ok(queues) = self.inner.queues.lock() else { return Vec::new() };
        WrappingSpec::ALL.into_iter().map(|s| (s, queues.get(&s).map_or(0, |q| q.len()))).collect()
    }

    /// A key pair for one import token of `account`: from the pool (a pair another account
    /// used is never handed out), or freshly generated on a blocking thread when the pool is
    /// empty.
    pub(crate) async fn take(
        &self,
        account: &str,
        spec: WrappingSpec,
    ) -> crate::Result<Arc<WrappingKeyPair>> {
        let found = self.try_take(account, spec);
        if let Ok(mut last) = self.inner.last_take.lock() {
            *last = Some(std::time::Instant::now());
        }
        self.inner.wake.notify_one();
        if let Some(p) = found {
            return Ok(p);
        }
        let pair = self.heavy.run(move || Ok(WrappingKeyPair::generate(spec)?)).await?;
        Ok(Arc::new(pair))
    }
}

impl Drop for WrappingPool {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
    }
}

async fn refill(inner: Arc<Inner>, heavy: Arc<HeavyWork>) {
    loop {
        if inner.stop.load(Ordering::SeqCst) {
            return;
        }
        let short = inner.queues.lock().ok().and_then(|queues| {
            WrappingSpec::ALL
                .into_iter()
                .find(|s| queues.get(s).map_or(0, |q| q.len()) < inner.cfg.size_per_spec)
        });
        let Some(wanted) = short else {
            inner.wake.notified().await;
            continue;
        };
        let last_take = inner.last_take.lock().ok().and_then(|t| *t);
        if let Some(quiet) = last_take.map(|t| t + QUIET_BEFORE_REFILL) {
            if quiet > std::time::Instant::now() {
                tokio::time::sleep_until(quiet.into()).await;
                continue;
            }
        }
        match heavy.run_in_background(move || Ok(WrappingKeyPair::generate(wanted)?)).await {
            Ok(pair) => {
                let entry = Entry {
                    pair: Arc::new(pair),
                    uses_left: inner.cfg.tokens_per_key_pair.max(1),
                    created_ms: now_ms(),
                };
                if let Ok(mut queues) = inner.queues.lock() {
                    queues.entry(wanted).or_default().push_back(entry);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot generate a wrapping key pair");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn heavy() -> Arc<HeavyWork> {
        Arc::new(HeavyWork::new(crate::HeavyWorkConfig::default()))
    }

    /// A pool of RSA_2048 pairs, filled: `size` pairs, each backing `tokens` tokens.
    async fn full_pool(size: usize, tokens: u32) -> WrappingPool {
        let cfg = WrappingPoolConfig { size_per_spec: size, tokens_per_key_pair: tokens };
        let pool = WrappingPool::new(cfg, heavy());
        wait_until_full(&pool, WrappingSpec::Rsa2048, size).await;
        pool
    }

    /// The public key of the pair `account`'s next RSA_2048 token gets.
    async fn next_key(pool: &WrappingPool, account: &str) -> Vec<u8> {
        pool.take(account, WrappingSpec::Rsa2048).await.unwrap().public_spki.clone()
    }

    async fn wait_until_full(pool: &WrappingPool, spec: WrappingSpec, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while pool.inner.queues.lock().unwrap().get(&spec).map_or(0, |q| q.len()) < n {
            assert!(Instant::now() < deadline, "the pool did not fill");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_from_the_pool_and_refills() {
        let pool = full_pool(2, 1).await;
        let a = next_key(&pool, "111122223333").await;
        assert_ne!(a, next_key(&pool, "111122223333").await, "each token gets a fresh key pair");
        wait_until_full(&pool, WrappingSpec::Rsa2048, 2).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_pair_may_back_a_bounded_number_of_tokens() {
        let pool = full_pool(1, 3).await;
        let first = next_key(&pool, "111122223333").await;
        for _ in 0..2 {
            assert_eq!(next_key(&pool, "111122223333").await, first);
        }
        assert_ne!(next_key(&pool, "111122223333").await, first);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shared_key_pair_never_serves_two_accounts() {
        let pool = full_pool(2, 5).await;
        let a = next_key(&pool, "111111111111").await;
        assert_ne!(next_key(&pool, "222222222222").await, a, "another account got a used key");
        for _ in 0..4 {
            assert_eq!(next_key(&pool, "111111111111").await, a);
            assert_ne!(next_key(&pool, "222222222222").await, a);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generates_on_demand_without_a_pool() {
        let pool = WrappingPool::new(
            WrappingPoolConfig { size_per_spec: 0, tokens_per_key_pair: 1 },
            heavy(),
        );
        let p = pool.take("111122223333", WrappingSpec::Rsa3072).await.unwrap();
        assert_eq!(p.spec, WrappingSpec::Rsa3072);
    }
}
