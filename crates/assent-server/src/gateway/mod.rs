//! The Socket.IO gateway on namespace `/ws` (Placet-compatible). Authentication runs in the
//! connect middleware, so a bad credential gets `connect_error` before any handler. Client
//! events are turned into commands of the socket's ordered connection queue *synchronously,
//! while the packet is decoded* (custom extractors), so that `subscribe:channel` followed by
//! `ping` is answered in that order even though socketioxide runs handlers as tasks.

use crate::app::hub::{
    CloseReason, Connection, Ephemeral, OwnerFeed, RelayKind, SharedEvent, Sink, SinkError,
    SubscribeOutcome, View, slot,
};
use crate::app::{App, AppError};
use crate::error::ApiError;
use crate::serve::{ConnStats, UpgradeLink};
use crate::wire;
use assent_core::ChannelId;
use assent_core::model::Principal;
use assent_proto::{self as p, events};
use serde_json::Value;
use serde_json::value::RawValue;
use socketioxide::SocketIo;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts, Value as SioValue};
use socketioxide::socket::{DisconnectReason, Socket};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub type GatewayLayer = socketioxide::layer::SocketIoLayer<LocalAdapter>;

/// Builds the Socket.IO layer and its handle (used at shutdown to close every socket).
pub fn layer(app: Arc<App>) -> (GatewayLayer, SocketIo) {
    let (layer, io) = SocketIo::builder()
        .max_payload(1_000_000)
        .max_buffer_size(8_192)
        // Each socket's WebSocket read buffer starts this big and grows for larger frames;
        // idle sockets exchange only pings, so 4 KiB (the default) mostly sat unused.
        .ws_read_buffer_size(1_024)
        .ping_interval(Duration::from_secs(25))
        .ping_timeout(Duration::from_secs(20))
        .with_state(app)
        .build_layer();
    io.ns("/ws", on_connect.with(authenticate));
    (layer, io)
}

/// socketioxide keeps every socket's request `Parts` for its whole life, and nothing reads
/// their headers after the request that opened it: engineioxide needs `Sec-WebSocket-Key`
/// to answer an upgrade and `Content-Type` to read a polling POST, and Assent's own socket
/// code reads only the URI and the extensions (authentication is in the CONNECT packet).
/// So only those two headers are kept, each in an allocation of its own: as parsed by hyper,
/// header values and the URI are slices of the connection's read buffer, which they would
/// pin per socket. (axum's `original-uri` feature stays off for the same reason: its
/// extension holds the URI too.) A browser's dozen headers and cookies cost an idle socket
/// no memory.
pub async fn compact_request(req: axum::extract::Request) -> axum::extract::Request {
    use axum::http::header::{CONTENT_TYPE, SEC_WEBSOCKET_KEY};
    if !req.uri().path().starts_with("/socket.io") {
        return req;
    }
    let (mut parts, body) = req.into_parts();
    let kept = [SEC_WEBSOCKET_KEY, CONTENT_TYPE].map(|name| {
        let value = parts.headers.get(&name)?.as_bytes();
        Some((name, axum::http::HeaderValue::from_bytes(value).ok()?))
    });
    // Sized to what is kept: a map's default first allocation has room for six.
    let mut headers = axum::http::HeaderMap::with_capacity(kept.iter().flatten().count());
    headers.extend(kept.into_iter().flatten());
    parts.headers = headers;
    if let Ok(uri) = parts.uri.to_string().parse() {
        parts.uri = uri;
    }
    axum::extract::Request::from_parts(parts, body)
}

/// Why a connection is refused; its text is the `connect_error` message.
#[derive(Debug)]
enum Refused {
    Unauthorized,
    TooManySockets,
}
impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Unauthorized => "unauthorized",
            Refused::TooManySockets => "too_many_sockets",
        })
    }
}

/// Connect middleware: `auth.apiKey` (agents) or `auth.token` (ticket or session token).
/// It also sets the socket up (connection worker, handlers): socketioxide sends the CONNECT
/// packet before it runs the connect handler, so anything done there races the client's
/// first events.
async fn authenticate(
    s: SocketRef,
    TryData(auth): TryData<Value>,
    State(app): State<Arc<App>>,
) -> Result<(), Refused> {
    let auth = auth.unwrap_or(Value::Null);
    let api_key = auth.get("apiKey").and_then(Value::as_str);
    let token = auth.get("token").and_then(Value::as_str);
    match app.socket_principal(api_key, token).await {
        Ok(Some(p)) => setup(&s, &app, p),
        Ok(None) => Err(Refused::Unauthorized),
        Err(e) => {
            tracing::error!(error = %e, "socket authentication failed");
            Err(Refused::Unauthorized)
        }
    }
}

