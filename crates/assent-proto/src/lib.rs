//! assent-proto owns the wire: REST request and response bodies, Socket.IO event names and
//! payloads, and the error body. Field names follow Placet (camelCase) so that existing agents
//! work unchanged. serde only: no logic, no IO, and nothing here may depend on another
//! Assent crate (the SDK depends on this crate alone).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Socket.IO event names.
pub mod events {
    pub const SUBSCRIBE: &str = "subscribe:channel";
    pub const UNSUBSCRIBE: &str = "unsubscribe:channel";
    pub const CHANNEL_READ: &str = "channel:read";
    pub const PING: &str = "ping";
    pub const PONG: &str = "pong";
    pub const SYNC_RESET: &str = "sync:reset";
    pub const MESSAGE_CREATED: &str = "message:created";
    pub const MESSAGE_DELETED: &str = "message:deleted";
    pub const MESSAGE_DELIVERY: &str = "message:delivery";
    pub const AGENT_STATUS: &str = "agent:status";
    pub const REVIEW_RESPONDED: &str = "review:responded";
    pub const REVIEW_EXPIRED: &str = "review:expired";
}

/// Error body: Placet's `{statusCode, message, errors?}` plus a stable `code`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub message: String,
    /// The status's reason phrase (`"Bad Request"`, `"Forbidden"`, …), as NestJS (Placet)
    /// sends it: clients that read it keep working.
    #[serde(default)]
    pub error: String,
    /// One of [`ErrorCode`]'s codes (a string, so that a client reads codes newer than
    /// itself).
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldIssue>>,
}

/// The stable `code` of every error body. The server's error table maps each error to one of
/// these, and its OpenAPI document lists them; clients may match on them. New codes may be
/// added (hence `non_exhaustive`); a code's meaning never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidJson,
    ValidationFailed,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    MissingApiKey,
    InvalidApiKey,
    Unauthorized,
    PasswordChangeRequired,
    RouteNotFound,
    MethodNotAllowed,
    CrossSiteRequest,
    InvalidCredentials,
    WrongPassword,
    NotYourAgent,
    OwnerRequired,
    CannotDeleteSelf,
    CannotDemoteSelf,
    MessageNotFound,
    UserNotFound,
    ApiKeyNotFound,
    ReviewNotFound,
    StreamNotFound,
    EmailInUse,
    ReviewAlreadyResponded,
    ReviewExpired,
    InvalidIteration,
    IterationChainMember,
    StreamFinished,
    StreamTooLong,
    NoWebhook,
    TooManyOpenStreams,
    TooManyApiKeys,
    TooManyAgents,
    TooManySubscriptions,
    TooManyAttempts,
    ServerBusy,
    TooManySockets,
    ShuttingDown,
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the declaration.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MissingApiKey,
        ErrorCode::InvalidApiKey,
        ErrorCode::Unauthorized,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::CrossSiteRequest,
        ErrorCode::InvalidCredentials,
        ErrorCode::WrongPassword,
        ErrorCode::NotYourAgent,
        ErrorCode::OwnerRequired,
        ErrorCode::CannotDeleteSelf,
        ErrorCode::CannotDemoteSelf,
        ErrorCode::MessageNotFound,
        ErrorCode::UserNotFound,
        ErrorCode::ApiKeyNotFound,
        ErrorCode::ReviewNotFound,
        ErrorCode::StreamNotFound,
        ErrorCode::EmailInUse,
        ErrorCode::ReviewAlreadyResponded,
        ErrorCode::ReviewExpired,
        ErrorCode::InvalidIteration,
        ErrorCode::IterationChainMember,
        ErrorCode::StreamFinished,
        ErrorCode::StreamTooLong,
        ErrorCode::NoWebhook,
        ErrorCode::TooManyOpenStreams,
        ErrorCode::TooManyApiKeys,
        ErrorCode::TooManyAgents,
        ErrorCode::TooManySubscriptions,
        ErrorCode::TooManyAttempts,
        ErrorCode::ServerBusy,
        ErrorCode::TooManySockets,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
    ];

    /// The code as it appears in error bodies (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::MissingApiKey => "missing_api_key",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::CrossSiteRequest => "cross_site_request",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::NotYourAgent => "not_your_agent",
            ErrorCode::OwnerRequired => "owner_required",
            ErrorCode::CannotDeleteSelf => "cannot_delete_self",
            ErrorCode::CannotDemoteSelf => "cannot_demote_self",
            ErrorCode::MessageNotFound => "message_not_found",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::ApiKeyNotFound => "api_key_not_found",
            ErrorCode::ReviewNotFound => "review_not_found",
            ErrorCode::StreamNotFound => "stream_not_found",
            ErrorCode::EmailInUse => "email_in_use",
            ErrorCode::ReviewAlreadyResponded => "review_already_responded",
            ErrorCode::ReviewExpired => "review_expired",
            ErrorCode::InvalidIteration => "invalid_iteration",
            ErrorCode::IterationChainMember => "iteration_chain_member",
            ErrorCode::StreamFinished => "stream_finished",
            ErrorCode::StreamTooLong => "stream_too_long",
            ErrorCode::NoWebhook => "no_webhook",
            ErrorCode::TooManyOpenStreams => "too_many_open_streams",
            ErrorCode::TooManyApiKeys => "too_many_api_keys",
            ErrorCode::TooManyAgents => "too_many_agents",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::TooManySockets => "too_many_sockets",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub path: String,
    pub message: String,
}

