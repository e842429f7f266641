//! The record of one API call ("AwsApiCall"), success or failure, as the HTTP layer saw it.
//! The HTTP layer fills it in one place for every request that names an operation; what
//! the request and response show is the generated `Trail` view (no blob, no secret). It goes
//! to the trail in the journal's compact form (`trent_trail::record::Call`), rendered in
//! CloudTrail's shape when the trail is read.

use super::Recorded;
use crate::Caller;
use serde_json::Value;
use std::borrow::Cow;
use trent_trail::record::{account_of, client_text, Call, KMS_SOURCE};
use trent_trail::Entry;

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
    pub fn to_records(&self) -> Vec<Entry> {
        let owners = self.other_owners();
        if owners.is_empty() {
            return vec![self.entry(None, None)];
        }
        let shared = trent_crypto::new_key_id().unwrap_or_default();
        let mut out = vec![self.entry(None, Some(&shared))];
        for owner in owners {
            let event_id = trent_crypto::new_key_id().unwrap_or_default();
            out.push(self.entry(Some((owner, &event_id)), Some(&shared)));
        }
        out
    }

    /// The record in CloudTrail's shape, as the trail renders it: one JSON object's text.
    pub fn to_json(&self) -> String {
        self.entry(None, None).rendered()
    }

    /// The journal's entry of the record (compact for a call that succeeded), in the caller's
    /// account or (`recipient`) in another account with its own event id.
    fn entry(&self, recipient: Option<(&str, &str)>, shared_event_id: Option<&str>) -> Entry {
        let caller = self.caller;
        let call = Call {
            time_ms: self.event_time_ms,
            source: (self.event_source != KMS_SOURCE).then_some(Cow::Borrowed(self.event_source)),
            operation: Cow::Borrowed(self.operation),
            read_only: self.read_only,
            region: Cow::Borrowed(self.region),
            // The account follows from the caller's ARN; kept only where it would not.
            account: caller
                .filter(|c| account_of(&c.principal_arn) != c.account)
                .map(|c| Cow::Borrowed(c.account.as_str())),
            principal_arn: caller.map(|c| Cow::Borrowed(c.principal_arn.as_str())),
            access_key_id: match caller {
                Some(c) => Some(Cow::Borrowed(c.access_key_id.as_str())),
                None => self.presented_access_key_id.map(|k| Cow::Borrowed(client_text(k))),
            },
            source_ip: self.source_ip.map(Cow::Borrowed),
            user_agent: self.user_agent.map(|u| Cow::Borrowed(client_text(u))),
            request_id: Cow::Borrowed(self.request_id),
            event_id: Cow::Borrowed(recipient.map_or(self.event_id, |r| r.1)),
            request_parameters: self.request_parameters,
            response_elements: self.response_elements,
            error: match self.outcome {
                Outcome::Failed { code, message } => {
                    Some((Cow::Borrowed(code), Cow::Borrowed(message)))
                }
                Outcome::Succeeded => None,
            },
            resources: self.recorded.resources.iter().map(|r| Cow::Borrowed(r.as_str())).collect(),
            key_material_ids: self
                .recorded
                .key_material_ids
                .iter()
                .map(|m| Cow::Borrowed(m.as_str()))
                .collect(),
            unauthenticated_calls_not_recorded: self.unauthenticated_calls_not_recorded,
            client_answered: self.client_answered.map(Cow::Borrowed),
            recipient: recipient.map(|r| Cow::Borrowed(r.0)),
            shared_event_id: shared_event_id.map(Cow::Borrowed),
        };
        // The compact form is for the request path's cost: calls that succeeded. A refusal —
        // rare, and what an operator searches the journal for in an incident (`errorCode`) —
        // is kept as its CloudTrail record.
        match self.outcome {
            Outcome::Succeeded => Entry::Call(call.to_compact()),
            Outcome::Failed { .. } => Entry::Record(call.render()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trent_trail::record::MAX_CLIENT_TEXT;

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
            c.to_records().iter().map(|r| serde_json::from_str(&r.rendered()).unwrap()).collect();
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
        assert!(!refused[0].rendered().contains("sharedEventID"));
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
    fn a_call_that_succeeded_is_kept_compact_and_a_refusal_as_its_record() {
        let recorded = Recorded::default();
        let root = caller("arn:aws:iam::111122223333:root");
        let mut c = call(Some(&root), &recorded, &NULL);
        let entries = c.to_records();
        let [Entry::Call(compact)] = entries.as_slice() else { panic!("compact") };
        assert!(!compact.contains("eventVersion"), "{compact}");
        c.outcome = Outcome::Failed { code: "NotFoundException", message: "m" };
        let entries = c.to_records();
        let [Entry::Record(record)] = entries.as_slice() else { panic!("a record") };
        assert!(record.contains("\"errorCode\":\"NotFoundException\""), "{record}");
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
