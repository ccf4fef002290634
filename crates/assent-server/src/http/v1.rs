//! The agent API (`/api/v1`, API key), Placet-compatible.

use super::extract::{AgentAuth, JsonBody, Q};
use super::{Ctx, created, ok};
use crate::app::{AgentInput, AgentMessageInput, AgentUpdate, ListInput};
use crate::error::ApiError;
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

pub fn agent_update(b: p::UpdateAgent) -> AgentUpdate {
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

pub fn agent_input(b: p::CreateAgent) -> AgentInput {
    AgentInput {
        name: b.name,
        description: b.description,
        avatar_url: b.avatar_url,
        webhook_url: b.webhook_url,
        tag: b.tag,
    }
}

pub fn list_input(q: &Q) -> ListInput {
    ListInput {
        channel: q.get("channel"),
        limit: q.get("limit"),
        cursor: q.get("cursor"),
        after: q.get("after"),
        search: q.get("search"),
    }
}

pub fn review_page(q: &Q) -> crate::app::ReviewPage {
    crate::app::ReviewPage {
        limit: q.get("limit"),
        cursor: q.get("cursor"),
    }
}

/// A listing that stays a bare JSON array (Placet's shape) and says where the next page
/// starts in `X-Next-Cursor` (absent on the last page).
pub fn paged_array<T: serde::Serialize>(items: &[T], next: Option<String>) -> Response {
    let mut res = ok(&items);
    if let Some(v) = next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert("x-next-cursor", v);
    }
    res
}

pub async fn list_agents(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
) -> Result<Response, ApiError> {
    let agents = c.app.list_agents(&a.user_id).await?;
    Ok(ok(&agents.iter().map(wire::agent).collect::<Vec<_>>()))
}

pub async fn create_agent(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::CreateAgent>,
) -> Result<Response, ApiError> {
    let (agent, secret) = c.app.create_agent(&a.user_id, agent_input(b)).await?;
    Ok(created(&wire::agent_with_secret(&agent, secret)))
}

pub async fn update_agent(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateAgent>,
) -> Result<Response, ApiError> {
    let (agent, secret) = c.app.update_agent(&a.user_id, &id, agent_update(b)).await?;
    Ok(ok(&wire::agent_with_secret(&agent, secret)))
}

