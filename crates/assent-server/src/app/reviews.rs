//! Reviews: answering (first answer wins, validated against the review), expiry at the
//! deadline, the event-driven long-poll, listings and iteration chains.

use super::{App, AppError, Missing};
use assent_core::ValidationError;
use assent_core::model::Message;
use assent_core::review::{MAX_FEEDBACK, Reply, ReviewStatus};
use assent_core::validate::Checker;
use assent_core::{MessageId, UserId};
use assent_store::{Page, RespondOutcome, ReviewFilter};
use serde_json::Value;
use std::time::Duration;

/// Paging of review listings: `limit` (at most 100, the default) and `cursor` (the previous
/// page's last message id, handed out as `X-Next-Cursor`).
#[derive(Debug, Default)]
pub struct ReviewPage {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl ReviewPage {
    fn check(self, c: &mut Checker) -> (i64, Option<MessageId>) {
        let limit =
            super::messages::page_limit(c, self.limit.as_deref().filter(|s| !s.is_empty()), 100);
        let cursor = super::messages::page_cursor(c, self.cursor);
        (limit, cursor)
    }
}

/// How a long-poll ended.
#[derive(Debug)]
pub enum WaitOutcome {
    Completed(Message),
    Expired(Message),
    ChangesRequested(Message),
    Timeout,
}

/// The body of an answer, unchecked.
#[derive(Debug, Default)]
pub struct RespondInput {
    pub response: Option<Value>,
    pub feedback: Option<Value>,
    pub modified_file_ids: Option<Value>,
    /// `requestChanges: true`: ask for changes (with `feedback`) instead of answering.
    pub request_changes: Option<Value>,
}

impl RespondInput {
    /// Checks the shape; the review's own rules come later (`Review::respond`).
    fn check(self) -> Result<Reply, ValidationError> {
        let mut c = Checker::new();
        let request_changes = match self.request_changes {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                c.fail("requestChanges", "must be a boolean");
                false
            }
        };
        let response = match self.response {
            Some(r @ Value::Object(_)) => r,
            None | Some(Value::Null) if request_changes => Value::Null,
            None | Some(Value::Null) => {
                c.fail("response", "is required");
                Value::Null
            }
            Some(_) => {
                c.fail("response", "must be an object");
                Value::Null
            }
        };
        let feedback = match self.feedback {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() <= MAX_FEEDBACK => Some(s),
            Some(Value::String(_)) => {
                c.fail(
                    "feedback",
                    format!("must be at most {MAX_FEEDBACK} characters"),
                );
                None
            }
            Some(_) => {
                c.fail("feedback", "must be a string");
                None
            }
        };
        let modified_file_ids = match self.modified_file_ids {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) if m.values().all(Value::is_string) => Some(m),
            Some(_) => {
                c.fail("modifiedFileIds", "must be an object of attachment ids");
                None
            }
        };
        c.finish()?;
        Ok(Reply {
            response,
            feedback,
            modified_file_ids,
            request_changes,
        })
    }
}

impl App {
    /// A human answers a review, or asks for changes (`POST /api/messages/:id/respond`).
    pub async fn respond(
        &self,
        user: &UserId,
        id: &str,
        input: RespondInput,
    ) -> Result<Message, AppError> {
        let reply = input.check()?;
        let m = self.get_message(user, None, id).await?;
        self.check_modified_files(user, reply.modified_file_ids.as_ref())
            .await?;
        let outcome = self
            .store
            .respond_review(&m.channel_id, &m.id, self.now(), reply)
            .await?;
        match outcome {
            RespondOutcome::Answered(m) => {
                let m = *m;
                let status = m.review_status().map_or("", |s| s.as_str());
                tracing::info!(message_id = %m.id, channel_id = %m.channel_id, user_id = %user, status, "review answered");
                Ok(m)
            }
            RespondOutcome::Refused(r) => Err(AppError::Refused(r)),
            RespondOutcome::NoReview => Err(AppError::NotFound(Missing::Review)),
            RespondOutcome::NotFound => Err(AppError::NotFound(Missing::Message)),
        }
    }

    /// `GET /api/v1/reviews/:id?channel=`.
    pub async fn get_review(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<Message, AppError> {
        let m = self
            .get_message(user, Some(channel.unwrap_or_default()), id)
            .await?;
        if m.review.is_none() {
            return Err(AppError::NotFound(Missing::Review));
        }
        Ok(m)
    }

    /// Pending reviews of one channel (`GET /api/v1/reviews/pending?channel=`).
    /// `GET /api/v1/reviews/pending?channel=&limit=&cursor=`.
    pub async fn pending_reviews(
        &self,
        user: &UserId,
        channel: Option<&str>,
        page: ReviewPage,
    ) -> Result<Page, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channel", channel.map(str::to_owned));
        let (limit, cursor) = page.check(&mut c);
        c.finish()?;
        let (ch, _) = self.owned_channel(user, channel.as_str()).await?;
        Ok(self
            .store
            .list_reviews(
                user,
                Some(&ch),
                ReviewFilter::Pending,
                limit,
                cursor.as_ref(),
            )
            .await?)
    }

