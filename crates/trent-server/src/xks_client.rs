//! HTTPS to the XKS proxies of external key stores (`trent_core::XksTransport`): TLS with
//! the system's roots and an operator's CA (`--xks-client-ca`), HTTP/1.1, a few idle
//! connections kept per proxy so that a call does not pay a handshake inside AWS's 250 ms
//! budget, and `--xks-client-connect HOST=ADDR:PORT` to reach a proxy at another address
//! than `HOST:443` (a proxy on a test port, a load balancer's address), as curl's
//! `--connect-to`: TLS still checks the certificate against `HOST`.

use async_trait::async_trait;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use trent_core::{TransportError, XksHttpRequest, XksHttpResponse, XksTransport};

/// Idle connections kept per proxy host.
const IDLE_PER_HOST: usize = 8;
/// The most a proxy's answer may be (the spec's largest is a 4,300-byte ciphertext, base64).
const MAX_ANSWER: usize = 64 * 1024;

/// Why the client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum XksClientError {
    #[error("cannot read the CA certificates in {0}")]
    Ca(String, #[source] rustls::pki_types::pem::Error),
    #[error("{0} is not a CA certificate rustls accepts")]
    BadCa(String, #[source] rustls::Error),
    #[error("'{0}' is not HOST=ADDRESS:PORT")]
    Connect(String),
    #[error("TLS configuration")]
    Tls(#[source] rustls::Error),
    #[error("cannot read the client certificate or key in {0}")]
    ClientCert(String, #[source] rustls::pki_types::pem::Error),
    #[error("the client certificate and key in {0} do not go together")]
    BadClientCert(String, #[source] rustls::Error),
}

/// A certificate (chain) and its private key, PEM files, that Trent presents to proxies
/// requiring mutual TLS (`--xks-client-cert`, `--xks-client-key`).
pub struct ClientCertificate<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

pub struct HttpsXks {
    tls: tokio_rustls::TlsConnector,
    connect_to: HashMap<String, String>,
    idle: Mutex<HashMap<String, Vec<SendRequest<Full<Bytes>>>>>,
}

impl HttpsXks {
    /// A client trusting the system's CA certificates and those in `ca`, reaching each host
    /// of `connect_to` (`HOST=ADDR:PORT`) at its address.
    pub fn new(
        ca: Option<&Path>,
        connect_to: &[String],
        client: Option<ClientCertificate<'_>>,
    ) -> Result<Self, XksClientError> {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_native_certs::load_native_certs().certs {
            // A system certificate rustls cannot use is skipped, as browsers do.
            let _ = roots.add(c);
        }
        if let Some(ca) = ca {
            let shown = ca.display().to_string();
            for c in CertificateDer::pem_file_iter(ca)
                .map_err(|e| XksClientError::Ca(shown.clone(), e))?
            {
                let c = c.map_err(|e| XksClientError::Ca(shown.clone(), e))?;
                roots.add(c).map_err(|e| XksClientError::BadCa(shown.clone(), e))?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(XksClientError::Tls)?
            .with_root_certificates(roots);
        let config = match client {
            None => config.with_no_client_auth(),
            Some(c) => {
                let shown = c.cert.display().to_string();
                let read = |e| XksClientError::ClientCert(shown.clone(), e);
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(c.cert)
                    .map_err(read)?
                    .collect::<Result<_, _>>()
                    .map_err(read)?;
                let key = rustls::pki_types::PrivateKeyDer::from_pem_file(c.key)
                    .map_err(|e| XksClientError::ClientCert(c.key.display().to_string(), e))?;
                config
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| XksClientError::BadClientCert(shown.clone(), e))?
            }
        };
        let mut map = HashMap::new();
        for entry in connect_to {
            let (host, addr) =
                entry.split_once('=').ok_or_else(|| XksClientError::Connect(entry.clone()))?;
            if host.is_empty() || addr.rsplit_once(':').is_none() {
                return Err(XksClientError::Connect(entry.clone()));
            }
            map.insert(host.to_ascii_lowercase(), addr.to_string());
        }
        Ok(HttpsXks {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            connect_to: map,
            idle: Mutex::new(HashMap::new()),
        })
    }

    fn take_idle(&self, host: &str) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(host)?;
        while let Some(s) = list.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    fn keep_idle(&self, host: &str, s: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(host.to_string()).or_default();
        if list.len() < IDLE_PER_HOST {
            list.push(s);
        }
    }

    async fn open(&self, host: &str) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let addr = self.connect_to.get(&host.to_ascii_lowercase()).cloned();
        let addr = addr.unwrap_or_else(|| format!("{host}:443"));
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| TransportError::Unreachable(format!("{addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| TransportError::Tls(format!("'{host}' is not a TLS server name")))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| TransportError::Tls(format!("{host}: {e}")))?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| TransportError::Unreachable(format!("{host}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    async fn send(
        &self,
        sender: &mut SendRequest<Full<Bytes>>,
        r: &XksHttpRequest,
    ) -> Result<XksHttpResponse, TransportError> {
        let unreachable =
            |e: &dyn std::fmt::Display| TransportError::Unreachable(format!("{}: {e}", r.host));
        let mut request = hyper::Request::post(r.path.as_str()).header("host", r.host.as_str());
        for (name, value) in &r.headers {
            request = request.header(*name, value.as_str());
        }
        let request =
            request.body(Full::new(Bytes::from(r.body.clone()))).map_err(|e| unreachable(&e))?;
        sender.ready().await.map_err(|e| unreachable(&e))?;
        let response = sender.send_request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        Ok(XksHttpResponse { status, body: body.to_vec() })
    }
}

#[async_trait]
impl XksTransport for HttpsXks {
    async fn post(&self, r: XksHttpRequest) -> Result<XksHttpResponse, TransportError> {
        // An idle connection the proxy closed meanwhile fails at once: then a new one.
        if let Some(mut s) = self.take_idle(&r.host) {
            if let Ok(answer) = self.send(&mut s, &r).await {
                self.keep_idle(&r.host, s);
                return Ok(answer);
            }
        }
        let mut s = self.open(&r.host).await?;
        let answer = self.send(&mut s, &r).await?;
        self.keep_idle(&r.host, s);
        Ok(answer)
    }
}
