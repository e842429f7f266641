//! Which `Host` a request may name where nothing else proves who sent it: under
//! `--auth accept-any` (every caller is the account root) and on the metrics listener. A web
//! page the developer opens can rebind its own name to 127.0.0.1 (DNS rebinding) and then
//! read what it sends there as same-origin; its requests still name the page's host. So only
//! names that cannot be an attacker's are answered: `localhost` and `*.localhost` (RFC 6761
//! keeps them on loopback), IP literals (rebinding needs a name), and the names the operator
//! lists (`--allowed-hosts`). Other requests get an AWS-shaped AccessDeniedException.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The hosts an operator allows besides loopback names and IP literals.
#[derive(Debug, Clone, Default)]
pub struct HostGuard {
    names: Vec<String>,
}

impl HostGuard {
    pub fn new(names: &[String]) -> Self {
        HostGuard { names: names.iter().map(|n| n.trim().to_ascii_lowercase()).collect() }
    }

    /// Whether a request with these headers may be answered.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get("host").and_then(|h| h.to_str().ok()) else {
            // HTTP/1.1 requires Host; a request without one did not come from a browser.
            return !headers.contains_key("host");
        };
        let name = strip_port(host.trim()).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        name == "localhost"
            || name.ends_with(".localhost")
            || name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok()
            || self.names.iter().any(|n| n == name)
    }

    /// The refusal, in the envelope every Trent API answers with.
    pub fn refusal(headers: &HeaderMap) -> Response {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
        let host: String = host.chars().take(255).collect();
        let message = format!(
            "This server answers only requests to a loopback name or an IP address, or to a host listed with --allowed-hosts; not to '{host}'."
        );
        crate::error::envelope(StatusCode::BAD_REQUEST, "AccessDeniedException", &message, None)
    }
}

/// `name:port` → `name`; `[v6]:port` → `[v6]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert("host", h.parse().unwrap());
        m
    }

    #[test]
    fn loopback_names_and_ip_literals_and_listed_names_only() {
        let g = HostGuard::new(&["kms.internal.example".into()]);
        for ok in [
            "localhost",
            "localhost:4599",
            "LOCALHOST.:4599",
            "app.localhost:1",
            "127.0.0.1:4599",
            "10.1.2.3:9100",
            "[::1]:4599",
            "[::1]",
            "kms.internal.example:443",
        ] {
            assert!(g.allows(&with_host(ok)), "{ok}");
        }
        for bad in [
            "evil.example:4599",
            "localhost.evil.example",
            "127.0.0.1.nip.io:4599",
            "kms.internal.example.evil:1",
            "",
        ] {
            assert!(!g.allows(&with_host(bad)), "{bad}");
        }
        assert!(g.allows(&HeaderMap::new()));
    }
}
