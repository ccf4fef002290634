//! The accept loop: HTTP/1.1 connections (and their WebSocket upgrades) served by hyper with
//! the limits a public server needs, which `axum::serve` does not offer:
//!
//! - a header-read timeout, which hyper also applies to the wait for the next request on a
//!   keep-alive connection (slowloris, idle connections);
//! - a deadline for the whole request body once the headers are in (a body trickled byte by
//!   byte gets `408 request_timeout`);
//! - a cap on open connections per source address, counted until the socket closes, so an
//!   upgraded WebSocket counts as long as it lives.
//!
//! Each request carries the peer address as [`ConnectInfo`]. Shutdown stops accepting, runs
//! the caller's `before_drain` (it closes the long-lived sockets), then lets in-flight
//! requests finish.

use crate::metrics::Metrics;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// Connection limits (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// 0: no cap.
    pub max_connections_per_ip: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let counts = Arc::new(PerIp::new(limits.max_connections_per_ip));
    let upgrades = Arc::new(Upgrades::default());
    // Every connection task holds a receiver; the drain waits until all are dropped.
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = admit(&counts, peer, &metrics) else {
            continue;
        };
        // Small frames (acks, events) must not wait for Nagle + delayed ACK.
        let _ = tcp.set_nodelay(true);
        let stats = Arc::new(ConnStats::default());
        let io = TokioIo::new(Counted {
            tcp,
            _slot: slot,
            stats: stats.clone(),
        });
        let router = router.clone();
        let body_timeout = limits.body_read_timeout;
        let upgrades = upgrades.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let idle = is_upload(req.uri().path());
            let mut req = req.map(|b| Body::new(Deadline::new(b, body_timeout, idle)));
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(stats.clone());
            let handshake = upgrades.see(&mut req, &stats);
            let call = tower_service::Service::call(&mut router.clone(), req);
            let upgrades = upgrades.clone();
            async move {
                let res = call.await?;
                Ok::<_, std::convert::Infallible>(match handshake {
                    Some(link) => upgrades.after_handshake(res, link).await,
                    None => res,
                })
            }
        });
        let mut drain = drain_rx.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(io, service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => log_end(r),
                _ = drain.changed() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await);
                }
            }
        });
    }
    drop(listener);
    let _ = drain_tx.send(true);
    drop(drain_rx);
    drain_tx.closed().await;
}

/// A slot for a connection from `peer`, or `None` (refused, counted) past the per-address cap.
fn admit(counts: &Arc<PerIp>, peer: std::net::SocketAddr, metrics: &Metrics) -> Option<Slot> {
    let slot = counts.clone().take(peer.ip());
    if slot.is_none() {
        tracing::debug!(%peer, "connection refused: too many open connections from this address");
        metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
    }
    slot
}

fn log_end(r: Result<(), hyper::Error>) {
    if let Err(e) = r {
        tracing::trace!(error = %e, "connection ended with an error");
    }
}

