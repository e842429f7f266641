//! Wire shapes of the AWS KMS JSON 1.1 API: typed requests and responses (generated from the
//! public service model), blobs, timestamps, and member validation with AWS's messages.
//! Pure: no I/O.

pub mod absent;
pub mod blob;
pub mod enum_order;
#[rustfmt::skip]
pub mod generated;
pub mod operations;
pub mod timestamp;
pub mod trail;
pub mod validate;
pub mod xks;

pub use blob::Blob;
pub use generated::*;
pub use operations::{OperationSpec, Resources};
pub use timestamp::Timestamp;
pub use validate::{Errors, MemberPath};

/// A request body that could not be read as the operation's input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    /// Not JSON, or a member of the wrong JSON type, or a blob that is not base64: AWS answers
    /// these with `SerializationException`.
    #[error("{0}")]
    Serialization(String),
    /// A constraint of the model failed: `ValidationException` with the Coral message.
    #[error("{0}")]
    Validation(String),
}

/// Decodes and validates a request body into the typed input `T` via its wire form `W`.
pub fn decode<W, T>(
    body: &[u8],
    convert: impl FnOnce(W, &MemberPath, &mut Errors) -> Option<T>,
) -> Result<T, DecodeError>
where
    W: serde::de::DeserializeOwned + Default,
{
    // An empty body is an empty input, as botocore sends `{}` but raw clients may send nothing.
    let wire: W = if body.iter().all(|b| b.is_ascii_whitespace()) {
        W::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| DecodeError::Serialization(serialization_message(&e)))?
    };
    let mut errs = Errors::default();
    let out = convert(wire, &MemberPath::root(), &mut errs);
    match (errs.into_message(), out) {
        (Some(msg), _) => Err(DecodeError::Validation(msg)),
        (None, Some(v)) => Ok(v),
        (None, None) => Err(DecodeError::Validation("1 validation error detected".into())),
    }
}

/// Encodes an operation's output as its response body: empty for an output without members
/// (AWS answers those with an empty body). The buffer starts large enough for the common
/// answers (an Encrypt of 1 KiB is 1.7 KB), which serde_json's 128 bytes would regrow and
/// copy four times.
pub fn encode<T: serde::Serialize>(output: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = Vec::with_capacity(2048);
    serde_json::to_writer(&mut body, output)?;
    if body == b"null" {
        body.clear();
    }
    Ok(body)
}

fn serialization_message(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        // AWS says only this for a body it cannot parse; the details stay in our log.
        Category::Syntax | Category::Eof | Category::Io => {
            "Start of structure or map found where not expected.".into()
        }
        Category::Data => {
            let s = e.to_string();
            // serde_json appends " at line L column C"; the message is for the client.
            match s.rfind(" at line ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// An error and its causes, `: `-joined: what a log line or a top-level error's `Display`
/// shows of a fault whose causes are kept as typed sources. A cause whose text the previous
/// one already ends with is not said again (some libraries put their cause in their own
/// message too).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}
