//! Process metrics in Prometheus text format, kept as atomics (no registry dependency).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

const BUCKETS_MS: [f64; 12] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS_MS.len()],
    count: u64,
    sum_ms: f64,
}

#[derive(Default)]
pub struct Metrics {
    pub sockets_connected: AtomicI64,
    pub raw_sockets_connected: AtomicI64,
    pub events_appended: AtomicU64,
    pub events_emitted: AtomicU64,
    pub events_replayed: AtomicU64,
    pub slow_consumers_closed: AtomicU64,
    pub sync_resets: AtomicU64,
    /// Events that reached the fan-out ahead of their turn (held) or twice (dropped).
    pub events_reordered: AtomicU64,
    /// Holes in a channel's arrivals filled by reading the log.
    pub event_gaps_filled: AtomicU64,
    /// Cluster mode: 1 while this node's Redis subscription is up.
    pub cluster_connected: AtomicI64,
    /// Cluster mode: messages this node published on / received from Redis.
    pub cluster_published: AtomicU64,
    pub cluster_received: AtomicU64,
    /// Cluster mode: events another node committed that this node read from the log because
    /// Redis did not bring them (lost while Redis was down or a connection dropped).
    pub cluster_events_recovered: AtomicU64,
    pub webhooks_delivered: AtomicU64,
    pub webhooks_failed: AtomicU64,
    pub webhook_attempts_failed: AtomicU64,
    /// TCP connections closed at accept: their address had too many open.
    pub connections_refused: AtomicU64,
    /// Login attempts answered 429 by the throttle.
    pub logins_throttled: AtomicU64,
    /// Password hashes running now (bounded by the hashing permits).
    pub password_hashes_running: AtomicI64,
    http: Mutex<BTreeMap<(String, String, u16), Histogram>>,
}

/// Every plain series: name, type, help, and how to read it.
type Read = fn(&Metrics) -> i128;
const SERIES: &[(&str, &str, &str, Read)] = &[
    (
        "assent_socketio_connected",
        "gauge",
        "Connected Socket.IO sockets.",
        |m| m.sockets_connected.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_raw_sockets_connected",
        "gauge",
        "Connected raw WebSockets.",
        |m| m.raw_sockets_connected.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_events_appended_total",
        "counter",
        "Events committed to the log.",
        |m| m.events_appended.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_events_emitted_total",
        "counter",
        "Event deliveries to sockets.",
        |m| m.events_emitted.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_events_replayed_total",
        "counter",
        "Event deliveries made by resume replay.",
        |m| m.events_replayed.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_slow_consumers_closed_total",
        "counter",
        "Sockets closed because they could not keep up.",
        |m| m.slow_consumers_closed.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_sync_resets_total",
        "counter",
        "Resumes answered with sync:reset.",
        |m| m.sync_resets.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_events_reordered_total",
        "counter",
        "Committed events that reached the fan-out early (held for order) or twice (dropped).",
        |m| m.events_reordered.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_cluster_redis_connected",
        "gauge",
        "Cluster mode: 1 while this node's Redis subscription is up, 0 otherwise.",
        |m| m.cluster_connected.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_cluster_published_total",
        "counter",
        "Cluster mode: messages (events, ephemeral events, revocations) published on Redis.",
        |m| m.cluster_published.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_cluster_received_total",
        "counter",
        "Cluster mode: messages of other nodes received from Redis.",
        |m| m.cluster_received.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_cluster_events_recovered_total",
        "counter",
        "Cluster mode: other nodes' events read from the log because Redis did not bring them.",
        |m| m.cluster_events_recovered.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_event_gaps_filled_total",
        "counter",
        "Holes in a channel's event arrivals filled from the log before fan-out.",
        |m| m.event_gaps_filled.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_webhooks_delivered_total",
        "counter",
        "Webhook deliveries answered with a 2xx.",
        |m| m.webhooks_delivered.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_webhooks_failed_total",
        "counter",
        "Webhook deliveries that failed for good.",
        |m| m.webhooks_failed.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_webhook_attempts_retried_total",
        "counter",
        "Webhook attempts that failed and were scheduled again.",
        |m| m.webhook_attempts_failed.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_connections_refused_total",
        "counter",
        "TCP connections closed at accept because their address had too many open.",
        |m| m.connections_refused.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_logins_throttled_total",
        "counter",
        "Login attempts refused with 429 by the brute-force throttle.",
        |m| m.logins_throttled.load(Ordering::Relaxed) as i128,
    ),
    (
        "assent_password_hashes_running",
        "gauge",
        "Password hashes (argon2) running now.",
        |m| m.password_hashes_running.load(Ordering::Relaxed) as i128,
    ),
];

impl Metrics {
    pub fn observe_http(&self, method: &str, route: &str, status: u16, ms: f64) {
        let mut map = self.http.lock().expect("metrics lock poisoned");
        let h = map
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        h.count += 1;
        h.sum_ms += ms;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                h.counts[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, read) in SERIES {
            let v = read(self);
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        self.render_http(&mut out);
        out
    }

    fn render_http(&self, out: &mut String) {
        let map = self.http.lock().expect("metrics lock poisoned");
        let name = "assent_http_request_duration_ms";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP request latency by route.\n# TYPE {name} histogram"
        );
        for ((method, route, status), h) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum_ms);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
        }
    }
}
