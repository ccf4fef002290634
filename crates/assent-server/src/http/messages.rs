//! Messages: posting (agent and human bodies differ), listing, reading, deleting,
//! acknowledging, and iteration chains.

use super::extract::{AgentAuth, Caller, Human, JsonBody, Q};
use super::{Ctx, Reply, created, ok};
use crate::app::hub::View;
use crate::app::{AgentMessageInput, ListInput, UserMessageInput};
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use serde_json::json;

impl From<p::CreateAgentMessage> for AgentMessageInput {
    fn from(b: p::CreateAgentMessage) -> Self {
        AgentMessageInput {
            channel_id: b.channel_id,
            text: b.text,
            status: b.status,
            review: b.review,
            metadata: b.metadata,
            webhook_url: b.webhook_url,
            attachment_ids: b.attachment_ids,
            text_attachments: b.text_attachments,
            client_id: b.client_id,
            stream_id: b.stream_id,
            stream_state: b.stream_state,
            iteration_of: b.iteration_of,
        }
    }
}

impl From<p::CreateUserMessage> for UserMessageInput {
    fn from(b: p::CreateUserMessage) -> Self {
        UserMessageInput {
            channel_id: b.channel_id,
            text: b.text,
            attachment_ids: b.attachment_ids,
            client_id: b.client_id,
        }
    }
}

impl From<&Q> for ListInput {
    fn from(q: &Q) -> Self {
        ListInput {
            channel: q.get("channel"),
            limit: q.get("limit"),
            cursor: q.get("cursor"),
            after: q.get("after"),
            search: q.get("search"),
            has_attachments: q.get("has_attachments"),
        }
    }
}

/// 201 for a new message, 200 for a repeated `clientId`.
pub(super) async fn post_agent(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::CreateAgentMessage>,
) -> Reply {
    let (m, fresh) = c.app.post_agent_message(&a, b.into()).await?;
    let body = wire::message(&m, None);
    Ok(if fresh { created(&body) } else { ok(&body) })
}

pub(super) async fn post_human(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateUserMessage>,
) -> Reply {
    let (m, fresh) = c.app.post_user_message(&s.user.id, b.into()).await?;
    let body = wire::message_redacted(&m, None);
    Ok(if fresh { created(&body) } else { ok(&body) })
}

/// Listings are redacted for everyone (Placet).
pub(super) async fn list(State(c): State<Ctx>, who: Caller, q: Q) -> Reply {
    let page = c.app.list_messages(who.user(), (&q).into()).await?;
    let steps = c.app.status_steps_of(&page).await?;
    Ok(ok(&wire::page_with_steps(&page, &steps)))
}

pub(super) async fn get(State(c): State<Ctx>, who: Caller, Path(id): Path<String>, q: Q) -> Reply {
    let channel = who.channel_of(&q);
    let m = c
        .app
        .get_message(who.user(), channel.as_deref(), &id)
        .await?;
    Ok(ok(&who.message(&m)))
}

pub(super) async fn delete(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = q.get("channel");
    c.app
        .delete_message(&a.user_id, channel.as_deref(), &id)
        .await?;
    Ok(ok(&json!({"deleted": true})))
}

pub(super) async fn ack(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = q.get("channel");
    c.app
        .ack_message(&a.user_id, channel.as_deref(), &id)
        .await?;
    Ok(ok(&json!({"acknowledged": true})))
}

pub(super) async fn iterations(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = who.channel_of(&q);
    let (group, list) = c
        .app
        .iterations(who.user(), channel.as_deref(), &id)
        .await?;
    Ok(ok(&wire::chain(group, &list, who.view == View::Dashboard)))
}