/// Emits on one socket. The socket is set up in the connect middleware, before socketioxide
/// marks it connected; until then a delivery is "full" (retried), not "closed".
struct SocketSink {
    socket: SocketRef,
    was_connected: AtomicBool,
    /// How far the client has read, to bound the bytes waiting for it (see [`Meter`]).
    meter: Meter,
    sent: std::sync::Mutex<Option<Sent>>,
}

/// The TCP connection a socket's WebSocket runs on, and the payload bytes emitted since it
/// was first seen: their difference with what the connection handed to the kernel bounds
/// what socketioxide still buffers for the socket.
enum Meter {
    /// Opened over WebSocket: the connection of its own request.
    Direct(Arc<ConnStats>),
    /// Started on long-polling: the upgrade's connection, once there is one.
    Upgraded(Arc<UpgradeLink>),
    /// Neither is known (e.g. a client that stays on long-polling): the packet bound only.
    None,
}

struct Sent {
    /// Bytes the connection had written when the socket was first measured on it.
    written_at_start: u64,
    emitted: u64,
}

/// Payload bytes a Socket.IO socket may have waiting in the server before it counts as a
/// slow consumer (see [`SocketSink::bytes`]).
pub const MAX_QUEUED_BYTES: u64 = 4 << 20;

impl SocketSink {
    fn new(socket: SocketRef) -> SocketSink {
        let parts = socket.req_parts();
        let websocket = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "transport=websocket"));
        let direct = parts.extensions.get::<Arc<ConnStats>>().cloned();
        let meter = match (
            websocket,
            direct,
            parts.extensions.get::<Arc<UpgradeLink>>(),
        ) {
            (true, Some(stats), _) => Meter::Direct(stats),
            (false, _, Some(link)) => Meter::Upgraded(link.clone()),
            _ => Meter::None,
        };
        SocketSink {
            socket,
            was_connected: AtomicBool::new(false),
            meter,
            sent: std::sync::Mutex::new(None),
        }
    }

    /// The connection to measure this socket on now, if any.
    fn connection(&self) -> Option<&Arc<ConnStats>> {
        match &self.meter {
            Meter::Direct(stats) => Some(stats),
            Meter::Upgraded(link) => link.connection(),
            Meter::None => None,
        }
    }

    fn emit_raw(&self, event: &str, json: &str) -> Result<(), SinkError> {
        let raw: &RawValue = serde_json::from_str(json).map_err(|_| SinkError::Closed)?;
        self.emit_value(event, raw)
    }

    fn emit_value(&self, event: &str, raw: &RawValue) -> Result<(), SinkError> {
        if !self.was_connected.load(Ordering::Relaxed) {
            if !self.socket.connected() {
                return Err(SinkError::Full);
            }
            self.was_connected.store(true, Ordering::Relaxed);
        }
        let len = raw.get().len() as u64;
        let conn = self.connection();
        if let Some(stats) = conn {
            let written = stats.written.load(Ordering::Relaxed);
            let mut sent = self.sent.lock().expect("sink lock poisoned");
            let s = sent.get_or_insert(Sent {
                written_at_start: written,
                emitted: 0,
            });
            let drained = written - s.written_at_start;
            // The byte bound; one large event may still go out on a drained connection.
            if s.emitted > drained && s.emitted - drained + len > MAX_QUEUED_BYTES {
                return Err(SinkError::Full);
            }
        }
        match self.socket.emit(event, raw) {
            Ok(()) => {
                if conn.is_some()
                    && let Some(s) = self.sent.lock().expect("sink lock poisoned").as_mut()
                {
                    s.emitted += len;
                }
                Ok(())
            }
            Err(socketioxide::SendError::Socket(
                socketioxide::SocketError::InternalChannelFull,
            )) => Err(SinkError::Full),
            Err(_) => Err(SinkError::Closed),
        }
    }
}

