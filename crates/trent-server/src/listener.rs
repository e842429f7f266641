//! The connection loop, so that no client can exhaust the server: at most `max_connections`
//! at once (a new one evicts the connection idle the longest, so that `/health` and real
//! clients still get in when idle sockets pile up; with none idle it is refused at once), the
//! request head must arrive within `header_timeout` of the connection being ready for it (which
//! also closes idle keep-alive connections and header-trickling ones), the body within
//! `body_timeout` (enforced by the handler), and on shutdown requests in flight are drained up
//! to `drain` before the process exits. A connection part-way through a body is busy, but a
//! full table still makes room: past its first second a body that arrives slower than all the
//! others is cut (the handler answers RequestTimeoutException and the connection closes), so
//! a thousand trickled bodies cannot keep a new client out for the body timeout.

use crate::AppState;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The bounds of the edge. Every one has a default an operator may change.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    /// For the request head, from when the connection is ready for one.
    pub header_timeout: Duration,
    /// For the request body, from when its head has arrived.
    pub body_timeout: Duration,
    /// For the handling of a request once its body has arrived (a store that stopped
    /// answering, say): past it the client gets KMSInternalException and may retry.
    pub request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            drain: Duration::from_secs(10),
        }
    }
}

/// One connection as the registry sees it.
struct Conn {
    /// Requests being handled on it.
    active: AtomicUsize,
    /// When a request last ended (ms since the registry started).
    last_ms: AtomicU64,
    close: Notify,
    /// When the body being read began (ms since the registry started, plus one); 0: none.
    body_since_ms: AtomicU64,
    /// Bytes of that body read so far.
    body_bytes: AtomicU64,
    /// Tells the handler reading the body to stop (the connection is evicted).
    cut: Notify,
}

/// A body read must have lasted this long before it may be cut to make room.
const BODY_GRACE_MS: u64 = 1000;

/// The handle a request's handler reads its body through (`crate::read_body`), so that the
/// registry sees the body's progress and can cut the slowest.
#[derive(Clone)]
pub(crate) struct BodyWatch {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

/// Marks a body as being read while it lives.
pub(crate) struct Reading<'a>(&'a BodyWatch);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.conn.body_since_ms.store(0, Ordering::Release);
    }
}

impl BodyWatch {
    pub(crate) fn reading(&self) -> Reading<'_> {
        self.conn.body_bytes.store(0, Ordering::Relaxed);
        self.conn.body_since_ms.store(self.registry.now_ms() + 1, Ordering::Release);
        Reading(self)
    }

    pub(crate) fn add(&self, n: usize) {
        self.conn.body_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Completes when the registry cuts this body.
    pub(crate) async fn cut(&self) {
        self.conn.cut.notified().await
    }
}

struct Registry {
    started: Instant,
    max: usize,
    next: AtomicU64,
    /// Open connections that are not being closed.
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Connections still running (being closed included), for the drain.
    running: AtomicUsize,
    drained: Notify,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// A place for a new connection: free, or made by evicting the connection idle the
    /// longest; `None` when every connection is busy.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut open = self.open.lock().ok()?;
        if open.len() >= self.max {
            let idle = open
                .iter()
                .filter(|(_, c)| c.active.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.last_ms.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            match idle.or_else(|| self.slowest_body(&open)) {
                Some(victim) => {
                    if let Some(c) = open.remove(&victim) {
                        // A body being read is cut (its handler answers, and the connection
                        // closes after that answer); an idle connection just closes.
                        c.cut.notify_one();
                        c.close.notify_one();
                    }
                }
                None => return None,
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            active: AtomicUsize::new(0),
            last_ms: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
            body_since_ms: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            cut: Notify::new(),
        });
        open.insert(id, conn.clone());
        self.running.fetch_add(1, Ordering::AcqRel);
        Some((id, conn))
    }

    /// The connection whose body, read for longer than the grace, arrives the slowest
    /// (bytes per second since it began).
    fn slowest_body(&self, open: &HashMap<u64, Arc<Conn>>) -> Option<u64> {
        let now = self.now_ms();
        open.iter()
            .filter_map(|(id, c)| {
                let since = c.body_since_ms.load(Ordering::Acquire);
                let took = now.checked_sub(since.checked_sub(1)?)?;
                (since != 0 && took >= BODY_GRACE_MS).then(|| {
                    // Bytes per second since the body began (bytes × 1000 / ms).
                    let rate = c.body_bytes.load(Ordering::Relaxed) as u128 * 1000 / took as u128;
                    (*id, rate)
                })
            })
            .min_by_key(|(_, rate)| *rate)
            .map(|(id, _)| id)
    }

