//! Records: users, agents, messages, keys, webhook deliveries, pages.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A human account, as `/api/users`, `/api/auth/me` and login return it (no password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// User id (`c…`, 25 chars).
    pub id: String,
    /// Login email (unique).
    pub email: String,
    /// Name shown in the dashboard (1–200 chars).
    pub display_name: String,
    /// `owner` (may manage users) or `member`.
    pub role: String,
    /// `true` for users an owner created: until they change their password, every human route
    /// but `/api/auth/me`, `change-password`, `logout` and `refresh` answers 403
    /// `password_change_required` (Placet only stores the flag).
    pub must_change_password: bool,
    /// Creation time, ISO-8601 UTC with milliseconds (`2026-05-06T10:00:00.000Z`).
    pub created_at: String,
}

/// An agent (= channel), Placet's masked agent projection: webhook credentials and header
/// values are masked. `GET /api/agents` (dashboard) adds `lastMessage`, `lastMessageTime`
/// and `unreadCount`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRecord {
    /// Agent id, used as `channelId` everywhere (`c…`, 25 chars).
    pub id: String,
    /// Display name (1–200 chars).
    pub name: String,
    /// Free text (≤ 2,000 chars); `null` when unset.
    pub description: Option<String>,
    /// Avatar URL as given (≤ 2,048 chars); `null` when unset.
    pub avatar_url: Option<String>,
    /// The agent's own webhook URL; `null` = no agent webhook.
    pub webhook_url: Option<String>,
    /// Custom headers sent to the agent's URL, as `{name: "***"}`: names in clear, values
    /// masked (sending `***` back keeps the stored value); `null` = none.
    pub webhook_headers: Option<Value>,
    /// Masked: passwords and tokens are `***`.
    pub webhook_auth: Option<Value>,
    /// Heartbeat status: `active`, `busy`, `error` or `offline` (`offline` for new agents and
    /// after missed heartbeats).
    pub status: String,
    /// The `message` of the latest heartbeat; `null` when it had none.
    pub status_message: Option<String>,
    /// When `status` last changed (ISO-8601); `null` before the first heartbeat.
    pub status_since: Option<String>,
    /// Time of the latest heartbeat (ISO-8601); `null` = never pinged.
    pub last_active_at: Option<String>,
    /// Slash commands stored by `PUT …/commands`: `[{command, description?, acceptsArgs?, …}]`;
    /// `null` = never set.
    pub commands: Option<Value>,
    /// Grouping tag (≤ 64 chars); `null` = none.
    pub tag: Option<String>,
    /// Placet's sub-agent flag; Assent creates no sub-agents, so `false` for its own agents.
    pub is_subagent: bool,
    /// Placet's parent of a sub-agent; `null` for Assent's own agents.
    pub parent_agent_id: Option<String>,
    /// Creation time (ISO-8601).
    pub created_at: String,
    /// Head of the channel's event log.
    pub last_seq: i64,
    /// Dashboard list only: text of the channel's newest message (`null` when it has none or
    /// no text); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<Option<String>>,
    /// Dashboard list only: when the newest message was created (ISO-8601, `null` when there is
    /// none); absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message_time: Option<Option<String>>,
    /// Dashboard list only: agent messages after the user's read marker; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
    /// When a 410 Gone disabled the webhook endpoint (deliveries fail until the URL is set again).
    pub webhook_disabled_at: Option<String>,
    /// Why the endpoint was disabled (`the endpoint answered 410 Gone`); `null` while enabled.
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
    /// The agent (channel) whose event caused it.
    pub channel_id: String,
    /// The message the event is about.
    pub message_id: String,
    /// The event delivered: `message:created`, `review:responded` or `review:expired`.
    pub event: String,
    /// `seq` of the causing event in the channel's log (also in the body).
    pub seq: i64,
    /// `agent`, `message` (per-message webhookUrl) or `callback` (a review's legacy callback).
    pub target: String,
    /// Destination URL (for `agent`, as of the latest attempt).
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Attempts allowed before the delivery becomes `failed`.
    pub max_attempts: i64,
    /// When the next attempt is due (ISO-8601); once settled, when it settled.
    pub next_attempt_at: Option<String>,
    /// HTTP status of the latest attempt; `null` before the first or when no response came.
    pub last_status: Option<i64>,
    /// Error of the latest attempt (as in [`WebhookAttemptRecord::error`]); `null` when none.
    pub last_error: Option<String>,
    /// When the event was logged and the delivery queued (ISO-8601).
    pub created_at: String,
    /// Last change of the delivery (ISO-8601).
    pub updated_at: String,
    /// Every attempt, in order.
    pub attempt_log: Vec<WebhookAttemptRecord>,
}

