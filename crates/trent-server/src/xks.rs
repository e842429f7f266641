//! The External Key Store proxy API on the port (AWS's `xks_proxy_api_spec.md` v1;
//! docs/xks.md): `POST <prefix>/kms/xks/v1/health` and `/keys/<externalKeyId>/metadata`,
//! `/encrypt`, `/decrypt`, signed with SigV4 for `kms-xks-proxy` by a credential of the
//! endpoint that owns the prefix (`trent admin create-xks-credential`). Every authenticated
//! request — success or refusal — is recorded in the endpoint account's trail with the
//! `requestMetadata` AWS sent (who in AWS, which KMS key, which KMS call and request id), so
//! that an auditor on premises sees every use AWS made of the key; never a plaintext.
//! Errors are the spec's, with its statuses and `errorName`s (`trent_types::xks::XksError`).

use crate::pipeline::{Arrival, Exchanged, Refusal, Surface};
use crate::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use trent_core::xks::{XksCaller, XksUse};
use trent_core::Clock as _;
use trent_sigv4::{check_scope_and_time, Authorization};
use trent_types::xks::{
    self as wire, DecryptRequest, EncryptRequest, MetadataOnlyRequest, RequestMetadata, XksError,
    XksOperation,
};

/// The largest body a request may have: the spec's largest (4,300 bytes of data and 8,192 of
/// AAD, in base64, with the metadata's ARNs) with room to spare.
const MAX_BODY: usize = 64 << 10;

/// What one request did, for its answer and its record.
pub(crate) struct Done {
    operation: Option<XksOperation>,
    external_key_id: Option<String>,
    metadata: Option<RequestMetadata>,
    used: XksUse,
    result: Result<Value, XksError>,
    /// The spec: a GET of an operation is 405 Method Not Allowed.
    not_allowed: bool,
}

impl Done {
    fn refused(operation: Option<XksOperation>, e: XksError) -> Self {
        Done {
            operation,
            external_key_id: None,
            metadata: None,
            used: XksUse::default(),
            result: Err(e),
            not_allowed: false,
        }
    }
}

/// An authenticated request: its endpoint and credential, where it goes under the
/// endpoint's prefix, and the Region it was signed for.
pub(crate) struct XksCall {
    caller: XksCaller,
    route: wire::XksRoute,
    region: String,
}

fn answer(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// The name a call is recorded and counted by (`eventName`, the metrics' `operation`).
fn event_name(operation: XksOperation) -> &'static str {
    match operation {
        XksOperation::GetHealthStatus => "XksGetHealthStatus",
        XksOperation::GetKeyMetadata => "XksGetKeyMetadata",
        XksOperation::Encrypt => "XksEncrypt",
        XksOperation::Decrypt => "XksDecrypt",
    }
}

/// The operation a path of this API names (`trent_types::xks::split`), whoever's prefix it
/// is under: read before authentication, as the AWS surfaces read `X-Amz-Target`.
pub(crate) fn operation_of(path: &str) -> Option<XksOperation> {
    let (prefix, _) = wire::split(path)?;
    wire::route(prefix, path)?.ok().map(|r| r.operation)
}

/// The XKS proxy API as a surface of the pipeline.
pub(crate) struct XksApi;

impl Surface for XksApi {
    type Named = XksOperation;
    type Caller = XksCall;
    type Outcome = Done;

    fn max_body(&self, _: Option<XksOperation>) -> usize {
        MAX_BODY
    }

    /// Every operation is a POST (the path was routed here already).
    fn accepts(&self, method: &Method, _: &Uri) -> bool {
        method == Method::POST
    }

    fn refused(&self, named: Option<XksOperation>, why: Refusal) -> Done {
        let e = match why {
            Refusal::Body(_) => {
                XksError::Validation("the request body is too large or was not sent in time".into())
            }
            Refusal::Request => {
                let e =
                    XksError::Validation("Method Not Allowed: XKS proxy requests are POSTs".into());
                return Done { not_allowed: true, ..Done::refused(named, e) };
            }
            Refusal::Internal(_) => XksError::Internal,
            Refusal::TimedOut => XksError::DependencyTimeout,
        };
        Done::refused(named, e)
    }

