//! The CloudTrail record of one API call ("AwsApiCall"), success or failure, as the AWS KMS
//! developer guide's examples show it
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/understanding-kms-entries.html>).
//! The HTTP layer fills it in one place for every request that names an operation; what
//! the request and response show is the generated `Trail` view (no blob, no secret).

use super::{event_time, Recorded};
use crate::Caller;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

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
    pub request_parameters: &'a Value,
    pub response_elements: &'a Value,
    pub recorded: &'a Recorded,
    pub outcome: Outcome<'a>,
    /// Records of refused authentication left out (budgeted) before this one.
    pub unauthenticated_calls_not_recorded: u64,
    /// What the client was answered instead, when that was not this call's outcome (a call
    /// that outran the request timeout).
    pub client_answered: Option<&'a str>,
}

/// A client-supplied string in a record is cut to this many characters.
const MAX_CLIENT_TEXT: usize = 256;

fn client_text(s: &str) -> &str {
    s.char_indices().nth(MAX_CLIENT_TEXT).map_or(s, |(end, _)| &s[..end])
}

/// AWS's unique id of an IAM user is `AIDA` and 17 characters; Trent keeps no such id, so it
/// derives a stable one from the user's ARN.
fn user_principal_id(arn: &str) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = trent_crypto::sha256(arn.as_bytes());
    let tail: String = d.iter().take(17).map(|b| BASE32[(b % 32) as usize] as char).collect();
    format!("AIDA{tail}")
}

/// CloudTrail's `userIdentity`: Root, IAMUser, or Unknown for a refused authentication
/// (only what the request claimed).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
}

fn user_identity<'a>(call: &ApiCall<'a>) -> UserIdentity<'a> {
    let Some(c) = call.caller else {
        return UserIdentity {
            kind: "Unknown",
            principal_id: None,
            arn: None,
            account_id: None,
            access_key_id: call.presented_access_key_id.map(client_text),
            user_name: None,
        };
    };
    let user = c.principal_arn.rsplit_once(":user/").map(|(_, name)| name);
    UserIdentity {
        kind: if user.is_some() { "IAMUser" } else { "Root" },
        principal_id: Some(match user {
            Some(_) => Cow::Owned(user_principal_id(&c.principal_arn)),
            None => Cow::Borrowed(c.account.as_str()),
        }),
        arn: Some(&c.principal_arn),
        account_id: Some(&c.account),
        access_key_id: Some(&c.access_key_id),
        user_name: user,
    }
}

/// The account of a resource ARN (`arn:partition:kms:region:account:...`).
fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "ARN")]
    arn: &'a str,
}

/// `additionalEventData`: `keyMaterialId` for a call that used one material (ReEncrypt's two
/// are source and destination, as in AWS's ReEncrypt example), and Trent's own notes.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AdditionalEventData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_key_material_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_key_material_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unauthenticated_calls_not_recorded: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_answered: Option<&'a str>,
}

impl<'a> AdditionalEventData<'a> {
    fn of(call: &ApiCall<'a>) -> Option<Self> {
        let mut d = AdditionalEventData::default();
        match call.recorded.key_material_ids.as_slice() {
            [] => {}
            [one] => d.key_material_id = Some(one),
            [source, destination, ..] => {
                d.source_key_material_id = Some(source);
                d.destination_key_material_id = Some(destination);
            }
        }
        let left_out = call.unauthenticated_calls_not_recorded;
        d.unauthenticated_calls_not_recorded = (left_out > 0).then_some(left_out);
        d.client_answered = call.client_answered;
        let empty = d.key_material_id.is_none()
            && d.source_key_material_id.is_none()
            && d.unauthenticated_calls_not_recorded.is_none()
            && d.client_answered.is_none();
        (!empty).then_some(d)
    }
}

/// The record, in the order of CloudTrail's examples, serialized as it is built: no
/// intermediate JSON tree (building one was a fifth of an Encrypt's CPU, by perf).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    event_version: &'static str,
    user_identity: UserIdentity<'a>,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: &'a Value,
    response_elements: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<AdditionalEventData<'a>>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource<'a>>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    shared_event_id: Option<&'a str>,
    event_category: &'static str,
}

