//! Messages: create (idempotent on `clientId`), read, page, delete, acknowledge.

use crate::events;
use crate::{Store, StoreError, rows};
use assent_core::model::{DeliveryStatus, Message, MessageStatus, SenderType, StreamState};
use assent_core::{ChannelId, DomainEvent, MessageId, Millis};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel_id: ChannelId,
    pub sender_type: SenderType,
    pub sender_id: String,
    pub text: Option<String>,
    pub status: Option<MessageStatus>,
    pub review: Option<Value>,
    pub metadata: Option<Value>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_state: Option<StreamState>,
}

#[derive(Clone, Debug)]
pub struct MessageQuery {
    pub channel_id: ChannelId,
    pub limit: i64,
    /// Newest-first paging: messages older than this message id.
    pub cursor: Option<MessageId>,
    /// Forward paging: messages with `seq` greater than this, oldest first.
    pub after: Option<i64>,
    pub search: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Page {
    pub data: Vec<Message>,
    /// Newest-first paging: pass as `cursor` for the next (older) page.
    pub next_cursor: Option<String>,
    /// Forward paging: pass as `after` for the next (newer) page.
    pub next_after: Option<i64>,
}

fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Creates a message and logs `message:created`. With a `client_id` that this sender
    /// already used in the channel, returns the existing message instead (`false`).
    pub async fn create_message(
        &self,
        new: NewMessage,
        agent_name: Option<String>,
        now: Millis,
    ) -> Result<(Message, bool), StoreError> {
        let key = new.channel_id.to_string();
        self.writer
            .run(&key, move |conn, events| {
                Box::pin(async move {
                    if let Some(cid) = &new.client_id {
                        let row = sqlx::query(&format!(
                            "SELECT {} FROM messages WHERE channel_id = $1 AND sender_type = $2 AND client_id = $3",
                            rows::MESSAGE_COLS
                        ))
                        .bind(new.channel_id.as_str())
                        .bind(new.sender_type.as_str())
                        .bind(cid)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let Some(row) = row {
                            return Ok((rows::message(&row)?, false));
                        }
                    }
                    let (seq, owner) = events::next_seq(conn, &new.channel_id, now).await?;
                    let msg = Message {
                        id: MessageId::generate(now.0),
                        channel_id: new.channel_id.clone(),
                        seq,
                        sender_type: new.sender_type,
                        sender_id: new.sender_id,
                        text: new.text,
                        status: new.status,
                        review: new.review,
                        metadata: new.metadata,
                        client_id: new.client_id,
                        stream_id: new.stream_id,
                        stream_state: new.stream_state,
                        delivery_status: DeliveryStatus::Sent,
                        iteration_group_id: None,
                        iteration: None,
                        created_at: now,
                        updated_at: now,
                    };
                    let review_status = msg
                        .review
                        .as_ref()
                        .and_then(|r| r.get("status"))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    sqlx::query(
                        "INSERT INTO messages (id, channel_id, seq, sender_type, sender_id, text, status, review, metadata, \
                         client_id, stream_id, stream_state, delivery_status, review_status, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
                    )
                    .bind(msg.id.as_str())
                    .bind(msg.channel_id.as_str())
                    .bind(msg.seq)
                    .bind(msg.sender_type.as_str())
                    .bind(&msg.sender_id)
                    .bind(&msg.text)
                    .bind(msg.status.map(|s| s.as_str()))
                    .bind(rows::json_text(&msg.review))
                    .bind(rows::json_text(&msg.metadata))
                    .bind(&msg.client_id)
                    .bind(&msg.stream_id)
                    .bind(msg.stream_state.map(|s| s.as_str()))
                    .bind(msg.delivery_status.as_str())
                    .bind(review_status)
                    .bind(now.0)
                    .execute(&mut *conn)
                    .await?;
                    let ev = DomainEvent::MessageCreated {
                        message: Box::new(msg.clone()),
                        agent_name,
                    };
                    events::log(conn, events, &msg.channel_id, seq, owner, ev, now).await?;
                    Ok((msg, true))
                })
            })
            .await
    }

