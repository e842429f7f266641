//! A log file: records as CloudTrail delivers them, `{"Records":[…]}` compressed with gzip.
//! A digest names it by the SHA-256 of its uncompressed bytes (what `validate-logs` hashes
//! after inflating the object).

use std::io::Write as _;

/// A packed log file.
pub struct LogFile {
    /// The object's bytes (gzip).
    pub gzip: Vec<u8>,
    /// Lowercase hex SHA-256 of the uncompressed JSON.
    pub sha256_hex: String,
    /// The event times of its oldest and newest records (milliseconds).
    pub oldest_ms: i64,
    pub newest_ms: i64,
    pub records: usize,
}

/// Packs `records` (each one CloudTrail record as JSON text, with its event time) into a log
/// file, in the order given.
pub fn pack<'a>(records: impl IntoIterator<Item = (i64, &'a str)>) -> std::io::Result<LogFile> {
    let mut json = Vec::with_capacity(64 * 1024);
    json.extend_from_slice(b"{\"Records\":[");
    let (mut oldest, mut newest, mut n) = (i64::MAX, i64::MIN, 0usize);
    for (at, record) in records {
        if n > 0 {
            json.push(b',');
        }
        json.extend_from_slice(record.as_bytes());
        oldest = oldest.min(at);
        newest = newest.max(at);
        n += 1;
    }
    json.extend_from_slice(b"]}");
    let sha256_hex = hex::encode(trent_crypto::sha256(&json));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json)?;
    let gzip = gz.finish()?;
    if n == 0 {
        (oldest, newest) = (0, 0);
    }
    Ok(LogFile { gzip, sha256_hex, oldest_ms: oldest, newest_ms: newest, records: n })
}

/// The uncompressed bytes of a gzip object (a log or digest file), or `None` if it is not
/// gzip.
pub fn inflate(gzip: &[u8]) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(gzip).read_to_end(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_is_records_in_gzip_hashed_uncompressed() {
        let f = pack([(2000, r#"{"eventName":"Encrypt"}"#), (1000, r#"{"eventName":"Decrypt"}"#)])
            .unwrap();
        let json = inflate(&f.gzip).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["Records"][0]["eventName"], "Encrypt");
        assert_eq!(v["Records"].as_array().unwrap().len(), 2);
        assert_eq!(f.sha256_hex, hex::encode(trent_crypto::sha256(&json)));
        assert_eq!((f.oldest_ms, f.newest_ms, f.records), (1000, 2000, 2));
        assert!(inflate(b"not gzip").is_none());
    }
}
