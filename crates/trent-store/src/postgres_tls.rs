//! TLS to PostgreSQL: the libpq settings `sslmode` and `sslrootcert` of the connection string,
//! checked and applied with rustls (tokio-postgres itself parses neither `verify-full` nor
//! `sslrootcert`). Plaintext is taken only to a loopback or Unix-socket server, or when the
//! operator writes `sslmode=disable`; TLS always verifies the certificate chain and name.

use crate::{Fault, Result, StoreError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::net::IpAddr;
use std::sync::Arc;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How connections to the database are made.
#[derive(Clone)]
pub(crate) enum PgTls {
    Plain,
    Verified(MakeRustlsConnect),
}

/// The connection settings of `url` and the TLS they ask for.
pub(crate) fn settings(url: &str) -> Result<(tokio_postgres::Config, PgTls)> {
    let (rest, mode, root) = take_tls_params(url);
    // The parser's own error can quote the string (with its password): say only what failed.
    let mut config: tokio_postgres::Config =
        rest.parse().map_err(|e: tokio_postgres::Error| cause("bad connection string", e))?;
    let loopback = is_loopback(&config);
    let tls = match (mode.as_deref(), root) {
        (None, None) if loopback => PgTls::Plain,
        (None, None) => {
            return Err(config_error(
                "the PostgreSQL server is not on this machine and the connection string asks \
                 for no TLS: add sslmode=verify-full&sslrootcert=<CA file> (or sslmode=disable \
                 to accept plaintext)",
            ))
        }
        (Some("disable"), None) => {
            if !loopback {
                tracing::warn!("connecting to PostgreSQL without TLS (sslmode=disable)");
            }
            PgTls::Plain
        }
        (Some("verify-full"), Some(root)) => {
            config.ssl_mode(SslMode::Require);
            PgTls::Verified(MakeRustlsConnect::new(client_config(&root)?))
        }
        (Some("verify-full"), None) => {
            return Err(config_error("sslmode=verify-full needs sslrootcert=<CA file>"))
        }
        (None | Some("disable"), Some(_)) => {
            return Err(config_error("sslrootcert is used only with sslmode=verify-full"))
        }
        (Some(m @ ("allow" | "prefer" | "require" | "verify-ca")), _) => {
            return Err(config_error(&format!(
                "sslmode={m} does not verify the server's name, so anyone on the path could \
                 act as the database: use sslmode=verify-full with sslrootcert=<CA file>"
            )))
        }
        (Some(m), _) => return Err(config_error(&format!("unknown sslmode {m:?}"))),
    };
    Ok((config, tls))
}

fn config_error(message: &str) -> StoreError {
    Fault::Settings(message.to_string()).into()
}

fn cause(
    what: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    Fault::SettingsCause { what: what.into(), source: Box::new(source) }.into()
}

/// Every host is this machine: a Unix socket, `localhost` or a loopback address (`hostaddr`,
/// when given, is where the connection goes).
fn is_loopback(config: &tokio_postgres::Config) -> bool {
    if !config.get_hostaddrs().is_empty() {
        return config.get_hostaddrs().iter().all(IpAddr::is_loopback);
    }
    config.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name == "localhost"
                || name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
        }
    })
}

fn client_config(root: &str) -> Result<rustls::ClientConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(root)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| cause(format!("cannot read sslrootcert {root}"), e))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| cause(format!("sslrootcert {root} holds a bad certificate"), e))?;
    }
    if roots.is_empty() {
        return Err(config_error(&format!("sslrootcert {root} holds no certificate")));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| cause("no TLS protocol version to offer", e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Splits `sslmode` and `sslrootcert` off a URL (`postgres://…?sslmode=…&…`) or a key=value
/// connection string; what remains goes to tokio-postgres.
fn take_tls_params(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: String| match key {
        "sslmode" => mode = Some(value),
        "sslrootcert" => root = Some(value),
        _ => unreachable!(),
    };
    let is_tls_param = |p: &str| p.starts_with("sslmode=") || p.starts_with("sslrootcert=");
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for p in query.split('&') {
                    match p.split_once('=') {
                        Some((k, v)) if is_tls_param(p) => take(k, percent_decode(v)),
                        _ => kept.push(p),
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for token in split_key_values(url) {
            match token.split_once('=') {
                Some((k, v)) if is_tls_param(&token) => take(k, unquote(v)),
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    (rest, mode, root)
}

/// The whitespace-separated `key=value` tokens of a libpq connection string, single-quoted
/// values (with `\'` and `\\`) kept whole.
fn split_key_values(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '\'' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("\\'", "'").replace("\\\\", "\\"),
        None => v.to_string(),
    }
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How `url` connects, or the error's text with its causes.
    fn mode_of(url: &str) -> std::result::Result<&'static str, Refused> {
        match settings(url) {
            Ok((_, PgTls::Plain)) => Ok("plain"),
            Ok((_, PgTls::Verified(_))) => Ok("verified"),
            Err(e) => {
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text = format!("{text}: {c}");
                    cause = c.source();
                }
                Err(Refused(text))
            }
        }
    }

    #[derive(Debug, PartialEq)]
    struct Refused(String);

    impl std::ops::Deref for Refused {
        type Target = str;
        fn deref(&self) -> &str {
            &self.0
        }
    }

    #[test]
    fn tls_params_are_split_off_both_forms() {
        let (rest, mode, root) = take_tls_params(
            "postgres://u:p@db/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5",
        );
        assert_eq!(rest, "postgres://u:p@db/x?connect_timeout=5");
        assert_eq!((mode.as_deref(), root.as_deref()), (Some("verify-full"), Some("/etc/ca.pem")));
        let (rest, mode, root) =
            take_tls_params("host=db password='a b\\'c' sslmode=disable sslrootcert='/x y'");
        assert_eq!(rest, "host=db password='a b\\'c'");
        assert_eq!((mode.as_deref(), root.as_deref()), (Some("disable"), Some("/x y")));
    }

    #[test]
    fn plaintext_only_to_this_machine_or_when_asked() {
        assert_eq!(mode_of("host=127.0.0.1 user=t"), Ok("plain"));
        assert_eq!(mode_of("postgres://t@localhost/db"), Ok("plain"));
        assert_eq!(mode_of("host=/run/postgresql user=t"), Ok("plain"));
        assert_eq!(mode_of("host=db.internal hostaddr=127.0.0.1 user=t"), Ok("plain"));
        assert!(mode_of("host=db.internal user=t").unwrap_err().contains("sslmode=verify-full"));
        assert!(mode_of("host=localhost hostaddr=10.0.0.5").is_err());
        assert_eq!(mode_of("host=db.internal user=t sslmode=disable"), Ok("plain"));
        for weak in ["allow", "prefer", "require", "verify-ca"] {
            let e = mode_of(&format!("host=db sslmode={weak}")).unwrap_err();
            assert!(e.contains("does not verify the server's name"), "{e:?}");
        }
        assert!(mode_of("host=db sslmode=verify-full").unwrap_err().contains("needs sslrootcert"));
        assert!(mode_of("host=db sslrootcert=/x").unwrap_err().contains("only with"));
        assert!(mode_of("host=db sslmode=verify-full sslrootcert=/nonexistent")
            .unwrap_err()
            .contains("cannot read sslrootcert /nonexistent"));
    }

    #[test]
    fn a_bad_connection_string_is_not_echoed() {
        let e = mode_of("postgres://u:hunter2@db/x?nonsense=1").unwrap_err();
        assert!(!e.contains("hunter2"), "{e:?}");
    }
}
