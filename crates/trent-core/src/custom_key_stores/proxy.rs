//! Trent as a client of an External Key Store proxy (AWS's `xks_proxy_api_spec.md` v1): the
//! four calls it makes for an external key store — signed with SigV4 (`kms-xks-proxy`) under
//! the store's credential, bounded by AWS's 250 ms budget — and what each answer means. The
//! HTTPS itself is a [`XksTransport`] the binary gives (its TLS roots and addresses are the
//! operator's), so that this module decides everything but the bytes on the wire.

use async_trait::async_trait;
use std::time::Duration;
use trent_crypto::Secret;
use trent_types::xks::{b64, unb64, XksOperation, SIGV4_SERVICE};
use trent_types::ConnectionErrorCodeType as Code;

/// How long AWS KMS waits for a proxy ("XKS proxy API", timeouts: 250 ms).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// One signed POST to a proxy: `https://<host><path>` with these headers and body.
#[derive(Debug, Clone)]
pub struct XksHttpRequest {
    /// The store's `XksProxyUriEndpoint` host (no scheme, no port: AWS uses 443).
    pub host: String,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What the proxy answered.
#[derive(Debug, Clone)]
pub struct XksHttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the proxy could not be reached: {0}")]
    Unreachable(String),
    #[error("the TLS connection to the proxy failed: {0}")]
    Tls(String),
}

/// HTTPS to XKS proxies (the binary's: `crates/trent/src/xks_client.rs`).
#[async_trait]
pub trait XksTransport: Send + Sync {
    async fn post(&self, request: XksHttpRequest) -> Result<XksHttpResponse, TransportError>;
}

/// No transport given (a library user, a test): every proxy is unreachable.
pub struct NoTransport;

#[async_trait]
impl XksTransport for NoTransport {
    async fn post(&self, _: XksHttpRequest) -> Result<XksHttpResponse, TransportError> {
        Err(TransportError::Unreachable("this server has no XKS client".into()))
    }
}

/// Why a call to a proxy failed, by what AWS KMS distinguishes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProxyFailure {
    #[error("the proxy did not answer within {0} ms")]
    TimedOut(u128),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Tls(String),
    /// 401/403 AuthenticationFailedException: the credential is wrong.
    #[error("the proxy rejected the proxy authentication credential")]
    Authentication,
    /// 403 AccessDeniedException: the proxy's authorization refused the caller.
    #[error("the proxy denied access to the external key")]
    AccessDenied,
    /// 404 InvalidUriPathException: the store's URI path is wrong.
    #[error("the proxy does not serve the XKS API at this URI path")]
    InvalidUriPath,
    /// 404 KeyNotFoundException.
    #[error("the proxy could not find the external key")]
    KeyNotFound,
    /// 400 InvalidStateException: the external key is disabled (or the key manager is).
    #[error("the external key is disabled or unavailable in the external key manager")]
    KeyInvalidState,
    /// 400 InvalidKeyUsageException.
    #[error("the external key does not allow this operation")]
    KeyUsage,
    /// 400 InvalidCiphertextException.
    #[error("the proxy could not decrypt the ciphertext")]
    InvalidCiphertext,
    /// 429 ThrottlingException.
    #[error("the proxy is throttling requests")]
    Throttled,
    /// Any other error the proxy named (500 InternalException, 501, 400 ValidationException).
    #[error("the proxy failed: {0}")]
    Proxy(String),
    /// An answer that is not the spec's (a wrong shape, a wrong integrity value).
    #[error("the proxy's response is not valid: {0}")]
    InvalidResponse(&'static str),
}

impl ProxyFailure {
    /// `ConnectionErrorCode` of a connection attempt that failed so (DescribeCustomKeyStores;
    /// "How to fix a connection failure", AWS KMS developer guide).
    pub(crate) fn connection_error(&self) -> Code {
        match self {
            ProxyFailure::TimedOut(_) => Code::XksProxyTimedOut,
            ProxyFailure::Unreachable(_) => Code::XksProxyNotReachable,
            ProxyFailure::Tls(_) => Code::XksProxyInvalidTlsConfiguration,
            ProxyFailure::Authentication => Code::InvalidCredentials,
            ProxyFailure::AccessDenied => Code::XksProxyAccessDenied,
            ProxyFailure::InvalidUriPath => Code::XksProxyInvalidConfiguration,
            ProxyFailure::InvalidResponse(_) => Code::XksProxyInvalidResponse,
            ProxyFailure::Throttled | ProxyFailure::Proxy(_) => Code::InternalError,
            ProxyFailure::KeyNotFound
            | ProxyFailure::KeyInvalidState
            | ProxyFailure::KeyUsage
            | ProxyFailure::InvalidCiphertext => Code::XksProxyInvalidResponse,
        }
    }
}

