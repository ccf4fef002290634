//! Cluster mode (`--redis-url`, PostgreSQL only): several nodes act as one gateway.
//! PostgreSQL stays the only source of truth. Redis pub/sub carries, on one channel per
//! cluster (`<prefix>:bus`), what other nodes need to hear at once: every committed event
//! (fed into each node's fan-out exactly as local commits are), ephemeral events (deltas,
//! relays) and revocations (keys, sessions, users). Redis may lose messages: every second,
//! and at once after (re)connecting, each node compares the log heads of the channels its
//! sockets watch with what it fanned out and reads what is missing from the log. The
//! sequencer drops what arrives twice, so nothing is lost, repeated or reordered.

use super::hub::Ephemeral;
use super::{App, AppError};
use assent_core::{ChannelId, LoggedEvent, UserId};
use assent_store::CommittedEvent;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How often a node checks the log for events Redis did not bring.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What invalidates credentials or sockets on every node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Revocation {
    ApiKey {
        id: String,
    },
    Session {
        id: String,
    },
    /// Every session of the user but `keep` (a password change).
    OtherSessions {
        user: UserId,
        keep: String,
    },
    User {
        id: UserId,
    },
    /// An agent was deleted or changed: forget what is cached of it.
    Channel {
        id: ChannelId,
    },
}

/// A message on the cluster's channel, as `<sending node>|<JSON>`: the prefix lets a node
/// skip its own messages (Redis sends them back) without parsing them.
#[derive(Deserialize)]
#[serde(tag = "k")]
enum Wire {
    #[serde(rename = "e")]
    Event { owner: UserId, event: LoggedEvent },
    #[serde(rename = "x")]
    Ephemeral { ev: Ephemeral },
    #[serde(rename = "r")]
    Revoke { r: Revocation },
}

/// This node's link to the others.
pub(crate) struct Link {
    node: String,
    channel: String,
    /// Messages to publish, in order; with a sender when the caller waits until it is sent.
    outbox: mpsc::UnboundedSender<(String, Option<oneshot::Sender<()>>)>,
    /// Where other nodes' events enter this node's fan-out (dropped on leaving, so that the
    /// fan-out ends once the local writers stopped).
    bus: std::sync::Mutex<Option<mpsc::UnboundedSender<CommittedEvent>>>,
    last_error: std::sync::Mutex<Option<String>>,
    sweep_now: tokio::sync::Notify,
}

impl Link {
    fn feed(&self, ev: CommittedEvent) {
        if let Some(tx) = self.bus.lock().expect("cluster lock poisoned").as_ref() {
            let _ = tx.send(ev);
        }
    }
}

/// Where the cluster's Redis is and the namespace of its channel.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    pub redis_url: String,
    pub prefix: String,
}

