//! Messages: create (idempotent on `clientId`), read, page, delete, acknowledge.

use crate::events;
use crate::{Rejection, Store, StoreError, rows};
use assent_core::UserId;
use assent_core::model::{DeliveryStatus, Message, MessageStatus, SenderType, StreamState};
use assent_core::review::{Refusal, Reply, Review, ReviewStatus};
use assent_core::{ChannelId, DomainEvent, MessageId, Millis};
use serde_json::Value;
use sqlx::AnyConnection;

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
}

/// What happened to an answer.
#[derive(Clone, Debug)]
pub enum RespondOutcome {
    Answered(Box<Message>),
    /// The review's rules refused the answer. A deadline that had passed is `Expired`, and
    /// the review is now expired (the event logged once).
    Refused(Refusal),
    NoReview,
    NotFound,
}

/// Status filter of review listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewFilter {
    Pending,
    Completed,
    Expired,
    All,
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
        let pg = self.backend == crate::Backend::Postgres;
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
                    if let Some(sid) = &new.stream_id {
                        // One draft per (channel, streamId): a re-POST returns it, or aborts it.
                        if let Some(existing) = crate::streams::draft(conn, &new.channel_id, sid).await? {
                            if new.stream_state == Some(StreamState::Aborted) && existing.stream_state == Some(StreamState::Streaming) {
                                let m = crate::streams::update_draft(conn, events, existing, new.text.clone(), Some(StreamState::Aborted), agent_name.clone(), now).await?;
                                return Ok((m, false));
                            }
                            return Ok((existing, false));
                        }
                    }
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
                    let mut msg = Message {
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
                        iteration_group_id: group,
                        iteration,
                        created_at: now,
                        updated_at: now,
                    };
                    let review_status = msg.review_status().map(|s| s.as_str());
                    let sql = if pg {
                        "WITH s AS (UPDATE channels SET head_seq = head_seq + 1, last_event_at = $15 WHERE id = $2 \
                           RETURNING head_seq, owner_id) \
                         INSERT INTO messages (id, channel_id, seq, sender_type, sender_id, text, status, review, metadata, \
                         client_id, stream_id, stream_state, delivery_status, review_status, created_at, updated_at, \
                         review_expires_at, iteration_group_id, iteration) \
                         SELECT $1, $2, s.head_seq, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18 \
                         FROM s RETURNING seq, (SELECT owner_id FROM s) AS owner_id"
                    } else {
                        "INSERT INTO messages (id, channel_id, seq, sender_type, sender_id, text, status, review, metadata, \
                         client_id, stream_id, stream_state, delivery_status, review_status, created_at, updated_at, \
                         review_expires_at, iteration_group_id, iteration) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18) \
                         RETURNING seq, NULL AS owner_id"
                    };
                    let row = sqlx::query(sql)
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
                    .bind(review_status)
                    .bind(now.0)
                    .bind(msg.review_deadline().map(|t| t.0))
                    .bind(&msg.iteration_group_id)
                    .bind(msg.iteration)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    let owner = match owner {
                        Some(o) => o,
                        None => UserId::from_trusted(rows::s(&row, "owner_id")?),
                    };
                    msg.seq = rows::i(&row, "seq")?;
                    let seq = msg.seq;
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
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, channel, id).await
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
        let (data, more) = page_of(&rows, limit)?;
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
                    let group: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT iteration_group_id FROM messages WHERE id = $1 AND channel_id = $2",
                    )
                    .bind(id.as_str())
                    .bind(channel.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let Some(Some(g)) = group {
                        let members: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM messages WHERE iteration_group_id = $1",
                        )
                        .bind(&g)
                        .fetch_one(&mut *conn)
                        .await?;
                        if members > 1 {
                            return Err(Rejection::IterationChainMember.into());
                        }
                    }
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
                    let exists: Option<i64> = sqlx::query_scalar(
                        "SELECT 1 FROM messages WHERE id = $1 AND channel_id = $2",
                    )
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
            })
            .await
    }
}