    fn finished(&self, id: u64) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(&id);
        }
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drained.notify_waiters();
        }
    }

    fn close_all(&self) {
        if let Ok(open) = self.open.lock() {
            for c in open.values() {
                c.close.notify_one();
            }
        }
    }
}

/// Counts a request as active on its connection while it is handled.
struct Active(Arc<Conn>, Arc<Registry>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.last_ms.store(self.1.now_ms(), Ordering::Relaxed);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Who is at the other end of a request's connection, in each request's extensions: the
/// peer's address and the subject (CN) of the client certificate TLS verified, if any.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub addr: std::net::SocketAddr,
    pub client_subject: Option<Arc<str>>,
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends or is told to close.
async fn serve_io<I>(
    stream: I,
    peer: std::net::SocketAddr,
    router: axum::Router,
    conn: Arc<Conn>,
    registry: &Arc<Registry>,
    limits: Limits,
    client_subject: Option<Arc<str>>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let tower = hyper_util::service::TowerToHyperService::new(router);
    let (c, r) = (conn.clone(), registry.clone());
    let service = hyper::service::service_fn(move |mut req| {
        let client_subject = client_subject.clone();
        req.extensions_mut().insert(Peer { addr: peer, client_subject });
        req.extensions_mut().insert(BodyWatch { conn: c.clone(), registry: r.clone() });
        c.active.fetch_add(1, Ordering::AcqRel);
        let active = Active(c.clone(), r.clone());
        let fut = hyper::service::Service::call(&tower, req);
        async move {
            let out = fut.await;
            drop(active);
            out
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let io = TokioIo::new(crate::error_bodies::ErrorBodies::new(stream));
    let served = builder.serve_connection(io, service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => {}
        _ = conn.close.notified() => {
            // Evicted or shutting down: an idle connection closes at once, a busy one after
            // its response.
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}

/// Serves until `shutdown` completes, then drains the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (limits, tls) = (state.limits, state.tls.clone());
    serve_router(listener, crate::router(state), limits, tls, shutdown).await
}

/// Serves `router` on `listener` within `limits` (and over `tls`), until `shutdown`.
pub(crate) async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: Limits,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let registry = Arc::new(Registry {
        started: Instant::now(),
        max: limits.max_connections.max(1),
        next: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
        running: AtomicUsize::new(0),
        drained: Notify::new(),
    });
    let refusals = crate::log_budget::LogBudget::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (EMFILE), or a connection reset before accept: wait
                    // a little rather than spin.
                    if refusals.take().is_some() {
                        tracing::warn!(error = %e, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some((id, conn)) = registry.admit() else {
            if let Some(left_out) = refusals.take() {
                tracing::warn!(source = %peer.ip(), max = limits.max_connections, left_out, "refused a connection: every connection is busy");
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, registry, tls) = (router.clone(), registry.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_io(stream, peer, router, conn, &registry, limits, None).await,
                Some(tls) => {
                    // The handshake counts against the time allowed for the first request.
                    let accepted =
                        tokio::time::timeout(limits.header_timeout, tls.acceptor().accept(stream))
                            .await;
                    match accepted {
                        Ok(Ok(stream)) => {
                            let certs = stream.get_ref().1.peer_certificates();
                            let client = crate::tls::client_subject(certs);
                            serve_io(stream, peer, router, conn, &registry, limits, client).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(source = %peer.ip(), error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(source = %peer.ip(), "TLS handshake timed out"),
                    }
                }
            }
            registry.finished(id);
        });
    }
    drop(listener);
    registry.close_all();
    let drained = registry.drained.notified();
    if registry.running.load(Ordering::Acquire) > 0
        && tokio::time::timeout(limits.drain, drained).await.is_err()
    {
        tracing::warn!(
            still_running = registry.running.load(Ordering::Acquire),
            "shutdown: requests still in flight after the drain deadline"
        );
    }
    Ok(())
}
