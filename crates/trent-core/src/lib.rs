//! The domain of Trent: KMS keys, their state machine and materials, and one module per
//! operation family (`ops/`). No HTTP types: requests and responses are the typed wire shapes of
//! `trent-types`; persistence goes through `trent-store`.

mod admin;
pub mod audit;
mod authn;
pub mod authz;
mod authz_cache;
mod background;
mod bootstrap;
mod cache;
pub mod clock;
mod custom_key_stores;
mod error;
mod gate;
mod heavy;
mod key_cache;
mod keyspec;
mod lifecycle;
mod materials;
mod metadata;
mod new_key;
pub mod notices;
mod ops;
pub mod quotas;
mod service_events;
mod state;
mod stats;
mod usage;
mod wrapping_pool;
mod writes;
pub mod xks;

pub use admin::{
    Admin, AdminRequest, BootstrapCredentials, Seed, SeedAccessKey, SeedAccount, SeedKey,
    SeedMaterial, SeedReport, SeedUser, ACCOUNT_ROOT_USER,
};
pub use authn::{Authentication, SigningIdentity};
pub use background::Background;
pub use bootstrap::Bootstrap;
pub use clock::{Clock, ManualClock, SystemClock};
pub use custom_key_stores::keys::with_request_id;
pub use custom_key_stores::proxy::{
    TransportError, XksHttpRequest, XksHttpResponse, XksTransport, DEFAULT_TIMEOUT as XKS_TIMEOUT,
};
pub use error::{chain, Fault, KmsError};
pub use gate::{parse_key_identifier, Authorized, Call, Conditions, KeyIdentifier, Target};
pub use heavy::HeavyWorkConfig;
pub use stats::{KeyCensus, Stats};
pub use trent_store::{partition_named, partition_of, PARTITIONS};
pub use wrapping_pool::WrappingPoolConfig;

use std::sync::Arc;
use trent_crypto::Keyring;
use trent_store::Store;

pub type Result<T> = std::result::Result<T, KmsError>;

/// Who is calling: the account and principal of the access key, and the Region of the
/// request's credential scope (keys live per account and Region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub region: String,
    pub principal_arn: String,
    pub access_key_id: String,
    /// The client's address, for `aws:SourceIp`.
    pub source_ip: Option<String>,
    /// Whether the request came over TLS, for `aws:SecureTransport`.
    pub secure_transport: bool,
    /// The caller's request-quota buckets, when authentication found them.
    pub quota: quotas::TenantHandle,
}

/// Settings of the domain that operators may change.
#[derive(Debug, Clone)]
pub struct KmsConfig {
    /// How many on-demand rotations one key may have (AWS: 25 in the current API text).
    pub max_on_demand_rotations: usize,
    /// How long an import token and its wrapping key are valid (AWS: 24 hours).
    pub import_token_validity_ms: i64,
    pub wrapping_pool: WrappingPoolConfig,
    /// The bounds of CPU-heavy work (RSA, signatures).
    pub heavy_work: HeavyWorkConfig,
    /// Keys the in-memory key cache holds (0: every call reads its key from the store).
    pub key_cache_size: usize,
    /// How long a cached key may be used before it is read again: `None` when this server is
    /// the only writer of its store, a short time when several nodes share it.
    pub key_cache_ttl: Option<std::time::Duration>,
    /// How long before imported material expires a warning notice is sent (`notices`).
    pub expiry_warnings: Vec<std::time::Duration>,
    /// How long a new replica shows `Creating`, and the keys changing primary `Updating`.
    pub multi_region_sync_ms: i64,
    /// Which request quotas are in force (`quotas`).
    pub quotas: quotas::Profile,
    /// The resource quotas (keys per Region, aliases and grants per key, …).
    pub resource_quotas: quotas::ResourceQuotas,
    /// How long a call to an external key store's proxy may take (AWS: 250 ms).
    pub xks_timeout: std::time::Duration,
    /// Requests a second each XKS endpoint Trent serves admits (0: no limit).
    pub xks_requests_per_second: u32,
}

