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

#[derive(Args)]
pub struct ServeArgs {
    /// Data directory: database, root key, credentials file; relative to where the server
    /// starts [default: ./trent-data]
    #[arg(long, env = "TRENT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on: 127.0.0.1:4599, localhost:4599, or a port alone (:4599, 4599)
    /// for loopback [default: 127.0.0.1:4599]
    #[arg(long, env = "TRENT_LISTEN", value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
    /// The account created on first start [default: 111122223333]
    #[arg(long, env = "TRENT_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// How requests are authenticated [default: sigv4]
    #[arg(long, env = "TRENT_AUTH", value_enum)]
    pub auth: Option<AuthArg>,
    /// Log filter (tracing syntax), e.g. `info` or `trent=debug` [default: info]
    #[arg(long, env = "TRENT_LOG")]
    pub log: Option<String>,
    /// Log lines as `text` (colour only on a terminal) or `json` [default: text]
    #[arg(long, env = "TRENT_LOG_FORMAT", value_enum)]
    pub log_format: Option<crate::logging::LogFormat>,
    /// RSA wrapping key pairs kept ready per wrapping key spec (0: generate on demand)
    /// [default: 4]
    #[arg(long, env = "TRENT_WRAPPING_POOL_SIZE")]
    pub wrapping_pool_size: Option<usize>,
    /// How many import tokens one wrapping key pair may back within 24 hours (1: a fresh
    /// key pair for every GetParametersForImport, as AWS does) [default: 1]
    #[arg(long, env = "TRENT_TOKENS_PER_WRAPPING_KEY")]
    pub tokens_per_wrapping_key: Option<u32>,
    /// Keys kept decoded in memory (record, materials, parsed policy) so that cryptographic
    /// calls read nothing from the database; 0 reads every key from the database
    /// [default: 100000]
    #[arg(long, env = "TRENT_KEY_CACHE_SIZE")]
    pub key_cache_size: Option<usize>,
    /// With PostgreSQL: how long (milliseconds) a node trusts a cached key whose change
    /// notification it may have missed (other nodes' writes are also pushed at once)
    /// [default: 1000]
    #[arg(long, env = "TRENT_KEY_CACHE_TTL_MS")]
    pub key_cache_ttl_ms: Option<u64>,
    /// Connections served at once; a new one beyond evicts the one idle the longest, or is
    /// refused when all are busy. Default: 4096, or the open-file limit less 64 if lower.
    #[arg(long, env = "TRENT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a connection has to send a request's headers once it is ready for one (this
    /// also closes idle keep-alive connections) [default: 20]
    #[arg(long, env = "TRENT_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a request has to send its body once its headers have arrived [default: 20]
    #[arg(long, env = "TRENT_BODY_TIMEOUT_SECS")]
    pub body_timeout_secs: Option<u64>,
    /// Seconds a request may take to be handled once its body has arrived [default: 60]
    #[arg(long, env = "TRENT_REQUEST_TIMEOUT_SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Seconds shutdown waits for requests in flight [default: 10]
    #[arg(long, env = "TRENT_DRAIN_SECS")]
    pub drain_secs: Option<u64>,
    /// Threads for RSA and signature work at once (default: half the CPUs).
    #[arg(long, env = "TRENT_HEAVY_WORK_THREADS")]
    pub heavy_work_threads: Option<usize>,
    /// RSA and signature jobs that may wait for those threads; beyond, ThrottlingException
    /// (default: 4 per thread).
    #[arg(long, env = "TRENT_HEAVY_WORK_QUEUE")]
    pub heavy_work_queue: Option<usize>,
    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP, with the key).
    #[arg(long, env = "TRENT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "TRENT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates issued by this PEM CA (mutual TLS).
    #[arg(long, env = "TRENT_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Development HTTPS: make (once) a CA and a localhost certificate under DATA_DIR/tls;
    /// clients trust it with AWS_CA_BUNDLE=DATA_DIR/tls/ca.pem.
    #[arg(long, env = "TRENT_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    pub tls_self_signed: bool,
    /// Allow plain HTTP on an address other than loopback (anyone on the path can read and
    /// replay requests).
    #[arg(long, env = "TRENT_ALLOW_PLAINTEXT")]
    pub allow_plaintext: bool,
    /// PostgreSQL instead of the embedded SQLite database, for several nodes: a
    /// `postgres://user:password@host:port/db` URL or `host=... user=... dbname=...`.
    /// Prefer the environment for a URL with a password.
    #[arg(long, env = "TRENT_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub root_key: crate::root_key::RootKeyArgs,
    /// This node's name in its audit trail (default: made once and kept in DATA_DIR/node-id).
    #[arg(long, env = "TRENT_NODE_ID")]
    pub node_id: Option<String>,
    /// Answer calls even when their audit record cannot be written (default: such a call
    /// fails with KMSInternalException, and calls are refused until the trail works again).
    #[arg(long, env = "TRENT_AUDIT_FAIL_OPEN")]
    pub audit_fail_open: bool,
    /// Rotate audit.log past this many bytes [default: 104857600]
    #[arg(long, env = "TRENT_AUDIT_MAX_BYTES")]
    pub audit_max_bytes: Option<u64>,
    /// Rotate audit.log after this many hours [default: 24]
    #[arg(long, env = "TRENT_AUDIT_MAX_AGE_HOURS")]
    pub audit_max_age_hours: Option<u64>,
    /// Rotated audit files kept; the oldest beyond are deleted (default: all are kept).
    #[arg(long, env = "TRENT_AUDIT_KEEP_FILES")]
    pub audit_keep_files: Option<usize>,
    /// A signed checkpoint after this many audit records... [default: 1000]
    #[arg(long, env = "TRENT_AUDIT_CHECKPOINT_RECORDS")]
    pub audit_checkpoint_records: Option<u64>,
    /// ...or this many seconds after the last one (records written since are fsynced)
    /// [default: 60]
    #[arg(long, env = "TRENT_AUDIT_CHECKPOINT_SECS")]
    pub audit_checkpoint_secs: Option<u64>,
    /// Seed file (TOML): accounts, users, access keys, keys, aliases and imported material
    /// made to exist at every start (docs/configuration.md, "Seeding").
    #[arg(long, env = "TRENT_INIT")]
    pub init: Option<PathBuf>,
    /// UNSAFE, for rehearsals only: a test clock that `trent admin clock advance 25h` moves
    /// forward, so that import tokens, imported material, deletion windows and rotations
    /// expire in seconds. Never on a server that holds real keys.
    #[arg(long, env = "TRENT_DEV_CLOCK")]
    pub dev_clock: bool,
    /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. 127.0.0.1:9599
    /// (default: not served). It shows account and key ids: keep it on a trusted network.
    #[arg(long, env = "TRENT_METRICS_LISTEN", value_parser = parse_listen)]
    pub metrics_listen: Option<SocketAddr>,
    /// Days before imported material expires when a warning notice is sent, comma-separated
    /// (default: 30,7; `none` for no warnings).
    #[arg(long, env = "TRENT_EXPIRY_WARNING_DAYS")]
    pub expiry_warning_days: Option<String>,
    /// POST each expiry notice (an EventBridge-shaped JSON event) to this http:// or https://
    /// URL, with retries; notices are always written to the audit trail.
    #[arg(long, env = "TRENT_NOTIFY_WEBHOOK")]
    pub notify_webhook: Option<String>,
    /// Request quotas per account and Region: `trent` (Trent's defaults: a node stays fair
    /// between accounts and a developer is never throttled), `aws` (AWS's own default quotas,
    /// to rehearse retry logic against throttling), a number (every quota at that many calls
    /// a second: `1` shows a client's retries at work) or `off` [default: trent]
    #[arg(long, env = "TRENT_QUOTAS", value_parser = parse_profile)]
    pub quotas: Option<trent_core::quotas::Profile>,
    /// A resource quota other than AWS's default, `NAME=N` (repeatable): keys-per-region,
    /// aliases-per-key, grants-per-key, tags-per-key, key-policy-bytes.
    #[arg(long = "resource-quota", env = "TRENT_RESOURCE_QUOTAS", value_delimiter = ',', value_parser = parse_resource_quota)]
    pub resource_quotas: Vec<(trent_core::quotas::ResourceQuota, u64)>,
    /// Host names (besides loopback names and addresses) that requests may name in `Host`
    /// under `--auth accept-any` and on the metrics listener, comma-separated.
    #[arg(long, env = "TRENT_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// TOML file with any of: data_dir, listen, account_id, auth, log, log_format, wrapping_pool_size,
    /// tokens_per_wrapping_key, key_cache_size, key_cache_ttl_ms, max_connections,
    /// header_timeout_secs, body_timeout_secs, request_timeout_secs, drain_secs, heavy_work_threads,
    /// heavy_work_queue, tls_cert, tls_key, tls_client_ca, tls_self_signed, allow_plaintext,
    /// database_url, pkcs11_module, pkcs11_token_label, pkcs11_key_label, node_id,
    /// audit_fail_open, audit_max_bytes, audit_max_age_hours, audit_keep_files, audit_checkpoint_records,
    /// audit_checkpoint_secs, init, dev_clock, metrics_listen, expiry_warning_days, notify_webhook,
    /// quotas, resource_quotas (a table of NAME = N), allowed_hosts.
    #[arg(long, env = "TRENT_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    account_id: Option<String>,
    auth: Option<AuthArg>,
    log: Option<String>,
    log_format: Option<crate::logging::LogFormat>,
    wrapping_pool_size: Option<usize>,
    tokens_per_wrapping_key: Option<u32>,
    key_cache_size: Option<usize>,
    key_cache_ttl_ms: Option<u64>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    drain_secs: Option<u64>,
    heavy_work_threads: Option<usize>,
    heavy_work_queue: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    tls_self_signed: Option<bool>,
    allow_plaintext: Option<bool>,
    database_url: Option<String>,
    pkcs11_module: Option<PathBuf>,
    pkcs11_token_label: Option<String>,
    pkcs11_key_label: Option<String>,
    node_id: Option<String>,
    audit_fail_open: Option<bool>,
    audit_max_bytes: Option<u64>,
    audit_max_age_hours: Option<u64>,
    audit_keep_files: Option<usize>,
    audit_checkpoint_records: Option<u64>,
    audit_checkpoint_secs: Option<u64>,
    init: Option<PathBuf>,
    dev_clock: Option<bool>,
    metrics_listen: Option<String>,
    expiry_warning_days: Option<String>,
    notify_webhook: Option<String>,
    quotas: Option<String>,
    resource_quotas: Option<std::collections::BTreeMap<String, u64>>,
    allowed_hosts: Option<Vec<String>>,
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
    pub monitoring: MonitoringConfig,
    pub dev_clock: bool,
    pub init: Option<PathBuf>,
    pub quotas: trent_core::quotas::Profile,
    pub resource_quotas: trent_core::quotas::ResourceQuotas,
    /// Host names requests may name besides loopback (accept-any, metrics).
    pub allowed_hosts: Vec<String>,
}

