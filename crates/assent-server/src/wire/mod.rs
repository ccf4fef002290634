//! Domain → wire: the only place that knows both `assent-core` types and `assent-proto`
//! bodies. Used by the edges.

use crate::app::hub::View;
use assent_core::model::{Agent, AgentSummary, ApiKey, Message, User};
use assent_core::review::Review;
use assent_core::{DomainEvent, LoggedEvent, Millis};
use assent_proto as p;
use serde_json::Value;

mod threads;

pub use threads::{notification_frames, thread_ephemeral, thread_frames};

fn iso(t: Millis) -> String {
    t.to_iso()
}

pub fn user(u: &User) -> p::UserRecord {
    p::UserRecord {
        id: u.id.to_string(),
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        role: u.role.as_str().to_owned(),
        must_change_password: u.must_change_password,
        created_at: iso(u.created_at),
    }
}

/// Webhook credentials as shown to clients: secrets become `***`.
fn masked_auth(a: &Agent) -> Option<Value> {
    let auth = a.webhook_auth.as_ref()?;
    let mut m = serde_json::Map::new();
    if let Some(u) = &auth.username {
        m.insert("username".into(), Value::from(u.clone()));
    }
    if auth.password.is_some() {
        m.insert("password".into(), Value::from(assent_core::secret::MASKED));
    }
    if auth.token.is_some() {
        m.insert("token".into(), Value::from(assent_core::secret::MASKED));
    }
    Some(Value::Object(m))
}

/// Custom webhook headers as shown to clients: names in clear, values as `***` (they often
/// carry the receiver's credentials). Sending `***` back keeps a stored value.
fn masked_headers(a: &Agent) -> Option<Value> {
    let headers = a.webhook_headers.as_ref()?.as_object()?;
    Some(Value::Object(
        headers
            .keys()
            .map(|k| (k.clone(), Value::from(assent_core::secret::MASKED)))
            .collect(),
    ))
}

pub fn agent(a: &Agent) -> p::AgentRecord {
    p::AgentRecord {
        id: a.id.to_string(),
        name: a.name.clone(),
        description: a.description.clone(),
        avatar_url: a.avatar_url.clone(),
        webhook_url: a.webhook_url.clone(),
        webhook_headers: masked_headers(a),
        webhook_auth: masked_auth(a),
        status: a.status.as_str().to_owned(),
        status_message: a.status_message.clone(),
        status_since: a.status_since.map(iso),
        last_active_at: a.last_active_at.map(iso),
        commands: a.commands.clone(),
        tag: a.tag.clone(),
        is_subagent: a.is_subagent,
        parent_agent_id: a.parent_agent_id.as_ref().map(|p| p.to_string()),
        created_at: iso(a.created_at),
        last_seq: a.head_seq,
        last_message: None,
        last_message_time: None,
        unread_count: None,
        webhook_disabled_at: a.webhook_disabled_at.map(iso),
        webhook_disabled_reason: a.webhook_disabled_reason.clone(),
        webhook_secret: None,
    }
}

/// An agent with its signing secret (the one response that shows it).
pub fn agent_with_secret(a: &Agent, secret: Option<String>) -> p::AgentRecord {
    p::AgentRecord {
        webhook_secret: secret,
        ..agent(a)
    }
}

/// A listing of deliveries: `{data: [...]}`.
pub fn deliveries(list: &[assent_store::WebhookDelivery]) -> Value {
    serde_json::json!({ "data": list.iter().map(delivery).collect::<Vec<_>>() })
}

