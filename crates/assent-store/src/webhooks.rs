//! Webhook deliveries: claims, attempts, listings, manual retry and the signing secret.
//! (`outbox.rs` writes the rows.)
//!
//! Workers claim due rows under a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite): a worker that dies
//! mid-delivery only delays it until the lease runs out. The row id is the Standard Webhooks
//! `webhook-id`, the same for every attempt. The body is rendered once, at enqueue, by the
//! server's renderer (this crate never renders wire payloads), so every attempt signs the
//! same bytes.

use crate::db::{self, Conn, Row};
use crate::rows::FromRow;
use crate::{Backend, Rejection, Store, StoreError, rows};
use assent_core::model::{DeliveryStatus, WebhookAuth, WebhookState, WebhookTarget};
use assent_core::{ChannelId, MessageId, Millis};
use serde_json::Value;

/// One delivery as listed to humans and agents.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    pub id: String,
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub event: String,
    pub seq: i64,
    pub target: WebhookTarget,
    pub url: String,
    pub state: WebhookState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub next_attempt_at: Option<Millis>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub attempt_log: Vec<WebhookAttempt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookAttempt {
    pub attempt: i64,
    pub started_at: Millis,
    pub duration_ms: i64,
    /// `None` when no response came (timeout, connection error, refused by the guard).
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

/// The agent's endpoint configuration, read when a delivery is claimed (so a fixed URL or
/// new credentials apply to retries already scheduled).
#[derive(Clone, Debug, PartialEq)]
pub struct AgentEndpoint {
    pub url: Option<String>,
    pub headers: Option<Value>,
    pub auth: Option<WebhookAuth>,
    pub secret: Option<String>,
    pub disabled_reason: Option<String>,
}

/// A delivery a worker holds the lease of, with everything needed to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedDelivery {
    pub id: String,
    pub channel_id: ChannelId,
    pub message_id: MessageId,
    pub event: String,
    pub target: WebhookTarget,
    /// The URL for `message` and `callback` targets (for `agent`, see `agent.url`).
    pub url: String,
    pub method: String,
    /// A callback's own headers.
    pub extra_headers: Option<Value>,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub max_attempts: i64,
    pub agent: AgentEndpoint,
}

/// What an attempt did, as measured by the worker.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptRecord {
    pub started_at: Millis,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    /// The URL the attempt went to.
    pub url: String,
}

/// What happens to the delivery after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    Retry {
        at: Millis,
    },
    Failed,
    /// Failed, and the agent's endpoint is disabled (it answered 410 Gone).
    FailedAndDisable {
        reason: String,
    },
}

/// Appends one attempt to a delivery's attempt log.
async fn log_attempt(
    conn: &mut Conn,
    id: &str,
    attempt: i64,
    rec: &AttemptRecord,
) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(attempt)
    .bind(rec.started_at.0)
    .bind(rec.duration_ms)
    .bind(rec.status_code)
    .bind(&rec.error)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Most deliveries one claim takes (keeps the `IN` list far below parameter limits).
const MAX_CLAIM: i64 = 500;

const DELIVERY_COLS: &str = "id, channel_id, message_id, event, seq, target, url, state, attempts, \
    max_attempts, next_attempt_at, last_status, last_error, created_at, updated_at";

impl FromRow for WebhookDelivery {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        let state = row.get("state")?;
        Ok(WebhookDelivery {
            id: row.get("id")?,
            channel_id: row.get("channel_id")?,
            message_id: row.get("message_id")?,
            event: row.get("event")?,
            seq: row.get("seq")?,
            target: row.get("target")?,
            url: row.get("url")?,
            state,
            attempts: row.get("attempts")?,
            max_attempts: row.get("max_attempts")?,
            next_attempt_at: (state == WebhookState::Pending)
                .then(|| row.get::<Millis>("next_attempt_at"))
                .transpose()?,
            last_status: row.get("last_status")?,
            last_error: row.get("last_error")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            attempt_log: Vec::new(),
        })
    }
}

