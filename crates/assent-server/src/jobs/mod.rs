//! Background loops. Each is cancellable, logs what it did, and its body is a `run_once`
//! style app method that tests call directly with a controlled clock.

use crate::app::{App, AppError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

async fn periodic<F, Fut>(name: &'static str, every: Duration, cancel: CancellationToken, f: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<u64, AppError>>,
{
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        match f().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(job = name, affected = n, "background job ran"),
            Err(e) => tracing::warn!(job = name, error = %e, "background job failed; will retry"),
        }
    }
    tracing::debug!(job = name, "background job stopped");
}

/// Starts every background loop under `cancel`.
pub fn spawn_all(app: Arc<App>, cancel: CancellationToken) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let a = app.clone();
    handles.push(tokio::spawn(periodic(
        "presence",
        Duration::from_secs(5),
        cancel.clone(),
        move || {
            let a = a.clone();
            async move { a.sweep_presence().await.map(|n| n as u64) }
        },
    )));
    let a = app.clone();
    handles.push(tokio::spawn(periodic(
        "event-retention",
        Duration::from_secs(60),
        cancel.clone(),
        move || {
            let a = a.clone();
            async move { a.prune_events().await }
        },
    )));
    let a = app;
    handles.push(tokio::spawn(periodic(
        "credentials",
        Duration::from_secs(60),
        cancel,
        move || {
            let a = a.clone();
            async move { Ok(a.store.prune_credentials(a.now()).await?) }
        },
    )));
    handles
}

impl App {
    /// Drops log entries beyond the retention of each channel.
    pub async fn prune_events(&self) -> Result<u64, AppError> {
        let mut total = 0;
        loop {
            let n = self
                .store
                .prune_events(self.settings.event_retention, 5_000)
                .await?;
            total += n;
            if n < 5_000 {
                return Ok(total);
            }
        }
    }
}
