//! Configuration of `trent serve`: command-line flags, then `TRENT_*` environment variables,
//! then a TOML file (`--config`), then defaults. See docs/configuration.md.

use anyhow::Context as _;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthArg {
    /// Verify SigV4 signatures against Trent's access keys (the default).
    Sigv4,
    /// Accept any access key as the default account, without checking signatures.
    AcceptAny,
}

mod settings;

use settings::FileSettings;
pub use settings::Settings;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// TOML file with any of: data_dir, listen, account_id, auth, log, log_format, wrapping_pool_size,
    /// tokens_per_wrapping_key, key_cache_size, key_cache_ttl_ms, max_connections,
    /// header_timeout_secs, body_timeout_secs, request_timeout_secs, drain_secs, heavy_work_threads,
    /// heavy_work_queue, tls_cert, tls_key, tls_client_ca, tls_client_optional, tls_self_signed, allow_plaintext,
    /// allow_remote_accept_any,
    /// database_url, pkcs11_module, pkcs11_token_label, pkcs11_key_label, root_key_file, node_id,
    /// audit_fail_open, audit_max_bytes, audit_max_age_hours, audit_keep_files, audit_checkpoint_records,
    /// audit_checkpoint_secs, trail_bucket, trail_s3_endpoint, trail_dir, trail_prefix,
    /// trail_name, trail_region, trail_delivery_secs, trail_digest_secs, init, dev_clock, metrics_listen, expiry_warning_days, notify_webhook,
    /// quotas, resource_quotas (a table of NAME = N), xks_client_ca, xks_client_connect,
    /// xks_client_cert, xks_client_key, xks_timeout_ms, xks_requests_per_second, allowed_hosts. Flags and TRENT_*
    /// variables win over it.
    #[arg(long, env = "TRENT_CONFIG")]
    pub config: Option<PathBuf>,
}

fn parse_profile(text: &str) -> anyhow::Result<trent_core::quotas::Profile> {
    trent_core::quotas::Profile::parse(text)
        .with_context(|| format!("quotas: '{text}' is not one of trent, aws, off"))
}

fn resource_quota(name: &str) -> anyhow::Result<trent_core::quotas::ResourceQuota> {
    use trent_core::quotas::ResourceQuota;
    ResourceQuota::parse(name).ok_or_else(|| {
        let names: Vec<&str> = ResourceQuota::ALL.iter().map(|q| q.name()).collect();
        anyhow::anyhow!("resource quota: '{name}' is not one of {}", names.join(", "))
    })
}

fn parse_resource_quota(text: &str) -> anyhow::Result<(trent_core::quotas::ResourceQuota, u64)> {
    let (name, n) =
        text.split_once('=').with_context(|| format!("resource quota: '{text}' is not NAME=N"))?;
    let n = n
        .trim()
        .parse::<u64>()
        .map_err(|_| anyhow::anyhow!("resource quota: '{n}' is not a number"))?;
    Ok((resource_quota(name.trim())?, n))
}

/// A TOML file's parse error, by line and column: the line's text (which `toml` quotes, and a
/// value serde names) may hold a secret — a database URL's password, a seed's secret access
/// key — and this message goes to stderr and the journal. What the message quotes is left out,
/// but for the name of an unknown setting (a bare key: it names a setting, never a value).
/// (An error of its own, not `e` as a source: toml's message quotes the file's text.)
pub fn toml_error(path: &std::path::Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let span = e.span().unwrap_or(0..0);
    let at = span.start.min(text.len());
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let key = text.get(span).unwrap_or("");
    let bare_key = !key.is_empty()
        && key.len() <= 64
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let message = if bare_key && e.message().starts_with("unknown field") {
        e.message().trim().to_string()
    } else {
        without_quoted(e.message())
    };
    anyhow::anyhow!("{}: line {line}, column {column}: {message}", path.display())
}