impl Store {
    /// Claims up to `limit` due deliveries for `owner` until `lease_until`. Deliveries whose
    /// lease ran out (their worker died) are due again.
    pub async fn claim_webhooks(
        &self,
        now: Millis,
        lease_until: Millis,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let owner = owner.to_owned();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let claim = format!(
            "UPDATE webhook_deliveries SET lease_until = $1, lease_owner = $2 WHERE id IN (\
               SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $3 \
               AND (lease_until IS NULL OR lease_until <= $3) ORDER BY next_attempt_at LIMIT $4{lock}) \
             RETURNING id"
        );
        self.write("", async move |conn, _| {
                    let ids: Vec<String> = db::query_scalar(&claim)
                        .bind(lease_until.0)
                        .bind(&owner)
                        .bind(now.0)
                        .bind(limit.min(MAX_CLAIM))
                        .fetch_all(&mut *conn)
                        .await?;
                    if ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let sql = format!(
                        "SELECT d.id, d.channel_id, d.message_id, d.event, d.target, d.url, d.method, \
                         d.extra_headers, d.body, d.attempts, d.max_attempts, c.webhook_url AS agent_url, \
                         c.webhook_headers, c.webhook_auth, c.webhook_secret, c.webhook_disabled_reason \
                         FROM webhook_deliveries d JOIN channels c ON c.id = d.channel_id WHERE d.id IN ({})",
                        rows::in_list(ids.len())
                    );
                    let mut q = db::query(&sql);
                    for id in &ids {
                        q = q.bind(id.as_str());
                    }
                    let mut out = Vec::with_capacity(ids.len());
                    for row in q.fetch_all(&mut *conn).await? {
                        out.push(ClaimedDelivery {
                            id: row.get("id")?,
                            channel_id: row.get("channel_id")?,
                            message_id: row.get("message_id")?,
                            event: row.get("event")?,
                            target: row.get("target")?,
                            url: row.get("url")?,
                            method: row.get("method")?,
                            extra_headers: row.get("extra_headers")?,
                            body: row.get("body")?,
                            attempts: row.get("attempts")?,
                            max_attempts: row.get("max_attempts")?,
                            agent: AgentEndpoint {
                                url: row.get("agent_url")?,
                                headers: row.get("webhook_headers")?,
                                auth: row.get("webhook_auth")?,
                                secret: row.get("webhook_secret")?,
                                disabled_reason: row.get("webhook_disabled_reason")?,
                            },
                        });
                    }
                    Ok(out)
            })
            .await
    }

