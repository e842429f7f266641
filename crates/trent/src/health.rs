//! `trent health`: asks the server this machine runs with the same settings (`TRENT_*`,
//! `TRENT_CONFIG`) whether it answers `GET /health` — a container's health check, which has
//! no curl in an image made of the binary alone (docs/container.md).

use anyhow::Context as _;

use clap::{Args, FromArgMatches as _};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ServeArgs, ServeConfig, TlsChoice};

/// How long the whole check may take: a health check's own timeout is longer.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Args)]
pub struct HealthArgs {
    /// The server's address, instead of the one `serve` would listen on with this
    /// environment (TRENT_LISTEN; an unspecified address is asked on loopback).
    #[arg(long)]
    address: Option<SocketAddr>,
}

/// Where and how to ask.
struct Target {
    addr: SocketAddr,
    /// With TLS: the certificates trusted for the server's, and the name it is asked by.
    tls: Option<Vec<CertificateDer<'static>>>,
}

/// The settings `trent serve` would run with in this environment: its flags are not given,
/// so clap reads the `TRENT_*` variables (and `TRENT_CONFIG`'s file) alone.
fn serve_settings() -> anyhow::Result<ServeConfig> {
    let cmd = <ServeArgs as Args>::augment_args(clap::Command::new("serve"));
    let matches = cmd.try_get_matches_from(["serve"])?;
    ServeConfig::resolve(ServeArgs::from_arg_matches(&matches)?)
}

fn target(args: &HealthArgs) -> anyhow::Result<Target> {
    let cfg = serve_settings()?;
    let mut addr = args.address.unwrap_or(cfg.listen);
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    // The server's certificate is trusted as `serve` made or was given it: the development
    // CA in the data directory, or the chain it serves (asked as `localhost`).
    let trusted: Option<PathBuf> = match &cfg.tls {
        TlsChoice::Plain => None,
        TlsChoice::SelfSigned { .. } => Some(cfg.data_dir.join("tls").join("ca.pem")),
        TlsChoice::Files(files) => Some(files.cert.clone()),
    };
    let tls = match trusted {
        None => None,
        Some(path) => Some(
            CertificateDer::pem_file_iter(&path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("cannot read the certificates in {}", path.display()))?,
        ),
    };
    Ok(Target { addr, tls })
}

async fn ask(target: Target) -> anyhow::Result<()> {
    let tcp = tokio::net::TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("nothing answers on {}", target.addr))?;
    let request = hyper::Request::get("/health")
        .header("host", format!("localhost:{}", target.addr.port()))
        .body(Empty::<Bytes>::new())?;
    let response = match target.tls {
        None => {
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(conn);
            send.send_request(request).await?
        }
        Some(certs) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs {
                roots.add(c).context("a certificate to trust is not valid")?;
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost")?, tcp)
                .await
                .context("TLS handshake")?;
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            send.send_request(request).await?
        }
    };
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    anyhow::ensure!(status.is_success() && body.as_ref() == b"ok", "/health answered {status}");
    Ok(())
}

pub fn run(args: HealthArgs) -> anyhow::Result<()> {
    let target = target(&args)?;
    let addr = target.addr;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime
        .block_on(async { tokio::time::timeout(TIMEOUT, ask(target)).await })
        .map_err(|_| anyhow::anyhow!("{addr} did not answer within {TIMEOUT:?}"))??;
    println!("ok");
    Ok(())
}
