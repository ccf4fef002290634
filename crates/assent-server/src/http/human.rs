//! The human API (`/api`, session cookie or bearer): auth, users, keys, agents, messages.

use super::extract::{AnySession, ClientIp, Human, JsonBody, Q, session_token};
use super::v1::{agent_input, agent_update, list_input};
use super::{Ctx, created, ok};
use crate::app::UserMessageInput;
use crate::error::ApiError;
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::json;

fn with_cookie(mut r: Response, c: &Ctx, token: &str, max_age: i64) -> Response {
    let secure = if c.secure_cookies { "; Secure" } else { "" };
    let v =
        format!("access_token={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}");
    if let Ok(h) = HeaderValue::from_str(&v) {
        r.headers_mut().append(SET_COOKIE, h);
    }
    r
}

fn session_response(c: &Ctx, g: crate::app::SessionGrant) -> Response {
    let body = p::LoginResponse {
        user: wire::user(&g.user),
        token: g.token.clone(),
        expires_at: g.expires_at.to_iso(),
    };
    let max_age = (g.expires_at.0 - c.app.now().0) / 1000;
    with_cookie(ok(&body), c, &g.token, max_age)
}

pub async fn login(
    State(c): State<Ctx>,
    client: ClientIp,
    JsonBody(b): JsonBody<p::Login>,
) -> Result<Response, ApiError> {
    let grant = c.app.login(b.email, b.password, client.0).await?;
    Ok(session_response(&c, grant))
}

pub async fn me(s: AnySession) -> Result<Response, ApiError> {
    Ok(ok(&json!({"user": wire::user(&s.user)})))
}

pub async fn refresh(State(c): State<Ctx>, s: AnySession) -> Result<Response, ApiError> {
    let grant = c.app.refresh(&s.session_id, s.user).await?;
    Ok(session_response(&c, grant))
}

/// Revokes the session if there is one; always clears the cookie.
pub async fn logout(State(c): State<Ctx>, parts: Parts) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&parts)
        && let Some((sid, _)) = c.app.session(&token).await?
    {
        c.app.logout(&sid).await?;
    }
    Ok(with_cookie(
        ok(&json!({"message": "Logged out"})),
        &c,
        "",
        0,
    ))
}

pub async fn change_password(
    State(c): State<Ctx>,
    s: AnySession,
    JsonBody(b): JsonBody<p::ChangePassword>,
) -> Result<Response, ApiError> {
    c.app
        .change_password(&s.user, &s.session_id, b.current_password, b.new_password)
        .await?;
    Ok(ok(&json!({"message": "Password changed successfully"})))
}

pub async fn ws_ticket(State(c): State<Ctx>, Human(s): Human) -> Result<Response, ApiError> {
    let (ticket, expires_at) = c.app.issue_ticket(&s.principal()).await?;
    Ok(ok(&p::TicketResponse {
        ticket,
        expires_at: expires_at.to_iso(),
    }))
}

// ---- users ----

pub async fn list_users(State(c): State<Ctx>, Human(s): Human) -> Result<Response, ApiError> {
    let users = c.app.list_users(&s.user).await?;
    Ok(ok(&users.iter().map(wire::user).collect::<Vec<_>>()))
}

pub async fn create_user(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateUser>,
) -> Result<Response, ApiError> {
    let u = c
        .app
        .create_user(&s.user, b.email, b.display_name, b.password, b.role)
        .await?;
    Ok(created(&wire::user(&u)))
}

pub async fn update_user(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateUser>,
) -> Result<Response, ApiError> {
    let u = c
        .app
        .update_user(&s.user, &id, b.display_name, b.role)
        .await?;
    Ok(ok(&wire::user(&u)))
}

