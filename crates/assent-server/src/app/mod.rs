//! The application layer: use cases shared by every edge (REST, Socket.IO, raw sockets,
//! jobs), the subscription hub and the caches in front of the store. It never imports axum
//! or socketioxide and never renders wire payloads; edges do that.

mod agents;
mod auth;
mod error;
pub mod hub;
mod messages;

pub use agents::{AgentInput, AgentUpdate};
pub use auth::{SessionGrant, TICKET_TTL_SECS};
pub use error::AppError;
pub use messages::{AgentMessageInput, ListInput, UserMessageInput};

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
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub hub: Arc<hub::Hub>,
    pub metrics: Arc<Metrics>,
    pub settings: AppSettings,
    pub(crate) keys: Mutex<HashMap<String, CachedKey>>,
    pub(crate) key_touched: Mutex<HashMap<String, Instant>>,
    pub(crate) channels: Mutex<HashMap<ChannelId, ChannelInfo>>,
}

impl App {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: AppSettings,
    ) -> Arc<App> {
        let hub = hub::Hub::new(metrics.clone());
        Arc::new(App {
            store,
            clock,
            hub,
            metrics,
            settings,
            keys: Mutex::new(HashMap::new()),
            key_touched: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
        })
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }
}
