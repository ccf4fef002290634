//! assent-proto owns the wire: REST request and response bodies, Socket.IO event names and
//! payloads, and the error body. Field names follow Placet (camelCase) so that existing agents
//! work unchanged. serde only: no logic, no IO, and nothing here may depend on another
//! Assent crate (the SDK depends on this crate alone).

mod error;
mod payloads;
mod records;
mod requests;

pub use error::*;
pub use payloads::*;
pub use records::*;
pub use requests::*;

/// Socket.IO event names (Placet's, plus Assent's streaming and sync events).
pub mod events {
    pub const SUBSCRIBE: &str = "subscribe:channel";
    pub const UNSUBSCRIBE: &str = "unsubscribe:channel";
    pub const CHANNEL_READ: &str = "channel:read";
    pub const PING: &str = "ping";
    pub const PONG: &str = "pong";
    pub const SYNC_RESET: &str = "sync:reset";
    pub const MESSAGE_CREATED: &str = "message:created";
    pub const MESSAGE_UPDATED: &str = "message:updated";
    pub const MESSAGE_DELETED: &str = "message:deleted";
    pub const MESSAGE_DELIVERY: &str = "message:delivery";
    pub const MESSAGE_STATUS: &str = "message:status";
    pub const MESSAGE_DELTA: &str = "message:delta";
    pub const MESSAGE_PROGRESS: &str = "message:progress";
    pub const STREAM_END: &str = "streamEnd";
    pub const AGENT_STATUS: &str = "agent:status";
    pub const AGENT_COMMANDS: &str = "agent:commands";
    pub const THREAD_EVENT: &str = "thread:event";
    pub const REVIEW_RESPONDED: &str = "review:responded";
    pub const REVIEW_EXPIRED: &str = "review:expired";
    /// Every event the server emits to sockets.
    pub const EMITTED: &[&str] = &[
        PONG,
        SYNC_RESET,
        MESSAGE_CREATED,
        MESSAGE_UPDATED,
        MESSAGE_DELETED,
        MESSAGE_DELIVERY,
        MESSAGE_STATUS,
        MESSAGE_DELTA,
        MESSAGE_PROGRESS,
        AGENT_STATUS,
        AGENT_COMMANDS,
        THREAD_EVENT,
        CHANNEL_READ,
        REVIEW_RESPONDED,
        REVIEW_EXPIRED,
    ];
}

/// The `event_type` of thread-stream frames (`/ws/threads/{id}`, `/ws/notifications`;
/// docs/THREAD_STREAM.md).
pub mod frames {
    pub const READY: &str = "ready";
    pub const PONG: &str = "pong";
    pub const SYNC_RESET: &str = "sync_reset";
    pub const MESSAGE_CREATED: &str = "message_created";
    pub const MESSAGE_COMPLETED: &str = "message_completed";
    pub const MESSAGE_DELETED: &str = "message_deleted";
    pub const MESSAGE_DELIVERY: &str = "message_delivery";
    pub const TYPING_STARTED: &str = "typing_started";
    pub const TEXT_DELTA: &str = "text_delta";
    pub const STREAM_END: &str = "stream_end";
    pub const STATUS_STEP: &str = "status_step";
    pub const APPROVAL_PENDING: &str = "approval_pending";
    pub const APPROVAL_EXPIRED: &str = "approval_expired";
    pub const REVIEW_RESPONDED: &str = "review_responded";
    pub const REVIEW_PENDING: &str = "review_pending";
    pub const REVIEW_RESOLVED: &str = "review_resolved";
    pub const UNREAD_CHANGED: &str = "unread_changed";
    pub const AGENT_STATUS: &str = "agent_status";
    pub const AGENT_COMMANDS: &str = "agent_commands";
    pub const PROGRESS: &str = "progress";
}
