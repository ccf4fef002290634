//! A connection's handle (`Connection`) and its command queue: what the edge calls, queued
//! in call order for the connection's worker; `App::connect` registers a connection.

use super::worker::Worker;
use super::{Entry, Ephemeral, Hub, OwnerFeed, QUEUE_DEPTH, Registered, RelayKind, SharedEvent};
use super::{Sink, SubscribeOutcome, View, credential};
use crate::app::{App, AppError};
use assent_core::model::Principal;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
