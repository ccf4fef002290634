//! A minimal Socket.IO v5 client (Engine.IO v4, WebSocket transport only): connect to one
//! namespace with an auth payload, emit with or without ack, receive events, answer the
//! server's heartbeats. It speaks the same wire format as `socket.io-client`.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

impl From<tokio_tungstenite::tungstenite::Error> for SioError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        SioError::Ws(Box::new(e))
    }
}

/// Why a [`SocketIoClient`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum SioError {
    /// The WebSocket failed (connect, upgrade or I/O).
    #[error("websocket: {0}")]
    Ws(Box<tokio_tungstenite::tungstenite::Error>),
    /// The server refused the namespace connect (`connect_error`); its message, e.g.
    /// `unauthorized` or `too_many_sockets`.
    #[error("connect refused by the server: {0}")]
    ConnectError(String),
    /// An unexpected or unreadable packet during the handshake, or (for
    /// [`SocketIoClient::connect_from`]) an address that cannot be resolved, bound or reached.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Nothing arrived in time: a handshake packet (10 s), an ack, or the next event.
    #[error("timed out")]
    Timeout,
    /// The connection is closed (also: it closed before the awaited ack came).
    #[error("connection closed")]
    Closed,
}

/// One received event: its name and first argument (`Value::Null` when none).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The event name, e.g. `message:created` (see [`proto::events`](crate::proto::events)).
    pub name: String,
    /// Its first argument (`Value::Null` when none).
    pub data: Value,
}

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

/// A client connected to one namespace. Received events queue (without bound) until read
/// with [`next_event`](Self::next_event), [`next_named`](Self::next_named) or
/// [`drain`](Self::drain); the server's heartbeats are answered in the background.
pub struct SocketIoClient {
    ns: String,
    out: mpsc::UnboundedSender<Message>,
    events: mpsc::UnboundedReceiver<Event>,
    pending: Pending,
    next_ack: AtomicI64,
    /// The session id the server gave this namespace connection.
    pub sid: String,
}

impl SocketIoClient {
    /// Connects to `base` (`http://host:port`) on namespace `ns` (e.g. `/ws`) with `auth`.
    pub async fn connect(base: &str, ns: &str, auth: Value) -> Result<Self, SioError> {
        let (ws, _) = tokio_tungstenite::connect_async(engine_url(base)).await?;
        Self::start(ws, ns, auth).await
    }

    /// Like [`connect`](Self::connect) over plain `ws://`, from a chosen local address (load
    /// tests spread thousands of sockets over 127.x source addresses).
    pub async fn connect_from(
        base: &str,
        ns: &str,
        auth: Value,
        local: std::net::IpAddr,
    ) -> Result<Self, SioError> {
        let authority = base.trim_start_matches("http://").trim_end_matches('/');
        let addr: std::net::SocketAddr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| SioError::Protocol(e.to_string()))?
            .next()
            .ok_or_else(|| SioError::Protocol(format!("cannot resolve {authority}")))?;
        let sock = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(|e| SioError::Protocol(e.to_string()))?;
        sock.bind(std::net::SocketAddr::new(local, 0))
            .map_err(|e| SioError::Protocol(e.to_string()))?;
        let stream = sock
            .connect(addr)
            .await
            .map_err(|e| SioError::Protocol(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (ws, _) = tokio_tungstenite::client_async(engine_url(base), stream).await?;
        Self::start(ws, ns, auth).await
    }

    async fn start<S>(
        ws: tokio_tungstenite::WebSocketStream<S>,
        ns: &str,
        auth: Value,
    ) -> Result<Self, SioError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sink, mut stream) = ws.split();
        let sid = handshake(&mut sink, &mut stream, ns, auth).await?;
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader = read_loop(
            stream,
            ns.to_owned(),
            pending.clone(),
            out_tx.clone(),
            ev_tx,
        );
        tokio::spawn(reader);
        Ok(SocketIoClient {
            ns: ns.to_owned(),
            out: out_tx,
            events: ev_rx,
            pending,
            next_ack: AtomicI64::new(1),
            sid,
        })
    }

    /// Emits `event` with one argument (`Value::Null` = no argument).
    pub fn emit(&self, event: &str, data: Value) -> Result<(), SioError> {
        let payload = if data.is_null() {
            serde_json::json!([event])
        } else {
            serde_json::json!([event, data])
        };
        self.out
            .send(Message::text(format!("42{},{}", self.ns, payload)))
            .map_err(|_| SioError::Closed)
    }

    /// Emits and waits for the server's acknowledgement (first ack argument).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: Value,
        timeout: Duration,
    ) -> Result<Value, SioError> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id, tx);
        let payload = if data.is_null() {
            serde_json::json!([event])
        } else {
            serde_json::json!([event, data])
        };
        self.out
            .send(Message::text(format!("42{},{}{}", self.ns, id, payload)))
            .map_err(|_| SioError::Closed)?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(SioError::Closed),
            Err(_) => Err(SioError::Timeout),
        }
    }

    /// The next event, or `Timeout`/`Closed`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Event, SioError> {
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(SioError::Closed),
            Err(_) => Err(SioError::Timeout),
        }
    }

    /// The next event called `name`, skipping others.
    pub async fn next_named(&mut self, name: &str, timeout: Duration) -> Result<Event, SioError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let e = self.next_event(left).await?;
            if e.name == name {
                return Ok(e);
            }
        }
    }

    /// Every event received within `window`.
    pub async fn drain(&mut self, window: Duration) -> Vec<Event> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Ok(e) => out.push(e),
                Err(_) => return out,
            }
        }
    }

    /// Closes the connection abruptly (no Socket.IO disconnect packet), like a dropped network.
    pub fn kill(self) {
        let _ = self.out.send(Message::Close(None));
    }

    /// Disconnects politely.
    pub fn close(self) {
        let _ = self.out.send(Message::text(format!("41{},", self.ns)));
        let _ = self.out.send(Message::Close(None));
    }
}

