//! Messages: posting (agents and humans), reading, paging, deleting, acknowledging.

use super::{App, AppError, Missing};
use assent_core::attachment::AttachmentId;
use assent_core::model::{DeliveryStatus, Message, Principal, SenderType, StreamState};
use assent_core::review::Review;
use assent_core::validate::{Checker, MAX_CLIENT_ID_CHARS, MAX_TEXT_CHARS};
use assent_core::{ChannelId, MessageId, UserId};
use assent_store::{MessageQuery, NewMessage, Page};
use serde_json::Value;

/// `POST /api/v1/messages`, unvalidated.
#[derive(Debug, Default)]
pub struct AgentMessageInput {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub status: Option<String>,
    pub review: Option<Value>,
    pub metadata: Option<Value>,
    pub webhook_url: Option<String>,
    pub attachment_ids: Option<Vec<String>>,
    pub text_attachments: Option<Vec<Value>>,
    pub client_id: Option<String>,
    pub stream_id: Option<String>,
    pub stream_state: Option<String>,
    pub iteration_of: Option<String>,
}

/// `POST /api/messages`, unvalidated.
#[derive(Debug, Default)]
pub struct UserMessageInput {
    pub channel_id: Option<String>,
    pub text: Option<String>,
    pub attachment_ids: Option<Vec<String>>,
    pub client_id: Option<String>,
}

/// Query of a message listing, unvalidated.
#[derive(Debug, Default)]
pub struct ListInput {
    pub channel: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub after: Option<String>,
    pub search: Option<String>,
    pub has_attachments: Option<String>,
}

/// Streaming drafts open at once in one channel, and across all of a user's channels.
pub const MAX_OPEN_DRAFTS_PER_CHANNEL: i64 = 8;
pub const MAX_OPEN_DRAFTS_PER_USER: i64 = 32;

const EMPTY_MESSAGE: &str =
    "Message must contain at least one of: text, review, status, attachmentIds, or textAttachments";

/// A listing's `limit` (`None`: `default`). Like Placet, more than 100 means 100.
pub(super) fn page_limit(c: &mut Checker, raw: Option<&str>, default: i64) -> i64 {
    match raw {
        None => default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 1 => n.min(100),
            _ => {
                c.fail(
                    "limit",
                    "must be a positive integer (at most 100 are returned)",
                );
                default
            }
        },
    }
}

/// A listing's `cursor`: the id of the last message of the previous page (empty: none).
pub(super) fn page_cursor(c: &mut Checker, raw: Option<String>) -> Option<MessageId> {
    let s = raw.filter(|s| !s.is_empty())?;
    let id = MessageId::parse(&s);
    if id.is_none() {
        c.fail("cursor", "is not a message id");
    }
    id
}

fn parse_i64(c: &mut Checker, path: &str, v: Option<String>, min: i64, max: i64) -> Option<i64> {
    let s = v?;
    match s.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            c.fail(path, format!("must be an integer between {min} and {max}"));
            None
        }
    }
}

/// `attachmentIds`: plausible file ids (whether each may be attached is the store's to say,
/// naming the same paths).
fn check_attachment_ids(c: &mut Checker, v: Option<Vec<String>>) -> Vec<AttachmentId> {
    let list = v.unwrap_or_default();
    if list.len() > MAX_ATTACHMENTS {
        c.fail(
            "attachmentIds",
            format!("at most {MAX_ATTACHMENTS} files per message"),
        );
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        match AttachmentId::parse(raw) {
            Some(id) => out.push(id),
            None => c.fail(
                format!("attachmentIds[{i}]"),
                "is not a file of this channel",
            ),
        }
    }
    out
}

/// Most files one message may carry.
pub const MAX_ATTACHMENTS: usize = 20;

/// `iterationOf`: a plausible message id (whether it exists is the store's to say).
fn check_iteration_of(c: &mut Checker, v: Option<String>) -> Option<MessageId> {
    let s = v.filter(|s| !s.is_empty())?;
    let id = MessageId::parse(&s);
    if id.is_none() {
        c.fail(
            "iterationOf",
            "iterationOf target does not exist in this channel",
        );
    }
    id
}

/// Placet reads a per-message callback from `metadata.webhookUrl` as well as from
/// `webhookUrl`: both are validated the same way, and `webhookUrl` lands in the metadata.
fn check_webhook_urls(c: &mut Checker, metadata: &mut Option<Value>, webhook_url: Option<String>) {
    match metadata.as_ref().and_then(|m| m.get("webhookUrl")) {
        None | Some(Value::Null) => {}
        Some(Value::String(u)) => {
            c.opt_url("metadata.webhookUrl", Some(u.clone()));
        }
        Some(_) => c.fail("metadata.webhookUrl", "must be a string"),
    }
    if let Some(url) = c.opt_url("webhookUrl", webhook_url) {
        let m = metadata.get_or_insert_with(|| Value::Object(Default::default()));
        if let Some(obj) = m.as_object_mut() {
            obj.insert("webhookUrl".into(), Value::from(url));
        }
    }
}

