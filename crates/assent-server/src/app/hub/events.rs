//! What the hub carries and to whom: views, shared committed events (rendered once per
//! slot), ephemeral events, and the `Sink` trait the socket edges implement.

use crate::app::AppError;
use assent_core::{ChannelId, LoggedEvent, UserId};
use std::sync::{Arc, OnceLock};

/// Which rendering of an event a connection gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// An agent (API key): its own secrets in clear; no dashboard-only events.
    Agent,
    /// A human's dashboard: redacted values, plus the owner-level events.
    Dashboard,
}

/// Whether a human's connection also gets the owner-level events of every channel of its
/// user, subscribed or not (Socket.IO dashboards, the notifications stream), or only the
/// channels it subscribes to (a thread stream is one thread, nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerFeed {
    Yes,
    No,
}

/// Render-cache slots of a `SharedEvent`, one per (protocol, view) that edges render.
pub mod slot {
    pub const SOCKETIO_AGENT: usize = 0;
    pub const SOCKETIO_DASHBOARD: usize = 1;
    pub const THREAD_AGENT: usize = 2;
    pub const THREAD_DASHBOARD: usize = 3;
    pub const NOTIFICATION: usize = 4;
    pub const COUNT: usize = 5;
}

/// A committed event shared by every connection it goes to; edges render it once per slot.
pub struct SharedEvent {
    pub owner_id: UserId,
    pub logged: LoggedEvent,
    cache: [OnceLock<Arc<dyn std::any::Any + Send + Sync>>; slot::COUNT],
}

impl SharedEvent {
    pub fn new(owner_id: UserId, logged: LoggedEvent) -> Self {
        SharedEvent {
            owner_id,
            logged,
            cache: Default::default(),
        }
    }

    /// The rendering for `slot`, computed by the first caller.
    /// Each slot holds one type, chosen by the edge that owns it (a validated JSON value for
    /// Socket.IO, frame text for raw sockets).
    pub fn rendered<T: Send + Sync + 'static>(
        &self,
        slot: usize,
        render: impl FnOnce(&LoggedEvent) -> T,
    ) -> Arc<T> {
        self.cache[slot]
            .get_or_init(|| Arc::new(render(&self.logged)))
            .clone()
            .downcast::<T>()
            .expect("a render slot is always filled with the same type")
    }
}

/// Which relay an agent socket sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RelayKind {
    /// `message:delta`: appended to the draft, then fanned out.
    Delta,
    /// `message:progress`: relayed as is.
    Progress,
    /// `agent:commands`: relayed as is.
    Commands,
}

/// Something subscribers see at once but that is not a log entry (no `seq`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Ephemeral {
    Delta {
        channel_id: ChannelId,
        stream_id: String,
        message_id: assent_core::MessageId,
        delta: String,
        /// Ordinal of this delta within the stream (Placet's `streamId: "<base>:<n>"`).
        n: u64,
        started_at: assent_core::Millis,
        /// The `seq` that created the draft: the delta is held until that event went out.
        after_seq: i64,
        /// The agent marked it the stream's last (Placet's `streamEnd`), relayed as is.
        end: bool,
    },
    Relay {
        channel_id: ChannelId,
        kind: RelayKind,
        payload: serde_json::Value,
    },
}

impl Ephemeral {
    pub fn channel_id(&self) -> &ChannelId {
        match self {
            Ephemeral::Delta { channel_id, .. } | Ephemeral::Relay { channel_id, .. } => channel_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkError {
    /// The transport's buffer is full right now.
    Full,
    /// The connection is gone.
    Closed,
}

/// The edge side of a connection: how to put things on the wire.
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, ev: &SharedEvent, view: View) -> Result<(), SinkError>;
    fn sync_reset(
        &self,
        channel: &ChannelId,
        oldest_seq: i64,
        head_seq: i64,
    ) -> Result<(), SinkError>;
    /// An ephemeral event of a subscribed channel (deltas, relays).
    fn deliver_ephemeral(&self, ev: &Ephemeral, view: View) -> Result<(), SinkError>;
    /// Closes the connection, saying why.
    fn close(&self, why: CloseReason);
}

/// Why the server closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// It could not keep up with its events; it resumes by `seq` when it reconnects.
    TooSlow,
    /// The key or session it authenticated with was deleted, rotated or revoked.
    Revoked,
}

/// Result of a subscription, for the edge to acknowledge.
#[derive(Debug)]
pub enum SubscribeOutcome {
    /// Subscribed; everything up to `last_seq` has been delivered (or was not asked for).
    Subscribed {
        channel_id: ChannelId,
        last_seq: i64,
        reset: bool,
    },
    Refused(AppError),
}
