//! Request bodies. Every field is optional at the serde level so that a missing field is
//! reported by the validator with its name, not as a generic parse error.

use crate::records::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /api/v1/messages`: an agent posts into one of its channels (201; a repeated
/// `clientId` or `streamId` returns the first message with 200). Needs one of `text`,
/// `review`, `status`, `attachmentIds` or `streamId`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgentMessage {
    /// The agent (channel) to post in (required).
    pub channel_id: Option<String>,
    /// Markdown body (≤ 100,000 chars).
    pub text: Option<String>,
    /// Colour: `info`, `success`, `warning` or `error`.
    pub status: Option<String>,
    /// A review to ask: `{type, payload, expiresInSeconds? | expiresAt?, callback?}`, `type` one
    /// of `approval`, `selection`, `form`, `text-input`, `freeform`; lifetime 24 h by default,
    /// at most 36 h (both configurable).
    pub review: Option<Value>,
    /// Free-form object (Placet conventions: `webhookUrl`, `plugin`).
    pub metadata: Option<Value>,
    /// Per-message webhook URL for this message's review events, tried before the agent's own
    /// (sent without its stored headers or credentials); stored as `metadata.webhookUrl`.
    pub webhook_url: Option<String>,
    /// Placet's stored-file ids: they count as content for the non-empty check but are not
    /// linked (Assent stores no files).
    pub attachment_ids: Option<Vec<String>>,
    /// Placet's inline text files (`[{content, filename?, mimeType?}]`): accepted and ignored.
    pub text_attachments: Option<Vec<Value>>,
    /// Id of an earlier message of this channel whose review is `completed` or `expired`: this
    /// message becomes the chain's next iteration.
    pub iteration_of: Option<String>,
    /// Idempotency key (≤ 200 chars), per channel and sender type.
    pub client_id: Option<String>,
    /// Stream id of a streamed reply (≤ 200 chars, unique per channel): the first POST opens the
    /// draft, a repeat returns it (and aborts it when it carries `streamState: aborted`).
    pub stream_id: Option<String>,
    /// Placet's legacy field (ignored by Placet since 0.11.3): accepted and ignored.
    pub stream_started_at: Option<String>,
    /// `streaming` (opens a draft), `complete` or `aborted`.
    pub stream_state: Option<String>,
}

/// `PATCH /api/v1/messages/streams/:streamId`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStream {
    /// The draft's channel (required).
    pub channel_id: Option<String>,
    /// The full text so far (replaces, does not append; ≤ 100,000 chars). Omitted on
    /// completion or abort, the draft keeps the text the deltas built.
    pub text: Option<String>,
    /// `true` completes the draft (taking precedence over `streamState`).
    pub complete: Option<bool>,
    /// `streaming`, `complete` or `aborted`.
    pub stream_state: Option<String>,
}

/// `POST /api/v1/messages/streams/:streamId/status`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    /// The stream's channel (required).
    pub channel_id: Option<String>,
    /// The step's text (1–2,000 chars, required), e.g. `Searching the knowledge base`.
    pub text: Option<String>,
    /// Placet's `toolHint`: the step is a tool use (default `false`).
    pub tool_hint: Option<bool>,
}

/// `POST /api/v1/messages/streams/:streamId/delta`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamDelta {
    /// The draft's channel (required).
    pub channel_id: Option<String>,
    /// Text to append (required unless `streamEnd` is `true`).
    pub delta: Option<String>,
    /// The last delta of the stream (Placet's `streamEnd`).
    pub stream_end: Option<bool>,
}

/// `POST /api/messages`: a human writes into one of their channels (201; a repeated
/// `clientId` returns the first message with 200). Needs non-blank `text` or `attachmentIds`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserMessage {
    /// The agent (channel) to write to (required).
    pub channel_id: Option<String>,
    /// Markdown body (≤ 100,000 chars).
    pub text: Option<String>,
    /// Placet's stored-file ids: they count as content for the non-empty check but are not
    /// linked (Assent stores no files).
    pub attachment_ids: Option<Vec<String>>,
    /// Idempotency key (≤ 200 chars), per channel and sender type.
    pub client_id: Option<String>,
}

/// `POST /api/v1/agents` and `POST /api/agents`: a new agent (channel); 201 with its
/// [`AgentRecord`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgent {
    /// Display name (1–200 chars after trimming; required).
    pub name: Option<String>,
    /// Free text (≤ 2,000 chars).
    pub description: Option<String>,
    /// Avatar URL (≤ 2,048 chars).
    pub avatar_url: Option<String>,
    /// The agent's webhook URL; when set, the response carries `webhookSecret`.
    pub webhook_url: Option<String>,
    /// Grouping tag (≤ 64 chars; blank = none).
    pub tag: Option<String>,
}

/// PATCH body: absent = unchanged, `null` = cleared (where clearing makes sense).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAgent {
    /// New display name (1–200 chars); `null` is refused.
    #[serde(default, deserialize_with = "double_option")]
    pub name: Option<Option<String>>,
    /// New description (≤ 2,000 chars); `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// New avatar URL; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub avatar_url: Option<Option<String>>,
    /// New webhook URL, `null` clears it; the response carries `webhookSecret` if the secret was
    /// never shown before.
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_url: Option<Option<String>>,
    /// Replaces the custom headers `{name: value}` (a `***` value keeps the stored one); `null`
    /// clears them.
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_headers: Option<Option<Value>>,
    /// Replaces the credentials, `{username, password}` or `{token}`; `null` clears them.
    #[serde(default, deserialize_with = "double_option")]
    pub webhook_auth: Option<Option<Value>>,
    /// New tag (≤ 64 chars; blank = none); `null` clears it.
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

