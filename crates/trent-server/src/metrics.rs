//! Prometheus metrics in the text exposition format (0.0.4), served on `GET /metrics` of a
//! listener of its own (`--metrics-listen`): calls per operation and error code with their
//! latency, and what the domain reports (`trent_core::Stats`, `KeyCensus`) — among it the
//! guide's `SecondsUntilKeyMaterialExpiration` as
//! `trent_seconds_until_key_material_expiration{account,region,key_id}`, present exactly for
//! keys whose imported material expires (docs/monitoring.md).

use crate::audit::Called;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Metric, Registry};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trent_core::{KeyCensus, Kms};
use trent_types::Operation;

/// The content type Prometheus expects of the text format.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A census older than this is taken again at the next scrape: however often Prometheus
/// (or anyone who can reach the metrics port) scrapes, the store is counted at most this
/// often. The expiry gauge's seconds are computed at each scrape from the census's ValidTo.
const CENSUS_MAX_AGE: Duration = Duration::from_secs(10);

/// Latency buckets, 100 µs to 10 s: symmetric calls take well under a millisecond, RSA
/// work milliseconds, a request timeout seconds.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// An operation and how it ended: `error_code` is the AWS error (`__type`), empty on success.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    error_code: &'static str,
}

/// The operation name of a request whose `X-Amz-Target` names no known operation: the
/// target is the client's text, so it never becomes a label value.
pub const UNKNOWN_OPERATION: &str = "UnknownOperation";

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

type Durations = Family<CallLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    durations: Durations,
    /// Each operation's success series, by `Operation as usize`: the common case counts
    /// without hashing labels or taking the family's lock.
    succeeded: Vec<(Counter, Histogram)>,
    census: Arc<Mutex<Arc<KeyCensus>>>,
    /// When the census was last taken; held while it is taken, so scrapes take turns.
    census_taken: tokio::sync::Mutex<Option<Instant>>,
    kms: Arc<Kms>,
}

impl Metrics {
    /// The registry with every operation's success series present from the start (so a
    /// dashboard shows an operation nobody called as 0, and a test can enumerate them).
    pub fn new(kms: Arc<Kms>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<CallLabels, Counter>::default();
        let durations = Durations::new_with_constructor(histogram);
        let mut succeeded = Vec::with_capacity(Operation::ALL.len());
        for (i, op) in Operation::ALL.iter().enumerate() {
            // `observe` finds an operation's series by `op as usize`: checked once, here.
            assert_eq!(*op as usize, i, "Operation::ALL is in declaration order");
            let ok = CallLabels { operation: op.name(), error_code: "" };
            succeeded.push((requests.get_or_create_owned(&ok), durations.get_or_create_owned(&ok)));
        }
        for op in crate::cloudtrail::TrailOp::ALL {
            let ok = CallLabels { operation: op.name(), error_code: "" };
            drop((requests.get_or_create(&ok), durations.get_or_create(&ok)));
        }
        registry.register(
            "trent_requests",
            "API calls by operation and AWS error code (empty: success)",
            requests.clone(),
        );
        registry.register(
            "trent_request_duration_seconds",
            "Time from the request's arrival to its answer, by operation and AWS error code",
            durations.clone(),
        );
        let census = Arc::new(Mutex::new(Arc::new(KeyCensus::default())));
        registry.register_collector(Box::new(DomainCollector {
            kms: kms.clone(),
            census: census.clone(),
        }));
        Metrics {
            registry,
            requests,
            durations,
            succeeded,
            census,
            census_taken: tokio::sync::Mutex::new(None),
            kms,
        }
    }

    /// Adds a metric of the binary's own (the webhook's counters, say).
    pub fn register(&mut self, name: &str, help: &str, metric: impl Metric) {
        self.registry.register(name, help, metric);
    }

    pub(crate) fn register_collector(&mut self, collector: Box<dyn Collector>) {
        self.registry.register_collector(collector);
    }

    /// Counts one answered call (`None`: its target named no operation); `error_code`
    /// is empty on success.
    pub(crate) fn observe(&self, called: Option<Called>, error_code: &'static str, took: Duration) {
        let op = match called {
            Some(Called::Kms(op)) => Some(op),
            _ => None,
        };
        match op.and_then(|o| self.succeeded.get(o as usize)).filter(|_| error_code.is_empty()) {
            Some((count, time)) => {
                count.inc();
                time.observe(took.as_secs_f64());
            }
            None => {
                self.observe_named(called.map_or(UNKNOWN_OPERATION, Called::name), error_code, took)
            }
        }
    }

