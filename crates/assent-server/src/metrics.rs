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
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "assent_socketio_connected",
            "Connected Socket.IO sockets.",
            self.sockets_connected.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "assent_raw_sockets_connected",
            "Connected raw WebSockets.",
            self.raw_sockets_connected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_events_appended_total",
            "Events committed to the log.",
            self.events_appended.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_events_emitted_total",
            "Event deliveries to sockets.",
            self.events_emitted.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_events_replayed_total",
            "Event deliveries made by resume replay.",
            self.events_replayed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_slow_consumers_closed_total",
            "Sockets closed because they could not keep up.",
            self.slow_consumers_closed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_sync_resets_total",
            "Resumes answered with sync:reset.",
            self.sync_resets.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_events_reordered_total",
            "Committed events that reached the fan-out early (held for order) or twice (dropped).",
            self.events_reordered.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_event_gaps_filled_total",
            "Holes in a channel's event arrivals filled from the log before fan-out.",
            self.event_gaps_filled.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_webhooks_delivered_total",
            "Webhook deliveries answered with a 2xx.",
            self.webhooks_delivered.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_webhooks_failed_total",
            "Webhook deliveries that failed for good.",
            self.webhooks_failed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_webhook_attempts_retried_total",
            "Webhook attempts that failed and were scheduled again.",
            self.webhook_attempts_failed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_connections_refused_total",
            "TCP connections closed at accept because their address had too many open.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "assent_logins_throttled_total",
            "Login attempts refused with 429 by the brute-force throttle.",
            self.logins_throttled.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "assent_password_hashes_running",
            "Password hashes (argon2) running now.",
            self.password_hashes_running.load(Ordering::Relaxed),
        );
        let map = self.http.lock().expect("metrics lock poisoned");
        let _ = writeln!(
            out,
            "# HELP assent_http_request_duration_ms HTTP request latency by route.\n# TYPE assent_http_request_duration_ms histogram"
        );
        for ((method, route, status), h) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "assent_http_request_duration_ms_bucket{{{labels},le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "assent_http_request_duration_ms_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "assent_http_request_duration_ms_sum{{{labels}}} {}",
                h.sum_ms
            );
            let _ = writeln!(
                out,
                "assent_http_request_duration_ms_count{{{labels}}} {}",
                h.count
            );
        }
        out
    }
}
