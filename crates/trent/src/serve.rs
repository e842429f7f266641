//! `trent serve`: opens the data directory, the store and the keyring, makes sure the
//! default account has credentials, and serves until SIGINT or SIGTERM.

use crate::config::{AuthArg, ServeConfig, TlsChoice};
use crate::datadir;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trent_core::{Kms, KmsConfig, SystemClock};
use trent_server::{AppState, AuthMode};

pub fn run(cfg: ServeConfig) -> Result<(), String> {
    crate::logging::init(&cfg.log, cfg.log_format)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(serve(cfg))
}

async fn serve(cfg: ServeConfig) -> Result<(), String> {
    let started = Instant::now();
    let shutdown = shutdown_signal()?;
    // The addresses first: a port in use, or plain HTTP where it is refused, must not leave
    // a new data directory, root key and credentials behind.
    if matches!(cfg.tls, TlsChoice::Plain) && !cfg.listen.ip().is_loopback() && !cfg.allow_plaintext
    {
        return Err(format!(
            "{} is not a loopback address: serve it with TLS (--tls-cert/--tls-key, or --tls-self-signed), or pass --allow-plaintext",
            cfg.listen
        ));
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let metrics_listener = match cfg.monitoring.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} for the metrics: {e}"))?,
        ),
        None => None,
    };
    datadir::ensure_dir(&cfg.data_dir)?;
    // One process per SQLite data directory, taken before anything is read or written.
    let lock = match cfg.database_url {
        Some(_) => None,
        None => Some(crate::lock::acquire(&cfg.data_dir, "trent serve").map_err(|e| match e {
            crate::lock::LockError::Held(holder) => crate::lock::in_use(&cfg.data_dir, &holder),
            crate::lock::LockError::Io(e) => e,
        })?),
    };
    let (store, changes) =
        crate::storage::open(&cfg.data_dir, cfg.database_url.as_deref(), true).await?;
    // A root key is made only for a store that has none: a lost root key is an error to fix
    // from a backup, never a reason to start afresh over keys nobody could open again.
    let bootstrap = trent_core::Bootstrap::new(store.as_ref());
    let first_start = !bootstrap.keyring_exists().await.map_err(|e| e.to_string())?;
    let root = crate::root_key::open(&cfg.data_dir, &cfg.root_key, first_start)?;
    tracing::info!(root_key = %root.describe(), "root key ready");
    let keyring = bootstrap.open_keyring(root.as_ref()).await.map_err(|e| e.to_string())?;
    // The audit trail signs its checkpoints with a key of its own keyring (the same DEK).
    let audit_key =
        Arc::new(bootstrap.open_keyring(root.as_ref()).await.map_err(|e| e.to_string())?);
    let node = datadir::node_id(&cfg.data_dir, cfg.audit.node_id.as_deref())?;
    let audit_options = crate::audit_file::AuditOptions {
        node: node.clone(),
        checkpoint_every: cfg.audit.checkpoint_every,
        checkpoint_interval: cfg.audit.checkpoint_interval,
        max_bytes: cfg.audit.max_bytes,
        max_age: cfg.audit.max_age,
        keep_files: cfg.audit.keep_files,
    };
    let audit =
        crate::audit_file::FileAudit::open(&cfg.data_dir, audit_key.clone(), audit_options)?;
    tracing::info!(node = %node, fail_open = cfg.audit.fail_open, "audit trail ready");
    let mut config = KmsConfig::default();
    config.wrapping_pool.size_per_spec = cfg.wrapping_pool_size;
    config.wrapping_pool.tokens_per_key_pair = cfg.tokens_per_wrapping_key;
    config.key_cache_size = cfg.key_cache_size;
    config.heavy_work = cfg.heavy_work.clone();
    config.expiry_warnings = cfg.monitoring.expiry_warnings.clone();
    config.quotas = cfg.quotas;
    config.resource_quotas = cfg.resource_quotas.clone();
    if changes.is_some() {
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
        Arc::new(trent_core::ManualClock::default())
    });
    let clock: Arc<dyn trent_core::Clock> = match &dev_clock {
        Some(c) => c.clone(),
        None => Arc::new(SystemClock),
    };
    let mut kms = Kms::new(store, keyring, clock, config).with_audit(audit.clone());
    let mut webhook_outcomes = None;
    if let Some(url) = &cfg.monitoring.notify_webhook {
        let (hook, outcomes) = crate::webhook::Webhook::start(url)?;
        kms = kms.with_notifier(Arc::new(hook));
        webhook_outcomes = Some(outcomes);
        tracing::info!(
            host = url
                .parse::<hyper::Uri>()
                .ok()
                .and_then(|u| u.host().map(String::from))
                .unwrap_or_default(),
            "expiry notices go to a webhook"
        );
    }
    let kms = Arc::new(kms);
    // The certificates before the credentials: a written credentials file is how scripts (and
    // the e2e tests) know the data directory is complete, `tls/ca.pem` included.
    let tls = match &cfg.tls {
        TlsChoice::Plain => {
            if !cfg.listen.ip().is_loopback() {
                tracing::warn!(listen = %cfg.listen, "!!! plain HTTP on a network address: anyone on the path can read and replay requests !!!");
            }
            None
        }
        TlsChoice::Files(settings) => Some(settings.clone()),
        TlsChoice::SelfSigned { client_ca } => {
            let mut settings = trent_server::tls::ensure_self_signed(&cfg.data_dir)?;
            settings.client_ca = client_ca.clone();
            tracing::info!(ca = %cfg.data_dir.join("tls/ca.pem").display(), "development TLS: clients trust it with AWS_CA_BUNDLE");
            Some(settings)
        }
    };
    let tls = match tls {
        Some(settings) => Some(Arc::new(trent_server::tls::Tls::load(settings)?)),
        None => None,
    };
    let creds = kms.admin().ensure_account(&cfg.account_id).await.map_err(|e| e.to_string())?;
    match datadir::write_credentials(&cfg.data_dir, &creds.access_key_id, &creds.secret_access_key)?
    {
        Some(p) => {
            tracing::info!(account = %cfg.account_id, access_key_id = %creds.access_key_id, file = %p.display(), "wrote credentials for the account root")
        }
        None => {
            tracing::info!(account = %cfg.account_id, access_key_id = %creds.access_key_id, "account root credentials are in the credentials file")
        }
    }
    if let Some(path) = &cfg.init {
        let seed = crate::seed_file::load(path, &cfg.account_id, kms.now_ms())?;
        let report = kms
            .admin()
            .seed(&seed)
            .await
            .map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        tracing::info!(file = %path.display(), made = report.made.len(), unchanged = report.kept, "seeded");
        for what in &report.made {
            tracing::info!(made = %what, "seed");
        }
    }
    let mode = match cfg.auth {
        AuthArg::Sigv4 => AuthMode::SigV4,
        AuthArg::AcceptAny => {
            tracing::warn!("!!! --auth accept-any: signatures are NOT checked; any access key acts as account {} !!!", cfg.account_id);
            tracing::warn!(
                "!!! use this only for local tests, never where anyone else can reach the port !!!"
            );
            AuthMode::AcceptAny
        }
    };
    let background = tokio::spawn(kms.clone().run_background(Duration::from_secs(30)));
    let usage_flush = tokio::spawn(kms.clone().run_usage_flush(Duration::from_secs(5)));
    let watcher = changes.map(|mut changes| {
        let kms = kms.clone();
        tokio::spawn(async move {
            while let Some(key) = changes.recv().await {
                kms.forget_key(&key).await;
            }
        })
    });
    // Without the socket (a path too long for a Unix socket, say) the server still serves;
    // `trent admin` then says it cannot reach it.
    let admin_socket = match lock {
        Some(_) => match crate::admin_socket::serve(&cfg.data_dir, kms.clone(), {
            let (dir, key) = (cfg.data_dir.clone(), audit_key.clone());
            crate::admin_socket::Extras {
                verify: Arc::new(move || crate::audit_verify::verify_dir(&dir, key.as_ref())),
                clock: dev_clock.clone(),
            }
        }) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "no admin socket: trent admin cannot reach this server");
                None
            }
        },
        None => None,
    };
    let mut state = AppState::new(kms.clone(), mode, cfg.account_id.clone())
        .with_allowed_hosts(&cfg.allowed_hosts)
        .with_limits(cfg.limits)
        .with_audit_fail_open(cfg.audit.fail_open)
        .with_trail(Arc::new(crate::audit_lookup::FileTrail { dir: cfg.data_dir.clone() }));
    let audit_ticker = tokio::spawn({
        let audit = audit.clone();
        async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                let audit = audit.clone();
                let ticked = tokio::task::spawn_blocking(move || audit.tick(false)).await;
                if let Ok(Err(e)) = ticked {
                    tracing::error!(error = %e, "audit checkpoint failed");
                }
            }
        }
    });
    if let Some(tls) = &tls {
        state = state.with_tls(tls.clone());
        tokio::spawn(reload_on_sighup(tls.clone()));
    }
    if let Some(outcomes) = webhook_outcomes {
        state.metrics.register(
            "trent_notifications",
            "Expiry notices sent to the webhook, by outcome (delivered, failed, dropped)",
            outcomes,
        );
    }
    let state = Arc::new(state);
    let metrics_server = match (metrics_listener, cfg.monitoring.metrics_listen) {
        (Some(listener), Some(addr)) => {
            if !addr.ip().is_loopback() && tls.is_none() {
                tracing::warn!(listen = %addr, "metrics on a network address in plain HTTP: they name accounts and keys");
            }
            tracing::info!(listen = %addr, "metrics at /metrics");
            Some(tokio::spawn(trent_server::serve_metrics(
                listener,
                state.clone(),
                std::future::pending(),
            )))
        }
        _ => None,
    };
    tracing::info!(
        max_connections = cfg.limits.max_connections,
        header_timeout_s = cfg.limits.header_timeout.as_secs(),
        body_timeout_s = cfg.limits.body_timeout.as_secs(),
        request_timeout_s = cfg.limits.request_timeout.as_secs(),
        "connection limits"
    );
    tracing::info!(listen = %cfg.listen, tls = tls.is_some(), startup_ms = started.elapsed().as_millis() as u64, version = env!("CARGO_PKG_VERSION"), "trent is serving");
    trent_server::serve(listener, state, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))?;
    background.abort();
    audit_ticker.abort();
    usage_flush.abort();
    if let Err(e) = kms.flush_key_usage().await {
        tracing::error!(error = %e, "the last key usage was not written");
    }
    if let Some(m) = metrics_server {
        m.abort();
    }
    // The last records are checkpointed and on disk before the process ends.
    if let Err(e) = audit.tick(true) {
        tracing::error!(error = %e, "the audit trail's last checkpoint failed");
    }
    if let Some(w) = watcher {
        w.abort();
    }
    if let Some(t) = admin_socket {
        t.abort();
        let _ = std::fs::remove_file(cfg.data_dir.join(crate::admin_socket::SOCKET_FILE));
    }
    drop(lock);
    tracing::info!("stopped");
    Ok(())
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
                tracing::error!(error = %e, "kept the TLS certificate in use: the new one does not load")
            }
        }
    }
}

/// SIGINT or SIGTERM. The handlers are installed when this is called (at start-up), not
/// when the future is first polled: a signal that arrives while the server starts, or before
/// the accept loop first looks at it, still shuts the server down gracefully.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let cannot = |e: std::io::Error| format!("cannot handle signals: {e}");
    let mut interrupt = signal(SignalKind::interrupt()).map_err(cannot)?;
    let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}