impl Default for KmsConfig {
    fn default() -> Self {
        KmsConfig {
            max_on_demand_rotations: 25,
            import_token_validity_ms: 24 * 3_600_000,
            wrapping_pool: WrappingPoolConfig::default(),
            heavy_work: HeavyWorkConfig::default(),
            key_cache_size: 100_000,
            key_cache_ttl: None,
            expiry_warnings: [30, 7]
                .map(|days| std::time::Duration::from_secs(days * 86_400))
                .to_vec(),
            multi_region_sync_ms: ops::multi_region::DEFAULT_SYNC_MS,
            quotas: quotas::Profile::default(),
            resource_quotas: quotas::ResourceQuotas::default(),
            xks_timeout: custom_key_stores::proxy::DEFAULT_TIMEOUT,
            xks_requests_per_second: xks::DEFAULT_REQUESTS_PER_SECOND,
        }
    }
}

/// The KMS service: every operation of the API is a [`Call`] run by [`Kms::call`];
/// administration is [`Kms::admin`], access-key lookup [`Kms::authentication`] and the
/// periodic work [`Kms::background`]. A node opens its keyring with [`Bootstrap`] first.
pub struct Kms {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: KmsConfig,
    /// The keys this node serves from memory.
    held: Held,
    /// Who may call: signing keys, policies and grants, request quotas.
    access: Access,
    /// What the service tells of itself: the audit trail, expiry notices, key usage.
    hooks: Hooks,
    /// CPU-heavy work off the async workers.
    work: Work,
}

/// The keys a node serves from memory: the keyring that opens them, their records with
/// materials and parsed policy (`KeyCache`: loads from the store, exact under the per-key
/// locks of `writes.rs`), and opened materials (`Held`'s own methods in `materials.rs`).
struct Held {
    keyring: Keyring,
    keys: key_cache::KeyCache,
    materials: materials::MaterialCache,
}

/// Who may call: access keys' signing keys (`authn.rs`, read through the `Authentication`
/// view), identity policies and grants (`authz_cache.rs`), and the request quotas `Kms::call`
/// charges (`Quotas::tenant_of`, `Quotas::charge`).
struct Access {
    signing_keys: authn::SigningKeyCache,
    authz_cache: authz_cache::AuthzCache,
    quotas: quotas::Quotas,
}

/// What the service tells of itself: its audit sink and the records that could not be
/// written (`stats`), expiry notices and those sent, and the last use of each key.
struct Hooks {
    audit: Arc<dyn audit::AuditSink>,
    audit_failures: Arc<std::sync::atomic::AtomicU64>,
    notifier: Arc<dyn notices::Notifier>,
    sent_notices: notices::Sent,
    usage: usage::UsageNotes,
    /// HTTPS to the XKS proxies of external key stores.
    xks: Arc<dyn XksTransport>,
}

