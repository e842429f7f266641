//! The one mapping from every failure (authentication, decoding, domain) to AWS's wire
//! error: `{"__type": ..., "message": ...}` with the status AWS uses. Internal causes are
//! logged here and never sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use trent_core::KmsError;
use trent_sigv4::SigV4Error;
use trent_types::{DecodeError, ErrorCode};

#[derive(Debug)]
pub enum Failure {
    Auth(SigV4Error),
    /// The access key id is not known.
    UnrecognizedClient,
    UnknownOperation,
    TooLarge,
    /// The body did not arrive within the body timeout.
    RequestTimeout,
    Decode(DecodeError),
    Kms(KmsError),
    /// A refusal in the words of a surface's own API (CloudTrail's `InvalidNextTokenException`,
    /// say), which the KMS model does not list: HTTP 400.
    Refused {
        code: &'static str,
        message: String,
    },
}

impl From<KmsError> for Failure {
    fn from(e: KmsError) -> Self {
        Failure::Kms(e)
    }
}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Self {
        Failure::Decode(e)
    }
}

impl From<SigV4Error> for Failure {
    fn from(e: SigV4Error) -> Self {
        Failure::Auth(e)
    }
}

/// The body of every error Trent answers, on every surface: `{"__type": …, "message": …}`
/// (no `message` when there is none to give, as AWS answers UnknownOperationException).
pub(crate) fn envelope_body(code: &str, message: &str) -> String {
    if message.is_empty() {
        serde_json::json!({ "__type": code }).to_string()
    } else {
        serde_json::json!({ "__type": code, "message": message }).to_string()
    }
}

/// An error answer: the envelope with its status, the JSON 1.1 content type and the request
/// id when there is one.
pub(crate) fn envelope(
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: Option<&str>,
) -> Response {
    let mut resp = (status, envelope_body(code, message)).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Some(v) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

const INTERNAL_MESSAGE: &str = "We encountered an internal error. Please try again.";

/// A failure as the client sees it: status, `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// The AWS error type, status and client-facing message of a failure.
pub fn to_wire(f: &Failure) -> Wire {
    if let Failure::Refused { code, message } = f {
        return Wire { status: 400, code, message: message.clone() };
    }
    let (code, message) = model_error(f);
    Wire { status: code.http_status(), code: code.name(), message }
}

/// A failure's error of the KMS model (or of its protocol).
fn model_error(f: &Failure) -> (ErrorCode, String) {
    use ErrorCode as C;
    match f {
        Failure::Auth(SigV4Error::Missing) => {
            (C::MissingAuthenticationTokenException, "Missing Authentication Token".into())
        }
        Failure::Auth(SigV4Error::Incomplete(m)) => (C::IncompleteSignatureException, m.clone()),
        Failure::Auth(SigV4Error::Invalid(m)) => (C::InvalidSignatureException, m.clone()),
        Failure::UnrecognizedClient => (
            C::UnrecognizedClientException,
            "The security token included in the request is invalid.".into(),
        ),
        Failure::UnknownOperation => (C::UnknownOperationException, String::new()),
        Failure::TooLarge => (C::RequestEntityTooLargeException, "Request entity too large".into()),
        Failure::RequestTimeout => {
            (C::RequestTimeoutException, "The request body did not arrive in time.".into())
        }
        Failure::Decode(DecodeError::Serialization(m)) => (C::SerializationException, m.clone()),
        Failure::Decode(DecodeError::Validation(m)) => (C::ValidationException, m.clone()),
        // The code comes from the model with its status: nothing to map arm by arm.
        Failure::Kms(KmsError::Aws { code, message }) => (*code, message.clone()),
        Failure::Kms(KmsError::Internal(_)) => (C::KMSInternalException, INTERNAL_MESSAGE.into()),
        // Answered by `to_wire` before it asks the model.
        Failure::Refused { .. } => (C::ValidationException, String::new()),
    }
}

impl Failure {
    /// Whether the request was refused because it could not be authenticated.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Failure::Auth(_) | Failure::UnrecognizedClient)
    }

    /// What the log says: the wire text, or for internal failures the cause.
    pub fn log_text(&self) -> String {
        match self {
            Failure::Kms(KmsError::Internal(cause)) => {
                format!("KMSInternalException: {}", trent_core::chain(cause))
            }
            other => {
                let w = to_wire(other);
                format!("{}: {}", w.code, w.message)
            }
        }
    }

    pub fn into_response(self, request_id: &str) -> Response {
        if let Failure::Kms(KmsError::Internal(cause)) = &self {
            tracing::error!(id = %request_id, cause = %trent_core::chain(cause), "internal error");
        }
        let w = to_wire(&self);
        let status = StatusCode::from_u16(w.status).unwrap_or(StatusCode::BAD_REQUEST);
        envelope(status, w.code, &w.message, Some(request_id))
    }
}