/// Open connections per source address.
struct PerIp {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    fn new(cap: usize) -> PerIp {
        PerIp {
            cap,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one more connection from `ip`, or `None` at the cap.
    fn take(self: Arc<Self>, ip: IpAddr) -> Option<Slot> {
        if self.cap > 0 {
            let mut open = self.open.lock().expect("connection table poisoned");
            let n = open.entry(ip).or_insert(0);
            if *n >= self.cap {
                return None;
            }
            *n += 1;
        }
        Some(Slot { table: self, ip })
    }
}

/// Frees its connection's place when the socket is dropped.
struct Slot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.table.cap == 0 {
            return;
        }
        let mut open = self.table.open.lock().expect("connection table poisoned");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// What went through one TCP connection, for the edges that need to know how far a client
/// has read (every request carries it as an extension).
#[derive(Default, Debug)]
pub struct ConnStats {
    /// Bytes handed to the kernel for sending (what the process no longer holds).
    pub written: std::sync::atomic::AtomicU64,
}

/// A TCP stream that holds its [`Slot`] for as long as it lives, upgrades included.
struct Counted {
    tcp: TcpStream,
    _slot: Slot,
    stats: Arc<ConnStats>,
}

impl Counted {
    fn wrote(&self, r: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &r {
            self.stats.written.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.wrote(r)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.wrote(r)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Where a Socket.IO connection that started on HTTP long-polling went when it upgraded to
/// WebSocket: set to the upgrade's TCP connection once it arrives. Its handshake request
/// carries it (socketioxide keeps that request's parts), so the gateway can bound the bytes
/// such a socket has waiting just as for one opened over WebSocket directly.
#[derive(Default, Debug)]
pub struct UpgradeLink(std::sync::OnceLock<Arc<ConnStats>>);

impl UpgradeLink {
    pub fn connection(&self) -> Option<&Arc<ConnStats>> {
        self.0.get()
    }
}

/// Engine.IO handshakes waiting for their upgrade, by engine session id.
#[derive(Default)]
struct Upgrades(Mutex<HashMap<String, (Arc<UpgradeLink>, Instant)>>);

/// A handshake that has not upgraded within this long is forgotten (clients upgrade at once).
const UPGRADE_WAIT: Duration = Duration::from_secs(60);

impl Upgrades {
    /// Marks an Engine.IO polling handshake (returns its link, to register once the answer
    /// names the session) and links an upgrade request to its handshake.
    fn see(&self, req: &mut Request<Body>, stats: &Arc<ConnStats>) -> Option<Arc<UpgradeLink>> {
        if !req.uri().path().starts_with("/socket.io") {
            return None;
        }
        let query = req.uri().query().unwrap_or("");
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        match (param("transport"), param("sid")) {
            (Some("polling"), None) => {
                let link = Arc::new(UpgradeLink::default());
                req.extensions_mut().insert(link.clone());
                Some(link)
            }
            (Some("websocket"), Some(sid)) => {
                let found = self.0.lock().expect("upgrade table poisoned").remove(sid);
                if let Some((link, _)) = found {
                    let _ = link.0.set(stats.clone());
                }
                None
            }
            _ => None,
        }
    }

    /// Reads the session id from a handshake's answer (`0{"sid":…}`, a few hundred bytes)
    /// and registers the link under it.
    async fn after_handshake(
        &self,
        res: axum::response::Response,
        link: Arc<UpgradeLink>,
    ) -> axum::response::Response {
        if !res.status().is_success() {
            return res;
        }
        let (parts, body) = res.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, 4_096).await else {
            return axum::response::Response::from_parts(parts, Body::empty());
        };
        let sid = bytes
            .strip_prefix(b"0")
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(json).ok())
            .and_then(|v| v.get("sid")?.as_str().map(str::to_owned));
        if let Some(sid) = sid {
            let mut table = self.0.lock().expect("upgrade table poisoned");
            let now = Instant::now();
            table.retain(|_, (_, at)| now.duration_since(*at) < UPGRADE_WAIT);
            table.insert(sid, (link, now));
        }
        axum::response::Response::from_parts(parts, Body::from(bytes))
    }
}

/// The error a request body yields when it did not arrive in time; the JSON extractor
/// answers it with `408 request_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the body-read timeout")]
pub struct BodyTimedOut;

impl BodyTimedOut {
    /// Whether `e` (a body read error) is, or was caused by, a [`BodyTimedOut`].
    pub fn caused(e: &(dyn std::error::Error + 'static)) -> bool {
        let mut cur = Some(e);
        while let Some(err) = cur {
            if err.is::<BodyTimedOut>() {
                return true;
            }
            cur = err.source();
        }
        false
    }
}

/// A request body that must be complete by a deadline. The timer is only armed when the
/// body is not already there (most bodies arrive with their headers).
struct Deadline {
    inner: Incoming,
    at: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    /// `Some(within)`: the deadline moves on with every chunk received (uploads).
    idle: Option<Duration>,
}

impl Deadline {
    fn new(inner: Incoming, within: Duration, idle: bool) -> Deadline {
        Deadline {
            inner,
            at: Instant::now() + within,
            timer: None,
            idle: idle.then_some(within),
        }
    }
}

/// The file upload routes: large bodies, so theirs is a deadline between chunks, not for the
/// whole body.
fn is_upload(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/files/store" | "/api/v1/files/upload" | "/api/files/store" | "/api/files/upload"
    )
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            if let Some(idle) = self.idle {
                self.at = Instant::now() + idle;
                self.timer = None;
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let at = self.at;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_open_connections_per_address() {
        let t = Arc::new(PerIp::new(2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = t.clone().take(a).unwrap();
        let _s2 = t.clone().take(a).unwrap();
        assert!(t.clone().take(a).is_none(), "a third from the same address");
        let _s3 = t
            .clone()
            .take(b)
            .expect("another address has its own count");
        drop(s1);
        let _s4 = t
            .clone()
            .take(a)
            .expect("a closed connection frees its place");
        let unlimited = Arc::new(PerIp::new(0));
        let all: Vec<_> = (0..1000).map(|_| unlimited.clone().take(a)).collect();
        assert!(all.iter().all(Option::is_some));
        assert!(unlimited.open.lock().unwrap().is_empty());
    }
}