/// `text` with whatever it quotes (in `"`, `'` or backticks) replaced by an ellipsis.
fn without_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in text.chars() {
        match (quoted, c) {
            (None, '"' | '\'' | '`') => {
                quoted = Some(c);
                out.push('\u{2026}');
            }
            (Some(q), c) if c == q => quoted = None,
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out.trim().to_string()
}

/// A listen address: `127.0.0.1:4599`, `[::1]:4599`, `localhost:4599`, or a port alone
/// (`:4599`, `4599`), which listens on loopback.
pub fn parse_listen(text: &str) -> anyhow::Result<SocketAddr> {
    let t = text.trim();
    if let Ok(a) = t.parse::<SocketAddr>() {
        return Ok(a);
    }
    let port = t.strip_prefix("localhost:").or_else(|| t.strip_prefix(':')).unwrap_or(t);
    port.parse::<u16>().map(|p| SocketAddr::from(([127, 0, 0, 1], p))).map_err(|_| {
        anyhow::anyhow!("'{text}' is not an address to listen on: use 127.0.0.1:4599, localhost:4599, :4599 or 4599")
    })
}

/// Metrics and expiry notices.
#[derive(Clone)]
pub struct MonitoringConfig {
    pub metrics_listen: Option<SocketAddr>,
    pub expiry_warnings: Vec<std::time::Duration>,
    pub notify_webhook: Option<String>,
}

/// `30,7` → those days; `none` (or empty) → no warnings.
fn warning_days(text: &str) -> anyhow::Result<Vec<std::time::Duration>> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|d| match d.trim().parse::<u64>() {
            Ok(days @ 1..=365) => Ok(std::time::Duration::from_secs(days * 86_400)),
            _ => Err(anyhow::anyhow!(
                "expiry warning days: '{d}' is not a number of days from 1 to 365"
            )),
        })
        .collect()
}

/// The audit trail's settings; the node id is resolved at start-up (it may live in the data
/// directory).
#[derive(Clone)]
pub struct AuditConfig {
    pub node_id: Option<String>,
    pub fail_open: bool,
    pub max_bytes: u64,
    pub max_age: std::time::Duration,
    pub keep_files: Option<usize>,
    pub checkpoint_every: u64,
    pub checkpoint_interval: std::time::Duration,
}

/// Where and how often the trail is delivered as CloudTrail delivers it; `None` when neither
/// a bucket nor a directory is given.
#[derive(Clone, Debug)]
pub struct TrailConfig {
    pub bucket: String,
    /// Deliver to the bucket (else only to `dir`).
    pub s3: bool,
    pub s3_endpoint: Option<String>,
    pub dir: Option<PathBuf>,
    pub prefix: Option<String>,
    pub name: String,
    pub home_region: String,
    pub delivery_every: std::time::Duration,
    pub digest_every: std::time::Duration,
}

#[derive(Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub account_id: String,
    pub auth: AuthArg,
    pub log: String,
    pub log_format: crate::logging::LogFormat,
    pub wrapping_pool_size: usize,
    pub tokens_per_wrapping_key: u32,
    pub key_cache_size: usize,
    pub key_cache_ttl_ms: u64,
    pub limits: trent_server::Limits,
    pub heavy_work: trent_core::HeavyWorkConfig,
    pub tls: TlsChoice,
    pub allow_plaintext: bool,
    pub database_url: Option<String>,
    pub root_key: crate::root_key::RootKeyArgs,
    pub audit: AuditConfig,
    pub trail: Option<TrailConfig>,
    pub monitoring: MonitoringConfig,
    pub dev_clock: bool,
    pub init: Option<PathBuf>,
    pub quotas: trent_core::quotas::Profile,
    pub resource_quotas: trent_core::quotas::ResourceQuotas,
    /// Host names requests may name besides loopback (accept-any, metrics).
    pub allowed_hosts: Vec<String>,
    pub xks_client: XksConfig,
}

/// How Trent reaches the XKS proxies of external key stores, and how much it serves on its
/// own XKS endpoints.
#[derive(Debug, Clone)]
pub struct XksConfig {
    pub ca: Option<PathBuf>,
    /// A certificate and key presented to proxies that require mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub connect_to: Vec<String>,
    pub timeout: std::time::Duration,
    /// Requests a second each served XKS endpoint admits (0: no limit).
    pub requests_per_second: u32,
}