impl Sink for SocketSink {
    fn deliver(&self, ev: &SharedEvent, view: View) -> Result<(), SinkError> {
        let s = match view {
            View::Agent => slot::SOCKETIO_AGENT,
            View::Dashboard => slot::SOCKETIO_DASHBOARD,
        };
        // Rendered and validated once per event, not once per recipient.
        let raw = ev.rendered(s, |e| {
            RawValue::from_string(wire::socketio_payload(e, view)).ok()
        });
        match raw.as_deref() {
            Some(raw) => self.emit_value(ev.logged.event.name(), raw),
            None => Err(SinkError::Closed),
        }
    }

    fn sync_reset(
        &self,
        channel: &ChannelId,
        oldest_seq: i64,
        head_seq: i64,
    ) -> Result<(), SinkError> {
        let body = p::SyncResetPayload {
            channel_id: channel.to_string(),
            oldest_seq,
            head_seq,
        };
        self.emit_raw(
            events::SYNC_RESET,
            &serde_json::to_string(&body).unwrap_or_default(),
        )
    }

    fn deliver_ephemeral(&self, ev: &Ephemeral, _view: View) -> Result<(), SinkError> {
        let (name, json) = wire::socketio_ephemeral(ev);
        self.emit_raw(name, &json)
    }

    fn close(&self, why: CloseReason) {
        tracing::debug!(reason = ?why, "closing a Socket.IO socket");
        // Either way the client sees a server-side disconnect ("io server disconnect").
        disconnect(self.socket.clone());
    }
}

/// Disconnects a socket. socketioxide cannot queue the disconnect packet while the buffer is
/// full, which is exactly when a slow consumer is closed: keep trying until it drains or the
/// engine's heartbeat gives up on the client.
fn disconnect(socket: SocketRef) {
    tokio::spawn(async move {
        for _ in 0..600 {
            match socket.clone().disconnect() {
                Err(socketioxide::SocketError::InternalChannelFull) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                _ => return,
            }
        }
    });
}

/// Closes a socket that could not take one more packet or command: it resumes by `seq`
/// when it reconnects, which loses nothing, whereas a dropped ack would leave its client
/// waiting for good.
fn close_slow(s: &SocketRef, what: &'static str) {
    tracing::warn!(socket = %s.id, what, "closing a Socket.IO socket that cannot keep up");
    if let Some(metrics) = s.extensions.get::<Arc<crate::metrics::Metrics>>() {
        metrics
            .slow_consumers_closed
            .fetch_add(1, Ordering::Relaxed);
    }
    disconnect(s.clone());
}

/// Sends an ack, or closes the socket as a slow consumer when its buffer is full: an ack is
/// never lost silently.
fn send_ack<T: serde::Serialize + ?Sized>(s: &SocketRef, ack: AckSender, body: &T) {
    if let Err(socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull)) =
        ack.send(body)
    {
        close_slow(s, "an acknowledgement");
    }
}

async fn on_connect(s: SocketRef) {
    tracing::trace!(socket = %s.id, "socket connected to /ws");
}

fn setup(s: &SocketRef, app: &Arc<App>, principal: Principal) -> Result<(), Refused> {
    let conn = app
        .connect(
            principal.clone(),
            Arc::new(SocketSink::new(s.clone())),
            // Placet's user room: a dashboard hears about every channel of its user.
            OwnerFeed::Yes,
        )
        .map_err(|e| {
            tracing::info!(user_id = %principal.user_id, error = %e, "socket refused");
            Refused::TooManySockets
        })?;
    s.extensions.insert(principal.clone());
    s.extensions.insert(app.metrics().clone());
    app.metrics()
        .sockets_connected
        .fetch_add(1, Ordering::Relaxed);
    tracing::debug!(socket = %s.id, user_id = %principal.user_id, agent = principal.is_agent(), "socket connected");
    s.extensions.insert(conn);
    s.on(events::SUBSCRIBE, async |_: Queued<Subscribe>| {});
    s.on(events::UNSUBSCRIBE, async |_: Queued<Unsubscribe>| {});
    s.on(events::PING, async |_: Queued<Ping>| {});
    s.on(events::CHANNEL_READ, on_channel_read);
    s.on(
        assent_proto::events::MESSAGE_DELTA,
        async |_: Queued<Relay<DeltaKind>>| {},
    );
    s.on(
        assent_proto::events::MESSAGE_PROGRESS,
        async |_: Queued<Relay<ProgressKind>>| {},
    );
    s.on(
        assent_proto::events::AGENT_COMMANDS,
        async |_: Queued<Relay<CommandsKind>>| {},
    );
    s.on_disconnect(
        async |s: SocketRef, State(app): State<Arc<App>>, reason: DisconnectReason| {
            if let Some(conn) = s.extensions.remove::<Connection>() {
                conn.disconnect();
            }
            app.metrics()
                .sockets_connected
                .fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(socket = %s.id, ?reason, "socket disconnected");
        },
    );
    Ok(())
}

