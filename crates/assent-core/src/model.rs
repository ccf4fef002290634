//! The domain model: users, agents (= channels) and messages, and the small enums that
//! describe them. These are the values the store persists and the event log carries.

use crate::ids::{ChannelId, MessageId, UserId};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($s),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

string_enum!(
    /// Who wrote a message.
    SenderType { Agent = "agent", User = "user" }
);
string_enum!(
    /// The colour of a message.
    MessageStatus { Info = "info", Success = "success", Warning = "warning", Error = "error" }
);
string_enum!(
    /// Placet's WhatsApp-style delivery ticks.
    DeliveryStatus {
        Sent = "sent",
        WebhookDelivered = "webhook_delivered",
        WebhookFailed = "webhook_failed",
        AgentReceived = "agent_received",
    }
);
string_enum!(
    /// An agent's heartbeat status.
    AgentStatus { Active = "active", Busy = "busy", Error = "error", Offline = "offline" }
);
string_enum!(
    /// Lifecycle of a streamed reply.
    StreamState { Streaming = "streaming", Complete = "complete", Aborted = "aborted" }
);
string_enum!(
    Role { Owner = "owner", Member = "member" }
);
string_enum!(
    /// Where a webhook delivery stands: `pending` (due or retrying), `delivered` (a 2xx), or
    /// `failed` (definitively: attempts exhausted, 410, or refused by the egress guard).
    WebhookState { Pending = "pending", Delivered = "delivered", Failed = "failed" }
);
string_enum!(
    /// Which URL a delivery goes to: the agent's own (the only one that gets its stored
    /// headers and credentials), a per-message `webhookUrl`, or a review's legacy `callback`.
    WebhookTarget { Agent = "agent", Message = "message", Callback = "callback" }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_at: Millis,
}

impl User {
    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }
}

/// Basic (or bearer) credentials sent with an agent's webhook. Never leaves the server in clear.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// An agent; its id is the channel id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: ChannelId,
    pub owner_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_headers: Option<Value>,
    pub webhook_auth: Option<WebhookAuth>,
    pub status: AgentStatus,
    pub status_message: Option<String>,
    pub status_since: Option<Millis>,
    pub last_active_at: Option<Millis>,
    pub commands: Option<Value>,
    pub tag: Option<String>,
    pub is_subagent: bool,
    pub parent_agent_id: Option<ChannelId>,
    pub created_at: Millis,
    /// The last `seq` of this channel's event log.
    pub head_seq: i64,
    /// Set when the agent's endpoint answered 410 Gone: deliveries to it fail until the URL
    /// is set again.
    #[serde(default)]
    pub webhook_disabled_at: Option<Millis>,
    #[serde(default)]
    pub webhook_disabled_reason: Option<String>,
}

/// An agent plus what the dashboard list shows next to it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSummary {
    pub agent: Agent,
    pub last_message: Option<String>,
    pub last_message_at: Option<Millis>,
    pub unread_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    /// The seq of the event that created this message: its position in the channel.
    pub seq: i64,
    pub sender_type: SenderType,
    pub sender_id: String,
    pub text: Option<String>,
    pub status: Option<MessageStatus>,
    pub review: Option<crate::review::Review>,
    pub metadata: Option<Value>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_state: Option<StreamState>,
    pub delivery_status: DeliveryStatus,
    pub iteration_group_id: Option<String>,
    pub iteration: Option<i64>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The files the message carries, in the order they were attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::Attachment>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub user_id: UserId,
    pub label: String,
    pub key_prefix: String,
    pub last_used_at: Option<Millis>,
    pub created_at: Millis,
}

/// Who is calling: resolved from an API key, a session token or a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub kind: PrincipalKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An agent process holding one of the user's API keys.
    ApiKey { key_id: String },
    /// A human's dashboard session (or a ticket minted from it).
    Session { session_id: String },
}

impl Principal {
    pub fn is_agent(&self) -> bool {
        matches!(self.kind, PrincipalKind::ApiKey { .. })
    }
}
