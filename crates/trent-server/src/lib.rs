//! The HTTP face of Trent: one route for every API surface on the port — the AWS KMS JSON 1.1
//! protocol (`X-Amz-Target: TrentService.<Operation>`), CloudTrail's, and the XKS proxy API
//! by its path — through one request pipeline (`pipeline.rs`), SigV4 authentication, dispatch
//! to the domain, and the one place where failures become AWS error responses.

mod audit;
mod auth;
mod aws_json;
mod cloudtrail;
mod console;
mod dispatch;
pub mod error;
mod error_bodies;
mod host_guard;
mod listener;
mod log_budget;
pub mod metrics;
mod pipeline;

use aws_json::{AwsJson, KmsApi};

pub mod tls;
mod trails;
mod xks;
pub mod xks_client;

pub use trails::{Delivered, TrailPublicKey};

pub use listener::Limits;

pub use auth::AuthMode;
pub use host_guard::HostGuard;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use error::Failure;
use std::future::Future;
use std::sync::Arc;
use trent_core::Kms;

/// Requests larger than their operation's limit (`Operation::max_body`: 256 KiB for a key
/// policy, 128 KiB with grant tokens, else 64 KiB) are refused before they are read further;
/// a request naming no known operation may have this much.
pub const UNKNOWN_OPERATION_BODY: usize = 16 * 1024;

pub struct AppState {
    pub kms: Arc<Kms>,
    pub auth: auth::Authenticator,
    pub limits: Limits,
    /// TLS for every connection, when configured.
    pub tls: Option<Arc<tls::Tls>>,
    refusals: log_budget::LogBudget,
    /// Records of refused authentication: anyone can cause them, so they are budgeted.
    unauthenticated_records: log_budget::LogBudget,
    /// Whether a call is answered although its audit record could not be written.
    audit_fail_open: bool,
    /// The last audit write failed: until one succeeds, calls are refused (fail-closed).
    audit_failing: std::sync::atomic::AtomicBool,
    /// The audit trail, for CloudTrail's LookupEvents.
    trail: Option<Arc<dyn trent_core::audit::lookup::TrailReader>>,
    /// The trail's delivery as CloudTrail delivers it, for DescribeTrails and the others.
    delivered: Option<trails::Delivered>,
    /// Scans of the trail running at once (half the CPUs, at least one): a scan reads files
    /// on a blocking thread, and the other half of the machine stays for the API.
    trail_scans: Arc<tokio::sync::Semaphore>,
    pub metrics: metrics::Metrics,
    /// The hosts requests may name (accept-any: every caller is the root, so a rebound name
    /// must not reach it; `host_guard.rs`); `None`: any.
    host_guard: Option<HostGuard>,
    /// The hosts the metrics listener answers (always guarded: it has no authentication).
    metrics_hosts: HostGuard,
}

impl AppState {
    pub fn new(kms: Arc<Kms>, mode: AuthMode, default_account: String) -> Self {
        AppState {
            auth: auth::Authenticator::new(kms.clone(), mode, default_account),
            metrics: metrics::Metrics::new(kms.clone()),
            kms,
            limits: Limits::default(),
            tls: None,
            refusals: log_budget::LogBudget::new(),
            unauthenticated_records: log_budget::LogBudget::new(),
            audit_fail_open: false,
            audit_failing: std::sync::atomic::AtomicBool::new(false),
            trail: None,
            delivered: None,
            host_guard: (mode == AuthMode::AcceptAny).then(HostGuard::default),
            metrics_hosts: HostGuard::default(),
            trail_scans: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            )),
        }
    }

    /// Serves CloudTrail's LookupEvents from `trail` on the same port.
    pub fn with_trail(mut self, trail: Arc<dyn trent_core::audit::lookup::TrailReader>) -> Self {
        self.trail = Some(trail);
        self
    }

    /// Describes the trail's delivery (DescribeTrails, GetTrail, GetTrailStatus,
    /// ListPublicKeys), so that `aws cloudtrail validate-logs` finds it.
    pub fn with_delivery(mut self, delivered: Delivered) -> Self {
        let collector = metrics::TrailCollector(delivered.delivery.clone());
        self.metrics.register_collector(Box::new(collector));
        self.delivered = Some(delivered);
        self
    }

    /// Answers calls even when their audit record cannot be written (the default is to fail
    /// them, as Vault's audit devices do).
    pub fn with_audit_fail_open(mut self, fail_open: bool) -> Self {
        self.audit_fail_open = fail_open;
        self
    }

    /// Names requests may give in `Host` besides loopback names and IP literals, where the
    /// host is checked (accept-any, metrics).
    pub fn with_allowed_hosts(mut self, names: &[String]) -> Self {
        if self.host_guard.is_some() {
            self.host_guard = Some(HostGuard::new(names));
        }
        self.metrics_hosts = HostGuard::new(names);
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn with_tls(mut self, tls: Arc<tls::Tls>) -> Self {
        self.tls = Some(tls);
        self.auth.secure_transport = true;
        self
    }

    /// Logs a refused request once, within the log budget: authentication failures as
    /// warnings, other refusals as information. Client strings are escaped by the log format.
    pub(crate) fn log_refusal(
        &self,
        request_id: &str,
        op: Option<&str>,
        headers: &HeaderMap,
        source_ip: Option<&str>,
        f: &Failure,
    ) {
        let Some(left_out) = self.refusals.take() else { return };
        let op = op.unwrap_or("-");
        let source = source_ip.unwrap_or("-");
        let reason = f.log_text();
        if f.is_authentication() {
            // The access key id only (never the secret or the signature), bounded in length.
            let akid: String = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|h| trent_sigv4::Authorization::parse(h).ok())
                .map(|a| a.access_key_id.chars().take(128).collect())
                .unwrap_or_else(|| "-".into());
            tracing::warn!(id = %request_id, op, access_key_id = %akid, source, reason = %reason, left_out, "refused authentication");
        } else {
            tracing::info!(id = %request_id, op, source, reason = %reason, left_out, "refused");
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new().route("/health", get(|| async { "ok" })).fallback(handle).with_state(state)
}

/// Serves `GET /metrics` (and `/health`) on a listener of its own, with a few connections
/// and the same TLS as the API, until `shutdown`.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Limits { max_connections: 16, ..state.limits };
    let tls = state.tls.clone();
    let router = Router::new()
        .route("/metrics", get(scrape))
        .route("/health", get(|| async { "ok" }))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics_host))
        .with_state(state);
    listener::serve_router(listener, router, limits, tls, shutdown).await
}

