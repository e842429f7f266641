//! The AWS JSON 1.1 surfaces of the pipeline — the KMS API and CloudTrail's — in one place:
//! an operation named by `X-Amz-Target` on `POST /`, a caller authenticated by SigV4 for the
//! API's service, CloudTrail's record of every request that names an operation, the
//! metrics by operation and AWS error code, and AWS's error envelope with `x-amzn-RequestId`.
//! An API says only what differs ([`AwsApi`]: its service, body limits and calls).

use crate::audit::{Called, Facts};
use crate::dispatch::Dispatched;
use crate::error::{self, Failure};
use crate::pipeline::{Arrival, Exchanged, Refusal, Surface};
use crate::{internal, AppState};
use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::sync::Arc;
use trent_core::Caller;

/// An AWS JSON 1.1 API on the port.
pub(crate) trait AwsApi: Send + Sync + 'static {
    /// The SigV4 service name its requests are signed for (`kms`, `cloudtrail`).
    const SERVICE: &'static str;

    /// The most a request's body may have (`None`: it named no operation).
    fn max_body(&self, called: Option<Called>) -> usize;

    /// Authorizes, decodes, runs and encodes one call of an authenticated caller (on a task
    /// of its own: see [`Surface::run`]).
    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<Caller>,
        called: Called,
        body: Bytes,
    ) -> impl Future<Output = Dispatched> + Send + 'static;
}

/// An [`AwsApi`] as a surface of the pipeline.
pub(crate) struct AwsJson<A>(pub A);

impl<A: AwsApi> Surface for AwsJson<A> {
    type Named = Called;
    type Caller = Caller;
    type Outcome = Dispatched;

    fn max_body(&self, named: Option<Called>) -> usize {
        self.0.max_body(named)
    }

    fn accepts(&self, method: &Method, uri: &Uri) -> bool {
        method == Method::POST && uri.path() == "/"
    }

    fn refused(&self, _: Option<Called>, why: Refusal) -> Dispatched {
        Dispatched::refused(match why {
            Refusal::Body(f) => f,
            Refusal::Request => Failure::UnknownOperation,
            Refusal::Internal(why) => internal(why),
            Refusal::TimedOut => internal("request timed out"),
        })
    }

    async fn authenticate(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Result<Caller, Dispatched> {
        let source_ip = at.source_ip.map(String::from);
        st.auth
            .authenticate(A::SERVICE, source_ip, method, uri, at.headers, body)
            .await
            .map_err(Dispatched::refused)
    }

    fn operation(&self, _: &Caller, named: Option<Called>, _: &Uri) -> Result<Called, Dispatched> {
        named.ok_or_else(|| Dispatched::refused(Failure::UnknownOperation))
    }

    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<Caller>,
        called: Called,
        body: Bytes,
    ) -> impl Future<Output = Dispatched> + Send + 'static {
        self.0.run(st, caller, called, body)
    }

    /// Every request that names an operation has its record, whatever became of it.
    async fn record(&self, st: &Arc<AppState>, at: &mut Arrival<'_>, ex: &mut Exchanged<Self>) {
        let Some(called) = ex.named else { return };
        let authenticated = ex.caller.is_some();
        let ids = (at.request_id, std::mem::take(&mut at.event_id));
        let facts = Facts::new(called, ids, at.source_ip, at.headers, authenticated);
        match ex.late.take() {
            None => {
                let written = st.audit_call(&facts, ex.caller.as_deref(), &ex.outcome, None).await;
                if let Err(e) = written {
                    if !st.audit_fail_open {
                        // Fail closed: no answer but an error for a call the trail lacks.
                        ex.outcome.body = Err(Failure::Kms(trent_core::Fault::Audit(e).into()));
                    }
                }
            }
            Some(task) => st.audit_late(facts, ex.caller.clone(), task),
        }
    }

    fn observe(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        ex: &Exchanged<Self>,
        took: std::time::Duration,
    ) {
        let result = &ex.outcome.body;
        let code = result.as_ref().err().map_or("", |f| error::to_wire(f).code);
        st.metrics.observe(ex.named, code, took);
        let name = ex.named.map(Called::name);
        if let Err(f) = result {
            st.log_refusal(at.request_id, name, at.headers, at.source_ip, f);
        } else if let Some(name) = name {
            tracing::debug!(id = %at.request_id, op = name, "ok");
        }
    }

    fn respond(&self, outcome: Dispatched, request_id: &str) -> Response {
        let mut resp = match outcome.body {
            Ok(body) => (StatusCode::OK, Bytes::from(body)).into_response(),
            Err(f) => f.into_response(request_id),
        };
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", v);
        }
        resp
    }
}

/// The KMS API: `X-Amz-Target: TrentService.<Operation>`, signed for `kms`.
pub(crate) struct KmsApi;

impl KmsApi {
    pub(crate) fn operation(target: Option<&str>) -> Option<Called> {
        let op = target?.strip_prefix("TrentService.")?;
        trent_types::Operation::from_name(op).map(Called::Kms)
    }
}

impl AwsApi for KmsApi {
    const SERVICE: &'static str = "kms";

    /// Each operation's own body limit (from the model); an unknown one gets the least.
    fn max_body(&self, called: Option<Called>) -> usize {
        match called {
            Some(Called::Kms(op)) => op.max_body(),
            _ => crate::UNKNOWN_OPERATION_BODY,
        }
    }

    // Not `async fn`: that future would borrow `self`, and this one is spawned ('static).
    #[allow(clippy::manual_async_fn)]
    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<Caller>,
        called: Called,
        body: Bytes,
    ) -> impl Future<Output = Dispatched> + Send + 'static {
        async move {
            match called {
                Called::Kms(op) => crate::dispatch::dispatch(&st.kms, &caller, op, &body).await,
                _ => Dispatched::refused(Failure::UnknownOperation),
            }
        }
    }
}
