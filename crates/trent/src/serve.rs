//! `trent serve`, in stages: bind the addresses, open the data directory (lock, store, root
//! key, keyring, audit trail), build the domain, provision the account, start the duties,
//! serve until SIGINT or SIGTERM, then drain. Every task it starts is on one tracker and
//! stops with one token; `serve` returns only when all of them have ended.

use anyhow::Context as _;

use crate::config::{AuthArg, ServeConfig, TlsChoice};
use crate::datadir;
use crate::storage::KeyChanges;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trent_core::{Kms, KmsConfig, ManualClock, SystemClock};
use trent_server::{AppState, AuthMode};
use trent_trail::journal::{FileAudit, JournalReader};

pub fn run(cfg: ServeConfig) -> anyhow::Result<()> {
    crate::logging::init(&cfg.log, cfg.log_format)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(serve(cfg))
}

async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let shutdown = shutdown_signal()?;
    // The addresses first: a port in use, or plain HTTP where it is refused, must not leave
    // a new data directory, root key and credentials behind.
    let (listener, metrics_listener) = bind(&cfg).await?;
    let (opened, keyring, changes) = open(&cfg).await?;
    let domain = build_domain(&cfg, &opened, keyring)?;
    let delivery = open_delivery(&cfg, &opened).await?;
    // The certificates before the credentials: a written credentials file is how scripts (and
    // the e2e tests) know the data directory is complete, `tls/ca.pem` included.
    let tls = load_tls(&cfg)?;
    provision(&cfg, &domain.kms).await?;
    let tasks = Tasks::default();
    start_duties(&tasks, &cfg, &opened, &domain, changes);
    if let (Some(delivery), Some(trail)) = (&delivery, &cfg.trail) {
        start_delivery(&tasks, delivery.delivery.clone(), domain.kms.clone(), trail.delivery_every);
    }
    let lookup = lookup_trail(&cfg, &opened, &domain, &tasks);
    let state = app_state(&cfg, &domain, tls.as_ref(), &tasks, delivery.as_ref(), lookup);
    if let (Some(listener), Some(addr)) = (metrics_listener, cfg.monitoring.metrics_listen) {
        start_metrics(&tasks, listener, addr, state.clone(), tls.is_some());
    }
    tracing::info!(
        max_connections = cfg.limits.max_connections,
        header_timeout_s = cfg.limits.header_timeout.as_secs(),
        body_timeout_s = cfg.limits.body_timeout.as_secs(),
        request_timeout_s = cfg.limits.request_timeout.as_secs(),
        "connection limits"
    );
    tracing::info!(listen = %cfg.listen, tls = tls.is_some(), startup_ms = started.elapsed().as_millis() as u64, version = env!("CARGO_PKG_VERSION"), "trent is serving");
    let served = trent_server::serve(listener, state, shutdown).await.context("server error");
    drain(tasks, &cfg, &opened, &domain.kms, delivery.as_ref()).await;
    drop(opened.lock);
    tracing::info!("stopped");
    served
}

/// The server's tasks: spawned on one tracker, stopped by one token, waited for by `drain`.
#[derive(Default)]
struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    /// Runs `work` until it ends or the server stops.
    fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = work => {}
            }
        });
    }
}

/// The API's listener and the metrics' (if asked for).
async fn bind(cfg: &ServeConfig) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    if matches!(cfg.tls, TlsChoice::Plain) && !cfg.listen.ip().is_loopback() && !cfg.allow_plaintext
    {
        anyhow::bail!(
            "{} is not a loopback address: serve it with TLS (--tls-cert/--tls-key, or --tls-self-signed), or pass --allow-plaintext",
            cfg.listen
        );
    }
    let listener = TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let metrics = match cfg.monitoring.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for the metrics"))?,
        ),
        None => None,
    };
    Ok((listener, metrics))
}

/// What the data directory holds, opened (the keyring and the other nodes' key changes are
/// handed on by value: to the domain, to the duty that follows them).
struct Opened {
    /// One process per SQLite data directory (none with PostgreSQL).
    lock: Option<crate::lock::DirLock>,
    store: Arc<dyn trent_store::Store>,
    /// The audit trail signs its checkpoints with a key of its own keyring (the same DEK).
    audit_key: Arc<trent_crypto::Keyring>,
    audit: Arc<FileAudit>,
    /// This node's name in its journal.
    node: String,
}

