//! Audit events in CloudTrail's shape
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html>):
//! one record per API call (`api_call.rs`, built by the HTTP layer in one place) with the
//! resources the gate authorized (`recorded.rs`), and the service events Trent makes itself.
//! The sink (`trent_trail::sink`) is pluggable: the binary appends JSON lines to a file; by
//! default events go to the log.

mod api_call;
mod recorded;

pub use api_call::{ApiCall, Outcome};
// The trail itself — its sink, chain and lookup — is the trail crate's.
pub(crate) use recorded::{note_material, note_resource};
pub use recorded::{recorded, Recorded};
pub use trent_trail::lookup::LookupError;
pub use trent_trail::record::Entry;
pub use trent_trail::sink::{AuditError, AuditSink, AuditWrite, LogAudit};
pub use trent_trail::{chain, lookup};

use serde_json::{json, Value};

/// ISO-8601 `Z` time of epoch milliseconds, as CloudTrail's `eventTime`.
pub fn event_time(ms: i64) -> String {
    // Every record has one: the text of the current second is made once per thread.
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let secs = ms.div_euclid(1000);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            // X-Amz-Date has the same fields: YYYYMMDDTHHMMSSZ.
            let d = trent_sigv4::format_amz_date(secs);
            let (date, time) = (&d[0..8], &d[9..15]);
            let text = format!(
                "{}-{}-{}T{}:{}:{}Z",
                &date[0..4],
                &date[4..6],
                &date[6..8],
                &time[0..2],
                &time[2..4],
                &time[4..6]
            );
            *last = (secs, text);
        }
        last.1.clone()
    })
}

/// A service event (CloudTrail's `AwsServiceEvent`) on one key: what the service did by
/// itself, `invoked_by` naming who, with its `serviceEventDetails`.
fn service_event(
    key_arn: &str,
    account: &str,
    region: &str,
    name: &str,
    invoked_by: &str,
    details: Option<Value>,
    now_ms: i64,
) -> Value {
    let mut event = json!({
        "eventVersion": "1.08",
        "userIdentity": { "accountId": account, "invokedBy": invoked_by },
        "eventTime": event_time(now_ms),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by,
        "userAgent": invoked_by,
        "requestParameters": null,
        "responseElements": null,
        "eventID": trent_crypto::new_key_id().unwrap_or_default(),
        "readOnly": false,
        "resources": [{ "accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn }],
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management"
    });
    if let (Some(details), Value::Object(m)) = (details, &mut event) {
        m.insert("serviceEventDetails".into(), details);
    }
    event
}

/// A service event as the store keeps it until it is in the journal (the outbox).
pub(crate) fn outbox(event: &Value, now_ms: i64) -> trent_store::OutboxEvent {
    trent_store::OutboxEvent {
        event_id: event["eventID"].as_str().unwrap_or_default().to_string(),
        made_ms: now_ms,
        record: event.to_string(),
    }
}

/// What the operator did with `trent admin` (or a seed file), in the shape CloudTrail gives
/// an IAM call (`eventSource` `iam.amazonaws.com` for identities, `kms.amazonaws.com` for keys,
/// `trent.amazonaws.com` for what only Trent has, such as a backup), in the account it
/// concerns. The operator is not an AWS principal: `userIdentity` is CloudTrail's `Unknown`
/// type named `trent-admin`. Never a secret: access keys appear by id only.
pub(crate) fn admin_event(
    account: &str,
    region: &str,
    source: &str,
    name: &str,
    request_parameters: Value,
    response_elements: Value,
    now_ms: i64,
) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": { "type": "Unknown", "principalId": "trent-admin", "userName": "trent-admin" },
        "eventTime": event_time(now_ms),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "trent admin",
        "userAgent": "trent admin",
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "eventID": trent_crypto::new_key_id().unwrap_or_default(),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management"
    })
}

/// The service event AWS records when imported key material expires.
pub(crate) fn delete_expired_key_material(
    account: &str,
    region: &str,
    key_id: &str,
    arn: &str,
    material_id: &str,
    now_ms: i64,
) -> Value {
    let details = json!({ "keyId": key_id, "keyMaterialId": material_id });
    service_event(
        arn,
        account,
        region,
        "DeleteExpiredKeyMaterial",
        "AWS Internal",
        Some(details),
        now_ms,
    )
}

/// The service event AWS records when it deletes a key at the end of its waiting period
/// ("DeleteKey", Examples of AWS KMS log entries): no details, the key in `resources`.
pub(crate) fn delete_key(key: &trent_store::KeyRef, now_ms: i64) -> Value {
    let arn = key.arn();
    service_event(&arn, &key.account, &key.region, "DeleteKey", "AWS Internal", None, now_ms)
}

/// The service event AWS records when a key's material rotates, automatically or on demand
/// ("RotateKey", Examples of AWS KMS log entries): the rotation's type, the key's origin
/// and the materials before and after.
pub(crate) fn rotate_key(
    key: &trent_store::KeyRef,
    rotation_type: &str,
    origin: &str,
    previous_material_id: Option<&str>,
    current_material_id: Option<&str>,
    now_ms: i64,
) -> Value {
    let arn = key.arn();
    let details = json!({
        "rotationType": rotation_type,
        "keyOrigin": origin,
        "previousKeyMaterialId": previous_material_id,
        "currentKeyMaterialId": current_material_id,
    });
    service_event(
        &arn,
        &key.account,
        &key.region,
        "RotateKey",
        "AWS Internal",
        Some(details),
        now_ms,
    )
}

/// The record AWS writes when it copies a multi-Region primary key's shared properties to its
/// replicas ("SynchronizeMultiRegionKey", Examples of AWS KMS log entries): the primary in
/// `resources` and in `responseElements.keyId`, and — unlike the other service events — an
/// `AwsApiCall` with a request id.
pub(crate) fn synchronize_multi_region_key(primary: &trent_store::KeyRef, now_ms: i64) -> Value {
    let arn = primary.arn();
    let (account, region) = (&primary.account, &primary.region);
    let name = "SynchronizeMultiRegionKey";
    let mut event = service_event(&arn, account, region, name, "AWS Internal", None, now_ms);
    event["responseElements"] = json!({ "keyId": arn });
    event["requestID"] = Value::from(trent_crypto::new_key_id().unwrap_or_default());
    event["eventType"] = Value::from("AwsApiCall");
    event
}

/// The record of the replica's creation in its own Region: "The CloudTrail log of a
/// ReplicateKey operation records a ReplicateKey operation in the primary key's Region and a
/// CreateKey operation in the replica key's Region" (ReplicateKey API). The shape of the
/// second record is not published; Trent writes it as a service event naming both keys.
pub(crate) fn replica_created(
    replica: &trent_store::KeyRef,
    primary_arn: &str,
    now_ms: i64,
) -> Value {
    let arn = replica.arn();
    let details =
        json!({ "keyId": replica.key_id, "primaryKeyArn": primary_arn, "replicaKeyArn": arn });
    let (account, region) = (&replica.account, &replica.region);
    service_event(&arn, account, region, "CreateKey", "kms.amazonaws.com", Some(details), now_ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_time_follows_the_clock_second_by_second() {
        let at = super::event_time;
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(999), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_000), "1970-01-01T00:00:01Z");
        assert_eq!(at(1_747_806_465_000), "2025-05-21T05:47:45Z");
        assert_eq!(at(-1), "1969-12-31T23:59:59Z");
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
    }
}