/// Where and as whom Trent calls a proxy: a store's endpoint, path and credential.
pub(crate) struct ProxyTarget<'a> {
    pub host: &'a str,
    pub uri_path: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret: &'a Secret,
}

/// `requestMetadata` of a call made for a KMS request.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallMetadata {
    pub principal_arn: Option<String>,
    pub key_arn: Option<String>,
    pub operation: String,
    pub request_id: String,
}

impl CallMetadata {
    fn json(&self) -> serde_json::Value {
        let mut m = serde_json::json!({
            "kmsOperation": self.operation,
            "kmsRequestId": self.request_id,
        });
        if let Some(p) = &self.principal_arn {
            m["awsPrincipalArn"] = p.clone().into();
        }
        if let Some(k) = &self.key_arn {
            m["kmsKeyArn"] = k.clone().into();
        }
        m
    }
}

/// The external key's metadata (GetKeyMetadata).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExternalKey {
    pub key_spec: String,
    pub key_usage: Vec<String>,
    pub key_status: String,
}

impl ExternalKey {
    /// What CreateKey requires of an external key: AES-256, enabled, encrypting and decrypting.
    pub(crate) fn usable(&self) -> bool {
        self.key_spec == "AES_256"
            && self.key_status == "ENABLED"
            && ["ENCRYPT", "DECRYPT"].iter().all(|u| self.key_usage.iter().any(|k| k == u))
    }
}

/// What the proxy's Encrypt returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExternalCiphertext {
    pub ciphertext: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub metadata: Vec<u8>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptAnswer {
    ciphertext: String,
    #[serde(default)]
    ciphertext_metadata: Option<String>,
    initialization_vector: String,
    authentication_tag: String,
    #[serde(default)]
    ciphertext_data_integrity_value: Option<String>,
}

