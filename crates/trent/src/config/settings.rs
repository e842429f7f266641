//! Every setting of `trent serve`, declared once: the list below gives each its flag and
//! `TRENT_*` variable (clap), its key and type in the TOML file (serde), and its merge —
//! the flag, else the environment (clap reads both), else the file. Defaults are applied
//! after the merge, by `ServeConfig::resolve`. A setting added here is a flag, a variable
//! and a file key at once; a test checks that `--config`'s help names every file key.

use super::{parse_listen, parse_profile, parse_resource_quota, resource_quota};
use clap::Args;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use trent_core::quotas::{Profile, ResourceQuota};

/// How a setting from the flags or environment goes over the file's: a value given wins; a
/// switch is on if either turns it on.
pub trait Merge<File>: Sized {
    fn merge(self, file: File) -> anyhow::Result<Self>;
}

impl<T> Merge<Option<T>> for Option<T> {
    fn merge(self, file: Option<T>) -> anyhow::Result<Self> {
        Ok(self.or(file))
    }
}

impl Merge<Option<bool>> for bool {
    fn merge(self, file: Option<bool>) -> anyhow::Result<Self> {
        Ok(self || file.unwrap_or(false))
    }
}

/// An address in the file is written as on the command line.
impl Merge<Option<String>> for Option<SocketAddr> {
    fn merge(self, file: Option<String>) -> anyhow::Result<Self> {
        match self {
            Some(a) => Ok(Some(a)),
            None => file.as_deref().map(parse_listen).transpose(),
        }
    }
}

impl Merge<Option<String>> for Option<Profile> {
    fn merge(self, file: Option<String>) -> anyhow::Result<Self> {
        match self {
            Some(p) => Ok(Some(p)),
            None => file.as_deref().map(parse_profile).transpose(),
        }
    }
}

/// The file's table first, then the flags' `NAME=N`: a quota named in both is the flag's.
impl Merge<Option<BTreeMap<String, u64>>> for Vec<(ResourceQuota, u64)> {
    fn merge(self, file: Option<BTreeMap<String, u64>>) -> anyhow::Result<Self> {
        let mut out = Vec::new();
        for (name, n) in file.unwrap_or_default() {
            out.push((resource_quota(&name)?, n));
        }
        out.extend(self);
        Ok(out)
    }
}

/// A list given on the command line replaces the file's.
impl Merge<Option<Vec<String>>> for Vec<String> {
    fn merge(self, file: Option<Vec<String>>) -> anyhow::Result<Self> {
        Ok(if self.is_empty() { file.unwrap_or_default() } else { self })
    }
}

/// The file's type of a setting: its own, unless the list names another.
macro_rules! file_type {
    ($flag:ty) => {
        $flag
    };
    ($flag:ty, $file:ty) => {
        $file
    };
}

