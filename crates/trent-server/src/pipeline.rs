//! One request pipeline for every API surface on the port. A surface (the KMS API,
//! CloudTrail's LookupEvents, and the XKS proxy API to come) says how a request names its
//! operation, how large its body may be, which SigV4 service signs it and how an
//! authenticated call runs; everything else is done here, once, for all of them: the body
//! read against its limit and timeout, the method and path, authentication, the fail-closed
//! audit check, the call on a task of its own within the request timeout, a panic turned
//! into an internal error, the audit record (written late for a call that outlives its
//! timeout), the metrics, the log of a refusal, and the AWS error envelope.

use crate::audit::Called;
use crate::dispatch::Dispatched;
use crate::error::{self, Failure};
use crate::{internal, listener, read_body, AppState};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use std::future::Future;
use std::sync::Arc;
use trent_core::Caller;

/// An API surface: what differs between the APIs the port speaks.
pub(crate) trait Surface: Send + Sync + 'static {
    /// The SigV4 service name its requests are signed for (`kms`, `cloudtrail`).
    const SERVICE: &'static str;

    /// The operation a request names by its `X-Amz-Target` (read once, by the router);
    /// `None` is refused as UnknownOperationException once the caller is authenticated.
    fn operation(&self, target: Option<&str>) -> Option<Called>;

    /// The most a request's body may have (`None`: it named no operation).
    fn max_body(&self, called: Option<Called>) -> usize;

    /// Authorizes, decodes, runs and encodes one call of an authenticated caller. It runs on
    /// a task of its own, which neither a dropped connection nor the request timeout
    /// cancels: a write cut between the store's commit and the key cache's update would
    /// leave the cache older than the store.
    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<Caller>,
        called: Called,
        body: Bytes,
    ) -> impl Future<Output = Dispatched> + Send + 'static;
}

/// What the HTTP layer hands over of a request.
pub(crate) struct Incoming {
    pub source_ip: Option<String>,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: axum::body::Body,
    pub watch: Option<listener::BodyWatch>,
}

/// A request as the audit record needs it, whatever became of it.
struct Exchange {
    /// Shared with the task that runs the call (no copy of its strings per request).
    caller: Option<Arc<Caller>>,
    dispatched: Dispatched,
    /// A call still running when the client was answered (the request timeout): its record
    /// is written when it ends, with what it really did.
    late: Option<tokio::task::JoinHandle<Dispatched>>,
}

impl Exchange {
    fn refused(caller: Option<Arc<Caller>>, f: Failure) -> Self {
        Exchange { caller, dispatched: Dispatched::refused(f), late: None }
    }
}

/// Serves one request of surface `S`, which names `called` (`Surface::operation`).
pub(crate) async fn serve<S: Surface>(
    surface: &S,
    st: &Arc<AppState>,
    called: Option<Called>,
    r: Incoming,
) -> Response {
    let arrived = std::time::Instant::now();
    let (request_id, event_id) = trent_crypto::new_id_pair().unwrap_or_default();
    let Incoming { source_ip, method, uri, headers, body, watch } = r;
    let read = Read { method, uri, body, watch };
    // A panic (in authentication, or in the call's task) must not drop the connection
    // without an answer: it becomes KMSInternalException (the panic hook logs where).
    let exchange = exchange(surface, st, called, &source_ip, &headers, read, &request_id);
    let exchange = std::panic::AssertUnwindSafe(exchange)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Exchange::refused(None, internal("panic")));
    let Exchange { caller, mut dispatched, late } = exchange;
    // Every request that names an operation has its record, whatever became of it.
    if let Some(called) = called {
        let authenticated = caller.is_some();
        let ids = (request_id.as_str(), event_id);
        let facts =
            crate::audit::Facts::new(called, ids, source_ip.as_deref(), &headers, authenticated);
        match late {
            None => {
                let written = st.audit_call(&facts, caller.as_deref(), &dispatched, None).await;
                if let Err(e) = written {
                    if !st.audit_fail_open {
                        // Fail closed: no answer but an error for a call the trail lacks.
                        dispatched.body = Err(Failure::Kms(trent_core::Fault::Audit(e).into()));
                    }
                }
            }
            Some(task) => st.audit_late(facts, caller, task),
        }
    }
    let result = dispatched.body;
    let code = result.as_ref().err().map_or("", |f| error::to_wire(f).code);
    st.metrics.observe(called, code, arrived.elapsed());
    let name = called.map(Called::name);
    if let Err(f) = &result {
        st.log_refusal(&request_id, name, &headers, source_ip.as_deref(), f);
    } else if let Some(name) = name {
        tracing::debug!(id = %request_id, op = name, "ok");
    }
    let mut resp = match result {
        Ok(body) => (StatusCode::OK, Bytes::from(body)).into_response(),
        Err(f) => f.into_response(&request_id),
    };
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// What of a request its reading and authentication consume.
struct Read {
    method: Method,
    uri: Uri,
    body: axum::body::Body,
    watch: Option<listener::BodyWatch>,
}

/// Reads, authenticates and runs one request.
async fn exchange<S: Surface>(
    surface: &S,
    st: &Arc<AppState>,
    called: Option<Called>,
    source_ip: &Option<String>,
    headers: &HeaderMap,
    r: Read,
    request_id: &str,
) -> Exchange {
    let Read { method, uri, body, watch } = r;
    let body = match read_body(&st.limits, body, surface.max_body(called), watch.as_ref()).await {
        Err(f) => return Exchange::refused(None, f),
        Ok(body) => body,
    };
    if method != Method::POST || uri.path() != "/" {
        return Exchange::refused(None, Failure::UnknownOperation);
    }
    let authenticated =
        st.auth.authenticate(S::SERVICE, source_ip.clone(), &method, &uri, headers, &body).await;
    let caller = match authenticated {
        Ok(caller) => Arc::new(caller),
        Err(f) => return Exchange::refused(None, f),
    };
    let Some(called) = called else {
        return Exchange::refused(Some(caller), Failure::UnknownOperation);
    };
    // While the trail cannot be written nothing runs (fail-closed): this call's refusal is
    // recorded if the trail works again, and then the next call runs.
    if !st.audit_fail_open && st.audit_failing.load(std::sync::atomic::Ordering::Relaxed) {
        return Exchange::refused(Some(caller), internal("the audit trail cannot be written"));
    }
    // The request id goes with the call: an external key store's proxy is told it
    // (`requestMetadata.kmsRequestId`), so that its auditor can match the two trails.
    let run = surface.run(st.clone(), caller.clone(), called, body);
    let mut handled = tokio::spawn(trent_core::with_request_id(request_id.to_string(), run));
    let (dispatched, late) =
        match tokio::time::timeout(st.limits.request_timeout, &mut handled).await {
            Ok(Ok(dispatched)) => (dispatched, None),
            Ok(Err(_)) => (Dispatched::refused(internal("panic")), None),
            Err(_) => (Dispatched::refused(internal("request timed out")), Some(handled)),
        };
    Exchange { caller: Some(caller), dispatched, late }
}