/// One attempt of a webhook delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttemptRecord {
    /// Attempt number, from 1.
    pub attempt: i64,
    /// When the attempt started (ISO-8601).
    pub at: String,
    /// `null` when no response came (timeout, connection error, refused by the egress guard).
    pub status_code: Option<i64>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// Why it failed (`HTTP 500: <start of the body>`, timeout, connection error, egress
    /// guard); `null` on a 2xx.
    pub error: Option<String>,
}

/// `POST /api/v1/agents/setWebhook` (Placet). `management`, `isSubagent` and
/// `parentChannelId` (sub-agents, management credentials) are refused when set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetWebhook {
    /// The agent to configure (required).
    pub channel_id: Option<String>,
    /// Webhook URL (required; http(s), ≤ 2,048 chars).
    pub url: Option<String>,
    /// Custom headers `{name: value}` (≤ 32; values ≤ 4,096 bytes): replace the stored ones,
    /// omitted = cleared; a `***` value keeps the stored value of that header.
    pub headers: Option<Value>,
    /// Credentials `{username, password}` (basic) or `{token}` (bearer): replace the stored ones,
    /// omitted = cleared.
    pub auth: Option<Value>,
    /// Placet's management credentials `{url, apiKey}`: refused unless absent, `null` or `false`.
    pub management: Option<Value>,
    /// Placet's sub-agent flag: refused unless absent, `null` or `false`.
    pub is_subagent: Option<Value>,
    /// Placet's sub-agent parent: refused unless absent, `null` or `false`.
    pub parent_channel_id: Option<Value>,
}

/// `POST /api/v1/agents/deleteWebhook` (Placet).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteWebhook {
    /// The agent whose webhook URL, headers and credentials are cleared (required).
    pub channel_id: Option<String>,
}

/// A message, in Placet's shape (REST bodies and Socket.IO payloads).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    /// Message id (`c…`, 25 chars).
    pub id: String,
    /// The agent (channel) it belongs to.
    pub channel_id: String,
    /// `agent` or `user`.
    pub sender_type: String,
    /// The channel id for agent messages, the user id for human ones.
    pub sender_id: String,
    /// Markdown body (≤ 100,000 chars); `null` when the message has none (a bare review,
    /// status or draft).
    pub text: Option<String>,
    /// Colour: `info`, `success`, `warning` or `error`; `null` when unset.
    pub status: Option<String>,
    /// The review, `{type, payload, status, expiresAt, response, completedAt, feedback, …}`
    /// (`status`: `pending`, `completed` or `expired`); `null` on plain messages. `password`
    /// answers read `***REDACTED***` for humans and in listings.
    pub review: Option<Value>,
    /// Free-form object; a per-message `webhookUrl` is kept here (Placet); `null` when unset.
    pub metadata: Option<Value>,
    /// Sender's idempotency key (≤ 200 chars): a repeated POST with it returns this message
    /// (200); `null` when none was given.
    pub client_id: Option<String>,
    /// Stream id of a streamed reply (≤ 200 chars, unique per channel); `null` if not streamed.
    pub stream_id: Option<String>,
    /// `streaming`, `complete` or `aborted`; `null` if not streamed.
    pub stream_state: Option<String>,
    /// Placet's ticks: `sent`, `webhook_delivered`, `webhook_failed` or `agent_received`
    /// (after the agent's `POST …/ack`).
    pub delivery_status: String,
    /// Id of the root message of its iteration chain; `null` outside a chain.
    pub iteration_group_id: Option<String>,
    /// Position in the chain (1 = root, 2+ = follow-ups); `null` outside a chain.
    pub iteration: Option<i64>,
    /// Creation time (ISO-8601).
    pub created_at: String,
    /// Last change: draft text, completion, answer, delivery tick (ISO-8601).
    pub updated_at: String,
    /// The files the message carries, in order (`[]` when none).
    pub attachments: Vec<AttachmentRecord>,
    /// Status steps of a streamed message (`{id, channelId, streamId, index, text, toolHint,
    /// createdAt}`); filled in message listings, `[]` elsewhere.
    pub status_events: Vec<Value>,
    /// Position of the message's creation in the channel's event log.
    pub seq: i64,
    /// The agent's name (Placet's `agentName`): only in Socket.IO `message:created` and
    /// `message:updated` payloads of agent messages; absent from REST bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
}

