//! Domain events: every observable change, as appended to a channel's event log.
//! The log stores them serialised (serde) and the edges render them to wire payloads.

use crate::ids::{ChannelId, MessageId};
use crate::model::{AgentStatus, DeliveryStatus, Message};
use crate::time::Millis;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    MessageCreated {
        message: Box<Message>,
        agent_name: Option<String>,
    },
    MessageDeleted {
        message_id: MessageId,
        channel_id: ChannelId,
    },
    MessageDelivery {
        message_id: MessageId,
        delivery_status: DeliveryStatus,
    },
    /// A message row changed (streamed draft text, completion, abort); whole row.
    MessageUpdated {
        message: Box<Message>,
        agent_name: Option<String>,
    },
    /// A status step of a streamed reply.
    MessageStatus { step: StatusStep },
    /// A lifecycle event reported by the agent for the thread stream (seed 003):
    /// `tool_call_*`, `escalation_created`, `conversation_*`. `fields` are validated.
    ThreadEvent {
        event_type: String,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// A human read the channel up to its head (unread count back to zero on every device).
    ChannelRead { user_id: crate::ids::UserId },
    /// A human answered a review; carries the whole message as answered.
    ReviewResponded { message: Box<Message> },
    /// A review reached its deadline unanswered.
    ReviewExpired {
        message_id: MessageId,
        review_type: String,
    },
    AgentStatus {
        agent_id: ChannelId,
        status: AgentStatus,
        status_message: Option<String>,
        status_since: Option<Millis>,
    },
}

/// A persisted status step of a streamed reply (Placet's `MessageStatusEvent`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusStep {
    pub id: String,
    pub channel_id: ChannelId,
    pub stream_id: String,
    pub index: i64,
    pub text: String,
    pub tool_hint: bool,
    pub created_at: Millis,
}

/// Who sees an event besides the sockets subscribed to its channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Only sockets subscribed to the channel.
    Channel,
    /// Subscribers of the channel and every dashboard of the channel's owner.
    ChannelAndOwner,
    /// Only the owner's dashboards (never agents), e.g. heartbeats.
    OwnerDashboards,
}

impl DomainEvent {
    /// The Socket.IO event name (Placet's).
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::MessageCreated { .. } => "message:created",
            DomainEvent::MessageDeleted { .. } => "message:deleted",
            DomainEvent::MessageDelivery { .. } => "message:delivery",
            DomainEvent::AgentStatus { .. } => "agent:status",
            DomainEvent::ReviewResponded { .. } => "review:responded",
            DomainEvent::MessageUpdated { .. } => "message:updated",
            DomainEvent::MessageStatus { .. } => "message:status",
            DomainEvent::ThreadEvent { .. } => "thread:event",
            DomainEvent::ChannelRead { .. } => "channel:read",
            DomainEvent::ReviewExpired { .. } => "review:expired",
        }
    }

    /// Placet's rooms: `message:created` goes to channel + user, `agent:status` to the user
    /// only, delivery ticks to the channel only.
    pub fn audience(&self) -> Audience {
        match self {
            // Placet sends review events to the channel only; Assent also tells the owner's
            // dashboards (their inboxes must update live), once per dashboard.
            DomainEvent::MessageCreated { .. }
            | DomainEvent::MessageDeleted { .. }
            | DomainEvent::ReviewResponded { .. }
            | DomainEvent::ReviewExpired { .. } => Audience::ChannelAndOwner,
            DomainEvent::MessageDelivery { .. } | DomainEvent::ThreadEvent { .. } => {
                Audience::Channel
            }
            // Placet: channel + user rooms.
            DomainEvent::MessageUpdated { .. } | DomainEvent::MessageStatus { .. } => {
                Audience::ChannelAndOwner
            }
            DomainEvent::AgentStatus { .. } | DomainEvent::ChannelRead { .. } => {
                Audience::OwnerDashboards
            }
        }
    }
}

/// An event as it sits in the log: its channel, its position and when it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    pub channel_id: ChannelId,
    pub seq: i64,
    pub at: Millis,
    pub event: DomainEvent,
}
