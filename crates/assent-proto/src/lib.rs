//! assent-proto owns the wire: REST request and response bodies, Socket.IO event names and
//! payloads, and the error body. Field names follow Placet (camelCase) so that existing agents
//! work unchanged. serde only: no logic, no IO, and nothing here may depend on another
//! Assent crate (the SDK depends on this crate alone).

#![warn(missing_docs)]

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
    /// Client → server: subscribe to a channel. Argument: a bare channel id (Placet) or
    /// [`SubscribeRequest`](crate::SubscribeRequest) `{channelId, lastSeq}` to resume; acked with
    /// [`SubscribeAck`](crate::SubscribeAck) after the replay.
    pub const SUBSCRIBE: &str = "subscribe:channel";
    /// Client → server: leave a channel. Argument: a channel id or `{channelId}`; ack `{ok: true}`.
    pub const UNSUBSCRIBE: &str = "unsubscribe:channel";
    /// Client → server: mark a channel read (argument: its id). Server → the owner's dashboards:
    /// `{channelId, seq}` when the channel was read on any device.
    pub const CHANNEL_READ: &str = "channel:read";
    /// Client → server: answered with [`PONG`] in order with the socket's deliveries (a barrier),
    /// and ack `{ok: true}` if one is asked for.
    pub const PING: &str = "ping";
    /// Server → client: the answer to [`PING`], without argument.
    pub const PONG: &str = "pong";
    /// Server → client: [`SyncResetPayload`](crate::SyncResetPayload): a resume's `lastSeq` is
    /// outside the retained log; refetch the channel over REST.
    pub const SYNC_RESET: &str = "sync:reset";
    /// A new message: [`MessageRecord`](crate::MessageRecord) (with `agentName` on agent
    /// messages); its `seq` is the message's `seq`. Also the webhook event of a human's message.
    pub const MESSAGE_CREATED: &str = "message:created";
    /// A streamed draft changed (text saved, completed or aborted): its full
    /// [`MessageRecord`](crate::MessageRecord).
    pub const MESSAGE_UPDATED: &str = "message:updated";
    /// A message was deleted: [`MessageDeletedPayload`](crate::MessageDeletedPayload) (Assent
    /// addition; Placet emits nothing on delete).
    pub const MESSAGE_DELETED: &str = "message:deleted";
    /// A delivery tick changed (webhook settled, or the agent acknowledged):
    /// [`MessageDeliveryPayload`](crate::MessageDeliveryPayload).
    pub const MESSAGE_DELIVERY: &str = "message:delivery";
    /// A status step of a stream (Placet's `MessageStatusEvent`: `{id, channelId, streamId, index,
    /// text, toolHint, createdAt}` plus `seq`).
    pub const MESSAGE_STATUS: &str = "message:status";
    /// Ephemeral text chunk of a draft (no `seq`, never replayed). Agents send
    /// `{channelId, delta, streamBaseId | streamId, streamEnd?}`; subscribers get `{channelId,
    /// delta, streamBaseId, streamId: "<base>:<n>", streamStartedAt, messageId, streamEnd?}`.
    pub const MESSAGE_DELTA: &str = "message:delta";
    /// Ephemeral progress note relayed from the agent to the channel's subscribers
    /// (`{channelId, content, …}`, no `seq`).
    pub const MESSAGE_PROGRESS: &str = "message:progress";
    /// Heartbeat status changed: [`AgentStatusPayload`](crate::AgentStatusPayload); dashboards
    /// only, never agent sockets.
    pub const AGENT_STATUS: &str = "agent:status";
    /// Ephemeral slash-command list relayed from the agent (`{channelId, commands: […]}`, no
    /// `seq`; `PUT …/commands` stores them).
    pub const AGENT_COMMANDS: &str = "agent:commands";
    /// An agent-reported lifecycle event (tool call, escalation, conversation): its fields plus
    /// `eventType`, `channelId` and `seq`.
    pub const THREAD_EVENT: &str = "thread:event";
    /// A human answered a review: the answered [`MessageRecord`](crate::MessageRecord)
    /// (password answers redacted for dashboards). Also a webhook event.
    pub const REVIEW_RESPONDED: &str = "review:responded";
    /// A review reached its deadline unanswered:
    /// [`ReviewExpiredPayload`](crate::ReviewExpiredPayload). Also a webhook event.
    pub const REVIEW_EXPIRED: &str = "review:expired";
    /// A refused relay (`message:delta`, `message:progress`, `agent:commands`) sent without
    /// an acknowledgement: `{status: "error", message, code, event}`, NestJS's (Placet's)
    /// exception event, so that a refusal is never silent.
    pub const EXCEPTION: &str = "exception";
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
        EXCEPTION,
    ];
}

