//! Raw WebSockets (docs/THREAD_STREAM.md): the per-thread event stream `/ws/threads/{id}`
//! with seed 003 `event_type` frames, and the per-user notifications stream
//! `/ws/notifications`. Authentication is a single-use ticket (`?ticket=`) or an
//! `x-api-key` header; failures complete the handshake and close with a 44xx code so that
//! browsers can read the reason.

use crate::app::hub::{
    CloseReason, Connection, Ephemeral, OwnerFeed, SharedEvent, Sink, SinkError, SubscribeOutcome,
    View, slot,
};
use crate::app::{App, AppError};
use crate::wire;
use assent_core::ChannelId;
use assent_core::model::Principal;
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};

/// Initial read buffer of a raw WebSocket (it grows for larger frames).
const READ_BUFFER: usize = 4 * 1024;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

pub const CLOSE_UNAUTHORIZED: u16 = 4401;
pub const CLOSE_FORBIDDEN: u16 = 4403;
pub const CLOSE_BAD_REQUEST: u16 = 4400;
pub const CLOSE_TOO_SLOW: u16 = 4408;
pub const CLOSE_HEARTBEAT: u16 = 4000;
/// The key or session already holds the configured maximum of sockets.
pub const CLOSE_TOO_MANY: u16 = 4429;

/// Frames a connection may have queued for its writer before it counts as too slow.
const OUTBOX: usize = 1_024;
/// Bytes a connection may have queued for its writer before it counts as too slow (it is
/// then closed with 4408 after the worker's grace period, and resumes by `seq`).
pub const MAX_QUEUED_BYTES: usize = 4 << 20;
const PING_EVERY: Duration = Duration::from_secs(25);
const DEAD_AFTER: Duration = Duration::from_secs(60);

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ws/threads/{thread_id}", get(thread))
        .route("/ws/notifications", get(notifications))
        .with_state(app)
}

type Closer = tokio::sync::watch::Sender<Option<(u16, &'static str)>>;

/// The worker's side of a raw socket: frames go to a bounded outbox drained by the writer;
/// a close request overtakes queued frames.
struct RawSink {
    tx: mpsc::Sender<String>,
    closer: Arc<Closer>,
    thread: bool,
    /// Bytes of the frames in the outbox (the writer subtracts what it takes).
    queued: Arc<AtomicUsize>,
}

impl RawSink {
    fn push(&self, frame: String) -> Result<(), SinkError> {
        let len = frame.len();
        match self.tx.try_send(frame) {
            Ok(()) => {
                self.queued.fetch_add(len, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(SinkError::Full),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SinkError::Closed),
        }
    }
}

impl Sink for RawSink {
    fn deliver(&self, ev: &SharedEvent, view: View) -> Result<(), SinkError> {
        let frames = match (self.thread, view) {
            (true, View::Agent) => {
                ev.rendered(slot::THREAD_AGENT, |e| wire::thread_frames(e, view))
            }
            (true, View::Dashboard) => {
                ev.rendered(slot::THREAD_DASHBOARD, |e| wire::thread_frames(e, view))
            }
            (false, _) => ev.rendered(slot::NOTIFICATION, wire::notification_frames),
        };
        // A rendering holds zero or more frames separated by newlines (JSON has none). All of
        // them go out or none: a retried delivery must not repeat the first half.
        let parts: Vec<&str> = frames.split('\n').filter(|f| !f.is_empty()).collect();
        if self.tx.is_closed() {
            return Err(SinkError::Closed);
        }
        let bytes: usize = parts.iter().map(|p| p.len()).sum();
        let queued = self.queued.load(Ordering::Relaxed);
        // The byte bound: one large event may still go into an empty outbox.
        if self.tx.capacity() < parts.len() || (queued > 0 && queued + bytes > MAX_QUEUED_BYTES) {
            return Err(SinkError::Full);
        }
        for f in parts {
            self.push(f.to_owned())?;
        }
        Ok(())
    }

    fn sync_reset(
        &self,
        channel: &ChannelId,
        oldest_seq: i64,
        head_seq: i64,
    ) -> Result<(), SinkError> {
        self.push(json!({"event_type": assent_proto::frames::SYNC_RESET, "thread_id": channel, "oldest_seq": oldest_seq, "head_seq": head_seq}).to_string())
    }

    fn deliver_ephemeral(&self, ev: &Ephemeral, _view: View) -> Result<(), SinkError> {
        match (self.thread, wire::thread_ephemeral(ev)) {
            (true, Some(frame)) => self.push(frame),
            _ => Ok(()),
        }
    }

    fn close(&self, why: CloseReason) {
        let frame = match why {
            CloseReason::TooSlow => (CLOSE_TOO_SLOW, "too slow: reconnect with since"),
            CloseReason::Revoked => (CLOSE_UNAUTHORIZED, "credential revoked"),
        };
        self.closer.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(frame);
                true
            } else {
                false
            }
        });
    }
}