/// An API key of the calling user (`/api/api-keys`); the secret itself is only in `key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Key id (`c…`, 25 chars).
    pub id: String,
    /// The owner: the key acts on every agent of this user.
    pub user_id: String,
    /// Label (1–64 chars; `Default` when none was given).
    pub label: String,
    /// First 11 characters of the key (`hp_` + 8 hex), to recognise it.
    pub key_prefix: String,
    /// Last use (ISO-8601, updated at most every 5 min); `null` = never (reset by rotation).
    pub last_used_at: Option<String>,
    /// Creation time (ISO-8601).
    pub created_at: String,
    /// Present only in the create and rotate responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A file (Placet's `Attachment`): in `attachments` of messages, and returned by the files
/// routes. The bytes are at `GET /api/v1/files/{id}/download` (agents) or
/// `GET /api/files/{id}/download` (humans).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRecord {
    /// File id (`c…`, 25 chars).
    pub id: String,
    /// The message carrying it; `null` while stored but not yet sent.
    pub message_id: Option<String>,
    /// The agent (channel) it belongs to.
    pub channel_id: String,
    /// Its name, sanitised (no path, quotes or control characters; ≤ 255 chars).
    pub filename: String,
    /// The declared type, normalised to lowercase `type/subtype`.
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Placet's renderer: `@uax/image` for `image/*`, `@uax/file` otherwise.
    pub plugin_type: String,
    /// `agent` or `user`: who uploaded it.
    pub uploaded_by: String,
    /// Upload time (ISO-8601).
    pub created_at: String,
    /// The text of a `text/markdown`, `text/plain`, `text/html` or `text/csv` file of at most
    /// 64 KB; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_content: Option<String>,
}

/// A file of `GET /api/files` (the gallery) or `GET /api/v1/files`: the attachment and,
/// when sent, its message's channel and time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    /// The attachment.
    #[serde(flatten)]
    pub attachment: AttachmentRecord,
    /// `{channelId, createdAt}` of the message carrying it; `null` while unsent.
    pub message: Option<FileMessage>,
}

/// Where a listed file was sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMessage {
    /// The message's channel.
    pub channel_id: String,
    /// When the message was sent (ISO-8601).
    pub created_at: String,
}

/// A page of files, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePage {
    /// Files, newest first.
    pub data: Vec<FileRecord>,
    /// File id to pass as `cursor` for the next, older page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The answer of `POST …/files/upload`: the attachment and the message that carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRecord {
    /// The attachment (Placet's answer).
    #[serde(flatten)]
    pub attachment: AttachmentRecord,
    /// The new message carrying the file.
    pub message: MessageRecord,
}

/// A page of `GET /api/v1/messages` or `GET /api/messages`: Placet's `{data, nextCursor}`
/// plus `nextAfter` for forward paging. Password answers are redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    /// Messages, newest first (`cursor` paging) or oldest first (`after=<seq>` paging).
    pub data: Vec<MessageRecord>,
    /// Message id to pass as `cursor` for the next, older page; `null` on the last page and
    /// when paging with `after`.
    pub next_cursor: Option<String>,
    /// With `after` only: the `seq` to pass as `after` next (the last returned, or the given
    /// `after` when the page is empty); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}
