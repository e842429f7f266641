//! AWS Signature Version 4 verification of the `Authorization` header: parsing, canonical
//! request, signing-key derivation, constant-time comparison and clock-skew checks. Pure:
//! the caller passes the clock and looks up the secret.
//!
//! Reference: "Create a signed AWS API request" in the IAM user guide. KMS needs header
//! authentication only (no presigned URLs, no chunked payloads).

mod canonical;
mod time;

pub use canonical::{canonical_request, CanonicalInput};
pub use time::{format_amz_date, parse_amz_date};

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

/// The only algorithm SigV4 defines for AWS services.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// AWS KMS accepts requests whose `X-Amz-Date` is within five minutes of its clock, either
/// way, and words the refusal with the window in minutes ("Signature expired: … (<now> - 5
/// min.)"; the SigV4 guide, "Elements of an AWS API request signature": "within five minutes").
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request's signature was refused. Each maps to one AWS error type; the messages are
/// AWS's own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header: `MissingAuthenticationTokenException`.
    #[error("Missing Authentication Token")]
    Missing,
    /// The header is present but not a complete SigV4 header: `IncompleteSignatureException`.
    #[error("{0}")]
    Incomplete(String),
    /// The signature, its scope or its date is wrong: `InvalidSignatureException`.
    #[error("{0}")]
    Invalid(String),
}

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    /// `YYYYMMDD` of the credential scope.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// Lowercase header names, as listed (`SignedHeaders=a;b;c`).
    pub signed_headers: &'a str,
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request,
    /// SignedHeaders=host;x-amz-date, Signature=<64 hex>`.
    pub fn parse(header: &'a str) -> Result<Self, SigV4Error> {
        let header = header.trim();
        let (alg, rest) = header.split_once(' ').unwrap_or((header, ""));
        if alg != ALGORITHM && alg.starts_with("AWS4-") {
            return Err(SigV4Error::Incomplete(format!(
                "Unsupported AWS 'algorithm': '{alg}'. Authorization={header}"
            )));
        }
        // Anything else that is not SigV4 lacks every part SigV4 needs.
        let rest = if alg == ALGORITHM { rest } else { "" };
        let (mut cred, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                cred = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                sig = Some(v);
            }
        }
        let mut missing = String::new();
        for (name, v) in [("Credential", cred), ("Signature", sig), ("SignedHeaders", signed)] {
            if v.is_none() {
                missing.push_str(&format!("Authorization header requires '{name}' parameter. "));
            }
        }
        if !missing.is_empty() {
            return Err(SigV4Error::Incomplete(format!("{missing}Authorization={header}")));
        }
        let (cred, signed, sig) = (cred.unwrap_or(""), signed.unwrap_or(""), sig.unwrap_or(""));
        let parts: Vec<&str> = cred.split('/').collect();
        if parts.len() != 5 || parts.iter().any(|p| p.is_empty()) {
            return Err(SigV4Error::Incomplete(format!(
                "Credential should be scoped to a valid region, service and terminator 'aws4_request'. Authorization={header}"
            )));
        }
        if parts[4] != "aws4_request" {
            return Err(SigV4Error::Invalid(format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
                parts[4]
            )));
        }
        Ok(Authorization {
            access_key_id: parts[0],
            date: parts[1],
            region: parts[2],
            service: parts[3],
            signed_headers: signed,
            signature: sig,
        })
    }
}