impl ServeConfig {
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                toml::from_str::<FileSettings>(&text).map_err(|e| toml_error(p, &text, &e))?
            }
            None => FileSettings::default(),
        };
        Self::with_defaults(args.settings.over(file)?)
    }

    /// The merged settings with their defaults, checked.
    fn with_defaults(a: Settings) -> anyhow::Result<Self> {
        let trail = trail_config(&a)?;
        let account_id = a.account_id.unwrap_or_else(|| "111122223333".into());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(anyhow::anyhow!("account id must be 12 digits, not '{account_id}'"));
        }
        if let Some(url) = &a.notify_webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(anyhow::anyhow!(
                    "--notify-webhook must be an http:// or https:// URL, not '{url}'"
                ));
            }
        }
        let monitoring = MonitoringConfig {
            metrics_listen: a.metrics_listen,
            expiry_warnings: warning_days(a.expiry_warning_days.as_deref().unwrap_or("30,7"))?,
            notify_webhook: a.notify_webhook,
        };
        let mut resource_quotas = trent_core::quotas::ResourceQuotas::default();
        for (q, n) in a.resource_quotas {
            resource_quotas.set(q, n);
        }
        let auth = a.auth.unwrap_or(AuthArg::Sigv4);
        let listen = a.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4599)));
        // accept-any makes every caller the account root: a loopback tool only.
        if auth == AuthArg::AcceptAny && !listen.ip().is_loopback() && !a.allow_remote_accept_any {
            return Err(anyhow::anyhow!(
                "--auth accept-any makes every client the account root: it listens only on loopback (127.0.0.1, ::1), not on {listen}, unless --allow-remote-accept-any is given (a container on a private network)"
            ));
        }
        let secs = |s: Option<u64>, default: std::time::Duration| {
            s.map(std::time::Duration::from_secs).unwrap_or(default)
        };
        let limits = trent_server::Limits::default();
        let threads =
            a.heavy_work_threads.unwrap_or(trent_core::HeavyWorkConfig::default().threads).max(1);
        let xks_client = XksConfig {
            ca: a.xks_client_ca,
            client_cert: match (a.xks_client_cert, a.xks_client_key) {
                (Some(cert), Some(key)) => Some((cert, key)),
                (None, None) => None,
                _ => anyhow::bail!("--xks-client-cert and --xks-client-key go together"),
            },
            connect_to: a.xks_client_connect,
            timeout: a
                .xks_timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(trent_core::XKS_TIMEOUT),
            requests_per_second: a
                .xks_requests_per_second
                .unwrap_or(trent_core::xks::DEFAULT_REQUESTS_PER_SECOND),
        };
        Ok(ServeConfig {
            xks_client,
            quotas: a.quotas.unwrap_or_default(),
            resource_quotas,
            allowed_hosts: a.allowed_hosts,
            monitoring,
            dev_clock: a.dev_clock,
            init: a.init,
            data_dir: a.data_dir.unwrap_or_else(|| PathBuf::from("./trent-data")),
            listen,
            account_id,
            auth,
            log: a.log.unwrap_or_else(|| "info".into()),
            log_format: a.log_format.unwrap_or_default(),
            wrapping_pool_size: a.wrapping_pool_size.unwrap_or(4),
            tokens_per_wrapping_key: a.tokens_per_wrapping_key.unwrap_or(1).max(1),
            key_cache_size: a.key_cache_size.unwrap_or(100_000),
            key_cache_ttl_ms: a.key_cache_ttl_ms.unwrap_or(1000),
            limits: trent_server::Limits {
                max_connections: a.max_connections.unwrap_or_else(default_max_connections).max(1),
                header_timeout: secs(a.header_timeout_secs, limits.header_timeout),
                body_timeout: secs(a.body_timeout_secs, limits.body_timeout),
                request_timeout: secs(a.request_timeout_secs, limits.request_timeout),
                drain: secs(a.drain_secs, limits.drain),
            },
            heavy_work: trent_core::HeavyWorkConfig {
                threads,
                queue: a.heavy_work_queue.unwrap_or(4 * threads),
                max_wait: trent_core::HeavyWorkConfig::default().max_wait,
            },
            tls: match (a.tls_cert, a.tls_key, a.tls_self_signed, a.tls_client_ca) {
                (Some(_), _, true, _) => {
                    anyhow::bail!("--tls-self-signed and --tls-cert exclude each other")
                }
                (Some(cert), Some(key), false, client_ca) => {
                    TlsChoice::Files(trent_server::tls::TlsSettings {
                        cert,
                        key,
                        client_ca,
                        client_optional: a.tls_client_optional,
                    })
                }
                (None, None, true, client_ca) => {
                    TlsChoice::SelfSigned { client_ca, client_optional: a.tls_client_optional }
                }
                (None, None, false, None) => TlsChoice::Plain,
                (None, None, false, Some(_)) => {
                    anyhow::bail!("--tls-client-ca needs --tls-cert or --tls-self-signed")
                }
                _ => anyhow::bail!("--tls-cert and --tls-key go together"),
            },
            allow_plaintext: a.allow_plaintext,
            database_url: a.database_url,
            root_key: crate::root_key::RootKeyArgs {
                pkcs11_module: a.pkcs11_module,
                pkcs11_token_label: a.pkcs11_token_label,
                pkcs11_key_label: a.pkcs11_key_label,
                root_key_file: a.root_key_file,
            },
            trail,
            audit: AuditConfig {
                node_id: a.node_id,
                fail_open: a.audit_fail_open,
                max_bytes: a.audit_max_bytes.unwrap_or(100 << 20).max(4096),
                max_age: std::time::Duration::from_secs(
                    3600 * a.audit_max_age_hours.unwrap_or(24).max(1),
                ),
                keep_files: a.audit_keep_files.map(|n| n.max(1)),
                checkpoint_every: a.audit_checkpoint_records.unwrap_or(1000).max(1),
                checkpoint_interval: std::time::Duration::from_secs(
                    a.audit_checkpoint_secs.unwrap_or(60).max(1),
                ),
            },
        })
    }
}

