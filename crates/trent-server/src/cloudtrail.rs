//! CloudTrail's API on the KMS port: JSON 1.1,
//! `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>`, SigV4
//! for the service `cloudtrail`, each operation authorized as `cloudtrail:<Operation>`.
//! `LookupEvents` (here) shows a caller the records of its own account only, newest first;
//! `aws cloudtrail lookup-events --endpoint-url …` and boto3's paginator work unchanged. The
//! calls `aws cloudtrail validate-logs` makes of the trail (DescribeTrails, GetTrail,
//! GetTrailStatus, ListPublicKeys) are in `trails.rs`. CloudTrail's own errors are mapped
//! here, as KMS's are in `error.rs`.

use crate::audit::Called;
use crate::aws_json::AwsApi;
use crate::dispatch::Dispatched;
use crate::error::Failure;
use crate::AppState;
use axum::body::Bytes;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use trent_core::audit::lookup::{
    event, event_time_secs, LookupAttribute, LookupPage, LookupQuery, TrailReader,
};

/// What every CloudTrail target begins with.
const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// The CloudTrail operations Trent serves, declared once: their names, targets, IAM actions,
/// metrics series and audit records all come from this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrailOp {
    LookupEvents,
    DescribeTrails,
    GetTrail,
    GetTrailStatus,
    ListPublicKeys,
}

