//! The webhook delivery loop of one node: claims due deliveries from the outbox (as many as
//! it has free slots), sends each on its own task with `webhooks::Sender`, and records the
//! attempt with its next step.

use crate::app::App;
use crate::webhooks::{Sender, Sent, WebhookSettings, next_step};
use assent_core::Millis;
use assent_core::model::WebhookTarget;
use assent_store::{AttemptOutcome, AttemptRecord, ClaimedDelivery, StoreError};
use rand::Rng;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// The delivery loop of one node.
pub struct Worker {
    app: Arc<App>,
    sender: Sender,
    node: String,
    lease: Duration,
    permits: Arc<Semaphore>,
    in_flight: Mutex<HashSet<String>>,
    finished: Notify,
}

impl Worker {
    pub fn new(app: Arc<App>, settings: WebhookSettings) -> anyhow::Result<Arc<Worker>> {
        let lease = settings.timeout * 2 + Duration::from_secs(5);
        let permits = Arc::new(Semaphore::new(settings.concurrency));
        Ok(Arc::new(Worker {
            app,
            sender: Sender::new(settings)?,
            node: assent_core::secret::random_hex(8),
            lease,
            permits,
            in_flight: Mutex::new(HashSet::new()),
            finished: Notify::new(),
        }))
    }

    /// Claims what is due (as many as there are free slots) and starts sending it.
    /// Returns how many deliveries it started.
    pub async fn dispatch_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = self.app.now();
        let lease_until = Millis(now.0 + self.lease.as_millis() as i64);
        let claimed = self
            .app
            .store()
            .claim_webhooks(now, lease_until, &self.node, free as i64)
            .await?;
        let mut started = 0;
        for d in claimed {
            // A lease renewed while our own attempt is still running: it is in hand already.
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock poisoned")
                .insert(d.id.clone())
            {
                continue;
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                self.in_flight
                    .lock()
                    .expect("in-flight lock poisoned")
                    .remove(&d.id);
                break;
            };
            started += 1;
            let me = self.clone();
            tokio::spawn(async move {
                me.deliver(&d).await;
                me.in_flight
                    .lock()
                    .expect("in-flight lock poisoned")
                    .remove(&d.id);
                drop(permit);
                me.finished.notify_one();
            });
        }
        Ok(started)
    }

    async fn deliver(&self, d: &ClaimedDelivery) {
        let app = &self.app;
        let started_at = app.now();
        let t0 = Instant::now();
        let (url, sent) = match d.target {
            WebhookTarget::Agent => match (&d.agent.url, &d.agent.disabled_reason) {
                (None, _) => (
                    d.url.clone(),
                    Sent {
                        error: Some("the agent no longer has a webhook URL".into()),
                        permanent: true,
                        ..Sent::default()
                    },
                ),
                (Some(url), Some(reason)) => (
                    url.clone(),
                    Sent {
                        error: Some(format!(
                            "the endpoint is disabled ({reason}); set the webhook URL again to re-enable it"
                        )),
                        permanent: true,
                        ..Sent::default()
                    },
                ),
                (Some(url), None) => (url.clone(), self.send_signed(d, url, started_at).await),
            },
            _ => (d.url.clone(), self.send_signed(d, &d.url, started_at).await),
        };
        let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
        let now = app.now();
        let outcome = next_step(d, &sent, &self.sender.settings.schedule, now, jitter);
        let m = app.metrics();
        use std::sync::atomic::Ordering::Relaxed;
        match &outcome {
            AttemptOutcome::Delivered => m.webhooks_delivered.fetch_add(1, Relaxed),
            AttemptOutcome::Retry { .. } => m.webhook_attempts_failed.fetch_add(1, Relaxed),
            _ => m.webhooks_failed.fetch_add(1, Relaxed),
        };
        tracing::debug!(delivery = %d.id, status = ?sent.status, error = ?sent.error, outcome = ?outcome, "webhook attempt");
        if !matches!(
            outcome,
            AttemptOutcome::Delivered | AttemptOutcome::Retry { .. }
        ) {
            tracing::warn!(delivery = %d.id, message_id = %d.message_id, error = ?sent.error, "webhook delivery failed for good");
        }
        let rec = AttemptRecord {
            started_at,
            duration_ms: t0.elapsed().as_millis() as i64,
            status_code: sent.status.map(i64::from),
            error: sent.error,
            url,
        };
        match app
            .store()
            .record_webhook_attempt(d, &self.node, rec, outcome, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                tracing::info!(delivery = %d.id, "webhook lease lost; another worker owns the delivery")
            }
            // The lease runs out and the delivery is tried again: never lost.
            Err(e) => {
                tracing::warn!(delivery = %d.id, error = %e, "could not record a webhook attempt")
            }
        }
    }

    async fn send_signed(&self, d: &ClaimedDelivery, url: &str, now: Millis) -> Sent {
        let secret = match &d.agent.secret {
            Some(s) => s.clone(),
            None => match self
                .app
                .store()
                .ensure_webhook_secret(&d.channel_id, crate::app::new_webhook_secret())
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    return Sent {
                        error: Some(format!("no signing secret: {e}")),
                        ..Sent::default()
                    };
                }
            },
        };
        self.sender.send(d, url, &secret, now).await
    }

    /// Runs until `cancel`: dispatches due deliveries, then sleeps until the next one is due
    /// (at most 1 s, so rows from other nodes and manual clocks are noticed), a new one is
    /// committed, or a slot frees up. On cancel, waits (bounded) for attempts in flight.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            // Claims go through the writer: ask (a read) whether anything is claimable first.
            let due = self.app.store().next_webhook_due().await;
            let now = self.app.now();
            if let Ok(Some(at)) = &due
                && at.0 <= now.0
                && self.permits.available_permits() > 0
            {
                match self.dispatch_due().await {
                    Ok(n) if n > 0 && self.permits.available_permits() > 0 => continue,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(job = "webhooks", error = %e, "claiming deliveries failed; will retry")
                    }
                }
            }
            let wait = match due {
                Ok(Some(at)) => Duration::from_millis((at.0 - now.0).clamp(0, 1_000) as u64),
                Ok(None) | Err(_) => Duration::from_secs(1),
            };
            // A due delivery we cannot claim (no free slot) must not spin the loop.
            let wait = wait.max(Duration::from_millis(20));
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.app.webhook_wake() => {}
                _ = self.finished.notified() => {}
            }
        }
        let all = self.sender.settings.concurrency as u32;
        let grace = self.sender.settings.timeout + Duration::from_secs(1);
        if tokio::time::timeout(grace, self.permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                "webhook attempts still in flight at shutdown; their leases will expire and they will be retried"
            );
        }
        tracing::debug!(job = "webhooks", "background job stopped");
    }
}
