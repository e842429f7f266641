//! A minimal KMS client for load generation: one HTTP/1.1 keep-alive connection, every
//! request signed with SigV4 exactly as an SDK signs it.

use anyhow::Context as _;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use trent_sigv4::{format_amz_date, sign_request, CanonicalInput, SigningKey};

#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

pub struct Client {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    host: String,
    creds: Credentials,
    key: Option<(String, SigningKey)>,
}

impl Client {
    pub async fn connect(addr: SocketAddr, creds: Credentials) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("handshake")?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client { addr, sender, host: addr.to_string(), creds, key: None })
    }

    /// Sends `TrentService.<target>` with `body`; returns the status and the body.
    pub async fn call(&mut self, target: &str, body: Vec<u8>) -> anyhow::Result<(u16, Bytes)> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        let amz_date = format_amz_date(now.as_secs() as i64);
        let day = &amz_date[..8];
        if self.key.as_ref().is_none_or(|(d, _)| d != day) {
            let k =
                SigningKey::derive(&self.creds.secret_access_key, day, &self.creds.region, "kms");
            self.key = Some((day.to_string(), k));
        }
        let key = &self.key.as_ref().context("no signing key")?.1;
        let target = format!("TrentService.{target}");
        let headers: [(&str, &[u8]); 4] = [
            ("content-type", b"application/x-amz-json-1.1"),
            ("host", self.host.as_bytes()),
            ("x-amz-date", amz_date.as_bytes()),
            ("x-amz-target", target.as_bytes()),
        ];
        let input =
            CanonicalInput { method: "POST", path: "/", query: "", headers: &headers, body: &body };
        let auth = sign_request(
            &input,
            "content-type;host;x-amz-date;x-amz-target",
            &self.creds.access_key_id,
            key,
            &amz_date,
            &self.creds.region,
            "kms",
        );
        let req = hyper::Request::post("/")
            .header("content-type", "application/x-amz-json-1.1")
            .header("host", &self.host)
            .header("x-amz-date", &amz_date)
            .header("x-amz-target", &target)
            .header("authorization", auth)
            .body(Full::new(Bytes::from(body)))?;
        // Servers that close the connection after each answer (moto's, for one) get a new one.
        if self.sender.is_closed() || self.sender.ready().await.is_err() {
            let fresh = Client::connect(self.addr, self.creds.clone()).await?;
            self.sender = fresh.sender;
        }
        let resp = self.sender.send_request(req).await.context("request")?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.context("body")?.to_bytes();
        Ok((status, body))
    }

    /// As [`Client::call`], failing unless the answer is 200; returns the JSON.
    pub async fn ok(
        &mut self,
        target: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let (status, out) = self.call(target, body.to_string().into_bytes()).await?;
        if status != 200 {
            return Err(anyhow::anyhow!(
                "{target}: HTTP {status}: {}",
                String::from_utf8_lossy(&out)
            ));
        }
        if out.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&out).with_context(|| target.to_string())
    }
}