async fn metrics_host(
    State(st): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if st.metrics_hosts.allows(req.headers()) {
        next.run(req).await
    } else {
        HostGuard::refusal(req.headers())
    }
}

async fn scrape(State(st): State<Arc<AppState>>) -> Response {
    let body = st.metrics.render().await;
    ([("content-type", metrics::CONTENT_TYPE)], body).into_response()
}

/// Serves until `shutdown` completes, then drains the requests in flight (`listener.rs`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, state, shutdown).await
}

async fn handle(
    State(st): State<Arc<AppState>>,
    peer: Option<axum::Extension<listener::Peer>>,
    watch: Option<axum::Extension<listener::BodyWatch>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if st.host_guard.as_ref().is_some_and(|g| !g.allows(&headers)) {
        return HostGuard::refusal(&headers);
    }
    if let Some(page) = console::serve(&method, &uri, &headers) {
        return page;
    }
    let (source_ip, client_subject) = match peer {
        Some(axum::Extension(p)) => (Some(p.addr.ip().to_string()), p.client_subject),
        None => (None, None),
    };
    let watch = watch.map(|w| w.0);
    // The External Key Store proxy API is named by its path (`.../kms/xks/v1/...`).
    if trent_types::xks::split(uri.path()).is_some() {
        let named = xks::operation_of(uri.path());
        let request =
            pipeline::Incoming { source_ip, client_subject, method, uri, headers, body, watch };
        return pipeline::serve(&xks::XksApi, &st, named, request).await;
    }
    // The target is read once: it chooses the surface, and the surface its operation.
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    if let Some(op) = cloudtrail::TrailOp::from_target(target) {
        let surface = AwsJson(cloudtrail::CloudTrailApi { trail: st.trail.clone() });
        let called = Some(audit::Called::CloudTrail(op));
        let request =
            pipeline::Incoming { source_ip, client_subject, method, uri, headers, body, watch };
        return pipeline::serve(&surface, &st, called, request).await;
    }
    let called = KmsApi::operation(target);
    let request =
        pipeline::Incoming { source_ip, client_subject, method, uri, headers, body, watch };
    pipeline::serve(&AwsJson(KmsApi), &st, called, request).await
}

fn internal(cause: &'static str) -> Failure {
    Failure::Kms(trent_core::KmsError::broken(cause))
}

/// Reads a request's body, at most `limit` bytes: the client has `body_timeout` to send it,
/// and a full connection table may cut it sooner when it is the slowest (`listener.rs`).
/// Every API surface reads its bodies here.
pub(crate) async fn read_body(
    limits: &Limits,
    body: axum::body::Body,
    limit: usize,
    watch: Option<&listener::BodyWatch>,
) -> Result<Bytes, Failure> {
    use futures_util::StreamExt as _;
    use hyper::body::Body as _;
    // A declared length past the limit is refused before a byte of the body is read.
    if body.size_hint().lower() > limit as u64 {
        return Err(Failure::TooLarge);
    }
    let _reading = watch.map(|w| w.reading());
    let read = async {
        let mut stream = body.into_data_stream();
        // A body of one chunk (the usual case) is kept as it came, without a copy.
        let (mut first, mut joined, mut len) = (Bytes::new(), None::<Vec<u8>>, 0);
        while let Some(chunk) = stream.next().await {
            // A body that breaks off is refused as one too large is (as before).
            let chunk = chunk.map_err(|_| Failure::TooLarge)?;
            len += chunk.len();
            if len > limit {
                return Err(Failure::TooLarge);
            }
            if let Some(w) = watch {
                w.add(chunk.len());
            }
            if first.is_empty() && joined.is_none() {
                first = chunk;
            } else {
                joined.get_or_insert_with(|| first.to_vec()).extend_from_slice(&chunk);
            }
        }
        Ok(joined.map_or(first, Bytes::from))
    };
    let cut = async {
        match watch {
            Some(w) => w.cut().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        read = tokio::time::timeout(limits.body_timeout, read) => {
            read.unwrap_or(Err(Failure::RequestTimeout))
        }
        () = cut => Err(Failure::RequestTimeout),
    }
}
