//! A connection's worker: one task that owns the connection's ordered queue, registers
//! subscriptions, replays the log, fills gaps, de-duplicates owner-level events and hands
//! everything to the edge's sink.

use super::connection::{Cmd, Done, RelayCmd, SubscribeCmd};
use super::*;
use crate::app::{App, AppError};

pub(super) struct Worker {
    pub(super) closed: Arc<AtomicBool>,
    pub(super) app: Arc<App>,
    pub(super) id: u64,
    pub(super) principal: Principal,
    pub(super) view: View,
    pub(super) sink: Arc<dyn Sink>,
    pub(super) entry: Entry,
    /// Subscribed channels and the last `seq` of the channel stream processed for each.
    pub(super) subs: HashMap<ChannelId, i64>,
    /// Dashboards only: per channel, the `seq`s of owner-level events delivered on this
    /// connection (most recent `OWNER_SEEN_CAP`). Such events arrive by the owner route while
    /// unsubscribed and by the channel stream (live, replay) while subscribed; this set makes
    /// the two routes exactly-once together.
    pub(super) owner_seen: HashMap<ChannelId, BTreeSet<i64>>,
}

/// What to do with one event.
enum Verdict {
    Deliver,
    Skip,
}

impl Worker {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        while let Some(cmd) = rx.recv().await {
            if self.closed.load(Ordering::SeqCst) {
                break;
            }
            let alive = match cmd {
                // The handlers are boxed so that an idle connection's task stays small: an
                // unboxed future would reserve room for the largest of them (replay reads).
                Cmd::Event { ev, via_channel } => Box::pin(self.on_event(ev, via_channel)).await,
                Cmd::Subscribe(c) => {
                    let SubscribeCmd {
                        channel,
                        last_seq,
                        done,
                    } = *c;
                    Box::pin(self.on_subscribe(channel, last_seq, done)).await
                }
                Cmd::Unsubscribe(channel) => {
                    if let Some(id) = ChannelId::parse(&channel) {
                        self.subs.remove(&id);
                        self.app.hub.unsubscribe_channel(&id, self.id);
                    }
                    true
                }
                Cmd::Run(f) => {
                    f();
                    true
                }
                Cmd::Ephemeral(ev) => Box::pin(self.on_ephemeral(&ev)).await,
                Cmd::Relay(r) => {
                    let RelayCmd {
                        kind,
                        payload,
                        done,
                    } = *r;
                    done(Box::pin(self.on_relay(kind, payload)).await);
                    true
                }
                Cmd::Close => false,
            };
            if !alive {
                break;
            }
        }
        self.app.hub.remove_conn(self.id);
    }

    /// Owner-level events reach dashboards whether or not they subscribed.
    fn owner_level(&self, audience: Audience) -> bool {
        self.view == View::Dashboard && audience != Audience::Channel
    }

    /// Exactly-once bookkeeping for owner-level events of dashboards.
    fn owner_verdict(&mut self, channel: &ChannelId, seq: i64) -> Verdict {
        let seen = self.owner_seen.entry(channel.clone()).or_default();
        if !seen.insert(seq) {
            return Verdict::Skip;
        }
        if seen.len() > OWNER_SEEN_CAP {
            seen.pop_first();
        }
        Verdict::Deliver
    }

    /// The verdict for an event of a channel's stream taken in `seq` order (live on the
    /// channel route, replay, gap fill). The caller has advanced the channel watermark.
    fn stream_verdict(&mut self, ev: &SharedEvent) -> Verdict {
        let audience = ev.logged.event.audience();
        if self.owner_level(audience) {
            return self.owner_verdict(&ev.logged.channel_id, ev.logged.seq);
        }
        match (audience, self.view) {
            (Audience::OwnerDashboards, View::Agent) => Verdict::Skip,
            _ => Verdict::Deliver,
        }
    }

    /// Puts one event on the wire, waiting a bounded time for a full transport buffer.
    /// Returns false when the connection must end.
    async fn emit(&self, ev: &SharedEvent) -> bool {
        let start = tokio::time::Instant::now();
        loop {
            match self.sink.deliver(ev, self.view) {
                Ok(()) => {
                    self.app
                        .metrics
                        .events_emitted
                        .fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Err(SinkError::Closed) => return false,
                Err(SinkError::Full) if start.elapsed() < FULL_WAIT => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(SinkError::Full) => {
                    self.app
                        .metrics
                        .slow_consumers_closed
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        conn = self.id,
                        "closing a connection whose transport stayed full"
                    );
                    self.sink.close(CloseReason::TooSlow);
                    return false;
                }
            }
        }
    }

    /// Delivers the logged events `after < seq <= upto` of a subscribed channel. Returns
    /// `Ok(None)` when the log no longer holds `after + 1` (the caller reports a reset).
    async fn replay(
        &mut self,
        channel: &ChannelId,
        mut after: i64,
        upto: i64,
    ) -> Result<Option<bool>, AppError> {
        while after < upto {
            let page = self
                .app
                .store
                .events_between(channel, after, upto, REPLAY_PAGE)
                .await?;
            match page.first() {
                Some(e) if e.seq == after + 1 => {}
                // Pruned between the bounds check and this read: never a silent gap.
                _ => return Ok(None),
            }
            for logged in page {
                after = logged.seq;
                let ev = SharedEvent::new(self.principal.user_id.clone(), logged);
                if let Verdict::Deliver = self.stream_verdict(&ev) {
                    if !self.emit(&ev).await {
                        return Ok(Some(false));
                    }
                    self.app
                        .metrics
                        .events_replayed
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(Some(true))
    }

    async fn reset(&mut self, channel: &ChannelId) -> bool {
        self.app.metrics.sync_resets.fetch_add(1, Ordering::Relaxed);
        let (head, oldest) = match self.app.store.log_bounds(channel).await {
            Ok(b) => b,
            Err(_) => return false,
        };
        self.subs.insert(channel.clone(), head);
        self.sink.sync_reset(channel, oldest, head).is_ok()
    }

    async fn on_event(&mut self, ev: Arc<SharedEvent>, via_channel: bool) -> bool {
        let channel = ev.logged.channel_id.clone();
        let seq = ev.logged.seq;
        let audience = ev.logged.event.audience();
        let subscribed = self.subs.get(&channel).copied();
        match (subscribed, via_channel) {
            (Some(last), true) if seq > last => {
                if seq > last + 1 {
                    // Published out of order (another writer or node): fill from the log.
                    match self.replay(&channel, last, seq - 1).await {
                        Ok(Some(true)) => {}
                        Ok(Some(false)) => return false,
                        Ok(None) => return self.reset(&channel).await,
                        Err(e) => {
                            tracing::error!(channel_id = %channel, error = %e, "could not fill an event gap; closing the connection so that it resumes");
                            self.sink.close(CloseReason::TooSlow);
                            return false;
                        }
                    }
                }
                self.subs.insert(channel, seq);
                match self.stream_verdict(&ev) {
                    Verdict::Deliver => self.emit(&ev).await,
                    Verdict::Skip => true,
                }
            }
            // Already covered by the channel stream (replay, or before a bare subscribe), or
            // arriving by the owner route / after an unsubscribe: only owner-level events
            // of dashboards still count, exactly once.
            _ if self.owner_level(audience) => match self.owner_verdict(&channel, seq) {
                Verdict::Deliver => self.emit(&ev).await,
                Verdict::Skip => true,
            },
            _ => true,
        }
    }

    async fn on_ephemeral(&self, ev: &Ephemeral) -> bool {
        if !self.subs.contains_key(ev.channel_id()) {
            return true;
        }
        let start = tokio::time::Instant::now();
        loop {
            match self.sink.deliver_ephemeral(ev, self.view) {
                Ok(()) => return true,
                Err(SinkError::Closed) => return false,
                Err(SinkError::Full) if start.elapsed() < FULL_WAIT => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Err(SinkError::Full) => {
                    self.sink.close(CloseReason::TooSlow);
                    return false;
                }
            }
        }
    }

    async fn on_relay(&self, kind: RelayKind, payload: serde_json::Value) -> Result<(), AppError> {
        if !self.principal.is_agent() {
            return Err(AppError::NotYourAgent);
        }
        self.app.relay(&self.principal, kind, payload).await
    }

    async fn on_subscribe(&mut self, raw: String, last_seq: Option<i64>, done: Done) -> bool {
        let channel = match self.app.owned_channel(&self.principal.user_id, &raw).await {
            Ok((id, _)) => id,
            Err(e) => {
                done(SubscribeOutcome::Refused(e));
                return true;
            }
        };
        if self.subs.len() >= MAX_SUBSCRIPTIONS && !self.subs.contains_key(&channel) {
            done(SubscribeOutcome::Refused(
                crate::app::Limit::Subscriptions(MAX_SUBSCRIPTIONS).into(),
            ));
            return true;
        }
        // Register before reading the log: anything committed from now on is queued behind
        // this command, and anything before is in the log.
        self.app
            .hub
            .subscribe_channel(&channel, self.id, &self.entry);
        let (head, oldest) = match self.app.store.log_bounds(&channel).await {
            Ok(b) => b,
            Err(e) => {
                self.app.hub.unsubscribe_channel(&channel, self.id);
                done(SubscribeOutcome::Refused(e.into()));
                return true;
            }
        };
        if self.app.in_cluster() {
            // Where this node's check for events Redis did not bring starts.
            self.app.hub.note_head(&channel, head);
        }
        let mut reset = false;
        match last_seq {
            None => {}
            Some(ls) if ls > head || ls < oldest - 1 || ls < 0 => reset = true,
            Some(ls) => match self.replay(&channel, ls, head).await {
                Ok(Some(true)) => {}
                Ok(Some(false)) => return false,
                Ok(None) => reset = true,
                Err(e) => {
                    tracing::error!(channel_id = %channel, after = ls, error = %e, "could not replay the log for a subscription");
                    self.app.hub.unsubscribe_channel(&channel, self.id);
                    done(SubscribeOutcome::Refused(e));
                    return true;
                }
            },
        }
        if reset {
            if !self.reset(&channel).await {
                return false;
            }
        } else {
            self.subs.insert(channel.clone(), head);
        }
        let last_seq = self.subs.get(&channel).copied().unwrap_or(head);
        done(SubscribeOutcome::Subscribed {
            channel_id: channel,
            last_seq,
            reset,
        });
        true
    }
}
