//! Test harness: an in-process Trent on a random loopback port over a temporary SQLite
//! store, a manual clock, and clients that sign like real users.

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trent_core::{BootstrapCredentials, Kms, KmsConfig, ManualClock};
use trent_crypto::LocalRootKey;
use trent_server::{AppState, AuthMode};
use trent_store::SqliteStore;

pub const ACCOUNT: &str = "111122223333";

/// Audit events recorded by a test server; while `failing` is set, it refuses them as a
/// full disk would.
#[derive(Default)]
pub struct Captured(
    pub std::sync::Mutex<Vec<serde_json::Value>>,
    pub std::sync::atomic::AtomicBool,
);

impl trent_core::audit::AuditSink for Captured {
    fn record(&self, entry: trent_core::audit::Entry) -> trent_core::audit::AuditWrite {
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left");
            let full = trent_core::audit::AuditError::from(full);
            return trent_core::audit::AuditWrite::Done(Err(full));
        }
        // A call's compact entry is rendered as the trail renders it when read.
        let event = serde_json::from_str(&entry.rendered()).expect("a record is one JSON object");
        self.0.lock().unwrap().push(event);
        trent_core::audit::AuditWrite::Done(Ok(()))
    }
}

/// LookupEvents over the captured records (their sequence is their position from 1).
impl trent_core::audit::lookup::TrailReader for Captured {
    fn lookup(
        &self,
        q: &trent_core::audit::lookup::LookupQuery,
    ) -> Result<trent_core::audit::lookup::LookupPage, trent_core::audit::LookupError> {
        let all = self.0.lock().unwrap().clone();
        let mut page = trent_core::audit::lookup::LookupPage::default();
        for (i, r) in all.iter().enumerate().rev() {
            let seq = i as u64 + 1;
            if q.before_sequence.is_some_and(|b| seq >= b) {
                continue;
            }
            if trent_core::audit::lookup::matches(r, q) {
                page.records.push(r.clone());
                if page.records.len() == q.max_results {
                    page.next_before_sequence = Some(seq);
                    break;
                }
            }
        }
        Ok(page)
    }
}

/// Expiry notices handed to a test server's notifier.
#[derive(Default)]
pub struct Notices(pub std::sync::Mutex<Vec<serde_json::Value>>);

impl trent_core::notices::Notifier for Notices {
    fn notify(&self, event: &serde_json::Value) {
        self.0.lock().unwrap().push(event.clone());
    }
}

pub struct TestServer {
    pub audit: Arc<Captured>,
    pub notices: Arc<Notices>,
    pub addr: SocketAddr,
    /// `GET /metrics` is served here.
    pub metrics_addr: SocketAddr,
    pub kms: Arc<Kms>,
    pub clock: Arc<ManualClock>,
    pub creds: BootstrapCredentials,
    /// Keeps the data directory alive as long as the server.
    _dir: tempfile::TempDir,
}

pub async fn start() -> TestServer {
    // Wrapping keys on demand: a pool per test server would only burn CPU.
    let mut config = KmsConfig::default();
    config.wrapping_pool.size_per_spec = 0;
    start_with(config).await
}

pub async fn start_with(config: KmsConfig) -> TestServer {
    start_full(config, trent_server::Limits::default()).await
}

/// A server with the given edge limits.
pub async fn start_limited(limits: trent_server::Limits) -> TestServer {
    let mut config = KmsConfig::default();
    config.wrapping_pool.size_per_spec = 0;
    start_full(config, limits).await
}

pub async fn start_full(config: KmsConfig, limits: trent_server::Limits) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("trent.db")).unwrap());
    let root = LocalRootKey::new(&trent_crypto::random_secret(32).unwrap()).unwrap();
    let keyring = trent_core::Bootstrap::new(store.as_ref()).open_keyring(&root).await.unwrap();
    let clock = Arc::new(ManualClock::default());
    let audit = Arc::new(Captured::default());
    let notices = Arc::new(Notices::default());
    let kms = Kms::new(store, keyring, clock.clone(), config).with_audit(audit.clone());
    let kms = Arc::new(kms.with_notifier(notices.clone()));
    let creds = kms.admin().ensure_account(ACCOUNT).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_addr = metrics.local_addr().unwrap();
    let state = Arc::new(
        AppState::new(kms.clone(), AuthMode::SigV4, ACCOUNT.into())
            .with_limits(limits)
            .with_trail(audit.clone()),
    );
    tokio::spawn(trent_server::serve_metrics(metrics, state.clone(), std::future::pending()));
    tokio::spawn(trent_server::serve(listener, state, std::future::pending()));
    TestServer { audit, notices, addr, metrics_addr, kms, clock, creds, _dir: dir }
}

