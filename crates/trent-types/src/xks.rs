//! The External Key Store proxy API's wire (AWS's `xks_proxy_api_spec.md`, v1): the four
//! operations' routes under a URI path prefix, their JSON bodies, what a valid request is
//! (the sizes the spec says a proxy MUST accept and the ones it may refuse), and the errors
//! — each with the HTTP status and `errorName` the spec's "Error codes" table gives it, in
//! this one place. Pure: no I/O, no cryptography (`trent_crypto::xks`).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The spec's version segment: every route is `<prefix>/kms/xks/v1/...`.
pub const API_ROOT: &str = "kms/xks/v1";
/// The SigV4 service name KMS signs XKS requests for (Appendix A).
pub const SIGV4_SERVICE: &str = "kms-xks-proxy";
/// Plaintext (Encrypt) and ciphertext (Decrypt) the proxy MUST handle: 4,300 bytes.
pub const MAX_DATA: usize = 4300;
/// AAD the proxy MUST handle: 8,192 bytes.
pub const MAX_AAD: usize = 8192;
/// `ciphertextMetadata`: at most 20 bytes.
pub const MAX_METADATA: usize = 20;
/// An `errorMessage`: fewer than 512 printable ASCII characters.
const MAX_ERROR_MESSAGE: usize = 511;

/// One of the four operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XksOperation {
    GetHealthStatus,
    GetKeyMetadata,
    Encrypt,
    Decrypt,
}

impl XksOperation {
    pub const ALL: [XksOperation; 4] = [
        XksOperation::GetHealthStatus,
        XksOperation::GetKeyMetadata,
        XksOperation::Encrypt,
        XksOperation::Decrypt,
    ];

    pub fn name(self) -> &'static str {
        match self {
            XksOperation::GetHealthStatus => "GetHealthStatus",
            XksOperation::GetKeyMetadata => "GetKeyMetadata",
            XksOperation::Encrypt => "Encrypt",
            XksOperation::Decrypt => "Decrypt",
        }
    }

    /// The last segment of its URI.
    pub fn segment(self) -> &'static str {
        match self {
            XksOperation::GetHealthStatus => "health",
            XksOperation::GetKeyMetadata => "metadata",
            XksOperation::Encrypt => "encrypt",
            XksOperation::Decrypt => "decrypt",
        }
    }
}

/// An XKS error: the spec's error names, each with its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XksError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("The request was rejected because the specified ciphertext, initialization vector, additional authenticated data or authentication tag is corrupted, missing, or otherwise invalid.")]
    InvalidCiphertext,
    #[error("{0}")]
    InvalidKeyUsage(String),
    #[error("The request was rejected due to an invalid AWS SigV4 signature.")]
    AuthenticationFailed,
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    KeyNotFound(String),
    #[error("The request was rejected because the specified URI path is not valid.")]
    InvalidUriPath,
    #[error("The request was rejected because the request rate is too high.")]
    Throttling,
    #[error("{0}")]
    UnsupportedOperation(String),
    #[error(
        "The XKS proxy timed out while trying to access a dependency layer to fulfill the request."
    )]
    DependencyTimeout,
    #[error("The request could not be completed.")]
    Internal,
}

