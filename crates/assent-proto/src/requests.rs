//! Request bodies. Every field is optional at the serde level so that a missing field is
//! reported by the validator with its name, not as a generic parse error.

use crate::records::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
