//! Pre-generated RSA wrapping key pairs, one queue per wrapping key spec, refilled in the
//! background so that GetParametersForImport never waits for RSA key generation (about 0.5 s
//! of one core for RSA-4096) while the pool holds keys. On-demand generation (the pool is
//! empty) runs within the clients' bounds of `heavy.rs`; the refill, one pair at a time, runs
//! beside them so that it never delays a client's RSA work.
//!
//! Policy: by default every key pair backs exactly one import token (a fresh key pair per
//! call, as AWS does). `tokens_per_key_pair > 1` lets one pair back that many tokens within
//! its first 24 hours — faster bursts at the cost of sharing a wrapping key between imports.

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
    queues: Mutex<HashMap<WrappingSpec, VecDeque<Entry>>>,
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

    fn try_take(&self, spec: WrappingSpec) -> Option<Arc<WrappingKeyPair>> {
        let mut queues = self.inner.queues.lock().ok()?;
        let q = queues.entry(spec).or_default();
        let now = now_ms();
        while let Some(front) = q.front_mut() {
            if now - front.created_ms >= PAIR_LIFETIME_MS {
                q.pop_front();
                continue;
            }
            front.uses_left -= 1;
            let pair = front.pair.clone();
            if front.uses_left == 0 {
                q.pop_front();
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

    /// A key pair for one import token: from the pool, or freshly generated on a blocking
    /// thread when the pool is empty.
    pub(crate) async fn take(&self, spec: WrappingSpec) -> crate::Result<Arc<WrappingKeyPair>> {
        let found = self.try_take(spec);
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

    async fn wait_until_full(pool: &WrappingPool, spec: WrappingSpec, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while pool.inner.queues.lock().unwrap().get(&spec).map_or(0, |q| q.len()) < n {
            assert!(Instant::now() < deadline, "the pool did not fill");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_from_the_pool_and_refills() {
        let pool = WrappingPool::new(
            WrappingPoolConfig { size_per_spec: 2, tokens_per_key_pair: 1 },
            heavy(),
        );
        wait_until_full(&pool, WrappingSpec::Rsa2048, 2).await;
        let a = pool.take(WrappingSpec::Rsa2048).await.unwrap();
        let b = pool.take(WrappingSpec::Rsa2048).await.unwrap();
        assert_ne!(a.public_spki, b.public_spki, "each token gets a fresh key pair");
        wait_until_full(&pool, WrappingSpec::Rsa2048, 2).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_pair_may_back_a_bounded_number_of_tokens() {
        let pool = WrappingPool::new(
            WrappingPoolConfig { size_per_spec: 1, tokens_per_key_pair: 3 },
            heavy(),
        );
        wait_until_full(&pool, WrappingSpec::Rsa2048, 1).await;
        let first = pool.take(WrappingSpec::Rsa2048).await.unwrap();
        for _ in 0..2 {
            assert_eq!(
                pool.take(WrappingSpec::Rsa2048).await.unwrap().public_spki,
                first.public_spki
            );
        }
        let fourth = pool.take(WrappingSpec::Rsa2048).await.unwrap();
        assert_ne!(fourth.public_spki, first.public_spki);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generates_on_demand_without_a_pool() {
        let pool = WrappingPool::new(
            WrappingPoolConfig { size_per_spec: 0, tokens_per_key_pair: 1 },
            heavy(),
        );
        let p = pool.take(WrappingSpec::Rsa3072).await.unwrap();
        assert_eq!(p.spec, WrappingSpec::Rsa3072);
    }
}