/// A client event, queued on the socket's connection in arrival order during extraction.
struct Queued<K>(std::marker::PhantomData<K>);

trait Command {
    /// Queues the command on the connection; `false` when its queue is full.
    /// `wants_ack`: the client asked for an acknowledgement (else a refusal is reported as
    /// an `exception` event, so that it is never silent).
    fn enqueue(
        s: SocketRef,
        conn: &Connection,
        data: Option<Value>,
        ack: AckSender,
        wants_ack: bool,
    ) -> bool;
}

impl<K: Command> FromMessageParts<LocalAdapter> for Queued<K> {
    type Error = Infallible;
    fn from_message_parts(
        s: &Arc<Socket<LocalAdapter>>,
        v: &mut SioValue,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let TryData(data) = TryData::<Value>::from_message_parts(s, v, ack_id)?;
        let ack = AckSender::from_message_parts(s, v, ack_id)?;
        let socket = SocketRef::from_message_parts(s, v, ack_id)?;
        if let Some(conn) = s.extensions.get::<Connection>()
            && !K::enqueue(socket.clone(), &conn, data.ok(), ack, ack_id.is_some())
        {
            close_slow(&socket, "a command");
        }
        Ok(Queued(std::marker::PhantomData))
    }
}

fn refusal(e: AppError) -> p::SubscribeAck {
    let body = ApiError::App(e).body();
    p::SubscribeAck {
        ok: false,
        channel_id: None,
        last_seq: None,
        error: Some(p::AckError {
            code: body.code,
            message: body.message,
        }),
    }
}

struct Subscribe;
impl Command for Subscribe {
    fn enqueue(
        s: SocketRef,
        conn: &Connection,
        data: Option<Value>,
        ack: AckSender,
        _: bool,
    ) -> bool {
        // Placet sends a bare channel id; Assent also takes `{channelId, lastSeq}`.
        let (channel, last_seq) = match data {
            Some(Value::String(s)) => (s, None),
            Some(Value::Array(mut a)) if a.len() == 1 && a[0].is_string() => {
                (a.remove(0).as_str().unwrap_or_default().to_owned(), None)
            }
            Some(v @ Value::Object(_)) => match serde_json::from_value::<p::SubscribeRequest>(v) {
                Ok(r) => (r.channel_id, r.last_seq),
                Err(e) => {
                    let err = AppError::Invalid(assent_core::ValidationError::single(
                        assent_proto::events::SUBSCRIBE,
                        e.to_string(),
                    ));
                    send_ack(&s, ack, &refusal(err));
                    return true;
                }
            },
            _ => {
                let err = AppError::Invalid(assent_core::ValidationError::single(
                    assent_proto::events::SUBSCRIBE,
                    "expected a channel id or {channelId, lastSeq}",
                ));
                send_ack(&s, ack, &refusal(err));
                return true;
            }
        };
        conn.subscribe(channel, last_seq, move |outcome| {
            let body = match outcome {
                SubscribeOutcome::Subscribed {
                    channel_id,
                    last_seq,
                    ..
                } => p::SubscribeAck {
                    ok: true,
                    channel_id: Some(channel_id.to_string()),
                    last_seq: Some(last_seq),
                    error: None,
                },
                SubscribeOutcome::Refused(e) => refusal(e),
            };
            send_ack(&s, ack, &body);
        })
    }
}