impl TrailOp {
    pub(crate) const ALL: [TrailOp; 5] = [
        TrailOp::LookupEvents,
        TrailOp::DescribeTrails,
        TrailOp::GetTrail,
        TrailOp::GetTrailStatus,
        TrailOp::ListPublicKeys,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            TrailOp::LookupEvents => "LookupEvents",
            TrailOp::DescribeTrails => "DescribeTrails",
            TrailOp::GetTrail => "GetTrail",
            TrailOp::GetTrailStatus => "GetTrailStatus",
            TrailOp::ListPublicKeys => "ListPublicKeys",
        }
    }

    /// The IAM action that authorizes it.
    fn action(self) -> &'static str {
        match self {
            TrailOp::LookupEvents => "cloudtrail:LookupEvents",
            TrailOp::DescribeTrails => "cloudtrail:DescribeTrails",
            TrailOp::GetTrail => "cloudtrail:GetTrail",
            TrailOp::GetTrailStatus => "cloudtrail:GetTrailStatus",
            TrailOp::ListPublicKeys => "cloudtrail:ListPublicKeys",
        }
    }

    /// The operation an `X-Amz-Target` names, if it is one of CloudTrail's that Trent serves.
    pub(crate) fn from_target(target: Option<&str>) -> Option<TrailOp> {
        let name = target?.strip_prefix(TARGET_PREFIX)?;
        TrailOp::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// The largest LookupEvents body (one attribute, times, a token).
const MAX_BODY: usize = 16 * 1024;
/// How long a LookupEvents waits for a scan of the trail to start before it is throttled.
const SCAN_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// CloudTrail's page: 1 to 50 events, 50 by default.
const MAX_RESULTS: usize = 50;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Attribute {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Request {
    lookup_attributes: Vec<Attribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// A refusal in CloudTrail's words.
struct Refusal(&'static str, String);

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal(code, message.into())
}

/// `NextToken`: where to go on, bound to the query it continues (a token of another query
/// is refused, as AWS does).
fn token(before: u64, fingerprint: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{before}:{fingerprint}"))
}

fn untoken(text: &str, fingerprint: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.splitn(3, ':');
    (parts.next()? == "v1").then_some(())?;
    let before = parts.next()?.parse().ok()?;
    (parts.next()? == fingerprint).then_some(before)
}

fn iso(secs: f64) -> String {
    trent_core::audit::event_time((secs * 1000.0) as i64)
}

/// The query of a request, or CloudTrail's refusal of it.
fn query(req: &Request, account: &str) -> Result<(LookupQuery, String), Refusal> {
    if req.event_category.as_deref().is_some_and(|c| c != "insight") {
        return Err(refuse("InvalidEventCategoryException", "Event category is not valid."));
    }
    let attribute = match req.lookup_attributes.as_slice() {
        [] => None,
        [a] => match LookupAttribute::parse(&a.attribute_key) {
            Some(k) if !a.attribute_value.is_empty() && a.attribute_value.len() <= 2000 => {
                Some((k, a.attribute_value.clone()))
            }
            _ => {
                return Err(refuse(
                    "InvalidLookupAttributesException",
                    format!(
                    "Lookup attribute key must be one of {} with a value of 1 to 2000 characters.",
                    LookupAttribute::NAMES.join(", ")
                ),
                ))
            }
        },
        _ => {
            return Err(refuse(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            ))
        }
    };
    let (start, end) = (req.start_time, req.end_time);
    if start.zip(end).is_some_and(|(s, e)| s > e)
        || [start, end].iter().flatten().any(|t| !t.is_finite() || t.abs() > 1e11)
    {
        return Err(refuse(
            "InvalidTimeRangeException",
            "Start time must be earlier than end time.",
        ));
    }
    let max_results = match req.max_results {
        None => MAX_RESULTS,
        Some(n) if (1..=MAX_RESULTS as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(refuse(
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.",
            ))
        }
    };
    let start = start.map(iso);
    let end = end.map(iso);
    let fingerprint = hex::encode(
        &trent_crypto::sha256(
            format!(
                "{:?}|{start:?}|{end:?}|{:?}",
                attribute.as_ref().map(|(k, v)| (LookupAttribute::NAMES[*k as usize], v)),
                req.event_category
            )
            .as_bytes(),
        )[..8],
    );
    let before_sequence = match &req.next_token {
        None => None,
        Some(t) => Some(
            untoken(t, &fingerprint)
                .ok_or_else(|| refuse("InvalidNextTokenException", "Invalid NextToken."))?,
        ),
    };
    // Trent has no Insights events: the one valid category matches nothing.
    let max_results = if req.event_category.is_some() { 0 } else { max_results };
    let q = LookupQuery {
        account: account.to_string(),
        attribute,
        start,
        end,
        max_results,
        before_sequence,
    };
    Ok((q, fingerprint))
}

fn answer(page: &LookupPage, fingerprint: &str) -> Value {
    let events: Vec<Value> = page
        .records
        .iter()
        .map(|r| {
            let secs = r["eventTime"].as_str().and_then(event_time_secs).unwrap_or(0);
            event(r, secs as f64)
        })
        .collect();
    let mut out = json!({ "Events": events });
    if let Some(before) = page.next_before_sequence {
        out["NextToken"] = Value::from(token(before, fingerprint));
    }
    out
}

/// CloudTrail's `requestParameters` for a LookupEvents request.
fn request_parameters(req: &Request) -> Value {
    let mut m = serde_json::Map::new();
    if !req.lookup_attributes.is_empty() {
        let attrs: Vec<Value> = req
            .lookup_attributes
            .iter()
            .map(
                |a| json!({ "attributeKey": a.attribute_key, "attributeValue": a.attribute_value }),
            )
            .collect();
        m.insert("lookupAttributes".into(), Value::Array(attrs));
    }
    let date = |t: f64| trent_types::trail::date_text(trent_types::Timestamp((t * 1000.0) as i64));
    if let Some(t) = req.start_time.filter(|t| t.is_finite()) {
        m.insert("startTime".into(), date(t));
    }
    if let Some(t) = req.end_time.filter(|t| t.is_finite()) {
        m.insert("endTime".into(), date(t));
    }
    if let Some(n) = req.max_results {
        m.insert("maxResults".into(), n.into());
    }
    if let Some(c) = &req.event_category {
        m.insert("eventCategory".into(), c.as_str().into());
    }
    Value::Object(m)
}

/// CloudTrail's operations on the port: LookupEvents read from `trail`, the trail's own
/// description from what `trails.rs` is given.
pub(crate) struct CloudTrailApi {
    pub trail: Option<Arc<dyn TrailReader>>,
}

impl AwsApi for CloudTrailApi {
    const SERVICE: &'static str = "cloudtrail";

    fn max_body(&self, _: Option<Called>) -> usize {
        MAX_BODY
    }

    fn run(
        &self,
        st: Arc<AppState>,
        caller: Arc<trent_core::Caller>,
        called: Called,
        body: Bytes,
    ) -> impl Future<Output = Dispatched> + Send + 'static {
        let trail = self.trail.clone();
        async move {
            let Called::CloudTrail(op) = called else {
                return Dispatched::refused(crate::internal(
                    "a KMS operation on the CloudTrail surface",
                ));
            };
            let throttled = op == TrailOp::LookupEvents;
            if let Err(e) = st.kms.authorize_cloudtrail(&caller, op.action(), throttled).await {
                return Dispatched::refused(Failure::Kms(e));
            }
            match (op, trail) {
                (TrailOp::LookupEvents, Some(trail)) => {
                    lookup_events(&st, trail, &caller, &body).await
                }
                (TrailOp::LookupEvents, None) => Dispatched::refused(Failure::Refused {
                    code: "UnsupportedOperationException",
                    message: "This server keeps no trail to look up.".into(),
                }),
                (op, _) => crate::trails::run(&st, op, &caller, &body),
            }
        }
    }
}

/// The body of a CloudTrail request: `{}` when empty, CloudTrail's SerializationException
/// when it is not the operation's JSON.
pub(crate) fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|_| Failure::Refused {
        code: "SerializationException",
        message: "Start of structure or map found where not expected.".to_string(),
    })
}

