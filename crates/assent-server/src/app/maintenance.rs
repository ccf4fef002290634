//! What the background jobs and the edges ask of the server besides use cases: upkeep
//! (checkpoint, pruning), schedules, wake-ups, and read access for health and tests.

use super::{App, AppError};
use crate::metrics::Metrics;
use assent_core::Millis;
use assent_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::futures::Notified;
use tokio_util::sync::CancellationToken;

impl App {
    /// Moves the SQLite WAL into the database file off the write path.
    pub async fn checkpoint(&self) -> Result<(), AppError> {
        Ok(self.store.checkpoint().await?)
    }

    /// Removes expired tickets and sessions.
    pub async fn prune_credentials(&self) -> Result<u64, AppError> {
        Ok(self.store.prune_credentials(self.now()).await?)
    }

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

    /// The earliest deadline of any pending review (the expiry job sleeps until it).
    pub async fn next_review_deadline(&self) -> Result<Option<Millis>, AppError> {
        Ok(self.store.next_review_deadline().await?)
    }

    /// Resolves when a review with a possibly earlier deadline was created.
    pub fn review_created(&self) -> Notified<'_> {
        self.review_created.notified()
    }

    /// Resolves when webhook deliveries may have become due.
    pub fn webhook_wake(&self) -> Notified<'_> {
        self.webhook_wake.notified()
    }

    /// Wakes the webhook worker now (e.g. after a manual clock step in tests).
    pub fn wake_webhooks(&self) {
        self.webhook_wake.notify_one();
    }

    /// Resolves when files were deleted (their objects can go now).
    pub fn file_sweep_wake(&self) -> Notified<'_> {
        self.file_sweep.notified()
    }

    /// Tells the file sweep that objects are due for deletion.
    pub(super) fn files_doomed(&self) {
        self.file_sweep.notify_one();
    }

    /// Whether the database answers (`/health`).
    pub async fn ping_store(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Cancelled when the server shuts down (raw sockets close with 1001).
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Long-polls parked right now.
    pub fn parked_waits(&self) -> usize {
        self.waiters.count()
    }

    /// The store, for the webhook delivery job (claims and attempts are its own protocol)
    /// and for tests that check what was written. Use cases are `App` methods.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