/// `POST /api/v1/agents/setTag` (Placet) and `POST /api/agents/setTag`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetTag {
    /// The agent to tag (required).
    pub channel_id: Option<String>,
    /// The tag (≤ 64 chars; blank = none), or `null` to clear; required.
    #[serde(default, deserialize_with = "double_option")]
    pub tag: Option<Option<String>>,
}

/// `PUT /api/v1/agents/{id}/commands`: replaces the agent's stored slash commands.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetCommands {
    /// Up to 100 `{command (1–64 chars), description?, acceptsArgs?, …}` objects (required).
    pub commands: Option<Vec<Value>>,
}

/// `POST /api/v1/status/ping`: an agent's heartbeat (201 with its [`AgentRecord`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingStatus {
    /// The reporting agent's id (= channel id; required).
    pub agent_id: Option<String>,
    /// `active`, `busy`, `error` or `offline` (required).
    pub status: Option<String>,
    /// Status text (≤ 500 chars); omitted = cleared.
    pub message: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    /// Account email (case-insensitive).
    pub email: Option<String>,
    /// Account password.
    pub password: Option<String>,
}

/// Answer of `POST /api/auth/login` and `/api/auth/refresh`: the user and a new session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// The logged-in user.
    pub user: UserRecord,
    /// Also set as the `access_token` cookie; send as `Authorization: Bearer` elsewhere.
    pub token: String,
    /// When the session expires (ISO-8601; 7 days by default, `refresh` issues a new one).
    pub expires_at: String,
}

/// `POST /api/auth/change-password`: also revokes the user's other sessions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    /// The current password (required).
    pub current_password: Option<String>,
    /// The new password (8–256 chars, required).
    pub new_password: Option<String>,
}

/// `POST /api/users` (owners only): the new user must change the password at first login.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUser {
    /// Login email (unique; stored lowercased).
    pub email: Option<String>,
    /// Display name (1–200 chars, required).
    pub display_name: Option<String>,
    /// Initial password (8–256 chars, required).
    pub password: Option<String>,
    /// `owner` or `member` (default).
    pub role: Option<String>,
}

/// `PATCH /api/users/{id}` (owners only); absent fields stay unchanged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUser {
    /// New display name (1–200 chars).
    pub display_name: Option<String>,
    /// `owner` or `member` (an owner cannot demote themselves).
    pub role: Option<String>,
}

/// `POST /api/api-keys`: the answer's `key` is the only time the secret is shown.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKey {
    /// Label (1–64 chars; default `Default`).
    pub label: Option<String>,
}

/// `POST /api/auth/ws-ticket` (session) and `POST /api/v1/ws-ticket` (API key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketResponse {
    /// Single-use ticket (`wt_…`), for Socket.IO `auth.token` or a raw WebSocket's `?ticket=`.
    pub ticket: String,
    /// Expiry (ISO-8601), 30 s after minting.
    pub expires_at: String,
}