impl XksError {
    /// The `errorName` of the body.
    pub fn name(&self) -> &'static str {
        match self {
            XksError::Validation(_) => "ValidationException",
            XksError::InvalidState(_) => "InvalidStateException",
            XksError::InvalidCiphertext => "InvalidCiphertextException",
            XksError::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            XksError::AuthenticationFailed => "AuthenticationFailedException",
            XksError::AccessDenied(_) => "AccessDeniedException",
            XksError::KeyNotFound(_) => "KeyNotFoundException",
            XksError::InvalidUriPath => "InvalidUriPathException",
            XksError::Throttling => "ThrottlingException",
            XksError::UnsupportedOperation(_) => "UnsupportedOperationException",
            XksError::DependencyTimeout => "DependencyTimeoutException",
            XksError::Internal => "InternalException",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            XksError::Validation(_)
            | XksError::InvalidState(_)
            | XksError::InvalidCiphertext
            | XksError::InvalidKeyUsage(_) => 400,
            XksError::AuthenticationFailed => 401,
            XksError::AccessDenied(_) => 403,
            XksError::KeyNotFound(_) | XksError::InvalidUriPath => 404,
            XksError::Throttling => 429,
            XksError::UnsupportedOperation(_) => 501,
            XksError::DependencyTimeout => 503,
            XksError::Internal => 500,
        }
    }

    /// The JSON body: `errorName` and an `errorMessage` of printable ASCII, under 512
    /// characters.
    pub fn body(&self) -> String {
        let message: String = self
            .to_string()
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
            .take(MAX_ERROR_MESSAGE)
            .collect();
        serde_json::json!({ "errorName": self.name(), "errorMessage": message }).to_string()
    }
}

/// What a request's path names: an operation, and for all but health, an external key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XksRoute {
    pub operation: XksOperation,
    pub external_key_id: Option<String>,
}

/// Whether `id` is an external key id: 1 to 128 of `A-Za-z0-9-._`.
pub fn valid_external_key_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Whether `prefix` may prefix the API (`XksProxyUriPath` is at most 128 characters of
/// `A-Za-z0-9/-_` and ends in `/kms/xks/v1`): empty, or segments of those characters.
pub fn valid_prefix(prefix: &str) -> bool {
    let p = prefix.trim_matches('/');
    p.len() + API_ROOT.len() + 2 <= 128
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
        && !p.contains("//")
}

/// A path of this API split at its root: the prefix it gives (without its slashes) and what
/// follows `/kms/xks/v1`; `None` for a path of another API of the port.
pub fn split(path: &str) -> Option<(&str, &str)> {
    let root = format!("/{API_ROOT}");
    let mut from = 0;
    while let Some(found) = path[from..].find(&root) {
        let at = from + found;
        let after = &path[at + root.len()..];
        if after.is_empty() || after.starts_with('/') {
            return Some((path[..at].trim_matches('/'), after));
        }
        from = at + root.len();
    }
    None
}

/// The route of `path` for a proxy whose path prefix is `prefix`: `None` when the path is
/// not of this API at all (another API of the port answers it); InvalidUriPathException
/// when it is but under another prefix, or names no operation.
pub fn route(prefix: &str, path: &str) -> Option<Result<XksRoute, XksError>> {
    let (given, rest) = split(path)?;
    if given != prefix.trim_matches('/') {
        return Some(Err(XksError::InvalidUriPath));
    }
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let found = match segments.as_slice() {
        ["health"] => {
            Some(XksRoute { operation: XksOperation::GetHealthStatus, external_key_id: None })
        }
        ["keys", id, op] if valid_external_key_id(id) => XksOperation::ALL
            .into_iter()
            .find(|o| *o != XksOperation::GetHealthStatus && o.segment() == *op)
            .map(|operation| XksRoute { operation, external_key_id: Some(id.to_string()) }),
        _ => None,
    };
    Some(found.ok_or(XksError::InvalidUriPath))
}

/// `requestMetadata`: who in AWS asked for what (Appendix B). Fields AWS may add later are
/// ignored; what each operation requires is checked by [`RequestMetadata::require`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_principal_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_source_vpc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_source_vpce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_via_service: Option<String>,
}

fn missing(field: &str) -> XksError {
    XksError::Validation(format!("{field} is required"))
}