impl TestServer {
    /// The audit records named `event_name`, in the order written.
    pub fn events_named(&self, event_name: &str) -> Vec<serde_json::Value> {
        let events = self.audit.0.lock().unwrap();
        events.iter().filter(|e| e["eventName"] == event_name).cloned().collect()
    }

    pub fn client_in(&self, region: &str, akid: &str, secret: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(format!("http://{}", self.addr))
            .region(Region::new(region.to_string()))
            .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    /// A new account in `partition` (its root's access key id and secret).
    pub async fn account_in(&self, account: &str, partition: &str) -> (String, String) {
        let k = self.kms.admin().create_account(account, Some(partition)).await.unwrap();
        let secret = String::from_utf8(k.secret_access_key.as_bytes().to_vec()).unwrap();
        (k.access_key_id, secret)
    }

    /// A client of a new account in the China partition, signing for cn-north-1.
    pub async fn china(&self) -> aws_sdk_kms::Client {
        let (akid, secret) = self.account_in("666677778888", "aws-cn").await;
        self.client_in("cn-north-1", &akid, &secret)
    }

    pub fn secret(&self) -> String {
        String::from_utf8(self.creds.secret_access_key.as_bytes().to_vec()).unwrap()
    }

    pub fn client(&self) -> aws_sdk_kms::Client {
        self.client_in("us-east-1", &self.creds.access_key_id, &self.secret())
    }

    /// Sends a raw, correctly signed request as the account root; returns status and body.
    pub async fn raw(&self, target: &str, body: &[u8]) -> (u16, serde_json::Value) {
        self.raw_as(&self.creds.access_key_id, &self.secret(), target, body).await
    }

    /// Sends a raw request signed with the given access key; returns status and body.
    pub async fn raw_as(
        &self,
        access_key_id: &str,
        secret: &str,
        target: &str,
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        let (status, _, v) = self.raw_with_id(access_key_id, secret, target, body).await;
        (status, v)
    }

    /// As `raw_as`, with the `x-amzn-RequestId` of the answer.
    pub async fn raw_with_id(
        &self,
        access_key_id: &str,
        secret: &str,
        target: &str,
        body: &[u8],
    ) -> (u16, String, serde_json::Value) {
        let target_h = format!("TrentService.{target}");
        self.raw_for_service(access_key_id, secret, "kms", &target_h, body).await
    }

    /// A raw request for `service` (`kms`, `cloudtrail`) with this `X-Amz-Target`, signed with
    /// the given access key.
    pub async fn raw_for_service(
        &self,
        access_key_id: &str,
        secret: &str,
        service: &str,
        target_h: &str,
        body: &[u8],
    ) -> (u16, String, serde_json::Value) {
        let host = self.addr.to_string();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
                as i64;
        let amz_date = trent_sigv4::format_amz_date(now);
        let headers: Vec<(&str, &[u8])> = vec![
            ("content-type", b"application/x-amz-json-1.1"),
            ("host", host.as_bytes()),
            ("x-amz-date", amz_date.as_bytes()),
            ("x-amz-target", target_h.as_bytes()),
        ];
        let input = trent_sigv4::CanonicalInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let key = trent_sigv4::SigningKey::derive(secret, &amz_date[..8], "us-east-1", service);
        let auth = trent_sigv4::sign_request(
            &input,
            "content-type;host;x-amz-date;x-amz-target",
            access_key_id,
            &key,
            &amz_date,
            "us-east-1",
            service,
        );
        let mut req = format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-date: {amz_date}\r\nx-amz-target: {target_h}\r\nauthorization: {auth}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        http_exchange_with_id(self.addr, &req).await
    }
}

impl TestServer {
    /// Sends `headers` (plus `host` and `x-amz-date`, which it adds) with an `Authorization`
    /// made by signing only `signed` of them with the root's key, for `region`.
    pub async fn raw_signed(
        &self,
        headers: &[(&str, &str)],
        signed: &str,
        region: &str,
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        let host = self.addr.to_string();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
                as i64;
        let amz_date = trent_sigv4::format_amz_date(now);
        let mut all: Vec<(&str, &str)> = vec![("host", &host), ("x-amz-date", &amz_date)];
        all.extend_from_slice(headers);
        let pairs: Vec<(&str, &[u8])> = all.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        let input = trent_sigv4::CanonicalInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
            body,
        };
        let key = trent_sigv4::SigningKey::derive(&self.secret(), &amz_date[..8], region, "kms");
        let auth = trent_sigv4::sign_request(
            &input,
            signed,
            &self.creds.access_key_id,
            &key,
            &amz_date,
            region,
            "kms",
        );
        let mut req = String::from("POST / HTTP/1.1\r\n");
        for (k, v) in &all {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!(
            "authorization: {auth}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        ));
        let mut req = req.into_bytes();
        req.extend_from_slice(body);
        http_exchange(self.addr, &req).await
    }
}

/// Writes a raw HTTP/1.1 request and reads the whole response (the server closes it).
pub async fn http_exchange(addr: SocketAddr, req: &[u8]) -> (u16, serde_json::Value) {
    let (status, _, v) = http_exchange_with_id(addr, req).await;
    (status, v)
}

/// As `http_exchange`, with the `x-amzn-RequestId` of the answer ("" if it has none).
pub async fn http_exchange_with_id(
    addr: SocketAddr,
    req: &[u8],
) -> (u16, String, serde_json::Value) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text.split(' ').nth(1).unwrap().parse().unwrap();
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let request_id = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("x-amzn-requestid: ").map(String::from))
        .unwrap_or_default();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // The body may be chunked; the JSON object sits between the first '{' and last '}'.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    };
    (status, request_id, json)
}

