//! TLS with rustls: the server certificate and key from PEM files, reloaded on demand (the
//! binary calls `reload` on SIGHUP; connections already open keep theirs), optionally requiring
//! client certificates issued by a given CA (mutual TLS); and a development mode that makes a
//! CA and a certificate for `localhost`, `127.0.0.1` and `::1` in the data directory, so that
//! `AWS_CA_BUNDLE=<data-dir>/tls/ca.pem` is all an AWS client needs.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Why TLS cannot be set up: what and where, with the cause as the source.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot {what} {}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not PEM", .path.display())]
    Pem {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("{} holds no certificate", .0.display())]
    NoCertificate(PathBuf),
    #[error("{}: {what}", path.display())]
    Rustls {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("client CA {}", .path.display())]
    ClientCa {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("cannot make the development certificates")]
    Generate(#[from] rcgen::Error),
}

fn pem(path: &Path) -> impl FnOnce(rustls::pki_types::pem::Error) -> TlsError + '_ {
    move |source| TlsError::Pem { path: path.to_path_buf(), source }
}

/// Where the certificate, its key and (for mutual TLS) the clients' CA are.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: admit clients that present no certificate (the KMS API's) and check
    /// one only where it is required — an XKS endpoint's client subject (docs/xks.md).
    pub client_optional: bool,
}

/// The server side of TLS: an acceptor whose certificate can be replaced while it serves.
pub struct Tls {
    settings: TlsSettings,
    current: Arc<Current>,
    acceptor: tokio_rustls::TlsAcceptor,
}

#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|c| c.clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certified_key(s: &TlsSettings) -> Result<CertifiedKey, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&s.cert)
        .map_err(pem(&s.cert))?
        .collect::<Result<_, _>>()
        .map_err(pem(&s.cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(s.cert.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(&s.key).map_err(pem(&s.key))?;
    CertifiedKey::from_der(certs, key, &provider()).map_err(|source| TlsError::Rustls {
        what: "the certificate and this key do not make a key pair",
        path: s.key.clone(),
        source,
    })
}

impl Tls {
    pub fn load(settings: TlsSettings) -> Result<Self, TlsError> {
        let current = Arc::new(Current(RwLock::new(Arc::new(certified_key(&settings)?))));
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                what: "no protocol version",
                path: settings.cert.clone(),
                source,
            })?;
        let builder = match &settings.client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(ca).map_err(pem(ca))? {
                    roots.add(c.map_err(pem(ca))?).map_err(|source| TlsError::Rustls {
                        what: "a bad CA certificate",
                        path: ca.clone(),
                        source,
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
                let verifier = if settings.client_optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|source| TlsError::ClientCa { path: ca.clone(), source })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls { settings, current, acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) })
    }

    /// Reads the certificate and key again; on any error the one in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(certified_key(&self.settings)?);
        if let Ok(mut c) = self.current.0.write() {
            *c = fresh;
        }
        Ok(())
    }

    pub(crate) fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }

    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }
}

/// The development certificates under `dir/tls`: `ca.pem` (give it to clients), `server.pem`
/// and `server.key` (mode 0600). Made once; kept across restarts.
pub fn ensure_self_signed(dir: &Path) -> Result<TlsSettings, TlsError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let tls = dir.join("tls");
    let settings = TlsSettings {
        cert: tls.join("server.pem"),
        key: tls.join("server.key"),
        client_ca: None,
        client_optional: false,
    };
    if settings.cert.exists() && settings.key.exists() && tls.join("ca.pem").exists() {
        return Ok(settings);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&tls)
        .map_err(|source| TlsError::File { what: "create", path: tls.clone(), source })?;
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Trent development CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = rcgen::CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    leaf.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&key, &issuer)?;
    // Each file is written aside and renamed into place: a crash halfway leaves no truncated
    // certificate that the existence check above would take for a finished one.
    let write = |path: &Path, text: &str, mode: u32| -> Result<(), TlsError> {
        use std::io::Write;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|source| TlsError::File { what: "write", path: tmp.clone(), source })?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|source| TlsError::File { what: "write", path: path.to_path_buf(), source })
    };
    // The CA's key is not kept: nothing can be issued with it after this.
    write(&settings.key, &key.serialize_pem(), 0o600)?;
    write(&settings.cert, &leaf_cert.pem(), 0o644)?;
    write(&tls.join("ca.pem"), &ca_cert.pem(), 0o644)?;
    Ok(settings)
}

/// The subject common name (CN) of the certificate a client presented and the handshake
/// verified, if any: what an XKS endpoint's client subject is checked against (AWS KMS
/// presents `CN=cks.kms.<region>.amazonaws.com`).
pub(crate) fn client_subject(certs: Option<&[CertificateDer<'_>]>) -> Option<Arc<str>> {
    use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
    use x509_cert::der::{oid::ObjectIdentifier, Decode};
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    let leaf = certs?.first()?;
    let cert = x509_cert::Certificate::from_der(leaf.as_ref()).ok()?;
    let subject = &cert.tbs_certificate.subject;
    let atv = subject.0.iter().flat_map(|rdn| rdn.0.iter()).find(|a| a.oid == CN)?;
    let text = match atv.value.decode_as::<Utf8StringRef<'_>>() {
        Ok(s) => s.as_str().to_string(),
        Err(_) => atv.value.decode_as::<PrintableStringRef<'_>>().ok()?.as_str().to_string(),
    };
    Some(Arc::from(text))
}
