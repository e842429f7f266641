//! One request pipeline for every API surface on the port: the KMS API and CloudTrail's
//! LookupEvents (AWS JSON 1.1, `aws_json.rs`) and the External Key Store proxy API
//! (`xks.rs`). A surface says what a request names, how large its body may be, how it is
//! authenticated, how an authenticated call runs, and how a call is recorded, counted and
//! answered in its own protocol; the order of those steps, and everything they share, is
//! here, once: the body read against its limit and timeout, the method and path checked
//! before anything else, the fail-closed audit check, the call on a task of its own (with the
//! request's id) within the request timeout, a panic turned into an internal error, the
//! record of every request that names an operation (written late for a call that outlives
//! its timeout), the metrics and the log of a refusal.

use crate::error::Failure;
use crate::{listener, read_body, AppState};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use futures_util::FutureExt as _;
use std::future::Future;
use std::sync::Arc;

/// Why the pipeline refused a request before its call ran (each surface answers it in its
/// own protocol).
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The body is too large, or was not sent in time (`read_body`).
    Body(Failure),
    /// The method or the path is not one of the surface's.
    Request,
    /// A fault of ours: a panic, the trail that cannot be written.
    Internal(&'static str),
    /// The call did not end within the request timeout (it goes on; its record is late).
    TimedOut,
}

/// A request as it arrived, for its record and its log.
pub(crate) struct Arrival<'a> {
    pub request_id: &'a str,
    pub event_id: String,
    pub uri: &'a Uri,
    pub source_ip: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The subject (CN) of the client certificate TLS verified, if any.
    pub client_subject: Option<&'a Arc<str>>,
}

/// What the pipeline knows of a request once its call ran (or was refused).
pub(crate) struct Exchanged<S: Surface> {
    pub named: Option<S::Named>,
    pub caller: Option<Arc<S::Caller>>,
    pub outcome: S::Outcome,
    /// A call still running when the client was answered (the request timeout): its record
    /// is written when it ends, with what it really did.
    pub late: Option<tokio::task::JoinHandle<S::Outcome>>,
}

/// An API surface: what differs between the APIs the port speaks.
pub(crate) trait Surface: Send + Sync + Sized + 'static {
    /// What a request names: an operation of the surface.
    type Named: Copy + Send + Sync + 'static;
    /// Who an authenticated request comes from.
    type Caller: Send + Sync + 'static;
    /// What a call did, for its answer and its record.
    type Outcome: Send + 'static;

    /// The most a request's body may have (`None`: it named no operation).
    fn max_body(&self, named: Option<Self::Named>) -> usize;

    /// Whether the method and path are the surface's (checked before authentication).
    fn accepts(&self, method: &Method, uri: &Uri) -> bool;

    /// The outcome of a request the pipeline refused.
    fn refused(&self, named: Option<Self::Named>, why: Refusal) -> Self::Outcome;

    /// Authenticates a request; a refusal is its outcome.
    fn authenticate(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> impl Future<Output = Result<Self::Caller, Self::Outcome>> + Send;

    /// The operation an authenticated request runs, or its refusal (one that named none).
    fn operation(
        &self,
        caller: &Self::Caller,
        named: Option<Self::Named>,
        uri: &Uri,
    ) -> Result<Self::Named, Self::Outcome>;

    /// Runs one call of an authenticated caller. It runs on a task of its own, which neither
    /// a dropped connection nor the request timeout cancels: a write cut between the store's
    /// commit and the key cache's update would leave the cache older than the store.
    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<Self::Caller>,
        named: Self::Named,
        body: Bytes,
    ) -> impl Future<Output = Self::Outcome> + Send + 'static;

    /// Writes the record of a request (of a late call: once it ends); a record that cannot be
    /// written makes the outcome an internal error unless the trail fails open.
    fn record(
        &self,
        st: &Arc<AppState>,
        at: &mut Arrival<'_>,
        exchanged: &mut Exchanged<Self>,
    ) -> impl Future<Output = ()> + Send;

    /// Counts the request in the metrics and logs it if it was refused.
    fn observe(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        exchanged: &Exchanged<Self>,
        took: std::time::Duration,
    );

    /// The answer, in the surface's protocol.
    fn respond(&self, outcome: Self::Outcome, request_id: &str) -> Response;
}

