//! The subscription hub and per-connection delivery.
//!
//! Every realtime connection (Socket.IO socket, raw thread socket) gets one worker task that
//! owns an ordered command queue. Commands from the client (subscribe, ping, …) and events
//! from the bus go through the same queue, so what the client sees is ordered by `seq` per
//! channel, including while a replay runs: the worker registers the subscription first, then
//! replays the log from the client's `lastSeq` up to the head, and drops any live event it
//! already replayed. A live event that skips ahead of the last one seen (`seq` gap) is filled
//! from the store before it is delivered. A connection whose queue overflows is closed (it
//! resumes from its last `seq`) instead of buffering without bound.

use super::{App, AppError};
use crate::metrics::Metrics;
use assent_core::model::{Principal, PrincipalKind};
use assent_core::{Audience, ChannelId, LoggedEvent, UserId};
use assent_store::CommittedEvent;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Which rendering of an event a connection gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// An agent (API key): its own secrets in clear; no dashboard-only events.
    Agent,
    /// A human's dashboard: redacted values, plus the owner-level events.
    Dashboard,
}

/// Whether a human's connection also gets the owner-level events of every channel of its
/// user, subscribed or not (Socket.IO dashboards, the notifications stream), or only the
/// channels it subscribes to (a thread stream is one thread, nothing else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerFeed {
    Yes,
    No,
}

/// Render-cache slots of a `SharedEvent`, one per (protocol, view) that edges render.
pub mod slot {
    pub const SOCKETIO_AGENT: usize = 0;
    pub const SOCKETIO_DASHBOARD: usize = 1;
    pub const THREAD_AGENT: usize = 2;
    pub const THREAD_DASHBOARD: usize = 3;
    pub const NOTIFICATION: usize = 4;
    pub const COUNT: usize = 5;
}

/// A committed event shared by every connection it goes to; edges render it once per slot.
pub struct SharedEvent {
    pub owner_id: UserId,
    pub logged: LoggedEvent,
    cache: [OnceLock<Arc<dyn std::any::Any + Send + Sync>>; slot::COUNT],
}

impl SharedEvent {
    pub fn new(owner_id: UserId, logged: LoggedEvent) -> Self {
        SharedEvent {
            owner_id,
            logged,
            cache: Default::default(),
        }
    }

    /// The rendering for `slot`, computed by the first caller.
    /// Each slot holds one type, chosen by the edge that owns it (a validated JSON value for
    /// Socket.IO, frame text for raw sockets).
    pub fn rendered<T: Send + Sync + 'static>(
        &self,
        slot: usize,
        render: impl FnOnce(&LoggedEvent) -> T,
    ) -> Arc<T> {
        self.cache[slot]
            .get_or_init(|| Arc::new(render(&self.logged)))
            .clone()
            .downcast::<T>()
            .expect("a render slot is always filled with the same type")
    }
}

/// Which relay an agent socket sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayKind {
    /// `message:delta`: appended to the draft, then fanned out.
    Delta,
    /// `message:progress`: relayed as is.
    Progress,
    /// `agent:commands`: relayed as is.
    Commands,
}

/// Something subscribers see at once but that is not a log entry (no `seq`).
#[derive(Debug)]
pub enum Ephemeral {
    Delta {
        channel_id: ChannelId,
        stream_id: String,
        message_id: assent_core::MessageId,
        delta: String,
        /// Ordinal of this delta within the stream (Placet's `streamId: "<base>:<n>"`).
        n: u64,
        started_at: assent_core::Millis,
        /// The `seq` that created the draft: the delta is held until that event went out.
        after_seq: i64,
        /// The agent marked it the stream's last (Placet's `streamEnd`), relayed as is.
        end: bool,
    },
    Relay {
        channel_id: ChannelId,
        kind: RelayKind,
        payload: serde_json::Value,
    },
}