struct Unsubscribe;
impl Command for Unsubscribe {
    fn enqueue(
        s: SocketRef,
        conn: &Connection,
        data: Option<Value>,
        ack: AckSender,
        _: bool,
    ) -> bool {
        let channel = match data {
            Some(Value::String(s)) => s,
            Some(Value::Object(o)) => o
                .get("channelId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        conn.unsubscribe(channel)
            && conn.run(move || send_ack(&s, ack, &serde_json::json!({"ok": true})))
    }
}

struct Ping;
impl Command for Ping {
    fn enqueue(s: SocketRef, conn: &Connection, _: Option<Value>, ack: AckSender, _: bool) -> bool {
        // `pong` is emitted in order with deliveries, so a ping also works as a barrier.
        conn.run(move || {
            let no_args: [u8; 0] = [];
            if let Err(socketioxide::SendError::Socket(
                socketioxide::SocketError::InternalChannelFull,
            )) = s.emit(events::PONG, &no_args)
            {
                close_slow(&s, "a pong");
                return;
            }
            send_ack(&s, ack, &serde_json::json!({"ok": true}));
        })
    }
}

async fn on_channel_read(
    s: SocketRef,
    TryData(channel): TryData<String>,
    State(app): State<Arc<App>>,
) {
    let Some(principal) = s.extensions.get::<Principal>() else {
        return;
    };
    if let Ok(channel) = channel
        && let Err(e) = app.mark_read(&principal.user_id, &channel).await
    {
        tracing::debug!(error = %e, "channel:read refused");
    }
}

/// Agent relays (`message:delta`, `message:progress`, `agent:commands`): ownership-checked
/// and handled in arrival order by the connection's worker; an ack, if asked for, says
/// whether it was accepted.
struct Relay<K>(std::marker::PhantomData<K>);
struct DeltaKind;
struct ProgressKind;
struct CommandsKind;
trait RelayKindOf {
    const KIND: RelayKind;
    const EVENT: &'static str;
}
impl RelayKindOf for DeltaKind {
    const KIND: RelayKind = RelayKind::Delta;
    const EVENT: &'static str = p::events::MESSAGE_DELTA;
}
impl RelayKindOf for ProgressKind {
    const KIND: RelayKind = RelayKind::Progress;
    const EVENT: &'static str = p::events::MESSAGE_PROGRESS;
}
impl RelayKindOf for CommandsKind {
    const KIND: RelayKind = RelayKind::Commands;
    const EVENT: &'static str = p::events::AGENT_COMMANDS;
}

impl<K: RelayKindOf> Command for Relay<K> {
    fn enqueue(
        s: SocketRef,
        conn: &Connection,
        data: Option<Value>,
        ack: AckSender,
        wants_ack: bool,
    ) -> bool {
        let answer = move |s: &SocketRef, ack: AckSender, r: Result<(), AppError>| match r {
            Ok(()) => send_ack(s, ack, &serde_json::json!({"ok": true})),
            Err(e) if wants_ack => send_ack(s, ack, &refusal(e)),
            Err(e) => exception(s, K::EVENT, e),
        };
        let Some(payload @ Value::Object(_)) = data else {
            let err = AppError::Invalid(assent_core::ValidationError::single(
                "",
                "payload must be an object",
            ));
            answer(&s, ack, Err(err));
            return true;
        };
        conn.relay(K::KIND, payload, move |r| answer(&s, ack, r))
    }
}

/// A refused relay the client asked no acknowledgement for: NestJS's (Placet's) `exception`
/// event, `{status: "error", message, code, event}`.
fn exception(s: &SocketRef, event: &str, e: AppError) {
    let body = ApiError::App(e).body();
    let payload = serde_json::json!({
        "status": "error", "message": body.message, "code": body.code, "event": event,
    });
    if let Err(socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull)) =
        s.emit(p::events::EXCEPTION, &payload)
    {
        close_slow(s, "an exception");
    }
}

#[cfg(test)]
mod tests {
    use super::compact_request;
    use axum::body::Body;
    use axum::extract::Request;

    #[tokio::test]
    async fn compaction_keeps_only_what_the_engine_reads() {
        let req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("content-type", "text/plain;charset=UTF-8")
            .header("user-agent", "Mozilla/5.0")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .body(Body::empty())
            .unwrap();
        let out = compact_request(req).await;
        assert_eq!(out.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(
            out.headers()["sec-websocket-key"],
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(out.headers()["content-type"], "text/plain;charset=UTF-8");
        assert_eq!(out.headers().len(), 2, "{:?}", out.headers());
        // Other paths pass through untouched.
        let other = Request::builder()
            .uri("/api/v1/agents")
            .body(Body::empty())
            .unwrap();
        assert_eq!(compact_request(other).await.uri(), "/api/v1/agents");
    }
}