/// Moves a message's `deliveryStatus` (never back from `agent_received`) and logs
/// `message:delivery` when it changed. Returns whether it moved.
pub(crate) async fn move_delivery_status(
    conn: &mut AnyConnection,
    events: &mut crate::writer::Events,
    channel: &ChannelId,
    message_id: &MessageId,
    status: DeliveryStatus,
    now: Millis,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
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

/// The group and number of a new iteration of `target` (Placet §4.8): the target must be a
/// review of the same channel that is completed or expired; the root is back-filled as
/// iteration 1 when the first follow-up is created.
async fn next_iteration(
    conn: &mut AnyConnection,
    channel: &ChannelId,
    target: &MessageId,
) -> Result<(String, i64), StoreError> {
    let row = sqlx::query(
        "SELECT review_status, iteration_group_id FROM messages WHERE id = $1 AND channel_id = $2",
    )
    .bind(target.as_str())
    .bind(channel.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Rejection::IterationTargetMissing)?;
    let status = rows::os(&row, "review_status")?;
    if !matches!(status.as_deref(), Some("completed") | Some("expired")) {
        return Err(Rejection::IterationTargetOpen.into());
    }
    let group = match rows::os(&row, "iteration_group_id")? {
        Some(g) => g,
        None => {
            sqlx::query("UPDATE messages SET iteration_group_id = $1, iteration = 1 WHERE id = $1")
                .bind(target.as_str())
                .execute(&mut *conn)
                .await?;
            target.to_string()
        }
    };
    let max: Option<i64> =
        sqlx::query_scalar("SELECT MAX(iteration) FROM messages WHERE iteration_group_id = $1")
            .bind(&group)
            .fetch_one(&mut *conn)
            .await?;
    Ok((group, max.unwrap_or(1) + 1))
}

async fn load(
    conn: &mut AnyConnection,
    channel: &ChannelId,
    id: &MessageId,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM messages WHERE id = $1 AND channel_id = $2",
        rows::MESSAGE_COLS
    ))
    .bind(id.as_str())
    .bind(channel.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(rows::message).transpose()
}