    /// A message of a channel.
    pub async fn message_in_channel(
        &self,
        channel: &ChannelId,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM messages WHERE id = $1 AND channel_id = $2",
            rows::MESSAGE_COLS
        ))
        .bind(id.as_str())
        .bind(channel.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::message).transpose()
    }

    /// A message by id alone (callers check ownership of its channel).
    pub async fn message_by_id(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM messages WHERE id = $1",
            rows::MESSAGE_COLS
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::message).transpose()
    }

    /// Pages a channel's messages newest-first (`cursor`) or oldest-first after a `seq`.
    pub async fn list_messages(&self, q: MessageQuery) -> Result<Page, StoreError> {
        let limit = q.limit.clamp(1, 100);
        let search = q
            .search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(like_pattern);
        let search_clause = if search.is_some() {
            " AND LOWER(text) LIKE $4 ESCAPE '\\'"
        } else {
            " AND $4 IS NULL"
        };
        let forward = q.after.is_some();
        let sql = if forward {
            format!(
                "SELECT {} FROM messages WHERE channel_id = $1 AND seq > $2{search_clause} \
                 ORDER BY seq ASC LIMIT $3",
                rows::MESSAGE_COLS
            )
        } else {
            format!(
                "SELECT {} FROM messages WHERE channel_id = $1 \
                 AND ($2 IS NULL OR seq < (SELECT c.seq FROM messages c WHERE c.id = $2 AND c.channel_id = $1)){search_clause} \
                 ORDER BY seq DESC LIMIT $3",
                rows::MESSAGE_COLS
            )
        };
        let mut query = sqlx::query(&sql).bind(q.channel_id.as_str());
        query = if forward {
            query.bind(q.after.unwrap_or(0))
        } else {
            query.bind(q.cursor.as_ref().map(|c| c.as_str().to_owned()))
        };
        let rows = query
            .bind(limit + 1)
            .bind(search)
            .fetch_all(&self.pool)
            .await?;
        let mut data = rows
            .iter()
            .map(rows::message)
            .collect::<Result<Vec<_>, _>>()?;
        let more = data.len() as i64 > limit;
        data.truncate(limit as usize);
        let (next_cursor, next_after) = if forward {
            (None, data.last().map(|m| m.seq).or(q.after))
        } else {
            (
                if more {
                    data.last().map(|m| m.id.to_string())
                } else {
                    None
                },
                None,
            )
        };
        Ok(Page {
            data,
            next_cursor,
            next_after,
        })
    }

    /// Deletes a message and logs `message:deleted`. `false` if it was not in the channel.
    pub async fn delete_message(
        &self,
        channel: &ChannelId,
        id: &MessageId,
        now: Millis,
    ) -> Result<Option<i64>, StoreError> {
        let (channel, id) = (channel.clone(), id.clone());
        let key = channel.to_string();
        self.writer
            .run(&key, move |conn, events| {
                Box::pin(async move {
                    let r = sqlx::query("DELETE FROM messages WHERE id = $1 AND channel_id = $2")
                        .bind(id.as_str())
                        .bind(channel.as_str())
                        .execute(&mut *conn)
                        .await?;
                    if r.rows_affected() == 0 {
                        return Ok(None);
                    }
                    let ev = DomainEvent::MessageDeleted {
                        message_id: id.clone(),
                        channel_id: channel.clone(),
                    };
                    Ok(Some(events::append(conn, events, &channel, ev, now).await?))
                })
            })
            .await
    }

    /// Sets a message's delivery status and logs `message:delivery` when it changed.
    /// Returns `None` when the message is not in the channel.
    pub async fn set_delivery_status(
        &self,
        channel: &ChannelId,
        id: &MessageId,
        status: DeliveryStatus,
        now: Millis,
    ) -> Result<Option<bool>, StoreError> {
        let (channel, id) = (channel.clone(), id.clone());
        let key = channel.to_string();
        self.writer
            .run(&key, move |conn, events| {
                Box::pin(async move {
                    let current: Option<String> = sqlx::query_scalar(
                        "SELECT delivery_status FROM messages WHERE id = $1 AND channel_id = $2",
                    )
                    .bind(id.as_str())
                    .bind(channel.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(current) = current else { return Ok(None) };
                    if current == status.as_str() {
                        return Ok(Some(false));
                    }
                    sqlx::query("UPDATE messages SET delivery_status = $3, updated_at = $4 WHERE id = $1 AND channel_id = $2")
                        .bind(id.as_str())
                        .bind(channel.as_str())
                        .bind(status.as_str())
                        .bind(now.0)
                        .execute(&mut *conn)
                        .await?;
                    let ev = DomainEvent::MessageDelivery {
                        message_id: id.clone(),
                        delivery_status: status,
                    };
                    events::append(conn, events, &channel, ev, now).await?;
                    Ok(Some(true))
                })
            })
            .await
    }
}
