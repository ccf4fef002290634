//! A connection's handle (`Connection`) and its command queue: what the edge calls, queued
//! in call order for the connection's worker; `App::connect` registers a connection.

use super::worker::{self, Worker};
use super::{Entry, Ephemeral, Hub, OwnerFeed, QUEUE_DEPTH, Registered, RelayKind, SharedEvent};
use super::{Sink, SubscribeOutcome, View, credential};
use crate::app::{App, AppError};
use assent_core::model::Principal;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::mpsc;

pub(super) type Done = Box<dyn FnOnce(SubscribeOutcome) + Send>;

/// A command for a connection's worker. Kept at 24 bytes (large variants are boxed): the
/// queue's first block of 32 slots is allocated with every connection.
pub(super) enum Cmd {
    Event {
        ev: Arc<SharedEvent>,
        via_channel: bool,
    },
    Subscribe(Box<SubscribeCmd>),
    Unsubscribe(Box<str>),
    /// Runs in order with deliveries (acks, pongs).
    Run(Box<dyn FnOnce() + Send>),
    Ephemeral(Arc<Ephemeral>),
    /// An event the hub already took in place (watermark, de-duplication) but could not
    /// write: the transport was full. The worker waits for room, as for any event.
    Emit(Arc<SharedEvent>),
    /// A relay sent by this (agent) connection, handled in arrival order.
    Relay(Box<RelayCmd>),
    Close,
}

pub(super) struct SubscribeCmd {
    pub(super) channel: String,
    pub(super) last_seq: Option<i64>,
    pub(super) done: Done,
}

pub(super) struct RelayCmd {
    pub(super) kind: RelayKind,
    pub(super) payload: serde_json::Value,
    pub(super) done: Box<dyn FnOnce(Result<(), AppError>) + Send>,
}

const _: () = assert!(std::mem::size_of::<Cmd>() <= 24);

/// A connection's queue and its worker's state. The worker task takes commands off the
/// queue one at a time, holding the state's lock while it handles each; the hub, when
/// nothing is queued and the lock is free, delivers an event in place instead of queueing
/// it (`Hub::offer`), which saves a task wake-up per recipient. Either way one thing at a
/// time touches the state, and an event is never handled in place while anything queued
/// before it is still waiting, so the connection's order is the queue's order.
pub(super) struct Lane {
    tx: mpsc::Sender<Cmd>,
    /// Commands queued and not yet handled (in place delivery needs 0).
    pending: AtomicUsize,
    pub(super) worker: tokio::sync::Mutex<Worker>,
}

impl Lane {
    pub(super) fn send(&self, cmd: Cmd) -> Result<(), mpsc::error::TrySendError<Cmd>> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        self.tx.try_send(cmd).inspect_err(|_| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        })
    }

    /// True when nothing is queued (checked before and after taking the worker's lock).
    pub(super) fn idle(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// One queued command handled.
    pub(super) fn handled(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    /// The worker stopped: nothing is delivered in place any more.
    pub(super) fn stop(&self) {
        self.pending.fetch_add(usize::MAX / 2, Ordering::AcqRel);
    }
}

/// A live connection. Cloneable; commands are queued in call order.
#[derive(Clone)]
pub struct Connection {
    id: u64,
    lane: Arc<Lane>,
    hub: Arc<Hub>,
    closed: Arc<AtomicBool>,
}

impl Connection {
    fn send(&self, cmd: Cmd) -> bool {
        self.lane.send(cmd).is_ok()
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
        let _ = self.lane.send(Cmd::Close);
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
        let closed = Arc::new(AtomicBool::new(false));
        let lane = Arc::new(Lane {
            tx,
            pending: AtomicUsize::new(0),
            worker: tokio::sync::Mutex::new(Worker {
                closed: closed.clone(),
                app: self.clone(),
                id,
                principal: principal.clone(),
                view,
                sink: sink.clone(),
                subs: HashMap::new(),
                owner_seen: HashMap::new(),
            }),
        });
        let entry = Entry {
            lane: lane.clone(),
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
                    principal,
                    sink: sink.clone(),
                    channels: Vec::new(),
                    in_feed,
                },
            );
        }
        tokio::spawn(worker::run(lane.clone(), entry, rx));
        Ok(Connection {
            id,
            lane,
            hub: self.hub.clone(),
            closed,
        })
    }
}