pub async fn delete_agent(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.delete_agent(&a.user_id, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

pub async fn set_tag(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::SetTag>,
) -> Result<Response, ApiError> {
    let agent = c.app.set_tag(&a.user_id, b.channel_id, b.tag).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub async fn set_commands(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::SetCommands>,
) -> Result<Response, ApiError> {
    let agent = c.app.set_commands(&a.user_id, &id, b.commands).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub async fn post_message(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::CreateAgentMessage>,
) -> Result<Response, ApiError> {
    let input = AgentMessageInput {
        channel_id: b.channel_id,
        text: b.text,
        status: b.status,
        review: b.review,
        metadata: b.metadata,
        webhook_url: b.webhook_url,
        attachment_ids: b.attachment_ids,
        client_id: b.client_id,
        stream_id: b.stream_id,
        stream_state: b.stream_state,
        iteration_of: b.iteration_of,
    };
    let (m, fresh) = c.app.post_agent_message(&a, input).await?;
    let body = wire::message(&m, None);
    Ok(if fresh { created(&body) } else { ok(&body) })
}

pub async fn list_messages(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    q: Q,
) -> Result<Response, ApiError> {
    let page = c.app.list_messages(&a.user_id, list_input(&q)).await?;
    let steps = c.app.status_steps_of(&page).await?;
    Ok(ok(&wire::page_with_steps(&page, &steps)))
}

pub async fn get_message(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let m = c
        .app
        .get_message(
            &a.user_id,
            Some(q.get("channel").unwrap_or_default().as_str()),
            &id,
        )
        .await?;
    Ok(ok(&wire::message(&m, None)))
}

pub async fn delete_message(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    c.app
        .delete_message(&a.user_id, q.get("channel").as_deref(), &id)
        .await?;
    Ok(ok(&json!({"deleted": true})))
}

pub async fn ack_message(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    c.app
        .ack_message(&a.user_id, q.get("channel").as_deref(), &id)
        .await?;
    Ok(ok(&json!({"acknowledged": true})))
}

pub async fn ping(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::PingStatus>,
) -> Result<Response, ApiError> {
    let agent = c
        .app
        .ping(&a.user_id, b.agent_id, b.status, b.message)
        .await?;
    Ok(created(&wire::agent(&agent)))
}

pub async fn ws_ticket(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
) -> Result<Response, ApiError> {
    let (ticket, expires_at) = c.app.issue_ticket(&a).await?;
    Ok(ok(&p::TicketResponse {
        ticket,
        expires_at: expires_at.to_iso(),
    }))
}

// ---- reviews ----

pub async fn pending_reviews(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    q: Q,
) -> Result<Response, ApiError> {
    let page = c
        .app
        .pending_reviews(&a.user_id, q.get("channel").as_deref(), review_page(&q))
        .await?;
    let body: Vec<_> = page.data.iter().map(|m| wire::message(m, None)).collect();
    Ok(paged_array(&body, page.next_cursor))
}

pub async fn get_review(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let m = c
        .app
        .get_review(&a.user_id, q.get("channel").as_deref(), &id)
        .await?;
    Ok(ok(&wire::message(&m, None)))
}

/// The long-poll: answers within milliseconds of the human's click, or at `timeout`.
pub async fn wait_review(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let timeout = c.app.wait_timeout(q.get("timeout").as_deref());
    let outcome = c
        .app
        .wait_review(&a.user_id, q.get("channel").as_deref(), &id, timeout)
        .await?;
    Ok(ok(&wire::wait(&outcome)))
}

pub async fn iterations(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let (group, list) = c
        .app
        .iterations(
            &a.user_id,
            Some(q.get("channel").unwrap_or_default().as_str()),
            &id,
        )
        .await?;
    Ok(ok(&wire::chain(group, &list, false)))
}

// ---- streaming ----

pub async fn patch_stream(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateStream>,
) -> Result<Response, ApiError> {
    let m = c
        .app
        .update_stream(
            &a,
            &stream_id,
            b.channel_id,
            b.text,
            b.complete,
            b.stream_state,
        )
        .await?;
    Ok(ok(&wire::message(&m, None)))
}

pub async fn stream_status(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::StreamStatus>,
) -> Result<Response, ApiError> {
    let step = c
        .app
        .stream_status(&a, &stream_id, b.channel_id, b.text, b.tool_hint)
        .await?;
    Ok(created(&wire::step(&step)))
}

pub async fn stream_delta(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(stream_id): Path<String>,
    JsonBody(b): JsonBody<p::StreamDelta>,
) -> Result<Response, ApiError> {
    let input = crate::app::streams::DeltaInput {
        channel_id: b.channel_id,
        stream_id: Some(stream_id),
        delta: b.delta,
        end: b.stream_end,
    };
    c.app.stream_delta(&a, input).await?;
    Ok(ok(&json!({"ok": true})))
}

pub async fn thread_event(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(thread_id): Path<String>,
    JsonBody(b): JsonBody<serde_json::Value>,
) -> Result<Response, ApiError> {
    let seq = c.app.report_thread_event(&a, &thread_id, b).await?;
    Ok(created(&json!({"ok": true, "seq": seq})))
}

// ---- webhooks ----

pub async fn set_webhook(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::SetWebhook>,
) -> Result<Response, ApiError> {
    // Set, not null or false: refused rather than silently ignored.
    let set = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .is_some_and(|v| !v.is_null() && v != &serde_json::Value::Bool(false))
    };
    let unsupported = [
        ("management", set(&b.management)),
        ("isSubagent", set(&b.is_subagent)),
        ("parentChannelId", set(&b.parent_channel_id)),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let input = crate::app::SetWebhookInput {
        channel_id: b.channel_id,
        url: b.url,
        headers: b.headers,
        auth: b.auth,
        unsupported,
    };
    let (agent, secret) = c.app.set_webhook(&a.user_id, input).await?;
    Ok(ok(&wire::agent_with_secret(&agent, secret)))
}

pub async fn delete_webhook(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::DeleteWebhook>,
) -> Result<Response, ApiError> {
    let agent = c.app.delete_webhook(&a.user_id, b.channel_id).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub async fn rotate_webhook_secret(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let secret = c.app.rotate_webhook_secret(&a.user_id, &id).await?;
    Ok(ok(&json!({ "webhookSecret": secret })))
}

pub async fn agent_deliveries(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let list = c
        .app
        .agent_deliveries(
            &a.user_id,
            &id,
            q.get("state").as_deref(),
            q.get("limit").as_deref(),
        )
        .await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub async fn message_deliveries(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let list = c
        .app
        .message_deliveries(&a.user_id, Some(&required(&q, "channel")?), &id)
        .await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub async fn retry_delivery(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    c.app
        .retry_delivery(&a.user_id, Some(&required(&q, "channel")?), &id)
        .await?;
    Ok(ok(&json!({ "retried": true })))
}

/// A query parameter the agent API requires (`channel`), as a 400 naming it when absent.
fn required(q: &Q, name: &'static str) -> Result<String, ApiError> {
    match q.get(name) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(
            crate::app::AppError::from(assent_core::ValidationError::single(name, "is required"))
                .into(),
        ),
    }
}
