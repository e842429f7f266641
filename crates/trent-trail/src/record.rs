//! One API call's record, in the two forms it has: compact in the journal (`Call`: what
//! varies from call to call, under short names), and as CloudTrail shows it (`Call::render`:
//! AWS's member names and order, the constants, and what follows from the caller and the
//! resources — `userIdentity`, `resources`, `recipientAccountId`), made when the trail is
//! read: for delivery, LookupEvents and the cluster's copy. The journal line a call waits for
//! is then about 40% shorter, and so is the hashing and the file system's work on the request
//! path (issue 32; docs/audit.md). The rendered record is the one of the AWS KMS developer guide's examples
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/understanding-kms-entries.html>).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The `eventSource` of a call that names none: KMS's.
pub const KMS_SOURCE: &str = "kms.amazonaws.com";

/// A call as the journal keeps it. `J` is how the request parameters and response elements
/// are held: `&serde_json::Value` when written, `&RawValue` when read back (copied through
/// unparsed into the rendered record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call<'a, J> {
    /// When (milliseconds since the epoch).
    #[serde(rename = "t")]
    pub time_ms: i64,
    /// `eventSource`, when not KMS's.
    #[serde(rename = "s", borrow, default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Cow<'a, str>>,
    /// `eventName`.
    #[serde(rename = "o", borrow)]
    pub operation: Cow<'a, str>,
    #[serde(rename = "w", default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `awsRegion`.
    #[serde(rename = "r", borrow)]
    pub region: Cow<'a, str>,
    /// The caller's account and ARN, when authentication succeeded.
    #[serde(rename = "a", borrow, default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Cow<'a, str>>,
    #[serde(rename = "p", borrow, default, skip_serializing_if = "Option::is_none")]
    pub principal_arn: Option<Cow<'a, str>>,
    /// The access key id: the caller's, or the one a refused request presented.
    #[serde(rename = "k", borrow, default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<Cow<'a, str>>,
    #[serde(rename = "ip", borrow, default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<Cow<'a, str>>,
    /// Cut to `MAX_CLIENT_TEXT` characters when written.
    #[serde(rename = "ua", borrow, default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(rename = "q", borrow)]
    pub request_id: Cow<'a, str>,
    #[serde(rename = "e", borrow)]
    pub event_id: Cow<'a, str>,
    #[serde(rename = "rp")]
    pub request_parameters: J,
    #[serde(rename = "re")]
    pub response_elements: J,
    /// The `__type` and message the client received.
    #[serde(rename = "err", borrow, default, skip_serializing_if = "Option::is_none")]
    pub error: Option<(Cow<'a, str>, Cow<'a, str>)>,
    /// ARNs of the keys and aliases authorized on.
    #[serde(rename = "x", borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Cow<'a, str>>,
    #[serde(rename = "m", borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub key_material_ids: Vec<Cow<'a, str>>,
    #[serde(rename = "lo", default, skip_serializing_if = "is_zero")]
    pub unauthenticated_calls_not_recorded: u64,
    #[serde(rename = "ca", borrow, default, skip_serializing_if = "Option::is_none")]
    pub client_answered: Option<Cow<'a, str>>,
    /// The account this copy is for, when not the caller's (a cross-account call's copy for
    /// the key's owner).
    #[serde(rename = "rc", borrow, default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Cow<'a, str>>,
    #[serde(rename = "sh", borrow, default, skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<Cow<'a, str>>,
}

/// A call read back from the journal.
pub type StoredCall<'a> = Call<'a, &'a RawValue>;

