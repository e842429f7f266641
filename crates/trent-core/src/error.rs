//! `KmsError`: how an operation fails. Either an error AWS answers — its `__type`, an
//! [`ErrorCode`] generated from the service model (so every code has its HTTP status and the
//! wire mapping in `trent-server` is total), and its message — or a fault of ours, whose
//! cause is logged and never sent.

use trent_crypto::CryptoError;
use trent_store::StoreError;
use trent_types::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// An error of the API, answered as AWS answers it.
    #[error("{}: {message}", code.name())]
    Aws { code: ErrorCode, message: String },
    /// A fault of ours. The cause is logged; the client sees only a generic message. Its
    /// `Display` is the fault's whole chain, so that a log line says everything (and it is
    /// not also `source()`, which a chain printer would then say twice).
    #[error("internal error: {}", trent_types::error_chain(.0))]
    Internal(Fault),
}

impl From<Fault> for KmsError {
    fn from(f: Fault) -> Self {
        KmsError::Internal(f)
    }
}

/// A fault of ours: what failed, its cause kept as the source. Logged (with [`chain`]),
/// never sent.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("cryptography failed")]
    Crypto(#[from] CryptoError),
    #[error("a blocking task failed")]
    Task(#[from] tokio::task::JoinError),
    #[error("the response cannot be encoded")]
    Encode(#[from] serde_json::Error),
    #[error("the key policy of {arn} does not parse")]
    KeyPolicy {
        arn: String,
        #[source]
        source: crate::authz::Malformed,
    },
    #[error("the sealed material of {0} does not open")]
    SealedMaterial(String),
    #[error("the audit trail cannot be read")]
    TrailRead(#[source] crate::audit::LookupError),
    #[error("the audit record was not written")]
    Audit(#[from] crate::audit::AuditError),
    /// Something that cannot happen did: what, in words.
    #[error("{0}")]
    Broken(&'static str),
}

pub use trent_types::error_chain as chain;

impl KmsError {
    pub fn new(code: ErrorCode, message: String) -> Self {
        KmsError::Aws { code, message }
    }

    /// `ValidationException`, the most common refusal of a request that passed the model's own
    /// constraints (rules the model cannot express).
    pub fn validation(message: impl Into<String>) -> Self {
        KmsError::new(ErrorCode::ValidationException, message.into())
    }

    /// Any failure to decrypt: opaque, with an empty message, as AWS answers.
    pub fn invalid_ciphertext() -> Self {
        KmsError::new(ErrorCode::InvalidCiphertextException, String::new())
    }

    /// Verify found the signature wrong: empty message, as recorded against AWS.
    pub fn invalid_signature() -> Self {
        KmsError::new(ErrorCode::KMSInvalidSignatureException, String::new())
    }

    /// VerifyMac found the MAC wrong: empty message, as recorded against AWS.
    pub fn invalid_mac() -> Self {
        KmsError::new(ErrorCode::KMSInvalidMacException, String::new())
    }

    /// The call would have succeeded; `DryRun` was set.
    pub fn dry_run() -> Self {
        KmsError::new(
            ErrorCode::DryRunOperationException,
            "The request would have succeeded, but the DryRun option is set.".into(),
        )
    }

    /// Too many concurrent changes of one key (AWS throttles such "hot keys" too); clients
    /// retry it.
    pub fn throttling() -> Self {
        KmsError::new(
            ErrorCode::ThrottlingException,
            "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
                .into(),
        )
    }

    /// CloudTrail's throttling of LookupEvents (its own wording; the code is the same).
    pub fn throttling_lookup_events() -> Self {
        KmsError::new(ErrorCode::ThrottlingException, "Rate exceeded".into())
    }

    /// The AWS error code, `KMSInternalException` for faults of ours.
    pub fn code(&self) -> ErrorCode {
        match self {
            KmsError::Aws { code, .. } => *code,
            KmsError::Internal(_) => ErrorCode::KMSInternalException,
        }
    }

    /// The message of an API error (empty for a fault of ours: its cause is not for clients).
    pub fn message(&self) -> &str {
        match self {
            KmsError::Aws { message, .. } => message,
            KmsError::Internal(_) => "",
        }
    }
}

impl From<StoreError> for KmsError {
    fn from(e: StoreError) -> Self {
        KmsError::Internal(Fault::Store(e))
    }
}

impl From<CryptoError> for KmsError {
    fn from(e: CryptoError) -> Self {
        KmsError::Internal(Fault::Crypto(e))
    }
}

impl KmsError {
    /// A broken invariant, named.
    pub fn broken(what: &'static str) -> Self {
        KmsError::Internal(Fault::Broken(what))
    }
}