#[derive(serde::Deserialize)]
struct DecryptAnswer {
    plaintext: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthAnswer {
    #[serde(default)]
    ekm_fleet_details: Vec<FleetMember>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FleetMember {
    health_status: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorAnswer {
    error_name: String,
}

/// A proxy client: a transport and the time each call may take.
pub(crate) struct Proxy<'a> {
    pub transport: &'a dyn XksTransport,
    pub timeout: Duration,
    pub now_ms: i64,
}

impl Proxy<'_> {
    async fn call(
        &self,
        to: &ProxyTarget<'_>,
        operation: XksOperation,
        external_key_id: Option<&str>,
        body: serde_json::Value,
    ) -> Result<Vec<u8>, ProxyFailure> {
        let base = to.uri_path.trim_end_matches('/');
        let path = match external_key_id {
            Some(id) => format!("{base}/keys/{id}/{}", operation.segment()),
            None => format!("{base}/{}", operation.segment()),
        };
        let body = body.to_string().into_bytes();
        let request = sign(to, path, body, self.now_ms);
        let answer = tokio::time::timeout(self.timeout, self.transport.post(request)).await;
        let answer = match answer {
            Err(_) => return Err(ProxyFailure::TimedOut(self.timeout.as_millis())),
            Ok(Err(TransportError::Unreachable(why))) => {
                return Err(ProxyFailure::Unreachable(why))
            }
            Ok(Err(TransportError::Tls(why))) => return Err(ProxyFailure::Tls(why)),
            Ok(Ok(a)) => a,
        };
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let name = serde_json::from_slice::<ErrorAnswer>(&answer.body).map(|e| e.error_name);
        Err(match (answer.status, name.as_deref()) {
            (401, _) | (403, Ok("AuthenticationFailedException")) => ProxyFailure::Authentication,
            (403, _) => ProxyFailure::AccessDenied,
            (404, Ok("KeyNotFoundException")) => ProxyFailure::KeyNotFound,
            (404, _) => ProxyFailure::InvalidUriPath,
            (400, Ok("InvalidStateException")) => ProxyFailure::KeyInvalidState,
            (400, Ok("InvalidKeyUsageException")) => ProxyFailure::KeyUsage,
            (400, Ok("InvalidCiphertextException")) => ProxyFailure::InvalidCiphertext,
            (429, _) => ProxyFailure::Throttled,
            (status, Ok(name)) => ProxyFailure::Proxy(format!("HTTP {status} {name}")),
            (status, Err(_)) => ProxyFailure::Proxy(format!("HTTP {status}")),
        })
    }

    /// GetHealthStatus: the proxy answers, and at least one key manager instance is not
    /// `UNAVAILABLE` (else AWS reports the proxy unreachable).
    pub(crate) async fn health(
        &self,
        to: &ProxyTarget<'_>,
        m: &CallMetadata,
    ) -> Result<(), ProxyFailure> {
        let body = serde_json::json!({ "requestMetadata": m.json() });
        let answer = self.call(to, XksOperation::GetHealthStatus, None, body).await?;
        let h: HealthAnswer = serde_json::from_slice(&answer)
            .map_err(|_| ProxyFailure::InvalidResponse("GetHealthStatus"))?;
        if !h.ekm_fleet_details.is_empty()
            && h.ekm_fleet_details.iter().all(|f| f.health_status == "UNAVAILABLE")
        {
            return Err(ProxyFailure::Unreachable(
                "every external key manager instance is unavailable".into(),
            ));
        }
        Ok(())
    }

    pub(crate) async fn key_metadata(
        &self,
        to: &ProxyTarget<'_>,
        external_key_id: &str,
        m: &CallMetadata,
    ) -> Result<ExternalKey, ProxyFailure> {
        let body = serde_json::json!({ "requestMetadata": m.json() });
        let answer =
            self.call(to, XksOperation::GetKeyMetadata, Some(external_key_id), body).await?;
        serde_json::from_slice(&answer).map_err(|_| ProxyFailure::InvalidResponse("GetKeyMetadata"))
    }

    /// Encrypt with `aad`, asking for the integrity value and checking it (Appendix C).
    pub(crate) async fn encrypt(
        &self,
        to: &ProxyTarget<'_>,
        external_key_id: &str,
        plaintext: &[u8],
        aad: &[u8],
        m: &CallMetadata,
    ) -> Result<ExternalCiphertext, ProxyFailure> {
        let body = serde_json::json!({
            "requestMetadata": m.json(),
            "plaintext": b64(plaintext),
            "encryptionAlgorithm": "AES_GCM",
            "additionalAuthenticatedData": b64(aad),
            "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
        });
        let answer = self.call(to, XksOperation::Encrypt, Some(external_key_id), body).await?;
        let bad = || ProxyFailure::InvalidResponse("Encrypt");
        let e: EncryptAnswer = serde_json::from_slice(&answer).map_err(|_| bad())?;
        let field = |t: &str| unb64(t).ok_or_else(bad);
        let out = ExternalCiphertext {
            ciphertext: field(&e.ciphertext)?,
            iv: field(&e.initialization_vector)?,
            tag: field(&e.authentication_tag)?,
            metadata: e.ciphertext_metadata.as_deref().map(field).transpose()?.unwrap_or_default(),
        };
        // The spec's sizes: an IV of 12 or 16 bytes, a 16-byte tag, at most 20 bytes of
        // metadata, and as many ciphertext bytes as plaintext (GCM).
        let sized = matches!(out.iv.len(), 12 | 16)
            && out.tag.len() == 16
            && out.metadata.len() <= trent_types::xks::MAX_METADATA
            && out.ciphertext.len() == plaintext.len();
        if !sized {
            return Err(bad());
        }
        let expected = trent_crypto::xks::integrity_value(
            aad,
            &out.metadata,
            &out.iv,
            &out.ciphertext,
            &out.tag,
        );
        let given = e.ciphertext_data_integrity_value.as_deref().map(field).transpose()?;
        match given {
            Some(v) if trent_crypto::constant_time_eq(&v, &expected) => Ok(out),
            _ => Err(ProxyFailure::InvalidResponse("the ciphertext data integrity value")),
        }
    }

    pub(crate) async fn decrypt(
        &self,
        to: &ProxyTarget<'_>,
        external_key_id: &str,
        c: &ExternalCiphertext,
        aad: &[u8],
        m: &CallMetadata,
    ) -> Result<Secret, ProxyFailure> {
        let mut body = serde_json::json!({
            "requestMetadata": m.json(),
            "ciphertext": b64(&c.ciphertext),
            "encryptionAlgorithm": "AES_GCM",
            "additionalAuthenticatedData": b64(aad),
            "initializationVector": b64(&c.iv),
            "authenticationTag": b64(&c.tag),
        });
        if !c.metadata.is_empty() {
            body["ciphertextMetadata"] = b64(&c.metadata).into();
        }
        let answer = self.call(to, XksOperation::Decrypt, Some(external_key_id), body).await?;
        let bad = || ProxyFailure::InvalidResponse("Decrypt");
        let d: DecryptAnswer = serde_json::from_slice(&answer).map_err(|_| bad())?;
        let plaintext = Secret::new(unb64(&d.plaintext).ok_or_else(bad)?);
        if plaintext.as_bytes().len() != c.ciphertext.len() {
            return Err(bad());
        }
        Ok(plaintext)
    }
}

/// The request signed as AWS KMS signs it: SigV4, service `kms-xks-proxy`, the store's
/// Region, over `host`, `x-amz-date`, `content-type` and the body's hash.
fn sign(to: &ProxyTarget<'_>, path: String, body: Vec<u8>, now_ms: i64) -> XksHttpRequest {
    let amz_date = trent_sigv4::format_amz_date(now_ms / 1000);
    let content_type = "application/json";
    let headers: [(&str, &[u8]); 3] = [
        ("content-type", content_type.as_bytes()),
        ("host", to.host.as_bytes()),
        ("x-amz-date", amz_date.as_bytes()),
    ];
    let input = trent_sigv4::CanonicalInput {
        method: "POST",
        path: &path,
        query: "",
        headers: &headers,
        body: &body,
    };
    let date = &amz_date[..8];
    let secret = String::from_utf8_lossy(to.secret.as_bytes());
    let key = trent_sigv4::SigningKey::derive(&secret, date, to.region, SIGV4_SERVICE);
    let authorization = trent_sigv4::sign_request(
        &input,
        "content-type;host;x-amz-date",
        to.access_key_id,
        &key,
        &amz_date,
        to.region,
        SIGV4_SERVICE,
    );
    XksHttpRequest {
        host: to.host.to_string(),
        path,
        headers: vec![
            ("content-type", content_type.to_string()),
            ("x-amz-date", amz_date),
            ("authorization", authorization),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_verifies_as_the_proxy_checks_it() {
        let secret = Secret::from_slice(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYXKS1");
        let to = ProxyTarget {
            host: "xks.example.com",
            uri_path: "/tenant/kms/xks/v1",
            region: "us-east-1",
            access_key_id: "AKIAXKSEXAMPLEXKS2345",
            secret: &secret,
        };
        let r = sign(&to, "/tenant/kms/xks/v1/health".into(), b"{}".to_vec(), 1_700_000_000_000);
        let auth = r.headers.iter().find(|(n, _)| *n == "authorization").unwrap().1.clone();
        let parsed = trent_sigv4::Authorization::parse(&auth).unwrap();
        assert_eq!(parsed.service, SIGV4_SERVICE);
        let date = &r.headers[1].1;
        let headers: [(&str, &[u8]); 3] = [
            ("content-type", b"application/json"),
            ("host", b"xks.example.com"),
            ("x-amz-date", date.as_bytes()),
        ];
        let input = trent_sigv4::CanonicalInput {
            method: "POST",
            path: &r.path,
            query: "",
            headers: &headers,
            body: &r.body,
        };
        let key = trent_sigv4::SigningKey::derive(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYXKS1",
            &date[..8],
            "us-east-1",
            SIGV4_SERVICE,
        );
        trent_sigv4::verify_signature(&parsed, date, &input, &key).unwrap();
    }

    #[test]
    fn every_failure_has_a_connection_error_code() {
        let all = [
            ProxyFailure::TimedOut(250),
            ProxyFailure::Unreachable(String::new()),
            ProxyFailure::Tls(String::new()),
            ProxyFailure::Authentication,
            ProxyFailure::AccessDenied,
            ProxyFailure::InvalidUriPath,
            ProxyFailure::InvalidResponse("x"),
        ];
        let codes: Vec<&str> = all.iter().map(|f| f.connection_error().as_str()).collect();
        assert_eq!(
            codes,
            [
                "XKS_PROXY_TIMED_OUT",
                "XKS_PROXY_NOT_REACHABLE",
                "XKS_PROXY_INVALID_TLS_CONFIGURATION",
                "INVALID_CREDENTIALS",
                "XKS_PROXY_ACCESS_DENIED",
                "XKS_PROXY_INVALID_CONFIGURATION",
                "XKS_PROXY_INVALID_RESPONSE",
            ]
        );
    }
}
