//! The webhook outbox.
//!
//! A delivery row is written by the writer in the same transaction as the event that causes
//! it (a human's message, a review answered or expired), so an event that committed always has
//! its delivery and a rolled-back one never does. The row id is the Standard Webhooks
//! `webhook-id`, the same for every attempt. The body is rendered once, here, by the server's
//! renderer (this crate never renders wire payloads), so every attempt signs the same bytes.

use crate::db::{self, Conn};
use crate::events::CommittedEvent;
use crate::writer::{BeforeCommit, BoxFut};
use crate::{StoreError, rows};
use assent_core::model::WebhookTarget;
use assent_core::review::Review;
use assent_core::{ChannelId, LoggedEvent, RouteSource, WebhookCause, new_id};
use serde_json::Value;
use std::sync::Arc;

/// Renders the body of an event's webhook; `None` when the event has none.
pub type RenderWebhook = Arc<dyn Fn(&LoggedEvent) -> Option<String> + Send + Sync>;

/// What the writer needs to fill the outbox.
#[derive(Clone)]
pub struct OutboxSettings {
    pub render: RenderWebhook,
    /// Attempts a delivery gets (the length of the retry schedule).
    pub max_attempts: i64,
}

impl std::fmt::Debug for OutboxSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSettings")
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// The before-commit step after the log: the webhook deliveries of a batch's events, which
/// commit with them or not at all.
impl BeforeCommit for OutboxSettings {
    fn run<'c>(
        &'c self,
        conn: &'c mut Conn,
        events: &'c [CommittedEvent],
    ) -> BoxFut<'c, Result<(), StoreError>> {
        Box::pin(enqueue(conn, events, self))
    }
}

/// Where a delivery goes: target, URL, method and the callback's extra headers.
struct Route {
    target: WebhookTarget,
    url: String,
    method: String,
    extra_headers: Option<Value>,
}

/// Writes the outbox rows of a batch's events (inside the batch's transaction, before commit).
async fn enqueue(
    conn: &mut Conn,
    list: &[CommittedEvent],
    settings: &OutboxSettings,
) -> Result<(), StoreError> {
    for ce in list {
        let e = &ce.event;
        let Some(cause) = e.event.effects().webhook else {
            continue;
        };
        let (message_url, callback) = message_routes(conn, &cause).await?;
        let Some(route) = resolve(conn, &e.channel_id, message_url, callback).await? else {
            continue;
        };
        let Some(body) = (settings.render)(e) else {
            continue;
        };
        insert(conn, e, &cause, route, body, settings.max_attempts).await?;
    }
    Ok(())
}

/// The message's own routes: its `metadata.webhookUrl` and its review's legacy callback.
async fn message_routes(
    conn: &mut Conn,
    cause: &WebhookCause<'_>,
) -> Result<(Option<String>, Option<Value>), StoreError> {
    Ok(match cause.routes {
        RouteSource::AgentOnly => (None, None),
        RouteSource::Message(m) => review_routes(m.metadata.as_ref(), m.review.as_ref()),
        RouteSource::Stored => {
            let row = db::query("SELECT metadata, review FROM messages WHERE id = $1")
                .bind(cause.message_id.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            match &row {
                Some(r) => {
                    let review: Option<Review> = r.get("review")?;
                    review_routes(
                        r.get::<Option<Value>>("metadata")?.as_ref(),
                        review.as_ref(),
                    )
                }
                None => (None, None),
            }
        }
    })
}

fn review_routes(
    metadata: Option<&Value>,
    review: Option<&Review>,
) -> (Option<String>, Option<Value>) {
    let message_url = metadata
        .and_then(|m| m.get("webhookUrl"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let callback = review.and_then(|r| r.callback.clone()).map(Value::Object);
    (message_url, callback)
}

/// Placet's resolution: the message's own URL, then the agent's, then the review's legacy
/// callback (user messages have neither of their own: the agent's URL only).
async fn resolve(
    conn: &mut Conn,
    channel: &ChannelId,
    message_url: Option<String>,
    callback: Option<Value>,
) -> Result<Option<Route>, StoreError> {
    let post = |target, url| Route {
        target,
        url,
        method: "POST".into(),
        extra_headers: None,
    };
    if let Some(url) = message_url {
        return Ok(Some(post(WebhookTarget::Message, url)));
    }
    let agent_url: Option<String> =
        db::query_scalar("SELECT webhook_url FROM channels WHERE id = $1")
            .bind(channel.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    if let Some(url) = agent_url {
        return Ok(Some(post(WebhookTarget::Agent, url)));
    }
    let Some(cb) = callback else { return Ok(None) };
    let Some(url) = cb.get("url").and_then(Value::as_str) else {
        return Ok(None);
    };
    let method = cb.get("method").and_then(Value::as_str).unwrap_or("POST");
    Ok(Some(Route {
        target: WebhookTarget::Callback,
        url: url.to_owned(),
        method: method.to_ascii_uppercase(),
        extra_headers: cb.get("headers").filter(|h| h.is_object()).cloned(),
    }))
}

async fn insert(
    conn: &mut Conn,
    e: &LoggedEvent,
    cause: &WebhookCause<'_>,
    route: Route,
    body: String,
    max_attempts: i64,
) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO webhook_deliveries (id, channel_id, message_id, event, seq, target, url, \
         method, extra_headers, body, tracks_status, state, attempts, max_attempts, \
         next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $12, $13, $13, $13)",
    )
    .bind(format!("msg_{}", new_id(e.at.0)))
    .bind(e.channel_id.as_str())
    .bind(cause.message_id.as_str())
    .bind(e.event.name())
    .bind(e.seq)
    .bind(route.target.as_str())
    .bind(route.url)
    .bind(route.method)
    .bind(rows::json_text(&route.extra_headers))
    .bind(body)
    .bind(cause.tracks_status as i64)
    .bind(max_attempts.max(1))
    .bind(e.at.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