/// The AWS error code and message of a failed SDK call.
pub fn err<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> (String, String) {
    (e.code().unwrap_or("<none>").to_string(), e.message().unwrap_or("").to_string())
}

/// GetParametersForImport, wrap `material` as a client would, ImportKeyMaterial (no expiry).
pub async fn import(
    c: &aws_sdk_kms::Client,
    id: &str,
    alg: aws_sdk_kms::types::AlgorithmSpec,
    spec: aws_sdk_kms::types::WrappingKeySpec,
    material: &[u8],
) -> Result<(), (String, String)> {
    import_with(c, id, alg, spec, material, None).await.map(drop)
}

pub const DAY: i64 = 86_400;

/// `d` days from now (the manual clock starts at the system's time).
pub fn in_days(d: i64) -> aws_sdk_kms::primitives::DateTime {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    aws_sdk_kms::primitives::DateTime::from_secs(now + d * DAY)
}

/// As [`import`], with the material expiring at `valid_to` (`None`: it does not expire).
pub async fn import_with(
    c: &aws_sdk_kms::Client,
    id: &str,
    alg: aws_sdk_kms::types::AlgorithmSpec,
    spec: aws_sdk_kms::types::WrappingKeySpec,
    material: &[u8],
    valid_to: Option<aws_sdk_kms::primitives::DateTime>,
) -> Result<aws_sdk_kms::operation::import_key_material::ImportKeyMaterialOutput, (String, String)>
{
    let p = c
        .get_parameters_for_import()
        .key_id(id)
        .wrapping_algorithm(alg.clone())
        .wrapping_key_spec(spec)
        .send()
        .await
        .map_err(err)?;
    let wrapped = trent_crypto::import::wrap_material(
        trent_crypto::import::WrapAlgorithm::from_aws_name(alg.as_str()).unwrap(),
        p.public_key().unwrap().as_ref(),
        material,
    )
    .unwrap();
    let req = c
        .import_key_material()
        .key_id(id)
        .import_token(p.import_token.unwrap())
        .encrypted_key_material(aws_sdk_kms::primitives::Blob::new(wrapped));
    let req = match valid_to {
        Some(t) => req.valid_to(t),
        None => {
            req.expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        }
    };
    req.send().await.map_err(err)
}

/// A new EXTERNAL key of `spec` and `usage`, waiting for its material.
pub async fn external(
    c: &aws_sdk_kms::Client,
    spec: aws_sdk_kms::types::KeySpec,
    usage: aws_sdk_kms::types::KeyUsageType,
) -> String {
    c.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}