macro_rules! settings {
    ($( $(#[$attr:meta])* $name:ident : $flag:ty $(, file $file:ty)? ;)*) => {
        /// The settings as the flags and the environment give them.
        #[derive(Args)]
        pub struct Settings {
            $( $(#[$attr])* pub $name: $flag, )*
        }

        /// The settings as a TOML file gives them (`--config`).
        #[derive(Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct FileSettings {
            $( $name: file_type!($flag $(, $file)?), )*
        }

        impl Settings {
            /// The file's key of every setting.
            #[cfg(test)]
            pub(super) const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// These settings over the file's.
            pub(super) fn over(self, file: FileSettings) -> anyhow::Result<Settings> {
                Ok(Settings { $( $name: self.$name.merge(file.$name)?, )* })
            }
        }
    };
}

settings! {
    /// Data directory: database, root key, credentials file; relative to where the server
    /// starts [default: ./trent-data]
    #[arg(long, env = "TRENT_DATA_DIR")]
    data_dir: Option<PathBuf>;
    /// Address to listen on: 127.0.0.1:4599, localhost:4599, or a port alone (:4599, 4599)
    /// for loopback [default: 127.0.0.1:4599]
    #[arg(long, env = "TRENT_LISTEN", value_parser = parse_listen)]
    listen: Option<SocketAddr>, file Option<String>;
    /// The account created on first start [default: 111122223333]
    #[arg(long, env = "TRENT_ACCOUNT_ID")]
    account_id: Option<String>;
    /// How requests are authenticated [default: sigv4]
    #[arg(long, env = "TRENT_AUTH", value_enum)]
    auth: Option<super::AuthArg>;
    /// Log filter (tracing syntax), e.g. `info` or `trent=debug` [default: info]
    #[arg(long, env = "TRENT_LOG")]
    log: Option<String>;
    /// Log lines as `text` (colour only on a terminal) or `json` [default: text]
    #[arg(long, env = "TRENT_LOG_FORMAT", value_enum)]
    log_format: Option<crate::logging::LogFormat>;
    /// RSA wrapping key pairs kept ready per wrapping key spec (0: generate on demand)
    /// [default: 4]
    #[arg(long, env = "TRENT_WRAPPING_POOL_SIZE")]
    wrapping_pool_size: Option<usize>;
    /// How many import tokens one wrapping key pair may back within 24 hours (1: a fresh
    /// key pair for every GetParametersForImport, as AWS does) [default: 1]
    #[arg(long, env = "TRENT_TOKENS_PER_WRAPPING_KEY")]
    tokens_per_wrapping_key: Option<u32>;
    /// Keys kept decoded in memory (record, materials, parsed policy) so that cryptographic
    /// calls read nothing from the database; 0 reads every key from the database
    /// [default: 100000]
    #[arg(long, env = "TRENT_KEY_CACHE_SIZE")]
    key_cache_size: Option<usize>;
    /// With PostgreSQL: how long (milliseconds) a node trusts a cached key whose change
    /// notification it may have missed (other nodes' writes are also pushed at once)
    /// [default: 1000]
    #[arg(long, env = "TRENT_KEY_CACHE_TTL_MS")]
    key_cache_ttl_ms: Option<u64>;
    /// Connections served at once; a new one beyond evicts the one idle the longest, or is
    /// refused when all are busy. Default: 4096, or the open-file limit less 64 if lower.
    #[arg(long, env = "TRENT_MAX_CONNECTIONS")]
    max_connections: Option<usize>;
    /// Seconds a connection has to send a request's headers once it is ready for one (this
    /// also closes idle keep-alive connections) [default: 20]
    #[arg(long, env = "TRENT_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: Option<u64>;
    /// Seconds a request has to send its body once its headers have arrived [default: 20]
    #[arg(long, env = "TRENT_BODY_TIMEOUT_SECS")]
    body_timeout_secs: Option<u64>;
    /// Seconds a request may take to be handled once its body has arrived [default: 60]
    #[arg(long, env = "TRENT_REQUEST_TIMEOUT_SECS")]
    request_timeout_secs: Option<u64>;
    /// Seconds shutdown waits for requests in flight [default: 10]
    #[arg(long, env = "TRENT_DRAIN_SECS")]
    drain_secs: Option<u64>;
    /// Threads for RSA and signature work at once (default: half the CPUs).
    #[arg(long, env = "TRENT_HEAVY_WORK_THREADS")]
    heavy_work_threads: Option<usize>;
    /// RSA and signature jobs that may wait for those threads; beyond, ThrottlingException
    /// (default: 4 per thread).
    #[arg(long, env = "TRENT_HEAVY_WORK_QUEUE")]
    heavy_work_queue: Option<usize>;
    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP, with the key).
    #[arg(long, env = "TRENT_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>;
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "TRENT_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>;
    /// Require client certificates issued by this PEM CA (mutual TLS).
    #[arg(long, env = "TRENT_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>;
    /// With --tls-client-ca: admit clients that present no certificate (the KMS API's), and
    /// require one only on the XKS endpoints made with a client subject (docs/xks.md).
    #[arg(long, env = "TRENT_TLS_CLIENT_OPTIONAL", requires = "tls_client_ca")]
    tls_client_optional: bool, file Option<bool>;
    /// Development HTTPS: make (once) a CA and a localhost certificate under DATA_DIR/tls;
    /// clients trust it with AWS_CA_BUNDLE=DATA_DIR/tls/ca.pem.
    #[arg(long, env = "TRENT_TLS_SELF_SIGNED", conflicts_with = "tls_cert")]
    tls_self_signed: bool, file Option<bool>;
    /// Allow plain HTTP on an address other than loopback (anyone on the path can read and
    /// replay requests).
    #[arg(long, env = "TRENT_ALLOW_PLAINTEXT")]
    allow_plaintext: bool, file Option<bool>;
    /// UNSAFE outside a private network: let `--auth accept-any` listen on an address other
    /// than loopback — a container whose port is published only to its host or to a CI job's
    /// network (docs/container.md). Whoever reaches the port is the account root.
    #[arg(long, env = "TRENT_ALLOW_REMOTE_ACCEPT_ANY")]
    allow_remote_accept_any: bool, file Option<bool>;
    /// PostgreSQL instead of the embedded SQLite database, for several nodes: a
    /// `postgres://user:password@host:port/db` URL or `host=... user=... dbname=...`.
    /// Prefer the environment for a URL with a password.
    #[arg(long, env = "TRENT_DATABASE_URL")]
    database_url: Option<String>;
    /// PKCS#11 module of the HSM holding the root key (e.g. /usr/lib/softhsm/libsofthsm2.so).
    /// Without it the root key is the file root.key in the data directory.
    #[arg(long, env = "TRENT_PKCS11_MODULE")]
    pkcs11_module: Option<PathBuf>;
    /// Label of the PKCS#11 token; the user PIN is read from TRENT_PKCS11_PIN.
    #[arg(long, env = "TRENT_PKCS11_TOKEN_LABEL")]
    pkcs11_token_label: Option<String>;
    /// Label of the AES-256 root key in the token (created, non-extractable, if absent).
    #[arg(long, env = "TRENT_PKCS11_KEY_LABEL")]
    pkcs11_key_label: Option<String>;
    /// The root key file, instead of root.key in the data directory: one file the nodes of a
    /// cluster on one host share (docs/container.md). Mode 0600, owned by the server's user.
    #[arg(long, env = "TRENT_ROOT_KEY_FILE")]
    root_key_file: Option<PathBuf>;
    /// This node's name in its audit trail (default: made once and kept in DATA_DIR/node-id).
    #[arg(long, env = "TRENT_NODE_ID")]
    node_id: Option<String>;
    /// Answer calls even when their audit record cannot be written (default: such a call
    /// fails with KMSInternalException, and calls are refused until the trail works again).
    #[arg(long, env = "TRENT_AUDIT_FAIL_OPEN")]
    audit_fail_open: bool, file Option<bool>;
    /// Rotate audit.log past this many bytes [default: 104857600]
    #[arg(long, env = "TRENT_AUDIT_MAX_BYTES")]
    audit_max_bytes: Option<u64>;
    /// Rotate audit.log after this many hours [default: 24]
    #[arg(long, env = "TRENT_AUDIT_MAX_AGE_HOURS")]
    audit_max_age_hours: Option<u64>;
    /// Rotated audit files kept; the oldest beyond are deleted (default: all are kept).
    #[arg(long, env = "TRENT_AUDIT_KEEP_FILES")]
    audit_keep_files: Option<usize>;
    /// A signed checkpoint after this many audit records... [default: 1000]
    #[arg(long, env = "TRENT_AUDIT_CHECKPOINT_RECORDS")]
    audit_checkpoint_records: Option<u64>;
    /// ...or this many seconds after the last one (records written since are fsynced)
    /// [default: 60]
    #[arg(long, env = "TRENT_AUDIT_CHECKPOINT_SECS")]
    audit_checkpoint_secs: Option<u64>;
    /// Deliver the trail as CloudTrail does to this S3 bucket (any S3-compatible store; the
    /// SDK's credentials, AWS_REGION and AWS_ENDPOINT_URL_S3 apply): log files and signed
    /// digest files that `aws cloudtrail validate-logs` checks (docs/audit.md).
    #[arg(long, env = "TRENT_TRAIL_BUCKET")]
    trail_bucket: Option<String>;
    /// The S3 endpoint of --trail-bucket, path-style (MinIO, Ceph, Garage, moto)
    /// [default: the SDK's, or AWS_ENDPOINT_URL_S3]
    #[arg(long, env = "TRENT_TRAIL_S3_ENDPOINT")]
    trail_s3_endpoint: Option<String>;
    /// Deliver the trail to this directory too (or only), in the bucket's layout.
    #[arg(long, env = "TRENT_TRAIL_DIR")]
    trail_dir: Option<PathBuf>;
    /// Key prefix of the trail's files in the bucket (default: none).
    #[arg(long, env = "TRENT_TRAIL_PREFIX")]
    trail_prefix: Option<String>;
    /// The trail's name in its ARN and digest file names [default: trent]
    #[arg(long, env = "TRENT_TRAIL_NAME")]
    trail_name: Option<String>;
    /// The trail's home Region, in its ARN [default: us-east-1]
    #[arg(long, env = "TRENT_TRAIL_REGION")]
    trail_region: Option<String>;
    /// Seconds between deliveries of log files (CloudTrail: about 5 minutes) [default: 300]
    #[arg(long, env = "TRENT_TRAIL_DELIVERY_SECS")]
    trail_delivery_secs: Option<u64>;
    /// Seconds a digest file covers (CloudTrail: one hour) [default: 3600]
    #[arg(long, env = "TRENT_TRAIL_DIGEST_SECS")]
    trail_digest_secs: Option<u64>;
    /// Seed file (TOML): accounts, users, access keys, keys, aliases and imported material
    /// made to exist at every start (docs/configuration.md, "Seeding").
    #[arg(long, env = "TRENT_INIT")]
    init: Option<PathBuf>;
    /// UNSAFE, for rehearsals only: a test clock that `trent admin clock advance 25h` moves
    /// forward, so that import tokens, imported material, deletion windows and rotations
    /// expire in seconds. Never on a server that holds real keys.
    #[arg(long, env = "TRENT_DEV_CLOCK")]
    dev_clock: bool, file Option<bool>;
    /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. 127.0.0.1:9599
    /// (default: not served). It shows account and key ids: keep it on a trusted network.
    #[arg(long, env = "TRENT_METRICS_LISTEN", value_parser = parse_listen)]
    metrics_listen: Option<SocketAddr>, file Option<String>;
    /// Days before imported material expires when a warning notice is sent, comma-separated
    /// (default: 30,7; `none` for no warnings).
    #[arg(long, env = "TRENT_EXPIRY_WARNING_DAYS")]
    expiry_warning_days: Option<String>;
    /// POST each expiry notice (an EventBridge-shaped JSON event) to this http:// or https://
    /// URL, with retries; notices are always written to the audit trail.
    #[arg(long, env = "TRENT_NOTIFY_WEBHOOK")]
    notify_webhook: Option<String>;
    /// Request quotas per account and Region: `trent` (Trent's defaults: a node stays fair
    /// between accounts and a developer is never throttled), `aws` (AWS's own default quotas,
    /// to rehearse retry logic against throttling), a number (every quota at that many calls
    /// a second: `1` shows a client's retries at work) or `off` [default: trent]
    #[arg(long, env = "TRENT_QUOTAS", value_parser = parse_profile)]
    quotas: Option<Profile>, file Option<String>;
    /// A resource quota other than AWS's default, `NAME=N` (repeatable): keys-per-region,
    /// aliases-per-key, grants-per-key, tags-per-key, key-policy-bytes,
    /// custom-key-stores-per-region.
    #[arg(long = "resource-quota", env = "TRENT_RESOURCE_QUOTAS", value_delimiter = ',', value_parser = parse_resource_quota)]
    resource_quotas: Vec<(ResourceQuota, u64)>, file Option<BTreeMap<String, u64>>;
    /// Trust this PEM CA certificate bundle (besides the system's) for the XKS proxies of
    /// external key stores (docs/xks.md).
    #[arg(long, env = "TRENT_XKS_CLIENT_CA")]
    xks_client_ca: Option<PathBuf>;
    /// Reach the XKS proxy HOST at ADDRESS:PORT instead of HOST:443, `HOST=ADDRESS:PORT`
    /// (repeatable; TLS still checks HOST's certificate), as curl's --connect-to.
    #[arg(long = "xks-client-connect", env = "TRENT_XKS_CLIENT_CONNECT", value_delimiter = ',')]
    xks_client_connect: Vec<String>, file Option<Vec<String>>;
    /// Present this PEM certificate (chain) to XKS proxies that require mutual TLS.
    #[arg(long, env = "TRENT_XKS_CLIENT_CERT", requires = "xks_client_key")]
    xks_client_cert: Option<PathBuf>;
    /// The PEM private key of --xks-client-cert.
    #[arg(long, env = "TRENT_XKS_CLIENT_KEY", requires = "xks_client_cert")]
    xks_client_key: Option<PathBuf>;
    /// Requests a second each XKS endpoint Trent serves admits; past it, ThrottlingException
    /// (the spec's per-prefix quota; 0: no limit) [default: 1800]
    #[arg(long, env = "TRENT_XKS_REQUESTS_PER_SECOND")]
    xks_requests_per_second: Option<u32>;
    /// Milliseconds a call to an XKS proxy may take (AWS KMS: 250) [default: 250]
    #[arg(long, env = "TRENT_XKS_TIMEOUT_MS")]
    xks_timeout_ms: Option<u64>;
    /// Host names (besides loopback names and addresses) that requests may name in `Host`
    /// under `--auth accept-any` and on the metrics listener, comma-separated.
    #[arg(long, env = "TRENT_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>, file Option<Vec<String>>;
}