/// The key that signs every request of one (secret, date, region, service); callers may cache
/// it for the day.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    pub fn derive(secret_access_key: &str, date: &str, region: &str, service: &str) -> Self {
        let mut k = format!("AWS4{secret_access_key}").into_bytes();
        let mut step = |data: &str| {
            let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k), data.as_bytes());
            k.clear();
            k.extend_from_slice(tag.as_ref());
        };
        step(date);
        step(region);
        step(service);
        step("aws4_request");
        let key = SigningKey(hmac::Key::new(hmac::HMAC_SHA256, &k));
        zeroize_vec(&mut k);
        key
    }

    /// The hex signature of a string to sign.
    pub fn sign(&self, string_to_sign: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.0, string_to_sign.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

fn zeroize_vec(v: &mut Vec<u8>) {
    for b in v.iter_mut() {
        *b = 0;
    }
    std::hint::black_box(&v);
}

/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256 of canonical request>`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    for part in [ALGORITHM, "\n", amz_date, "\n", scope, "\n"] {
        out.push_str(part);
    }
    canonical::push_hex_sha256(canonical_request.as_bytes(), &mut out);
    out
}

/// Checks what can be checked before the secret is known: the scope's service, and the
/// request date against the scope date and the clock (`now` in epoch seconds).
pub fn check_scope_and_time(
    auth: &Authorization<'_>,
    amz_date: Option<&str>,
    service: &str,
    now: i64,
) -> Result<i64, SigV4Error> {
    let Some(amz_date) = amz_date else {
        return Err(SigV4Error::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        ));
    };
    let Some(when) = parse_amz_date(amz_date) else {
        return Err(SigV4Error::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    if auth.service != service {
        return Err(SigV4Error::Invalid(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    if !valid_region(auth.region) {
        return Err(SigV4Error::Invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(SigV4Error::Invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8.min(amz_date.len())]
        )));
    }
    if when < now - MAX_SKEW_SECS {
        return Err(SigV4Error::Invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - {} min.)",
            format_amz_date(now - MAX_SKEW_SECS),
            format_amz_date(now),
            MAX_SKEW_SECS / 60
        )));
    }
    if when > now + MAX_SKEW_SECS {
        return Err(SigV4Error::Invalid(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + {} min.)",
            format_amz_date(now + MAX_SKEW_SECS),
            format_amz_date(now),
            MAX_SKEW_SECS / 60
        )));
    }
    Ok(when)
}

/// Whether `r` is shaped like an AWS Region name: lower-case words joined by `-`, ending in
/// a number (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`). A Region is part
/// of every key ARN, so nothing else may reach one (`us-east-1:444455556666` would).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let Some((last, words)) = parts.split_last() else { return false };
    r.len() <= 32
        && words.len() >= 2
        && (2..=4).contains(&words[0].len())
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// What AWS requires of `SignedHeaders`: every header it names is in the request, and `host`
/// and every `x-amz-*` header of the request are among them — so that a captured request
/// cannot be re-aimed (an unsigned `X-Amz-Target` could name any operation).
pub fn check_signed_headers(
    auth: &Authorization<'_>,
    headers: &[(&str, &[u8])],
) -> Result<(), SigV4Error> {
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    for name in &signed {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(SigV4Error::Incomplete(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )));
        }
    }
    if !signed.contains(&"host") {
        return Err(SigV4Error::Invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        ));
    }
    for (n, _) in headers {
        let amz = n.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"));
        // The lowercase name must be signed, compared without a lowercased copy per header.
        let lowercase = |s: &&str| !s.bytes().any(|b| b.is_ascii_uppercase());
        if amz && !signed.iter().any(|s| s.eq_ignore_ascii_case(n) && lowercase(s)) {
            return Err(SigV4Error::Invalid(format!(
                "'{}' must be a 'SignedHeader' in the AWS Authorization.",
                n.to_ascii_lowercase()
            )));
        }
    }
    Ok(())
}

/// Recomputes the signature of `input` with `key` and compares it in constant time with the
/// one the client sent, after checking that the headers that matter are signed.
pub fn verify_signature(
    auth: &Authorization<'_>,
    amz_date: &str,
    input: &CanonicalInput<'_>,
    key: &SigningKey,
) -> Result<(), SigV4Error> {
    check_signed_headers(auth, input.headers)?;
    let creq = canonical_request(input, auth.signed_headers)
        .ok_or_else(|| SigV4Error::Invalid(MISMATCH.to_string()))?;
    let scope = [auth.date, "/", auth.region, "/", auth.service, "/aws4_request"].concat();
    let expected = key.sign(&string_to_sign(amz_date, &scope, &creq));
    let mut given = [0u8; 32];
    // Lower-case hex only, as SigV4 defines the signature and AWS checks it.
    let ok = auth.signature.len() == 64
        && auth.signature.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && hex::decode_to_slice(auth.signature, &mut given).is_ok();
    if ok && bool::from(expected.ct_eq(&given)) {
        Ok(())
    } else {
        Err(SigV4Error::Invalid(MISMATCH.to_string()))
    }
}

/// Signs a request the way an AWS SDK does; used by Trent's load tool and tests. Returns the
/// `Authorization` header value. `input.headers` must already hold every header to sign.
pub fn sign_request(
    input: &CanonicalInput<'_>,
    signed_headers: &str,
    access_key_id: &str,
    key: &SigningKey,
    amz_date: &str,
    region: &str,
    service: &str,
) -> String {
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let creq = canonical_request(input, signed_headers).unwrap_or_default();
    let sig = key.sign(&string_to_sign(amz_date, &scope, &creq));
    format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={}",
        hex::encode(sig)
    )
}

#[cfg(test)]
mod tests;