async fn authenticate(
    app: &App,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AppError> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return app.api_key_principal(key.trim()).await;
    }
    match query.get("ticket") {
        Some(t) => app.redeem_ticket(t).await,
        None => Ok(None),
    }
}

async fn close_with(mut ws: WebSocket, code: u16, reason: &'static str) {
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

async fn thread(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    Path(thread_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let principal = authenticate(&app, &query, &headers).await;
    ws.max_message_size(64 * 1024)
        // tungstenite's default read buffer is 128 KiB per socket; frames here are small.
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let principal = match principal {
                Ok(Some(p)) => p,
                Ok(None) => return close_with(socket, CLOSE_UNAUTHORIZED, "unauthorized").await,
                Err(e) => {
                    tracing::error!(error = %e, "raw socket authentication failed");
                    return close_with(socket, 1011, "internal error").await;
                }
            };
            let since = match query.get("since").map(|s| s.parse::<i64>()) {
                None => None,
                Some(Ok(n)) if n >= 0 => Some(n),
                Some(_) => {
                    return close_with(
                        socket,
                        CLOSE_BAD_REQUEST,
                        "since must be a non-negative integer",
                    )
                    .await;
                }
            };
            if app
                .owned_channel(&principal.user_id, &thread_id)
                .await
                .is_err()
            {
                return close_with(socket, CLOSE_FORBIDDEN, "forbidden").await;
            }
            serve(app, principal, socket, true, Some((thread_id, since))).await;
        })
}

async fn notifications(
    ws: WebSocketUpgrade,
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let principal = authenticate(&app, &query, &headers).await;
    ws.max_message_size(64 * 1024)
        // tungstenite's default read buffer is 128 KiB per socket; frames here are small.
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            match principal {
                Ok(Some(p)) if !p.is_agent() => serve(app, p, socket, false, None).await,
                Ok(Some(_)) => {
                    close_with(
                        socket,
                        CLOSE_FORBIDDEN,
                        "notifications are for dashboards: use a session ticket",
                    )
                    .await
                }
                Ok(None) => close_with(socket, CLOSE_UNAUTHORIZED, "unauthorized").await,
                Err(_) => close_with(socket, 1011, "internal error").await,
            }
        })
}

/// Runs one raw socket: a writer task drains the outbox (a close request overtakes it), the
/// reader handles pings and liveness, the hub worker feeds frames.
async fn serve(
    app: Arc<App>,
    principal: Principal,
    socket: WebSocket,
    thread: bool,
    sub: Option<(String, Option<i64>)>,
) {
    let connected = &app.metrics().raw_sockets_connected;
    connected.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<String>(OUTBOX);
    let (closer, close_rx) = tokio::sync::watch::channel(None);
    let closer = Arc::new(closer);
    let queued = Arc::new(AtomicUsize::new(0));
    let sink = Arc::new(RawSink {
        tx: tx.clone(),
        closer: closer.clone(),
        thread,
        queued: queued.clone(),
    });
    // A thread stream shows its one thread; the notifications stream is the owner feed.
    let feed = if thread {
        OwnerFeed::No
    } else {
        OwnerFeed::Yes
    };
    let Ok(conn) = app.connect(principal, sink, feed) else {
        connected.fetch_sub(1, Ordering::Relaxed);
        close_with(
            socket,
            CLOSE_TOO_MANY,
            "too many sockets for this credential",
        )
        .await;
        return;
    };
    start(&conn, &tx, &closer, sub);
    let (ws_tx, ws_rx) = socket.split();
    let writer = tokio::spawn(write_loop(ws_tx, rx, close_rx, queued));
    read_loop(&app, ws_rx, &conn, &tx, &closer, &writer).await;
    conn.disconnect();
    let _ = closer.send(Some((1000, "bye")));
    drop(tx);
    let _ = writer.await;
    connected.fetch_sub(1, Ordering::Relaxed);
}