    /// Records an attempt and its outcome for a delivery `owner` holds the lease of. When
    /// the delivery settles and it tracks its message's `deliveryStatus`, the status moves
    /// (never back from `agent_received`) and `message:delivery` is logged. `Conflict` when
    /// the lease was lost (another worker took the delivery over).
    pub async fn record_webhook_attempt(
        &self,
        d: &ClaimedDelivery,
        owner: &str,
        rec: AttemptRecord,
        outcome: AttemptOutcome,
        now: Millis,
    ) -> Result<(), StoreError> {
        let id = d.id.clone();
        let channel = d.channel_id.clone();
        let message_id = d.message_id.clone();
        let owner = owner.to_owned();
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
                    let (state, next) = match &outcome {
                        AttemptOutcome::Delivered => (WebhookState::Delivered, now),
                        AttemptOutcome::Retry { at } => (WebhookState::Pending, *at),
                        AttemptOutcome::Failed | AttemptOutcome::FailedAndDisable { .. } => {
                            (WebhookState::Failed, now)
                        }
                    };
                    let row = db::query(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $3, \
                         next_attempt_at = $4, lease_until = NULL, lease_owner = NULL, url = $5, \
                         last_status = $6, last_error = $7, updated_at = $8 \
                         WHERE id = $1 AND lease_owner = $2 AND state = 'pending' \
                         RETURNING attempts, tracks_status",
                    )
                    .bind(&id)
                    .bind(&owner)
                    .bind(state.as_str())
                    .bind(next.0)
                    .bind(&rec.url)
                    .bind(rec.status_code)
                    .bind(&rec.error)
                    .bind(now.0)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::Conflict("the delivery's lease was lost"))?;
                    let attempt = row.get::<i64>("attempts")?;
                    let tracks = row.get::<bool>("tracks_status")?;
                    log_attempt(conn, &id, attempt, &rec).await?;
                    if let AttemptOutcome::FailedAndDisable { reason } = &outcome {
                        db::query(
                            "UPDATE channels SET webhook_disabled_at = $2, webhook_disabled_reason = $3 WHERE id = $1",
                        )
                        .bind(channel.as_str())
                        .bind(now.0)
                        .bind(reason)
                        .execute(&mut *conn)
                        .await?;
                    }
                    let status = match state {
                        WebhookState::Delivered => DeliveryStatus::WebhookDelivered,
                        WebhookState::Failed => DeliveryStatus::WebhookFailed,
                        WebhookState::Pending => return Ok(()),
                    };
                    if tracks {
                        crate::messages::move_delivery_status(
                            conn,
                            events,
                            &channel,
                            &message_id,
                            status,
                            now,
                        )
                        .await?;
                    }
                    Ok(())
            })
            .await
    }

    /// When the next pending delivery can be claimed: its `next_attempt_at`, or the end of
    /// its lease while a worker holds it (the worker sleeps until then).
    pub async fn next_webhook_due(&self) -> Result<Option<Millis>, StoreError> {
        let v: Option<i64> = db::query_scalar(
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at \
             THEN lease_until ELSE next_attempt_at END) FROM webhook_deliveries WHERE state = 'pending'",
        )
        .fetch_one(&mut self.read().await?)
        .await?;
        Ok(v.map(Millis))
    }

    /// A message's deliveries, newest first, with their attempts.
    pub async fn webhook_deliveries_of_message(
        &self,
        message_id: &MessageId,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = db::query(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE message_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(message_id.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        self.with_attempts(
            rows.iter()
                .map(WebhookDelivery::from_row)
                .collect::<Result<_, _>>()?,
        )
        .await
    }

    /// A channel's deliveries, newest first, optionally in one state, with their attempts.
    pub async fn webhook_deliveries_of_channel(
        &self,
        channel: &ChannelId,
        state: Option<WebhookState>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let filter = if state.is_some() {
            "AND state = $3"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE channel_id = $1 {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let mut q = db::query(&sql).bind(channel.as_str()).bind(limit);
        if let Some(s) = state {
            q = q.bind(s.as_str());
        }
        let rows = q.fetch_all(&mut self.read().await?).await?;
        self.with_attempts(
            rows.iter()
                .map(WebhookDelivery::from_row)
                .collect::<Result<_, _>>()?,
        )
        .await
    }

    async fn with_attempts(
        &self,
        mut list: Vec<WebhookDelivery>,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        if list.is_empty() {
            return Ok(list);
        }
        let sql = format!(
            "SELECT delivery_id, attempt, started_at, duration_ms, status_code, error FROM webhook_attempts \
             WHERE delivery_id IN ({}) ORDER BY attempt",
            rows::in_list(list.len())
        );
        let mut q = db::query(&sql);
        for d in &list {
            q = q.bind(d.id.as_str());
        }
        let rows = q.fetch_all(&mut self.read().await?).await?;
        for row in &rows {
            let id = row.get::<String>("delivery_id")?;
            if let Some(d) = list.iter_mut().find(|d| d.id == id) {
                d.attempt_log.push(WebhookAttempt {
                    attempt: row.get("attempt")?,
                    started_at: row.get("started_at")?,
                    duration_ms: row.get("duration_ms")?,
                    status_code: row.get("status_code")?,
                    error: row.get("error")?,
                });
            }
        }
        Ok(list)
    }

    /// A manual retry of a message's newest delivery: one more attempt, now, with the same
    /// `webhook-id`. An agent-target delivery is pointed at the agent's current URL and a
    /// disabled endpoint is re-enabled (a human asked for it). `Rejected(NoWebhook)` when
    /// the message has no delivery or the agent no longer has a URL.
    pub async fn retry_webhook(
        &self,
        channel: &ChannelId,
        message_id: &MessageId,
        now: Millis,
    ) -> Result<(), StoreError> {
        let channel = channel.clone();
        let message_id = message_id.clone();
        let key = channel.to_string();
        self.write(&key, async move |conn, _| {
                    const NONE: StoreError = StoreError::Rejected(Rejection::NoWebhook);
                    let row = db::query(
                        "SELECT d.id, d.target, d.state, c.webhook_url FROM webhook_deliveries d \
                         JOIN channels c ON c.id = d.channel_id \
                         WHERE d.message_id = $1 AND d.channel_id = $2 \
                         ORDER BY d.tracks_status DESC, d.created_at DESC, d.id DESC LIMIT 1",
                    )
                    .bind(message_id.as_str())
                    .bind(channel.as_str())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(NONE)?;
                    let id = row.get::<String>("id")?;
                    let target = row.get("target")?;
                    let agent_url = row.get::<Option<String>>("webhook_url")?;
                    let url = match target {
                        WebhookTarget::Agent => Some(agent_url.ok_or(NONE)?),
                        _ => None,
                    };
                    db::query(
                        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, \
                         max_attempts = CASE WHEN state = 'pending' THEN max_attempts ELSE attempts + 1 END, \
                         url = COALESCE($3, url), lease_until = NULL, lease_owner = NULL, updated_at = $2 \
                         WHERE id = $1",
                    )
                    .bind(&id)
                    .bind(now.0)
                    .bind(url)
                    .execute(&mut *conn)
                    .await?;
                    if target == WebhookTarget::Agent {
                        db::query(
                            "UPDATE channels SET webhook_disabled_at = NULL, webhook_disabled_reason = NULL WHERE id = $1",
                        )
                        .bind(channel.as_str())
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
            })
            .await
    }

    /// The agent's signing secret the first time a webhook URL is set: stores `candidate`
    /// unless a secret exists, marks it shown and returns it; `None` once it has been shown.
    pub async fn reveal_webhook_secret_once(
        &self,
        channel: &ChannelId,
        candidate: String,
    ) -> Result<Option<String>, StoreError> {
        let channel = channel.clone();
        let key = channel.to_string();
        self.write(&key, async move |conn, _| {
            let v: Option<String> = db::query_scalar(
                "UPDATE channels SET webhook_secret = COALESCE(webhook_secret, $2), \
                         webhook_secret_shown = 1 WHERE id = $1 AND webhook_secret_shown = 0 \
                         RETURNING webhook_secret",
            )
            .bind(channel.as_str())
            .bind(candidate)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            Ok(v)
        })
        .await
    }

    /// Replaces the agent's signing secret (and marks it shown).
    pub async fn set_webhook_secret(
        &self,
        channel: &ChannelId,
        secret: String,
    ) -> Result<(), StoreError> {
        let channel = channel.clone();
        let key = channel.to_string();
        self.write(&key, async move |conn, _| {
            let r = db::query(
                "UPDATE channels SET webhook_secret = $2, webhook_secret_shown = 1 WHERE id = $1",
            )
            .bind(channel.as_str())
            .bind(secret)
            .execute(&mut *conn)
            .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    /// The agent's signing secret, creating it from `candidate` when it has none yet (a
    /// delivery to a per-message URL may come before any URL was set on the agent).
    pub async fn ensure_webhook_secret(
        &self,
        channel: &ChannelId,
        candidate: String,
    ) -> Result<String, StoreError> {
        let channel = channel.clone();
        let key = channel.to_string();
        self.write(&key, async move |conn, _| {
            let v: Option<String> = db::query_scalar(
                "UPDATE channels SET webhook_secret = COALESCE(webhook_secret, $2) WHERE id = $1 \
                         RETURNING webhook_secret",
            )
            .bind(channel.as_str())
            .bind(candidate)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            v.ok_or(StoreError::NotFound)
        })
        .await
    }
}
