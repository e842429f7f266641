//! Authentication of each request: SigV4 against the access keys in the store (the derived
//! signing keys are cached by `Authentication::signing_identity`), or the explicit
//! `accept-any` mode that maps any access key to the default account.

use crate::error::Failure;
use axum::http::{HeaderMap, Method, Uri};
use std::sync::Arc;
use trent_core::{Caller, Clock, Kms, SystemClock};
use trent_sigv4::{
    check_scope_and_time, verify_signature, Authorization, CanonicalInput, SigV4Error,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request must carry a valid SigV4 signature of a known access key.
    SigV4,
    /// Any access key is accepted as the default account's root (LocalStack-style CI use).
    AcceptAny,
}

const DEFAULT_REGION: &str = "us-east-1";

pub struct Authenticator {
    kms: Arc<Kms>,
    mode: AuthMode,
    default_account: String,
    /// Whether every connection is TLS (`aws:SecureTransport`).
    pub(crate) secure_transport: bool,
}

impl Authenticator {
    pub fn new(kms: Arc<Kms>, mode: AuthMode, default_account: String) -> Self {
        Authenticator { kms, mode, default_account, secure_transport: false }
    }

    /// Authenticates a request signed for `service` (`kms`, or `cloudtrail` for LookupEvents).
    pub async fn authenticate(
        &self,
        service: &str,
        source_ip: Option<String>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Caller, Failure> {
        let header = headers.get("authorization").map(|v| {
            v.to_str().map_err(|_| {
                Failure::Auth(SigV4Error::Incomplete(
                    "Authorization header is not valid text.".into(),
                ))
            })
        });
        if self.mode == AuthMode::AcceptAny {
            // Take the access key and Region from the header when there is one; never check.
            let parsed = header.and_then(|h| h.ok()).and_then(|h| Authorization::parse(h).ok());
            let (akid, region) = parsed
                .map(|a| (a.access_key_id.to_string(), a.region.to_string()))
                .unwrap_or_else(|| ("anonymous".into(), DEFAULT_REGION.into()));
            return Ok(Caller {
                principal_arn: format!(
                    "arn:{}:iam::{}:root",
                    trent_core::partition_of(&region),
                    self.default_account
                ),
                account: self.default_account.clone(),
                region,
                access_key_id: akid,
                source_ip,
                secure_transport: self.secure_transport,
                quota: Default::default(),
            });
        }
        let header = header.ok_or(Failure::Auth(SigV4Error::Missing))??;
        let auth = Authorization::parse(header)?;
        let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
        let now = SystemClock.now_ms() / 1000;
        check_scope_and_time(&auth, amz_date, service, now)?;
        // Trent issues no session credentials, so every session token is an invalid one (as
        // AWS answers for a token it did not issue).
        if headers.contains_key("x-amz-security-token") {
            return Err(Failure::UnrecognizedClient);
        }
        let known = self
            .kms
            .authentication()
            .signing_identity(auth.access_key_id, auth.date, auth.region, auth.service)
            .await?
            .ok_or(Failure::UnrecognizedClient)?;
        verify(&auth, amz_date, (method, uri, headers, body), &known.key)?;
        Ok(Caller {
            account: known.account.clone(),
            region: auth.region.to_string(),
            principal_arn: known.principal_arn.clone(),
            access_key_id: auth.access_key_id.to_string(),
            source_ip,
            secure_transport: self.secure_transport,
            quota: known.quota.clone(),
        })
    }
}

/// Checks a request's signature with `key` (every API of the port signs the same way).
pub(crate) fn verify(
    auth: &Authorization<'_>,
    amz_date: Option<&str>,
    (method, uri, headers, body): (&Method, &Uri, &HeaderMap, &[u8]),
    key: &trent_sigv4::SigningKey,
) -> Result<(), SigV4Error> {
    let pairs: Vec<(&str, &[u8])> =
        headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
    let input = CanonicalInput {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &pairs,
        body,
    };
    verify_signature(auth, amz_date.unwrap_or(""), &input, key)
}
