//! CloudTrail's `LookupEvents` over the audit trail
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>):
//! the query, which records it matches, and the `Event` shape each is returned in. Pure: the
//! binary reads the trail's files ([`TrailReader`]), newest first, within a budget.

use serde_json::{json, Value};

/// The lookup attributes AWS supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupAttribute {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl LookupAttribute {
    pub const NAMES: &'static [&'static str] = &[
        "EventId",
        "EventName",
        "ReadOnly",
        "Username",
        "ResourceType",
        "ResourceName",
        "EventSource",
        "AccessKeyId",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        use LookupAttribute as A;
        Some(match s {
            "EventId" => A::EventId,
            "EventName" => A::EventName,
            "ReadOnly" => A::ReadOnly,
            "Username" => A::Username,
            "ResourceType" => A::ResourceType,
            "ResourceName" => A::ResourceName,
            "EventSource" => A::EventSource,
            "AccessKeyId" => A::AccessKeyId,
            _ => return None,
        })
    }
}

/// One lookup: the records of `account`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupQuery {
    pub account: String,
    pub attribute: Option<(LookupAttribute, String)>,
    /// `eventTime` bounds, as the records spell them (ISO 8601 UTC, so they compare as text).
    pub start: Option<String>,
    pub end: Option<String>,
    pub max_results: usize,
    /// Continue with records older than this sequence (from a `NextToken`).
    pub before_sequence: Option<u64>,
}

/// What a lookup found: records, newest first, and where to go on if there may be more.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LookupPage {
    pub records: Vec<Value>,
    pub next_before_sequence: Option<u64>,
}

/// Reads the trail for `LookupEvents` (the binary's files; a test's memory).
pub trait TrailReader: Send + Sync {
    fn lookup(&self, q: &LookupQuery) -> Result<LookupPage, LookupError>;
}

/// Why the trail could not be read (the reader's own error as the source).
#[derive(Debug, thiserror::Error)]
#[error("the audit trail cannot be read")]
pub struct LookupError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// The user name CloudTrail shows for a record: an IAM user's name, `root` for an account root.
fn username(record: &Value) -> Option<&str> {
    let id = &record["userIdentity"];
    match id["type"].as_str() {
        Some("IAMUser") => id["userName"].as_str(),
        Some("Root") => Some("root"),
        _ => None,
    }
}

/// Whether `record` is one `q` asks for (the time bounds and the account included).
pub fn matches(record: &Value, q: &LookupQuery) -> bool {
    let text = |p: &str| record.pointer(p).and_then(Value::as_str);
    let time = text("/eventTime").unwrap_or("");
    if q.start.as_deref().is_some_and(|s| time < s) || q.end.as_deref().is_some_and(|e| time > e) {
        return false;
    }
    if text("/recipientAccountId") != Some(q.account.as_str()) {
        return false;
    }
    let Some((attribute, value)) = &q.attribute else { return true };
    let value = value.as_str();
    let resources = || record["resources"].as_array().into_iter().flatten();
    use LookupAttribute as A;
    match attribute {
        A::EventId => text("/eventID") == Some(value),
        A::EventName => text("/eventName") == Some(value),
        A::ReadOnly => {
            record["readOnly"].as_bool().map(|b| b.to_string()).as_deref() == Some(value)
        }
        A::Username => username(record) == Some(value),
        A::ResourceType => resources().any(|r| r["type"].as_str() == Some(value)),
        A::ResourceName => resources().any(|r| r["ARN"].as_str() == Some(value)),
        A::EventSource => text("/eventSource") == Some(value),
        A::AccessKeyId => text("/userIdentity/accessKeyId") == Some(value),
    }
}

/// A record as `LookupEvents` returns it (an `Event`), with the record itself as the JSON
/// text `CloudTrailEvent`.
pub fn event(record: &Value, event_time_secs: f64) -> Value {
    let mut e = json!({
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": record["readOnly"].as_bool().map(|b| b.to_string()),
        "EventTime": event_time_secs,
        "EventSource": record["eventSource"],
        "Resources": record["resources"].as_array().into_iter().flatten().map(|r| json!({
            "ResourceType": r["type"],
            "ResourceName": r["ARN"],
        })).collect::<Vec<_>>(),
        "CloudTrailEvent": record.to_string(),
    });
    if let Some(akid) = record.pointer("/userIdentity/accessKeyId") {
        e["AccessKeyId"] = akid.clone();
    }
    if let Some(name) = username(record) {
        e["Username"] = Value::from(name);
    }
    e
}

pub use trent_types::trail::event_time_secs;

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Value {
        json!({
            "eventID": "e1", "eventName": "ImportKeyMaterial", "readOnly": false,
            "eventTime": "2026-12-01T10:00:00Z", "eventSource": "kms.amazonaws.com",
            "recipientAccountId": "111122223333",
            "userIdentity": { "type": "IAMUser", "userName": "alice", "accessKeyId": "AKIA1" },
            "resources": [{ "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:us-east-1:111122223333:key/k" }],
        })
    }

    fn query(attribute: Option<(LookupAttribute, &str)>) -> LookupQuery {
        LookupQuery {
            account: "111122223333".into(),
            attribute: attribute.map(|(a, v)| (a, v.to_string())),
            start: None,
            end: None,
            max_results: 50,
            before_sequence: None,
        }
    }

    #[test]
    fn every_attribute_matches_its_member() {
        use LookupAttribute as A;
        let r = record();
        for (a, yes, no) in [
            (A::EventId, "e1", "e2"),
            (A::EventName, "ImportKeyMaterial", "CreateKey"),
            (A::ReadOnly, "false", "true"),
            (A::Username, "alice", "bob"),
            (A::ResourceType, "AWS::KMS::Key", "AWS::S3::Bucket"),
            (A::ResourceName, "arn:aws:kms:us-east-1:111122223333:key/k", "k"),
            (A::EventSource, "kms.amazonaws.com", "s3.amazonaws.com"),
            (A::AccessKeyId, "AKIA1", "AKIA2"),
        ] {
            assert!(matches(&r, &query(Some((a, yes)))), "{a:?}");
            assert!(!matches(&r, &query(Some((a, no)))), "{a:?}");
        }
        assert_eq!(A::NAMES.iter().filter_map(|n| A::parse(n)).count(), 8);
    }

    #[test]
    fn another_account_and_times_outside_the_bounds_do_not_match() {
        let r = record();
        let mut q = query(None);
        assert!(matches(&r, &q));
        q.account = "444455556666".into();
        assert!(!matches(&r, &q));
        let mut q = query(None);
        q.start = Some("2026-12-01T10:00:01Z".into());
        assert!(!matches(&r, &q));
        q.start = None;
        q.end = Some("2026-12-01T09:59:59Z".into());
        assert!(!matches(&r, &q));
    }

    #[test]
    fn an_event_carries_the_record_as_text() {
        let e = event(&record(), 1.5);
        assert_eq!(e["Username"], "alice");
        assert_eq!(e["ReadOnly"], "false");
        assert_eq!(e["Resources"][0]["ResourceType"], "AWS::KMS::Key");
        let inner: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(inner, record());
        assert_eq!(event_time_secs("2025-05-21T05:47:45Z"), Some(1_747_806_465));
        assert_eq!(event_time_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(event_time_secs("2025-05-21 05:47:45"), None);
    }
}