pub async fn delete_user(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.delete_user(&s.user, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

// ---- API keys ----

pub async fn list_keys(State(c): State<Ctx>, Human(s): Human) -> Result<Response, ApiError> {
    let keys = c.app.list_api_keys(&s.user.id).await?;
    Ok(ok(&keys
        .iter()
        .map(|k| wire::api_key(k, None))
        .collect::<Vec<_>>()))
}

pub async fn create_key(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateApiKey>,
) -> Result<Response, ApiError> {
    let (k, raw) = c.app.create_api_key(&s.user.id, b.label).await?;
    Ok(created(&wire::api_key(&k, Some(raw))))
}

pub async fn delete_key(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.delete_api_key(&s.user.id, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

pub async fn rotate_key(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (k, raw) = c.app.rotate_api_key(&s.user.id, &id).await?;
    Ok(ok(&wire::api_key(&k, Some(raw))))
}

// ---- agents ----

pub async fn list_agents(State(c): State<Ctx>, Human(s): Human) -> Result<Response, ApiError> {
    let list = c.app.list_agent_summaries(&s.user.id).await?;
    Ok(ok(&list
        .iter()
        .map(wire::agent_summary)
        .collect::<Vec<_>>()))
}

pub async fn get_agent(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let a = c.app.get_agent(&s.user.id, &id).await?;
    Ok(ok(&wire::agent(&a)))
}

pub async fn create_agent(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateAgent>,
) -> Result<Response, ApiError> {
    let (a, secret) = c.app.create_agent(&s.user.id, agent_input(b)).await?;
    Ok(created(&wire::agent_with_secret(&a, secret)))
}

pub async fn update_agent(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::UpdateAgent>,
) -> Result<Response, ApiError> {
    let (a, secret) = c.app.update_agent(&s.user.id, &id, agent_update(b)).await?;
    Ok(ok(&wire::agent_with_secret(&a, secret)))
}

pub async fn delete_agent(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.delete_agent(&s.user.id, &id).await?;
    Ok(ok(&json!({"deleted": true})))
}

pub async fn set_tag(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::SetTag>,
) -> Result<Response, ApiError> {
    let a = c.app.set_tag(&s.user.id, b.channel_id, b.tag).await?;
    Ok(ok(&wire::agent(&a)))
}

pub async fn set_commands(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::SetCommands>,
) -> Result<Response, ApiError> {
    let a = c.app.set_commands(&s.user.id, &id, b.commands).await?;
    Ok(ok(&wire::agent(&a)))
}

pub async fn mark_read(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.mark_read(&s.user.id, &id).await?;
    Ok(created(&json!({"read": true})))
}

// ---- messages ----

pub async fn post_message(
    State(c): State<Ctx>,
    Human(s): Human,
    JsonBody(b): JsonBody<p::CreateUserMessage>,
) -> Result<Response, ApiError> {
    let input = UserMessageInput {
        channel_id: b.channel_id,
        text: b.text,
        attachment_ids: b.attachment_ids,
        client_id: b.client_id,
    };
    let (m, fresh) = c.app.post_user_message(&s.user.id, input).await?;
    let body = wire::message_redacted(&m, None);
    Ok(if fresh { created(&body) } else { ok(&body) })
}

pub async fn list_messages(
    State(c): State<Ctx>,
    Human(s): Human,
    q: Q,
) -> Result<Response, ApiError> {
    let page = c.app.list_messages(&s.user.id, list_input(&q)).await?;
    let steps = c.app.status_steps_of(&page).await?;
    Ok(ok(&wire::page_with_steps(&page, &steps)))
}

pub async fn get_message(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let m = c.app.get_message(&s.user.id, None, &id).await?;
    Ok(ok(&wire::message_redacted(&m, None)))
}

// ---- reviews ----

pub async fn respond(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::RespondReview>,
) -> Result<Response, ApiError> {
    let m = c
        .app
        .respond(&s.user.id, &id, b.response, b.feedback, b.modified_file_ids)
        .await?;
    Ok(created(&wire::message_redacted(&m, None)))
}

pub async fn list_reviews(
    State(c): State<Ctx>,
    Human(s): Human,
    q: Q,
) -> Result<Response, ApiError> {
    let page = c
        .app
        .list_reviews(
            &s.user.id,
            q.get("status").as_deref(),
            q.get("channel").as_deref(),
            super::v1::review_page(&q),
        )
        .await?;
    let body: Vec<_> = page
        .data
        .iter()
        .map(|m| wire::message_redacted(m, None))
        .collect();
    Ok(super::v1::paged_array(&body, page.next_cursor))
}

pub async fn iterations(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (group, list) = c.app.iterations(&s.user.id, None, &id).await?;
    Ok(ok(&wire::chain(group, &list, true)))
}

// ---- webhooks ----

pub async fn rotate_webhook_secret(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let secret = c.app.rotate_webhook_secret(&s.user.id, &id).await?;
    Ok(ok(&json!({ "webhookSecret": secret })))
}

pub async fn agent_deliveries(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    q: Q,
) -> Result<Response, ApiError> {
    let list = c
        .app
        .agent_deliveries(
            &s.user.id,
            &id,
            q.get("state").as_deref(),
            q.get("limit").as_deref(),
        )
        .await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub async fn message_deliveries(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = c.app.message_deliveries(&s.user.id, None, &id).await?;
    Ok(ok(&wire::deliveries(&list)))
}

pub async fn retry_delivery(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    c.app.retry_delivery(&s.user.id, None, &id).await?;
    Ok(ok(&json!({ "retried": true })))
}