fn refused(request_parameters: Value, f: Failure) -> Dispatched {
    Dispatched { request_parameters, ..Dispatched::refused(f) }
}

/// One authenticated LookupEvents call.
async fn lookup_events(
    st: &AppState,
    trail: Arc<dyn TrailReader>,
    caller: &trent_core::Caller,
    body: &[u8],
) -> Dispatched {
    let req: Request = match parse(body) {
        Ok(r) => r,
        Err(f) => return Dispatched::refused(f),
    };
    let request_parameters = request_parameters(&req);
    let (q, fingerprint) = match query(&req, &caller.account) {
        Ok(q) => q,
        Err(Refusal(code, message)) => {
            return refused(request_parameters, Failure::Refused { code, message })
        }
    };
    let page = if q.max_results == 0 {
        LookupPage::default()
    } else {
        // Reading files: off the async workers, and only so many scans at once; a scan that
        // cannot start within a second is throttled rather than queued behind the others.
        let scans = st.trail_scans.clone().acquire_owned();
        let permit = match tokio::time::timeout(SCAN_WAIT, scans).await {
            Ok(Ok(p)) => p,
            _ => {
                let f = Failure::Kms(trent_core::KmsError::throttling_lookup_events());
                return refused(request_parameters, f);
            }
        };
        let scan = move || {
            let _permit = permit;
            trail.lookup(&q)
        };
        match tokio::task::spawn_blocking(scan).await {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                let f = trent_core::KmsError::from(trent_core::Fault::TrailRead(e));
                return refused(request_parameters, Failure::Kms(f));
            }
            Err(e) => {
                let f = trent_core::KmsError::from(trent_core::Fault::Task(e));
                return refused(request_parameters, Failure::Kms(f));
            }
        }
    };
    Dispatched {
        body: Ok(answer(&page, &fingerprint).to_string().into_bytes()),
        request_parameters,
        response_elements: Value::Null,
        recorded: trent_core::audit::Recorded::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_named_by_its_target_and_authorized_by_its_action() {
        for op in TrailOp::ALL {
            let target = format!("{TARGET_PREFIX}{}", op.name());
            assert_eq!(TrailOp::from_target(Some(&target)), Some(op));
            assert_eq!(op.action(), format!("cloudtrail:{}", op.name()));
        }
        assert_eq!(TrailOp::from_target(Some("TrentService.Encrypt")), None);
        assert_eq!(TrailOp::from_target(Some(&format!("{TARGET_PREFIX}DeleteTrail"))), None);
    }

    #[test]
    fn a_token_continues_only_its_own_query() {
        let t = token(42, "abcd");
        assert_eq!(untoken(&t, "abcd"), Some(42));
        assert_eq!(untoken(&t, "dcba"), None);
        assert_eq!(untoken("garbage", "abcd"), None);
    }

    #[test]
    fn requests_are_validated_as_cloudtrail_does() {
        let r = |v: Value| serde_json::from_value::<Request>(v).unwrap();
        let code = |v: Value| query(&r(v), "1").err().map(|Refusal(c, _)| c);
        assert_eq!(code(json!({})), None);
        assert_eq!(code(json!({"MaxResults": 51})), Some("InvalidMaxResultsException"));
        assert_eq!(code(json!({"StartTime": 10, "EndTime": 5})), Some("InvalidTimeRangeException"));
        assert_eq!(
            code(json!({"LookupAttributes": [{"AttributeKey": "Colour", "AttributeValue": "x"}]})),
            Some("InvalidLookupAttributesException")
        );
        let two = json!({"LookupAttributes": [
            {"AttributeKey": "EventName", "AttributeValue": "x"},
            {"AttributeKey": "EventName", "AttributeValue": "y"}]});
        assert_eq!(code(two), Some("InvalidLookupAttributesException"));
        assert_eq!(code(json!({"NextToken": "nope"})), Some("InvalidNextTokenException"));
        assert_eq!(code(json!({"EventCategory": "other"})), Some("InvalidEventCategoryException"));
    }
}
