//! Agents (= channels): listing, CRUD, tag, slash commands, read marker and heartbeat.
//! One handler per action serves the agent API and the dashboard (`Caller`).

use super::extract::{AgentAuth, Caller, Human, JsonBody};
use super::{Ctx, Reply, created, ok};
use crate::app::hub::View;
use crate::app::{AgentInput, AgentUpdate};
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use serde_json::json;

impl From<p::CreateAgent> for AgentInput {
    fn from(b: p::CreateAgent) -> Self {
        AgentInput {
            name: b.name,
            description: b.description,
            avatar_url: b.avatar_url,
            webhook_url: b.webhook_url,
            tag: b.tag,
        }
    }
}

impl From<p::UpdateAgent> for AgentUpdate {
    fn from(b: p::UpdateAgent) -> Self {
        AgentUpdate {
            name: b.name,
            description: b.description,
            avatar_url: b.avatar_url,
            webhook_url: b.webhook_url,
            webhook_headers: b.webhook_headers,
            webhook_auth: b.webhook_auth,
            tag: b.tag,
        }
    }
}

/// Agents see their records; dashboards also the last message and unread count.
pub(super) async fn list(State(c): State<Ctx>, who: Caller) -> Reply {
    Ok(match who.view {
        View::Agent => {
            let list = c.app.list_agents(who.user()).await?;
            ok(&list.iter().map(wire::agent).collect::<Vec<_>>())
        }
        View::Dashboard => {
            let list = c.app.list_agent_summaries(who.user()).await?;
            ok(&list.iter().map(wire::agent_summary).collect::<Vec<_>>())
        }
    })
}

pub(super) async fn get(State(c): State<Ctx>, who: Caller, Path(id): Path<String>) -> Reply {
    Ok(ok(&wire::agent(&c.app.get_agent(who.user(), &id).await?)))
}

pub(super) async fn create(
    State(c): State<Ctx>,
    who: Caller,
    JsonBody(b): JsonBody<p::CreateAgent>,
) -> Reply {
    let (agent, secret) = c.app.create_agent(who.user(), b.into()).await?;
    Ok(created(&wire::agent_with_secret(&agent, secret)))
}

pub(super) async fn update(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateAgent>,
) -> Reply {
    let (agent, secret) = c.app.update_agent(who.user(), &id, b.into()).await?;
    Ok(ok(&wire::agent_with_secret(&agent, secret)))
}

pub(super) async fn delete(State(c): State<Ctx>, who: Caller, Path(id): Path<String>) -> Reply {
    c.app.delete_agent(who.user(), &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

pub(super) async fn set_tag(
    State(c): State<Ctx>,
    who: Caller,
    JsonBody(b): JsonBody<p::SetTag>,
) -> Reply {
    let agent = c.app.set_tag(who.user(), b.channel_id, b.tag).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub(super) async fn set_commands(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::SetCommands>,
) -> Reply {
    let agent = c.app.set_commands(who.user(), &id, b.commands).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub(super) async fn mark_read(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Reply {
    c.app.mark_read(&s.user.id, &id).await?;
    Ok(created(&json!({"read": true})))
}

/// The agent's heartbeat (`POST /api/v1/status/ping`).
pub(super) async fn ping(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::PingStatus>,
) -> Reply {
    let agent = c
        .app
        .ping(&a.user_id, b.agent_id, b.status, b.message)
        .await?;
    Ok(created(&wire::agent(&agent)))
}