/// What the HTTP layer hands over of a request.
pub(crate) struct Incoming {
    pub source_ip: Option<String>,
    pub client_subject: Option<Arc<str>>,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: axum::body::Body,
    pub watch: Option<listener::BodyWatch>,
}

/// Serves one request of surface `S`, which names `named` (read by the router).
pub(crate) async fn serve<S: Surface>(
    surface: &S,
    st: &Arc<AppState>,
    named: Option<S::Named>,
    r: Incoming,
) -> Response {
    let arrived = std::time::Instant::now();
    let (request_id, event_id) = trent_crypto::new_id_pair().unwrap_or_default();
    let Incoming { source_ip, client_subject, method, uri, headers, body, watch } = r;
    let mut at = Arrival {
        request_id: &request_id,
        event_id,
        uri: &uri,
        source_ip: source_ip.as_deref(),
        headers: &headers,
        client_subject: client_subject.as_ref(),
    };
    let read = Read { method, body, watch };
    // A panic (in authentication, or in the call's task) must not drop the connection
    // without an answer: it becomes an internal error (the panic hook logs where).
    let exchange = exchange(surface, st, named, &at, read);
    let mut exchanged =
        std::panic::AssertUnwindSafe(exchange).catch_unwind().await.unwrap_or_else(|_| Exchanged {
            named,
            caller: None,
            outcome: surface.refused(named, Refusal::Internal("panic")),
            late: None,
        });
    surface.record(st, &mut at, &mut exchanged).await;
    surface.observe(st, &at, &exchanged, arrived.elapsed());
    surface.respond(exchanged.outcome, &request_id)
}

/// What of a request its reading and authentication consume.
struct Read {
    method: Method,
    body: axum::body::Body,
    watch: Option<listener::BodyWatch>,
}

/// Reads, authenticates and runs one request.
async fn exchange<S: Surface>(
    surface: &S,
    st: &Arc<AppState>,
    named: Option<S::Named>,
    at: &Arrival<'_>,
    r: Read,
) -> Exchanged<S> {
    let refused = |caller, outcome| Exchanged { named, caller, outcome, late: None };
    let Read { method, body, watch } = r;
    let uri = at.uri;
    let body = match read_body(&st.limits, body, surface.max_body(named), watch.as_ref()).await {
        Err(f) => return refused(None, surface.refused(named, Refusal::Body(f))),
        Ok(body) => body,
    };
    if !surface.accepts(&method, uri) {
        return refused(None, surface.refused(named, Refusal::Request));
    }
    let caller = match surface.authenticate(st, at, &method, uri, &body).await {
        Ok(caller) => Arc::new(caller),
        Err(outcome) => return refused(None, outcome),
    };
    let op = match surface.operation(&caller, named, uri) {
        Ok(op) => op,
        Err(outcome) => return refused(Some(caller), outcome),
    };
    // While the trail cannot be written nothing runs (fail-closed): this call's refusal is
    // recorded if the trail works again, and then the next call runs.
    if !st.audit_fail_open && st.audit_failing.load(std::sync::atomic::Ordering::Relaxed) {
        let why = Refusal::Internal("the audit trail cannot be written");
        return Exchanged {
            named: Some(op),
            ..refused(Some(caller), surface.refused(Some(op), why))
        };
    }
    // The request id goes with the call: an external key store's proxy is told it
    // (`requestMetadata.kmsRequestId`), so that its auditor can match the two trails.
    let run = surface.run(st.clone(), caller.clone(), op, body);
    let mut handled = tokio::spawn(trent_core::with_request_id(at.request_id.to_string(), run));
    let (outcome, late) = match tokio::time::timeout(st.limits.request_timeout, &mut handled).await
    {
        Ok(Ok(outcome)) => (outcome, None),
        Ok(Err(_)) => (surface.refused(Some(op), Refusal::Internal("panic")), None),
        Err(_) => (surface.refused(Some(op), Refusal::TimedOut), Some(handled)),
    };
    Exchanged { named: Some(op), caller: Some(caller), outcome, late }
}