    /// Reviews across the user's channels (`GET /api/messages/reviews?status=&channel=`),
    /// newest first, a page at a time.
    pub async fn list_reviews(
        &self,
        user: &UserId,
        status: Option<&str>,
        channel: Option<&str>,
        page: ReviewPage,
    ) -> Result<Page, AppError> {
        let mut c = Checker::new();
        let filter = match status.unwrap_or("all") {
            "pending" => ReviewFilter::Pending,
            "completed" => ReviewFilter::Completed,
            "expired" => ReviewFilter::Expired,
            "changes_requested" => ReviewFilter::ChangesRequested,
            "all" | "" => ReviewFilter::All,
            _ => {
                c.fail(
                    "status",
                    "must be one of: pending, completed, expired, changes_requested, all",
                );
                ReviewFilter::All
            }
        };
        let (limit, cursor) = page.check(&mut c);
        c.finish()?;
        let ch = match channel.filter(|c| !c.is_empty()) {
            Some(c) => Some(self.owned_channel(user, c).await?.0),
            None => None,
        };
        Ok(self
            .store
            .list_reviews(user, ch.as_ref(), filter, limit, cursor.as_ref())
            .await?)
    }

    /// The iteration chain of a message (`{groupId, iterations}`).
    pub async fn iterations(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<(String, Vec<Message>), AppError> {
        let m = self.get_message(user, channel, id).await?;
        self.store
            .iteration_chain(&m.channel_id, &m.id)
            .await?
            .ok_or(AppError::NotFound(Missing::Message))
    }

    /// The long-poll timeout in milliseconds: default and cap are the configured maximum.
    /// As in Placet, a missing, non-numeric or non-positive value means the default.
    pub fn wait_timeout(&self, raw: Option<&str>) -> Duration {
        let cap = self.settings.review_wait_max_ms;
        let ms = raw
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map_or(cap, |ms| ms.min(cap));
        Duration::from_millis(ms)
    }

    /// Waits until the review is answered or expires, or `timeout` passes. Registers for the
    /// wake-up before reading, so an answer that commits in between is not missed.
    pub async fn wait_review(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
        timeout: Duration,
    ) -> Result<WaitOutcome, AppError> {
        let mid = MessageId::parse(id).ok_or(AppError::NotFound(Missing::Message))?;
        let guard = self.waiters.register(&mid);
        let m = self.get_review(user, channel, id).await?;
        // Sleep no longer than the review's deadline: then it is expired on the spot.
        let sleep = m
            .review_deadline()
            .map(|d| Duration::from_millis((d.0 - self.now().0).max(0) as u64))
            .map_or(timeout, |d| d.min(timeout));
        if let Some(done) = self.settled(m).await? {
            return Ok(done);
        }
        let mut guard = guard;
        let _ = tokio::time::timeout(sleep, &mut guard.rx).await;
        let m = self.get_review(user, channel, id).await?;
        Ok(self.settled(m).await?.unwrap_or(WaitOutcome::Timeout))
    }

    /// The final state of a review, expiring it on the spot if its deadline passed.
    async fn settled(&self, m: Message) -> Result<Option<WaitOutcome>, AppError> {
        match m.review_status() {
            Some(ReviewStatus::Completed) => Ok(Some(WaitOutcome::Completed(m))),
            Some(ReviewStatus::Expired) => Ok(Some(WaitOutcome::Expired(m))),
            Some(ReviewStatus::ChangesRequested) => Ok(Some(WaitOutcome::ChangesRequested(m))),
            Some(ReviewStatus::Pending) if m.review_deadline().is_some_and(|d| d <= self.now()) => {
                self.store
                    .expire_review(&m.channel_id, &m.id, self.now())
                    .await?;
                let m = self
                    .store
                    .message_in_channel(&m.channel_id, &m.id)
                    .await?
                    .ok_or(AppError::NotFound(Missing::Message))?;
                // Answered in between, or expired now.
                Ok(match m.review_status() {
                    Some(ReviewStatus::Completed) => Some(WaitOutcome::Completed(m)),
                    Some(ReviewStatus::ChangesRequested) => Some(WaitOutcome::ChangesRequested(m)),
                    _ => Some(WaitOutcome::Expired(m)),
                })
            }
            _ => Ok(None),
        }
    }

    /// Expires every review whose deadline has passed. Returns how many expired now.
    /// Driven by the expiry job (and by tests with a manual clock).
    pub async fn expire_due_reviews(&self) -> Result<u64, AppError> {
        let now = self.now();
        let mut n = 0;
        loop {
            let due = self.store.due_reviews(now, 500).await?;
            let batch = due.len();
            for (ch, id) in due {
                if self.store.expire_review(&ch, &id, now).await? == Some(true) {
                    tracing::info!(message_id = %id, channel_id = %ch, "review expired unanswered");
                    n += 1;
                }
            }
            if batch < 500 {
                return Ok(n);
            }
        }
    }
}
