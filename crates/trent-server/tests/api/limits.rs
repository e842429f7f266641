//! What no client can exhaust: idle and slow-loris connections are closed within their
//! timeouts, a trickled body is cut off, and past the connection limit a new connection evicts
//! the one idle the longest, so that health checks and real clients still get in.

use crate::common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use trent_server::Limits;

fn limits(max_connections: usize) -> Limits {
    Limits {
        max_connections,
        header_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        request_timeout: Duration::from_secs(60),
        drain: Duration::from_secs(2),
    }
}

/// Whether the server closed `s` (end of stream or reset) within `within`; the bytes it sent.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(all),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

async fn health(t: &TestServer) -> bool {
    let req = b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let go = async {
        let mut s = TcpStream::connect(t.addr).await.ok()?;
        s.write_all(req).await.ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        Some(out.starts_with("HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(3), go).await.ok().flatten().unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_header_trickling_connections_are_closed() {
    let t = start_limited(limits(100)).await;
    let mut idle = TcpStream::connect(t.addr).await.unwrap();
    let mut trickle = TcpStream::connect(t.addr).await.unwrap();
    let started = Instant::now();
    let trickler = tokio::spawn(async move {
        for b in b"POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\n" {
            if trickle.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        closed_within(&mut trickle, Duration::from_secs(3)).await.is_some()
    });
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await.is_some(), "idle stayed open");
    assert!(trickler.await.unwrap(), "a header trickler stayed open");
    assert!(started.elapsed() < Duration::from_secs(4));
    // A keep-alive connection that goes idle after a request is closed too.
    let mut ka = TcpStream::connect(t.addr).await.unwrap();
    ka.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let out = closed_within(&mut ka, Duration::from_secs(3)).await.expect("closed after idling");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_is_cut_off_with_a_json_error() {
    let t = start_limited(limits(100)).await;
    let mut s = TcpStream::connect(t.addr).await.unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 1000\r\n\r\n{",
    )
    .await
    .unwrap();
    let out =
        closed_within(&mut s, Duration::from_secs(3)).await.expect("the trickler was cut off");
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""__type":"RequestTimeoutException""#), "{text}");
}

/// A request whose handling outlasts the request timeout (RSA-4096 generation here) gets
/// KMSInternalException, a 500 the SDKs retry, instead of holding the client forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_handled_within_the_request_timeout() {
    let t =
        start_limited(Limits { request_timeout: Duration::from_millis(20), ..limits(50) }).await;
    let key = t.client().create_key().send().await.unwrap().key_metadata.unwrap();
    let body = serde_json::json!({ "KeyId": key.key_id(), "KeyPairSpec": "RSA_4096" }).to_string();
    let started = Instant::now();
    let (status, json) = t.raw("GenerateDataKeyPair", body.as_bytes()).await;
    assert_eq!((status, json["__type"].as_str()), (500, Some("KMSInternalException")), "{json}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_limit_the_longest_idle_connection_makes_room() {
    let t = start_limited(Limits { header_timeout: Duration::from_secs(60), ..limits(50) }).await;
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(TcpStream::connect(t.addr).await.unwrap());
    }
    // Health checks and clients still get in, whatever piles up.
    for _ in 0..5 {
        assert!(health(&t).await, "/health did not answer with 80 idle sockets and 50 places");
    }
    let client = t.client();
    client.list_keys().send().await.unwrap();
    // The oldest idle ones were closed to make room: never more than 50 are held.
    let mut open = 0;
    for s in idle.iter_mut() {
        if closed_within(s, Duration::from_millis(20)).await.is_none() {
            open += 1;
        }
    }
    assert!(open <= 50, "{open} idle connections held with a limit of 50");
}

/// What hyper refuses before any handler runs is answered in AWS's JSON error shape too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_layer_refusals_have_json_bodies() {
    let t = start().await;
    let many: String = (0..150).map(|i| format!("h{i}: v\r\n")).collect();
    for (req, status, kind) in [
        (
            "POST / HTTP/1.1\r\nhost: x\r\nx-bad: a\u{1}b\r\n\r\n".to_string(),
            "400",
            "SerializationException",
        ),
        (
            format!("POST / HTTP/1.1\r\nhost: x\r\n{many}\r\n"),
            "431",
            "RequestHeaderFieldsTooLargeException",
        ),
        ("NOT HTTP\r\n\r\n".to_string(), "400", "SerializationException"),
    ] {
        let mut s = TcpStream::connect(t.addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let out = closed_within(&mut s, Duration::from_secs(3)).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        assert!(text.contains("content-type: application/x-amz-json-1.1"), "{text}");
        let body: serde_json::Value =
            serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["__type"], kind, "{text}");
    }
}

/// A table full of bodies trickled a byte at a time still lets a new client in: past its first
/// second the slowest body is cut (RequestTimeoutException, then the connection closes), and
/// `/health` answers at once, long before the body timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_table_of_trickled_bodies_makes_room_by_cutting_the_slowest() {
    let t = start_limited(Limits { body_timeout: Duration::from_secs(60), ..limits(20) }).await;
    let head = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: TrentService.PutKeyPolicy\r\ncontent-length: 262144\r\n\r\n{";
    let mut tricklers = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(t.addr).await.unwrap();
        s.write_all(head).await.unwrap();
        tricklers.push(s);
    }
    // Past the grace, with every connection busy reading a body.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for s in &mut tricklers {
        let _ = s.write_all(b" ").await;
    }
    let started = Instant::now();
    assert!(health(&t).await, "/health did not answer");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // One trickler was cut, with an answer in the API's shape.
    let mut cut = None;
    for s in &mut tricklers {
        if let Some(out) = closed_within(s, Duration::from_millis(100)).await {
            cut = Some(String::from_utf8_lossy(&out).to_string());
            break;
        }
    }
    let cut = cut.expect("no trickled body was cut");
    assert!(cut.contains(r#""__type":"RequestTimeoutException""#), "{cut}");
}
