//! Streamed replies: drafts identified by `(channel, streamId)`, their text updates and
//! completion, status steps, stale-draft sweeps, and agent-reported thread events.

use crate::db::{self, Conn, Row};
use crate::events;
use crate::rows::FromRow;
use crate::{Rejection, Store, StoreError, rows};
use assent_core::model::{Message, StreamState};
use assent_core::{ChannelId, DomainEvent, Millis, StatusStep, UserId, new_id};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The message of `(channel, stream_id)` (inside a writer job or on a pooled connection).
pub(crate) async fn draft(
    conn: &mut Conn,
    channel: &ChannelId,
    stream_id: &str,
) -> Result<Option<Message>, StoreError> {
    let row = db::query(&format!(
        "SELECT {} FROM messages WHERE channel_id = $1 AND stream_id = $2{}",
        rows::MESSAGE_COLS,
        rows::for_update(conn)
    ))
    .bind(channel.as_str())
    .bind(stream_id)
    .fetch_optional(&mut *conn)
    .await?;
    crate::attachments::message(conn, row).await
}

/// A delta appended by [`Store::append_draft_delta`].
#[derive(Clone, Debug)]
pub struct AppendedDelta {
    pub message_id: assent_core::MessageId,
    /// Ordinal of the delta within the stream, across nodes.
    pub n: u64,
    pub started_at: Millis,
    /// The event the draft was last logged by: subscribers must have it before the delta.
    pub created_seq: i64,
}

/// Applies text and/or a new state to a draft and logs `message:updated`.
pub(crate) async fn update_draft(
    conn: &mut Conn,
    events: &mut crate::events::Events,
    mut m: Message,
    text: Option<String>,
    state: Option<StreamState>,
    agent_name: Option<String>,
    now: Millis,
) -> Result<Message, StoreError> {
    if let Some(t) = text {
        m.text = Some(t);
    }
    if let Some(s) = state {
        m.stream_state = Some(s);
    }
    m.updated_at = now;
    db::query("UPDATE messages SET text = $3, stream_state = $4, updated_at = $5 WHERE id = $1 AND channel_id = $2")
        .bind(m.id.as_str())
        .bind(m.channel_id.as_str())
        .bind(&m.text)
        .bind(m.stream_state.map(|s| s.as_str()))
        .bind(now.0)
        .execute(&mut *conn)
        .await?;
    let ev = DomainEvent::MessageUpdated {
        message: Box::new(m.clone()),
        agent_name,
    };
    events::append(conn, events, &m.channel_id.clone(), ev, now).await?;
    Ok(m)
}

impl FromRow for StatusStep {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(StatusStep {
            id: row.get("id")?,
            channel_id: row.get("channel_id")?,
            stream_id: row.get("stream_id")?,
            index: row.get("idx")?,
            text: row.get("text")?,
            tool_hint: row.get::<bool>("tool_hint")?,
            created_at: row.get("created_at")?,
        })
    }
}

impl Store {
    /// The draft of `(channel, stream_id)`, if any.
    pub async fn draft(
        &self,
        channel: &ChannelId,
        stream_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let mut conn = self.read().await?;
        draft(&mut conn, channel, stream_id).await
    }