impl Hooks {
    /// Writes an audit entry (an API call's, made by the HTTP layer, or a record in
    /// CloudTrail's shape) to this service's sink; `Ok` once it is in the trail.
    async fn record(
        &self,
        event: trent_trail::Entry,
    ) -> std::result::Result<(), audit::AuditError> {
        let written = self.audit.record(event).written().await;
        if written.is_err() {
            self.audit_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        written
    }

    /// Writes the record of a service event (what the server did by itself: it has happened,
    /// so a record that cannot be written is counted and logged, never a reason to undo it).
    fn write_event(&self, event: serde_json::Value, what: &'static str) {
        let failed = move |e: &audit::AuditError, failures: &std::sync::atomic::AtomicU64| {
            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(error = %e, event = what, "a service event is not in the audit trail");
        };
        let write = self.audit.record(trent_trail::Entry::Record(event.to_string()));
        match (&write, tokio::runtime::Handle::try_current()) {
            // Nobody waits for a service event's queued record: it is checked on the side.
            (audit::AuditWrite::Queued(_), Ok(rt)) => {
                let failures = self.audit_failures.clone();
                rt.spawn(async move {
                    if let Err(e) = write.written().await {
                        failed(&e, &failures);
                    }
                });
            }
            _ => {
                if let Err(e) = write.written_blocking() {
                    failed(&e, &self.audit_failures);
                }
            }
        }
    }
}

/// CPU-heavy work: the bounded pool of blocking threads and the wrapping key pairs made on it.
struct Work {
    heavy: Arc<heavy::HeavyWork>,
    wrapping_pool: wrapping_pool::WrappingPool,
}

impl Kms {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Keyring,
        clock: Arc<dyn Clock>,
        config: KmsConfig,
    ) -> Self {
        let heavy = Arc::new(heavy::HeavyWork::new(config.heavy_work.clone()));
        let wrapping_pool =
            wrapping_pool::WrappingPool::new(config.wrapping_pool.clone(), heavy.clone());
        let keys = key_cache::KeyCache::new(
            store.clone(),
            clock.clone(),
            config.key_cache_size,
            config.key_cache_ttl,
        );
        let authz_cache = authz_cache::AuthzCache::new(store.clone(), 10_000, config.key_cache_ttl);
        let quotas = quotas::Quotas::new(config.quotas);
        Kms {
            store,
            clock,
            config,
            held: Held { keyring, keys, materials: materials::MaterialCache::new(10_000) },
            access: Access { signing_keys: authn::signing_key_cache(), authz_cache, quotas },
            hooks: Hooks {
                audit: Arc::new(audit::LogAudit),
                audit_failures: Arc::new(std::sync::atomic::AtomicU64::new(0)),
                notifier: Arc::new(notices::NoNotifier),
                sent_notices: notices::Sent::default(),
                usage: usage::UsageNotes::default(),
                xks: Arc::new(custom_key_stores::proxy::NoTransport),
            },
            work: Work { heavy, wrapping_pool },
        }
    }

    /// Hands expiry notices to `notifier` as well as to the audit trail.
    pub fn with_notifier(mut self, notifier: Arc<dyn notices::Notifier>) -> Self {
        self.hooks.notifier = notifier;
        self
    }

    /// Sends audit events to `sink` instead of the log.
    pub fn with_xks_transport(mut self, transport: Arc<dyn XksTransport>) -> Self {
        self.hooks.xks = transport;
        self
    }

    pub fn with_audit(mut self, sink: Arc<dyn audit::AuditSink>) -> Self {
        self.hooks.audit = sink;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn keyring(&self) -> &Keyring {
        &self.held.keyring
    }

    /// Forgets a key another node changed (see [`Held::forget_key`]).
    pub async fn forget_key(&self, key: &trent_store::KeyRef) {
        self.held.forget_key(key).await;
    }

    /// The time of the one clock every expiry and every record is measured by.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Writes an audit entry (an API call's, made by the HTTP layer, or a record in
    /// CloudTrail's shape) to this service's sink; `Ok` once it is in the trail.
    pub async fn record_audit(
        &self,
        event: trent_trail::Entry,
    ) -> std::result::Result<(), audit::AuditError> {
        self.hooks.record(event).await
    }

    /// Writes the records of one call (one per account that receives it), handed to the
    /// trail together so that they share a write; `Ok` once all are in the trail.
    pub async fn record_audit_all(
        &self,
        events: Vec<trent_trail::Entry>,
    ) -> std::result::Result<(), audit::AuditError> {
        if let [_] = events.as_slice() {
            let mut events = events;
            return self.hooks.record(events.remove(0)).await;
        }
        let writes: Vec<_> = events.into_iter().map(|e| self.hooks.audit.record(e)).collect();
        let mut outcome = Ok(());
        for w in writes {
            if let Err(e) = w.written().await {
                self.hooks.audit_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                outcome = Err(e);
            }
        }
        outcome
    }

    /// Writes the record of a service event (see [`Hooks::write_event`]).
    fn write_audit(&self, event: serde_json::Value, what: &'static str) {
        self.hooks.write_event(event, what);
    }

    /// Runs CPU-heavy work (RSA, signatures) on a blocking thread within the bounds of
    /// `heavy.rs`, never on the async workers.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        self.work.heavy.run(f).await
    }
}