/// The `event_type` of thread-stream frames (`/ws/threads/{id}`, `/ws/notifications`;
/// docs/THREAD_STREAM.md).
pub mod frames {
    /// Sent after the replay: `{thread_id, last_seq}` on a thread stream (the head when
    /// subscribed), bare on the notifications stream.
    pub const READY: &str = "ready";
    /// The answer to a client's `{"type":"ping"}` text frame, in order with other frames.
    pub const PONG: &str = "pong";
    /// `{thread_id, oldest_seq, head_seq}`: `since` is outside the retained log; refetch over REST.
    pub const SYNC_RESET: &str = "sync_reset";
    /// Thread: a human's message (`sender_type`, `sender_id`, `content`, `message`).
    /// Notifications: any new message (`sender_type`, `preview`, first 140 chars).
    pub const MESSAGE_CREATED: &str = "message_created";
    /// A final agent message is stored (`content`, `status`, full `message`); also follows
    /// `stream_end` with `state: complete`.
    pub const MESSAGE_COMPLETED: &str = "message_completed";
    /// A message was deleted (`message_id`).
    pub const MESSAGE_DELETED: &str = "message_deleted";
    /// A delivery tick changed (`message_id`, `delivery_status`).
    pub const MESSAGE_DELIVERY: &str = "message_delivery";
    /// An agent opened a streamed draft (`message_id`, `stream_id`, `workflow_id` from the
    /// metadata or `null`).
    pub const TYPING_STARTED: &str = "typing_started";
    /// A chunk of a draft (`stream_id`, `message_id`, `content`, `stream_end: true` on the last);
    /// not persisted, no `seq`.
    pub const TEXT_DELTA: &str = "text_delta";
    /// A draft ended (`message_id`, `stream_id`, `state`: `complete` or `aborted`).
    pub const STREAM_END: &str = "stream_end";
    /// A status step of a stream (`stream_id`, `index`, `text`, `tool_hint`).
    pub const STATUS_STEP: &str = "status_step";
    /// The agent asked a review (`review_type`, `content`, `expires_at` ISO-8601, `review`).
    pub const APPROVAL_PENDING: &str = "approval_pending";
    /// A review reached its deadline unanswered (`message_id`, `review_type`).
    pub const APPROVAL_EXPIRED: &str = "approval_expired";
    /// A human answered a review (`review_type`, `response`, `feedback`; passwords redacted for
    /// human tickets).
    pub const REVIEW_RESPONDED: &str = "review_responded";
    /// Notifications: a new review (`message_id`, `review_type`, `preview`).
    pub const REVIEW_PENDING: &str = "review_pending";
    /// Notifications: a review left pending (`status`: `completed` or `expired`).
    pub const REVIEW_RESOLVED: &str = "review_resolved";
    /// Notifications: the user read the channel on some device (`unread_count: 0`).
    pub const UNREAD_CHANGED: &str = "unread_changed";
    /// Heartbeat status changed (`status`, `status_message`).
    pub const AGENT_STATUS: &str = "agent_status";
    /// The agent published its slash commands live (`commands`); not persisted, no `seq`.
    pub const AGENT_COMMANDS: &str = "agent_commands";
    /// A transient progress note relayed from `message:progress` (`content`); not persisted.
    pub const PROGRESS: &str = "progress";
}