impl App {
    /// Joins the cluster: from now on local events, ephemeral events and revocations are
    /// published, and other nodes' are received into `bus` (the fan-out's input). Returns
    /// the tasks, which stop with `cancel`.
    pub fn join_cluster(
        self: &Arc<Self>,
        settings: ClusterSettings,
        bus: mpsc::UnboundedSender<CommittedEvent>,
        cancel: CancellationToken,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, AppError> {
        let client = redis::Client::open(settings.redis_url.as_str())
            .map_err(|e| AppError::Internal(format!("redis URL: {e}")))?;
        let (outbox, rx) = mpsc::unbounded_channel();
        let link = Link {
            node: assent_core::secret::random_hex(8),
            channel: format!("{}:bus", settings.prefix),
            outbox,
            bus: std::sync::Mutex::new(Some(bus)),
            last_error: std::sync::Mutex::new(Some("connecting to Redis".into())),
            sweep_now: tokio::sync::Notify::new(),
        };
        if self.cluster.set(link).is_err() {
            return Err(AppError::Internal("joined the cluster twice".into()));
        }
        Ok(vec![
            tokio::spawn(publisher(self.clone(), client.clone(), rx, cancel.clone())),
            tokio::spawn(subscriber(self.clone(), client, cancel.clone())),
            tokio::spawn(sweeper(self.clone(), cancel)),
        ])
    }

    /// Stops feeding other nodes' events into the fan-out (shutdown).
    pub fn leave_cluster(&self) {
        if let Some(link) = self.cluster.get() {
            link.bus.lock().expect("cluster lock poisoned").take();
        }
    }

    /// Whether this node is one of several.
    pub fn in_cluster(&self) -> bool {
        self.cluster.get().is_some()
    }

    /// `None` when the cluster link is healthy (or there is no cluster), else why not.
    pub fn cluster_problem(&self) -> Option<String> {
        let link = self.cluster.get()?;
        link.last_error
            .lock()
            .expect("cluster lock poisoned")
            .clone()
    }

    /// Queues `<this node>|{k, …fields}` for the other nodes; `sent` hears once Redis
    /// took it (or dropped, if it could not).
    fn publish_with(
        &self,
        kind: &str,
        fields: serde_json::Value,
        sent: Option<oneshot::Sender<()>>,
    ) {
        let Some(link) = self.cluster.get() else {
            return;
        };
        let mut msg = serde_json::json!({"k": kind});
        if let (Some(m), serde_json::Value::Object(f)) = (msg.as_object_mut(), fields) {
            m.extend(f);
        }
        let _ = link.outbox.send((format!("{}|{msg}", link.node), sent));
    }

    fn publish(&self, kind: &str, fields: serde_json::Value) {
        self.publish_with(kind, fields, None);
    }

    /// Publishes an ephemeral event and waits (at most 2 s) until Redis took it: a stream's
    /// deltas may arrive at different nodes, and each is published before the next is taken.
    pub(super) async fn publish_ephemeral_now(&self, ev: &Ephemeral) {
        if !self.in_cluster() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.publish_with("x", serde_json::json!({"ev": ev}), Some(tx));
        let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
    }

    /// Tells the other nodes about an event committed here.
    pub fn publish_event(&self, ev: &CommittedEvent) {
        if self.in_cluster() {
            self.publish(
                "e",
                serde_json::json!({"owner": ev.owner_id, "event": ev.event}),
            );
        }
    }

    /// Tells the other nodes about an ephemeral event fanned out here.
    pub(super) fn publish_ephemeral(&self, ev: &Ephemeral) {
        if self.in_cluster() {
            self.publish("x", serde_json::json!({"ev": ev}));
        }
    }

    /// Applies a revocation here and, when it happened here, on every node.
    pub(super) fn revoke(&self, r: Revocation) {
        self.apply_revocation(&r);
        self.revoke_elsewhere(r);
    }

    /// Publishes a revocation for the other nodes only (this one is already up to date).
    pub(super) fn revoke_elsewhere(&self, r: Revocation) {
        if self.in_cluster() {
            self.publish("r", serde_json::json!({"r": r}));
        }
    }

    fn apply_revocation(&self, r: &Revocation) {
        use assent_core::model::PrincipalKind as K;
        match r {
            Revocation::ApiKey { id } => {
                self.forget_key(id);
                self.hub
                    .close_where(|p| matches!(&p.kind, K::ApiKey { key_id } if key_id == id));
            }
            Revocation::Session { id } => {
                self.hub.close_where(
                    |p| matches!(&p.kind, K::Session { session_id } if session_id == id),
                );
            }
            Revocation::OtherSessions { user, keep } => {
                self.hub.close_where(|p| {
                    &p.user_id == user
                        && matches!(&p.kind, K::Session { session_id } if session_id != keep)
                });
            }
            Revocation::User { id } => {
                self.keys
                    .lock()
                    .expect("cache lock poisoned")
                    .retain(|_, k| &k.user_id != id);
                self.channels
                    .lock()
                    .expect("cache lock poisoned")
                    .retain(|_, c| &c.owner_id != id);
                self.hub.close_where(|p| &p.user_id == id);
            }
            Revocation::Channel { id } => {
                self.channels
                    .lock()
                    .expect("cache lock poisoned")
                    .remove(id);
            }
        }
    }

    fn set_cluster_error(&self, e: Option<String>) {
        if let Some(link) = self.cluster.get() {
            let up = e.is_none();
            *link.last_error.lock().expect("cluster lock poisoned") = e;
            self.metrics
                .cluster_connected
                .store(up as i64, Ordering::Relaxed);
        }
    }

    /// Reads from the log what other nodes committed on the channels this node watches and
    /// this node has not fanned out, and feeds it to the fan-out (which drops repeats).
    pub async fn recover_missed_events(&self) -> Result<u64, AppError> {
        let Some(link) = self.cluster.get() else {
            return Ok(0);
        };
        let (channels, users) = self.hub.watched();
        if channels.is_empty() && users.is_empty() {
            return Ok(0);
        }
        let mut recovered = 0;
        for (channel, head, owner) in self.store.channel_heads(&channels, &users).await? {
            let Some(known) = self.hub.dispatched_head(&channel) else {
                // First look at this channel: what came before is in its sockets' replay.
                self.hub.note_head(&channel, head);
                continue;
            };
            let mut after = known;
            while after < head {
                let page = self
                    .store
                    .events_between(&channel, after, head, 1_000)
                    .await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for event in page {
                    recovered += 1;
                    link.feed(CommittedEvent {
                        owner_id: owner.clone(),
                        event,
                    });
                }
            }
        }
        self.metrics
            .cluster_events_recovered
            .fetch_add(recovered, Ordering::Relaxed);
        Ok(recovered)
    }

    fn on_wire(&self, text: &str, ephemeral: &mpsc::UnboundedSender<Ephemeral>) {
        let Some(link) = self.cluster.get() else {
            return;
        };
        let Some((node, json)) = text.split_once('|') else {
            tracing::warn!("ignored a malformed cluster message");
            return;
        };
        if node == link.node {
            return;
        }
        let Ok(wire) = serde_json::from_str::<Wire>(json) else {
            tracing::warn!("ignored a malformed cluster message");
            return;
        };
        self.metrics
            .cluster_received
            .fetch_add(1, Ordering::Relaxed);
        match wire {
            Wire::Event { owner, event } => link.feed(CommittedEvent {
                owner_id: owner,
                event,
            }),
            Wire::Ephemeral { ev } => {
                let _ = ephemeral.send(ev);
            }
            Wire::Revoke { r } => self.apply_revocation(&r),
        }
    }
}

/// Sends queued messages, pipelined. A message that cannot be sent is dropped: the other
/// nodes read the events from the log (ephemeral events are, by design, not kept).
async fn publisher(
    app: Arc<App>,
    client: redis::Client,
    mut rx: mpsc::UnboundedReceiver<(String, Option<oneshot::Sender<()>>)>,
    cancel: CancellationToken,
) {
    let channel = app
        .cluster
        .get()
        .map(|l| l.channel.clone())
        .unwrap_or_default();
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    let mut batch = Vec::new();
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return,
            m = rx.recv() => match m { Some(m) => m, None => return },
        };
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            let connect = client.get_multiplexed_async_connection();
            conn = tokio::time::timeout(Duration::from_secs(2), connect)
                .await
                .ok()
                .and_then(Result::ok);
        }
        let Some(c) = conn.as_mut() else {
            batch.clear();
            continue;
        };
        let mut pipe = redis::pipe();
        let mut waiting = Vec::new();
        for (m, sent) in batch.drain(..) {
            pipe.cmd("PUBLISH").arg(&channel).arg(m).ignore();
            waiting.extend(sent);
        }
        let n = pipe.len() as u64;
        let sent = tokio::time::timeout(Duration::from_secs(2), pipe.query_async::<()>(c)).await;
        match sent {
            Ok(Ok(())) => {
                app.metrics
                    .cluster_published
                    .fetch_add(n, Ordering::Relaxed);
            }
            _ => conn = None,
        }
        for w in waiting {
            let _ = w.send(());
        }
    }
}