    /// Counts one answered call of an operation named `operation`.
    pub(crate) fn observe_named(
        &self,
        operation: &'static str,
        error_code: &'static str,
        took: Duration,
    ) {
        let labels = CallLabels { operation, error_code };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// The exposition, with a census at most `CENSUS_MAX_AGE` old.
    pub async fn render(&self) -> String {
        {
            let mut taken = self.census_taken.lock().await;
            if taken.is_none_or(|t| t.elapsed() >= CENSUS_MAX_AGE) {
                match self.kms.background().census().await {
                    Ok(c) => {
                        if let Ok(mut slot) = self.census.lock() {
                            *slot = Arc::new(c);
                        }
                        *taken = Some(Instant::now());
                    }
                    // The last census is served; the next scrape tries again.
                    Err(e) => tracing::warn!(error = %e, "cannot count keys for the metrics"),
                }
            }
        }
        let mut out = String::with_capacity(64 << 10);
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// The trail's delivery (`--trail-bucket`, `--trail-dir`), read at each scrape.
pub(crate) struct TrailCollector(pub Arc<trent_trail::Delivery>);

impl std::fmt::Debug for TrailCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrailCollector")
    }
}

impl Collector for TrailCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.status();
        family(
            &mut encoder,
            "trent_trail_delivered",
            "Trail files delivered as CloudTrail delivers them, by kind (log_file, digest)",
            MetricType::Counter,
            [("log_file", s.log_files_delivered), ("digest", s.digests_delivered)]
                .map(|(kind, n)| ([("kind", kind)], ConstCounter::new(n))),
        )?;
        family(
            &mut encoder,
            "trent_trail_delivery_failures",
            "Trail delivery rounds that failed (each is done again at the next round)",
            MetricType::Counter,
            [(Vec::<(&str, &str)>::new(), ConstCounter::new(s.failures))],
        )?;
        if let Some(ms) = s.last_success_unix_ms {
            family(
                &mut encoder,
                "trent_trail_last_delivery_timestamp_seconds",
                "When the last trail delivery round succeeded (Unix time)",
                MetricType::Gauge,
                [(Vec::<(&str, &str)>::new(), ConstGauge::new(ms / 1000))],
            )?;
        }
        Ok(())
    }
}

/// What the domain reports, read at each scrape.
struct DomainCollector {
    kms: Arc<Kms>,
    census: Arc<Mutex<Arc<KeyCensus>>>,
}

impl std::fmt::Debug for DomainCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DomainCollector")
    }
}

/// One metric family of labelled values.
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl IntoIterator<Item = (L, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for DomainCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let census = self.census.lock().map(|c| c.clone()).unwrap_or_default();
        let now = self.kms.now_ms();
        family(
            &mut encoder,
            "trent_seconds_until_key_material_expiration",
            "Seconds until the imported key material of a KMS key expires (AWS/KMS SecondsUntilKeyMaterialExpiration); only keys whose material expires",
            MetricType::Gauge,
            census.expiring.iter().map(|(key, valid_to)| {
                let labels = [
                    ("account", key.account.as_str()),
                    ("region", key.region.as_str()),
                    ("key_id", key.key_id.as_str()),
                ];
                (labels, ConstGauge::new((valid_to - now).max(0) / 1000))
            }),
        )?;
        family(
            &mut encoder,
            "trent_keys",
            "KMS keys by account, Region and key state",
            MetricType::Gauge,
            census.by_state.iter().map(|c| {
                let labels = [
                    ("account", c.account.as_str()),
                    ("region", c.region.as_str()),
                    ("state", c.state.as_str()),
                ];
                (labels, ConstGauge::new(i64::try_from(c.count).unwrap_or(i64::MAX)))
            }),
        )?;
        let stats = self.kms.stats();
        family(
            &mut encoder,
            "trent_cache_lookups",
            "Cache lookups by cache and result (hit or miss)",
            MetricType::Counter,
            stats.caches.iter().flat_map(|(cache, n)| {
                [("hit", n.hits), ("miss", n.misses)].map(|(result, v)| {
                    ([("cache", *cache), ("result", result)], ConstCounter::new(v))
                })
            }),
        )?;
        family(
            &mut encoder,
            "trent_wrapping_pool_key_pairs",
            "Wrapping key pairs ready for GetParametersForImport, by WrappingKeySpec",
            MetricType::Gauge,
            stats.wrapping_pool.iter().map(|(spec, n)| {
                ([("spec", *spec)], ConstGauge::new(i64::try_from(*n).unwrap_or(i64::MAX)))
            }),
        )?;
        family(
            &mut encoder,
            "trent_heavy_work_in_flight",
            "Clients' RSA and signature jobs running or queued",
            MetricType::Gauge,
            [(Vec::<(&str, &str)>::new(), ConstGauge::new(stats.heavy_in_flight as i64))],
        )?;
        family(
            &mut encoder,
            "trent_audit_write_failures",
            "Audit records (of calls and of service events) that could not be written",
            MetricType::Counter,
            [(Vec::<(&str, &str)>::new(), ConstCounter::new(stats.audit_failures))],
        )?;
        family(
            &mut encoder,
            "trent_build_info",
            "The running version",
            MetricType::Gauge,
            [([("version", env!("CARGO_PKG_VERSION"))], ConstGauge::new(1i64))],
        )?;
        Ok(())
    }
}
