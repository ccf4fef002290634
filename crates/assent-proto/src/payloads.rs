//! Socket.IO payloads beyond full records, and small response bodies.

use crate::records::*;
use serde::{Deserialize, Serialize};

/// `message:deleted` payload (an Assent addition: Placet emits nothing on delete).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeletedPayload {
    /// The deleted message's id.
    pub message_id: String,
    /// Its channel.
    pub channel_id: String,
    /// `seq` of the deletion in the channel's log.
    pub seq: i64,
}

/// `message:delivery` payload: Placet's `{messageId, deliveryStatus}` plus `channelId` and `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeliveryPayload {
    /// The message whose tick changed.
    pub message_id: String,
    /// Its channel.
    pub channel_id: String,
    /// The new tick: `webhook_delivered`, `webhook_failed` or `agent_received`.
    pub delivery_status: String,
    /// `seq` of this event in the channel's log.
    pub seq: i64,
}

/// `review:expired` payload: Placet's `{messageId}` plus `channelId`, `reviewType` and `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewExpiredPayload {
    /// The review message that expired.
    pub message_id: String,
    /// Its channel.
    pub channel_id: String,
    /// The review's `type`: `approval`, `selection`, `form`, `text-input` or `freeform`.
    pub review_type: String,
    /// `seq` of the expiry in the channel's log.
    pub seq: i64,
}

/// `GET /api/v1/reviews/:id/wait`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitResponse {
    /// `completed`, `expired` or `timeout`.
    pub status: String,
    /// The review message, unredacted (the agent's own read); absent on `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageRecord>,
}

/// An iteration chain, Placet's `{groupId, iterations}` (`GET /api/v1/messages/iterations/{id}`,
/// `GET /api/messages/{id}/iterations`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IterationChain {
    /// The chain's root message id (the message's own id when it is in no chain).
    pub group_id: String,
    /// Every member, by `iteration` ascending (password answers redacted for humans).
    pub iterations: Vec<MessageRecord>,
}

/// `POST /api/messages/{id}/respond`: a human's answer to a review (first answer wins).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondReview {
    /// The answer object (required unless `requestChanges`), checked against the review's
    /// type, e.g. `{selectedOption}` for `approval`.
    pub response: Option<serde_json::Value>,
    /// Free text sent along with the answer (≤ 10,000 chars), or `null`.
    pub feedback: Option<serde_json::Value>,
    /// Placet's `{originalAttachmentId: newAttachmentId}` object of annotated files, or `null`.
    pub modified_file_ids: Option<serde_json::Value>,
    /// `true`: ask for changes instead of answering. `feedback` is then required (what to
    /// change) and `response` must be absent; the review's status becomes `changes_requested`.
    pub request_changes: Option<serde_json::Value>,
}

/// `agent:status` payload (Placet's `{agentId, status, statusMessage, statusSince}` plus
/// `seq`); sent to the owner's dashboards only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatusPayload {
    /// The agent (= channel id).
    pub agent_id: String,
    /// The new status: `active`, `busy`, `error` or `offline`.
    pub status: String,
    /// The heartbeat's message; `null` when it had none.
    pub status_message: Option<String>,
    /// When the status last changed (ISO-8601); `null` if never.
    pub status_since: Option<String>,
    /// `seq` of this event in the agent's channel log.
    pub seq: i64,
}

/// `sync:reset` payload: the events after the requested `lastSeq` (or a gap) cannot be
/// replayed from the log (pruned, or beyond the head); refetch the channel over REST. Live
/// events continue after `headSeq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResetPayload {
    /// The channel that could not be replayed.
    pub channel_id: String,
    /// The oldest `seq` still in the log: replay can start at `oldestSeq - 1`.
    pub oldest_seq: i64,
    /// The channel's newest `seq` (the log head).
    pub head_seq: i64,
}

/// `subscribe:channel` in its object form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    /// The channel (agent id) to subscribe to.
    pub channel_id: String,
    /// The last `seq` the client saw: events after it are replayed before the ack (a value
    /// outside the log gets `sync:reset`); absent or `null` = no replay.
    #[serde(default)]
    pub last_seq: Option<i64>,
}

/// Ack of `subscribe:channel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeAck {
    /// Whether the subscription was accepted.
    pub ok: bool,
    /// On success: the subscribed channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// On success: the channel's head when the subscribe was processed; every later event on
    /// this socket for the channel has a greater `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<i64>,
    /// On refusal: why (e.g. `not_your_agent` for foreign and unknown channels alike).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AckError>,
}

/// Why a socket request was refused: the `code` and `message` of the matching REST error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AckError {
    /// A stable [`ErrorCode`](crate::ErrorCode) string, e.g. `not_your_agent`.
    pub code: String,
    /// Human-readable message, e.g. `Not your agent`.
    pub message: String,
}