async fn open(
    cfg: &ServeConfig,
) -> anyhow::Result<(Opened, trent_crypto::Keyring, Option<KeyChanges>)> {
    datadir::ensure_dir(&cfg.data_dir)?;
    // Taken before anything is read or written.
    let lock = match cfg.database_url {
        Some(_) => None,
        None => Some(crate::lock::acquire(&cfg.data_dir, "trent serve").map_err(|e| match e {
            crate::lock::LockError::Held(holder) => {
                anyhow::anyhow!(crate::lock::in_use(&cfg.data_dir, &holder))
            }
            crate::lock::LockError::Io(e) => e,
        })?),
    };
    let (store, changes) =
        crate::storage::open(&cfg.data_dir, cfg.database_url.as_deref(), true).await?;
    // A root key is made only for a store that has none: a lost root key is an error to fix
    // from a backup, never a reason to start afresh over keys nobody could open again.
    let bootstrap = trent_core::Bootstrap::new(store.as_ref());
    let first_start = !bootstrap.keyring_exists().await?;
    let root = crate::root_key::open(&cfg.data_dir, &cfg.root_key, first_start)?;
    tracing::info!(root_key = %root.describe(), "root key ready");
    let keyring = bootstrap.open_keyring(root.as_ref()).await?;
    let audit_key = Arc::new(bootstrap.open_keyring(root.as_ref()).await?);
    let node = datadir::node_id(&cfg.data_dir, cfg.audit.node_id.as_deref())?;
    let options = trent_trail::journal::AuditOptions {
        node: node.clone(),
        checkpoint_every: cfg.audit.checkpoint_every,
        checkpoint_interval: cfg.audit.checkpoint_interval,
        max_bytes: cfg.audit.max_bytes,
        max_age: cfg.audit.max_age,
        keep_files: cfg.audit.keep_files,
    };
    let audit = FileAudit::open(&cfg.data_dir, audit_key.clone(), options)?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    trent_trail::nodes::register(store.as_ref(), &node, now_ms)
        .await
        .context("cannot register this node's journal in the store")?;
    tracing::info!(node = %node, fail_open = cfg.audit.fail_open, "audit trail ready");
    Ok((Opened { lock, store, audit_key, audit, node }, keyring, changes))
}

/// The trail's delivery as CloudTrail delivers it, when configured.
struct Delivering {
    delivery: Arc<trent_trail::Delivery>,
    public_key: trent_server::TrailPublicKey,
}

async fn open_delivery(cfg: &ServeConfig, opened: &Opened) -> anyhow::Result<Option<Delivering>> {
    let Some(trail) = &cfg.trail else { return Ok(None) };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let signing =
        trent_trail::signing::load_or_create(opened.store.as_ref(), &opened.audit_key, now_ms)
            .await
            .context("the trail's signing key")?;
    let mut destinations: Vec<Box<dyn trent_trail::Destination>> = Vec::new();
    if trail.s3 {
        let bucket =
            trent_trail::Bucket::connect(&trail.bucket, trail.s3_endpoint.as_deref(), None).await;
        destinations.push(Box::new(bucket));
    }
    if let Some(dir) = &trail.dir {
        datadir::ensure_dir(dir)?;
        destinations.push(Box::new(trent_trail::Directory::new(dir)));
    }
    let settings = trent_trail::DeliverySettings {
        place: trent_trail::TrailPlace {
            bucket: trail.bucket.clone(),
            prefix: trail.prefix.clone(),
            name: trail.name.clone(),
            home_region: trail.home_region.clone(),
        },
        node: opened.node.clone(),
        digest_every_ms: trail.digest_every.as_millis() as i64,
        batch: 10_000,
    };
    let public_key = trent_server::TrailPublicKey {
        der: signing.key.public_key_der(),
        fingerprint: signing.key.fingerprint(),
        created_ms: signing.created_ms,
    };
    let journal = Arc::new(JournalReader::new(&cfg.data_dir));
    let delivery = trent_trail::Delivery::new(
        opened.store.clone(),
        Arc::new(signing.key),
        journal,
        destinations,
        settings,
    );
    opened.audit.keep_until_delivered(delivery.delivered_through());
    tracing::info!(to = ?delivery.destinations(), fingerprint = %public_key.fingerprint, every_s = trail.delivery_every.as_secs(), digest_every_s = trail.digest_every.as_secs(), "the trail is delivered as CloudTrail delivers it");
    Ok(Some(Delivering { delivery: Arc::new(delivery), public_key }))
}