pub fn delivery(d: &assent_store::WebhookDelivery) -> p::WebhookDeliveryRecord {
    p::WebhookDeliveryRecord {
        id: d.id.clone(),
        channel_id: d.channel_id.to_string(),
        message_id: d.message_id.to_string(),
        event: d.event.clone(),
        seq: d.seq,
        target: d.target.as_str().to_owned(),
        url: d.url.clone(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        max_attempts: d.max_attempts,
        next_attempt_at: d.next_attempt_at.map(iso),
        last_status: d.last_status,
        last_error: d.last_error.clone(),
        created_at: iso(d.created_at),
        updated_at: iso(d.updated_at),
        attempt_log: d
            .attempt_log
            .iter()
            .map(|a| p::WebhookAttemptRecord {
                attempt: a.attempt,
                at: iso(a.started_at),
                status_code: a.status_code,
                duration_ms: a.duration_ms,
                error: a.error.clone(),
            })
            .collect(),
    }
}

/// The body of an event's webhook: Placet's shapes (`message:created`, `review:responded`,
/// `review:expired`, with its mixed naming) plus the event's `seq`. `None` for other events.
/// Password answers are not redacted: the webhook goes to the agent.
pub fn webhook_body(e: &LoggedEvent) -> Option<String> {
    use serde_json::json;
    // Which events cause a webhook is decided in core; this only renders them.
    e.event.effects().webhook?;
    let body = match &e.event {
        DomainEvent::MessageCreated {
            message: m,
            agent_name,
        } => json!({
            "event": assent_proto::events::MESSAGE_CREATED,
            "channelId": e.channel_id,
            "message": message(m, agent_name.as_deref()),
            "seq": e.seq,
        }),
        DomainEvent::ReviewResponded { message: m } => {
            let review = m.review.as_ref()?.to_json();
            let mut b = json!({
                "event": assent_proto::events::REVIEW_RESPONDED,
                "channelId": e.channel_id,
                "message_id": m.id,
                "review_type": review.get("type"),
                "status": review.get("status"),
                "response": review.get("response"),
                "responded_at": review.get("completedAt"),
                "seq": e.seq,
            });
            for (from, to) in [
                ("feedback", "feedback"),
                ("modifiedFileIds", "modifiedFileIds"),
            ] {
                if let Some(v) = review.get(from).filter(|v| !v.is_null()) {
                    b[to] = v.clone();
                }
            }
            if let Some(g) = &m.iteration_group_id {
                b["iterationGroupId"] = json!(g);
                b["iteration"] = json!(m.iteration);
            }
            b
        }
        DomainEvent::ReviewExpired {
            message_id,
            review_type,
        } => json!({
            "event": assent_proto::events::REVIEW_EXPIRED,
            "channelId": e.channel_id,
            "message_id": message_id,
            "review_type": review_type,
            "expired_at": iso(e.at),
            "seq": e.seq,
        }),
        _ => return None,
    };
    Some(body.to_string())
}

pub fn agent_summary(s: &AgentSummary) -> p::AgentRecord {
    let mut r = agent(&s.agent);
    r.last_message = Some(s.last_message.clone());
    r.last_message_time = Some(s.last_message_at.map(iso));
    r.unread_count = Some(s.unread_count);
    r
}

pub fn message(m: &Message, agent_name: Option<&str>) -> p::MessageRecord {
    p::MessageRecord {
        id: m.id.to_string(),
        channel_id: m.channel_id.to_string(),
        sender_type: m.sender_type.as_str().to_owned(),
        sender_id: m.sender_id.clone(),
        text: m.text.clone(),
        status: m.status.map(|s| s.as_str().to_owned()),
        review: m.review.as_ref().map(Review::to_json),
        metadata: m.metadata.clone(),
        client_id: m.client_id.clone(),
        stream_id: m.stream_id.clone(),
        stream_state: m.stream_state.map(|s| s.as_str().to_owned()),
        delivery_status: m.delivery_status.as_str().to_owned(),
        iteration_group_id: m.iteration_group_id.clone(),
        iteration: m.iteration,
        created_at: iso(m.created_at),
        updated_at: iso(m.updated_at),
        attachments: m.attachments.iter().map(attachment).collect(),
        status_events: Vec::new(),
        seq: m.seq,
        agent_name: agent_name.map(str::to_owned),
    }
}

/// A file as every client sees it.
pub fn attachment(a: &assent_core::attachment::Attachment) -> p::AttachmentRecord {
    p::AttachmentRecord {
        id: a.id.to_string(),
        message_id: a.message_id.as_ref().map(|m| m.to_string()),
        channel_id: a.channel_id.to_string(),
        filename: a.filename.clone(),
        mime_type: a.mime_type.clone(),
        size: a.size,
        plugin_type: a.plugin_type().to_owned(),
        uploaded_by: a.uploaded_by.as_str().to_owned(),
        created_at: iso(a.created_at),
        text_content: a.text_content.clone(),
    }
}

/// A page of files.
pub fn file_page(pg: &assent_store::FilePage) -> p::FilePage {
    p::FilePage {
        data: pg
            .data
            .iter()
            .map(|e| p::FileRecord {
                attachment: attachment(&e.attachment),
                message: e.message_created_at.map(|at| p::FileMessage {
                    channel_id: e.attachment.channel_id.to_string(),
                    created_at: iso(at),
                }),
            })
            .collect(),
        next_cursor: pg.next_cursor.clone(),
    }
}

/// A message as humans' dashboards and listings see it: password answers redacted.
pub fn message_redacted(m: &Message, agent_name: Option<&str>) -> p::MessageRecord {
    let mut r = message(m, agent_name);
    r.review = m.review.as_ref().map(|x| x.redacted().to_json());
    r
}

/// Listings are redacted for everyone (Placet): only single reads give the agent its values.
pub fn page(pg: &assent_store::Page) -> p::MessagePage {
    p::MessagePage {
        data: pg.data.iter().map(|m| message_redacted(m, None)).collect(),
        next_cursor: pg.next_cursor.clone(),
        next_after: pg.next_after,
    }
}

pub fn api_key(k: &ApiKey, raw: Option<String>) -> p::ApiKeyRecord {
    p::ApiKeyRecord {
        id: k.id.clone(),
        user_id: k.user_id.to_string(),
        label: k.label.clone(),
        key_prefix: k.key_prefix.clone(),
        last_used_at: k.last_used_at.map(iso),
        created_at: iso(k.created_at),
        key: raw,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("wire types always serialise")
}

/// The Socket.IO payload of an event (Placet's shape plus `seq`).
pub fn socketio_payload(e: &LoggedEvent, view: View) -> String {
    let record = |m: &Message, name: Option<&str>| {
        let mut r = match view {
            View::Agent => message(m, name),
            View::Dashboard => message_redacted(m, name),
        };
        r.seq = e.seq;
        r
    };
    match &e.event {
        DomainEvent::MessageCreated {
            message: m,
            agent_name,
        } => to_json(&record(m, agent_name.as_deref())),
        DomainEvent::ReviewResponded { message: m } => to_json(&record(m, None)),
        DomainEvent::ReviewExpired {
            message_id,
            review_type,
        } => to_json(&p::ReviewExpiredPayload {
            message_id: message_id.to_string(),
            channel_id: e.channel_id.to_string(),
            review_type: review_type.clone(),
            seq: e.seq,
        }),
        DomainEvent::MessageDeleted {
            message_id,
            channel_id,
        } => to_json(&p::MessageDeletedPayload {
            message_id: message_id.to_string(),
            channel_id: channel_id.to_string(),
            seq: e.seq,
        }),
        DomainEvent::MessageDelivery {
            message_id,
            delivery_status,
        } => to_json(&p::MessageDeliveryPayload {
            message_id: message_id.to_string(),
            channel_id: e.channel_id.to_string(),
            delivery_status: delivery_status.as_str().to_owned(),
            seq: e.seq,
        }),
        DomainEvent::MessageUpdated {
            message: m,
            agent_name,
        } => to_json(&record(m, agent_name.as_deref())),
        DomainEvent::MessageStatus { step } => {
            let mut v = step_json(step);
            v["seq"] = serde_json::json!(e.seq);
            v.to_string()
        }
        DomainEvent::ThreadEvent { event_type, fields } => {
            let mut f = fields.clone();
            f.insert("eventType".into(), serde_json::json!(event_type));
            f.insert("channelId".into(), serde_json::json!(e.channel_id));
            f.insert("seq".into(), serde_json::json!(e.seq));
            serde_json::Value::Object(f).to_string()
        }
        DomainEvent::ChannelRead { .. } => {
            serde_json::json!({"channelId": e.channel_id, "seq": e.seq}).to_string()
        }
        DomainEvent::AgentStatus {
            agent_id,
            status,
            status_message,
            status_since,
        } => to_json(&p::AgentStatusPayload {
            agent_id: agent_id.to_string(),
            status: status.as_str().to_owned(),
            status_message: status_message.clone(),
            status_since: status_since.map(iso),
            seq: e.seq,
        }),
    }
}

pub fn wait(o: &crate::app::WaitOutcome) -> p::WaitResponse {
    use crate::app::WaitOutcome as W;
    match o {
        W::Completed(m) => p::WaitResponse {
            status: "completed".into(),
            message: Some(message(m, None)),
        },
        W::Expired(m) => p::WaitResponse {
            status: "expired".into(),
            message: Some(message(m, None)),
        },
        W::ChangesRequested(m) => p::WaitResponse {
            status: "changes_requested".into(),
            message: Some(message(m, None)),
        },
        W::Timeout => p::WaitResponse {
            status: "timeout".into(),
            message: None,
        },
    }
}

pub fn chain(group: String, list: &[Message], redact: bool) -> p::IterationChain {
    p::IterationChain {
        group_id: group,
        iterations: list
            .iter()
            .map(|m| {
                if redact {
                    message_redacted(m, None)
                } else {
                    message(m, None)
                }
            })
            .collect(),
    }
}

/// A status step as Placet's `MessageStatusEvent`.
pub fn step(s: &assent_core::StatusStep) -> serde_json::Value {
    step_json(s)
}

fn step_json(s: &assent_core::StatusStep) -> serde_json::Value {
    serde_json::json!({
        "id": s.id, "channelId": s.channel_id, "streamId": s.stream_id, "index": s.index,
        "text": s.text, "toolHint": s.tool_hint, "createdAt": s.created_at.to_iso(),
    })
}

/// A page with each streamed message's status steps (`statusEvents`).
pub fn page_with_steps(
    pg: &assent_store::Page,
    steps: &std::collections::HashMap<String, Vec<assent_core::StatusStep>>,
) -> p::MessagePage {
    let mut out = page(pg);
    for r in &mut out.data {
        if let Some(list) = r.stream_id.as_ref().and_then(|s| steps.get(s)) {
            r.status_events = list.iter().map(step_json).collect();
        }
    }
    out
}

/// The Socket.IO name and payload of an ephemeral event (Placet's relays).
pub fn socketio_ephemeral(ev: &crate::app::hub::Ephemeral) -> (&'static str, String) {
    use crate::app::hub::{Ephemeral, RelayKind};
    match ev {
        Ephemeral::Delta {
            channel_id,
            stream_id,
            message_id,
            delta,
            n,
            started_at,
            end,
            ..
        } => {
            let mut p = serde_json::json!({"channelId": channel_id, "delta": delta, "streamBaseId": stream_id,
                               "streamId": format!("{stream_id}:{n}"), "streamStartedAt": started_at.to_iso(), "messageId": message_id});
            if *end {
                p["streamEnd"] = serde_json::Value::Bool(true);
            }
            (assent_proto::events::MESSAGE_DELTA, p.to_string())
        }
        Ephemeral::Relay { kind, payload, .. } => (
            match kind {
                RelayKind::Progress => assent_proto::events::MESSAGE_PROGRESS,
                RelayKind::Commands => assent_proto::events::AGENT_COMMANDS,
                RelayKind::Delta => assent_proto::events::MESSAGE_DELTA,
            },
            payload.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assent_core::review::{Reply, Review, ReviewLimits};

    /// The agent's webhook says changes were requested, with the feedback and no answer.
    #[test]
    fn a_change_request_reaches_the_webhook_with_its_status_and_feedback() {
        let now = Millis(1_750_000_000_000);
        let review = Review::create(&json_review(), now, ReviewLimits::default()).unwrap();
        let reply = Reply {
            response: Value::Null,
            feedback: Some("use the staging cluster".into()),
            modified_file_ids: None,
            request_changes: true,
        };
        let mut m: Message = serde_json::from_value(serde_json::json!({
            "id": "m1", "channel_id": "c1", "seq": 1, "sender_type": "agent", "sender_id": "c1",
            "text": "deploy?", "status": null, "review": null, "metadata": null, "client_id": null,
            "stream_id": null, "stream_state": null, "delivery_status": "sent",
            "iteration_group_id": null, "iteration": null, "created_at": 1, "updated_at": 1}))
        .unwrap();
        m.review = Some(review.respond(&reply, now).unwrap());
        let e = LoggedEvent {
            channel_id: m.channel_id.clone(),
            seq: 2,
            at: now,
            event: DomainEvent::ReviewResponded {
                message: Box::new(m),
            },
        };
        let body: Value = serde_json::from_str(&webhook_body(&e).unwrap()).unwrap();
        assert_eq!(body["status"], "changes_requested");
        assert_eq!(body["feedback"], "use the staging cluster");
        assert!(body["response"].is_null(), "{body}");
        assert_eq!(body["responded_at"], now.to_iso());
    }

    fn json_review() -> Value {
        serde_json::json!({"type": "approval"})
    }
}
