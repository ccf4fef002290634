//! Thread-stream and notification frames (docs/THREAD_STREAM.md): one JSON object per line,
//! `event_type` from `assent_proto::frames`.

use super::{message, message_redacted};
use crate::app::hub::View;
use assent_core::model::{Message, SenderType, StreamState};
use assent_core::review::Review;
use assent_core::{DomainEvent, LoggedEvent};
use assent_proto::frames;
use serde_json::{Value, json};

/// The thread-stream frames of one event, newline-separated.
pub fn thread_frames(e: &LoggedEvent, view: View) -> String {
    let t = e.channel_id.as_str();
    let list: Vec<Value> = match &e.event {
        DomainEvent::MessageCreated { message: m, .. } => vec![created_frame(e, m)],
        DomainEvent::MessageUpdated { message: m, .. } => updated_frames(e, m),
        DomainEvent::MessageDeleted { message_id, .. } => vec![
            json!({"event_type": frames::MESSAGE_DELETED, "thread_id": t, "seq": e.seq, "message_id": message_id}),
        ],
        DomainEvent::ReviewResponded { message: m } => vec![responded_frame(e, m, view)],
        DomainEvent::ReviewExpired {
            message_id,
            review_type,
        } => vec![
            json!({"event_type": frames::APPROVAL_EXPIRED, "thread_id": t, "seq": e.seq, "message_id": message_id, "review_type": review_type}),
        ],
        DomainEvent::ThreadEvent { event_type, fields } => {
            let mut f = fields.clone();
            f.insert("event_type".into(), json!(event_type));
            f.insert("thread_id".into(), json!(t));
            f.insert("agent_id".into(), json!(t));
            f.insert("seq".into(), json!(e.seq));
            vec![Value::Object(f)]
        }
        DomainEvent::AgentStatus {
            status,
            status_message,
            ..
        } => vec![
            json!({"event_type": frames::AGENT_STATUS, "thread_id": t, "seq": e.seq, "status": status.as_str(), "status_message": status_message}),
        ],
        DomainEvent::ChannelRead { .. } => vec![],
        DomainEvent::MessageStatus { step } => vec![
            json!({"event_type": frames::STATUS_STEP, "thread_id": t, "seq": e.seq, "stream_id": step.stream_id, "index": step.index, "text": step.text, "tool_hint": step.tool_hint}),
        ],
        DomainEvent::MessageDelivery {
            message_id,
            delivery_status,
        } => vec![
            json!({"event_type": frames::MESSAGE_DELIVERY, "thread_id": t, "seq": e.seq, "message_id": message_id, "delivery_status": delivery_status.as_str()}),
        ],
    };
    list.iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new message: the human's, a draft opening (`typing_started`), a review
/// (`approval_pending`) or a finished agent message.
fn created_frame(e: &LoggedEvent, m: &Message) -> Value {
    let t = e.channel_id.as_str();
    match (m.sender_type, m.stream_state, &m.review) {
        (SenderType::User, _, _) => json!({
            "event_type": frames::MESSAGE_CREATED, "thread_id": t, "seq": e.seq, "message_id": m.id,
            "sender_type": "user", "sender_id": m.sender_id, "content": m.text, "message": message_redacted(m, None),
        }),
        (_, Some(StreamState::Streaming), _) => json!({
            "event_type": frames::TYPING_STARTED, "thread_id": t, "agent_id": t, "seq": e.seq, "message_id": m.id,
            "stream_id": m.stream_id, "workflow_id": m.metadata.as_ref().and_then(|md| md.get("workflowId")).cloned(),
        }),
        (_, _, Some(review)) => json!({
            "event_type": frames::APPROVAL_PENDING, "thread_id": t, "agent_id": t, "seq": e.seq, "message_id": m.id,
            "review_type": review.kind(), "content": m.text, "expires_at": review.deadline.to_iso(), "review": review,
        }),
        _ => completed_frame(e, m),
    }
}

fn completed_frame(e: &LoggedEvent, m: &Message) -> Value {
    let t = e.channel_id.as_str();
    json!({
        "event_type": frames::MESSAGE_COMPLETED, "thread_id": t, "agent_id": t, "seq": e.seq, "message_id": m.id,
        "content": m.text, "status": m.status.map(|s| s.as_str()), "message": message(m, None),
    })
}

/// A draft that ended: `stream_end` (and the finished message when it completed). Coalesced
/// draft text is no frame: deltas already carried it live.
fn updated_frames(e: &LoggedEvent, m: &Message) -> Vec<Value> {
    let t = e.channel_id.as_str();
    let end = |state: &str| json!({"event_type": frames::STREAM_END, "thread_id": t, "agent_id": t, "seq": e.seq, "message_id": m.id, "stream_id": m.stream_id, "state": state});
    match m.stream_state {
        Some(StreamState::Complete) => vec![end("complete"), completed_frame(e, m)],
        Some(StreamState::Aborted) => vec![end("aborted")],
        _ => vec![],
    }
}

fn responded_frame(e: &LoggedEvent, m: &Message, view: View) -> Value {
    let r = match view {
        View::Agent => message(m, None),
        View::Dashboard => message_redacted(m, None),
    };
    let review = r.review.unwrap_or_default();
    json!({"event_type": frames::REVIEW_RESPONDED, "thread_id": e.channel_id.as_str(), "seq": e.seq, "message_id": m.id,
           "review_type": review.get("type"), "status": review.get("status"), "response": review.get("response"), "feedback": review.get("feedback"),
           "modifiedFileIds": review.get("modifiedFileIds")})
}

/// The notifications-stream frame of one event (owner-level events only).
pub fn notification_frames(e: &LoggedEvent) -> String {
    use serde_json::json;
    let c = e.channel_id.as_str();
    let preview = |m: &Message| match (&m.text, m.attachments.first()) {
        (Some(t), _) => Some(t.chars().take(140).collect::<String>()),
        (None, Some(a)) => Some(format!("📎 {}", a.filename)),
        (None, None) => None,
    };
    let frame = match &e.event {
        DomainEvent::ChannelRead { .. } => {
            json!({"event_type": frames::UNREAD_CHANGED, "channel_id": c, "seq": e.seq, "unread_count": 0})
        }
        DomainEvent::MessageCreated { message: m, .. } if m.review.is_some() => json!({
            "event_type": frames::REVIEW_PENDING, "channel_id": c, "seq": e.seq, "message_id": m.id,
            "review_type": m.review.as_ref().map(Review::kind), "preview": preview(m)}),
        DomainEvent::MessageCreated { message: m, .. } => json!({
            "event_type": frames::MESSAGE_CREATED, "channel_id": c, "seq": e.seq, "message_id": m.id,
            "sender_type": m.sender_type.as_str(), "preview": preview(m)}),
        DomainEvent::ReviewResponded { message: m } => {
            json!({"event_type": frames::REVIEW_RESOLVED, "channel_id": c, "seq": e.seq, "message_id": m.id, "status": m.review.as_ref().map_or("completed", |r| r.status.as_str())})
        }
        DomainEvent::ReviewExpired { message_id, .. } => {
            json!({"event_type": frames::REVIEW_RESOLVED, "channel_id": c, "seq": e.seq, "message_id": message_id, "status": "expired"})
        }
        DomainEvent::AgentStatus {
            status,
            status_message,
            ..
        } => {
            json!({"event_type": frames::AGENT_STATUS, "channel_id": c, "seq": e.seq, "status": status.as_str(), "status_message": status_message})
        }
        DomainEvent::MessageDeleted { message_id, .. } => {
            json!({"event_type": frames::MESSAGE_DELETED, "channel_id": c, "seq": e.seq, "message_id": message_id})
        }
        DomainEvent::MessageUpdated { .. }
        | DomainEvent::MessageStatus { .. }
        | DomainEvent::MessageDelivery { .. }
        | DomainEvent::ThreadEvent { .. } => return String::new(),
    };
    frame.to_string()
}

/// The thread-stream frame of an ephemeral event (`text_delta`), if it has one.
pub fn thread_ephemeral(ev: &crate::app::hub::Ephemeral) -> Option<String> {
    match ev {
        crate::app::hub::Ephemeral::Delta {
            channel_id,
            stream_id,
            message_id,
            delta,
            end,
            ..
        } => {
            let mut f = json!({"event_type": frames::TEXT_DELTA, "thread_id": channel_id, "agent_id": channel_id,
                               "stream_id": stream_id, "message_id": message_id, "content": delta});
            if *end {
                f["stream_end"] = Value::Bool(true);
            }
            Some(f.to_string())
        }
        crate::app::hub::Ephemeral::Relay {
            channel_id,
            kind,
            payload,
        } => {
            use crate::app::hub::RelayKind;
            let (event_type, field, value) = match kind {
                RelayKind::Commands => {
                    (frames::AGENT_COMMANDS, "commands", payload.get("commands"))
                }
                RelayKind::Progress => (frames::PROGRESS, "content", payload.get("content")),
                RelayKind::Delta => return None,
            };
            Some(
                json!({"event_type": event_type, "thread_id": channel_id, "agent_id": channel_id,
                                   field: value.cloned().unwrap_or(Value::Null)})
                .to_string(),
            )
        }
    }
}