/// Delivers the trail every `every`, on the domain's clock (a dev clock moves digests too).
fn start_delivery(
    tasks: &Tasks,
    delivery: Arc<trent_trail::Delivery>,
    kms: Arc<Kms>,
    every: Duration,
) {
    tasks.spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = delivery.run_once(kms.now_ms()).await {
                let error = trent_types::error_chain(&e);
                tracing::error!(%error, "trail delivery failed; it is retried at the next round");
            }
        }
    });
}

/// The domain and what serving it needs besides.
struct Domain {
    kms: Arc<Kms>,
    dev_clock: Option<Arc<ManualClock>>,
    webhook_outcomes: Option<crate::webhook::Outcomes>,
}

fn build_domain(
    cfg: &ServeConfig,
    opened: &Opened,
    keyring: trent_crypto::Keyring,
) -> anyhow::Result<Domain> {
    let mut config = KmsConfig::default();
    config.wrapping_pool.size_per_spec = cfg.wrapping_pool_size;
    config.wrapping_pool.tokens_per_key_pair = cfg.tokens_per_wrapping_key;
    config.key_cache_size = cfg.key_cache_size;
    config.heavy_work = cfg.heavy_work.clone();
    config.expiry_warnings = cfg.monitoring.expiry_warnings.clone();
    config.quotas = cfg.quotas;
    config.resource_quotas = cfg.resource_quotas.clone();
    config.xks_timeout = cfg.xks_client.timeout;
    config.xks_requests_per_second = cfg.xks_client.requests_per_second;
    if cfg.database_url.is_some() {
        config.key_cache_ttl = Some(Duration::from_millis(cfg.key_cache_ttl_ms));
        tracing::info!(
            ttl_ms = cfg.key_cache_ttl_ms,
            "store: PostgreSQL (shared by several nodes; their key changes are pushed, cached keys also expire)"
        );
    }
    if cfg.tokens_per_wrapping_key > 1 {
        tracing::warn!(
            tokens = cfg.tokens_per_wrapping_key,
            "one wrapping key pair may back several import tokens (AWS issues a fresh one per call)"
        );
    }
    let dev_clock = cfg.dev_clock.then(|| {
        tracing::warn!("!!! --dev-clock: `trent admin clock advance` moves this server's time; expiries can be forced !!!");
        tracing::warn!("!!! use it only to rehearse, never on a server that holds real keys !!!");
        Arc::new(ManualClock::default())
    });
    let clock: Arc<dyn trent_core::Clock> = match &dev_clock {
        Some(c) => c.clone(),
        None => Arc::new(SystemClock),
    };
    let client_cert = cfg.xks_client.client_cert.as_ref().map(|(cert, key)| {
        trent_server::xks_client::ClientCertificate { cert: cert.as_path(), key: key.as_path() }
    });
    let xks = trent_server::xks_client::HttpsXks::new(
        cfg.xks_client.ca.as_deref(),
        &cfg.xks_client.connect_to,
        client_cert,
    )?;
    let mut kms = Kms::new(opened.store.clone(), keyring, clock, config)
        .with_audit(opened.audit.clone())
        .with_xks_transport(Arc::new(xks));
    let mut webhook_outcomes = None;
    if let Some(url) = &cfg.monitoring.notify_webhook {
        let (hook, outcomes) = crate::webhook::Webhook::start(url)?;
        kms = kms.with_notifier(Arc::new(hook));
        webhook_outcomes = Some(outcomes);
        let host = url.parse::<hyper::Uri>().ok().and_then(|u| u.host().map(String::from));
        tracing::info!(host = host.unwrap_or_default(), "expiry notices go to a webhook");
    }
    Ok(Domain { kms: Arc::new(kms), dev_clock, webhook_outcomes })
}

fn load_tls(cfg: &ServeConfig) -> anyhow::Result<Option<Arc<trent_server::tls::Tls>>> {
    let settings = match &cfg.tls {
        TlsChoice::Plain => {
            if !cfg.listen.ip().is_loopback() {
                tracing::warn!(listen = %cfg.listen, "!!! plain HTTP on a network address: anyone on the path can read and replay requests !!!");
            }
            return Ok(None);
        }
        TlsChoice::Files(settings) => settings.clone(),
        TlsChoice::SelfSigned { client_ca, client_optional } => {
            let mut settings = trent_server::tls::ensure_self_signed(&cfg.data_dir)?;
            settings.client_ca = client_ca.clone();
            settings.client_optional = *client_optional;
            tracing::info!(ca = %cfg.data_dir.join("tls/ca.pem").display(), "development TLS: clients trust it with AWS_CA_BUNDLE");
            settings
        }
    };
    Ok(Some(Arc::new(trent_server::tls::Tls::load(settings)?)))
}

