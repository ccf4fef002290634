//! Messages: create (idempotent on `clientId`), read, page, delete, acknowledge.

use crate::db::{self, Conn, Row};
use crate::reviews::next_iteration;
use crate::{Rejection, Store, StoreError, rows};
use crate::{attachments, events};
use assent_core::UserId;
use assent_core::attachment::{Attachment, AttachmentId};
use assent_core::model::{DeliveryStatus, Message, MessageStatus, SenderType, StreamState};
use assent_core::review::Review;
use assent_core::{ChannelId, DomainEvent, MessageId, Millis};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub channel_id: ChannelId,
    pub sender_type: SenderType,
    pub sender_id: String,
    pub text: Option<String>,
    pub status: Option<MessageStatus>,
    pub review: Option<Review>,
    pub metadata: Option<Value>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_state: Option<StreamState>,
    /// Continues the iteration chain of this earlier review message.
    pub iteration_of: Option<MessageId>,
    /// Stored files of the channel to attach (refused unless each is unsent and of this
    /// channel).
    pub attachment_ids: Vec<AttachmentId>,
    /// Files whose objects are complete, attached after `attachment_ids`.
    pub files: Vec<Attachment>,
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
    /// Only messages that carry files.
    pub has_attachments: bool,
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
        let pg = self.backend == crate::Backend::Postgres;
        self.write(&key, async move |conn, events| {
            let mut new = new;
            if let Some(found) = existing(conn, events, &new, &agent_name, now).await? {
                return Ok((found, false));
            }
            let stored =
                attachments::attachable(conn, &new.channel_id, &new.attachment_ids).await?;
            let (group, iteration) = match &new.iteration_of {
                None => (None, None),
                Some(target) => {
                    let (g, i) = next_iteration(conn, &new.channel_id, target).await?;
                    (Some(g), Some(i))
                }
            };
            // PostgreSQL: the seq bump and the insert are one statement (one round
            // trip per message, the writer's main cost there). SQLite has no UPDATE
            // in a CTE, and its round trips are in-process.
            let (seq, owner) = if pg {
                (0, None)
            } else {
                let (seq, owner) = events::next_seq(conn, &new.channel_id, now, true).await?;
                (seq, Some(owner))
            };
            let files = std::mem::take(&mut new.files);
            let count = (stored.len() + files.len()) as i64;
            let mut msg = new.into_message(seq, group, iteration, now);
            let (seq, stored_owner) = insert(conn, &msg, pg, count, now).await?;
            msg.seq = seq;
            if count > 0 {
                msg.attachments = attachments::link(conn, &msg, stored, files).await?;
            }
            let owner = owner.or(stored_owner).ok_or(StoreError::NotFound)?;
            let ev = DomainEvent::MessageCreated {
                message: Box::new(msg.clone()),
                agent_name,
            };
            events::log(conn, events, &msg.channel_id, seq, owner, ev, now).await?;
            Ok((msg, true))
        })
        .await
    }

    /// A message of a channel.
    pub async fn message_in_channel(
        &self,
        channel: &ChannelId,
        id: &MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let mut conn = self.read().await?;
        load(&mut conn, channel, id).await
    }

    /// A message by id alone (callers check ownership of its channel).
    pub async fn message_by_id(&self, id: &MessageId) -> Result<Option<Message>, StoreError> {
        let row = db::query(&format!(
            "SELECT {} FROM messages WHERE id = $1",
            rows::MESSAGE_COLS
        ))
        .bind(id.as_str())
        .fetch_optional(&mut self.read().await?)
        .await?;
        attachments::message(&mut self.read().await?, row).await
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
        let search_clause = if q.has_attachments {
            format!("{search_clause} AND attachment_count > 0")
        } else {
            search_clause.to_owned()
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
        let mut query = db::query(&sql).bind(q.channel_id.as_str());
        query = if forward {
            query.bind(q.after.unwrap_or(0))
        } else {
            query.bind(q.cursor.as_ref().map(|c| c.as_str().to_owned()))
        };
        let rows = query
            .bind(limit + 1)
            .bind(search)
            .fetch_all(&mut self.read().await?)
            .await?;
        let (data, more) = page_of(&mut self.read().await?, &rows, limit).await?;
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
        self.write(&key, async move |conn, events| {
            let group: Option<Option<String>> = db::query_scalar(
                "SELECT iteration_group_id FROM messages WHERE id = $1 AND channel_id = $2",
            )
            .bind(id.as_str())
            .bind(channel.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(Some(g)) = group {
                let members: i64 =
                    db::query_scalar("SELECT COUNT(*) FROM messages WHERE iteration_group_id = $1")
                        .bind(&g)
                        .fetch_one(&mut *conn)
                        .await?;
                if members > 1 {
                    return Err(Rejection::IterationChainMember.into());
                }
            }
            attachments::doom_where(conn, "message_id = $1", id.as_str(), now).await?;
            let r = db::query("DELETE FROM messages WHERE id = $1 AND channel_id = $2")
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
        self.write(&key, async move |conn, events| {
            let exists: Option<i64> =
                db::query_scalar("SELECT 1 FROM messages WHERE id = $1 AND channel_id = $2")
                    .bind(id.as_str())
                    .bind(channel.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
            if exists.is_none() {
                return Ok(None);
            }
            Ok(Some(
                move_delivery_status(conn, events, &channel, &id, status, now).await?,
            ))
        })
        .await
    }
}

/// Moves a message's `deliveryStatus` (never back from `agent_received`) and logs
/// `message:delivery` when it changed. Returns whether it moved.
pub(crate) async fn move_delivery_status(
    conn: &mut Conn,
    events: &mut crate::events::Events,
    channel: &ChannelId,
    message_id: &MessageId,
    status: DeliveryStatus,
    now: Millis,
) -> Result<bool, StoreError> {
    let r = db::query(
        "UPDATE messages SET delivery_status = $3, updated_at = $4 WHERE id = $1 AND channel_id = $2 \
         AND delivery_status <> $3 AND delivery_status <> 'agent_received'",
    )
    .bind(message_id.as_str())
    .bind(channel.as_str())
    .bind(status.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(false);
    }
    let ev = DomainEvent::MessageDelivery {
        message_id: message_id.clone(),
        delivery_status: status,
    };
    events::append(conn, events, channel, ev, now).await?;
    Ok(true)
}

/// After a file of a message was deleted: recounts its files and logs `message:updated` with
/// what it now carries.
pub(crate) async fn attachments_changed(
    conn: &mut Conn,
    events: &mut crate::events::Events,
    channel: &ChannelId,
    id: &MessageId,
    now: Millis,
) -> Result<(), StoreError> {
    db::query(
        "UPDATE messages SET updated_at = $3, attachment_count = \
         (SELECT COUNT(*) FROM attachments WHERE message_id = $1) WHERE id = $1 AND channel_id = $2",
    )
    .bind(id.as_str())
    .bind(channel.as_str())
    .bind(now.0)
    .execute(&mut *conn)
    .await?;
    if let Some(m) = load(conn, channel, id).await? {
        let ev = DomainEvent::MessageUpdated {
            message: Box::new(m),
            agent_name: None,
        };
        events::append(conn, events, channel, ev, now).await?;
    }
    Ok(())
}

pub(crate) async fn load(
    conn: &mut Conn,
    channel: &ChannelId,
    id: &MessageId,
) -> Result<Option<Message>, StoreError> {
    let row = db::query(&format!(
        "SELECT {} FROM messages WHERE id = $1 AND channel_id = $2{}",
        rows::MESSAGE_COLS,
        rows::for_update(conn)
    ))
    .bind(id.as_str())
    .bind(channel.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    attachments::message(conn, row).await
}

impl NewMessage {
    /// A plain message of `sender` carrying `files` (and optionally text).
    pub fn with_files(
        channel_id: ChannelId,
        sender_type: SenderType,
        sender_id: String,
        text: Option<String>,
        files: Vec<Attachment>,
    ) -> NewMessage {
        NewMessage {
            channel_id,
            sender_type,
            sender_id,
            text,
            status: None,
            review: None,
            metadata: None,
            client_id: None,
            stream_id: None,
            stream_state: None,
            iteration_of: None,
            attachment_ids: Vec::new(),
            files,
        }
    }

    fn into_message(
        self,
        seq: i64,
        iteration_group_id: Option<String>,
        iteration: Option<i64>,
        now: Millis,
    ) -> Message {
        Message {
            id: MessageId::generate(now.0),
            channel_id: self.channel_id,
            seq,
            sender_type: self.sender_type,
            sender_id: self.sender_id,
            text: self.text,
            status: self.status,
            review: self.review,
            metadata: self.metadata,
            client_id: self.client_id,
            stream_id: self.stream_id,
            stream_state: self.stream_state,
            delivery_status: DeliveryStatus::Sent,
            iteration_group_id,
            iteration,
            created_at: now,
            updated_at: now,
            attachments: Vec::new(),
        }
    }
}

/// The message a repeated request already created: same sender and `clientId`, or the draft
/// of the same `streamId` (which a re-POST with `streamState: aborted` aborts).
async fn existing(
    conn: &mut Conn,
    events: &mut crate::events::Events,
    new: &NewMessage,
    agent_name: &Option<String>,
    now: Millis,
) -> Result<Option<Message>, StoreError> {
    if let Some(cid) = &new.client_id {
        let row = db::query(&format!(
            "SELECT {} FROM messages WHERE channel_id = $1 AND sender_type = $2 AND client_id = $3",
            rows::MESSAGE_COLS
        ))
        .bind(new.channel_id.as_str())
        .bind(new.sender_type.as_str())
        .bind(cid)
        .fetch_optional(&mut *conn)
        .await?;
        if row.is_some() {
            return attachments::message(conn, row).await;
        }
    }
    let Some(sid) = &new.stream_id else {
        return Ok(None);
    };
    let Some(draft) = crate::streams::draft(conn, &new.channel_id, sid).await? else {
        return Ok(None);
    };
    if new.stream_state == Some(StreamState::Aborted)
        && draft.stream_state == Some(StreamState::Streaming)
    {
        let (text, state) = (new.text.clone(), Some(StreamState::Aborted));
        let m =
            crate::streams::update_draft(conn, events, draft, text, state, agent_name.clone(), now)
                .await?;
        return Ok(Some(m));
    }
    Ok(Some(draft))
}

/// Inserts the message row. On PostgreSQL the channel's `seq` is bumped in the same
/// statement: returns the row's `seq` and, there, the channel's owner.
async fn insert(
    conn: &mut Conn,
    msg: &Message,
    pg: bool,
    attachment_count: i64,
    now: Millis,
) -> Result<(i64, Option<UserId>), StoreError> {
    let sql = if pg {
        "WITH s AS (UPDATE channels SET head_seq = head_seq + 1, last_event_at = $15 WHERE id = $2 \
           RETURNING head_seq, owner_id) \
         INSERT INTO messages (id, channel_id, seq, sender_type, sender_id, text, status, review, metadata, \
         client_id, stream_id, stream_state, delivery_status, review_status, created_at, updated_at, \
         review_expires_at, iteration_group_id, iteration, attachment_count) \
         SELECT $1, $2, s.head_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19 \
         FROM s RETURNING seq, (SELECT owner_id FROM s) AS owner_id"
    } else {
        "INSERT INTO messages (id, channel_id, seq, sender_type, sender_id, text, status, review, metadata, \
         client_id, stream_id, stream_state, delivery_status, review_status, created_at, updated_at, \
         review_expires_at, iteration_group_id, iteration, attachment_count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19) \
         RETURNING seq, NULL AS owner_id"
    };
    let row = db::query(sql)
        .bind(msg.id.as_str())
        .bind(msg.channel_id.as_str())
        .bind(msg.seq)
        .bind(msg.sender_type.as_str())
        .bind(&msg.sender_id)
        .bind(&msg.text)
        .bind(msg.status.map(|s| s.as_str()))
        .bind(rows::review_text(&msg.review))
        .bind(rows::json_text(&msg.metadata))
        .bind(&msg.client_id)
        .bind(&msg.stream_id)
        .bind(msg.stream_state.map(|s| s.as_str()))
        .bind(msg.delivery_status.as_str())
        .bind(msg.review_status().map(|s| s.as_str()))
        .bind(now.0)
        .bind(msg.review_deadline().map(|t| t.0))
        .bind(&msg.iteration_group_id)
        .bind(msg.iteration)
        .bind(attachment_count)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let owner = match pg {
        true => Some(row.get("owner_id")?),
        false => None,
    };
    Ok((row.get::<i64>("seq")?, owner))
}

/// The messages of a page read with `LIMIT limit + 1`: at most `limit` of them, and whether
/// there were more.
pub(crate) async fn page_of(
    exec: &mut Conn,
    rows: &[Row],
    limit: i64,
) -> Result<(Vec<Message>, bool), StoreError> {
    let keep = rows.len().min(limit.max(0) as usize);
    let data = attachments::messages(exec, &rows[..keep]).await?;
    Ok((data, rows.len() > keep))
}