    async fn authenticate(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        method: &Method,
        uri: &Uri,
        body: &[u8],
    ) -> Result<XksCall, Done> {
        let refused = |e| Done::refused(operation_of(uri.path()), e);
        let subject = at.client_subject.cloned();
        let caller =
            authenticate(st, method, uri, at.headers, body, subject).await.map_err(refused)?;
        let route = match wire::route(&caller.endpoint.path_prefix, uri.path()) {
            Some(Ok(route)) => route,
            Some(Err(e)) => return Err(refused(e)),
            None => return Err(refused(XksError::InvalidUriPath)),
        };
        let region = at
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| Authorization::parse(h).ok())
            .map(|a| a.region.to_string())
            .unwrap_or_default();
        Ok(XksCall { caller, route, region })
    }

    fn operation(
        &self,
        call: &XksCall,
        _: Option<XksOperation>,
        _: &Uri,
    ) -> Result<XksOperation, Done> {
        Ok(call.route.operation)
    }

    /// The endpoint's request quota first (a throttled call is recorded too), then the call.
    // Not `async fn`: that future would borrow `self`, and this one is spawned ('static).
    #[allow(clippy::manual_async_fn)]
    fn run(
        &self,
        st: Arc<AppState>,
        call: Arc<XksCall>,
        _: XksOperation,
        body: Bytes,
    ) -> impl Future<Output = Done> + Send + 'static {
        async move {
            let route = call.route.clone();
            if let Err(e) = st.kms.xks_admit(&call.caller) {
                let refused = Done::refused(Some(route.operation), e);
                return Done { external_key_id: route.external_key_id, ..refused };
            }
            call_operation(&st, &call.caller, route.operation, route.external_key_id, &body).await
        }
    }

    /// Every authenticated request is recorded in the endpoint account's trail (an
    /// unauthenticated one names no account: it is logged, within the refusal budget).
    async fn record(&self, st: &Arc<AppState>, at: &mut Arrival<'_>, ex: &mut Exchanged<Self>) {
        let Some(call) = ex.caller.clone() else { return };
        let headers = at.headers.clone();
        let source_ip = at.source_ip.map(String::from);
        let ids = (at.request_id.to_string(), std::mem::take(&mut at.event_id));
        let write = move |st: Arc<AppState>, done: &Done| {
            let now = st.kms.now_ms();
            let rec = record(&call, done, (&ids, source_ip.as_deref()), &headers, now);
            async move { st.kms.record_audit(trent_core::audit::Entry::Record(rec)).await }
        };
        match ex.late.take() {
            None => {
                if let Err(e) = write(st.clone(), &ex.outcome).await {
                    tracing::error!(error = %e, "the audit record of an XKS request cannot be written");
                    if !st.audit_fail_open {
                        ex.outcome.result = Err(XksError::Internal);
                    }
                }
            }
            Some(task) => {
                let st = st.clone();
                tokio::spawn(async move {
                    let done =
                        task.await.unwrap_or_else(|_| Done::refused(None, XksError::Internal));
                    if let Err(e) = write(st.clone(), &done).await {
                        tracing::error!(error = %e, "the audit record of an XKS request cannot be written");
                    }
                });
            }
        }
    }

    fn observe(
        &self,
        st: &AppState,
        at: &Arrival<'_>,
        ex: &Exchanged<Self>,
        took: std::time::Duration,
    ) {
        let Err(e) = &ex.outcome.result else {
            if let Some(op) = ex.outcome.operation {
                st.metrics.observe_named(event_name(op), "", took);
            }
            return;
        };
        let Some(call) = &ex.caller else {
            // Anyone can make the server refuse: within the log's refusal budget, bounded.
            if let Some(left_out) = st.refusals.take() {
                let path: String = at.uri.path().chars().take(256).collect();
                let source = at.source_ip.unwrap_or("-");
                tracing::warn!(path = %path, error = e.name(), source, left_out, "refused XKS request");
            }
            return;
        };
        if let Some(op) = ex.outcome.operation {
            st.metrics.observe_named(event_name(op), e.name(), took);
        }
        if let Some(left_out) = st.refusals.take() {
            let op = ex.outcome.operation.map_or("-", XksOperation::name);
            let endpoint = &call.caller.endpoint.path_prefix;
            tracing::info!(op, endpoint = %endpoint, error = e.name(), left_out, "refused XKS call");
        }
    }

    fn respond(&self, done: Done, _: &str) -> Response {
        match done.result {
            Ok(body) => answer(200, body.to_string()),
            // The refusal made by `refused`, with the spec's 405 instead of its 400.
            Err(e) if done.not_allowed => answer(405, e.body()),
            Err(e) => answer(e.status(), e.body()),
        }
    }
}

/// Runs one operation of an authenticated caller.
async fn call_operation(
    st: &AppState,
    caller: &XksCaller,
    operation: XksOperation,
    external_key_id: Option<String>,
    body: &[u8],
) -> Done {
    let mut done = Done {
        operation: Some(operation),
        external_key_id,
        metadata: None,
        used: XksUse::default(),
        result: Ok(Value::Null),
        not_allowed: false,
    };
    let id = done.external_key_id.clone().unwrap_or_default();
    let kms = &st.kms;
    let result = async {
        match operation {
            XksOperation::GetHealthStatus | XksOperation::GetKeyMetadata => {
                let req: MetadataOnlyRequest = wire::parse(body)?;
                let m = req
                    .request_metadata
                    .ok_or_else(|| XksError::Validation("requestMetadata is required".into()))?;
                m.require(operation)?;
                done.metadata = Some(m.clone());
                if operation == XksOperation::GetHealthStatus {
                    return to_value(&kms.xks_health(caller, "trent").await);
                }
                let (out, used) = kms.xks_key_metadata(caller, &id, &m).await?;
                done.used = used;
                to_value(&out)
            }
            XksOperation::Encrypt => {
                let req: EncryptRequest = wire::parse(body)?;
                done.metadata = req.request_metadata.clone();
                let input = req.check()?;
                let (out, used) = kms.xks_encrypt(caller, &id, &input).await?;
                done.used = used;
                to_value(&out)
            }
            XksOperation::Decrypt => {
                let req: DecryptRequest = wire::parse(body)?;
                done.metadata = req.request_metadata.clone();
                let input = req.check()?;
                let (out, used) = kms.xks_decrypt(caller, &id, &input).await?;
                done.used = used;
                to_value(&out)
            }
        }
    }
    .await;
    done.result = result;
    done
}