impl ApiCall<'_> {
    /// The accounts other than the caller's whose keys a successful call used: CloudTrail
    /// gives each of them its own record of the call.
    fn other_owners(&self) -> Vec<&str> {
        let (Some(caller), Outcome::Succeeded) = (self.caller, &self.outcome) else {
            return Vec::new();
        };
        let mut owners: Vec<&str> = self
            .recorded
            .resources
            .iter()
            .map(|arn| account_of(arn))
            .filter(|a| !a.is_empty() && *a != caller.account)
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    /// The records of the call: one in the caller's account, and, when it used another
    /// account's key, one more in that account, each with its own `eventID` and
    /// `recipientAccountId` and both with one `sharedEventID` (CloudTrail record contents:
    /// "when an account uses an AWS KMS key that belongs to another account, the account that
    /// used the KMS key and the account that owns the KMS key receive separate CloudTrail
    /// events for the same action"). A refused call is in the caller's account only.
    pub fn to_records(&self) -> Vec<String> {
        let owners = self.other_owners();
        if owners.is_empty() {
            return vec![self.to_json()];
        }
        let shared = trent_crypto::new_key_id().unwrap_or_default();
        let mut out = vec![self.render(None, Some(&shared))];
        for owner in owners {
            let event_id = trent_crypto::new_key_id().unwrap_or_default();
            out.push(self.render(Some((owner, &event_id)), Some(&shared)));
        }
        out
    }

    /// The record as one JSON object's text, with CloudTrail's member names.
    pub fn to_json(&self) -> String {
        self.render(None, None)
    }

    /// The record, in the caller's account or (`recipient`) in another account with its own
    /// event id.
    fn render(&self, recipient: Option<(&str, &str)>, shared_event_id: Option<&str>) -> String {
        let (error_code, error_message) = match self.outcome {
            Outcome::Failed { code, message } => (Some(code), Some(message)),
            Outcome::Succeeded => (None, None),
        };
        // Keys before aliases, as in AWS's CreateAlias example.
        let arns = &self.recorded.resources;
        let keys = arns.iter().filter(|arn| !arn.contains(":alias/"));
        let aliases = arns.iter().filter(|arn| arn.contains(":alias/"));
        let resources = keys
            .chain(aliases)
            .map(|arn| Resource { account_id: account_of(arn), kind: "AWS::KMS::Key", arn })
            .collect();
        let event = Event {
            event_version: "1.11",
            user_identity: user_identity(self),
            event_time: event_time(self.event_time_ms),
            event_source: self.event_source,
            event_name: self.operation,
            aws_region: self.region,
            source_ip_address: self.source_ip.unwrap_or(""),
            user_agent: client_text(self.user_agent.unwrap_or("")),
            error_code,
            error_message,
            request_parameters: self.request_parameters,
            response_elements: self.response_elements,
            additional_event_data: AdditionalEventData::of(self),
            request_id: self.request_id,
            event_id: recipient.map_or(self.event_id, |r| r.1),
            read_only: self.read_only,
            resources,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: recipient
                .map_or_else(|| self.caller.map_or("", |c| c.account.as_str()), |r| r.0),
            shared_event_id,
            event_category: "Management",
        };
        // A struct of strings, numbers and JSON values always serializes.
        serde_json::to_string(&event).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn caller(arn: &str) -> Caller {
        Caller {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            principal_arn: arn.into(),
            access_key_id: "AKIAEXAMPLE".into(),
            source_ip: Some("192.0.2.0".into()),
            secure_transport: false,
            quota: Default::default(),
        }
    }

    const NULL: Value = Value::Null;

    fn call<'a>(
        caller: Option<&'a Caller>,
        recorded: &'a Recorded,
        request_parameters: &'a Value,
    ) -> ApiCall<'a> {
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
            request_parameters,
            response_elements: &NULL,
            recorded,
            outcome: Outcome::Succeeded,
            unauthenticated_calls_not_recorded: 0,
            client_answered: None,
        }
    }

    fn event(call: &ApiCall<'_>) -> Value {
        serde_json::from_str(&call.to_json()).unwrap()
    }

    #[test]
    fn a_call_with_another_accounts_key_is_recorded_in_both_accounts() {
        let bob =
            Caller { account: "444455556666".into(), ..caller("arn:aws:iam::444455556666:root") };
        let recorded = Recorded {
            resources: vec!["arn:aws:kms:us-east-1:111122223333:key/k".into()],
            key_material_ids: vec![],
        };
        let mut c = call(Some(&bob), &recorded, &NULL);
        let records: Vec<Value> =
            c.to_records().iter().map(|r| serde_json::from_str(r).unwrap()).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0]["recipientAccountId"], "444455556666");
        assert_eq!(records[1]["recipientAccountId"], "111122223333");
        assert_eq!(records[0]["eventID"], "e-1");
        assert_ne!(records[1]["eventID"], "e-1");
        assert_eq!(records[0]["sharedEventID"], records[1]["sharedEventID"]);
        assert!(records[0]["sharedEventID"].as_str().is_some_and(|s| s.len() == 36));
        assert_eq!(records[0]["userIdentity"], records[1]["userIdentity"]);
        // Refused: the caller's account only, without a shared id.
        c.outcome = Outcome::Failed { code: "AccessDeniedException", message: "no" };
        let refused = c.to_records();
        assert_eq!(refused.len(), 1);
        assert!(!refused[0].contains("sharedEventID"));
        // Its own key: one record.
        let own = call(Some(&bob), &Recorded::default(), &NULL).to_records();
        assert_eq!(own.len(), 1);
    }

    #[test]
    fn the_envelope_names_who_what_and_where() {
        let alice = caller("arn:aws:iam::111122223333:user/alice");
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k";
        let alias = "arn:aws:kms:us-east-1:111122223333:alias/a";
        let recorded =
            Recorded { resources: vec![alias.into(), arn.into()], key_material_ids: vec![] };
        let params = json!({"keyId": "k"});
        let e = event(&call(Some(&alice), &recorded, &params));
        assert_eq!(e["userIdentity"]["type"], "IAMUser");
        assert_eq!(e["userIdentity"]["userName"], "alice");
        let id = e["userIdentity"]["principalId"].as_str().unwrap();
        assert!(id.starts_with("AIDA") && id.len() == 21, "{id}");
        assert_eq!(e["eventTime"], "2025-05-21T05:47:45Z");
        assert_eq!(e["requestParameters"], params);
        assert_eq!(e["responseElements"], Value::Null);
        assert_eq!(
            e["resources"][0],
            json!({"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn})
        );
        assert_eq!(e["resources"][1]["ARN"], alias);
        assert_eq!(e["recipientAccountId"], "111122223333");
        assert_eq!(e["eventType"], "AwsApiCall");
        assert!(e.get("errorCode").is_none() && e.get("additionalEventData").is_none());
        let root = caller("arn:aws:iam::111122223333:root");
        let e = event(&call(Some(&root), &recorded, &params));
        assert_eq!(e["userIdentity"]["type"], "Root");
        assert_eq!(e["userIdentity"]["principalId"], "111122223333");
        assert!(e["userIdentity"].get("userName").is_none());
    }

    #[test]
    fn members_are_in_the_order_of_cloudtrails_examples() {
        let recorded = Recorded::default();
        let text = call(None, &recorded, &NULL).to_json();
        let at = |member: &str| text.find(&format!("\"{member}\":")).unwrap();
        let order = ["eventVersion", "userIdentity", "eventTime", "eventName", "requestID"];
        assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    }

    #[test]
    fn a_refusal_carries_its_error_and_what_was_claimed() {
        let recorded = Recorded::default();
        let long = "A".repeat(5000);
        let mut c = call(None, &recorded, &NULL);
        c.presented_access_key_id = Some(&long);
        c.outcome = Outcome::Failed { code: "UnrecognizedClientException", message: "m" };
        c.unauthenticated_calls_not_recorded = 3;
        let e = event(&c);
        assert_eq!(e["errorCode"], "UnrecognizedClientException");
        assert_eq!(e["errorMessage"], "m");
        assert_eq!(e["userIdentity"]["type"], "Unknown");
        assert_eq!(e["userIdentity"]["accessKeyId"].as_str().unwrap().len(), MAX_CLIENT_TEXT);
        assert_eq!(e["additionalEventData"], json!({"unauthenticatedCallsNotRecorded": 3}));
        assert!(e.get("resources").is_none());
    }

    #[test]
    fn materials_used_are_additional_event_data() {
        let data = |ids: &[&str], answered: Option<&str>| {
            let key_material_ids = ids.iter().map(|s| s.to_string()).collect();
            let recorded = Recorded { resources: vec![], key_material_ids };
            let mut c = call(None, &recorded, &NULL);
            c.client_answered = answered;
            event(&c)["additionalEventData"].clone()
        };
        assert_eq!(data(&["m1"], None), json!({"keyMaterialId": "m1"}));
        let both = json!({"sourceKeyMaterialId": "a", "destinationKeyMaterialId": "b"});
        assert_eq!(data(&["a", "b"], None), both);
        assert_eq!(data(&[], Some("x")), json!({"clientAnswered": "x"}));
        assert_eq!(data(&[], None), Value::Null);
    }
}
