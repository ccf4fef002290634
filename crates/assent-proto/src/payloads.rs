//! Socket.IO payloads beyond full records, and small response bodies.

use crate::records::*;
use serde::{Deserialize, Serialize};

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
