//! The Otklik application: configuration, start-up and the command-line operations.
//! `main.rs` only parses arguments; tests start the real server through [`start`].

pub mod admin_cli;
pub mod analytics;
pub mod backup_cli;
pub mod calendar_cli;
pub mod classify_cli;
pub mod counts;
pub mod demo;
pub mod log_cli;
pub mod monitor;
pub mod poll_cli;
pub mod search;
pub mod settings;
pub mod social;
pub mod transparency;

pub use monitor::MonitorConfig;
pub use transparency::LogConfig;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use otklik_store::{Store, StoreError};
use otklik_web::{AppState, WebConfig};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("electronic signatures: {0}")]
    Signing(String),
    #[error("search index: {0}")]
    Search(String),
}

impl From<otklik_web::signing::SigningStartError> for AppError {
    fn from(e: otklik_web::signing::SigningStartError) -> Self {
        match e {
            otklik_web::signing::SigningStartError::Store(e) => Self::Store(e),
            otklik_web::signing::SigningStartError::Config(message) => Self::Signing(message),
        }
    }
}

/// Where the data lives: an explicit URL, or SQLite in the data directory.
#[derive(Debug, Clone)]
pub struct Database {
    pub data_dir: PathBuf,
    pub url: Option<String>,
}

impl Database {
    /// The log signing key's default place: beside the embedded database.
    pub fn default_key_file(&self) -> PathBuf {
        self.data_dir.join("log-signing.key")
    }

    pub fn url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("otklik.db").display()))
    }

    /// Opens the store (creating the data directory for SQLite) and applies migrations.
    pub async fn open(&self) -> Result<Arc<dyn Store>, AppError> {
        if self.url.is_none() {
            create_dir(&self.data_dir)?;
        }
        Ok(otklik_store::open(&self.url()).await?)
    }
}

fn create_dir(path: &Path) -> Result<(), AppError> {
    std::fs::create_dir_all(path).map_err(|source| AppError::DataDir {
        path: path.to_owned(),
        source,
    })
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database: Database,
    /// Load the demo data set when the database has no users yet.
    pub demo: bool,
    /// The same password for every demo account (tests); random when None.
    pub demo_password: Option<String>,
    /// The web layer's settings (security, identity, rate limits, the identity provider).
    pub web: WebConfig,
    pub log: LogConfig,
    pub monitor: MonitorConfig,
    /// Notifications: the mail server, the SMS/push gateway, the worker.
    pub notifications: otklik_notify::NotifyConfig,
    /// Social-media monitoring: mode, terms, sources.
    pub social: social::SocialConfig,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    /// The demo accounts created at this start (empty when none were created).
    pub demo_accounts: Vec<demo::DemoAccount>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    tree_heads: tokio::task::JoinHandle<()>,
    monitor: tokio::task::JoinHandle<()>,
    deliveries: Option<tokio::task::JoinHandle<()>>,
    notifications: Option<tokio::task::JoinHandle<()>>,
    indexer: tokio::task::JoinHandle<()>,
    analytics: tokio::task::JoinHandle<()>,
    counts: tokio::task::JoinHandle<()>,
    quality_feed: Option<tokio::task::JoinHandle<()>>,
    exports: tokio::task::JoinHandle<()>,
    social: social::Running,
}