// ---------- records ----------

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

// ---------- socket payloads (beyond full records) ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeletedPayload {
    pub message_id: String,
    pub channel_id: String,
    pub seq: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeliveryPayload {
    pub message_id: String,
    pub channel_id: String,
    pub delivery_status: String,
    pub seq: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewExpiredPayload {
    pub message_id: String,
    pub channel_id: String,
    pub review_type: String,
    pub seq: i64,
}

/// `GET /api/v1/reviews/:id/wait`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitResponse {
    /// `completed`, `expired` or `timeout`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IterationChain {
    pub group_id: String,
    pub iterations: Vec<MessageRecord>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondReview {
    pub response: Option<serde_json::Value>,
    pub feedback: Option<serde_json::Value>,
    pub modified_file_ids: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatusPayload {
    pub agent_id: String,
    pub status: String,
    pub status_message: Option<String>,
    pub status_since: Option<String>,
    pub seq: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResetPayload {
    pub channel_id: String,
    /// The oldest `seq` still in the log: replay can start at `oldestSeq - 1`.
    pub oldest_seq: i64,
    pub head_seq: i64,
}

/// `subscribe:channel` in its object form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    pub channel_id: String,
    #[serde(default)]
    pub last_seq: Option<i64>,
}

/// Ack of `subscribe:channel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeAck {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AckError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AckError {
    pub code: String,
    pub message: String,
}

// ---------- requests ----------
// Every field is optional at the serde level so that a missing field is reported by the
// validator with its name, not as a generic parse error.

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgentMessage {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub status: Option<String>,
    pub review: Option<Value>,
    pub metadata: Option<Value>,
    pub webhook_url: Option<String>,
    pub attachment_ids: Option<Vec<String>>,
    pub text_attachments: Option<Vec<Value>>,
    pub iteration_of: Option<String>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_started_at: Option<String>,
    pub stream_state: Option<String>,
}

/// `PATCH /api/v1/messages/streams/:streamId`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStream {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub complete: Option<bool>,
    pub stream_state: Option<String>,
}

/// `POST /api/v1/messages/streams/:streamId/status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub tool_hint: Option<bool>,
}

/// `POST /api/v1/messages/streams/:streamId/delta`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamDelta {
    pub channel_id: Option<String>,
    pub delta: Option<String>,
    /// The last delta of the stream (Placet's `streamEnd`).
    pub stream_end: Option<bool>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserMessage {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub attachment_ids: Option<Vec<String>>,
    pub client_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgent {
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub webhook_url: Option<String>,
    pub tag: Option<String>,
}

/// PATCH body: absent = unchanged, `null` = cleared (where clearing makes sense).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAgent {
    #[serde(default, deserialize_with = "double_option")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_headers: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_auth: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    pub tag: Option<Option<String>>,
}

/// Distinguishes a field set to `null` (`Some(None)`) from an absent one (`None`).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetTag {
    pub channel_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub tag: Option<Option<String>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetCommands {
    pub commands: Option<Vec<Value>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingStatus {
    pub agent_id: Option<String>,
    pub status: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    pub email: Option<String>,
    pub password: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub user: UserRecord,
    /// Also set as the `access_token` cookie; send as `Authorization: Bearer` elsewhere.
    pub token: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    pub current_password: Option<String>,
    pub new_password: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub role: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKey {
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketResponse {
    pub ticket: String,
    pub expires_at: String,
}