impl App {
    /// `review`: a pending review, its errors (with paths) added to `c`.
    fn check_review(&self, c: &mut Checker, v: Option<Value>) -> Option<Review> {
        let r = v.filter(|r| !r.is_null())?;
        match Review::create(&r, self.now(), self.settings.review_limits) {
            Ok(review) => Some(review),
            Err(e) => {
                for f in e.errors {
                    c.fail(f.path, f.message);
                }
                None
            }
        }
    }
}

impl App {
    /// An agent posts into one of its user's channels. Returns the message and whether it
    /// was created now (`false`: an earlier message with the same `clientId`).
    pub async fn post_agent_message(
        &self,
        who: &Principal,
        input: AgentMessageInput,
    ) -> Result<(Message, bool), AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", input.channel_id);
        let text = c.opt_text("text", input.text, MAX_TEXT_CHARS);
        let status = c.message_status("status", input.status);
        let mut metadata = c.opt_object("metadata", input.metadata);
        let has_review = input.review.as_ref().is_some_and(|r| !r.is_null());
        self.check_plugin_data(&mut c, &mut metadata, input.review.as_ref());
        let review = self.check_review(&mut c, input.review);
        let iteration_of = check_iteration_of(&mut c, input.iteration_of);
        check_webhook_urls(&mut c, &mut metadata, input.webhook_url);
        let client_id = c.opt_token("clientId", input.client_id, MAX_CLIENT_ID_CHARS);
        let stream_id = c.opt_token("streamId", input.stream_id, MAX_CLIENT_ID_CHARS);
        let stream_state = c.stream_state("streamState", input.stream_state);
        let attachment_ids = check_attachment_ids(&mut c, input.attachment_ids);
        let texts = App::check_text_files(&mut c, input.text_attachments);
        if attachment_ids.len() + texts.len() > MAX_ATTACHMENTS {
            c.fail(
                "textAttachments",
                format!("a message carries at most {MAX_ATTACHMENTS} files"),
            );
        }
        if text.is_none()
            && !has_review
            && status.is_none()
            && attachment_ids.is_empty()
            && texts.is_empty()
            && stream_id.is_none()
        {
            c.fail("", EMPTY_MESSAGE);
        }
        c.finish()?;
        let (channel, info) = self.owned_channel(&who.user_id, channel.as_str()).await?;
        if let (Some(sid), Some(StreamState::Streaming)) = (&stream_id, stream_state) {
            self.check_draft_room(&who.user_id, &channel, sid).await?;
        }
        let new = NewMessage {
            sender_id: channel.to_string(),
            channel_id: channel,
            sender_type: SenderType::Agent,
            text,
            status,
            review,
            metadata,
            client_id,
            stream_id,
            stream_state,
            iteration_of,
            attachment_ids,
            files: Vec::new(),
        };
        let mut new = new;
        new.files = self
            .put_texts(texts, SenderType::Agent, &new.channel_id)
            .await?;
        self.create(new, Some(info.name)).await
    }

    /// A human posts into one of their channels.
    pub async fn post_user_message(
        &self,
        user: &UserId,
        input: UserMessageInput,
    ) -> Result<(Message, bool), AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", input.channel_id);
        let text = c.opt_text("text", input.text, MAX_TEXT_CHARS);
        let client_id = c.opt_token("clientId", input.client_id, MAX_CLIENT_ID_CHARS);
        let attachment_ids = check_attachment_ids(&mut c, input.attachment_ids);
        if text.as_deref().is_none_or(|t| t.trim().is_empty()) && attachment_ids.is_empty() {
            c.fail("text", "is required");
        }
        c.finish()?;
        let (channel, _) = self.owned_channel(user, channel.as_str()).await?;
        let new = NewMessage {
            channel_id: channel,
            sender_type: SenderType::User,
            sender_id: user.to_string(),
            text,
            status: None,
            review: None,
            metadata: None,
            client_id,
            stream_id: None,
            stream_state: None,
            iteration_of: None,
            attachment_ids,
            files: Vec::new(),
        };
        self.create(new, None).await
    }

    /// Refuses a new streaming draft past [`MAX_OPEN_DRAFTS_PER_CHANNEL`] or
    /// [`MAX_OPEN_DRAFTS_PER_USER`] open ones (each holds up to 400 KB in memory until it
    /// completes or goes idle). Re-posting an existing draft is not a new one.
    async fn check_draft_room(
        &self,
        user: &UserId,
        channel: &ChannelId,
        stream_id: &str,
    ) -> Result<(), AppError> {
        let (here, total) = self.store.open_drafts(user, channel).await?;
        if here < MAX_OPEN_DRAFTS_PER_CHANNEL && total < MAX_OPEN_DRAFTS_PER_USER {
            return Ok(());
        }
        if self.store.draft(channel, stream_id).await?.is_some() {
            return Ok(());
        }
        Err(super::Limit::OpenStreams {
            per_channel: MAX_OPEN_DRAFTS_PER_CHANNEL,
            per_user: MAX_OPEN_DRAFTS_PER_USER,
        }
        .into())
    }

    pub(super) async fn create(
        &self,
        new: NewMessage,
        agent_name: Option<String>,
    ) -> Result<(Message, bool), AppError> {
        match self.store.create_message(new, agent_name, self.now()).await {
            Ok(r) => {
                self.remember_draft(&r.0);
                Ok(r)
            }
            // The channel vanished between the ownership check and the write.
            Err(assent_store::StoreError::NotFound) => Err(AppError::NotYourAgent),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list_messages(&self, user: &UserId, q: ListInput) -> Result<Page, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channel", q.channel);
        let limit = page_limit(&mut c, q.limit.as_deref().map(str::trim), 50);
        let after = parse_i64(&mut c, "after", q.after, 0, i64::MAX);
        let cursor = page_cursor(&mut c, q.cursor);
        if cursor.is_some() && after.is_some() {
            c.fail("after", "cannot be combined with cursor");
        }
        let search = c.opt_text("search", q.search, 200);
        let has_attachments = match q.has_attachments.as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                c.fail("has_attachments", "must be true or false");
                false
            }
        };
        c.finish()?;
        let (channel_id, _) = self.owned_channel(user, channel.as_str()).await?;
        Ok(self
            .store
            .list_messages(MessageQuery {
                channel_id,
                limit,
                cursor,
                after,
                search,
                has_attachments,
            })
            .await?)
    }

    /// The status steps of the streamed messages of a page (Placet's `statusEvents`).
    pub async fn status_steps_of(
        &self,
        page: &Page,
    ) -> Result<std::collections::HashMap<String, Vec<assent_core::StatusStep>>, AppError> {
        let streams: Vec<String> = page
            .data
            .iter()
            .filter_map(|m| m.stream_id.clone())
            .collect();
        match page.data.first() {
            Some(m) if !streams.is_empty() => {
                Ok(self.store.status_steps(&m.channel_id, &streams).await?)
            }
            _ => Ok(Default::default()),
        }
    }

    /// A message of one of the user's channels. `channel` is optional for humans (the
    /// message's own channel is checked instead).
    pub async fn get_message(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<Message, AppError> {
        let id = MessageId::parse(id).ok_or(AppError::NotFound(Missing::Message))?;
        match channel {
            Some(ch) => {
                let (ch, _) = self.owned_channel(user, ch).await?;
                self.store
                    .message_in_channel(&ch, &id)
                    .await?
                    .ok_or(AppError::NotFound(Missing::Message))
            }
            None => {
                let m = self
                    .store
                    .message_by_id(&id)
                    .await?
                    .ok_or(AppError::NotFound(Missing::Message))?;
                // Foreign messages look like missing ones.
                self.owned_channel(user, m.channel_id.as_str())
                    .await
                    .map_err(|_| AppError::NotFound(Missing::Message))?;
                Ok(m)
            }
        }
    }

    pub async fn delete_message(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<(), AppError> {
        let m = self
            .get_message(user, Some(require_channel(channel)?), id)
            .await?;
        self.store
            .delete_message(&m.channel_id, &m.id, self.now())
            .await?
            .ok_or(AppError::NotFound(Missing::Message))?;
        if !m.attachments.is_empty() {
            self.files_doomed();
        }
        Ok(())
    }

    /// The agent acknowledges a message: `deliveryStatus` becomes `agent_received`.
    pub async fn ack_message(
        &self,
        user: &UserId,
        channel: Option<&str>,
        id: &str,
    ) -> Result<(), AppError> {
        let m = self
            .get_message(user, Some(require_channel(channel)?), id)
            .await?;
        self.store
            .set_delivery_status(
                &m.channel_id,
                &m.id,
                DeliveryStatus::AgentReceived,
                self.now(),
            )
            .await?
            .ok_or(AppError::NotFound(Missing::Message))?;
        Ok(())
    }
}

fn require_channel(channel: Option<&str>) -> Result<&str, AppError> {
    match channel {
        Some(c) if !c.is_empty() => Ok(c),
        _ => Err(assent_core::ValidationError::single("channel", "is required").into()),
    }
}
