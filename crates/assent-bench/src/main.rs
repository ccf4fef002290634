//! `assent-bench`: drives a running Assent server over loopback, bounded in count and time.
//!
//! Scenarios (see docs/BENCHMARKS.md for the commands and figures):
//! - `ingest`:  agents POST messages (closed loop, or paced with `--rate`) while Socket.IO
//!   subscribers receive them; latency = POST sent → `message:created` received, per
//!   subscriber (HDR histogram). Fan-out is the same scenario with many subscribers.
//! - `idle`:    opens N Socket.IO connections (spread over 127.x source addresses) and
//!   reports the server's RSS per connection.
//! - `resume`:  clients are force-closed every ~N s while messages are posted; they
//!   reconnect with `lastSeq`; checks 100 % delivery, 0 duplicates, order, replay latency.
//! - `wait`:    parks N `GET /api/v1/reviews/:id/wait` long-polls, answers the reviews, and
//!   measures answer-commit → response latency.
//!
//! Server CPU-seconds and RSS come from /proc/<pid> when `--server-pid` is given.

mod files;

use anyhow::{Context, Result, bail};
use assent_sdk::sio::{SioError, SocketIoClient};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
#[command(
    name = "assent-bench",
    about = "Load generator for Assent (loopback only)"
)]
struct Cli {
    /// Server base URL (must be loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    #[arg(long, default_value = "admin@example.com", global = true)]
    email: String,
    #[arg(long, default_value = "admin-password-1", global = true)]
    password: String,
    /// Where Socket.IO subscribers connect, comma-separated (cluster runs: other nodes than
    /// `--url`, where the agents post). Subscribers are spread over them; in `resume` each
    /// reconnect moves a client to the next one. Default: `--url`.
    #[arg(long, value_delimiter = ',', global = true)]
    sub_url: Vec<String>,
    /// `ingest` with `--rate`: open loop, each POST sent at its time whether or not the
    /// previous ones were answered (as an open-loop generator offers load), instead of each
    /// agent waiting for its answer.
    #[arg(long, global = true)]
    open_loop: bool,
    /// PID of the server process, for CPU and RSS figures.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Write the result as JSON here too.
    #[arg(long, global = true)]
    json: Option<std::path::PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// Durable ingest + fan-out.
    Ingest {
        /// Concurrent posting agents (one channel each unless --channels is lower).
        #[arg(long, default_value_t = 64)]
        agents: usize,
        /// Channels the agents post into.
        #[arg(long, default_value_t = 8)]
        channels: usize,
        /// Socket.IO subscribers per channel.
        #[arg(long, default_value_t = 1)]
        subscribers: usize,
        /// Target total POST rate per second (0 = as fast as the agents can, closed loop).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Seconds of measurement.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Message text size in bytes.
        #[arg(long, default_value_t = 200)]
        size: usize,
    },
    /// Idle Socket.IO connections and the server memory they cost.
    Idle {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Seconds to hold them before measuring.
        #[arg(long, default_value_t = 5)]
        hold: u64,
    },
    /// Resume under jitter.
    Resume {
        #[arg(long, default_value_t = 200)]
        clients: usize,
        #[arg(long, default_value_t = 120)]
        messages: usize,
        /// Messages posted per second.
        #[arg(long, default_value_t = 2.0)]
        rate: f64,
        /// Mean seconds between forced closes of each client.
        #[arg(long, default_value_t = 15.0)]
        jitter: f64,
    },
    /// Parked long-polls woken by answers.
    Wait {
        #[arg(long, default_value_t = 500)]
        waiters: usize,
    },
    /// File upload and download throughput, and the server's memory while a file streams.
    Files {
        /// File size in MiB.
        #[arg(long, default_value_t = 200)]
        size_mb: u64,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Webhook reliability: humans post `events` messages to an agent whose webhook points at
    /// a local receiver that fails a share of requests; waits until every event was answered
    /// 2xx once. The server must run with ASSENT_ALLOW_PRIVATE_WEBHOOKS=true.
    Webhooks {
        #[arg(long, default_value_t = 1000)]
        events: usize,
        /// Share of requests answered 500/503.
        #[arg(long, default_value_t = 0.30)]
        fail_5xx: f64,
        /// Share of requests left hanging (the server's timeout fires).
        #[arg(long, default_value_t = 0.10)]
        hang: f64,
        /// Share of requests answered 429 with `Retry-After: 1`.
        #[arg(long, default_value_t = 0.05)]
        throttle: f64,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        deadline: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

// Latency is measured against the wall clock shared with the server's timestamps.
#[allow(clippy::disallowed_methods)]
fn micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

fn pcts(h: &Histogram<u64>) -> Value {
    let ms = |v: u64| (v as f64) / 1000.0;
    json!({
        "count": h.len(),
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

/// CPU ticks (user+system) and RSS in KiB of a process.
fn proc_stats(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ticks, rss))
}

const TICKS_PER_SEC: f64 = 100.0;

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: (&str, &str),
        body: Option<Value>,
    ) -> Result<Value> {
        let mut r = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header(auth.0, auth.1);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await?;
        let st = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        if !st.is_success() {
            bail!("{path} → {st}: {v}");
        }
        Ok(v)
    }
}

struct Setup {
    api: Arc<Api>,
    token: String,
    key: String,
}

async fn setup(cli: &Cli) -> Result<Setup> {
    let host = cli
        .url
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or("");
    let ip: Option<IpAddr> = host.parse().ok();
    if !(host == "localhost" || ip.is_some_and(|i| i.is_loopback())) {
        bail!(
            "assent-bench only targets loopback servers (got {})",
            cli.url
        );
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()?;
    let api = Arc::new(Api {
        http,
        base: cli.url.trim_end_matches('/').to_owned(),
    });
    let login: Value = api
        .http
        .post(format!("{}/api/auth/login", api.base))
        .json(&json!({"email": cli.email, "password": cli.password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"]
        .as_str()
        .context("login failed (check --email/--password)")?
        .to_owned();
    let key = api
        .call(
            reqwest::Method::POST,
            "/api/api-keys",
            ("authorization", &format!("Bearer {token}")),
            Some(json!({"label": "bench"})),
        )
        .await?["key"]
        .as_str()
        .context("no key")?
        .to_owned();
    Ok(Setup { api, token, key })
}

async fn channel(s: &Setup, name: &str) -> Result<String> {
    Ok(s.api
        .call(
            reqwest::Method::POST,
            "/api/v1/agents",
            ("x-api-key", &s.key),
            Some(json!({"name": name})),
        )
        .await?["id"]
        .as_str()
        .context("no agent id")?
        .to_owned())
}

/// Local source address number `i` in 127.0.0.0/8 (avoids running out of ephemeral ports).
fn source_ip(i: usize) -> IpAddr {
    // 2,000 sockets per address: back-to-back runs must not run out of ports on an address
    // whose previous sockets are still in TIME_WAIT.
    let n = i / 2_000;
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1 + (n / 200) as u8,
        1 + (n % 200) as u8,
    ))
}

async fn sio(base: &str, key: &str, i: usize) -> Result<SocketIoClient, SioError> {
    SocketIoClient::connect_from(base, "/ws", json!({"apiKey": key}), source_ip(i)).await
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let result = match &cli.scenario {
        Scenario::Ingest {
            agents,
            channels,
            subscribers,
            rate,
            duration,
            size,
        } => {
            ingest(
                &cli,
                *agents,
                *channels,
                *subscribers,
                *rate,
                *duration,
                *size,
            )
            .await?
        }
        Scenario::Idle { connections, hold } => idle(&cli, *connections, *hold).await?,
        Scenario::Resume {
            clients,
            messages,
            rate,
            jitter,
        } => resume(&cli, *clients, *messages, *rate, *jitter).await?,
        Scenario::Wait { waiters } => wait(&cli, *waiters).await?,
        Scenario::Files { size_mb, rounds } => files::files(&cli, *size_mb, *rounds).await?,
        Scenario::Webhooks {
            events,
            fail_5xx,
            hang,
            throttle,
            deadline,
            seed,
        } => {
            let mix = FailureMix {
                fail_5xx: *fail_5xx,
                hang: *hang,
                throttle: *throttle,
            };
            webhooks(&cli, *events, mix, *deadline, *seed).await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&result)?);
    if let Some(p) = &cli.json {
        std::fs::write(p, serde_json::to_string_pretty(&result)?)?;
    }
    Ok(())
}

fn server_delta(pid: Option<u32>, before: Option<(u64, u64)>, deliveries: u64) -> Value {
    let (Some(pid), Some((t0, _))) = (pid, before) else {
        return Value::Null;
    };
    let Some((t1, rss)) = proc_stats(pid) else {
        return Value::Null;
    };
    let cpu = (t1 - t0) as f64 / TICKS_PER_SEC;
    json!({
        "cpu_seconds": cpu,
        "cpu_seconds_per_1000_deliveries": if deliveries > 0 { cpu * 1000.0 / deliveries as f64 } else { 0.0 },
        "rss_mib": rss as f64 / 1024.0,
    })
}

#[allow(clippy::too_many_arguments)]
async fn ingest(
    cli: &Cli,
    agents: usize,
    channels: usize,
    subscribers: usize,
    rate: u64,
    duration: u64,
    size: usize,
) -> Result<Value> {
    let s = setup(cli).await?;
    let mut chans = Vec::new();
    for i in 0..channels.max(1) {
        chans.push(channel(&s, &format!("bench-{i}")).await?);
    }
    let lat = Arc::new(Mutex::new(hist()));
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut subs = Vec::new();
    for (ci, ch) in chans.iter().enumerate() {
        for k in 0..subscribers {
            let mut c = sio(
                &sub_url(cli, &s, ci * subscribers + k),
                &s.key,
                ci * subscribers + k,
            )
            .await?;
            let ack = c
                .emit_with_ack(
                    assent_proto::events::SUBSCRIBE,
                    json!(ch),
                    Duration::from_secs(10),
                )
                .await?;
            if ack["ok"] != true {
                bail!("subscribe refused: {ack}");
            }
            let (lat, received, stop) = (lat.clone(), received.clone(), stop.clone());
            subs.push(tokio::spawn(async move {
                let mut local = hist();
                while !stop.load(Ordering::Relaxed) {
                    match c.next_event(Duration::from_millis(200)).await {
                        Ok(e) if e.name == assent_proto::events::MESSAGE_CREATED => {
                            if let Some(t) = e.data.pointer("/metadata/t").and_then(Value::as_u64) {
                                let _ = local.record(micros().saturating_sub(t).max(1));
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(_) | Err(SioError::Timeout) => {}
                        Err(_) => break,
                    }
                }
                lat.lock().await.add(&local).ok();
            }));
        }
    }
    let text = "x".repeat(size);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let post_lat = Arc::new(Mutex::new(hist()));
    let before = cli.server_pid.and_then(proc_stats);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(duration);
    let mut posters = Vec::new();
    for a in 0..agents {
        let (api, key, ch, text) = (
            s.api.clone(),
            s.key.clone(),
            chans[a % chans.len()].clone(),
            text.clone(),
        );
        let (sent, errors, post_lat) = (sent.clone(), errors.clone(), post_lat.clone());
        let per_agent = if rate > 0 {
            Some(Duration::from_secs_f64(agents as f64 / rate as f64))
        } else {
            None
        };
        // Paced agents start at evenly spread phases, so that the server sees a steady
        // stream at `rate` rather than all agents firing together once per period.
        let phase = per_agent.map(|p| p.mul_f64(a as f64 / agents as f64));
        let open_loop = cli.open_loop && per_agent.is_some();
        posters.push(tokio::spawn(async move {
            let mut local = hist();
            let mut in_flight = tokio::task::JoinSet::new();
            let mut next = Instant::now() + phase.unwrap_or_default();
            while Instant::now() < deadline {
                if let Some(p) = per_agent {
                    tokio::time::sleep_until(next.into()).await;
                    next += p;
                }
                let t0 = micros();
                let body = json!({"channelId": ch, "text": text, "metadata": {"t": t0}});
                let request = api
                    .http
                    .post(format!("{}/api/v1/messages", api.base))
                    .header("x-api-key", &key)
                    .json(&body)
                    .send();
                let (sent, errors) = (sent.clone(), errors.clone());
                // The POST's latency in µs, or None for an error.
                let post = async move {
                    match request.await {
                        Ok(res) if res.status().as_u16() == 201 => {
                            let _ = res.bytes().await;
                            sent.fetch_add(1, Ordering::Relaxed);
                            Some(micros().saturating_sub(t0).max(1))
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                    }
                };
                if open_loop {
                    // Bounded (64 per agent, one connection each), so that a stalled server
                    // cannot exhaust the loopback ports; past that the agent waits.
                    if in_flight.len() >= 64
                        && let Some(Ok(Some(us))) = in_flight.join_next().await
                    {
                        let _ = local.record(us);
                    }
                    in_flight.spawn(post);
                    while let Some(done) = in_flight.try_join_next() {
                        if let Ok(Some(us)) = done {
                            let _ = local.record(us);
                        }
                    }
                } else if let Some(us) = post.await {
                    let _ = local.record(us);
                }
            }
            while let Some(done) = in_flight.join_next().await {
                if let Ok(Some(us)) = done {
                    let _ = local.record(us);
                }
            }
            post_lat.lock().await.add(&local).ok();
        }));
    }
    for p in posters {
        p.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Let in-flight deliveries arrive.
    let expected = sent.load(Ordering::Relaxed) * subscribers as u64;
    let settle = Instant::now();
    while received.load(Ordering::Relaxed) < expected && settle.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let server = server_delta(cli.server_pid, before, received.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    for s in subs {
        let _ = s.await;
    }
    let n = sent.load(Ordering::Relaxed);
    let got = received.load(Ordering::Relaxed);
    Ok(json!({
        "scenario": "ingest",
        "params": {"agents": agents, "channels": channels, "subscribers_per_channel": subscribers, "rate": rate, "duration_s": duration, "size": size, "open_loop": cli.open_loop && rate > 0},
        "messages": n,
        "messages_per_s": n as f64 / elapsed,
        "deliveries": got,
        "deliveries_expected": expected,
        "deliveries_per_s": got as f64 / elapsed,
        "errors": errors.load(Ordering::Relaxed),
        "post_to_event": pcts(&*lat.lock().await),
        "post_latency": pcts(&*post_lat.lock().await),
        "server": server,
    }))
}

/// The Socket.IO base URL of subscriber `i`: one of `--sub-url` in turn, else `--url`.
fn sub_url(cli: &Cli, s: &Setup, i: usize) -> String {
    match cli.sub_url.len() {
        0 => s.api.base.clone(),
        n => cli.sub_url[i % n].trim_end_matches('/').to_owned(),
    }
}

async fn idle(cli: &Cli, connections: usize, hold: u64) -> Result<Value> {
    let s = setup(cli).await?;
    let ch = channel(&s, "idle").await?;
    let before = cli.server_pid.and_then(proc_stats);
    let mut clients = Vec::with_capacity(connections);
    let start = Instant::now();
    let mut failed = 0;
    let mut failures: std::collections::BTreeMap<String, u64> = Default::default();
    for chunk in (0..connections).collect::<Vec<_>>().chunks(200) {
        let batch = futures_util::future::join_all(chunk.iter().map(|&i| {
            let (base, key, ch) = (s.api.base.clone(), s.key.clone(), ch.clone());
            async move {
                let c = sio(&base, &key, i).await?;
                // Two rooms each, like the goal metric: the channel and (implicitly) the socket.
                c.emit_with_ack(
                    assent_proto::events::SUBSCRIBE,
                    json!(ch),
                    Duration::from_secs(30),
                )
                .await?;
                Ok::<_, SioError>(c)
            }
        }))
        .await;
        for r in batch {
            match r {
                Ok(c) => clients.push(c),
                Err(e) => {
                    failed += 1;
                    *failures.entry(e.to_string()).or_insert(0u64) += 1;
                }
            }
        }
    }
    let connect_s = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let after = cli.server_pid.and_then(proc_stats);
    let per_conn = match (before, after) {
        (Some((_, a)), Some((_, b))) if !clients.is_empty() => {
            json!((b.saturating_sub(a)) as f64 / clients.len() as f64)
        }
        _ => Value::Null,
    };
    let n = clients.len();
    drop(clients);
    Ok(json!({
        "scenario": "idle",
        "connections": n,
        "failed": failed,
        "failures": failures,
        "connect_seconds": connect_s,
        "server_rss_before_kib": before.map(|b| b.1),
        "server_rss_after_kib": after.map(|a| a.1),
        "server_kib_per_connection": per_conn,
    }))
}

async fn resume(
    cli: &Cli,
    clients: usize,
    messages: usize,
    rate: f64,
    jitter: f64,
) -> Result<Value> {
    let s = setup(cli).await?;
    let ch = channel(&s, "resume").await?;
    let seqs: Arc<Mutex<Vec<Vec<i64>>>> = Arc::new(Mutex::new(vec![Vec::new(); clients]));
    let replay_lat = Arc::new(Mutex::new(hist()));
    let done = Arc::new(AtomicBool::new(false));
    let reconnects = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let urls: Vec<String> = (0..cli.sub_url.len().max(1))
            .map(|r| sub_url(cli, &s, i + r))
            .collect();
        let (key, ch, seqs, replay_lat, done, reconnects) = (
            s.key.clone(),
            ch.clone(),
            seqs.clone(),
            replay_lat.clone(),
            done.clone(),
            reconnects.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut last: Option<i64> = None;
            let mut got: Vec<i64> = Vec::new();
            // Deterministic per-client jitter so that runs are comparable.
            let mut x = (i as u64 + 1) * 2_654_435_761;
            for attempt in 0usize.. {
                // With several nodes, every reconnect goes to the next one.
                let base = &urls[attempt % urls.len()];
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let life = Duration::from_secs_f64(jitter * (0.5 + (x % 1000) as f64 / 1000.0));
                let mut c = match sio(base, &key, i).await {
                    Ok(c) => c,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                let t0 = Instant::now();
                let sub = match last {
                    Some(l) => json!({"channelId": ch, "lastSeq": l}),
                    None => json!({"channelId": ch, "lastSeq": 0}),
                };
                if c.emit_with_ack(
                    assent_proto::events::SUBSCRIBE,
                    sub,
                    Duration::from_secs(30),
                )
                .await
                .is_err()
                {
                    continue;
                }
                if last.is_some() {
                    let _ = replay_lat
                        .lock()
                        .await
                        .record((t0.elapsed().as_micros() as u64).max(1));
                    reconnects.fetch_add(1, Ordering::Relaxed);
                }
                let end = Instant::now() + life;
                loop {
                    if done.load(Ordering::Relaxed) {
                        seqs.lock().await[i] = got;
                        return;
                    }
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match c.next_event(left.min(Duration::from_millis(200))).await {
                        Ok(e) if e.name == assent_proto::events::MESSAGE_CREATED => {
                            let sq = e.data["seq"].as_i64().unwrap_or(-1);
                            got.push(sq);
                            last = Some(sq);
                        }
                        Ok(_) | Err(SioError::Timeout) => {}
                        Err(_) => break,
                    }
                }
                // Force-close (no goodbye), stay offline for 2 s, come back.
                c.kill();
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut posted = Vec::new();
    let gap = Duration::from_secs_f64(1.0 / rate);
    for m in 0..messages {
        let v = s
            .api
            .call(
                reqwest::Method::POST,
                "/api/v1/messages",
                ("x-api-key", &s.key),
                Some(json!({"channelId": ch, "text": format!("m{m}")})),
            )
            .await?;
        posted.push(v["seq"].as_i64().unwrap_or(-1));
        tokio::time::sleep(gap).await;
    }
    // Give everyone time to reconnect and catch up, then stop.
    tokio::time::sleep(Duration::from_secs_f64(jitter.min(20.0) + 5.0)).await;
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let all = seqs.lock().await;
    let mut complete = 0;
    let mut duplicates = 0;
    let mut out_of_order = 0;
    for got in all.iter() {
        let mut seen = std::collections::HashSet::new();
        for w in got.windows(2) {
            if w[1] <= w[0] {
                out_of_order += 1;
            }
        }
        for s in got {
            if !seen.insert(*s) {
                duplicates += 1;
            }
        }
        if posted.iter().all(|p| seen.contains(p)) {
            complete += 1;
        }
    }
    let delivered: usize = all
        .iter()
        .map(|g| {
            g.iter()
                .filter(|s| posted.contains(s))
                .collect::<std::collections::HashSet<_>>()
                .len()
        })
        .sum();
    Ok(json!({
        "scenario": "resume",
        "clients": clients,
        "messages": messages,
        "reconnects": reconnects.load(Ordering::Relaxed),
        "delivered_pct": 100.0 * delivered as f64 / (clients * messages) as f64,
        "clients_complete": complete,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "replay": pcts(&*replay_lat.lock().await),
    }))
}

async fn wait(cli: &Cli, waiters: usize) -> Result<Value> {
    let s = setup(cli).await?;
    let ch = channel(&s, "wait").await?;
    let mut ids = Vec::new();
    for i in 0..waiters {
        let v = s
            .api
            .call(reqwest::Method::POST, "/api/v1/messages", ("x-api-key", &s.key), Some(json!({"channelId": ch, "text": format!("q{i}"), "review": {"type": "approval"}})))
            .await?;
        ids.push(v["id"].as_str().context("id")?.to_owned());
    }
    let mut parked = Vec::new();
    for id in &ids {
        let (api, key, ch, id) = (s.api.clone(), s.key.clone(), ch.clone(), id.clone());
        parked.push(tokio::spawn(async move {
            let r = api
                .http
                .get(format!(
                    "{}/api/v1/reviews/{id}/wait?channel={ch}&timeout=30000",
                    api.base
                ))
                .header("x-api-key", key)
                .send()
                .await
                .ok()?;
            let v: Value = r.json().await.ok()?;
            (v["status"] == "completed").then(|| (id, Instant::now()))
        }));
    }
    // Let every wait park.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cli.server_pid.and_then(proc_stats);
    let bearer = format!("Bearer {}", s.token);
    let mut answered_at: HashMap<String, Instant> = HashMap::new();
    for id in &ids {
        s.api
            .call(
                reqwest::Method::POST,
                &format!("/api/messages/{id}/respond"),
                ("authorization", &bearer),
                Some(json!({"response": {"selectedOption": "approve"}})),
            )
            .await?;
        // The answer has committed when respond returns; a waiter answered even earlier
        // counts as 0.
        answered_at.insert(id.clone(), Instant::now());
    }
    let mut h = hist();
    let mut ok = 0;
    for p in parked {
        if let Some((id, done)) = p.await? {
            ok += 1;
            let lag = answered_at
                .get(&id)
                .map_or(Duration::ZERO, |t| done.saturating_duration_since(*t));
            let _ = h.record((lag.as_micros() as u64).max(1));
        }
    }
    Ok(json!({
        "scenario": "wait",
        "waiters": waiters,
        "completed": ok,
        "answer_commit_to_response": pcts(&h),
        "server": server_delta(cli.server_pid, before, ok as u64),
    }))
}

// ---- webhooks ----

#[derive(Clone, Copy, Debug)]
struct FailureMix {
    fail_5xx: f64,
    hang: f64,
    throttle: f64,
}

#[derive(Default)]
struct RxStats {
    requests: AtomicU64,
    ok: AtomicU64,
    failed_5xx: AtomicU64,
    hung: AtomicU64,
    throttled: AtomicU64,
    /// webhook-id → (message id, attempts seen, 2xx answers).
    by_id: std::sync::Mutex<HashMap<String, (String, u64, u64)>>,
}

/// A deterministic xorshift stream shared by the receiver's connections.
struct Rng(std::sync::Mutex<u64>);

impl Rng {
    fn next_f64(&self) -> f64 {
        let mut x = self.0.lock().expect("rng lock");
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A minimal HTTP/1.1 receiver (one request per connection) with a programmable failure mix.
async fn flaky_receiver(mix: FailureMix, seed: u64) -> Result<(String, Arc<RxStats>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let stats = Arc::new(RxStats::default());
    let rng = Arc::new(Rng(std::sync::Mutex::new(seed.max(1))));
    let st = stats.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let st = st.clone();
            let rng = rng.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let id = head
                    .lines()
                    .find_map(|l| l.strip_prefix("webhook-id:"))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default();
                let body: Value =
                    serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or(Value::Null);
                let message = body["message"]["id"].as_str().unwrap_or("").to_owned();
                st.requests.fetch_add(1, Ordering::Relaxed);
                let r = rng.next_f64();
                let reply: &[u8] = if r < mix.fail_5xx {
                    st.failed_5xx.fetch_add(1, Ordering::Relaxed);
                    if r < mix.fail_5xx / 2.0 {
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    } else {
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    }
                } else if r < mix.fail_5xx + mix.hang {
                    st.hung.fetch_add(1, Ordering::Relaxed);
                    &[]
                } else if r < mix.fail_5xx + mix.hang + mix.throttle {
                    st.throttled.fetch_add(1, Ordering::Relaxed);
                    b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                } else {
                    st.ok.fetch_add(1, Ordering::Relaxed);
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                };
                {
                    let mut map = st.by_id.lock().expect("stats lock");
                    let e = map.entry(id).or_insert((message, 0, 0));
                    e.1 += 1;
                    if reply.starts_with(b"HTTP/1.1 200") {
                        e.2 += 1;
                    }
                }
                if reply.is_empty() {
                    // Hang: hold the connection open well past the server's timeout.
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
                let _ = sock.write_all(reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Ok((url, stats))
}

async fn webhooks(
    cli: &Cli,
    events: usize,
    mix: FailureMix,
    deadline: u64,
    seed: u64,
) -> Result<Value> {
    let s = setup(cli).await?;
    let (hook, rx) = flaky_receiver(mix, seed).await?;
    let agent = s
        .api
        .call(
            reqwest::Method::POST,
            "/api/v1/agents",
            ("x-api-key", &s.key),
            Some(json!({"name": "webhook-bench", "webhookUrl": hook})),
        )
        .await?;
    let channel = agent["id"].as_str().context("no agent id")?.to_owned();
    let before = cli.server_pid.and_then(proc_stats);
    let started = Instant::now();
    let bearer = format!("Bearer {}", s.token);
    let next = Arc::new(AtomicU64::new(0));
    let mut posters = Vec::new();
    for _ in 0..16 {
        let (api, bearer, channel, next) =
            (s.api.clone(), bearer.clone(), channel.clone(), next.clone());
        posters.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= events {
                    return Ok::<_, anyhow::Error>(ids);
                }
                let m = api
                    .call(
                        reqwest::Method::POST,
                        "/api/messages",
                        ("authorization", &bearer),
                        Some(json!({"channelId": channel, "text": format!("event {i}")})),
                    )
                    .await?;
                ids.push(m["id"].as_str().unwrap_or("").to_owned());
            }
        }));
    }
    let mut posted = std::collections::HashSet::new();
    for p in posters {
        posted.extend(p.await??);
    }
    let posted_in = started.elapsed();
    let limit = started + Duration::from_secs(deadline);
    let delivered = loop {
        let done: std::collections::HashSet<String> = rx
            .by_id
            .lock()
            .expect("stats lock")
            .values()
            .filter(|(_, _, ok)| *ok > 0)
            .map(|(m, _, _)| m.clone())
            .collect();
        let n = done.intersection(&posted).count();
        if n == posted.len() || Instant::now() >= limit {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let elapsed = started.elapsed();
    let map = rx.by_id.lock().expect("stats lock").clone();
    let mut per_message: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    let mut attempts = hist();
    for (id, (m, n, _)) in &map {
        per_message
            .entry(m.as_str())
            .or_default()
            .insert(id.as_str());
        attempts.record(*n).ok();
    }
    let duplicates = map.values().filter(|(_, _, ok)| *ok > 1).count();
    let ids_per_message_max = per_message.values().map(|s| s.len()).max().unwrap_or(0);
    let failed = s
        .api
        .call(
            reqwest::Method::GET,
            &format!("/api/agents/{channel}/deliveries?state=failed&limit=200"),
            ("authorization", &bearer),
            None,
        )
        .await?["data"]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    Ok(json!({
        "scenario": "webhooks",
        "events": events,
        "posted_secs": posted_in.as_secs_f64(),
        "delivered": delivered,
        "delivered_pct": 100.0 * delivered as f64 / events.max(1) as f64,
        "duplicates": duplicates,
        "webhook_ids_per_message_max": ids_per_message_max,
        "failed_deliveries_on_server": failed,
        "requests": rx.requests.load(Ordering::Relaxed),
        "answered_2xx": rx.ok.load(Ordering::Relaxed),
        "answered_5xx": rx.failed_5xx.load(Ordering::Relaxed),
        "answered_429": rx.throttled.load(Ordering::Relaxed),
        "hung": rx.hung.load(Ordering::Relaxed),
        "attempts_per_event_p50": attempts.value_at_quantile(0.5),
        "attempts_per_event_p99": attempts.value_at_quantile(0.99),
        "attempts_per_event_max": attempts.max(),
        "all_delivered_secs": elapsed.as_secs_f64(),
        "deliveries_per_sec": delivered as f64 / elapsed.as_secs_f64().max(1e-9),
        "mix": {"fail_5xx": mix.fail_5xx, "hang": mix.hang, "throttle": mix.throttle},
        "server": server_delta(cli.server_pid, before, delivered as u64),
    }))
}
