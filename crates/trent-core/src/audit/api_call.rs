//! The CloudTrail record of one API call ("AwsApiCall"), success or failure, as the AWS KMS
//! developer guide's examples show it
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/understanding-kms-entries.html>).
//! The HTTP layer fills it in one place for every request that names an operation; what
//! the request and response show is the generated `Trail` view (no blob, no secret).

use super::{event_time, Recorded};
use crate::Caller;
use serde_json::{json, Map, Value};

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Succeeded,
    /// The `__type` and message the client received.
    Failed {
        code: &'a str,
        message: &'a str,
    },
}

/// One API call, as the HTTP layer saw it.
#[derive(Debug, Clone)]
pub struct ApiCall<'a> {
    pub event_time_ms: i64,
    /// `kms.amazonaws.com`, or `cloudtrail.amazonaws.com` for LookupEvents.
    pub event_source: &'a str,
    /// The operation (CloudTrail's `eventName`).
    pub operation: &'a str,
    pub read_only: bool,
    /// The Region of the credential scope (the server's default when there was none).
    pub region: &'a str,
    /// Who called, when authentication succeeded.
    pub caller: Option<&'a Caller>,
    /// The access key id the request presented, when authentication failed.
    pub presented_access_key_id: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The `x-amzn-RequestId` the client received.
    pub request_id: &'a str,
    pub event_id: &'a str,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub recorded: &'a Recorded,
    pub outcome: Outcome<'a>,
}

/// A client-supplied string in a record is cut to this many characters.
const MAX_CLIENT_TEXT: usize = 256;

fn client_text(s: &str) -> String {
    s.chars().take(MAX_CLIENT_TEXT).collect()
}

/// AWS's unique id of an IAM user is `AIDA` and 17 characters; Trent keeps no such id, so it
/// derives a stable one from the user's ARN.
fn user_principal_id(arn: &str) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = trent_crypto::sha256(arn.as_bytes());
    let tail: String = d.iter().take(17).map(|b| BASE32[(b % 32) as usize] as char).collect();
    format!("AIDA{tail}")
}

fn user_identity(call: &ApiCall<'_>) -> Value {
    let Some(c) = call.caller else {
        // Refused authentication: only what the request claimed.
        let mut id = Map::new();
        id.insert("type".into(), "Unknown".into());
        if let Some(akid) = call.presented_access_key_id {
            id.insert("accessKeyId".into(), client_text(akid).into());
        }
        return Value::Object(id);
    };
    match c.principal_arn.rsplit_once(":user/") {
        Some((_, name)) => json!({
            "type": "IAMUser",
            "principalId": user_principal_id(&c.principal_arn),
            "arn": c.principal_arn,
            "accountId": c.account,
            "accessKeyId": c.access_key_id,
            "userName": name,
        }),
        None => json!({
            "type": "Root",
            "principalId": c.account,
            "arn": c.principal_arn,
            "accountId": c.account,
            "accessKeyId": c.access_key_id,
        }),
    }
}

/// The account of a resource ARN (`arn:partition:kms:region:account:...`).
fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

impl ApiCall<'_> {
    /// The record, with CloudTrail's member names (JSON objects here keep their members
    /// sorted; CloudTrail's order carries no meaning).
    pub fn to_event(&self) -> Value {
        let account = self.caller.map(|c| c.account.as_str());
        let mut e = Map::new();
        e.insert("eventVersion".into(), "1.11".into());
        e.insert("userIdentity".into(), user_identity(self));
        e.insert("eventTime".into(), event_time(self.event_time_ms).into());
        e.insert("eventSource".into(), self.event_source.into());
        e.insert("eventName".into(), self.operation.into());
        e.insert("awsRegion".into(), self.region.into());
        e.insert("sourceIPAddress".into(), self.source_ip.unwrap_or("").into());
        e.insert("userAgent".into(), client_text(self.user_agent.unwrap_or("")).into());
        if let Outcome::Failed { code, message } = self.outcome {
            e.insert("errorCode".into(), code.into());
            e.insert("errorMessage".into(), message.into());
        }
        e.insert("requestParameters".into(), self.request_parameters.clone());
        e.insert("responseElements".into(), self.response_elements.clone());
        if let Some(extra) = additional_event_data(self.recorded) {
            e.insert("additionalEventData".into(), extra);
        }
        e.insert("requestID".into(), self.request_id.into());
        e.insert("eventID".into(), self.event_id.into());
        e.insert("readOnly".into(), self.read_only.into());
        // Keys before aliases, as in AWS's CreateAlias example.
        let (aliases, keys): (Vec<&String>, Vec<&String>) =
            self.recorded.resources.iter().partition(|arn| arn.contains(":alias/"));
        let resources: Vec<Value> = keys
            .into_iter()
            .chain(aliases)
            .map(|arn| json!({ "accountId": account_of(arn), "type": "AWS::KMS::Key", "ARN": arn }))
            .collect();
        if !resources.is_empty() {
            e.insert("resources".into(), Value::Array(resources));
        }
        e.insert("eventType".into(), "AwsApiCall".into());
        e.insert("managementEvent".into(), true.into());
        e.insert("recipientAccountId".into(), account.unwrap_or("").into());
        e.insert("eventCategory".into(), "Management".into());
        Value::Object(e)
    }
}

