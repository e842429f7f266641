//! The trail as CloudTrail describes it: `DescribeTrails`, `GetTrail`, `GetTrailStatus` and
//! `ListPublicKeys`, what `aws cloudtrail validate-logs` asks before it checks the digest and
//! log files in the bucket (it finds the trail by ARN among DescribeTrails' answer, and the
//! digests' keys by fingerprint among ListPublicKeys'). Each account sees one trail, multi-
//! Region, in its own name: `arn:<partition>:cloudtrail:<home Region>:<account>:trail/<name>`.

use crate::cloudtrail::{parse, TrailOp};
use crate::dispatch::Dispatched;
use crate::error::Failure;
use crate::AppState;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use trent_core::Caller;
use trent_trail::Delivery;

/// The public half of the trail's signing key, as ListPublicKeys gives it.
#[derive(Debug, Clone)]
pub struct TrailPublicKey {
    /// PKCS #1 `RSAPublicKey` DER.
    pub der: Vec<u8>,
    pub fingerprint: String,
    pub created_ms: i64,
}

/// The trail's delivery, for the API to describe.
pub struct Delivered {
    pub delivery: Arc<Delivery>,
    pub public_key: TrailPublicKey,
    /// Whether it goes to a bucket (else to a directory only).
    pub s3: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DescribeTrails {
    trail_name_list: Option<Vec<String>>,
    include_shadow_trails: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct NamedTrail {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ListPublicKeys {
    start_time: Option<f64>,
    end_time: Option<f64>,
    next_token: Option<String>,
}

fn not_found(name: &str, account: &str) -> Failure {
    // AWS: "Unknown trail: <name or ARN> for the user: <account>".
    let message = format!("Unknown trail: {name} for the user: {account}");
    Failure::Refused { code: "TrailNotFoundException", message }
}

/// The trail as `account` sees it.
fn trail(d: &Delivered, account: &str) -> Value {
    let place = &d.delivery.settings().place;
    let partition = trent_store::partition_of(&place.home_region);
    let mut t = json!({
        "Name": place.name,
        "S3BucketName": place.bucket,
        "IncludeGlobalServiceEvents": true,
        "IsMultiRegionTrail": true,
        "HomeRegion": place.home_region,
        "TrailARN": place.arn(partition, account),
        "LogFileValidationEnabled": true,
        "HasCustomEventSelectors": false,
        "HasInsightSelectors": false,
        "IsOrganizationTrail": false,
    });
    if let Some(prefix) = &place.prefix {
        t["S3KeyPrefix"] = Value::from(prefix.as_str());
    }
    t
}

/// Whether `name` (a trail name or ARN) names the trail `account` sees.
fn names(d: &Delivered, account: &str, name: &str) -> bool {
    let t = trail(d, account);
    t["Name"] == name || t["TrailARN"] == name
}

fn seconds(ms: i64) -> Value {
    Value::from(ms as f64 / 1000.0)
}

/// One of the trail's operations (authorized already).
pub(crate) fn run(st: &AppState, op: TrailOp, caller: &Caller, body: &[u8]) -> Dispatched {
    let account = caller.account.as_str();
    let delivered = st.delivered.as_ref();
    let request_parameters =
        parse::<Value>(body).ok().map(record_parameters).unwrap_or(Value::Null);
    let answer: Result<Value, Failure> = match op {
        TrailOp::DescribeTrails => parse::<DescribeTrails>(body).map(|req| {
            let _ = req.include_shadow_trails;
            let list: Vec<Value> = delivered
                .filter(|d| match &req.trail_name_list {
                    Some(wanted) if !wanted.is_empty() => {
                        wanted.iter().any(|n| names(d, account, n))
                    }
                    _ => true,
                })
                .map(|d| trail(d, account))
                .into_iter()
                .collect::<Vec<_>>();
            json!({ "trailList": list })
        }),
        TrailOp::GetTrail | TrailOp::GetTrailStatus => parse::<NamedTrail>(body).and_then(|req| {
            let name = req.name.unwrap_or_default();
            let d = delivered
                .filter(|d| names(d, account, &name))
                .ok_or_else(|| not_found(&name, account))?;
            Ok(match op {
                TrailOp::GetTrail => json!({ "Trail": trail(d, account) }),
                _ => status(d),
            })
        }),
        TrailOp::ListPublicKeys => parse::<ListPublicKeys>(body).map(|req| {
            let _ = req.next_token;
            let keys: Vec<Value> = delivered
                .into_iter()
                .map(|d| &d.public_key)
                .filter(|k| req.end_time.is_none_or(|end| (k.created_ms as f64) <= end * 1000.0))
                .map(|k| {
                    // A blob: the DER in base64 on the wire (the aws cli keeps blobs as that
                    // text, and `validate-logs` decodes it itself).
                    json!({
                        "Value": base64::engine::general_purpose::STANDARD.encode(&k.der),
                        "ValidityStartTime": seconds(k.created_ms),
                        "Fingerprint": k.fingerprint,
                    })
                })
                .collect();
            let _ = req.start_time;
            json!({ "PublicKeyList": keys })
        }),
        TrailOp::LookupEvents => Err(crate::internal("LookupEvents is not a trail operation")),
    };
    match answer {
        Ok(body) => Dispatched {
            body: Ok(body.to_string().into_bytes()),
            request_parameters,
            response_elements: Value::Null,
            recorded: trent_core::audit::Recorded::default(),
        },
        Err(f) => Dispatched { request_parameters, ..Dispatched::refused(f) },
    }
}

/// GetTrailStatus: logging since the signing key was made; the last deliveries and the last
/// error (an error older than the last delivery is over).
fn status(d: &Delivered) -> Value {
    let s = d.delivery.status();
    let mut out = json!({
        "IsLogging": true,
        "StartLoggingTime": seconds(d.public_key.created_ms),
    });
    if let Some(t) = s.last_log_delivery_ms {
        out["LatestDeliveryTime"] = seconds(t);
    }
    if let Some(t) = s.last_digest_delivery_ms {
        out["LatestDigestDeliveryTime"] = seconds(t);
    }
    let latest = s.last_log_delivery_ms.max(s.last_digest_delivery_ms);
    if let (Some(error), Some(at)) = (&s.last_error, s.last_error_ms) {
        if latest.is_none_or(|l| at >= l) {
            out["LatestDeliveryError"] = Value::from(error.as_str());
        }
    }
    out
}

/// CloudTrail's `requestParameters`: the request's members in lowerCamelCase.
fn record_parameters(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let lower = chars
                        .next()
                        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default();
                    (lower, v)
                })
                .collect(),
        ),
        _ => Value::Object(Default::default()),
    }
}
