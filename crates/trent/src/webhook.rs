//! Expiry notices POSTed to a webhook (`--notify-webhook`): a bounded queue that never blocks
//! its caller (a full queue drops the notice, counted), one sender task, and retries with
//! exponential backoff. The audit trail holds every notice whatever becomes of its delivery.

use anyhow::Context as _;

use http_body_util::Full;
use hyper::body::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::time::Duration;
use trent_core::notices::Notifier;

/// Notices waiting for delivery; more are dropped.
const QUEUE: usize = 1000;
/// Tries per notice, waiting 1, 2, 4, 8 s between them.
const ATTEMPTS: u32 = 5;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries by outcome: `delivered`, `failed` (every attempt failed) or `dropped` (the
/// queue was full).
pub type Outcomes = Family<[(&'static str, &'static str); 1], Counter>;

pub struct Webhook {
    queue: tokio::sync::mpsc::Sender<Bytes>,
    outcomes: Outcomes,
}

fn count(outcomes: &Outcomes, outcome: &'static str) {
    outcomes.get_or_create(&[("outcome", outcome)]).inc();
}

impl Webhook {
    /// Starts the sender task for `url` on the current runtime.
    pub fn start(url: &str) -> anyhow::Result<(Self, Outcomes)> {
        let uri: hyper::Uri =
            url.parse().with_context(|| format!("--notify-webhook '{url}' is not a URL"))?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("cannot load the system's CA certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build::<_, Full<Bytes>>(https);
        let (queue, mut rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
        let outcomes = Outcomes::default();
        let counted = outcomes.clone();
        tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                let outcome = deliver(&client, &uri, body).await;
                count(&counted, outcome);
            }
        });
        Ok((Webhook { queue, outcomes: outcomes.clone() }, outcomes))
    }
}

async fn deliver<C>(
    client: &hyper_util::client::legacy::Client<C, Full<Bytes>>,
    uri: &hyper::Uri,
    body: Bytes,
) -> &'static str
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        let request = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .header("user-agent", concat!("trent/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body.clone()));
        let Ok(request) = request else { return "failed" };
        let why = match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
            Ok(Ok(resp)) if resp.status().is_success() => return "delivered",
            Ok(Ok(resp)) => format!("HTTP {}", resp.status()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".into(),
        };
        // The URL may carry a token: the log names the host only.
        let host = uri.host().unwrap_or("-");
        tracing::warn!(host, attempt, reason = %why, "expiry notice not delivered to the webhook");
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::error!(
        host = uri.host().unwrap_or("-"),
        "expiry notice given up after {ATTEMPTS} attempts (it is in the audit trail)"
    );
    "failed"
}

impl Notifier for Webhook {
    fn notify(&self, event: &serde_json::Value) {
        let body = Bytes::from(event.to_string());
        if self.queue.try_send(body).is_err() {
            count(&self.outcomes, "dropped");
            tracing::warn!(
                "expiry notice dropped: the webhook queue is full (it is in the audit trail)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A webhook that answers 500 once, then 204: the notice arrives on the second try.
    #[tokio::test]
    async fn a_notice_is_retried_until_delivered() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (hook, outcomes) = Webhook::start(&url).unwrap();
        hook.notify(&serde_json::json!({ "detail-type": "test", "detail": { "key-id": "k" } }));
        let mut bodies = Vec::new();
        for status in ["500 Internal Server Error", "204 No Content"] {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("\"key-id\"") {
                let n = s.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            bodies.push(String::from_utf8(got).unwrap());
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            s.write_all(answer.as_bytes()).await.unwrap();
        }
        assert!(bodies.iter().all(|b| b.starts_with("POST /hook HTTP/1.1")), "{bodies:?}");
        assert!(bodies[1].contains("content-type: application/json"), "{}", bodies[1]);
        for _ in 0..100 {
            if outcomes.get_or_create(&[("outcome", "delivered")]).get() == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the second attempt was not counted as delivered");
    }

    #[test]
    fn a_full_queue_drops_without_blocking() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            // Nobody listens on port 9 (discard) of loopback: every attempt fails slowly
            // enough that the queue fills.
            let (hook, outcomes) = Webhook::start("http://127.0.0.1:9/").unwrap();
            for _ in 0..QUEUE + 10 {
                hook.notify(&serde_json::json!({}));
            }
            assert!(outcomes.get_or_create(&[("outcome", "dropped")]).get() >= 9);
        });
    }
}