    /// Updates a draft (`PATCH /api/v1/messages/streams/:streamId`). `NotFound` when the
    /// stream has no draft; `Rejected` when it already finished.
    pub async fn update_stream(
        &self,
        channel: &ChannelId,
        stream_id: &str,
        text: Option<String>,
        state: Option<StreamState>,
        agent_name: Option<String>,
        now: Millis,
    ) -> Result<Message, StoreError> {
        let (channel, stream_id) = (channel.clone(), stream_id.to_owned());
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
            let m = draft(conn, &channel, &stream_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if m.stream_state != Some(StreamState::Streaming) {
                return Err(Rejection::StreamFinished.into());
            }
            update_draft(conn, events, m, text, state, agent_name, now).await
        })
        .await
    }

    /// Appends a delta to a streaming draft in its row (cluster mode, where any node may take
    /// the next delta: the row lock orders them, so the text is the deltas in the order they
    /// were accepted). Logs `message:updated` when the text's length passes a power of two,
    /// so that a client resuming mid-stream is never more than half behind, and the log holds
    /// about twice the final text per draft. `NotFound` without a draft, `Rejected` when it
    /// finished; `Ok(None)` when the text would pass `max_bytes`.
    pub async fn append_draft_delta(
        &self,
        channel: &ChannelId,
        stream_id: &str,
        delta: String,
        max_bytes: usize,
        agent_name: Option<String>,
        now: Millis,
    ) -> Result<Option<AppendedDelta>, StoreError> {
        let (channel, stream_id) = (channel.clone(), stream_id.to_owned());
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
            let mut m = draft(conn, &channel, &stream_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if m.stream_state != Some(StreamState::Streaming) {
                return Err(Rejection::StreamFinished.into());
            }
            let mut text = m.text.take().unwrap_or_default();
            if text.len() + delta.len() > max_bytes {
                return Ok(None);
            }
            let before = text.len();
            text.push_str(&delta);
            let n: i64 = db::query_scalar(
                "UPDATE messages SET text = $2, updated_at = $3, stream_deltas = stream_deltas + 1 \
                         WHERE id = $1 RETURNING stream_deltas",
            )
            .bind(m.id.as_str())
            .bind(&text)
            .bind(now.0)
            .fetch_one(&mut *conn)
            .await?;
            let created_seq = m.seq;
            let (message_id, started_at) = (m.id.clone(), m.created_at);
            let logged = text.len() >= 2 && before.max(1).ilog2() < text.len().ilog2();
            if logged {
                m.text = Some(text);
                m.updated_at = now;
                let ev = DomainEvent::MessageUpdated {
                    message: Box::new(m),
                    agent_name,
                };
                events::append(conn, events, &channel, ev, now).await?;
            }
            Ok(Some(AppendedDelta {
                message_id,
                n: n as u64,
                started_at,
                created_seq,
            }))
        })
        .await
    }

    /// Saves a streaming draft's text without logging an event: its deltas already went out
    /// live, and completion (or an agent's full-text PATCH) logs the text. `false` when the
    /// draft is not streaming any more.
    pub async fn save_draft_text(
        &self,
        channel: &ChannelId,
        stream_id: &str,
        text: String,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let (channel, stream_id) = (channel.clone(), stream_id.to_owned());
        let key = channel.to_string();
        self.write(&key, async move |conn, _| {
            let r = db::query(
                "UPDATE messages SET text = $3, updated_at = $4 \
                         WHERE channel_id = $1 AND stream_id = $2 AND stream_state = 'streaming'",
            )
            .bind(channel.as_str())
            .bind(&stream_id)
            .bind(&text)
            .bind(now.0)
            .execute(&mut *conn)
            .await?;
            Ok(r.rows_affected() > 0)
        })
        .await
    }

    /// Open (streaming) drafts of the owner's channels: `(in channel, in all)`.
    pub async fn open_drafts(
        &self,
        owner: &UserId,
        channel: &ChannelId,
    ) -> Result<(i64, i64), StoreError> {
        let row = db::query(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN m.channel_id = $2 THEN 1 ELSE 0 END), 0) AS here \
             FROM messages m JOIN channels c ON c.id = m.channel_id \
             WHERE m.stream_state = 'streaming' AND c.owner_id = $1",
        )
        .bind(owner.as_str())
        .bind(channel.as_str())
        .fetch_one(&mut self.read().await?)
        .await?;
        Ok((row.get::<i64>("here")?, row.get::<i64>("total")?))
    }

    /// Appends a status step to a stream (index = previous + 1, from 0) and logs
    /// `message:status`. Works before the draft exists.
    pub async fn append_status_step(
        &self,
        channel: &ChannelId,
        stream_id: &str,
        text: String,
        tool_hint: bool,
        now: Millis,
    ) -> Result<StatusStep, StoreError> {
        let (channel, stream_id) = (channel.clone(), stream_id.to_owned());
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
                    let max: Option<i64> = db::query_scalar("SELECT MAX(idx) FROM message_status_events WHERE channel_id = $1 AND stream_id = $2")
                        .bind(channel.as_str())
                        .bind(&stream_id)
                        .fetch_one(&mut *conn)
                        .await?;
                    let s = StatusStep {
                        id: new_id(now.0),
                        channel_id: channel.clone(),
                        stream_id,
                        index: max.map_or(0, |m| m + 1),
                        text,
                        tool_hint,
                        created_at: now,
                    };
                    db::query("INSERT INTO message_status_events (id, channel_id, stream_id, idx, text, tool_hint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(&s.id)
                        .bind(s.channel_id.as_str())
                        .bind(&s.stream_id)
                        .bind(s.index)
                        .bind(&s.text)
                        .bind(s.tool_hint as i64)
                        .bind(now.0)
                        .execute(&mut *conn)
                        .await?;
                    events::append(conn, events, &channel, DomainEvent::MessageStatus { step: s.clone() }, now).await?;
                    Ok(s)
            })
            .await
    }

    /// Status steps of the given streams of a channel, by stream id, in index order.
    pub async fn status_steps(
        &self,
        channel: &ChannelId,
        stream_ids: &[String],
    ) -> Result<HashMap<String, Vec<StatusStep>>, StoreError> {
        let mut out: HashMap<String, Vec<StatusStep>> = HashMap::new();
        if stream_ids.is_empty() {
            return Ok(out);
        }
        let rows = db::query(
            "SELECT id, channel_id, stream_id, idx, text, tool_hint, created_at FROM message_status_events \
             WHERE channel_id = $1 ORDER BY stream_id, idx",
        )
        .bind(channel.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        for r in &rows {
            let s = StatusStep::from_row(r)?;
            if stream_ids.contains(&s.stream_id) {
                out.entry(s.stream_id.clone()).or_default().push(s);
            }
        }
        Ok(out)
    }

    /// Drafts still streaming whose last update is older than `cutoff`.
    pub async fn stale_drafts(
        &self,
        cutoff: Millis,
        limit: i64,
    ) -> Result<Vec<(ChannelId, String)>, StoreError> {
        let rows = db::query(
            "SELECT channel_id, stream_id FROM messages WHERE stream_state = 'streaming' AND updated_at < $1 \
             ORDER BY updated_at ASC LIMIT $2",
        )
        .bind(cutoff.0)
        .bind(limit)
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.get("channel_id")?, r.get::<String>("stream_id")?)))
            .collect()
    }

    /// Aborts a draft if it is still streaming and idle since `cutoff` (re-checked inside
    /// the write). Returns the aborted message.
    pub async fn abort_stale_draft(
        &self,
        channel: &ChannelId,
        stream_id: &str,
        cutoff: Millis,
        now: Millis,
    ) -> Result<Option<Message>, StoreError> {
        let (channel, stream_id) = (channel.clone(), stream_id.to_owned());
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
            let Some(m) = draft(conn, &channel, &stream_id).await? else {
                return Ok(None);
            };
            if m.stream_state != Some(StreamState::Streaming) || m.updated_at >= cutoff {
                return Ok(None);
            }
            Ok(Some(
                update_draft(conn, events, m, None, Some(StreamState::Aborted), None, now).await?,
            ))
        })
        .await
    }

    /// Logs an agent-reported thread event; returns its `seq`.
    pub async fn log_thread_event(
        &self,
        channel: &ChannelId,
        event_type: String,
        fields: Map<String, Value>,
        now: Millis,
    ) -> Result<i64, StoreError> {
        let channel = channel.clone();
        let key = channel.to_string();
        self.write(&key, async move |conn, events| {
            events::append(
                conn,
                events,
                &channel,
                DomainEvent::ThreadEvent { event_type, fields },
                now,
            )
            .await
        })
        .await
    }
}