fn parse_event(rest: &str) -> Option<Event> {
    // An event may carry an ack id before the array: `42/ws,12["name",{…}]`.
    let start = rest.find('[')?;
    let arr: Value = serde_json::from_str(&rest[start..]).ok()?;
    let name = arr.get(0)?.as_str()?.to_owned();
    Some(Event {
        name,
        data: arr.get(1).cloned().unwrap_or(Value::Null),
    })
}

async fn next_text<S>(stream: &mut S) -> Result<String, SioError>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Err(_) => return Err(SioError::Timeout),
            Ok(None) => return Err(SioError::Closed),
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(t.as_str().to_owned()),
            Ok(Some(Ok(Message::Close(_)))) => return Err(SioError::Closed),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

fn engine_url(base: &str) -> String {
    let ws_base = base
        .replacen("http://", "ws://", 1)
        .replacen("https://", "wss://", 1);
    format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        ws_base.trim_end_matches('/')
    )
}

/// The Engine.IO open and the namespace connect: the socket id, or the server's
/// `connect_error` message.
async fn handshake<W, R>(
    sink: &mut W,
    stream: &mut R,
    ns: &str,
    auth: Value,
) -> Result<String, SioError>
where
    W: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
    R: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let open = next_text(stream).await?;
    if !open.starts_with('0') {
        return Err(SioError::Protocol(format!(
            "expected open packet, got {open:?}"
        )));
    }
    sink.send(Message::text(format!("40{ns},{auth}"))).await?;
    loop {
        let t = next_text(stream).await?;
        if t == "2" {
            sink.send(Message::text("3")).await?;
            continue;
        }
        if let Some(rest) = t.strip_prefix(&format!("40{ns},")) {
            let v: Value =
                serde_json::from_str(rest).map_err(|e| SioError::Protocol(e.to_string()))?;
            let sid = v.get("sid").and_then(Value::as_str).unwrap_or_default();
            return Ok(sid.to_owned());
        }
        if let Some(rest) = t.strip_prefix(&format!("44{ns},")) {
            let v: Value = serde_json::from_str(rest).unwrap_or(Value::Null);
            let msg = v.get("message").and_then(Value::as_str).unwrap_or(rest);
            return Err(SioError::ConnectError(msg.to_owned()));
        }
        return Err(SioError::Protocol(format!(
            "unexpected packet during connect: {t:?}"
        )));
    }
}

/// Reads packets until the socket closes: answers pings, forwards events, resolves acks.
async fn read_loop<R>(
    mut stream: R,
    ns: String,
    pending: Pending,
    out: mpsc::UnboundedSender<Message>,
    events: mpsc::UnboundedSender<Event>,
) where
    R: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(t) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let t = t.as_str();
        if t == "2" {
            let _ = out.send(Message::text("3"));
            continue;
        }
        if t.starts_with('1') || t.starts_with(&format!("41{ns}")) {
            break;
        }
        if let Some(rest) = t.strip_prefix(&format!("42{ns},")) {
            if let Some(ev) = parse_event(rest) {
                let _ = events.send(ev);
            }
        } else if let Some(rest) = t.strip_prefix(&format!("43{ns},")) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(id) = digits.parse::<i64>() {
                let args: Value =
                    serde_json::from_str(&rest[digits.len()..]).unwrap_or(Value::Null);
                let first = args.get(0).cloned().unwrap_or(Value::Null);
                if let Some(tx) = pending.lock().await.remove(&id) {
                    let _ = tx.send(first);
                }
            }
        }
    }
}