/// The trail's delivery, if a bucket or a directory is given; its names checked as S3 and
/// CloudTrail would check them.
fn trail_config(a: &Settings) -> anyhow::Result<Option<TrailConfig>> {
    if a.trail_bucket.is_none() && a.trail_dir.is_none() {
        return Ok(None);
    }
    let bucket = a.trail_bucket.clone().unwrap_or_else(|| "trent-trail".into());
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        anyhow::bail!("--trail-bucket '{bucket}' is not an S3 bucket name (3 to 63 lowercase letters, digits, '-' and '.')");
    }
    let name = a.trail_name.clone().unwrap_or_else(|| "trent".into());
    // CloudTrail's rule for trail names; `_` is left out because validate-logs reads the
    // digest file name by it.
    let name_ok = (3..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !name_ok {
        anyhow::bail!("--trail-name '{name}' must be 3 to 128 letters, digits, '-' and '.'");
    }
    let digest_secs = a.trail_digest_secs.unwrap_or(3600);
    if digest_secs < 2 {
        anyhow::bail!(
            "--trail-digest-secs must be at least 2 (a digest file is named by its second)"
        );
    }
    Ok(Some(TrailConfig {
        bucket,
        s3: a.trail_bucket.is_some(),
        s3_endpoint: a.trail_s3_endpoint.clone(),
        dir: a.trail_dir.clone(),
        prefix: a.trail_prefix.clone().filter(|p| !p.is_empty()),
        name,
        home_region: a.trail_region.clone().unwrap_or_else(|| "us-east-1".into()),
        delivery_every: std::time::Duration::from_secs(a.trail_delivery_secs.unwrap_or(300).max(1)),
        digest_every: std::time::Duration::from_secs(digest_secs),
    }))
}

/// 4096 connections, or fewer when the open-file limit is lower: 64 descriptors stay for the
/// database, the logs and the listener, so the process never runs out of them.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<usize>().ok())
    });
    match soft {
        Some(n) => n.saturating_sub(64).clamp(16, 4096),
        None => 1024,
    }
}