impl ServeConfig {
    pub fn resolve(a: ServeArgs) -> anyhow::Result<Self> {
        let file = match &a.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| toml_error(p, &text, &e))?
            }
            None => FileConfig::default(),
        };
        let account_id = a.account_id.or(file.account_id).unwrap_or_else(|| "111122223333".into());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(anyhow::anyhow!("account id must be 12 digits, not '{account_id}'"));
        }
        let notify_webhook = a.notify_webhook.or(file.notify_webhook);
        if let Some(url) = &notify_webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(anyhow::anyhow!(
                    "--notify-webhook must be an http:// or https:// URL, not '{url}'"
                ));
            }
        }
        let monitoring = MonitoringConfig {
            metrics_listen: match a.metrics_listen {
                Some(l) => Some(l),
                None => file.metrics_listen.as_deref().map(parse_listen).transpose()?,
            },
            expiry_warnings: warning_days(
                a.expiry_warning_days.or(file.expiry_warning_days).as_deref().unwrap_or("30,7"),
            )?,
            notify_webhook,
        };
        let quotas = match a.quotas {
            Some(p) => p,
            None => file.quotas.as_deref().map(parse_profile).transpose()?.unwrap_or_default(),
        };
        let mut resource_quotas = trent_core::quotas::ResourceQuotas::default();
        for (name, n) in file.resource_quotas.unwrap_or_default() {
            resource_quotas.set(resource_quota(&name)?, n);
        }
        for (q, n) in a.resource_quotas {
            resource_quotas.set(q, n);
        }
        let allowed_hosts = if a.allowed_hosts.is_empty() {
            file.allowed_hosts.unwrap_or_default()
        } else {
            a.allowed_hosts
        };
        let auth = a.auth.or(file.auth).unwrap_or(AuthArg::Sigv4);
        let listen = match a.listen {
            Some(l) => l,
            None => file
                .listen
                .as_deref()
                .map(parse_listen)
                .transpose()?
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 4599))),
        };
        // accept-any makes every caller the account root: a loopback tool only.
        if auth == AuthArg::AcceptAny && !listen.ip().is_loopback() {
            return Err(anyhow::anyhow!(
                "--auth accept-any makes every client the account root: it listens only on loopback (127.0.0.1, ::1), not on {listen}"
            ));
        }
        Ok(ServeConfig {
            quotas,
            resource_quotas,
            allowed_hosts,
            monitoring,
            dev_clock: a.dev_clock || file.dev_clock.unwrap_or(false),
            init: a.init.or(file.init),
            data_dir: a.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./trent-data")),
            listen,
            account_id,
            auth,
            log: a.log.or(file.log).unwrap_or_else(|| "info".into()),
            log_format: a.log_format.or(file.log_format).unwrap_or_default(),
            wrapping_pool_size: a.wrapping_pool_size.or(file.wrapping_pool_size).unwrap_or(4),
            tokens_per_wrapping_key: a
                .tokens_per_wrapping_key
                .or(file.tokens_per_wrapping_key)
                .unwrap_or(1)
                .max(1),
            key_cache_size: a.key_cache_size.or(file.key_cache_size).unwrap_or(100_000),
            key_cache_ttl_ms: a.key_cache_ttl_ms.or(file.key_cache_ttl_ms).unwrap_or(1000),
            limits: {
                let d = trent_server::Limits::default();
                let secs = |a: Option<u64>, f: Option<u64>, default: std::time::Duration| {
                    a.or(f).map(std::time::Duration::from_secs).unwrap_or(default)
                };
                trent_server::Limits {
                    max_connections: a
                        .max_connections
                        .or(file.max_connections)
                        .unwrap_or_else(default_max_connections)
                        .max(1),
                    header_timeout: secs(
                        a.header_timeout_secs,
                        file.header_timeout_secs,
                        d.header_timeout,
                    ),
                    body_timeout: secs(a.body_timeout_secs, file.body_timeout_secs, d.body_timeout),
                    request_timeout: secs(
                        a.request_timeout_secs,
                        file.request_timeout_secs,
                        d.request_timeout,
                    ),
                    drain: secs(a.drain_secs, file.drain_secs, d.drain),
                }
            },
            heavy_work: {
                let d = trent_core::HeavyWorkConfig::default();
                let threads = a.heavy_work_threads.or(file.heavy_work_threads).unwrap_or(d.threads);
                trent_core::HeavyWorkConfig {
                    threads: threads.max(1),
                    queue: a
                        .heavy_work_queue
                        .or(file.heavy_work_queue)
                        .unwrap_or(4 * threads.max(1)),
                    max_wait: d.max_wait,
                }
            },
            tls: {
                let cert = a.tls_cert.or(file.tls_cert);
                let key = a.tls_key.or(file.tls_key);
                let client_ca = a.tls_client_ca.or(file.tls_client_ca);
                let self_signed = a.tls_self_signed || file.tls_self_signed.unwrap_or(false);
                match (cert, key, self_signed) {
                    (Some(_), _, true) => {
                        return Err(anyhow::anyhow!(
                            "--tls-self-signed and --tls-cert exclude each other"
                        ))
                    }
                    (Some(cert), Some(key), false) => {
                        TlsChoice::Files(trent_server::tls::TlsSettings { cert, key, client_ca })
                    }
                    (None, None, true) => TlsChoice::SelfSigned { client_ca },
                    (None, None, false) if client_ca.is_none() => TlsChoice::Plain,
                    (None, None, false) => {
                        return Err(anyhow::anyhow!(
                            "--tls-client-ca needs --tls-cert or --tls-self-signed"
                        ))
                    }
                    _ => return Err(anyhow::anyhow!("--tls-cert and --tls-key go together")),
                }
            },
            allow_plaintext: a.allow_plaintext || file.allow_plaintext.unwrap_or(false),
            database_url: a.database_url.or(file.database_url),
            root_key: a.root_key.or(crate::root_key::RootKeyArgs {
                pkcs11_module: file.pkcs11_module,
                pkcs11_token_label: file.pkcs11_token_label,
                pkcs11_key_label: file.pkcs11_key_label,
            }),
            audit: AuditConfig {
                node_id: a.node_id.or(file.node_id),
                fail_open: a.audit_fail_open || file.audit_fail_open.unwrap_or(false),
                max_bytes: a
                    .audit_max_bytes
                    .or(file.audit_max_bytes)
                    .unwrap_or(100 << 20)
                    .max(4096),
                max_age: std::time::Duration::from_secs(
                    3600 * a.audit_max_age_hours.or(file.audit_max_age_hours).unwrap_or(24).max(1),
                ),
                keep_files: a.audit_keep_files.or(file.audit_keep_files).map(|n| n.max(1)),
                checkpoint_every: a
                    .audit_checkpoint_records
                    .or(file.audit_checkpoint_records)
                    .unwrap_or(1000)
                    .max(1),
                checkpoint_interval: std::time::Duration::from_secs(
                    a.audit_checkpoint_secs.or(file.audit_checkpoint_secs).unwrap_or(60).max(1),
                ),
            },
        })
    }
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
            let e = toml::from_str::<FileConfig>(&text).err().expect("a parse error");
            let m = toml_error(path, &text, &e).to_string();
            assert!(!m.contains(secret), "{m}");
            assert!(m.starts_with("c.toml: line "), "{m}");
        }
        let text = "listen = \"127.0.0.1:1\"\nno_such_setting = 1\n";
        let e = toml::from_str::<FileConfig>(text).err().unwrap();
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
}