/// Writes a review's new JSON and status.
async fn save_review(
    conn: &mut AnyConnection,
    m: &Message,
    status: ReviewStatus,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE messages SET review = $3, review_status = $4, updated_at = $5 WHERE id = $1 AND channel_id = $2")
        .bind(m.id.as_str())
        .bind(m.channel_id.as_str())
        .bind(rows::review_text(&m.review))
        .bind(status.as_str())
        .bind(now.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the expired review of `m` and logs `review:expired` (inside a writer job).
async fn save_expired(
    conn: &mut AnyConnection,
    events: &mut crate::writer::Events,
    mut m: Message,
    expired: Review,
    now: Millis,
) -> Result<(), StoreError> {
    let review_type = expired.kind().to_owned();
    m.review = Some(expired);
    save_review(conn, &m, ReviewStatus::Expired, now).await?;
    let ev = DomainEvent::ReviewExpired {
        message_id: m.id.clone(),
        review_type,
    };
    events::append(conn, events, &m.channel_id, ev, now).await?;
    Ok(())
}

impl Store {
    /// Answers a review, first answer wins (`Review::respond` decides). A review past its
    /// deadline is expired here (once) instead, and the answer refused as expired.
    pub async fn respond_review(
        &self,
        channel: &ChannelId,
        id: &MessageId,
        now: Millis,
        reply: Reply,
    ) -> Result<RespondOutcome, StoreError> {
        let (channel, id) = (channel.clone(), id.clone());
        let key = channel.to_string();
        self.writer
            .run(&key, move |conn, events| {
                Box::pin(async move {
                    let Some(mut m) = load(conn, &channel, &id).await? else {
                        return Ok(RespondOutcome::NotFound);
                    };
                    let Some(review) = &m.review else {
                        return Ok(RespondOutcome::NoReview);
                    };
                    let answered = match review.respond(&reply, now) {
                        Ok(r) => r,
                        Err(Refusal::PastDeadline) => {
                            let expired = review.expire(now).expect("pending and past due");
                            save_expired(conn, events, m, expired, now).await?;
                            return Ok(RespondOutcome::Refused(Refusal::Expired));
                        }
                        Err(refusal) => return Ok(RespondOutcome::Refused(refusal)),
                    };
                    m.review = Some(answered);
                    m.updated_at = now;
                    save_review(conn, &m, ReviewStatus::Completed, now).await?;
                    let ev = DomainEvent::ReviewResponded {
                        message: Box::new(m.clone()),
                    };
                    events::append(conn, events, &channel, ev, now).await?;
                    Ok(RespondOutcome::Answered(Box::new(m)))
                })
            })
            .await
    }

    /// Expires a pending review whose deadline has passed, logging `review:expired`
    /// exactly once whoever discovers it (job, wait endpoint, answer). `Some(true)` if it
    /// changed now, `None` if there is no such message.
    pub async fn expire_review(
        &self,
        channel: &ChannelId,
        id: &MessageId,
        now: Millis,
    ) -> Result<Option<bool>, StoreError> {
        let (channel, id) = (channel.clone(), id.clone());
        let key = channel.to_string();
        self.writer
            .run(&key, move |conn, events| {
                Box::pin(async move {
                    let Some(m) = load(conn, &channel, &id).await? else {
                        return Ok(None);
                    };
                    let Some(expired) = m.review.as_ref().and_then(|r| r.expire(now)) else {
                        return Ok(Some(false));
                    };
                    save_expired(conn, events, m, expired, now).await?;
                    Ok(Some(true))
                })
            })
            .await
    }

    /// Pending reviews whose deadline is at or before `now` (uses the pending-deadline index).
    pub async fn due_reviews(
        &self,
        now: Millis,
        limit: i64,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel_id, id FROM messages WHERE review_status = 'pending' AND review_expires_at <= $1 \
             ORDER BY review_expires_at ASC LIMIT $2",
        )
        .bind(now.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    ChannelId::from_trusted(rows::s(r, "channel_id")?),
                    MessageId::from_trusted(rows::s(r, "id")?),
                ))
            })
            .collect()
    }

    /// The earliest deadline of any pending review.
    pub async fn next_review_deadline(&self) -> Result<Option<Millis>, StoreError> {
        let t: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(review_expires_at) FROM messages WHERE review_status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(t.map(Millis))
    }

    /// Review messages of the owner's channels (or of one channel), newest first.
    /// Review messages of the owner's channels, newest first, `limit` (1–100) at a time;
    /// `cursor` is the last message id of the previous page (only the owner's count).
    pub async fn list_reviews(
        &self,
        owner: &UserId,
        channel: Option<&ChannelId>,
        filter: ReviewFilter,
        limit: i64,
        cursor: Option<&MessageId>,
    ) -> Result<Page, StoreError> {
        let limit = limit.clamp(1, 100);
        let status = match filter {
            ReviewFilter::Pending => Some("pending"),
            ReviewFilter::Completed => Some("completed"),
            ReviewFilter::Expired => Some("expired"),
            ReviewFilter::All => None,
        };
        let cols = rows::MESSAGE_COLS
            .split(", ")
            .map(|c| format!("m.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {cols} FROM messages m JOIN channels c ON c.id = m.channel_id \
             WHERE c.owner_id = $1 AND m.review_status IS NOT NULL \
             AND ($2 IS NULL OR m.review_status = $2) AND ($3 IS NULL OR m.channel_id = $3) \
             AND ($5 IS NULL OR (m.created_at, m.seq, m.id) < (SELECT k.created_at, k.seq, k.id \
                 FROM messages k JOIN channels kc ON kc.id = k.channel_id \
                 WHERE k.id = $5 AND kc.owner_id = $1)) \
             ORDER BY m.created_at DESC, m.seq DESC, m.id DESC LIMIT $4"
        ))
        .bind(owner.as_str())
        .bind(status)
        .bind(channel.map(|c| c.as_str().to_owned()))
        .bind(limit + 1)
        .bind(cursor.map(|c| c.as_str().to_owned()))
        .fetch_all(&self.pool)
        .await?;
        let (data, more) = page_of(&rows, limit)?;
        let next_cursor = if more {
            data.last().map(|m| m.id.to_string())
        } else {
            None
        };
        Ok(Page {
            data,
            next_cursor,
            next_after: None,
        })
    }

    /// The iteration chain containing a message, oldest iteration first (just the message
    /// when it has no chain). `None` if the message is not in the channel.
    pub async fn iteration_chain(
        &self,
        channel: &ChannelId,
        id: &MessageId,
    ) -> Result<Option<(String, Vec<Message>)>, StoreError> {
        let Some(m) = self.message_in_channel(channel, id).await? else {
            return Ok(None);
        };
        let Some(group) = m.iteration_group_id.clone() else {
            return Ok(Some((m.id.to_string(), vec![m])));
        };
        let rows = sqlx::query(&format!(
            "SELECT {} FROM messages WHERE iteration_group_id = $1 AND channel_id = $2 ORDER BY iteration ASC",
            rows::MESSAGE_COLS
        ))
        .bind(&group)
        .bind(channel.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((
            group,
            rows.iter().map(rows::message).collect::<Result<_, _>>()?,
        )))
    }
}

/// The messages of a page read with `LIMIT limit + 1`: at most `limit` of them, and whether
/// there were more.
fn page_of(rows: &[sqlx::any::AnyRow], limit: i64) -> Result<(Vec<Message>, bool), StoreError> {
    let mut data = rows
        .iter()
        .map(rows::message)
        .collect::<Result<Vec<_>, _>>()?;
    let more = data.len() as i64 > limit;
    data.truncate(limit as usize);
    Ok((data, more))
}