fn is_false(b: &bool) -> bool {
    !b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A client-supplied string in a record is cut to this many characters.
pub const MAX_CLIENT_TEXT: usize = 256;

/// `s` cut to `MAX_CLIENT_TEXT` characters.
pub fn client_text(s: &str) -> &str {
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

/// The account of an ARN (`arn:partition:service:region:account:...`).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
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

/// The record, in the order of CloudTrail's examples, serialized as it is built: no
/// intermediate JSON tree (building one was a fifth of an Encrypt's CPU, by perf).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a, J> {
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
    request_parameters: &'a J,
    response_elements: &'a J,
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

impl<J: Serialize> Call<'_, J> {
    fn user_identity(&self) -> UserIdentity<'_> {
        let Some(arn) = self.principal_arn.as_deref() else {
            return UserIdentity {
                kind: "Unknown",
                principal_id: None,
                arn: None,
                account_id: None,
                access_key_id: self.access_key_id.as_deref(),
                user_name: None,
            };
        };
        let account = self.account.as_deref().unwrap_or_else(|| account_of(arn));
        let user = arn.rsplit_once(":user/").map(|(_, name)| name);
        UserIdentity {
            kind: if user.is_some() { "IAMUser" } else { "Root" },
            principal_id: Some(match user {
                Some(_) => Cow::Owned(user_principal_id(arn)),
                None => Cow::Borrowed(account),
            }),
            arn: Some(arn),
            account_id: Some(account),
            access_key_id: self.access_key_id.as_deref(),
            user_name: user,
        }
    }

    fn additional_event_data(&self) -> Option<AdditionalEventData<'_>> {
        let mut d = AdditionalEventData::default();
        match self.key_material_ids.as_slice() {
            [] => {}
            [one] => d.key_material_id = Some(one),
            [source, destination, ..] => {
                d.source_key_material_id = Some(source);
                d.destination_key_material_id = Some(destination);
            }
        }
        let left_out = self.unauthenticated_calls_not_recorded;
        d.unauthenticated_calls_not_recorded = (left_out > 0).then_some(left_out);
        d.client_answered = self.client_answered.as_deref();
        let empty = d.key_material_id.is_none()
            && d.source_key_material_id.is_none()
            && d.unauthenticated_calls_not_recorded.is_none()
            && d.client_answered.is_none();
        (!empty).then_some(d)
    }

    /// The account whose trail this copy is in: the recipient named, else the caller's.
    pub fn recipient_account(&self) -> &str {
        match (&self.recipient, &self.account, &self.principal_arn) {
            (Some(r), _, _) => r,
            (None, Some(a), _) => a,
            (None, None, Some(arn)) => account_of(arn),
            (None, None, None) => "",
        }
    }

    /// The record as CloudTrail shows it: one JSON object's text.
    pub fn render(&self) -> String {
        // Keys before aliases, as in AWS's CreateAlias example.
        let keys = self.resources.iter().filter(|arn| !arn.contains(":alias/"));
        let aliases = self.resources.iter().filter(|arn| arn.contains(":alias/"));
        let resources = keys
            .chain(aliases)
            .map(|arn| Resource { account_id: account_of(arn), kind: "AWS::KMS::Key", arn })
            .collect();
        let event = Event {
            event_version: "1.11",
            user_identity: self.user_identity(),
            event_time: crate::time::iso(self.time_ms),
            event_source: self.source.as_deref().unwrap_or(KMS_SOURCE),
            event_name: &self.operation,
            aws_region: &self.region,
            source_ip_address: self.source_ip.as_deref().unwrap_or(""),
            user_agent: client_text(self.user_agent.as_deref().unwrap_or("")),
            error_code: self.error.as_ref().map(|(code, _)| &**code),
            error_message: self.error.as_ref().map(|(_, message)| &**message),
            request_parameters: &self.request_parameters,
            response_elements: &self.response_elements,
            additional_event_data: self.additional_event_data(),
            request_id: &self.request_id,
            event_id: &self.event_id,
            read_only: self.read_only,
            resources,
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: self.recipient_account(),
            shared_event_id: self.shared_event_id.as_deref(),
            event_category: "Management",
        };
        // A struct of strings, numbers and JSON values always serializes.
        serde_json::to_string(&event).unwrap_or_default()
    }

    /// The compact text the journal keeps.
    pub fn to_compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The CloudTrail record of a compact call's text; `None` if it is not one.