/// `keyMaterialId` for a call that used one material; ReEncrypt's two are source and
/// destination, as in AWS's ReEncrypt example.
fn additional_event_data(r: &Recorded) -> Option<Value> {
    match r.key_material_ids.as_slice() {
        [] => None,
        [one] => Some(json!({ "keyMaterialId": one })),
        [source, destination, ..] => Some(json!({
            "sourceKeyMaterialId": source,
            "destinationKeyMaterialId": destination,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(arn: &str) -> Caller {
        Caller {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            principal_arn: arn.into(),
            access_key_id: "AKIAEXAMPLE".into(),
            source_ip: Some("192.0.2.0".into()),
        }
    }

    fn call<'a>(caller: Option<&'a Caller>, recorded: &'a Recorded) -> ApiCall<'a> {
        ApiCall {
            event_time_ms: 1_747_806_465_000,
            event_source: "kms.amazonaws.com",
            operation: "ImportKeyMaterial",
            read_only: false,
            region: "us-east-1",
            caller,
            presented_access_key_id: None,
            source_ip: Some("192.0.2.0"),
            user_agent: Some("aws-cli/2"),
            request_id: "r-1",
            event_id: "e-1",
            request_parameters: json!({"keyId": "k"}),
            response_elements: Value::Null,
            recorded,
            outcome: Outcome::Succeeded,
        }
    }

    #[test]
    fn the_envelope_names_who_what_and_where() {
        let alice = caller("arn:aws:iam::111122223333:user/alice");
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let recorded = Recorded { resources: vec![arn.into()], key_material_ids: vec![] };
        let e = call(Some(&alice), &recorded).to_event();
        assert_eq!(e["userIdentity"]["type"], "IAMUser");
        assert_eq!(e["userIdentity"]["userName"], "alice");
        let id = e["userIdentity"]["principalId"].as_str().unwrap();
        assert!(id.starts_with("AIDA") && id.len() == 21, "{id}");
        assert_eq!(e["eventTime"], "2025-05-21T05:47:45Z");
        assert_eq!(
            e["resources"][0],
            json!({"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn})
        );
        assert_eq!(e["recipientAccountId"], "111122223333");
        assert!(e.get("errorCode").is_none() && e.get("additionalEventData").is_none());
        let root = caller("arn:aws:iam::111122223333:root");
        let e = call(Some(&root), &recorded).to_event();
        assert_eq!(e["userIdentity"]["type"], "Root");
        assert_eq!(e["userIdentity"]["principalId"], "111122223333");
    }

    #[test]
    fn a_refusal_carries_its_error_and_what_was_claimed() {
        let recorded = Recorded::default();
        let long = "A".repeat(5000);
        let mut c = call(None, &recorded);
        c.presented_access_key_id = Some(&long);
        c.outcome = Outcome::Failed { code: "UnrecognizedClientException", message: "m" };
        let e = c.to_event();
        assert_eq!(e["errorCode"], "UnrecognizedClientException");
        assert_eq!(e["userIdentity"]["type"], "Unknown");
        assert_eq!(e["userIdentity"]["accessKeyId"].as_str().unwrap().len(), MAX_CLIENT_TEXT);
        assert!(e.get("resources").is_none());
    }

    #[test]
    fn materials_used_are_additional_event_data() {
        let one = Recorded { resources: vec![], key_material_ids: vec!["m1".into()] };
        assert_eq!(additional_event_data(&one), Some(json!({"keyMaterialId": "m1"})));
        let two = Recorded { resources: vec![], key_material_ids: vec!["a".into(), "b".into()] };
        let both = json!({"sourceKeyMaterialId": "a", "destinationKeyMaterialId": "b"});
        assert_eq!(additional_event_data(&two), Some(both));
    }
}