fn to_value(v: &impl serde::Serialize) -> Result<Value, XksError> {
    serde_json::to_value(v).map_err(|_| XksError::Internal)
}

/// The record of one XKS request in the endpoint account's trail: a Trent shape
/// (`eventSource` `trent.amazonaws.com`, `eventName` `Xks<Operation>`, docs/xks.md) naming AWS
/// KMS as the caller and carrying its `requestMetadata`; never a plaintext or ciphertext.
fn record(
    call: &XksCall,
    done: &Done,
    ((request_id, event_id), source_ip): (&(String, String), Option<&str>),
    headers: &HeaderMap,
    now_ms: i64,
) -> String {
    let (caller, region) = (&call.caller, &call.region);
    let operation = done.operation.unwrap_or(call.route.operation);
    let account = &caller.endpoint.account;
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut event = json!({
        "eventVersion": "1.11",
        "userIdentity": { "type": "AWSService", "invokedBy": "kms.amazonaws.com", "accessKeyId": caller.access_key_id },
        "eventTime": trent_core::audit::event_time(now_ms),
        "eventSource": "trent.amazonaws.com",
        "eventName": event_name(operation),
        "awsRegion": region,
        "sourceIPAddress": source_ip.unwrap_or(""),
        "userAgent": trent_trail::record::client_text(user_agent),
        "requestParameters": {
            "pathPrefix": caller.endpoint.path_prefix,
            "externalKeyId": done.external_key_id,
            "requestMetadata": recorded_metadata(&done.metadata),
        },
        "responseElements": null,
        "requestID": request_id,
        "eventID": event_id,
        "readOnly": matches!(operation, XksOperation::GetHealthStatus | XksOperation::GetKeyMetadata),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    if let Some(arn) = &done.used.key_arn {
        event["resources"] = json!([{ "accountId": account, "type": "AWS::KMS::Key", "ARN": arn }]);
    }
    if let Some(m) = &done.used.material_id {
        event["additionalEventData"] = json!({ "keyMaterialId": m });
    }
    if let Err(e) = &done.result {
        event["errorCode"] = Value::from(e.name());
        event["errorMessage"] = Value::from(e.to_string());
    }
    event.to_string()
}

/// `requestMetadata` as recorded: the ARNs whole (checked to be at most 2,048 characters),
/// the other texts cut as the KMS records cut a client's text (the body may be 64 KiB).
fn recorded_metadata(m: &Option<RequestMetadata>) -> Option<RequestMetadata> {
    let cut =
        |v: &Option<String>| v.as_deref().map(|t| trent_trail::record::client_text(t).to_string());
    m.as_ref().map(|m| RequestMetadata {
        aws_principal_arn: m.aws_principal_arn.clone(),
        kms_key_arn: m.kms_key_arn.clone(),
        aws_source_vpc: cut(&m.aws_source_vpc),
        aws_source_vpce: cut(&m.aws_source_vpce),
        kms_operation: cut(&m.kms_operation),
        kms_request_id: cut(&m.kms_request_id),
        kms_via_service: cut(&m.kms_via_service),
    })
}

/// The endpoint and credential a request is signed with, or AuthenticationFailedException.
async fn authenticate(
    st: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    client_subject: Option<Arc<str>>,
) -> Result<XksCaller, XksError> {
    let failed = |why: &dyn std::fmt::Display| {
        tracing::debug!(why = %why, "XKS authentication failed");
        XksError::AuthenticationFailed
    };
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| failed(&"no Authorization header"))?;
    let auth = Authorization::parse(header).map_err(|e| failed(&e))?;
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
    let now = trent_core::SystemClock.now_ms() / 1000;
    check_scope_and_time(&auth, amz_date, wire::SIGV4_SERVICE, now).map_err(|e| failed(&e))?;
    let (caller, secret) = st
        .kms
        .xks_credential(auth.access_key_id)
        .await?
        .ok_or_else(|| failed(&"unknown access key id"))?;
    let secret = std::str::from_utf8(secret.as_bytes()).map_err(|e| failed(&e))?;
    let key = trent_sigv4::SigningKey::derive(secret, auth.date, auth.region, auth.service);
    crate::auth::verify(&auth, amz_date, (method, uri, headers, body), &key)
        .map_err(|e| failed(&e))?;
    // Mutual TLS, where the endpoint asks for it: the certificate the handshake verified
    // must name the subject the operator set (AWS KMS: cks.kms.<region>.amazonaws.com).
    if let Some(required) = &caller.endpoint.client_subject {
        if client_subject.as_deref() != Some(required.as_str()) {
            return Err(failed(&"no client certificate with the endpoint's subject"));
        }
    }
    Ok(caller)
}
