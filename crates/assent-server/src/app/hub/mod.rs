//! The subscription hub and per-connection delivery.
//!
//! Every realtime connection (Socket.IO socket, raw thread socket) gets one worker task that
//! owns an ordered command queue. Commands from the client (subscribe, ping, …) and events
//! from the bus go through the same queue, so what the client sees is ordered by `seq` per
//! channel, including while a replay runs: the worker registers the subscription first, then
//! replays the log from the client's `lastSeq` up to the head, and drops any live event it
//! already replayed. A live event that skips ahead of the last one seen (`seq` gap) is filled
//! from the store before it is delivered. When the queue is empty and the worker idle, the
//! hub does the worker's part for a live event in place (`Hub::offer`), which is the same
//! as queueing it, one task wake-up cheaper. A connection whose queue overflows is closed (it
//! resumes from its last `seq`) instead of buffering without bound.

use crate::metrics::Metrics;
use assent_core::model::{Principal, PrincipalKind};
use assent_core::{Audience, ChannelId, UserId};
use assent_store::CommittedEvent;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

mod connection;
mod events;
mod worker;

pub use connection::Connection;
use connection::{Cmd, Lane};
pub use events::*;

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
    lane: Arc<Lane>,
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
                self.offer(e, &ev, true);
                sent.push(*id);
            }
        }
        if ev.logged.event.audience() != Audience::Channel
            && let Some(socks) = inner.users.get(&ev.owner_id)
        {
            for (id, e) in socks {
                if !sent.contains(id) {
                    self.offer(e, &ev, false);
                }
            }
        }
    }

    /// What this node's sockets watch: the channels subscribed to, and the users with
    /// dashboards (who hear owner-level events of all their channels).
    pub fn watched(&self) -> (Vec<ChannelId>, Vec<UserId>) {
        let inner = self.inner.read().expect("hub lock poisoned");
        (
            inner.channels.keys().cloned().collect(),
            inner.users.keys().cloned().collect(),
        )
    }

    /// The highest `seq` of `channel` fanned out on this node (or noted by `note_head`).
    pub fn dispatched_head(&self, channel: &ChannelId) -> Option<i64> {
        self.dispatched
            .lock()
            .expect("hub lock poisoned")
            .get(channel)
            .copied()
    }

    /// Records that the log up to `seq` is known here (a subscription replayed it), so that a
    /// later check for missed events starts there.
    pub fn note_head(&self, channel: &ChannelId, seq: i64) {
        let mut d = self.dispatched.lock().expect("hub lock poisoned");
        let head = d.entry(channel.clone()).or_insert(seq);
        *head = (*head).max(seq);
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

    /// Hands an event to a connection: in place when its queue is empty and its worker idle
    /// (see `Lane`), else queued. What the worker must do itself (fill a gap, wait for room
    /// in a full transport) is queued while the lock is still held, so nothing overtakes it.
    fn offer(&self, e: &Entry, ev: &Arc<SharedEvent>, via_channel: bool) {
        if e.lane.idle()
            && let Ok(mut worker) = e.lane.worker.try_lock()
            && e.lane.idle()
        {
            if let Some(cmd) = worker.deliver_now(ev, via_channel) {
                self.push(e, cmd);
            }
            return;
        }
        self.push(
            e,
            Cmd::Event {
                ev: ev.clone(),
                via_channel,
            },
        );
    }

    fn push(&self, e: &Entry, cmd: Cmd) {
        if let Err(mpsc::error::TrySendError::Full(_)) = e.lane.send(cmd)
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