impl Ephemeral {
    pub fn channel_id(&self) -> &ChannelId {
        match self {
            Ephemeral::Delta { channel_id, .. } | Ephemeral::Relay { channel_id, .. } => channel_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkError {
    /// The transport's buffer is full right now.
    Full,
    /// The connection is gone.
    Closed,
}

/// The edge side of a connection: how to put things on the wire.
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, ev: &SharedEvent, view: View) -> Result<(), SinkError>;
    fn sync_reset(
        &self,
        channel: &ChannelId,
        oldest_seq: i64,
        head_seq: i64,
    ) -> Result<(), SinkError>;
    /// An ephemeral event of a subscribed channel (deltas, relays).
    fn deliver_ephemeral(&self, ev: &Ephemeral, view: View) -> Result<(), SinkError>;
    /// Closes the connection, saying why.
    fn close(&self, why: CloseReason);
}

/// Why the server closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// It could not keep up with its events; it resumes by `seq` when it reconnects.
    TooSlow,
    /// The key or session it authenticated with was deleted, rotated or revoked.
    Revoked,
}

/// Result of a subscription, for the edge to acknowledge.
#[derive(Debug)]
pub enum SubscribeOutcome {
    /// Subscribed; everything up to `last_seq` has been delivered (or was not asked for).
    Subscribed {
        channel_id: ChannelId,
        last_seq: i64,
        reset: bool,
    },
    Refused(AppError),
}

type Done = Box<dyn FnOnce(SubscribeOutcome) + Send>;

/// A command for a connection's worker. Kept at 24 bytes (large variants are boxed): the
/// queue's first block of 32 slots is allocated with every connection.
enum Cmd {
    Event {
        ev: Arc<SharedEvent>,
        via_channel: bool,
    },
    Subscribe(Box<SubscribeCmd>),
    Unsubscribe(Box<str>),
    /// Runs in order with deliveries (acks, pongs).
    Run(Box<dyn FnOnce() + Send>),
    Ephemeral(Arc<Ephemeral>),
    /// A relay sent by this (agent) connection, handled in arrival order.
    Relay(Box<RelayCmd>),
    Close,
}

struct SubscribeCmd {
    channel: String,
    last_seq: Option<i64>,
    done: Done,
}

struct RelayCmd {
    kind: RelayKind,
    payload: serde_json::Value,
    done: Box<dyn FnOnce(Result<(), AppError>) + Send>,
}

const _: () = assert!(std::mem::size_of::<Cmd>() <= 24);

/// Channels one connection may be subscribed to at once.
pub const MAX_SUBSCRIPTIONS: usize = 1_000;
/// Queue depth per connection before it counts as a slow consumer.
const QUEUE_DEPTH: usize = 4_096;
/// How long a worker waits for a full transport buffer before closing the connection.
const FULL_WAIT: Duration = Duration::from_secs(5);
const REPLAY_PAGE: i64 = 1_000;
/// Owner-level `seq`s remembered per channel and dashboard connection for de-duplication.
const OWNER_SEEN_CAP: usize = 1_024;

#[derive(Clone)]
struct Entry {
    tx: mpsc::Sender<Cmd>,
    sink: Arc<dyn Sink>,
    /// Set once the connection is being closed for overflow, so that it is closed once.
    overflowed: Arc<AtomicBool>,
}

#[derive(Default)]
struct Inner {
    channels: HashMap<ChannelId, Vec<(u64, Entry)>>,
    users: HashMap<UserId, Vec<(u64, Entry)>>,
    /// Every live connection: who it acts as and where it is registered, so that removing
    /// it touches only its own entries and revocations find it.
    conns: HashMap<u64, Registered>,
    /// Open connections per credential (API key or session), for the per-credential cap.
    per_credential: HashMap<String, usize>,
}

/// The credential a connection authenticated with, as a map key.
fn credential(p: &Principal) -> String {
    match &p.kind {
        PrincipalKind::ApiKey { key_id } => format!("k:{key_id}"),
        PrincipalKind::Session { session_id } => format!("s:{session_id}"),
    }
}

