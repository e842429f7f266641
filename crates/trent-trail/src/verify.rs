//! Verification of a delivered trail against the store: every digest of every chain the
//! store holds is where it was delivered, unchanged and signed by the trail's key; every log
//! file is there with the hash its digest (or the store) gives; and nothing else is under the
//! trail's prefixes. The store keeps the chains' heads away from the trail's files, so a tail
//! cut from the bucket — which `aws cloudtrail validate-logs` cannot see, as on AWS — and a
//! file added by someone without the key are both found here.

use crate::delivery::TrailError;
use crate::destination::Destination;
use crate::digest::{string_to_sign, DigestBody};
use crate::{log_file, TrailPlace};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use trent_store::Store;

/// Something wrong with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub object: String,
    pub what: &'static str,
}

/// What a verification found.
#[derive(Debug, Default)]
pub struct Verified {
    pub chains: usize,
    pub digests: usize,
    pub log_files: usize,
    pub findings: Vec<Finding>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(trent_crypto::sha256(bytes))
}

/// Checks a log file against the hash it must have.
async fn check_log_file(
    source: &dyn Destination,
    key: &str,
    hash: &str,
    out: &mut Verified,
) -> Result<(), TrailError> {
    out.log_files += 1;
    let what = match source.get(key).await? {
        None => "log file missing",
        Some(f) => match log_file::inflate(&f.body) {
            None => "log file is not gzip",
            Some(json) if sha256_hex(&json) != hash => {
                "log file edited (its hash is not the digest's)"
            }
            Some(_) => return Ok(()),
        },
    };
    out.findings.push(Finding { object: key.to_string(), what });
    Ok(())
}

/// Verifies what `source` holds of the trail `place` against `store`; signatures checked with
/// the PKCS #1 DER `public_key`.
pub async fn verify(
    store: &dyn Store,
    place: &TrailPlace,
    public_key: &[u8],
    source: &dyn Destination,
) -> Result<Verified, TrailError> {
    let mut out = Verified::default();
    let mut known = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    for (account, region) in store.trail_regions().await? {
        out.chains += 1;
        let digests = store.trail_digests(&account, &region).await?;
        let mut previous: Option<String> = None;
        for d in &digests {
            out.digests += 1;
            known.insert(d.object_key.clone());
            if d.previous_key != previous {
                out.findings.push(Finding {
                    object: d.object_key.clone(),
                    what: "the store's chain is broken before this digest",
                });
            }
            previous = Some(d.object_key.clone());
            let Some(file) = source.get(&d.object_key).await? else {
                let what = match digests.last() == Some(d) {
                    true => "digest missing (the newest: the trail's tail was cut)",
                    false => "digest missing",
                };
                out.findings.push(Finding { object: d.object_key.clone(), what });
                continue;
            };
            let Some(json) = log_file::inflate(&file.body) else {
                let what = "digest is not gzip";
                out.findings.push(Finding { object: d.object_key.clone(), what });
                continue;
            };
            let body: Option<DigestBody> = serde_json::from_slice(&json).ok();
            let signature = hex::decode(&d.signature).unwrap_or_default();
            let signed = body.as_ref().is_some_and(|b| {
                trent_crypto::trail_key::verify(
                    public_key,
                    string_to_sign(b, &json).as_bytes(),
                    &signature,
                )
            });
            let what = match (&body, sha256_hex(&json) == d.sha256, signed) {
                (None, _, _) => Some("digest is not a digest file"),
                (_, false, _) => Some("digest edited (its hash is not the store's)"),
                (_, _, false) => Some("digest's signature does not verify"),
                _ => None,
            };
            if file.metadata.get("signature") != Some(&d.signature) {
                let what = "digest's signature metadata is not the one made";
                out.findings.push(Finding { object: d.object_key.clone(), what });
            }
            if let Some(what) = what {
                out.findings.push(Finding { object: d.object_key.clone(), what });
            }
            for log in body.map(|b| b.log_files).unwrap_or_default() {
                known.insert(log.s3_object.clone());
                check_log_file(source, &log.s3_object, &log.hash_value, &mut out).await?;
            }
        }
        for f in store.trail_log_files(&account, &region).await? {
            if f.digest_key.is_none() {
                known.insert(f.object_key.clone());
                check_log_file(source, &f.object_key, &f.sha256, &mut out).await?;
            } else if !known.contains(&f.object_key) {
                let what = "log file the store lists is in no digest";
                out.findings.push(Finding { object: f.object_key.clone(), what });
            }
        }
        accounts.insert(account);
    }
    for account in accounts {
        for prefix in [place.log_files_prefix(&account), place.digests_prefix(&account)] {
            for key in source.list(&prefix).await? {
                if !known.contains(&key) {
                    let what = "file not made by this trail (unknown to the store)";
                    out.findings.push(Finding { object: key, what });
                }
            }
        }
    }
    Ok(out)
}

/// Where a delivered trail is, as `trent audit verify --trail-*` names it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DeliveredSource {
    pub bucket: Option<String>,
    pub endpoint: Option<String>,
    pub dir: Option<std::path::PathBuf>,
    pub prefix: Option<String>,
}

/// The delivered trail checked against the store's chains (`verify`), as JSON:
/// where, what was checked, and every finding.
pub async fn verify_delivered(
    store: &dyn Store,
    keyring: &trent_crypto::Keyring,
    s: &DeliveredSource,
) -> Result<Value, TrailError> {
    let signing = crate::signing::load(store, keyring).await?.ok_or(TrailError::NoSigningKey)?;
    let source: Box<dyn Destination> = match (&s.bucket, &s.dir) {
        (Some(bucket), _) => {
            Box::new(crate::Bucket::connect(bucket, s.endpoint.as_deref(), None).await)
        }
        (None, Some(dir)) => Box::new(crate::Directory::new(dir)),
        (None, None) => return Err(TrailError::NoSource),
    };
    let place = TrailPlace {
        bucket: s.bucket.clone().unwrap_or_default(),
        prefix: s.prefix.clone().filter(|p| !p.is_empty()),
        name: String::new(),
        home_region: String::new(),
    };
    let der = signing.key.public_key_der();
    let v = verify(store, &place, &der, source.as_ref()).await?;
    let findings: Vec<Value> =
        v.findings.iter().map(|f| json!({ "object": f.object, "what": f.what })).collect();
    Ok(json!({
        "source": source.describe(), "chains": v.chains, "digests": v.digests,
        "logFiles": v.log_files, "findings": findings,
    }))
}
