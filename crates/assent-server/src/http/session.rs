//! Sessions: log in and out, refresh, change password, who am I, and socket tickets.

use super::extract::{AnySession, Caller, ClientIp, JsonBody, session_token};
use super::{Ctx, Reply, ok};
use crate::wire;
use assent_proto as p;
use axum::extract::State;
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

pub(super) async fn login(
    State(c): State<Ctx>,
    client: ClientIp,
    JsonBody(b): JsonBody<p::Login>,
) -> Reply {
    let grant = c.app.login(b.email, b.password, client.0).await?;
    Ok(session_response(&c, grant))
}

pub(super) async fn me(s: AnySession) -> Reply {
    Ok(ok(&json!({"user": wire::user(&s.user)})))
}

pub(super) async fn refresh(State(c): State<Ctx>, s: AnySession) -> Reply {
    let grant = c.app.refresh(&s.session_id, s.user).await?;
    Ok(session_response(&c, grant))
}

/// Revokes the session if there is one; always clears the cookie.
pub(super) async fn logout(State(c): State<Ctx>, parts: Parts) -> Reply {
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

pub(super) async fn change_password(
    State(c): State<Ctx>,
    s: AnySession,
    JsonBody(b): JsonBody<p::ChangePassword>,
) -> Reply {
    c.app
        .change_password(&s.user, &s.session_id, b.current_password, b.new_password)
        .await?;
    Ok(ok(&json!({"message": "Password changed successfully"})))
}

/// A single-use 30 s ticket for sockets, for an agent key or a session.
pub(super) async fn ws_ticket(State(c): State<Ctx>, who: Caller) -> Reply {
    let (ticket, expires_at) = c.app.issue_ticket(&who.principal).await?;
    Ok(ok(&p::TicketResponse {
        ticket,
        expires_at: expires_at.to_iso(),
    }))
}