struct Registered {
    principal: Principal,
    sink: Arc<dyn Sink>,
    channels: Vec<ChannelId>,
    in_feed: bool,
}

pub struct Hub {
    inner: RwLock<Inner>,
    /// Highest `seq` dispatched per channel (ephemeral events wait for their draft).
    dispatched: std::sync::Mutex<HashMap<ChannelId, i64>>,
    /// Woken after every dispatch, for the deltas waiting on `dispatched`.
    dispatched_wake: tokio::sync::Notify,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Hub {
    pub fn new(metrics: Arc<Metrics>) -> Arc<Hub> {
        Arc::new(Hub {
            inner: RwLock::new(Inner::default()),
            dispatched: Default::default(),
            dispatched_wake: tokio::sync::Notify::new(),
            next_id: AtomicU64::new(1),
            metrics,
        })
    }

    /// Fans one committed event out to the connections that should see it.
    pub fn dispatch(&self, ev: CommittedEvent) {
        self.metrics.events_appended.fetch_add(1, Ordering::Relaxed);
        let ev = Arc::new(SharedEvent::new(ev.owner_id, ev.event));
        {
            let mut d = self.dispatched.lock().expect("hub lock poisoned");
            let head = d.entry(ev.logged.channel_id.clone()).or_insert(0);
            *head = (*head).max(ev.logged.seq);
        }
        self.dispatched_wake.notify_waiters();
        let inner = self.inner.read().expect("hub lock poisoned");
        let mut sent: Vec<u64> = Vec::new();
        if let Some(subs) = inner.channels.get(&ev.logged.channel_id) {
            for (id, e) in subs {
                self.push(
                    e,
                    Cmd::Event {
                        ev: ev.clone(),
                        via_channel: true,
                    },
                );
                sent.push(*id);
            }
        }
        if ev.logged.event.audience() != Audience::Channel
            && let Some(socks) = inner.users.get(&ev.owner_id)
        {
            for (id, e) in socks {
                if !sent.contains(id) {
                    self.push(
                        e,
                        Cmd::Event {
                            ev: ev.clone(),
                            via_channel: false,
                        },
                    );
                }
            }
        }
    }

    /// Fans an ephemeral event out to the channel's subscribers. A delta waits (briefly)
    /// until the event that created its draft has been dispatched, so that no subscriber
    /// sees text for a draft it has not seen yet.
    pub async fn dispatch_ephemeral(&self, ev: Arc<Ephemeral>) {
        if let Ephemeral::Delta {
            channel_id,
            after_seq,
            ..
        } = &*ev
        {
            // Woken by each dispatch; bounded, so that a lost creation event (the sequencer
            // fills such gaps within milliseconds) cannot hold deltas for good.
            let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
            loop {
                let woken = self.dispatched_wake.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                let done = self
                    .dispatched
                    .lock()
                    .expect("hub lock poisoned")
                    .get(channel_id)
                    .is_some_and(|h| h >= after_seq);
                if done || tokio::time::timeout_at(deadline, woken).await.is_err() {
                    break;
                }
            }
        }
        let inner = self.inner.read().expect("hub lock poisoned");
        if let Some(subs) = inner.channels.get(ev.channel_id()) {
            for (_, e) in subs {
                self.push(e, Cmd::Ephemeral(ev.clone()));
            }
        }
    }

    fn push(&self, e: &Entry, cmd: Cmd) {
        if let Err(mpsc::error::TrySendError::Full(_)) = e.tx.try_send(cmd)
            && !e.overflowed.swap(true, Ordering::Relaxed)
        {
            self.metrics
                .slow_consumers_closed
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!("closing a connection that cannot keep up with its events");
            e.sink.close(CloseReason::TooSlow);
        }
    }

    fn remove_conn(&self, id: u64) {
        let mut inner = self.inner.write().expect("hub lock poisoned");
        let Some(r) = inner.conns.remove(&id) else {
            return;
        };
        for channel in &r.channels {
            if let Some(v) = inner.channels.get_mut(channel) {
                v.retain(|(i, _)| *i != id);
                if v.is_empty() {
                    inner.channels.remove(channel);
                }
            }
        }
        let cred = credential(&r.principal);
        if let Some(n) = inner.per_credential.get_mut(&cred) {
            *n -= 1;
            if *n == 0 {
                inner.per_credential.remove(&cred);
            }
        }
        if r.in_feed
            && let Some(v) = inner.users.get_mut(&r.principal.user_id)
        {
            v.retain(|(i, _)| *i != id);
            if v.is_empty() {
                inner.users.remove(&r.principal.user_id);
            }
        }
    }

    fn subscribe_channel(&self, channel: &ChannelId, id: u64, e: &Entry) {
        let mut inner = self.inner.write().expect("hub lock poisoned");
        // A connection removed meanwhile (disconnected while subscribing) stays removed.
        let Some(r) = inner.conns.get_mut(&id) else {
            return;
        };
        if r.channels.contains(channel) {
            return;
        }
        r.channels.push(channel.clone());
        inner
            .channels
            .entry(channel.clone())
            .or_default()
            .push((id, e.clone()));
    }

    fn unsubscribe_channel(&self, channel: &ChannelId, id: u64) {
        let mut inner = self.inner.write().expect("hub lock poisoned");
        if let Some(r) = inner.conns.get_mut(&id) {
            r.channels.retain(|c| c != channel);
        }
        if let Some(v) = inner.channels.get_mut(channel) {
            v.retain(|(i, _)| *i != id);
            if v.is_empty() {
                inner.channels.remove(channel);
            }
        }
    }

    /// Closes every connection whose principal matches, as [`CloseReason::Revoked`]; returns
    /// how many. The edges then disconnect them, which unregisters them.
    pub fn close_where(&self, revoked: impl Fn(&Principal) -> bool) -> usize {
        let sinks: Vec<Arc<dyn Sink>> = {
            let inner = self.inner.read().expect("hub lock poisoned");
            inner
                .conns
                .values()
                .filter(|r| revoked(&r.principal))
                .map(|r| r.sink.clone())
                .collect()
        };
        for sink in &sinks {
            sink.close(CloseReason::Revoked);
        }
        sinks.len()
    }

    /// Number of live connections registered for a user's dashboards (for tests/metrics).
    pub fn dashboard_count(&self, user: &UserId) -> usize {
        let inner = self.inner.read().expect("hub lock poisoned");
        inner.users.get(user).map_or(0, Vec::len)
    }
}

/// A live connection. Cloneable; commands are queued in call order.
#[derive(Clone)]
pub struct Connection {
    id: u64,
    tx: mpsc::Sender<Cmd>,
    hub: Arc<Hub>,
    closed: Arc<AtomicBool>,
}

impl Connection {
    fn send(&self, cmd: Cmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// Subscribes to a channel (ownership is checked by the worker). `done` runs after the
    /// replay, if any, has been delivered. Returns false when the queue is full.
    pub fn subscribe(
        &self,
        channel: String,
        last_seq: Option<i64>,
        done: impl FnOnce(SubscribeOutcome) + Send + 'static,
    ) -> bool {
        self.send(Cmd::Subscribe(Box::new(SubscribeCmd {
            channel,
            last_seq,
            done: Box::new(done),
        })))
    }

    pub fn unsubscribe(&self, channel: String) -> bool {
        self.send(Cmd::Unsubscribe(channel.into_boxed_str()))
    }

    /// Handles a relay (delta, progress, commands) of this agent connection in arrival order.
    pub fn relay(
        &self,
        kind: RelayKind,
        payload: serde_json::Value,
        done: impl FnOnce(Result<(), AppError>) + Send + 'static,
    ) -> bool {
        self.send(Cmd::Relay(Box::new(RelayCmd {
            kind,
            payload,
            done: Box::new(done),
        })))
    }

    /// Runs `f` after everything queued before it (e.g. a pong after a subscription).
    pub fn run(&self, f: impl FnOnce() + Send + 'static) -> bool {
        self.send(Cmd::Run(Box::new(f)))
    }

    /// Unregisters the connection and stops its worker.
    pub fn disconnect(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.hub.remove_conn(self.id);
        // Wakes an idle worker; a busy one sees the flag before its next command.
        let _ = self.tx.try_send(Cmd::Close);
    }
}

impl App {
    /// Registers a realtime connection and starts its worker; refused with
    /// [`AppError::TooManySockets`] when its credential already has the configured maximum
    /// open.
    pub fn connect(
        self: &Arc<Self>,
        principal: Principal,
        sink: Arc<dyn Sink>,
        feed: OwnerFeed,
    ) -> Result<Connection, AppError> {
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let view = if principal.is_agent() {
            View::Agent
        } else {
            View::Dashboard
        };
        let entry = Entry {
            tx: tx.clone(),
            sink: sink.clone(),
            overflowed: Arc::default(),
        };
        let in_feed = view == View::Dashboard && feed == OwnerFeed::Yes;
        {
            let mut inner = self.hub.inner.write().expect("hub lock poisoned");
            let cap = self.settings.max_sockets_per_credential;
            let open = inner
                .per_credential
                .entry(credential(&principal))
                .or_insert(0);
            if cap > 0 && *open >= cap {
                return Err(AppError::TooManySockets(cap));
            }
            *open += 1;
            if in_feed {
                inner
                    .users
                    .entry(principal.user_id.clone())
                    .or_default()
                    .push((id, entry.clone()));
            }
            inner.conns.insert(
                id,
                Registered {
                    principal: principal.clone(),
                    sink: sink.clone(),
                    channels: Vec::new(),
                    in_feed,
                },
            );
        }
        let closed = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            closed: closed.clone(),
            app: self.clone(),
            id,
            principal,
            view,
            sink,
            entry,
            subs: HashMap::new(),
            owner_seen: HashMap::new(),
        };
        tokio::spawn(worker.run(rx));
        Ok(Connection {
            id,
            tx,
            hub: self.hub.clone(),
            closed,
        })
    }
}

struct Worker {
    closed: Arc<AtomicBool>,
    app: Arc<App>,
    id: u64,
    principal: Principal,
    view: View,
    sink: Arc<dyn Sink>,
    entry: Entry,
    /// Subscribed channels and the last `seq` of the channel stream processed for each.
    subs: HashMap<ChannelId, i64>,
    /// Dashboards only: per channel, the `seq`s of owner-level events delivered on this
    /// connection (most recent `OWNER_SEEN_CAP`). Such events arrive by the owner route while
    /// unsubscribed and by the channel stream (live, replay) while subscribed; this set makes
    /// the two routes exactly-once together.
    owner_seen: HashMap<ChannelId, BTreeSet<i64>>,
}

/// What to do with one event.
enum Verdict {
    Deliver,
    Skip,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
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
        match kind {
            RelayKind::Delta => {
                let s = |k: &str| {
                    payload
                        .get(k)
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                };
                // Placet's payload names the draft `streamBaseId` (and `streamId` = "<base>:<n>").
                let stream_id = s("streamBaseId").or_else(|| {
                    s("streamId").map(|id| id.split(':').next().unwrap_or_default().to_owned())
                });
                let input = super::streams::DeltaInput {
                    channel_id: s("channelId"),
                    stream_id,
                    delta: s("delta"),
                    end: payload
                        .get("streamEnd")
                        .and_then(serde_json::Value::as_bool),
                };
                self.app.stream_delta(&self.principal, input).await
            }
            other => self.app.relay(&self.principal, other, payload).await,
        }
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
                super::Limit::Subscriptions(MAX_SUBSCRIPTIONS).into(),
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
