//! The application layer: use cases shared by every edge (REST, Socket.IO, raw sockets,
//! jobs), the subscription hub and the caches in front of the store. It never imports axum
//! or socketioxide and never renders wire payloads; edges do that.

mod agents;
mod auth;
pub mod cluster;
mod error;
pub mod fanout;
mod files;
mod hashing;
pub mod hub;
mod maintenance;
mod messages;
#[cfg(test)]
mod order_tests;
mod plugins;
mod reviews;
pub mod sequencer;
pub mod streams;
pub mod throttle;
mod users;
pub mod waiters;
mod webhooks;

pub use agents::{AgentInput, AgentUpdate, MAX_AGENTS_PER_USER};
pub use auth::{MAX_API_KEYS_PER_USER, MAX_SESSIONS_PER_USER, SessionGrant, TICKET_TTL_SECS};
pub use error::{AppError, Limit, Missing};
pub use files::{FileSettings, FilesQuery, IncomingFile, Received, TextFileInput, UploadError};
pub use hashing::Hashing;
pub use messages::{
    AgentMessageInput, ListInput, MAX_ATTACHMENTS, MAX_OPEN_DRAFTS_PER_CHANNEL,
    MAX_OPEN_DRAFTS_PER_USER, UserMessageInput,
};
pub use reviews::{RespondInput, ReviewPage, WaitOutcome};
pub use webhooks::{SetWebhookInput, new_webhook_secret};

use crate::clock::Clock;
use crate::metrics::Metrics;
use assent_core::{ChannelId, Millis, UserId};
use assent_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Settings the use cases need (a projection of `Config`).
#[derive(Clone, Debug)]
pub struct AppSettings {
    pub session_ttl_secs: i64,
    pub agent_offline_after_secs: i64,
    pub event_retention: i64,
    pub review_limits: assent_core::review::ReviewLimits,
    /// Cap (and default) of a long-poll, in milliseconds.
    pub review_wait_max_ms: u64,
    /// Streaming drafts idle for longer than this are aborted.
    pub draft_idle_secs: i64,
    /// Realtime connections one API key or session may hold open (0: no cap).
    pub max_sockets_per_credential: usize,
    pub files: FileSettings,
    /// The plugins loaded at start-up.
    pub plugins: Arc<crate::plugins::Plugins>,
}

/// What the app remembers about a channel to answer ownership checks without a query.
#[derive(Clone, Debug)]
pub struct ChannelInfo {
    pub owner_id: UserId,
    pub name: String,
}

pub(crate) struct CachedKey {
    pub key_id: String,
    pub user_id: UserId,
    pub fetched: Instant,
}

pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    hub: Arc<hub::Hub>,
    metrics: Arc<Metrics>,
    settings: AppSettings,
    pub(crate) keys: Mutex<HashMap<String, CachedKey>>,
    pub(crate) key_touched: Mutex<HashMap<String, Instant>>,
    pub(crate) channels: Mutex<HashMap<ChannelId, ChannelInfo>>,
    waiters: Arc<waiters::Waiters>,
    /// Wakes the review-expiry job when a review with a possibly earlier deadline appears.
    review_created: tokio::sync::Notify,
    /// Wakes the webhook worker when deliveries may have become due.
    webhook_wake: tokio::sync::Notify,
    /// Wakes the file sweep when files were deleted.
    file_sweep: tokio::sync::Notify,
    pub(crate) drafts: Mutex<HashMap<(ChannelId, String), streams::Draft>>,
    /// Cancelled when the server shuts down (raw sockets close with 1001).
    closing: tokio_util::sync::CancellationToken,
    pub(crate) throttle: Mutex<throttle::LoginThrottle>,
    /// Set once in cluster mode.
    cluster: std::sync::OnceLock<cluster::Link>,
    pub(crate) hashing: Hashing,
}

impl App {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: AppSettings,
    ) -> Arc<App> {
        let hub = hub::Hub::new(metrics.clone());
        let hashing = Hashing::for_this_machine(metrics.clone());
        Arc::new(App {
            store,
            clock,
            hub,
            metrics,
            settings,
            keys: Mutex::new(HashMap::new()),
            key_touched: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            waiters: Arc::default(),
            review_created: tokio::sync::Notify::new(),
            webhook_wake: tokio::sync::Notify::new(),
            file_sweep: tokio::sync::Notify::new(),
            drafts: Mutex::new(HashMap::new()),
            closing: tokio_util::sync::CancellationToken::new(),
            throttle: Mutex::default(),
            cluster: std::sync::OnceLock::new(),
            hashing,
        })
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Everything that reacts to a committed event: socket fan-out, and what the event's
    /// [`Effects`](assent_core::Effects) list (parked long-polls, the expiry job's schedule,
    /// the webhook worker). Called only by the fan-out task
    /// ([`fanout::run`]), in per-channel `seq` order without holes or repeats.
    pub fn on_committed(&self, ev: assent_store::CommittedEvent) {
        let fx = ev.event.event.effects();
        if let Some(id) = fx.wakes_waiters {
            self.waiters.wake(id);
        }
        if fx.schedules_expiry {
            self.review_created.notify_one();
        }
        if fx.webhook.is_some() {
            self.webhook_wake.notify_one();
        }
        self.hub.dispatch(ev);
    }
}