/// How `trent serve` speaks on its port.
#[derive(Clone)]
pub enum TlsChoice {
    Plain,
    Files(trent_server::tls::TlsSettings),
    /// Certificates made in the data directory (development).
    SelfSigned {
        client_ca: Option<PathBuf>,
        client_optional: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_may_be_a_port_or_localhost() {
        let lo = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        for (text, addr) in [("4599", lo(4599)), (":4600", lo(4600)), ("localhost:4601", lo(4601))]
        {
            assert_eq!(parse_listen(text).ok(), Some(addr), "{text}");
        }
        assert_eq!(parse_listen("0.0.0.0:80").ok(), Some(SocketAddr::from(([0, 0, 0, 0], 80))));
        assert_eq!(parse_listen("[::1]:80").ok().map(|a| a.ip().is_loopback()), Some(true));
        assert!(parse_listen("example.com:80")
            .unwrap_err()
            .to_string()
            .contains("use 127.0.0.1:4599"));
        assert!(parse_listen("70000").is_err());
    }

    #[test]
    fn quotas_are_a_profile_or_a_rate_and_resource_quotas_name_value() {
        use trent_core::quotas::{Profile, ResourceQuota};
        assert_eq!(parse_profile("aws").ok(), Some(Profile::Aws));
        assert_eq!(parse_profile("0.5").ok(), Some(Profile::Fixed(0.5)));
        assert!(parse_profile("0").is_err() && parse_profile("fast").is_err());
        assert_eq!(
            parse_resource_quota("grants-per-key = 10").ok(),
            Some((ResourceQuota::GrantsPerKey, 10))
        );
        assert!(parse_resource_quota("grants=10")
            .unwrap_err()
            .to_string()
            .contains("keys-per-region"));
        assert!(parse_resource_quota("grants-per-key").is_err());
        assert!(parse_resource_quota("tags-per-key=x").is_err());
    }

    #[test]
    fn a_parse_error_never_quotes_the_file() {
        let path = std::path::Path::new("c.toml");
        let secret = "s3cr3t-Pa55";
        for text in [
            format!("database_url = \"postgres://u:{secret}@h/db\nlisten = 1\n"),
            format!("listen = \"127.0.0.1:1\"\nmax_connections = \"{secret}\"\n"),
            format!("audit_fail_open = \"{secret}\"\n"),
            format!("[x\ndatabase_url = '{secret}'\n"),
        ] {
            let e = toml::from_str::<FileSettings>(&text).err().expect("a parse error");
            let m = toml_error(path, &text, &e).to_string();
            assert!(!m.contains(secret), "{m}");
            assert!(m.starts_with("c.toml: line "), "{m}");
        }
        let text = "listen = \"127.0.0.1:1\"\nno_such_setting = 1\n";
        let e = toml::from_str::<FileSettings>(text).err().unwrap();
        let m = toml_error(path, text, &e).to_string();
        assert!(m.contains("line 2, column 1") && m.contains("no_such_setting"), "{m}");
    }

    #[test]
    fn warning_days_are_days_or_none() {
        let days = |d: u64| std::time::Duration::from_secs(d * 86_400);
        assert_eq!(warning_days("30,7").unwrap(), [days(30), days(7)]);
        assert_eq!(warning_days(" 14 ").unwrap(), [days(14)]);
        assert!(warning_days("none").unwrap().is_empty());
        assert!(warning_days("30,x").unwrap_err().to_string().contains("'x'"));
        assert!(warning_days("0").is_err() && warning_days("400").is_err());
    }

    /// `trent serve`'s flags, as the binary parses them.
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn flags(args: &[&str]) -> ServeArgs {
        let argv = std::iter::once("trent").chain(args.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv).unwrap().serve
    }

    fn file(text: &str) -> FileSettings {
        toml::from_str(text).unwrap()
    }

    /// A flag wins over its variable, the variable over the file, the file over the default:
    /// for a plain value, an address (a string in the file) and a switch.
    #[test]
    fn precedence_is_flag_environment_file_default() {
        // This test alone sets these variables (each test parses its own flags).
        let vars = ["TRENT_KEY_CACHE_SIZE", "TRENT_LISTEN", "TRENT_DEV_CLOCK"];
        for v in vars {
            std::env::remove_var(v);
        }
        let resolved = |args: &[&str], text: &str| {
            ServeConfig::with_defaults(flags(args).settings.over(file(text)).unwrap()).unwrap()
        };
        let text = "key_cache_size = 7\nlisten = \"127.0.0.1:7007\"\ndev_clock = true\n";
        let c = resolved(&[], "");
        assert_eq!((c.key_cache_size, c.listen.port(), c.dev_clock), (100_000, 4599, false));
        let c = resolved(&[], text);
        assert_eq!((c.key_cache_size, c.listen.port(), c.dev_clock), (7, 7007, true));
        std::env::set_var("TRENT_KEY_CACHE_SIZE", "8");
        std::env::set_var("TRENT_LISTEN", "8008");
        let c = resolved(&[], text);
        assert_eq!((c.key_cache_size, c.listen.port()), (8, 8008));
        let c = resolved(&["--key-cache-size", "9", "--listen", ":9009", "--dev-clock"], text);
        assert_eq!((c.key_cache_size, c.listen.port(), c.dev_clock), (9, 9009, true));
        for v in vars {
            std::env::remove_var(v);
        }
    }

    /// Every setting is a key of the file, and `--config`'s help names each of them.
    #[test]
    fn the_config_help_names_every_file_key() {
        let command = <Cli as clap::CommandFactory>::command();
        let config = command.get_arguments().find(|a| a.get_id() == "config").unwrap();
        let help = config.get_help().unwrap().to_string();
        let words: Vec<&str> =
            help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
        for name in Settings::NAMES {
            assert!(words.contains(name), "--config's help does not name {name}");
            // …and the file takes it (an unknown key would be refused).
            let text = format!("{name} = 0");
            let parsed = toml::from_str::<FileSettings>(&text);
            let refused = parsed.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!refused.contains("unknown field"), "{name}: {refused}");
        }
    }
}
