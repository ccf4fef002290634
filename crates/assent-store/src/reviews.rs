//! Reviews in the store: answer and expire (load, ask `Review`, write, log), deadlines for
//! the expiry job, listings, and iteration chains.

use crate::db::{self, Conn};
use crate::events;
use crate::messages::{load, page_of};
use crate::{Page, Rejection, Store, StoreError, rows};
use assent_core::model::Message;
use assent_core::review::{Refusal, Reply, Review, ReviewStatus};
use assent_core::{ChannelId, DomainEvent, MessageId, Millis, UserId};

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
    ChangesRequested,
    All,
}

/// The group and number of a new iteration of `target` (Placet §4.8): the target must be a
/// review of the same channel that is settled (completed, expired or changes requested); the
/// root is back-filled as iteration 1 when the first follow-up is created.
pub(crate) async fn next_iteration(
    conn: &mut Conn,
    channel: &ChannelId,
    target: &MessageId,
) -> Result<(String, i64), StoreError> {
    let row = db::query(
        "SELECT review_status, iteration_group_id FROM messages WHERE id = $1 AND channel_id = $2",
    )
    .bind(target.as_str())
    .bind(channel.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Rejection::IterationTargetMissing)?;
    let status = row.get::<Option<String>>("review_status")?;
    let settled = status
        .as_deref()
        .and_then(ReviewStatus::parse)
        .is_some_and(ReviewStatus::is_settled);
    if !settled {
        return Err(Rejection::IterationTargetOpen.into());
    }
    let group = match row.get::<Option<String>>("iteration_group_id")? {
        Some(g) => g,
        None => {
            db::query("UPDATE messages SET iteration_group_id = $1, iteration = 1 WHERE id = $1")
                .bind(target.as_str())
                .execute(&mut *conn)
                .await?;
            target.to_string()
        }
    };
    let max: Option<i64> =
        db::query_scalar("SELECT MAX(iteration) FROM messages WHERE iteration_group_id = $1")
            .bind(&group)
            .fetch_one(&mut *conn)
            .await?;
    Ok((group, max.unwrap_or(1) + 1))
}

/// Writes a review's new JSON and status.
async fn save_review(
    conn: &mut Conn,
    m: &Message,
    status: ReviewStatus,
    now: Millis,
) -> Result<(), StoreError> {
    db::query("UPDATE messages SET review = $3, review_status = $4, updated_at = $5 WHERE id = $1 AND channel_id = $2")
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
    conn: &mut Conn,
    events: &mut crate::events::Events,
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
        self.write(&key, async move |conn, events| {
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
            let status = answered.status;
            m.review = Some(answered);
            m.updated_at = now;
            save_review(conn, &m, status, now).await?;
            let ev = DomainEvent::ReviewResponded {
                message: Box::new(m.clone()),
            };
            events::append(conn, events, &channel, ev, now).await?;
            Ok(RespondOutcome::Answered(Box::new(m)))
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
        self.write(&key, async move |conn, events| {
            let Some(m) = load(conn, &channel, &id).await? else {
                return Ok(None);
            };
            let Some(expired) = m.review.as_ref().and_then(|r| r.expire(now)) else {
                return Ok(Some(false));
            };
            save_expired(conn, events, m, expired, now).await?;
            Ok(Some(true))
        })
        .await
    }

    /// Pending reviews whose deadline is at or before `now` (uses the pending-deadline index).
    pub async fn due_reviews(
        &self,
        now: Millis,
        limit: i64,
    ) -> Result<Vec<(ChannelId, MessageId)>, StoreError> {
        let rows = db::query(
            "SELECT channel_id, id FROM messages WHERE review_status = 'pending' AND review_expires_at <= $1 \
             ORDER BY review_expires_at ASC LIMIT $2",
        )
        .bind(now.0)
        .bind(limit)
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter()
            .map(|r| Ok((r.get("channel_id")?, r.get("id")?)))
            .collect()
    }

    /// The earliest deadline of any pending review.
    pub async fn next_review_deadline(&self) -> Result<Option<Millis>, StoreError> {
        let t: Option<i64> = db::query_scalar(
            "SELECT MIN(review_expires_at) FROM messages WHERE review_status = 'pending'",
        )
        .fetch_one(&mut self.read().await?)
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
            ReviewFilter::ChangesRequested => Some("changes_requested"),
            ReviewFilter::All => None,
        };
        let cols = rows::MESSAGE_COLS
            .split(", ")
            .map(|c| format!("m.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = db::query(&format!(
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
        .fetch_all(&mut self.read().await?)
        .await?;
        let (data, more) = page_of(&mut self.read().await?, &rows, limit).await?;
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
        let rows = db::query(&format!(
            "SELECT {} FROM messages WHERE iteration_group_id = $1 AND channel_id = $2 ORDER BY iteration ASC",
            rows::MESSAGE_COLS
        ))
        .bind(&group)
        .bind(channel.as_str())
        .fetch_all(&mut self.read().await?)
        .await?;
        let chain = crate::attachments::messages(&mut self.read().await?, &rows).await?;
        Ok(Some((group, chain)))
    }
}
