//! A connection's worker: one task that drains the connection's ordered queue, registers
//! subscriptions, replays the log, fills gaps, de-duplicates owner-level events and hands
//! everything to the edge's sink; and `Worker::deliver_now`, the same handling of a live
//! event done in place by the hub when nothing is queued.

use super::connection::{Cmd, Done, Lane, RelayCmd, SubscribeCmd};
use super::*;
use crate::app::{App, AppError};

pub(super) struct Worker {
    pub(super) closed: Arc<AtomicBool>,
    pub(super) app: Arc<App>,
    pub(super) id: u64,
    pub(super) principal: Principal,
    pub(super) view: View,
    pub(super) sink: Arc<dyn Sink>,
    /// Subscribed channels and the last `seq` of the channel stream processed for each.
    pub(super) subs: HashMap<ChannelId, i64>,
    /// Dashboards only: per channel, the `seq`s of owner-level events delivered on this
    /// connection (most recent `OWNER_SEEN_CAP`). Such events arrive by the owner route while
    /// unsubscribed and by the channel stream (live, replay) while subscribed; this set makes
    /// the two routes exactly-once together.
    pub(super) owner_seen: HashMap<ChannelId, BTreeSet<i64>>,
}

/// What an arriving event needs, decided (and the bookkeeping done) before any waiting.
enum Step {
    Deliver,
    Skip,
    /// The event skips ahead of the channel's last `seq`: fill from the log first.
    Fill {
        last: i64,
    },
}

/// The connection's worker task: takes its commands in order, each under the state's lock.
pub(super) async fn run(lane: Arc<Lane>, entry: Entry, mut rx: mpsc::Receiver<Cmd>) {
    while let Some(cmd) = rx.recv().await {
        let mut worker = lane.worker.lock().await;
        let alive = !worker.closed.load(Ordering::SeqCst) && worker.handle(cmd, &entry).await;
        lane.handled();
        if !alive {
            break;
        }
    }
    lane.stop();
    let worker = lane.worker.lock().await;
    worker.app.hub.remove_conn(worker.id);
}

impl Worker {
    /// Handles one queued command; false when the connection must end.
    async fn handle(&mut self, cmd: Cmd, entry: &Entry) -> bool {
        match cmd {
            // The handlers are boxed so that an idle connection's task stays small: an
            // unboxed future would reserve room for the largest of them (replay reads).
            Cmd::Event { ev, via_channel } => Box::pin(self.on_event(ev, via_channel)).await,
            Cmd::Emit(ev) => Box::pin(self.emit(&ev)).await,
            Cmd::Subscribe(c) => {
                let SubscribeCmd {
                    channel,
                    last_seq,
                    done,
                } = *c;
                Box::pin(self.on_subscribe(channel, last_seq, done, entry)).await
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
        }
    }

    /// The hub's in-place delivery (nothing queued, lock taken): handles the event now
    /// unless it needs waiting, and returns what must be queued instead (the event itself
    /// when a gap must be filled, the write when the transport is full, a close when the
    /// connection is gone).
    pub(super) fn deliver_now(&mut self, ev: &Arc<SharedEvent>, via_channel: bool) -> Option<Cmd> {
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        match self.step(ev, via_channel) {
            Step::Skip => None,
            Step::Fill { .. } => Some(Cmd::Event {
                ev: ev.clone(),
                via_channel,
            }),
            Step::Deliver => match self.emit_now(ev) {
                Ok(()) => None,
                Err(SinkError::Full) => Some(Cmd::Emit(ev.clone())),
                Err(SinkError::Closed) => Some(Cmd::Close),
            },
        }
    }

    /// Owner-level events reach dashboards whether or not they subscribed.
    fn owner_level(&self, audience: Audience) -> bool {
        self.view == View::Dashboard && audience != Audience::Channel
    }

    /// Exactly-once bookkeeping for owner-level events of dashboards.
    fn owner_verdict(&mut self, channel: &ChannelId, seq: i64) -> Step {
        let seen = self.owner_seen.entry(channel.clone()).or_default();
        if !seen.insert(seq) {
            return Step::Skip;
        }
        if seen.len() > OWNER_SEEN_CAP {
            seen.pop_first();
        }
        Step::Deliver
    }

    /// The verdict for an event of a channel's stream taken in `seq` order (live on the
    /// channel route, replay, gap fill). The caller has advanced the channel watermark.
    fn stream_verdict(&mut self, ev: &SharedEvent) -> Step {
        let audience = ev.logged.event.audience();
        if self.owner_level(audience) {
            return self.owner_verdict(&ev.logged.channel_id, ev.logged.seq);
        }
        match (audience, self.view) {
            (Audience::OwnerDashboards, View::Agent) => Step::Skip,
            _ => Step::Deliver,
        }
    }

    /// Puts one event on the wire if the transport has room.
    fn emit_now(&self, ev: &SharedEvent) -> Result<(), SinkError> {
        self.sink.deliver(ev, self.view)?;
        self.app
            .metrics
            .events_emitted
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Puts one event on the wire, waiting a bounded time for a full transport buffer.
    /// Returns false when the connection must end.
    async fn emit(&self, ev: &SharedEvent) -> bool {
        let start = tokio::time::Instant::now();
        loop {
            match self.emit_now(ev) {
                Ok(()) => return true,
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
                if let Step::Deliver = self.stream_verdict(&ev) {
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

    /// Where an arriving event stands: the channel watermark is advanced and the
    /// exactly-once bookkeeping done here, unless a gap must be filled first.
    fn step(&mut self, ev: &SharedEvent, via_channel: bool) -> Step {
        let (channel, seq) = (&ev.logged.channel_id, ev.logged.seq);
        let audience = ev.logged.event.audience();
        if via_channel
            && let Some(last) = self.subs.get_mut(channel)
            && seq > *last
        {
            if seq > *last + 1 {
                return Step::Fill { last: *last };
            }
            *last = seq;
            return self.stream_verdict(ev);
        }
        // Already covered by the channel stream (replay, or before a bare subscribe), or
        // arriving by the owner route / after an unsubscribe: only owner-level events of
        // dashboards still count, exactly once.
        if self.owner_level(audience) {
            self.owner_verdict(channel, seq)
        } else {
            Step::Skip
        }
    }

    async fn on_event(&mut self, ev: Arc<SharedEvent>, via_channel: bool) -> bool {
        let step = match self.step(&ev, via_channel) {
            Step::Fill { last } => {
                let channel = ev.logged.channel_id.clone();
                let seq = ev.logged.seq;
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
                self.subs.insert(channel, seq);
                self.stream_verdict(&ev)
            }
            step => step,
        };
        match step {
            Step::Deliver => self.emit(&ev).await,
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

    async fn on_subscribe(
        &mut self,
        raw: String,
        last_seq: Option<i64>,
        done: Done,
        entry: &Entry,
    ) -> bool {
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
        self.app.hub.subscribe_channel(&channel, self.id, entry);
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
