//! The per-channel event log: appending (inside a writer job) and reading for replay.

use crate::db::{self, Conn};
use crate::writer::{BeforeCommit, BoxFut};
use crate::{Store, StoreError};
use assent_core::{ChannelId, DomainEvent, LoggedEvent, Millis, UserId};

/// An event that has committed, with the owner of its channel (for user-level routing).
#[derive(Clone, Debug, PartialEq)]
pub struct CommittedEvent {
    pub owner_id: UserId,
    pub event: LoggedEvent,
}

/// Events appended by one job; they reach the bus only if the job's transaction commits.
#[derive(Default)]
pub(crate) struct Events(pub(crate) Vec<CommittedEvent>);

impl Events {
    pub(crate) fn push(&mut self, e: CommittedEvent) {
        self.0.push(e);
    }
}

/// The first before-commit step: a batch's events, into the log (see `insert_all`).
pub(crate) struct WriteLog;

impl BeforeCommit for WriteLog {
    fn run<'c>(
        &'c self,
        conn: &'c mut Conn,
        events: &'c [CommittedEvent],
    ) -> BoxFut<'c, Result<(), StoreError>> {
        Box::pin(insert_all(conn, events))
    }
}

/// A slice of a channel's log, for replay.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    /// Events with `seq` in the requested range, ascending.
    pub events: Vec<LoggedEvent>,
    /// The oldest `seq` the log still holds for the channel (`head + 1` when it holds none).
    pub oldest_seq: i64,
    /// The channel's head `seq` when the page was read.
    pub head_seq: i64,
}

/// Takes the next `seq` of a channel. Must be followed by `log` in the same job.
/// `activity` moves the channel's `last_event_at` (the dashboard's sort key).
pub(crate) async fn next_seq(
    conn: &mut Conn,
    channel_id: &ChannelId,
    now: Millis,
    activity: bool,
) -> Result<(i64, UserId), StoreError> {
    let row = db::query(
        "UPDATE channels SET head_seq = head_seq + 1, \
         last_event_at = CASE WHEN $3 THEN $2 ELSE last_event_at END WHERE id = $1 \
         RETURNING head_seq, owner_id",
    )
    .bind(channel_id.as_str())
    .bind(now.0)
    .bind(activity)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok((row.get::<i64>("head_seq")?, row.get("owner_id")?))
}

/// Writes an event at `seq` (taken with `next_seq`) and queues it for publication.
pub(crate) async fn log(
    _conn: &mut Conn,
    events: &mut Events,
    channel_id: &ChannelId,
    seq: i64,
    owner_id: UserId,
    event: DomainEvent,
    now: Millis,
) -> Result<(), StoreError> {
    // The row itself is written by the writer with the rest of the batch's events, in one
    // multi-row INSERT just before the commit (no job reads the events table).
    events.push(CommittedEvent {
        owner_id,
        event: LoggedEvent {
            channel_id: channel_id.clone(),
            seq,
            at: now,
            event,
        },
    });
    Ok(())
}

/// Rows per multi-row INSERT (5 parameters each, well under every backend's limit).
const EVENTS_PER_INSERT: usize = 500;

/// Writes the batch's events (inside the batch's transaction).
pub(crate) async fn insert_all(conn: &mut Conn, list: &[CommittedEvent]) -> Result<(), StoreError> {
    for chunk in list.chunks(EVENTS_PER_INSERT) {
        let mut sql =
            String::from("INSERT INTO events (channel_id, seq, kind, payload, created_at) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 5;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            ));
        }
        let mut q = db::query(&sql);
        for e in chunk {
            q = q
                .bind(e.event.channel_id.as_str())
                .bind(e.event.seq)
                .bind(e.event.event.name())
                .bind(serde_json::to_string(&e.event.event)?)
                .bind(e.event.at.0);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends one event that does not need its `seq` beforehand.
pub(crate) async fn append(
    conn: &mut Conn,
    events: &mut Events,
    channel_id: &ChannelId,
    event: DomainEvent,
    now: Millis,
) -> Result<i64, StoreError> {
    let (seq, owner) = next_seq(conn, channel_id, now, false).await?;
    log(conn, events, channel_id, seq, owner, event, now).await?;
    Ok(seq)
}

impl Store {
    /// Events of `channel_id` with `after < seq <= upto`, ascending, at most `limit`.
    pub async fn events_between(
        &self,
        channel_id: &ChannelId,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = db::query(
            "SELECT seq, payload, created_at FROM events WHERE channel_id = $1 AND seq > $2 AND seq <= $3 \
             ORDER BY seq ASC LIMIT $4",
        )
        .bind(channel_id.as_str())
        .bind(after)
        .bind(upto)
        .bind(limit)
        .fetch_all(&mut self.read().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LoggedEvent {
                    channel_id: channel_id.clone(),
                    seq: row.get("seq")?,
                    at: row.get("created_at")?,
                    event: row.get("payload")?,
                })
            })
            .collect()
    }

    /// The head `seq` and the oldest retained `seq` of a channel, or `NotFound`.
    pub async fn log_bounds(&self, channel_id: &ChannelId) -> Result<(i64, i64), StoreError> {
        let row = db::query(
            "SELECT c.head_seq AS head_seq, (SELECT MIN(e.seq) FROM events e WHERE e.channel_id = c.id) AS oldest \
             FROM channels c WHERE c.id = $1",
        )
        .bind(channel_id.as_str())
        .fetch_optional(&mut self.read().await?)
        .await?
        .ok_or(StoreError::NotFound)?;
        let head = row.get::<i64>("head_seq")?;
        let oldest = row.get::<Option<i64>>("oldest")?.unwrap_or(head + 1);
        Ok((head, oldest))
    }

    /// Drops events beyond the newest `keep` of every channel. Returns how many were removed.
    pub async fn prune_events(&self, keep: i64, max_rows: i64) -> Result<u64, StoreError> {
        self.write("", async move |conn, _| {
                    let r = db::query(
                        "DELETE FROM events WHERE (channel_id, seq) IN (\
                           SELECT e.channel_id, e.seq FROM events e JOIN channels c ON c.id = e.channel_id \
                           WHERE e.seq <= c.head_seq - $1 LIMIT $2)",
                    )
                    .bind(keep)
                    .bind(max_rows)
                    .execute(&mut *conn)
                    .await?;
                    Ok(r.rows_affected())
            })
            .await
    }
}
