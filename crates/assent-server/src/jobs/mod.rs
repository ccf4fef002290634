//! Background loops. Each is cancellable, logs what it did, and its body is a `run_once`
//! style app method that tests call directly with a controlled clock.

pub mod webhooks;

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
    handles.push(tokio::spawn(review_expiry(app.clone(), cancel.clone())));
    let a = app.clone();
    handles.push(tokio::spawn(periodic(
        "wal-checkpoint",
        Duration::from_millis(500),
        cancel.clone(),
        move || {
            let a = a.clone();
            async move { a.checkpoint().await.map(|_| 0) }
        },
    )));
    let a = app.clone();
    handles.push(tokio::spawn(periodic(
        "draft-flush",
        Duration::from_millis(250),
        cancel.clone(),
        move || {
            let a = a.clone();
            async move { a.flush_drafts().await }
        },
    )));
    let a = app.clone();
    handles.push(tokio::spawn(periodic(
        "stale-drafts",
        Duration::from_secs(30),
        cancel.clone(),
        move || {
            let a = a.clone();
            async move { a.abort_stale_drafts().await }
        },
    )));
    handles.push(tokio::spawn(file_sweep(app.clone(), cancel.clone())));
    let a = app;
    handles.push(tokio::spawn(periodic(
        "credentials",
        Duration::from_secs(60),
        cancel,
        move || {
            let a = a.clone();
            async move { a.prune_credentials().await }
        },
    )));
    handles
}

/// Expires reviews at their deadline: sleeps until the earliest pending deadline (read from
/// the pending-deadline index, never a scan) and is woken early when a review is created.
async fn review_expiry(app: Arc<App>, cancel: CancellationToken) {
    loop {
        match app.expire_due_reviews().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(job = "review-expiry", expired = n, "background job ran"),
            Err(e) => {
                tracing::warn!(job = "review-expiry", error = %e, "background job failed; will retry")
            }
        }
        let wait = match app.next_review_deadline().await {
            Ok(Some(d)) => Duration::from_millis((d.0 - app.now().0).clamp(0, 60_000) as u64),
            Ok(None) => Duration::from_secs(60),
            Err(_) => Duration::from_secs(5),
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            _ = app.review_created() => {}
        }
    }
    tracing::debug!(job = "review-expiry", "background job stopped");
}

/// Deletes the objects of deleted and abandoned files: every minute, and at once when files
/// were deleted.
async fn file_sweep(app: Arc<App>, cancel: CancellationToken) {
    loop {
        match app.sweep_files().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(job = "file-sweep", deleted = n, "background job ran"),
            Err(e) => {
                tracing::warn!(job = "file-sweep", error = %e, "background job failed; will retry")
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = app.file_sweep_wake() => {}
        }
    }
    tracing::debug!(job = "file-sweep", "background job stopped");
}