pub fn render_compact(text: &str) -> Option<String> {
    serde_json::from_str::<StoredCall<'_>>(text).ok().map(|c| c.render())
}

/// What a sink is handed: a call in its compact form (rendered when read), or a record
/// already in CloudTrail's shape (service and admin events, expiry notices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `Call::to_compact`'s text.
    Call(String),
    /// One JSON object's text, kept as it is.
    Record(String),
}

impl Entry {
    /// The record as CloudTrail shows it (a compact call rendered).
    pub fn rendered(&self) -> String {
        match self {
            Entry::Call(text) => render_compact(text).unwrap_or_default(),
            Entry::Record(text) => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn encrypt<'a>(params: &'a Value, null: &'a Value, agent: &'a str) -> Call<'a, &'a Value> {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/ba53821b-16e4-416a-a86f-04351e675711";
        Call {
            time_ms: 1_765_114_311_000,
            source: None,
            operation: "Encrypt".into(),
            read_only: true,
            region: "us-east-1".into(),
            account: None,
            principal_arn: Some("arn:aws:iam::111122223333:user/alice".into()),
            access_key_id: Some("AKIAETKUWADT4HHHJZ7X".into()),
            source_ip: Some("127.0.0.1".into()),
            user_agent: Some(agent.into()),
            request_id: "bbdefb32-47ce-4daa-ac4d-aae5ffd43e40".into(),
            event_id: "e6ff01dd-f7cb-48b1-8bfc-bcbbb3546099".into(),
            request_parameters: params,
            response_elements: null,
            error: None,
            resources: vec![arn.into()],
            key_material_ids: vec![
                "6972b2a5b10c8ee2eecb5c4eded9457282556ca2425e8d95804cd5c9030f24f2".into(),
            ],
            unauthenticated_calls_not_recorded: 0,
            client_answered: None,
            recipient: None,
            shared_event_id: None,
        }
    }

    #[test]
    fn a_call_read_back_renders_the_record_it_was_written_from() {
        let params =
            json!({ "keyId": "k", "encryptionContext": { "q\"uote": "back\\slash ü \u{1}" } });
        let null = Value::Null;
        let agent = "aws-cli/2 \"quoted\" ü";
        let mut written = encrypt(&params, &null, agent);
        written.error = Some(("AccessDeniedException".into(), "no \"way\"".into()));
        written.recipient = Some("444455556666".into());
        written.shared_event_id = Some("s".into());
        let compact = written.to_compact();
        // Read back with escapes in its strings (they cannot be borrowed: they are unescaped).
        let read: StoredCall<'_> = serde_json::from_str(&compact).unwrap();
        assert_eq!(read.render(), written.render());
        let record: Value = serde_json::from_str(&written.render()).unwrap();
        assert_eq!(record["userAgent"], agent);
        assert_eq!(record["requestParameters"], params);
        assert_eq!(record["recipientAccountId"], "444455556666");
        assert_eq!(record["userIdentity"]["accountId"], "111122223333");
        assert_eq!(record["errorMessage"], "no \"way\"");
        assert_eq!(Entry::Call(compact).rendered(), written.render());
    }

    #[test]
    fn the_journal_keeps_about_half_of_the_rendered_record() {
        let (params, null) =
            (json!({ "keyId": "ba53821b-16e4-416a-a86f-04351e675711" }), Value::Null);
        let agent = "Boto3/1.44.18 md/Botocore#1.44.18 ua/2.1 os/linux#6.18.44 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.44.18";
        for agent in [agent, ""] {
            let call = encrypt(&params, &null, agent);
            let (compact, rendered) = (call.to_compact().len(), call.render().len());
            assert!(compact * 100 < rendered * 62, "{compact} of {rendered} bytes");
        }
    }
}
