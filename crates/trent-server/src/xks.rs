//! The External Key Store proxy API on the port (AWS's `xks_proxy_api_spec.md` v1;
//! docs/xks.md): `POST <prefix>/kms/xks/v1/health` and `/keys/<externalKeyId>/metadata`,
//! `/encrypt`, `/decrypt`, signed with SigV4 for `kms-xks-proxy` by a credential of the
//! endpoint that owns the prefix (`trent admin create-xks-credential`). Every authenticated
//! request — success or refusal — is recorded in the endpoint account's trail with the
//! `requestMetadata` AWS sent (who in AWS, which KMS key, which KMS call and request id), so
//! that an auditor on premises sees every use AWS made of the key; never a plaintext.
//! Errors are the spec's, with its statuses and `errorName`s (`trent_types::xks::XksError`).

use crate::{listener, AppState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
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

/// What one request did, for its record.
struct Done {
    operation: XksOperation,
    external_key_id: Option<String>,
    metadata: Option<RequestMetadata>,
    used: XksUse,
    result: Result<Value, XksError>,
}

fn answer(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn error(e: &XksError) -> Response {
    answer(e.status(), e.body())
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

/// Serves one request whose path is of this API (`trent_types::xks::split`).
/// What the connection a request came on says of it.
pub(crate) struct Connection {
    pub source_ip: Option<String>,
    /// The subject (CN) of the client certificate TLS verified, if any.
    pub client_subject: Option<Arc<str>>,
    pub watch: Option<listener::BodyWatch>,
}

pub(crate) async fn serve(
    st: &Arc<AppState>,
    connection: Connection,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Connection { source_ip, client_subject, watch } = connection;
    let arrived = std::time::Instant::now();
    let body = match crate::read_body(&st.limits, body, MAX_BODY, watch.as_ref()).await {
        Ok(body) => body,
        Err(_) => {
            return error(&XksError::Validation(
                "the request body is too large or was not sent in time".into(),
            ))
        }
    };
    // The spec: every operation is a POST, and a GET of one is 405 Method Not Allowed.
    if method != Method::POST {
        let e = XksError::Validation("Method Not Allowed: XKS proxy requests are POSTs".into());
        return answer(405, e.body());
    }
    let caller = match authenticate(st, &method, &uri, &headers, &body, client_subject).await {
        Ok(caller) => caller,
        Err(e) => {
            // Anyone can make the server refuse: within the log's refusal budget, bounded.
            if let Some(left_out) = st.refusals.take() {
                let path: String = uri.path().chars().take(256).collect();
                let source = source_ip.as_deref().unwrap_or("-");
                tracing::warn!(path = %path, error = e.name(), source, left_out, "refused XKS request");
            }
            return error(&e);
        }
    };
    let region = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|h| Authorization::parse(h).ok())
        .map(|a| a.region.to_string())
        .unwrap_or_default();
    let route = match wire::route(&caller.endpoint.path_prefix, uri.path()) {
        Some(Ok(route)) => route,
        Some(Err(e)) => return error(&e),
        None => return error(&XksError::InvalidUriPath),
    };
    // The call and its record run on a task of their own: a client that hangs up cannot cut
    // the record of a call that ran.
    let task = {
        let (st, caller, body) = (st.clone(), caller.clone(), body.clone());
        let (headers, source_ip) = (headers.clone(), source_ip.clone());
        async move {
            let done = run(&st, &caller, route, &body).await;
            let now = st.kms.now_ms();
            let record = record(&caller, &done, &region, source_ip.as_deref(), &headers, now);
            let written = st.kms.record_audit(trent_core::audit::Entry::Record(record)).await;
            (done, written)
        }
    };
    let (done, written) = match tokio::spawn(task).await {
        Ok(finished) => finished,
        Err(_) => return error(&XksError::Internal),
    };
    if let Err(e) = &written {
        tracing::error!(error = %e, "the audit record of an XKS request cannot be written");
        if !st.audit_fail_open {
            return error(&XksError::Internal);
        }
    }
    let code = done.result.as_ref().err().map_or("", XksError::name);
    st.metrics.observe_named(event_name(done.operation), code, arrived.elapsed());
    match done.result {
        Ok(body) => answer(200, body.to_string()),
        Err(e) => {
            if let Some(left_out) = st.refusals.take() {
                let op = done.operation.name();
                let endpoint = &caller.endpoint.path_prefix;
                tracing::info!(op, endpoint = %endpoint, error = e.name(), left_out, "refused XKS call");
            }
            error(&e)
        }
    }
}

/// Runs the operation `route` names, within the request timeout, unless the trail cannot be
/// written (fail-closed, as for every API of the port).
async fn run(st: &AppState, caller: &XksCaller, route: wire::XksRoute, body: &[u8]) -> Done {
    let refused = |e: XksError| Done {
        operation: route.operation,
        external_key_id: route.external_key_id.clone(),
        metadata: None,
        used: XksUse::default(),
        result: Err(e),
    };
    if let Err(e) = st.kms.xks_admit(caller) {
        return refused(e);
    }
    if !st.audit_fail_open && st.audit_failing.load(std::sync::atomic::Ordering::Relaxed) {
        return refused(XksError::Internal);
    }
    let call = call(st, caller, route.operation, route.external_key_id.clone(), body);
    match tokio::time::timeout(st.limits.request_timeout, call).await {
        Ok(done) => done,
        Err(_) => refused(XksError::DependencyTimeout),
    }
}

/// Runs one operation of an authenticated caller.
async fn call(
    st: &AppState,
    caller: &XksCaller,
    operation: XksOperation,
    external_key_id: Option<String>,
    body: &[u8],
) -> Done {
    let mut done = Done {
        operation,
        external_key_id,
        metadata: None,
        used: XksUse::default(),
        result: Ok(Value::Null),
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
    caller: &XksCaller,
    done: &Done,
    region: &str,
    source_ip: Option<&str>,
    headers: &HeaderMap,
    now_ms: i64,
) -> String {
    let (request_id, event_id) = trent_crypto::new_id_pair().unwrap_or_default();
    let account = &caller.endpoint.account;
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut event = json!({
        "eventVersion": "1.11",
        "userIdentity": { "type": "AWSService", "invokedBy": "kms.amazonaws.com", "accessKeyId": caller.access_key_id },
        "eventTime": trent_core::audit::event_time(now_ms),
        "eventSource": "trent.amazonaws.com",
        "eventName": event_name(done.operation),
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
        "readOnly": matches!(done.operation, XksOperation::GetHealthStatus | XksOperation::GetKeyMetadata),
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
