//! Monitoring: the Prometheus exposition of `GET /metrics` (every operation's series, the
//! expiry gauge exactly for expiring material, errors by code) and the expiry notices.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{AlgorithmSpec, OriginType, WrappingKeySpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trent_types::Operation;

/// The body of one scrape.
async fn scrape(t: &TestServer) -> String {
    let mut s = tokio::net::TcpStream::connect(t.metrics_addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The value of the series `name{labels}` (labels as exposed, in order), if present.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn expiry_series(key_id: &str) -> String {
    format!(
        "trent_seconds_until_key_material_expiration{{account=\"{ACCOUNT}\",region=\"us-east-1\",key_id=\"{key_id}\"}}"
    )
}

async fn external_key(c: &aws_sdk_kms::Client) -> String {
    let m = c.create_key().origin(OriginType::External).send().await.unwrap().key_metadata.unwrap();
    m.key_id().to_string()
}

/// `days` from now by the server's (manual) clock.
fn days_ahead(t: &TestServer, days: i64) -> aws_sdk_kms::primitives::DateTime {
    aws_sdk_kms::primitives::DateTime::from_millis(t.kms.now_ms() + days * DAY * 1000)
}

/// Imports `material` into `id`, expiring `days` from now (never: `None`).
async fn import_for(t: &TestServer, id: &str, material: &[u8], days: Option<i64>) {
    let (alg, spec) = (AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048);
    let valid_to = days.map(|d| days_ahead(t, d));
    import_with(&t.client(), id, alg, spec, material, valid_to).await.unwrap();
}

fn fresh_material() -> Vec<u8> {
    trent_crypto::random_secret(32).unwrap().as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_gauge_is_there_exactly_for_material_that_expires() {
    let t = start().await;
    let c = t.client();
    let expiring = external_key(&c).await;
    import_for(&t, &expiring, &fresh_material(), Some(10)).await;
    let lasting = external_key(&c).await;
    import_for(&t, &lasting, &fresh_material(), None).await;
    let aws = c.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let pending = external_key(&c).await;
    let body = scrape(&t).await;
    let left = value(&body, &expiry_series(&expiring)).expect("the expiring key's gauge");
    assert!((10.0 * DAY as f64 - left).abs() < 120.0, "{left}");
    for other in [&lasting, &aws, &pending] {
        assert_eq!(value(&body, &expiry_series(other)), None, "no gauge for {other}");
    }
    let keys = |state: &str| {
        value(
            &body,
            &format!("trent_keys{{account=\"{ACCOUNT}\",region=\"us-east-1\",state=\"{state}\"}}"),
        )
    };
    assert_eq!((keys("Enabled"), keys("PendingImport")), (Some(3.0), Some(1.0)));
    // The seconds are the clock's at each scrape; after the expiry the gauge is gone.
    t.clock.advance_ms(4 * DAY * 1000);
    let later = value(&scrape(&t).await, &expiry_series(&expiring)).unwrap();
    assert!((left - later - 4.0 * DAY as f64).abs() < 120.0, "{left} then {later}");
    t.clock.advance_ms(6 * DAY * 1000 + 1000);
    t.kms.background().expire_due_materials().await.unwrap();
    // The server takes a census at most every 10 s; a fresh exposition shows it at once.
    let after = trent_server::metrics::Metrics::new(t.kms.clone()).render().await;
    assert_eq!(value(&after, &expiry_series(&expiring)), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_its_series_and_errors_are_counted_by_code() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    c.encrypt().key_id(&id).plaintext(Blob::new(b"x".to_vec())).send().await.unwrap();
    let missing = "11111111-2222-3333-4444-555555555555";
    c.encrypt().key_id(missing).plaintext(Blob::new(b"x".to_vec())).send().await.unwrap_err();
    let body = scrape(&t).await;
    for op in Operation::ALL.iter().map(|o| o.name()).chain(["LookupEvents"]) {
        let ok = format!("trent_requests_total{{operation=\"{op}\",error_code=\"\"}}");
        assert!(value(&body, &ok).is_some(), "no success series for {op}");
        let count =
            format!("trent_request_duration_seconds_count{{operation=\"{op}\",error_code=\"\"}}");
        assert!(value(&body, &count).is_some(), "no latency histogram for {op}");
    }
    let encrypts = |code: &str| {
        value(
            &body,
            &format!("trent_requests_total{{operation=\"Encrypt\",error_code=\"{code}\"}}"),
        )
    };
    assert_eq!((encrypts(""), encrypts("NotFoundException")), (Some(1.0), Some(1.0)));
    // The domain's levels are there too.
    for series in [
        "trent_cache_lookups_total{cache=\"keys\",result=\"hit\"}",
        "trent_wrapping_pool_key_pairs{spec=\"RSA_4096\"}",
        "trent_heavy_work_in_flight",
        "trent_audit_write_failures_total",
    ] {
        assert!(value(&body, series).is_some(), "no {series} in\n{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_write_failure_is_counted() {
    let t = start().await;
    let c = t.client();
    t.audit.1.store(true, std::sync::atomic::Ordering::SeqCst);
    c.list_keys().send().await.unwrap_err();
    t.audit.1.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(value(&scrape(&t).await, "trent_audit_write_failures_total"), Some(1.0));
}

/// The notices handed to the notifier, and those written to the audit trail, of one type.
fn notices(t: &TestServer, detail_type: &str) -> Vec<serde_json::Value> {
    let of_type = |events: &[serde_json::Value]| -> Vec<serde_json::Value> {
        events.iter().filter(|e| e["detail-type"] == detail_type).cloned().collect()
    };
    let sent = of_type(&t.notices.0.lock().unwrap());
    let audited = of_type(&t.audit.0.lock().unwrap());
    assert_eq!(sent, audited, "every notice is in the audit trail too");
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_warning_is_sent_once_at_its_lead_time() {
    use trent_core::notices::WARNING;
    let t = start().await;
    let c = t.client();
    let id = external_key(&c).await;
    import_for(&t, &id, &fresh_material(), Some(40)).await;
    let warn = || async { t.kms.background().warn_expiring_materials().await.unwrap() };
    assert_eq!(warn().await, 0, "40 days ahead: nothing yet");
    t.clock.advance_ms(10 * DAY * 1000 + 1000);
    assert_eq!((warn().await, warn().await), (1, 0), "the 30-day warning, once");
    let w = notices(&t, WARNING);
    assert_eq!(w[0]["source"], "aws.kms");
    assert_eq!(w[0]["detail"]["key-id"], id.as_str());
    assert_eq!(w[0]["detail"]["lead-time-seconds"], 30 * DAY);
    assert_eq!(w[0]["resources"][0], format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}"));
    t.clock.advance_ms(23 * DAY * 1000);
    assert_eq!(warn().await, 1, "the 7-day warning");
    assert_eq!(notices(&t, WARNING)[1]["detail"]["lead-time-seconds"], 7 * DAY);
    // A second key imported 3 days before its expiry gets the tightest warning only.
    let soon = external_key(&c).await;
    import_for(&t, &soon, &fresh_material(), Some(3)).await;
    assert_eq!(warn().await, 1);
    let w = notices(&t, WARNING);
    assert_eq!((w.len(), &w[2]["detail"]["key-id"]), (3, &serde_json::json!(soon)));
    assert_eq!(w[2]["detail"]["lead-time-seconds"], 7 * DAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_sends_aws_event_and_a_reimport_is_warned_about_again() {
    use trent_core::notices::{EXPIRATION, WARNING};
    let t = start().await;
    let c = t.client();
    let id = external_key(&c).await;
    let material = fresh_material();
    import_for(&t, &id, &material, Some(2)).await;
    let warn = || async { t.kms.background().warn_expiring_materials().await.unwrap() };
    assert_eq!(warn().await, 1);
    t.clock.advance_ms(2 * DAY * 1000 + 1000);
    assert_eq!(t.kms.background().expire_due_materials().await.unwrap(), 1);
    let expired = notices(&t, EXPIRATION);
    assert_eq!(expired.len(), 1);
    let e = &expired[0];
    assert_eq!((&e["source"], &e["detail-type"]), (&"aws.kms".into(), &EXPIRATION.into()));
    assert_eq!(e["detail"], serde_json::json!({ "key-id": id }));
    assert_eq!((&e["account"], &e["region"]), (&ACCOUNT.into(), &"us-east-1".into()));
    // The same material, reimported with a new ValidTo, is warned about again.
    import_for(&t, &id, &material, Some(5)).await;
    assert_eq!(warn().await, 1);
    assert_eq!(notices(&t, WARNING).len(), 2);
}

/// The metrics listener has no authentication, so a page that rebinds its own name to this
/// address must not read it: a request naming another host than a loopback name or an IP
/// address is refused in the API's error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_only_loopback_names_and_ip_addresses() {
    let t = start().await;
    for (host, ok) in [
        ("localhost:9100", true),
        ("127.0.0.1:9100", true),
        ("[::1]:9100", true),
        ("evil.example:9100", false),
        ("localhost.evil.example", false),
    ] {
        let mut s = tokio::net::TcpStream::connect(t.metrics_addr).await.unwrap();
        let req = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        let text = String::from_utf8(buf).unwrap();
        if ok {
            assert!(text.starts_with("HTTP/1.1 200"), "{host}: {text}");
        } else {
            assert!(text.starts_with("HTTP/1.1 400"), "{host}: {text}");
            assert!(text.contains(r#""__type":"AccessDeniedException""#), "{host}: {text}");
            assert!(!text.contains("trent_requests"), "{host}");
        }
    }
}

/// Throttled calls are counted by operation with the code they were answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_are_counted() {
    let t = start().await;
    t.kms.set_quota_profile(trent_core::quotas::Profile::Fixed(0.001));
    for _ in 0..3 {
        t.raw("ListKeys", b"{}").await;
    }
    let body = scrape(&t).await;
    let series = "trent_requests_total{operation=\"ListKeys\",error_code=\"ThrottlingException\"}";
    assert_eq!(value(&body, series), Some(2.0), "{body}");
    assert_eq!(
        value(&body, "trent_requests_total{operation=\"ListKeys\",error_code=\"\"}"),
        Some(1.0)
    );
}