/// The default account's credentials (written once to the data directory) and the seed file.
async fn provision(cfg: &ServeConfig, kms: &Kms) -> anyhow::Result<()> {
    let creds = kms.admin().ensure_account(&cfg.account_id).await?;
    let (account, id) = (&cfg.account_id, &creds.access_key_id);
    match datadir::write_credentials(&cfg.data_dir, id, &creds.secret_access_key)? {
        Some(p) => {
            tracing::info!(%account, access_key_id = %id, file = %p.display(), "wrote credentials for the account root")
        }
        None => {
            tracing::info!(%account, access_key_id = %id, "account root credentials are in the credentials file")
        }
    }
    if let Some(path) = &cfg.init {
        let seed = crate::seed_file::load(path, &cfg.account_id, kms.now_ms())?;
        let report = kms
            .admin()
            .seed(&seed)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
        tracing::info!(file = %path.display(), made = report.made.len(), unchanged = report.kept, "seeded");
        for what in &report.made {
            tracing::info!(made = %what, "seed");
        }
    }
    Ok(())
}

fn auth_mode(cfg: &ServeConfig) -> AuthMode {
    match cfg.auth {
        AuthArg::Sigv4 => AuthMode::SigV4,
        AuthArg::AcceptAny => {
            tracing::warn!("!!! --auth accept-any: signatures are NOT checked; any access key acts as account {} !!!", cfg.account_id);
            tracing::warn!(
                "!!! use this only for local tests, never where anyone else can reach the port !!!"
            );
            AuthMode::AcceptAny
        }
    }
}

/// The duties that run beside the API: the background pass, the key-usage flush, the other
/// nodes' key changes, the audit checkpoints and the admin socket.
fn start_duties(
    tasks: &Tasks,
    cfg: &ServeConfig,
    opened: &Opened,
    domain: &Domain,
    changes: Option<KeyChanges>,
) {
    let kms = &domain.kms;
    tasks.spawn(kms.clone().run_background(Duration::from_secs(30)));
    tasks.spawn(kms.clone().run_usage_flush(Duration::from_secs(5)));
    if let Some(mut changes) = changes {
        let kms = kms.clone();
        tasks.spawn(async move {
            while let Some(key) = changes.recv().await {
                kms.forget_key(&key).await;
            }
        });
    }
    let audit = opened.audit.clone();
    tasks.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            let audit = audit.clone();
            let ticked = tokio::task::spawn_blocking(move || audit.tick(false)).await;
            if let Ok(Err(e)) = ticked {
                tracing::error!(error = %e, "audit checkpoint failed");
            }
        }
    });
    // Without the socket (a path too long for a Unix socket, say) the server still serves;
    // `trent admin` then says it cannot reach it.
    if opened.lock.is_some() {
        let (dir, key) = (cfg.data_dir.clone(), opened.audit_key.clone());
        let store = opened.store.clone();
        // Run on a blocking thread of the runtime (admin_socket.rs): the store is asked there.
        let verify = move || {
            let report = trent_trail::journal::verify_dir(&dir, key.as_ref())?;
            let checked = trent_trail::journal::against_store(report, store.as_ref());
            Ok(tokio::runtime::Handle::current().block_on(checked)?)
        };
        let extras = crate::admin_socket::Extras {
            verify: Arc::new(verify),
            store: opened.store.clone(),
            keyring: opened.audit_key.clone(),
            clock: domain.dev_clock.clone(),
        };
        match crate::admin_socket::serve(&cfg.data_dir, kms.clone(), extras) {
            Ok(accept) => tasks.spawn(accept),
            Err(e) => {
                tracing::warn!(error = %e, "no admin socket: trent admin cannot reach this server")
            }
        }
    }
}

/// Where LookupEvents reads: this node's files, or, with several nodes on PostgreSQL, every
/// node's records copied to the store (the copy runs every second from here).
fn lookup_trail(
    cfg: &ServeConfig,
    opened: &Opened,
    domain: &Domain,
    tasks: &Tasks,
) -> Arc<dyn trent_core::audit::lookup::TrailReader> {
    if cfg.database_url.is_none() {
        return Arc::new(trent_trail::journal::FileTrail { dir: cfg.data_dir.clone() });
    }
    let trail = Arc::new(trent_trail::journal::StoreTrail {
        store: opened.store.clone(),
        journal: Arc::new(JournalReader::new(&cfg.data_dir)),
        node: opened.node.clone(),
        runtime: tokio::runtime::Handle::current(),
    });
    let kms = domain.kms.clone();
    tasks.spawn(trail.clone().run(move || kms.now_ms()));
    tracing::info!(
        "LookupEvents answers with every node's records (copied to the database every second)"
    );
    trail
}

