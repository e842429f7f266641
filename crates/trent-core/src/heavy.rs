//! Bounded CPU-heavy work: RSA key generation and private-key operations, ML-DSA and other
//! signatures. At most `threads` jobs run at once, at most `queue` more wait, and none waits
//! longer than `max_wait`; past that the caller gets ThrottlingException at once, as AWS
//! answers past its quotas. So a flood of RSA requests slows only itself, never the cheap
//! symmetric calls that share the machine. No account may hold more than half of the places
//! (threads and queue) at once: a flood from one account leaves the other half for the others
//! (the account is the call's, set once by `Kms::call` for everything it runs). The server's own background RSA work (the
//! wrapping-key refill, one job at a time) runs beside these threads, never in them.

use crate::{KmsError, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct HeavyWorkConfig {
    /// Jobs running at once (default: half the CPUs, at least one).
    pub threads: usize,
    /// Jobs waiting beyond those (default: 4 per thread).
    pub queue: usize,
    /// How long a job may wait for a thread before it is refused.
    pub max_wait: Duration,
}

impl Default for HeavyWorkConfig {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let threads = (cpus / 2).max(1);
        HeavyWorkConfig { threads, queue: 4 * threads, max_wait: Duration::from_secs(5) }
    }
}

pub(crate) struct HeavyWork {
    cfg: HeavyWorkConfig,
    permits: Arc<Semaphore>,
    /// Jobs admitted and not finished (running or waiting).
    admitted: AtomicUsize,
    /// Jobs admitted per account (by `quotas::current_tenant`).
    tenants: Mutex<HashMap<u64, usize>>,
}

/// Gives back an admission when the job ends, however it ends.
struct Admission<'a> {
    heavy: &'a HeavyWork,
    tenant: Option<u64>,
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.heavy.admitted.fetch_sub(1, Ordering::AcqRel);
        if let Some(t) = self.tenant {
            let mut tenants = self.heavy.tenants.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = tenants.get_mut(&t) {
                *n -= 1;
                if *n == 0 {
                    tenants.remove(&t);
                }
            }
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> KmsError {
    KmsError::Internal(e.into())
}

impl HeavyWork {
    pub(crate) fn new(cfg: HeavyWorkConfig) -> Self {
        let threads = cfg.threads.max(1);
        HeavyWork {
            cfg: HeavyWorkConfig { threads, ..cfg },
            permits: Arc::new(Semaphore::new(threads)),
            admitted: AtomicUsize::new(0),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The places one account may hold at once: half of them, at least one.
    fn per_tenant(&self) -> usize {
        (self.cfg.threads + self.cfg.queue).div_ceil(2).max(1)
    }

    /// Admits a job of the current call's account, or refuses it (the pool, or the
    /// account's half of it, is full).
    fn admit(&self) -> Option<Admission<'_>> {
        let tenant = crate::quotas::current_tenant();
        if let Some(t) = tenant {
            let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            let n = tenants.entry(t).or_insert(0);
            if *n >= self.per_tenant() {
                return None;
            }
            *n += 1;
        }
        let admission = Admission { heavy: self, tenant };
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.cfg.threads + self.cfg.queue {
            // Dropping the admission gives back both counts.
            return None;
        }
        Some(admission)
    }

    /// Clients' jobs admitted and not finished (running or waiting), for the metrics.
    pub(crate) fn in_flight(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    /// Runs `f` on a blocking thread within the bounds, for a client's request.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let Some(_admission) = self.admit() else { return Err(KmsError::throttling()) };
        let permit = tokio::time::timeout(self.cfg.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| KmsError::throttling())?
            .map_err(|_| KmsError::throttling())?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(join_error)?
    }

    /// Runs the server's own background work (refilling the wrapping-key pool) on a blocking
    /// thread outside the clients' threads. Its bound is its caller's: the refill runs one
    /// job at a time and only while the pool is short. It must not take the clients'
    /// threads: with one of them (a 2-core machine), ImportKeyMaterial's RSA decryption
    /// waited behind a refill's RSA-4096 generation, p50 663 ms instead of 3.5 ms.
    pub(crate) async fn run_in_background<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        tokio::task::spawn_blocking(f).await.map_err(join_error)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trent_types::ErrorCode;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_callers_are_throttled_at_once() {
        let heavy = Arc::new(HeavyWork::new(HeavyWorkConfig {
            threads: 1,
            queue: 2,
            max_wait: Duration::from_secs(30),
        }));
        let mut jobs = Vec::new();
        for _ in 0..10 {
            let h = heavy.clone();
            jobs.push(tokio::spawn(async move {
                h.run(|| {
                    std::thread::sleep(Duration::from_millis(100));
                    Ok(())
                })
                .await
            }));
        }
        let mut done = 0;
        let mut throttled = 0;
        for j in jobs {
            match j.await.unwrap() {
                Ok(()) => done += 1,
                Err(e) if e.code() == ErrorCode::ThrottlingException => throttled += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((done, throttled), (3, 7));
        // Admissions are given back: the pool takes work again.
        heavy.run(|| Ok(())).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_waits_too_long_is_throttled() {
        let heavy = Arc::new(HeavyWork::new(HeavyWorkConfig {
            threads: 1,
            queue: 8,
            max_wait: Duration::from_millis(50),
        }));
        let h = heavy.clone();
        let long = tokio::spawn(async move {
            h.run(|| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(heavy.run(|| Ok(())).await.unwrap_err().code(), ErrorCode::ThrottlingException);
        long.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_work_never_holds_the_clients_thread() {
        let heavy = Arc::new(HeavyWork::new(HeavyWorkConfig {
            threads: 1,
            queue: 1,
            max_wait: Duration::from_millis(100),
        }));
        let h = heavy.clone();
        let refill = tokio::spawn(async move {
            h.run_in_background(|| {
                std::thread::sleep(Duration::from_millis(500));
                Ok(())
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // A client's job runs at once, not after the background job.
        let started = std::time::Instant::now();
        heavy.run(|| Ok(())).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
        refill.await.unwrap().unwrap();
    }

    /// One account's flood takes at most half the places: another account's job still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_account_holds_at_most_half_of_the_pool() {
        let heavy = Arc::new(HeavyWork::new(HeavyWorkConfig {
            threads: 1,
            queue: 3,
            max_wait: Duration::from_secs(30),
        }));
        let quotas = Arc::new(crate::quotas::Quotas::new(crate::quotas::Profile::Off));
        let mut jobs = Vec::new();
        for _ in 0..10 {
            let (h, q) = (heavy.clone(), quotas.clone());
            jobs.push(tokio::spawn(async move {
                let flooder = q.tenant("111111111111", "us-east-1");
                q.as_tenant(&flooder, async {
                    h.run(|| {
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(())
                    })
                    .await
                })
                .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let other = quotas.tenant("222222222222", "us-east-1");
        let other = quotas.as_tenant(&other, heavy.run(|| Ok(()))).await;
        assert!(other.is_ok(), "another account was refused: {other:?}");
        let mut done = 0;
        for j in jobs {
            done += j.await.unwrap().is_ok() as usize;
        }
        assert_eq!(done, 2, "the flooding account held more than half of the 4 places");
    }
}
