//! Streamed replies. Agents create a draft (`POST /api/v1/messages` with `streamId`), then
//! send deltas (REST or Socket.IO `message:delta`) and/or full-text PATCHes, and finally
//! complete or abort it. Deltas are appended to an in-memory buffer, fanned out at once as
//! ephemeral events (`message:delta`, thread `text_delta`), and persisted coalesced by the
//! flush job; completion persists the exact final text. In cluster mode any node may take
//! the next delta, so each is appended to the draft's row instead (see `cluster_delta`).

use super::hub::Ephemeral;
use super::{App, AppError};
use assent_core::model::{Message, Principal, StreamState};
use assent_core::validate::{Checker, MAX_CLIENT_ID_CHARS, MAX_TEXT_CHARS};
use assent_core::{ChannelId, StatusStep};
use assent_store::{Rejection, StoreError};
use std::sync::Arc;

/// The live text of a draft being streamed.
#[derive(Debug)]
pub struct Draft {
    pub message_id: assent_core::MessageId,
    pub text: String,
    pub deltas: u64,
    pub dirty: bool,
    /// Length of the text the last logged save carried (see [`App::flush_drafts`]).
    pub logged_len: usize,
    pub started_at: assent_core::Millis,
    pub created_seq: i64,
}

type DraftKey = (ChannelId, String);

/// Delta input, unvalidated.
#[derive(Debug, Default)]
pub struct DeltaInput {
    pub channel_id: Option<String>,
    pub stream_id: Option<String>,
    pub delta: Option<String>,
    /// `streamEnd`: the last delta of the stream (its text may then be empty).
    pub end: Option<bool>,
}

impl DeltaInput {
    /// A Socket.IO `message:delta` relay. Placet's payload names the draft `streamBaseId`
    /// (and `streamId` = "<base>:<n>").
    pub fn from_relay(payload: &serde_json::Value) -> Self {
        let s = |k: &str| {
            payload
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let stream_id = s("streamBaseId").or_else(|| {
            s("streamId").map(|id| id.split(':').next().unwrap_or_default().to_owned())
        });
        DeltaInput {
            channel_id: s("channelId"),
            stream_id,
            delta: s("delta"),
            end: payload
                .get("streamEnd")
                .and_then(serde_json::Value::as_bool),
        }
    }
}

fn stream_error(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound => AppError::NotFound(super::Missing::Stream),
        e => e.into(),
    }
}

impl App {
    pub(crate) fn remember_draft(&self, m: &Message) {
        self.remember_draft_at(m, m.seq)
    }

    /// `created_seq`: the event a delta must wait for (0 for drafts read back from the store,
    /// whose creation went out long ago).
    fn remember_draft_at(&self, m: &Message, created_seq: i64) {
        let Some(sid) = &m.stream_id else { return };
        if self.in_cluster() {
            // The text lives in the draft's row, where every node appends (cluster_delta).
            return;
        }
        if m.stream_state != Some(StreamState::Streaming) {
            self.drafts
                .lock()
                .expect("drafts lock poisoned")
                .remove(&(m.channel_id.clone(), sid.clone()));
            return;
        }
        self.drafts
            .lock()
            .expect("drafts lock poisoned")
            .entry((m.channel_id.clone(), sid.clone()))
            .or_insert_with(|| Draft {
                message_id: m.id.clone(),
                text: m.text.clone().unwrap_or_default(),
                deltas: 0,
                dirty: false,
                logged_len: m.text.as_deref().map_or(0, str::len),
                started_at: m.created_at,
                created_seq,
            });
    }

