//! Domain → wire: the only place that knows both `assent-core` types and `assent-proto`
//! bodies. Used by the edges.

use crate::app::hub::View;
use assent_core::model::{Agent, AgentSummary, ApiKey, Message, User};
use assent_core::{DomainEvent, LoggedEvent, Millis};
use assent_proto as p;
use serde_json::Value;

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
        m.insert("password".into(), Value::from("***"));
    }
    if auth.token.is_some() {
        m.insert("token".into(), Value::from("***"));
    }
    Some(Value::Object(m))
}

pub fn agent(a: &Agent) -> p::AgentRecord {
    p::AgentRecord {
        id: a.id.to_string(),
        name: a.name.clone(),
        description: a.description.clone(),
        avatar_url: a.avatar_url.clone(),
        webhook_url: a.webhook_url.clone(),
        webhook_headers: a.webhook_headers.clone(),
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
    }
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
        review: m.review.clone(),
        metadata: m.metadata.clone(),
        client_id: m.client_id.clone(),
        stream_id: m.stream_id.clone(),
        stream_state: m.stream_state.map(|s| s.as_str().to_owned()),
        delivery_status: m.delivery_status.as_str().to_owned(),
        iteration_group_id: m.iteration_group_id.clone(),
        iteration: m.iteration,
        created_at: iso(m.created_at),
        updated_at: iso(m.updated_at),
        attachments: Vec::new(),
        status_events: Vec::new(),
        seq: m.seq,
        agent_name: agent_name.map(str::to_owned),
    }
}

/// A message as humans' dashboards and listings see it: password answers redacted.
pub fn message_redacted(m: &Message, agent_name: Option<&str>) -> p::MessageRecord {
    let mut r = message(m, agent_name);
    if let Some(review) = r.review.as_mut() {
        assent_core::review::redact_review(review);
    }
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
