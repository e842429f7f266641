//! `trent bench`: a load generator for any AWS-KMS endpoint on this machine. Fixed
//! connections, a fixed duration or request count, SigV4 on every request; reports req/s
//! and latency percentiles per workload.

use anyhow::Context as _;

use crate::progress::{Progress, Unit};

pub mod baseline;
mod client;
mod workloads;

use clap::Args;
use client::{Client, Credentials};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use workloads::Workload;

#[derive(Args)]
pub struct BenchArgs {
    /// The endpoint, e.g. http://127.0.0.1:4599 (loopback addresses only).
    #[arg(long, default_value = "http://127.0.0.1:4599")]
    endpoint: String,
    /// AWS shared-credentials file; AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY win over it.
    #[arg(long, env = "AWS_SHARED_CREDENTIALS_FILE", default_value = "./trent-data/credentials")]
    credentials: PathBuf,
    /// The profile of the credentials file.
    #[arg(long, env = "AWS_PROFILE", default_value = "default")]
    profile: String,
    /// The Region to sign for.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// encrypt, decrypt, generate-data-key, generate-data-key-without-plaintext,
    /// describe-key, re-encrypt, mixed, get-parameters-for-import, import-key-material,
    /// ceremony.
    #[arg(long, default_value = "encrypt")]
    workload: String,
    /// Wrapping key spec for the import workloads.
    #[arg(long, default_value = "RSA_4096")]
    wrapping_key_spec: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds to run (capped at 300).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Stop after this many requests in all (instead of the duration).
    #[arg(long)]
    requests: Option<usize>,
    /// Spread the key-using requests (Encrypt, GenerateDataKey*, DescribeKey) over this many
    /// existing keys of the account, found with ListKeys, instead of one new key.
    #[arg(long, default_value_t = 0)]
    existing_keys: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn load_credentials(a: &BenchArgs) -> anyhow::Result<Credentials> {
    if let (Ok(id), Ok(secret)) =
        (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY"))
    {
        return Ok(Credentials {
            access_key_id: id,
            secret_access_key: secret,
            region: a.region.clone(),
        });
    }
    let text = std::fs::read_to_string(&a.credentials)
        .with_context(|| format!("cannot read {}", a.credentials.display()))?;
    let (access_key_id, secret_access_key) = profile_keys(&text, &a.profile).map_err(|k| {
        anyhow::anyhow!("{k} missing in profile {} of {}", a.profile, a.credentials.display())
    })?;
    Ok(Credentials { access_key_id, secret_access_key, region: a.region.clone() })
}

/// The access key id and secret of `profile` (`[name]` sections, as the AWS shared-credentials
/// format has them); the name of the first missing one otherwise.
fn profile_keys(text: &str, profile: &str) -> Result<(String, String), &'static str> {
    let mut section = "";
    let mut found = (None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim();
        } else if let (true, Some((k, v))) = (section == profile, line.split_once('=')) {
            match k.trim() {
                "aws_access_key_id" => found.0 = Some(v.trim().to_string()),
                "aws_secret_access_key" => found.1 = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    match found {
        (Some(id), Some(secret)) => Ok((id, secret)),
        (None, _) => Err("aws_access_key_id"),
        (_, None) => Err("aws_secret_access_key"),
    }
}

async fn resolve(endpoint: &str) -> anyhow::Result<SocketAddr> {
    let hostport =
        endpoint.strip_prefix("http://").context("only http:// endpoints")?.trim_end_matches('/');
    let addr = tokio::net::lookup_host(hostport)
        .await
        .with_context(|| hostport.to_string())?
        .next()
        .with_context(|| format!("{hostport}: no address"))?;
    // A load generator must never point at anything but this machine.
    if !addr.ip().is_loopback() {
        return Err(anyhow::anyhow!(
            "{addr} is not a loopback address; trent bench only drives local servers"
        ));
    }
    Ok(addr)
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(bench(a))
}

pub struct Report {
    pub workload: String,
    pub requests: usize,
    pub errors: usize,
    /// ThrottlingException answers, after which a connection backs off as an SDK does.
    pub throttled: usize,
    pub seconds: f64,
    pub latencies_us: Vec<u64>,
}

impl Report {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

async fn bench(a: BenchArgs) -> anyhow::Result<()> {
    let addr = resolve(&a.endpoint).await?;
    let creds = load_credentials(&a)?;
    let workload = Workload::parse(&a.workload, &a.wrapping_key_spec)?;
    let mut setup = Client::connect(addr, creds.clone()).await?;
    let shared = workload.setup(&mut setup, a.requests.unwrap_or(0), a.existing_keys).await?;
    let deadline = Instant::now() + Duration::from_secs(a.duration.min(300));
    let budget =
        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(a.requests.unwrap_or(usize::MAX)));
    let started = Instant::now();
    // Progress on standard error (the report is standard output's): seconds of the run, or
    // requests of a fixed count.
    let (total, unit) = match a.requests {
        Some(n) => (n as u64, Unit::Count("requests")),
        None => (a.duration.min(300), Unit::Seconds),
    };
    let progress = std::sync::Arc::new(Progress::new(format!("bench {}", a.workload), total, unit));
    let ticker = {
        let (progress, budget, requests) = (progress.clone(), budget.clone(), a.requests);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = match requests {
                    Some(n) => n.saturating_sub(budget.load(std::sync::atomic::Ordering::Relaxed)),
                    None => started.elapsed().as_secs() as usize,
                };
                progress.set(done as u64);
            }
        })
    };
    let mut tasks = Vec::new();
    for worker in 0..a.connections.max(1) {
        let (creds, shared, budget, workload) =
            (creds.clone(), shared.clone(), budget.clone(), workload.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client::connect(addr, creds).await?;
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut throttled = 0usize;
            let mut in_a_row = 0u32;
            let mut i = 0usize;
            while Instant::now() < deadline {
                if budget
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |b| b.checked_sub(1),
                    )
                    .is_err()
                {
                    break;
                }
                let t = Instant::now();
                match workload.once(&mut c, &shared, worker, i).await {
                    Ok(()) => {
                        lat.push(t.elapsed().as_micros() as u64);
                        in_a_row = 0;
                    }
                    // Back off as the SDKs' retry strategies do: a random delay up to 0.5 s,
                    // doubling with each throttle in a row (up to 8 s).
                    Err(e) if format!("{e:#}").contains("ThrottlingException") => {
                        throttled += 1;
                        let mut b = [0u8; 2];
                        let _ = trent_crypto::random_bytes(&mut b);
                        let cap_ms = 500u64 << in_a_row.min(4);
                        let ms = u64::from(u16::from_le_bytes(b)) * cap_ms / 65_536;
                        in_a_row += 1;
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("trent bench: {e:#}");
                        }
                    }
                }
                i += 1;
            }
            Ok::<_, anyhow::Error>((lat, errors, throttled))
        }));
    }
    let mut report = Report {
        workload: a.workload.clone(),
        requests: 0,
        errors: 0,
        throttled: 0,
        seconds: 0.0,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        let (lat, errors, throttled) = t.await??;
        report.requests += lat.len();
        report.errors += errors;
        report.throttled += throttled;
        report.latencies_us.extend(lat);
    }
    ticker.abort();
    progress.finish(total);
    report.seconds = started.elapsed().as_secs_f64();
    report.latencies_us.sort_unstable();
    let rps = report.requests as f64 / report.seconds;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "workload": report.workload, "connections": a.connections, "requests": report.requests,
                "errors": report.errors, "throttled": report.throttled, "seconds": report.seconds, "rps": rps,
                "p50_ms": report.pct(0.5), "p90_ms": report.pct(0.9), "p99_ms": report.pct(0.99),
                "max_ms": report.latencies_us.last().map(|v| *v as f64 / 1000.0).unwrap_or(0.0),
            })
        );
    } else {
        println!(
            "{:<36} {:>8} req in {:>6.2}s  {:>10.1} req/s  p50 {:>7.3} ms  p90 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  errors {}  throttled {}",
            format!("{} x{}", report.workload, a.connections),
            report.requests,
            report.seconds,
            rps,
            report.pct(0.5),
            report.pct(0.9),
            report.pct(0.99),
            report.latencies_us.last().map(|v| *v as f64 / 1000.0).unwrap_or(0.0),
            report.errors,
            report.throttled
        );
    }
    if report.errors > 0 {
        return Err(anyhow::anyhow!("{} requests failed", report.errors));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_profile_is_read_from_its_section() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = a\n\n[ci]\naws_access_key_id=B\naws_secret_access_key=b\n";
        assert_eq!(super::profile_keys(text, "ci"), Ok(("B".into(), "b".into())));
        assert_eq!(super::profile_keys(text, "default"), Ok(("A".into(), "a".into())));
        assert_eq!(super::profile_keys(text, "other"), Err("aws_access_key_id"));
    }
}
