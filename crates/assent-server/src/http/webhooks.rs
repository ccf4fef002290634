//! An agent's webhook: Placet's setWebhook/deleteWebhook, the signing secret, deliveries
//! and manual retry.

use super::extract::{AgentAuth, Caller, JsonBody, Q};
use super::{Ctx, Reply, ok};
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub(super) async fn set(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::SetWebhook>,
) -> Reply {
    // Set, not null or false: refused rather than silently ignored.
    let set = |v: &Option<Value>| {
        v.as_ref()
            .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
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

pub(super) async fn delete(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    JsonBody(b): JsonBody<p::DeleteWebhook>,
) -> Reply {
    let agent = c.app.delete_webhook(&a.user_id, b.channel_id).await?;
    Ok(ok(&wire::agent(&agent)))
}

pub(super) async fn rotate_secret(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
) -> Reply {
    let secret = c.app.rotate_webhook_secret(who.user(), &id).await?;
    Ok(ok(&json!({ "webhookSecret": secret })))
}

/// `?state=&limit=`.
pub(super) async fn agent_deliveries(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let (state, limit) = (q.get("state"), q.get("limit"));
    let list = c
        .app
        .agent_deliveries(who.user(), &id, state.as_deref(), limit.as_deref())
        .await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub(super) async fn message_deliveries(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = who.required_channel(&q)?;
    let list = c
        .app
        .message_deliveries(who.user(), channel.as_deref(), &id)
        .await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub(super) async fn retry(
    State(c): State<Ctx>,
    who: Caller,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = who.required_channel(&q)?;
    c.app
        .retry_delivery(who.user(), channel.as_deref(), &id)
        .await?;
    Ok(ok(&json!({ "retried": true })))
}
