//! assent-server: configuration, the application layer (use cases, hub, clock), and the
//! edges — HTTP API, Socket.IO gateway, background jobs, dashboard assets — wired together
//! by [`run`]. Dependency direction: edges → `app` → `assent-store` → `assent-core`; `app`
//! never imports axum or socketioxide, SQL lives only in `assent-store`, and `assent-proto`
//! is used only by the edges (`http`, `gateway`, `wire`).

pub mod app;
pub mod clock;
pub mod config;
mod dashboard;
pub mod error;
pub mod files;
pub mod gateway;
pub mod http;
pub mod jobs;
pub mod mcp;
pub mod metrics;
pub mod plugins;
pub mod serve;
pub mod threads;
pub mod webhooks;
pub mod wire;

use crate::app::{App, AppSettings};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::metrics::Metrics;
use anyhow::Context;
use assent_store::{Store, StoreOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Runs the server on `listener` until `shutdown` is cancelled, then drains: in-flight
/// requests finish, sockets are closed, queued writes commit.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(config, listener, shutdown, Arc::new(SystemClock), None).await
}

/// [`run`] with an explicit clock, handing the `App` to `ready` once serving (tests drive
/// time and call the background jobs' `run_once` methods directly).
pub async fn run_with(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
    clock: Arc<dyn Clock>,
    ready: Option<tokio::sync::oneshot::Sender<Arc<App>>>,
) -> anyhow::Result<()> {
    config.validate().map_err(|e| anyhow::anyhow!(e))?;
    let (app, bus) = open_app(&config, clock).await?;
    let jobs_cancel = CancellationToken::new();
    let cluster_cancel = CancellationToken::new();
    let (bus, cluster) = cluster_bus(&config, &app, bus, &cluster_cancel)?;
    let fanout = tokio::spawn(app::fanout::run(app.clone(), bus));
    let mut jobs = jobs::spawn_all(app.clone(), jobs_cancel.clone());
    let worker = jobs::webhooks::Worker::new(app.clone(), webhook_settings(&config))?;
    jobs.push(tokio::spawn(worker.run(jobs_cancel.clone())));
    let (sio_layer, io) = gateway::layer(app.clone());
    let ctx = http::Ctx {
        app: app.clone(),
        secure_cookies: config.secure_cookies,
        max_body: config.max_body_bytes,
        trust_forwarded_for: config.trust_forwarded_for,
        metrics_token: ctx_metrics_token(&config),
        pages: dashboard::serve,
    };
    let router = http::router(ctx)
        .merge(threads::router(app.clone()))
        .merge(mcp::router(app.clone(), app.closing().clone()))
        .layer(sio_layer)
        .layer(axum::middleware::map_request(gateway::compact_request));
    let addr = listener.local_addr()?;
    let backend = app.store().backend();
    tracing::info!(%addr, database = ?backend, "Assent is listening on http://{addr}");
    let limits = serve::Limits {
        header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
        body_read_timeout: Duration::from_secs(config.body_read_timeout_secs),
        max_connections_per_ip: config.max_connections_per_ip,
    };
    if let Some(j) = serve_metrics(&config, &app, limits, &shutdown).await? {
        jobs.push(j);
    }
    let (sd, closing) = (shutdown.clone(), app.closing().clone());
    let drain = async move {
        sd.cancelled().await;
        tracing::info!("shutting down: closing sockets and finishing in-flight requests");
        closing.cancel();
        io.close().await;
    };
    let served = tokio::spawn(serve::serve(
        listener,
        router,
        limits,
        app.metrics().clone(),
        drain,
    ));
    if let Some(ready) = ready {
        let _ = ready.send(app.clone());
    }
    shutdown.cancelled().await;
    // Long-lived connections that ignore the close get a bounded grace period.
    match tokio::time::timeout(Duration::from_secs(10), served).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "HTTP server task failed"),
        Err(_) => tracing::warn!("connections still open after 10 s; closing them"),
    }
    jobs_cancel.cancel();
    for j in jobs {
        let _ = j.await;
    }
    stop_writing(&app, cluster_cancel, cluster, fanout).await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// The end of a shutdown, once the jobs stopped: persists streamed text, closes the store,
/// leaves the cluster, and lets the fan-out deliver what committed.
async fn stop_writing(
    app: &Arc<App>,
    cluster_cancel: CancellationToken,
    cluster: Vec<tokio::task::JoinHandle<()>>,
    fanout: tokio::task::JoinHandle<()>,
) {
    if let Err(e) = app.flush_drafts().await {
        tracing::warn!(error = %e, "could not persist streamed draft text at shutdown");
    }
    app.store().close().await;
    // The cluster's receiver feeds the fan-out too: it stops before the fan-out can end.
    cluster_cancel.cancel();
    for t in cluster {
        let _ = t.await;
    }
    app.leave_cluster();
    let _ = fanout.await;
}

/// Committed events, in commit order per writer, for the fan-out.
type Bus = tokio::sync::mpsc::UnboundedReceiver<assent_store::CommittedEvent>;

