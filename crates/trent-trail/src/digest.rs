//! A digest file ("CloudTrail digest file structure", CloudTrail user guide): the log files
//! delivered in its period with their SHA-256, and the previous digest's object, hash and
//! signature. Its own signature is not in it: it travels as the object's metadata
//! (`x-amz-meta-signature`, `x-amz-meta-signature-algorithm`) and is over the string
//! `digestEndTime \n bucket/key \n hex(SHA-256(digest JSON)) \n previous signature or "null"`
//! ("Custom implementations of CloudTrail log file integrity validation").

use crate::{time, TrailPlace};
use serde::{Deserialize, Serialize};
use trent_crypto::trail_key::TrailSigningKey;

/// What `x-amz-meta-signature-algorithm` says, and the digest's `digestSignatureAlgorithm`.
pub const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";

/// A log file as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    pub hash_algorithm: String,
    pub newest_event_time: String,
    pub oldest_event_time: String,
}

/// The digest before: where it is, the SHA-256 of its JSON and its signature (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    pub bucket: String,
    pub object: String,
    pub hash_hex: String,
    pub signature_hex: String,
}

/// A digest's JSON, in the order of AWS's example.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestBody {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    pub digest_public_key_fingerprint: String,
    pub digest_signature_algorithm: String,
    pub newest_event_time: Option<String>,
    pub oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    pub previous_digest_hash_value: Option<String>,
    pub previous_digest_hash_algorithm: Option<String>,
    pub previous_digest_signature: Option<String>,
    pub log_files: Vec<LogFileEntry>,
}

/// A signed digest file, ready to deliver.
#[derive(Debug, Clone)]
pub struct DigestFile {
    pub key: String,
    /// The JSON the signature covers (its SHA-256 is the next digest's `previousDigestHashValue`).
    pub json: Vec<u8>,
    pub gzip: Vec<u8>,
    pub signature_hex: String,
}

impl DigestFile {
    /// What the next digest says of this one.
    pub fn as_previous(&self, bucket: &str) -> Previous {
        Previous {
            bucket: bucket.to_string(),
            object: self.key.clone(),
            hash_hex: hex::encode(trent_crypto::sha256(&self.json)),
            signature_hex: self.signature_hex.clone(),
        }
    }
}

/// A digest could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("signing the digest failed")]
    Sign(#[source] trent_crypto::CryptoError),
    #[error("compressing the digest failed")]
    Compress(#[source] std::io::Error),
    #[error("encoding the digest failed")]
    Encode(#[source] serde_json::Error),
}

/// The string a digest's signature is over.
pub fn string_to_sign(body: &DigestBody, json: &[u8]) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        body.digest_end_time,
        body.digest_s3_bucket,
        body.digest_s3_object,
        hex::encode(trent_crypto::sha256(json)),
        body.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// The digest of `account` in `region` for `[start_ms, end_ms]`, listing `files`, chained to
/// `previous`, signed with `key`.
#[allow(clippy::too_many_arguments)]
pub fn make(
    place: &TrailPlace,
    account: &str,
    region: &str,
    (start_ms, end_ms): (i64, i64),
    files: Vec<(LogFileEntry, i64, i64)>,
    previous: Option<&Previous>,
    key: &TrailSigningKey,
) -> Result<DigestFile, DigestError> {
    let oldest = files.iter().map(|f| f.1).min();
    let newest = files.iter().map(|f| f.2).max();
    let object = place.digest_key(account, region, end_ms);
    let body = DigestBody {
        aws_account_id: account.to_string(),
        digest_start_time: time::iso(start_ms),
        digest_end_time: time::iso(end_ms),
        digest_s3_bucket: place.bucket.clone(),
        digest_s3_object: object.clone(),
        digest_public_key_fingerprint: key.fingerprint(),
        digest_signature_algorithm: SIGNATURE_ALGORITHM.to_string(),
        newest_event_time: newest.map(time::iso),
        oldest_event_time: oldest.map(time::iso),
        previous_digest_s3_bucket: previous.map(|p| p.bucket.clone()),
        previous_digest_s3_object: previous.map(|p| p.object.clone()),
        previous_digest_hash_value: previous.map(|p| p.hash_hex.clone()),
        previous_digest_hash_algorithm: previous.map(|_| "SHA-256".to_string()),
        previous_digest_signature: previous.map(|p| p.signature_hex.clone()),
        log_files: files.into_iter().map(|f| f.0).collect(),
    };
    let json = serde_json::to_vec(&body).map_err(DigestError::Encode)?;
    let signature = key.sign(string_to_sign(&body, &json).as_bytes()).map_err(DigestError::Sign)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &json).map_err(DigestError::Compress)?;
    let gzip = gz.finish().map_err(DigestError::Compress)?;
    Ok(DigestFile { key: object, json, gzip, signature_hex: hex::encode(signature) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> TrailPlace {
        TrailPlace {
            bucket: "trail-bucket".into(),
            prefix: None,
            name: "trent".into(),
            home_region: "us-east-1".into(),
        }
    }

    #[test]
    fn a_digest_is_signed_over_cloudtrails_string_and_chains_to_the_one_before() {
        let (key, _) = TrailSigningKey::generate().unwrap();
        let entry = LogFileEntry {
            s3_bucket: "trail-bucket".into(),
            s3_object: "AWSLogs/1/CloudTrail/us-east-1/x.json.gz".into(),
            hash_value: "ab".repeat(32),
            hash_algorithm: "SHA-256".into(),
            newest_event_time: time::iso(3_000),
            oldest_event_time: time::iso(2_000),
        };
        let first = make(
            &place(),
            "1",
            "us-east-1",
            (0, 3_600_000),
            vec![(entry, 2_000, 3_000)],
            None,
            &key,
        )
        .unwrap();
        let body: DigestBody = serde_json::from_slice(&first.json).unwrap();
        assert_eq!(body.previous_digest_signature, None);
        assert_eq!(body.digest_end_time, "1970-01-01T01:00:00Z");
        assert_eq!(body.oldest_event_time.as_deref(), Some("1970-01-01T00:00:02Z"));
        let signed = string_to_sign(&body, &first.json);
        assert!(signed.ends_with("\nnull"), "{signed}");
        let der = key.public_key_der();
        let sig = hex::decode(&first.signature_hex).unwrap();
        assert!(trent_crypto::trail_key::verify(&der, signed.as_bytes(), &sig));
        assert_eq!(crate::log_file::inflate(&first.gzip).unwrap(), first.json);

        let prev = first.as_previous("trail-bucket");
        let second =
            make(&place(), "1", "us-east-1", (3_600_000, 7_200_000), vec![], Some(&prev), &key)
                .unwrap();
        let body: DigestBody = serde_json::from_slice(&second.json).unwrap();
        assert_eq!(body.previous_digest_signature.as_deref(), Some(first.signature_hex.as_str()));
        assert_eq!(body.previous_digest_s3_object.as_deref(), Some(first.key.as_str()));
        assert_eq!(body.newest_event_time, None);
        assert!(body.log_files.is_empty());
        let signed = string_to_sign(&body, &second.json);
        let sig = hex::decode(&second.signature_hex).unwrap();
        assert!(trent_crypto::trail_key::verify(&der, signed.as_bytes(), &sig));
    }
}