impl Running {
    /// Stops accepting, finishes requests in flight, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
        self.tree_heads.abort();
        self.monitor.abort();
        self.analytics.abort();
        self.counts.abort();
        self.exports.abort();
        self.social.stop();
        for worker in [self.deliveries, self.notifications, self.quality_feed]
            .into_iter()
            .flatten()
        {
            worker.abort();
        }
        // Waited for, so that the index (and its writer's lock) is released before a
        // restart in the same process opens it again.
        self.indexer.abort();
        let _ = self.indexer.await;
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully.
    pub async fn until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

/// Opens the database, loads the demo data on first start, and serves.
pub async fn start(config: ServeConfig) -> Result<Running, AppError> {
    let store = config.database.open().await?;
    let signer = transparency::load_or_create_signer(&config.log.key_file)?;
    let backfilled = store.init_log(config.log.alg).await?;
    load_federal_subjects(store.as_ref()).await?;
    if backfilled > 0 {
        tracing::info!(
            events = backfilled,
            "logged events recorded before the log existed"
        );
    }
    let demo_accounts = if config.demo && !store.has_users().await? {
        load_demo(store.as_ref(), config.demo_password.as_deref()).await?
    } else {
        Vec::new()
    };
    let index = search::open_index_waiting(&config.database.data_dir).await?;
    let (intake, social) = social::start(&config.social, store.clone())
        .await
        .map_err(AppError::Usage)?;
    let state = AppState::new(store.clone(), config.web.clone(), index.clone())
        .await?
        .with_log_signer(otklik_log::Signer::from_secret_bytes(
            &signer.to_secret_bytes(),
        ))
        .with_social(intake);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| AppError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| AppError::Listen {
        addr: config.listen,
        source,
    })?;
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let key = state.csrf_key.clone();
    let task = tokio::spawn(otklik_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let tree_heads =
        transparency::spawn_tree_heads(store.clone(), signer, config.log.tree_head_interval);
    let monitor = monitor::spawn(store.clone(), config.monitor);
    let deliveries = otklik_web::delivery::spawn_worker(store.clone(), config.web.delivery.clone());
    let notifications = spawn_notifier(&store, key, &config.notifications, addr)?;
    let indexer =
        search::spawn_indexer(store.clone(), index, std::time::Duration::from_millis(250));
    let analytics = analytics::spawn_follower(store.clone(), std::time::Duration::from_millis(500));
    let counts = counts::spawn_compactor(store.clone(), std::time::Duration::from_secs(1));
    // The quality feed's criteria model (`otklik_social::criteria`) is trained once per
    // process from the corpus compiled in; train it now, off the request path, rather
    // than in the first read of the feed.
    tokio::task::spawn_blocking(|| {
        let model = otklik_social::criteria::embedded_model();
        tracing::debug!(features = model.len(), "quality criteria model trained");
    });
    let quality_feed =
        otklik_web::quality::spawn_pusher(store.clone(), config.web.quality_feed.clone());
    let exports = otklik_web::export_jobs::spawn_worker(
        store.clone(),
        config.web.exports.clone(),
        config.web.analytics.clone(),
    );
    tracing::info!(%addr, backend = store.backend(), "serving");
    Ok(Running {
        addr,
        store,
        demo_accounts,
        shutdown,
        task,
        tree_heads,
        monitor,
        deliveries,
        notifications,
        indexer,
        analytics,
        counts,
        quality_feed,
        exports,
        social,
    })
}

/// Starts the notification worker (when enabled), with links under the configured
/// public address or, when none is set, the address the server listens on.
fn spawn_notifier(
    store: &Arc<dyn Store>,
    key: Arc<[u8]>,
    config: &otklik_notify::NotifyConfig,
    addr: SocketAddr,
) -> Result<Option<tokio::task::JoinHandle<()>>, AppError> {
    let public_url = match config.public_url.as_str() {
        "" => format!("http://{addr}"),
        url => url.to_owned(),
    };
    let notifier = otklik_notify::Notifier::new(store.clone(), config.clone(), key, &public_url)
        .map_err(|e| AppError::Usage(format!("[notifications]: {e}")))?;
    Ok(otklik_notify::worker::spawn(Arc::new(notifier)))
}

/// Loads (or refreshes) the 89 federal subjects the domain ships, with their codes,
/// districts and time zones. Idempotent; run at every start.
pub async fn load_federal_subjects(store: &dyn Store) -> Result<u64, AppError> {
    let subjects = otklik_domain::territory::federal_subjects()
        .map_err(|e| AppError::Usage(format!("shipped federal subjects: {e}")))?;
    let rows: Vec<otklik_store::FederalSubjectRow> = subjects
        .into_iter()
        .map(|s| otklik_store::FederalSubjectRow {
            code: s.iso,
            okato: s.okato,
            name: s.name_ru,
            federal_district: s.federal_district,
            utc_offset_minutes: s.utc_offset_minutes,
        })
        .collect();
    Ok(store.ensure_regions(&rows).await?)
}

/// Loads the demo data set into an empty store.
pub async fn load_demo(
    store: &dyn Store,
    fixed_password: Option<&str>,
) -> Result<Vec<demo::DemoAccount>, AppError> {
    let hash = |password: &str| otklik_web::auth::hash_password(password).unwrap_or_default();
    Ok(demo::load(store, &hash, fixed_password).await?)
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