    /// Appends a delta to a draft and fans it out. Used by REST and Socket.IO alike.
    pub async fn stream_delta(&self, who: &Principal, input: DeltaInput) -> Result<(), AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", input.channel_id);
        let stream_id = c.opt_token("streamId", input.stream_id, MAX_CLIENT_ID_CHARS);
        if stream_id.is_none() {
            c.fail("streamId", "is required");
        }
        let end = input.end.unwrap_or(false);
        let mut delta = c.opt_text("delta", input.delta, MAX_TEXT_CHARS);
        if delta.is_none() && end {
            delta = Some(String::new());
        }
        if delta.is_none() {
            c.fail("delta", "is required");
        }
        c.finish()?;
        let (channel, info) = self.owned_channel(&who.user_id, channel.as_str()).await?;
        let (stream_id, delta) = (stream_id.expect("checked"), delta.expect("checked"));
        if self.in_cluster() {
            return self
                .cluster_delta(channel, stream_id, delta, end, info.name)
                .await;
        }
        let key = (channel.clone(), stream_id.clone());
        let known = self
            .drafts
            .lock()
            .expect("drafts lock poisoned")
            .contains_key(&key);
        if !known {
            match self.store.draft(&channel, &stream_id).await? {
                Some(m) if m.stream_state == Some(StreamState::Streaming) => {
                    self.remember_draft(&m)
                }
                Some(_) => {
                    return Err(Rejection::StreamFinished.into());
                }
                None => return Err(AppError::NotFound(super::Missing::Stream)),
            }
        }
        let ev = {
            let mut drafts = self.drafts.lock().expect("drafts lock poisoned");
            let Some(d) = drafts.get_mut(&key) else {
                return Err(AppError::NotFound(super::Missing::Stream));
            };
            if d.text.len() + delta.len() > MAX_TEXT_CHARS * 4 {
                return Err(super::Limit::StreamText.into());
            }
            d.text.push_str(&delta);
            d.deltas += 1;
            d.dirty = true;
            Ephemeral::Delta {
                channel_id: channel.clone(),
                stream_id: stream_id.clone(),
                message_id: d.message_id.clone(),
                delta,
                n: d.deltas,
                started_at: d.started_at,
                after_seq: d.created_seq,
                end,
            }
        };
        self.publish_ephemeral(&ev);
        self.hub.dispatch_ephemeral(Arc::new(ev)).await;
        Ok(())
    }

    /// A delta in cluster mode: appended to the draft's row (whichever node created it), then
    /// handed to Redis before this returns, so that the stream's next delta, wherever it is
    /// sent, is published after it.
    async fn cluster_delta(
        &self,
        channel: ChannelId,
        stream_id: String,
        delta: String,
        end: bool,
        agent_name: String,
    ) -> Result<(), AppError> {
        let appended = self
            .store
            .append_draft_delta(
                &channel,
                &stream_id,
                delta.clone(),
                MAX_TEXT_CHARS * 4,
                Some(agent_name),
                self.now(),
            )
            .await
            .map_err(stream_error)?
            .ok_or(super::Limit::StreamText)?;
        let ev = Ephemeral::Delta {
            channel_id: channel,
            stream_id,
            message_id: appended.message_id,
            delta,
            n: appended.n,
            started_at: appended.started_at,
            after_seq: appended.created_seq,
            end,
        };
        self.publish_ephemeral_now(&ev).await;
        self.hub.dispatch_ephemeral(Arc::new(ev)).await;
        Ok(())
    }

    /// `PATCH /api/v1/messages/streams/:streamId`: full text and/or completion or abort.
    /// Completing without `text` persists the text the deltas built.
    pub async fn update_stream(
        &self,
        who: &Principal,
        stream_id: &str,
        channel: Option<String>,
        text: Option<String>,
        complete: Option<bool>,
        state: Option<String>,
    ) -> Result<Message, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", channel);
        let text = c.opt_text("text", text, MAX_TEXT_CHARS);
        let mut state = c.stream_state("streamState", state);
        if complete == Some(true) {
            state = Some(StreamState::Complete);
        }
        c.finish()?;
        let (channel, info) = self.owned_channel(&who.user_id, channel.as_str()).await?;
        let key = (channel.clone(), stream_id.to_owned());
        let finishing = matches!(state, Some(StreamState::Complete | StreamState::Aborted));
        let buffered = {
            let drafts = self.drafts.lock().expect("drafts lock poisoned");
            drafts.get(&key).map(|d| d.text.clone())
        };
        let text = match (text, finishing) {
            (Some(t), _) => Some(t),
            (None, true) => buffered,
            (None, false) => None,
        };
        let m = match self
            .store
            .update_stream(
                &channel,
                stream_id,
                text.clone(),
                state,
                Some(info.name),
                self.now(),
            )
            .await
        {
            Ok(m) => m,
            // A retried completion (or abort), e.g. after a timeout: the stream already ended
            // that way with that text, so the call is answered as the first one was.
            Err(e @ StoreError::Rejected(Rejection::StreamFinished)) if finishing => {
                match self.store.draft(&channel, stream_id).await? {
                    Some(m)
                        if m.stream_state == state
                            && text.as_ref().is_none_or(|t| m.text.as_ref() == Some(t)) =>
                    {
                        return Ok(m);
                    }
                    _ => return Err(stream_error(e)),
                }
            }
            Err(e) => return Err(stream_error(e)),
        };
        let mut drafts = self.drafts.lock().expect("drafts lock poisoned");
        if finishing {
            drafts.remove(&key);
        } else if let (Some(t), Some(d)) = (text, drafts.get_mut(&key)) {
            // A full-text PATCH replaces what the deltas built (and is logged).
            d.logged_len = t.len();
            d.text = t;
            d.dirty = false;
        }
        Ok(m)
    }

    /// `POST /api/v1/messages/streams/:streamId/status`.
    pub async fn stream_status(
        &self,
        who: &Principal,
        stream_id: &str,
        channel: Option<String>,
        text: Option<String>,
        tool_hint: Option<bool>,
    ) -> Result<StatusStep, AppError> {
        let mut c = Checker::new();
        let channel = c.channel_id("channelId", channel);
        let text = c.required_text("text", text, 2_000);
        if stream_id.is_empty() || stream_id.len() > MAX_CLIENT_ID_CHARS {
            c.fail("streamId", "must be 1 to 200 characters");
        }
        c.finish()?;
        let (channel, _) = self.owned_channel(&who.user_id, channel.as_str()).await?;
        Ok(self
            .store
            .append_status_step(
                &channel,
                stream_id,
                text,
                tool_hint.unwrap_or(false),
                self.now(),
            )
            .await?)
    }

    /// Persists buffered delta text (coalesced). Driven by the flush job, every 250 ms.
    ///
    /// A save is logged as `message:updated` (so that a client resuming mid-stream gets the
    /// text so far) only once the text has doubled since the last logged save; the others
    /// just update the row. The log thus holds at most about twice the final text per draft,
    /// instead of the text once per flush, and a resumed client is never more than half
    /// behind (the live deltas and the completion carry the rest).
    pub async fn flush_drafts(&self) -> Result<u64, AppError> {
        let dirty: Vec<(DraftKey, String, bool)> = {
            let mut drafts = self.drafts.lock().expect("drafts lock poisoned");
            drafts
                .iter_mut()
                .filter(|(_, d)| d.dirty)
                .map(|(k, d)| {
                    d.dirty = false;
                    let log = d.text.len() >= 2 * d.logged_len.max(1);
                    if log {
                        d.logged_len = d.text.len();
                    }
                    (k.clone(), d.text.clone(), log)
                })
                .collect()
        };
        let mut n = 0;
        for ((channel, stream_id), text, log) in dirty {
            let saved = if log {
                let name = self
                    .channels
                    .lock()
                    .expect("cache lock poisoned")
                    .get(&channel)
                    .map(|i| i.name.clone());
                self.store
                    .update_stream(&channel, &stream_id, Some(text), None, name, self.now())
                    .await
                    .map(|_| true)
            } else {
                self.store
                    .save_draft_text(&channel, &stream_id, text, self.now())
                    .await
            };
            match saved {
                Ok(true) => n += 1,
                // Completed, aborted or deleted meanwhile.
                Ok(false) | Err(StoreError::NotFound | StoreError::Rejected(_)) => {
                    self.drafts
                        .lock()
                        .expect("drafts lock poisoned")
                        .remove(&(channel, stream_id));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }

    /// Aborts drafts idle for longer than the configured time. Driven by the stale-draft job.
    pub async fn abort_stale_drafts(&self) -> Result<u64, AppError> {
        self.flush_drafts().await?;
        let now = self.now();
        let cutoff = now.plus_secs(-self.settings.draft_idle_secs);
        let mut n = 0;
        for (channel, stream_id) in self.store.stale_drafts(cutoff, 500).await? {
            if self
                .store
                .abort_stale_draft(&channel, &stream_id, cutoff, now)
                .await?
                .is_some()
            {
                tracing::info!(channel_id = %channel, stream_id = %stream_id, "aborted an idle streaming draft");
                n += 1;
            }
            self.drafts
                .lock()
                .expect("drafts lock poisoned")
                .remove(&(channel, stream_id));
        }
        Ok(n)
    }

    /// An ephemeral relay from an agent socket (`message:progress`, `agent:commands`):
    /// only into channels the agent's user owns. A `message:delta` goes to its draft
    /// (`stream_delta`).
    pub async fn relay(
        &self,
        who: &Principal,
        kind: super::hub::RelayKind,
        payload: serde_json::Value,
    ) -> Result<(), AppError> {
        if kind == super::hub::RelayKind::Delta {
            return self
                .stream_delta(who, DeltaInput::from_relay(&payload))
                .await;
        }
        let channel = payload
            .get("channelId")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if channel.is_empty() {
            return Err(assent_core::ValidationError::single("channelId", "is required").into());
        }
        if payload.to_string().len() > 64 * 1024 {
            return Err(
                assent_core::ValidationError::single("", "payload must be at most 64 KiB").into(),
            );
        }
        let (channel, _) = self.owned_channel(&who.user_id, &channel).await?;
        let ev = Ephemeral::Relay {
            channel_id: channel,
            kind,
            payload,
        };
        self.publish_ephemeral(&ev);
        self.hub.dispatch_ephemeral(Arc::new(ev)).await;
        Ok(())
    }

    /// `POST /api/v1/threads/:threadId/events`.
    pub async fn report_thread_event(
        &self,
        who: &Principal,
        thread: &str,
        body: serde_json::Value,
    ) -> Result<i64, AppError> {
        let (event_type, fields) = assent_core::thread::parse_thread_event(&body)?;
        let (channel, _) = self.owned_channel(&who.user_id, thread).await?;
        Ok(self
            .store
            .log_thread_event(&channel, event_type, fields, self.now())
            .await?)
    }
}
