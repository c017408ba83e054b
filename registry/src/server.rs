//! Starting and stopping the server: storage and auth from the config, plain
//! HTTP or TLS (rustls) on the configured address, graceful shutdown.

use crate::api::{self, App};
use crate::auth::Auth;
use crate::config::{Config, ConfigError};
use crate::driver::{Driver, FsDriver, S3Driver};
use crate::limits::conn::TimedAcceptor;
use crate::linger::LingeringAcceptor;
use crate::metrics::Metrics;
use crate::storage::{Limits, Storage};
use crate::workers::Shutdown;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight requests get to finish after a shutdown signal.
/// Uploads cut off then stay resumable: their acknowledged chunks are stored.
const DRAIN: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("storage root {path}: {source}")]
    Storage {
        path: String,
        #[source]
        source: crate::driver::DriverError,
    },
    #[error(
        "S3 storage check failed: {0} (check that the bucket exists, the endpoint is right, \
         and the credentials may list and write the bucket)"
    )]
    StorageCheck(String),
    #[error("proxy setup: {0}")]
    Proxy(String),
    #[error("notifications setup: {0}")]
    Notify(String),
    #[error("auth setup: {0}")]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error("TLS setup from {cert} and {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the registry's worker threads: {0} (set workers in the config to fewer)")]
    Workers(#[source] std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The shared state for a config: storage driver, auth, metrics.
pub fn build(config: &Config) -> Result<Arc<App>, ServeError> {
    config.validate()?;
    let driver = open_driver(config)?;
    let limits = Limits {
        max_manifest_bytes: config.max_manifest_bytes,
        max_upload_bytes: config.max_upload_bytes,
    };
    let metrics = Metrics::default();
    // The spool goes beside the filesystem driver's data (not with S3).
    let fs_root = match config.storage.s3 {
        None => config.root.as_deref(),
        Some(_) => None,
    };
    let proxy = match &config.proxy {
        Some(p) => Some(
            crate::proxy::Proxy::new(
                p,
                driver.clone(),
                fs_root,
                metrics.proxy.clone(),
                config.max_manifest_bytes,
            )
            .map_err(ServeError::Proxy)?,
        ),
        None => None,
    };
    // On disk (beside the storage by default, like the proxy's spool), so a
    // restart finds what was not delivered yet. Unused without endpoints.
    let queue_root = config
        .notifications
        .queue_root(config.root.as_deref())
        .unwrap_or_default();
    let notify =
        crate::notify::Notifier::new(&config.notifications, &queue_root, &config.addr, &metrics)
            .map_err(ServeError::Notify)?;
    let storage = Storage::new(driver, limits);
    // Blob references refresh links often enough for GC's grace period.
    storage
        .touches()
        .set_grace(Duration::from_secs(config.gc.grace_seconds));
    Ok(Arc::new(App {
        storage,
        auth: Auth::new(&config.auth)?,
        metrics,
        config: config.clone(),
        tls: config.tls.cert.is_some(),
        limits: Arc::new(crate::limits::Limits::new(&config.limits)),
        proxy,
        notify: Arc::new(notify),
    }))
}

/// The byte store the config names: `[storage.s3]`, else files under `root`.
fn open_driver(config: &Config) -> Result<Arc<dyn Driver>, ServeError> {
    if let Some(s3) = &config.storage.s3 {
        let driver = S3Driver::new(s3).map_err(|source| ServeError::Storage {
            path: format!("s3://{}/{}", s3.bucket, s3.prefix),
            source,
        })?;
        return Ok(Arc::new(driver));
    }
    let root = config.root.clone().expect("validated");
    let driver = FsDriver::new(&root).map_err(|source| ServeError::Storage {
        path: root.display().to_string(),
        source,
    })?;
    Ok(Arc::new(driver))
}

/// A server running on a tokio runtime.
pub struct Running {
    pub addr: SocketAddr,
    /// How many workers serve (workers.rs).
    pub workers: usize,
    shutdown: Shutdown,
    serving: crate::workers::Serving,
    notify: Arc<crate::notify::Notifier>,
    /// Scheduled retention and GC (`[gc] interval`), stopped with the server.
    gc: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(self) {
        self.shutdown.begin();
        let _ = self.wait().await;
    }

    /// Resolves when the server has stopped (after `shutdown_on` fired).
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self.serving.wait().await;
        if let Some(gc) = &self.gc {
            gc.abort();
        }
        // Undelivered events stay queued on disk for the next start.
        self.notify.stop();
        result
    }

    /// Starts a graceful shutdown when `signal` resolves.
    pub fn shutdown_on(&self, signal: impl std::future::Future<Output = ()> + Send + 'static) {
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutting down: finishing in-flight requests");
            shutdown.begin();
        });
    }
}

/// Binds and starts serving; returns once the listener is up.
pub async fn start(config: &Config) -> Result<Running, ServeError> {
    let app = build(config)?;
    app.storage.driver().check().await.map_err(|e| {
        ServeError::StorageCheck(match e {
            crate::driver::DriverError::Unavailable { message, .. } => message,
            other => other.to_string(),
        })
    })?;
    let addr = config.listen_addr()?;
    let timeouts = app.limits.timeouts();
    let notify = app.notify.clone();
    let collector = app.clone();
    let router = api::router(app);
    // Bind here so a port in use is reported as such, not as a task failure.
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Listen { addr, source })?;
    let listen_error = |source| ServeError::Listen { addr, source };
    listener.set_nonblocking(true).map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let shutdown = Shutdown::new(DRAIN);
    let workers = crate::workers::count(config.workers);
    let serving = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: cert.display().to_string(),
                    key: key.display().to_string(),
                    source,
                })?;
            let acceptor = TimedAcceptor::new(
                RustlsAcceptor::new(tls).acceptor(LingeringAcceptor),
                timeouts,
            );
            crate::workers::start(workers, listener, acceptor, router, &shutdown)
        }
        _ => {
            let acceptor = TimedAcceptor::new(LingeringAcceptor, timeouts);
            crate::workers::start(workers, listener, acceptor, router, &shutdown)
        }
    }
    .map_err(ServeError::Workers)?;
    tracing::info!(%addr, tls = config.tls.cert.is_some(), workers, "registry listening");
    notify.start();
    // A collection cut short by a stop leaves nothing half-done: every
    // deletion is one object, and the lease expires by itself.
    let gc = crate::retention::schedule::spawn(collector);
    Ok(Running {
        addr,
        workers,
        shutdown,
        serving,
        notify,
        gc,
    })
}