/// Subscribes a thread stream (then `ready` with its `last_seq`), or says `ready` at once.
fn start(conn: &Connection, tx: &Outbox, closer: &Arc<Closer>, sub: Option<(String, Option<i64>)>) {
    let Some((thread_id, since)) = sub else {
        let _ = tx.try_send(json!({"event_type": assent_proto::frames::READY}).to_string());
        return;
    };
    let (tx, closer) = (tx.clone(), closer.clone());
    conn.subscribe(thread_id.clone(), since, move |outcome| match outcome {
        SubscribeOutcome::Subscribed { last_seq, .. } => {
            let ready = json!({"event_type": assent_proto::frames::READY, "thread_id": thread_id, "last_seq": last_seq});
            let _ = tx.try_send(ready.to_string());
        }
        SubscribeOutcome::Refused(AppError::Store(_) | AppError::Internal(_)) => {
            // Not the client's fault: it may retry with the same `since`.
            let _ = closer.send(Some((1011, "internal error: reconnect with since")));
        }
        SubscribeOutcome::Refused(_) => {
            let _ = closer.send(Some((CLOSE_FORBIDDEN, "forbidden")));
        }
    });
}

type Outbox = mpsc::Sender<String>;

/// Writes queued frames and pings until the outbox closes or a close is requested (which
/// overtakes queued frames).
async fn write_loop(
    mut ws_tx: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<String>,
    mut close_rx: tokio::sync::watch::Receiver<Option<(u16, &'static str)>>,
    queued: Arc<AtomicUsize>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let close = |c: Option<(u16, &'static str)>| {
        Message::Close(c.map(|(code, reason)| CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }))
    };
    loop {
        let msg = tokio::select! {
            biased;
            _ = close_rx.changed() => None,
            out = rx.recv() => match out {
                Some(f) => {
                    // Saturating: control frames (ready, pong) are queued uncounted.
                    let _ = queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                        Some(q.saturating_sub(f.len()))
                    });
                    Some(Message::Text(f.into()))
                }
                None => return,
            },
            _ = ping.tick() => Some(Message::Ping(Default::default())),
        };
        let sent = match msg {
            None => false,
            Some(msg) => tokio::select! {
                biased;
                _ = close_rx.changed() => false,
                r = ws_tx.send(msg) => if r.is_err() { return } else { true },
            },
        };
        if !sent {
            let c = *close_rx.borrow();
            let _ = tokio::time::timeout(Duration::from_secs(1), ws_tx.send(close(c))).await;
            return;
        }
    }
}

/// Reads until the client leaves, goes quiet past `DEAD_AFTER`, the server shuts down or the
/// writer stops; answers `{"type":"ping"}` with a pong queued behind earlier frames.
async fn read_loop(
    app: &App,
    mut ws_rx: futures_util::stream::SplitStream<WebSocket>,
    conn: &Connection,
    tx: &Outbox,
    closer: &Arc<Closer>,
    writer: &tokio::task::JoinHandle<()>,
) {
    let mut last_heard = tokio::time::Instant::now();
    loop {
        let wait = DEAD_AFTER.saturating_sub(last_heard.elapsed());
        tokio::select! {
            _ = app.closing().cancelled() => {
                let _ = closer.send(Some((1001, "server shutting down")));
                return;
            }
            _ = tokio::time::sleep(wait) => {
                let _ = closer.send(Some((CLOSE_HEARTBEAT, "heartbeat timeout")));
                return;
            }
            msg = ws_rx.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(msg)) => {
                    last_heard = tokio::time::Instant::now();
                    if let Message::Text(t) = msg {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                        if v.get("type").and_then(Value::as_str) == Some("ping") {
                            let tx = tx.clone();
                            conn.run(move || {
                                let _ = tx.try_send(json!({"event_type": assent_proto::frames::PONG}).to_string());
                            });
                        }
                    }
                }
            },
        }
        if writer.is_finished() {
            return;
        }
    }
}