/// In cluster mode, the fan-out's input is this node's commits (each also published on
/// Redis) merged with the other nodes' (received from Redis or read back from the log).
/// On a single node it is the store's bus itself.
fn cluster_bus(
    config: &Config,
    app: &Arc<App>,
    mut local: Bus,
    cancel: &CancellationToken,
) -> anyhow::Result<(Bus, Vec<tokio::task::JoinHandle<()>>)> {
    let Some(url) = &config.redis_url else {
        return Ok((local, Vec::new()));
    };
    let (tx, merged) = tokio::sync::mpsc::unbounded_channel();
    let settings = app::cluster::ClusterSettings {
        redis_url: url.clone(),
        prefix: config
            .redis_prefix
            .clone()
            .unwrap_or_else(|| app::cluster::default_prefix(&config.database_url())),
    };
    tracing::info!(prefix = %settings.prefix, "cluster mode: events cross nodes through Redis");
    let mut tasks = app
        .join_cluster(settings, tx.clone(), cancel.clone())
        .map_err(|e| anyhow::anyhow!("joining the cluster: {e}"))?;
    let a = app.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(ev) = local.recv().await {
            a.publish_event(&ev);
            if tx.send(ev).is_err() {
                break;
            }
        }
    }));
    Ok((merged, tasks))
}

/// Opens the store (migrations, writers, the outbox renderer) and builds the `App`, creating
/// the first owner on a fresh database.
async fn open_app(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<(Arc<App>, Bus)> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let opts = StoreOptions {
        read_pool_size: config.db_read_pool,
        writers: config.db_writers,
        outbox: Some(assent_store::OutboxSettings {
            render: Arc::new(wire::webhook_body),
            max_attempts: config.webhook_retry_schedule.0.len() as i64,
        }),
        ..StoreOptions::default()
    };
    let (store, bus) = Store::open(&config.database_url(), opts)
        .await
        .context("opening the database")?;
    let blobs = files::Blobs::open(&config.storage_url()).context("opening the file storage")?;
    blobs.check().await.context("checking the file storage")?;
    let mut settings = app_settings(config);
    settings.files.blobs = blobs;
    let mut plugin_dirs = vec![config.data_dir.join("plugins")];
    plugin_dirs.extend(config.plugins_dir.clone());
    settings.plugins = Arc::new(plugins::Plugins::load(&plugin_dirs));
    let app = App::new(store, clock, Arc::new(Metrics::default()), settings);
    if let Some(password) = app
        .bootstrap_owner(&config.admin_email, config.admin_password.as_deref())
        .await
        .context("creating the first owner")?
    {
        // Printed once, on stdout, on purpose: it is the only way to learn it.
        println!(
            "\n  First owner account created.\n    email:    {}\n    password: {}\n  You will be asked to change it at first login.\n",
            config.admin_email, password
        );
    }
    Ok((app, bus))
}

fn app_settings(config: &Config) -> AppSettings {
    AppSettings {
        session_ttl_secs: (config.session_ttl_hours * 3600) as i64,
        agent_offline_after_secs: config.agent_offline_after_secs as i64,
        event_retention: config.event_retention,
        review_limits: assent_core::review::ReviewLimits {
            default_secs: config.review_default_secs as i64,
            max_secs: config.review_max_secs as i64,
        },
        review_wait_max_ms: config.review_wait_max_ms,
        draft_idle_secs: config.draft_idle_secs as i64,
        max_sockets_per_credential: config.max_sockets_per_credential,
        files: app::FileSettings {
            blobs: files::Blobs::memory(),
            max_upload_bytes: config.max_upload_bytes,
            unsent_ttl_secs: (config.orphan_file_hours * 3600) as i64,
        },
        plugins: Default::default(),
    }
}

fn webhook_settings(config: &Config) -> webhooks::WebhookSettings {
    webhooks::WebhookSettings {
        schedule: config.webhook_retry_schedule.clone(),
        timeout: Duration::from_millis(config.webhook_timeout_ms),
        concurrency: config.webhook_concurrency,
        allow_private: config.allow_private_webhooks,
    }
}

/// The separate `--metrics-addr` listener, if configured.
async fn serve_metrics(
    config: &Config,
    app: &Arc<App>,
    limits: serve::Limits,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(maddr) = config.metrics_addr else {
        return Ok(None);
    };
    let ml = TcpListener::bind(maddr)
        .await
        .with_context(|| format!("cannot listen on --metrics-addr {maddr}"))?;
    tracing::info!(addr = %maddr, "metrics are served on http://{maddr}/metrics");
    let mrouter = http::metrics_router(app.clone(), ctx_metrics_token(config));
    let (sd, metrics) = (shutdown.clone(), app.metrics().clone());
    Ok(Some(tokio::spawn(async move {
        serve::serve(ml, mrouter, limits, metrics, sd.cancelled_owned()).await;
    })))
}

fn ctx_metrics_token(config: &Config) -> Option<Arc<str>> {
    config.metrics_token.as_deref().map(Arc::from)
}

/// Sets up `tracing`: JSON when stdout is not a terminal (or when asked), pretty otherwise.
pub fn init_tracing(config: &Config) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match config.log_format.as_str() {
        "json" => true,
        "pretty" => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
