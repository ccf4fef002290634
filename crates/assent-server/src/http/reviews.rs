//! Reviews: the agent's pending list, single read and long-poll; the human's answer and
//! listing across agents.

use super::extract::{AgentAuth, Human, JsonBody, Q};
use super::{Ctx, Reply, created, ok};
use crate::app::{RespondInput, ReviewPage};
use crate::wire;
use assent_proto as p;
use axum::extract::{Path, State};
use axum::response::Response;

impl From<p::RespondReview> for RespondInput {
    fn from(b: p::RespondReview) -> Self {
        RespondInput {
            response: b.response,
            feedback: b.feedback,
            modified_file_ids: b.modified_file_ids,
            request_changes: b.request_changes,
        }
    }
}

impl From<&Q> for ReviewPage {
    fn from(q: &Q) -> Self {
        ReviewPage {
            limit: q.get("limit"),
            cursor: q.get("cursor"),
        }
    }
}

/// A listing that stays a bare JSON array (Placet's shape) and says where the next page
/// starts in `X-Next-Cursor` (absent on the last page).
fn paged_array<T: serde::Serialize>(items: &[T], next: Option<String>) -> Response {
    let mut res = ok(&items);
    if let Some(v) = next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert("x-next-cursor", v);
    }
    res
}

pub(super) async fn pending(State(c): State<Ctx>, AgentAuth(a): AgentAuth, q: Q) -> Reply {
    let channel = q.get("channel");
    let page = c
        .app
        .pending_reviews(&a.user_id, channel.as_deref(), (&q).into())
        .await?;
    let body: Vec<_> = page.data.iter().map(|m| wire::message(m, None)).collect();
    Ok(paged_array(&body, page.next_cursor))
}

pub(super) async fn get(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let channel = q.get("channel");
    let m = c
        .app
        .get_review(&a.user_id, channel.as_deref(), &id)
        .await?;
    Ok(ok(&wire::message(&m, None)))
}

/// The long-poll: answers within milliseconds of the human's click, or at `timeout`.
pub(super) async fn wait(
    State(c): State<Ctx>,
    AgentAuth(a): AgentAuth,
    Path(id): Path<String>,
    q: Q,
) -> Reply {
    let timeout = c.app.wait_timeout(q.get("timeout").as_deref());
    let channel = q.get("channel");
    let outcome = c
        .app
        .wait_review(&a.user_id, channel.as_deref(), &id, timeout)
        .await?;
    Ok(ok(&wire::wait(&outcome)))
}

pub(super) async fn respond(
    State(c): State<Ctx>,
    Human(s): Human,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<p::RespondReview>,
) -> Reply {
    let m = c.app.respond(&s.user.id, &id, b.into()).await?;
    Ok(created(&wire::message_redacted(&m, None)))
}

/// `?status=pending|completed|expired|all&channel=&limit=&cursor=`.
pub(super) async fn list(State(c): State<Ctx>, Human(s): Human, q: Q) -> Reply {
    let (status, channel) = (q.get("status"), q.get("channel"));
    let page = c
        .app
        .list_reviews(
            &s.user.id,
            status.as_deref(),
            channel.as_deref(),
            (&q).into(),
        )
        .await?;
    let body: Vec<_> = page
        .data
        .iter()
        .map(|m| wire::message_redacted(m, None))
        .collect();
    Ok(paged_array(&body, page.next_cursor))
}