impl RequestMetadata {
    /// The fields `operation` requires are present: every operation's `kmsOperation` and
    /// `kmsRequestId`; all but health's `awsPrincipalArn`; Encrypt's and Decrypt's
    /// `kmsKeyArn`. ARNs are at most 2,048 characters.
    pub fn require(&self, operation: XksOperation) -> Result<(), XksError> {
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if !present(&self.kms_operation) {
            return Err(missing("requestMetadata.kmsOperation"));
        }
        if !present(&self.kms_request_id) {
            return Err(missing("requestMetadata.kmsRequestId"));
        }
        if operation != XksOperation::GetHealthStatus && !present(&self.aws_principal_arn) {
            return Err(missing("requestMetadata.awsPrincipalArn"));
        }
        let crypto = matches!(operation, XksOperation::Encrypt | XksOperation::Decrypt);
        if crypto && !present(&self.kms_key_arn) {
            return Err(missing("requestMetadata.kmsKeyArn"));
        }
        for arn in [&self.aws_principal_arn, &self.kms_key_arn].into_iter().flatten() {
            if arn.len() > 2048 {
                return Err(XksError::Validation("an ARN is longer than 2048 characters".into()));
            }
        }
        Ok(())
    }
}

/// The body of GetHealthStatus and GetKeyMetadata: the metadata alone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataOnlyRequest {
    #[serde(default)]
    pub request_metadata: Option<RequestMetadata>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptRequest {
    #[serde(default)]
    pub request_metadata: Option<RequestMetadata>,
    #[serde(default)]
    pub plaintext: Option<String>,
    #[serde(default)]
    pub encryption_algorithm: Option<String>,
    #[serde(default)]
    pub additional_authenticated_data: Option<String>,
    #[serde(default)]
    pub ciphertext_data_integrity_value_algorithm: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptRequest {
    #[serde(default)]
    pub request_metadata: Option<RequestMetadata>,
    #[serde(default)]
    pub ciphertext: Option<String>,
    #[serde(default)]
    pub ciphertext_metadata: Option<String>,
    #[serde(default)]
    pub encryption_algorithm: Option<String>,
    #[serde(default)]
    pub additional_authenticated_data: Option<String>,
    #[serde(default)]
    pub initialization_vector: Option<String>,
    #[serde(default)]
    pub authentication_tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptResponse {
    pub ciphertext: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_metadata: Option<String>,
    pub initialization_vector: String,
    pub authentication_tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext_data_integrity_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptResponse {
    pub plaintext: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyMetadataResponse {
    pub key_spec: String,
    pub key_usage: Vec<String>,
    pub key_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EkmFleetDetail {
    pub id: String,
    pub model: String,
    pub health_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    pub xks_proxy_fleet_size: u32,
    pub xks_proxy_vendor: String,
    pub xks_proxy_model: String,
    pub ekm_vendor: String,
    pub ekm_fleet_details: Vec<EkmFleetDetail>,
}

/// Standard base64 (RFC 4648 §4), as every binary field is sent.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Standard base64 decoded (what a proxy's answer carries); `None` if malformed.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// A binary field decoded: malformed base64 is a ValidationException naming the field.
fn decode(field: &str, text: &str) -> Result<Vec<u8>, XksError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| XksError::Validation(format!("{field} is not valid base64")))
}

fn decode_optional(field: &str, text: &Option<String>) -> Result<Vec<u8>, XksError> {
    text.as_deref().map_or(Ok(Vec::new()), |t| decode(field, t))
}

/// A body parsed as `T`: anything but one JSON object of that shape is a ValidationException.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, XksError> {
    serde_json::from_slice(body)
        .map_err(|_| XksError::Validation("the request body is not valid JSON for this API".into()))
}

fn algorithm(given: &Option<String>) -> Result<(), XksError> {
    match given.as_deref() {
        Some("AES_GCM") => Ok(()),
        None => Err(missing("encryptionAlgorithm")),
        Some(_) => Err(XksError::UnsupportedOperation(
            "the encryption algorithm is not supported: only AES_GCM".into(),
        )),
    }
}

fn too_large(field: &str, max: usize) -> XksError {
    XksError::UnsupportedOperation(format!("{field} is longer than the {max} bytes supported"))
}

/// An Encrypt request, checked and decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct EncryptInput {
    pub metadata: RequestMetadata,
    pub plaintext: zeroize::Zeroizing<Vec<u8>>,
    pub aad: Vec<u8>,
    /// Whether the response carries a `ciphertextDataIntegrityValue`.
    pub integrity_value: bool,
}

impl EncryptRequest {
    pub fn check(self) -> Result<EncryptInput, XksError> {
        let metadata = self.request_metadata.ok_or_else(|| missing("requestMetadata"))?;
        metadata.require(XksOperation::Encrypt)?;
        let plaintext = self.plaintext.as_deref().ok_or_else(|| missing("plaintext"))?;
        let plaintext = zeroize::Zeroizing::new(decode("plaintext", plaintext)?);
        algorithm(&self.encryption_algorithm)?;
        let aad =
            decode_optional("additionalAuthenticatedData", &self.additional_authenticated_data)?;
        let integrity_value =
            match self.ciphertext_data_integrity_value_algorithm.as_deref() {
                None => false,
                Some("SHA_256") => true,
                Some(_) => return Err(XksError::UnsupportedOperation(
                    "the ciphertext data integrity value algorithm is not supported: only SHA_256"
                        .into(),
                )),
            };
        if plaintext.len() > MAX_DATA {
            return Err(too_large("plaintext", MAX_DATA));
        }
        if aad.len() > MAX_AAD {
            return Err(too_large("additionalAuthenticatedData", MAX_AAD));
        }
        Ok(EncryptInput { metadata, plaintext, aad, integrity_value })
    }
}

/// A Decrypt request, checked and decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct DecryptInput {
    pub metadata: RequestMetadata,
    pub ciphertext: Vec<u8>,
    pub ciphertext_metadata: Vec<u8>,
    pub aad: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
}

