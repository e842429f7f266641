//! `KmsError`: every way an operation can fail, named after the AWS error it becomes. The
//! mapping to `__type` and HTTP status lives in `trent-server` (one function).

use trent_crypto::CryptoError;
use trent_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Disabled(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// Any failure to decrypt: opaque, with an empty message, as AWS answers.
    #[error("")]
    InvalidCiphertext,
    #[error("{0}")]
    IncorrectKey(String),
    /// Verify found the signature wrong: empty message, as recorded against AWS.
    #[error("")]
    InvalidSignature,
    /// VerifyMac found the MAC wrong: empty message, as recorded against AWS.
    #[error("")]
    InvalidMac,
    #[error("{0}")]
    InvalidKeyUsage(String),
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    #[error("{0}")]
    InvalidImportToken(String),
    #[error("{0}")]
    ExpiredImportToken(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    Tag(String),
    #[error("{0}")]
    InvalidMarker(String),
    #[error("{0}")]
    InvalidGrantToken(String),
    #[error("{0}")]
    NotAuthorized(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    CustomKeyStoreNotFound(String),
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    /// Too many concurrent changes of one key (AWS throttles such "hot keys" too); clients
    /// retry it.
    #[error(
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
    )]
    Throttling,
    /// A fault of ours. The cause is logged; the client sees only a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for KmsError {
    fn from(e: StoreError) -> Self {
        KmsError::Internal(format!("store: {e}"))
    }
}

impl From<CryptoError> for KmsError {
    fn from(e: CryptoError) -> Self {
        KmsError::Internal(format!("crypto: {e}"))
    }
}
