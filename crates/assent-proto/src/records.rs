//! Records: users, agents, messages, keys, webhook deliveries, pages.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub must_change_password: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRecord {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_headers: Option<Value>,
    /// Masked: passwords and tokens are `***`.
    pub webhook_auth: Option<Value>,
    pub status: String,
    pub status_message: Option<String>,
    pub status_since: Option<String>,
    pub last_active_at: Option<String>,
    pub commands: Option<Value>,
    pub tag: Option<String>,
    pub is_subagent: bool,
    pub parent_agent_id: Option<String>,
    pub created_at: String,
    /// Head of the channel's event log.
    pub last_seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_time: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
    /// When a 410 Gone disabled the webhook endpoint (deliveries fail until the URL is set again).
    pub webhook_disabled_at: Option<String>,
    pub webhook_disabled_reason: Option<String>,
    /// The Standard Webhooks signing secret (`whsec_…`): only in the response of the call that
    /// first sets a webhook URL, and of the rotate call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// A webhook delivery and its attempt log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryRecord {
    /// The `webhook-id` header of every attempt.
    pub id: String,
    pub channel_id: String,
    pub message_id: String,
    pub event: String,
    pub seq: i64,
    /// `agent`, `message` (per-message webhookUrl) or `callback` (a review's legacy callback).
    pub target: String,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub attempt_log: Vec<WebhookAttemptRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttemptRecord {
    pub attempt: i64,
    pub at: String,
    /// `null` when no response came (timeout, connection error, refused by the egress guard).
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// `POST /api/v1/agents/setWebhook` (Placet). `management`, `isSubagent` and
/// `parentChannelId` (sub-agents, management credentials) are refused when set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetWebhook {
    pub channel_id: Option<String>,
    pub url: Option<String>,
    pub headers: Option<Value>,
    pub auth: Option<Value>,
    pub management: Option<Value>,
    pub is_subagent: Option<Value>,
    pub parent_channel_id: Option<Value>,
}

/// `POST /api/v1/agents/deleteWebhook` (Placet).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteWebhook {
    pub channel_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    pub id: String,
    pub channel_id: String,
    pub sender_type: String,
    pub sender_id: String,
    pub text: Option<String>,
    pub status: Option<String>,
    pub review: Option<Value>,
    pub metadata: Option<Value>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_state: Option<String>,
    pub delivery_status: String,
    pub iteration_group_id: Option<String>,
    pub iteration: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub attachments: Vec<Value>,
    pub status_events: Vec<Value>,
    /// Position of the message's creation in the channel's event log.
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub id: String,
    pub user_id: String,
    pub label: String,
    pub key_prefix: String,
    pub last_used_at: Option<String>,
    pub created_at: String,
    /// Present only in the create and rotate responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub data: Vec<MessageRecord>,
    pub next_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}