/// What the API's requests are served with.
fn app_state(
    cfg: &ServeConfig,
    domain: &Domain,
    tls: Option<&Arc<trent_server::tls::Tls>>,
    tasks: &Tasks,
    delivery: Option<&Delivering>,
    lookup: Arc<dyn trent_core::audit::lookup::TrailReader>,
) -> Arc<AppState> {
    let mut state = AppState::new(domain.kms.clone(), auth_mode(cfg), cfg.account_id.clone())
        .with_allowed_hosts(&cfg.allowed_hosts)
        .with_limits(cfg.limits)
        .with_audit_fail_open(cfg.audit.fail_open)
        .with_trail(lookup);
    if let (Some(d), Some(trail)) = (delivery, &cfg.trail) {
        state = state.with_delivery(trent_server::Delivered {
            delivery: d.delivery.clone(),
            public_key: d.public_key.clone(),
            s3: trail.s3,
        });
    }
    if let Some(tls) = tls {
        state = state.with_tls(tls.clone());
        tasks.spawn(reload_on_sighup(tls.clone()));
    }
    if let Some(outcomes) = domain.webhook_outcomes.clone() {
        state.metrics.register(
            "trent_notifications",
            "Expiry notices sent to the webhook, by outcome (delivered, failed, dropped)",
            outcomes,
        );
    }
    Arc::new(state)
}

/// The metrics listener, until the server stops (its connections drain as the API's do).
fn start_metrics(
    tasks: &Tasks,
    listener: TcpListener,
    addr: std::net::SocketAddr,
    state: Arc<AppState>,
    tls: bool,
) {
    if !addr.ip().is_loopback() && !tls {
        tracing::warn!(listen = %addr, "metrics on a network address in plain HTTP: they name accounts and keys");
    }
    tracing::info!(listen = %addr, "metrics at /metrics");
    let metrics =
        trent_server::serve_metrics(listener, state, tasks.stop.clone().cancelled_owned());
    tasks.tracker.spawn(async move {
        if let Err(e) = metrics.await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    });
}

/// After the last request: stops every task and waits for them, then writes what is still in
/// memory (key usage, the trail's last checkpoint) before the process ends.
async fn drain(
    tasks: Tasks,
    cfg: &ServeConfig,
    opened: &Opened,
    kms: &Kms,
    delivery: Option<&Delivering>,
) {
    tasks.tracker.close();
    tasks.stop.cancel();
    tasks.tracker.wait().await;
    if let Err(e) = kms.flush_key_usage().await {
        tracing::error!(error = %e, "the last key usage was not written");
    }
    if let Err(e) = opened.audit.tick(true) {
        tracing::error!(error = %e, "the audit trail's last checkpoint failed");
    }
    // The last records go out with the server (CloudTrail delivers when logging stops).
    if let Some(d) = delivery {
        if let Err(e) = d.delivery.run_once(kms.now_ms()).await {
            let error = trent_types::error_chain(&e);
            tracing::error!(%error, "the trail's last delivery failed; the next start delivers it");
        }
    }
    if opened.lock.is_some() {
        let _ = std::fs::remove_file(cfg.data_dir.join(crate::admin_socket::SOCKET_FILE));
    }
}

/// Reads the TLS certificate and key again at every SIGHUP; new connections get the new ones.
async fn reload_on_sighup(tls: Arc<trent_server::tls::Tls>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match tls.reload() {
            Ok(()) => {
                tracing::info!(cert = %tls.settings().cert.display(), "reloaded the TLS certificate")
            }
            Err(e) => {
                let error = trent_types::error_chain(&e);
                tracing::error!(%error, "kept the TLS certificate in use: the new one does not load")
            }
        }
    }
}

/// SIGINT or SIGTERM. The handlers are installed when this is called (at start-up), not
/// when the future is first polled: a signal that arrives while the server starts, or before
/// the accept loop first looks at it, still shuts the server down gracefully.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle signals")?;
    let mut term = signal(SignalKind::terminate()).context("cannot handle signals")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}