/// Listens on the cluster's channel, reconnecting with a short back-off; marks the node
/// degraded while it cannot, and checks the log for missed events after each (re)connect.
async fn subscriber(app: Arc<App>, client: redis::Client, cancel: CancellationToken) {
    let channel = app
        .cluster
        .get()
        .map(|l| l.channel.clone())
        .unwrap_or_default();
    let (etx, erx) = mpsc::unbounded_channel();
    let relay = tokio::spawn(relay_ephemeral(app.clone(), erx));
    let mut backoff = Duration::from_millis(100);
    while !cancel.is_cancelled() {
        let connect = async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(ps)
        };
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(Ok(mut ps)) => {
                app.set_cluster_error(None);
                backoff = Duration::from_millis(100);
                if let Some(l) = app.cluster.get() {
                    l.sweep_now.notify_one();
                }
                let mut stream = ps.on_message();
                loop {
                    let msg = tokio::select! {
                        _ = cancel.cancelled() => break,
                        m = stream.next() => m,
                    };
                    let Some(msg) = msg else { break };
                    if let Ok(text) = msg.get_payload::<String>() {
                        app.on_wire(&text, &etx);
                    }
                }
                if !cancel.is_cancelled() {
                    tracing::warn!("lost the Redis subscription; reconnecting");
                    app.set_cluster_error(Some("the Redis subscription dropped".into()));
                }
            }
            Ok(Err(e)) => app.set_cluster_error(Some(format!("Redis unreachable: {e}"))),
            Err(_) => app.set_cluster_error(Some("Redis unreachable: connect timed out".into())),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
    relay.abort();
}

/// Other nodes' ephemeral events, fanned out one at a time (a stream's deltas keep their order).
async fn relay_ephemeral(app: Arc<App>, mut rx: mpsc::UnboundedReceiver<Ephemeral>) {
    while let Some(ev) = rx.recv().await {
        app.hub.dispatch_ephemeral(Arc::new(ev)).await;
    }
}

async fn sweeper(app: Arc<App>, cancel: CancellationToken) {
    loop {
        let now = app.cluster.get().map(|l| l.sweep_now.notified());
        let Some(now) = now else { return };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = now => {}
        }
        match app.recover_missed_events().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(
                recovered = n,
                "read events Redis did not bring from the log"
            ),
            Err(e) => tracing::warn!(error = %e, "could not check the log for missed events"),
        }
    }
}

/// The prefix for a database: its name, so two clusters on one Redis never meet.
pub fn default_prefix(database_url: &str) -> String {
    let path = database_url.rsplit('/').next().unwrap_or("assent");
    let name = path.split('?').next().unwrap_or(path);
    format!("assent:{name}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_follow_the_database() {
        assert_eq!(
            super::default_prefix("postgres://u:p@db:5432/prod?sslmode=require"),
            "assent:prod"
        );
        assert_eq!(
            super::default_prefix("postgres://db/staging"),
            "assent:staging"
        );
    }
}