impl DecryptRequest {
    pub fn check(self) -> Result<DecryptInput, XksError> {
        let metadata = self.request_metadata.ok_or_else(|| missing("requestMetadata"))?;
        metadata.require(XksOperation::Decrypt)?;
        let ciphertext = self.ciphertext.as_deref().ok_or_else(|| missing("ciphertext"))?;
        let ciphertext = decode("ciphertext", ciphertext)?;
        algorithm(&self.encryption_algorithm)?;
        let iv =
            self.initialization_vector.as_deref().ok_or_else(|| missing("initializationVector"))?;
        let iv = decode("initializationVector", iv)?;
        let tag = self.authentication_tag.as_deref().ok_or_else(|| missing("authenticationTag"))?;
        let tag = decode("authenticationTag", tag)?;
        let aad =
            decode_optional("additionalAuthenticatedData", &self.additional_authenticated_data)?;
        let ciphertext_metadata = decode_optional("ciphertextMetadata", &self.ciphertext_metadata)?;
        if !matches!(iv.len(), 12 | 16) {
            return Err(XksError::Validation("initializationVector must be 12 or 16 bytes".into()));
        }
        if tag.len() != 16 {
            return Err(XksError::Validation("authenticationTag must be 16 bytes".into()));
        }
        if ciphertext_metadata.len() > MAX_METADATA {
            return Err(XksError::Validation("ciphertextMetadata is longer than 20 bytes".into()));
        }
        if ciphertext.len() > MAX_DATA {
            return Err(too_large("ciphertext", MAX_DATA));
        }
        if aad.len() > MAX_AAD {
            return Err(too_large("additionalAuthenticatedData", MAX_AAD));
        }
        Ok(DecryptInput { metadata, ciphertext, ciphertext_metadata, aad, iv, tag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_under_the_prefix() {
        let r = |p| route("example/uri/path/prefix", p);
        let at = |op, id: Option<&str>| {
            Some(Ok(XksRoute { operation: op, external_key_id: id.map(String::from) }))
        };
        assert_eq!(
            r("/example/uri/path/prefix/kms/xks/v1/health"),
            at(XksOperation::GetHealthStatus, None)
        );
        assert_eq!(
            r("/example/uri/path/prefix/kms/xks/v1/keys/foo/metadata"),
            at(XksOperation::GetKeyMetadata, Some("foo"))
        );
        assert_eq!(
            r("/example/uri/path/prefix/kms/xks/v1/keys/a.b-c_d/encrypt"),
            at(XksOperation::Encrypt, Some("a.b-c_d"))
        );
        assert_eq!(
            r("/example/uri/path/prefix/kms/xks/v1/keys/foo/decrypt"),
            at(XksOperation::Decrypt, Some("foo"))
        );
        for bad in [
            "/example/uri/path/prefix/kms/xks/v1/keys/foo/sign",
            "/example/uri/path/prefix/kms/xks/v1/keys/foo/health",
            "/example/uri/path/prefix/kms/xks/v1/keys/f%20o/encrypt",
            "/example/uri/path/prefix/kms/xks/v1/",
            "/example/uri/path/prefix/kms/xks/v1/keys/foo",
        ] {
            assert_eq!(r(bad), Some(Err(XksError::InvalidUriPath)), "{bad}");
        }
        // Under another prefix (AWS's test client adds `/invalid` to the prefix).
        assert_eq!(
            r("/example/uri/path/prefix/invalid/kms/xks/v1/health"),
            Some(Err(XksError::InvalidUriPath))
        );
        assert_eq!(r("/other/kms/xks/v1/health"), Some(Err(XksError::InvalidUriPath)));
        // Not this API's paths at all: another surface of the port answers them.
        assert_eq!(r("/"), None);
        assert_eq!(r("/example/uri/path/prefix/kms/xks/v2/health"), None);
        assert_eq!(r("/example/kms/xks/v1x/health"), None);
        assert_eq!(split("/a/b/kms/xks/v1/keys/k/encrypt"), Some(("a/b", "/keys/k/encrypt")));
        assert_eq!(route("", "/kms/xks/v1/health"), at(XksOperation::GetHealthStatus, None));
        assert!(
            valid_prefix("example/uri/path/prefix") && valid_prefix("") && !valid_prefix("a b")
        );
    }

    #[test]
    fn errors_have_the_specs_status_and_name() {
        let table = [
            (XksError::Validation(String::new()), 400, "ValidationException"),
            (XksError::InvalidState(String::new()), 400, "InvalidStateException"),
            (XksError::InvalidCiphertext, 400, "InvalidCiphertextException"),
            (XksError::InvalidKeyUsage(String::new()), 400, "InvalidKeyUsageException"),
            (XksError::AuthenticationFailed, 401, "AuthenticationFailedException"),
            (XksError::AccessDenied(String::new()), 403, "AccessDeniedException"),
            (XksError::KeyNotFound(String::new()), 404, "KeyNotFoundException"),
            (XksError::InvalidUriPath, 404, "InvalidUriPathException"),
            (XksError::Throttling, 429, "ThrottlingException"),
            (XksError::UnsupportedOperation(String::new()), 501, "UnsupportedOperationException"),
            (XksError::DependencyTimeout, 503, "DependencyTimeoutException"),
            (XksError::Internal, 500, "InternalException"),
        ];
        for (e, status, name) in table {
            assert_eq!((e.status(), e.name()), (status, name));
            let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!(body["errorName"], name);
        }
        let long = XksError::Validation("é".repeat(600));
        let body: serde_json::Value = serde_json::from_str(&long.body()).unwrap();
        let message = body["errorMessage"].as_str().unwrap();
        assert!(message.len() < 512 && message.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    }

    fn metadata() -> serde_json::Value {
        serde_json::json!({
            "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
            "kmsKeyArn": "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "kmsOperation": "Encrypt",
            "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
            "kmsViaService": "ebs"
        })
    }

    #[test]
    fn the_specs_encrypt_example_is_valid_and_sizes_are_checked() {
        let body = serde_json::json!({
            "requestMetadata": metadata(),
            "additionalAuthenticatedData": "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n",
            "plaintext": "SGVsbG8gV29ybGQh",
            "encryptionAlgorithm": "AES_GCM",
            "ciphertextDataIntegrityValueAlgorithm": "SHA_256"
        });
        let input = parse::<EncryptRequest>(body.to_string().as_bytes()).unwrap().check().unwrap();
        assert_eq!(input.plaintext.as_slice(), b"Hello World!");
        assert_eq!(input.aad, b"project=nile,department=marketing");
        assert!(input.integrity_value);
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut b = body.clone();
            f(&mut b);
            parse::<EncryptRequest>(b.to_string().as_bytes())
                .unwrap()
                .check()
                .map(|_| ())
                .map_err(|e| e.name())
        };
        assert_eq!(with(&|b| b["plaintext"] = b64(&[0u8; MAX_DATA]).into()), Ok(()));
        assert_eq!(
            with(&|b| b["additionalAuthenticatedData"] = b64(&[0u8; MAX_AAD]).into()),
            Ok(())
        );
        assert_eq!(
            with(&|b| b["plaintext"] = b64(&[0u8; MAX_DATA + 1]).into()),
            Err("UnsupportedOperationException")
        );
        assert_eq!(with(&|b| b["plaintext"] = "***".into()), Err("ValidationException"));
        assert_eq!(
            with(&|b| b["encryptionAlgorithm"] = "RSA".into()),
            Err("UnsupportedOperationException")
        );
        assert_eq!(
            with(&|b| drop(b.as_object_mut().unwrap().remove("encryptionAlgorithm"))),
            Err("ValidationException")
        );
        assert_eq!(
            with(&|b| b["requestMetadata"] = serde_json::json!({})),
            Err("ValidationException")
        );
        assert_eq!(
            with(&|b| drop(b["requestMetadata"].as_object_mut().unwrap().remove("kmsKeyArn"))),
            Err("ValidationException")
        );
        // Fields AWS may add later are no reason to refuse.
        assert_eq!(
            with(&|b| b["requestMetadata"]["kmsRecipientAttestationPCR0"] = "x".into()),
            Ok(())
        );
    }

    #[test]
    fn the_specs_decrypt_example_is_valid_and_lengths_are_checked() {
        let body = serde_json::json!({
            "requestMetadata": metadata(),
            "additionalAuthenticatedData": "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n",
            "encryptionAlgorithm": "AES_GCM",
            "ciphertext": "ghxkK1txeDNn3q8Y",
            "ciphertextMetadata": "a2V5X3ZlcnNpb249MQ==",
            "initializationVector": "HMrlRw85cAJUd5Ax",
            "authenticationTag": "vBxN2ncH1oEkR8WVXpmyYQ=="
        });
        let input = parse::<DecryptRequest>(body.to_string().as_bytes()).unwrap().check().unwrap();
        assert_eq!(
            (input.iv.len(), input.tag.len(), input.ciphertext_metadata.as_slice()),
            (12, 16, &b"key_version=1"[..])
        );
        let with = |field: &str, value: &str| {
            let mut b = body.clone();
            b[field] = value.into();
            parse::<DecryptRequest>(b.to_string().as_bytes())
                .unwrap()
                .check()
                .map(|_| ())
                .map_err(|e| e.name())
        };
        assert_eq!(with("initializationVector", &b64(&[0u8; 16])), Ok(()));
        assert_eq!(with("initializationVector", &b64(&[0u8; 13])), Err("ValidationException"));
        assert_eq!(with("authenticationTag", &b64(&[0u8; 12])), Err("ValidationException"));
        assert_eq!(with("ciphertextMetadata", &b64(&[0u8; 21])), Err("ValidationException"));
        assert!(parse::<DecryptRequest>(b"[1]").is_err());
    }
}
