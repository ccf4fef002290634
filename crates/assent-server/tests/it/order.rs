//! Per-socket delivery order with concurrent writers of every kind on the same channels:
//! agent messages and reviews, human messages, review answers, webhook delivery-status
//! changes and streaming drafts, on PostgreSQL (several writer connections) and SQLite.
//! Every subscriber — Socket.IO agents and dashboards, thread streams, notification streams,
//! some joining mid-run with a replay from 0 — must receive exactly the log's events it may
//! see, in `seq` order, once; also with the subscribers spread over the nodes of a cluster. The expectation is computed from the log itself afterwards.
//! The Rust clients used here hand events over in wire order (one reader task each).

use crate::common::*;
use crate::webhooks::Receiver;
use assent_core::{Audience, LoggedEvent};
use assent_sdk::sio::SocketIoClient;
use assent_server::app::hub::View;
use assent_server::wire;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Agent,
    Dashboard,
    Thread,
    Notifications,
}

/// One subscriber's received `seq`s (events of its tenant's channel), in arrival order.
struct Watch {
    kind: Kind,
    got: Arc<Mutex<Vec<i64>>>,
}

fn watch_sio(mut c: SocketIoClient, kind: Kind) -> Watch {
    let got = Arc::new(Mutex::new(Vec::new()));
    let out = got.clone();
    tokio::spawn(async move {
        while let Ok(e) = c.next_event(Duration::from_secs(120)).await {
            if let Some(seq) = e.data.get("seq").and_then(Value::as_i64) {
                out.lock().unwrap().push(seq);
            }
        }
    });
    Watch { kind, got }
}

fn watch_raw(mut r: Raw, kind: Kind) -> Watch {
    let got = Arc::new(Mutex::new(Vec::new()));
    let out = got.clone();
    tokio::spawn(async move {
        while let Some(RawEvent::Frame(f)) = r.next(Duration::from_secs(120)).await {
            if let Some(seq) = f.get("seq").and_then(Value::as_i64) {
                out.lock().unwrap().push(seq);
            }
        }
    });
    Watch { kind, got }
}

async fn agent_socket(s: &Server, t: &Tenant) -> Watch {
    let c = s.sio_agent(&t.raw_key).await;
    let ack = subscribe(&c, &t.channel, Some(0)).await;
    assert_eq!(ack["ok"], true, "{ack}");
    watch_sio(c, Kind::Agent)
}

async fn dashboard_socket(s: &Server, t: &Tenant) -> Watch {
    let c = s.sio_dashboard(&t.human).await;
    let ack = subscribe(&c, &t.channel, Some(0)).await;
    assert_eq!(ack["ok"], true, "{ack}");
    watch_sio(c, Kind::Dashboard)
}

async fn thread_socket(s: &Server, t: &Tenant) -> Watch {
    let ticket = s.ticket(&t.human).await;
    let r = s
        .raw(
            &format!("/ws/threads/{}?ticket={ticket}&since=0", t.channel),
            None,
        )
        .await;
    watch_raw(r, Kind::Thread)
}

async fn notification_socket(s: &Server, t: &Tenant) -> Watch {
    let ticket = s.ticket(&t.human).await;
    let r = s
        .raw(&format!("/ws/notifications?ticket={ticket}"), None)
        .await;
    watch_raw(r, Kind::Notifications)
}

/// The `seq`s a subscriber of `kind` must receive for `log`, in order.
fn expected(kind: Kind, log: &[LoggedEvent]) -> Vec<i64> {
    let frame_seqs = |frames: String| -> Vec<i64> {
        frames
            .split('\n')
            .filter(|f| !f.is_empty())
            .filter_map(|f| serde_json::from_str::<Value>(f).ok()?.get("seq")?.as_i64())
            .collect()
    };
    log.iter()
        .flat_map(|e| match kind {
            Kind::Agent if e.event.audience() == Audience::OwnerDashboards => vec![],
            Kind::Agent | Kind::Dashboard => vec![e.seq],
            Kind::Thread => frame_seqs(wire::thread_frames(e, View::Dashboard)),
            Kind::Notifications if e.event.audience() == Audience::Channel => vec![],
            Kind::Notifications => frame_seqs(wire::notification_frames(e)),
        })
        .collect()
}

/// A Socket.IO dashboard hears its user's owner-level events from the moment it connects
/// (Placet's user room), before it subscribes; its subscription's replay then delivers the
/// channel from `lastSeq` in order, without repeating what the owner feed already sent. So
/// what it must receive is that strictly increasing prefix, then the rest of `want`.
fn with_owner_prefix(got: &[i64], want: Vec<i64>) -> Vec<i64> {
    let start = got.iter().position(|&s| s == want[0]).unwrap_or(0);
    let prefix = &got[..start];
    assert!(
        prefix.windows(2).all(|w| w[0] < w[1]),
        "the owner feed before the subscription is in order: {prefix:?}"
    );
    let mut out = prefix.to_vec();
    out.extend(want.into_iter().filter(|s| !prefix.contains(s)));
    out
}

/// Concurrent writers of every kind on one tenant's channel, bounded in count.
async fn write_load(s: Arc<Server>, t: Arc<Tenant>, rounds: usize) {
    let reviews: Arc<Mutex<Vec<String>>> = Arc::default();
    let agent = {
        let (s, t, reviews) = (s.clone(), t.clone(), reviews.clone());
        tokio::spawn(async move {
            for i in 0..rounds * 4 {
                let mut body = json!({"channelId": t.channel, "text": format!("agent {i}")});
                if i % 4 == 0 {
                    body["review"] = json!({"type": "approval", "payload": {"options": [
                        {"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}]}});
                }
                let (st, m) = s.post("/api/v1/messages", &t.key, body).await;
                assert_eq!(st, 201, "{m}");
                if i % 4 == 0 {
                    reviews
                        .lock()
                        .unwrap()
                        .push(m["id"].as_str().unwrap().into());
                }
            }
        })
    };
    let human = {
        let (s, t) = (s.clone(), t.clone());
        tokio::spawn(async move {
            for i in 0..rounds * 2 {
                let body = json!({"channelId": t.channel, "text": format!("human {i}")});
                let (st, m) = s.post("/api/messages", &t.human, body).await;
                assert_eq!(st, 201, "{m}");
            }
        })
    };
    let drafts = {
        let (s, t) = (s.clone(), t.clone());
        tokio::spawn(async move {
            for i in 0..rounds / 2 {
                let sid = format!("turn-{i}");
                let body = json!({"channelId": t.channel, "streamId": sid, "streamState": "streaming", "text": ""});
                let (st, m) = s.post("/api/v1/messages", &t.key, body).await;
                assert_eq!(st, 201, "{m}");
                for d in ["one ", "two ", "three"] {
                    let path = format!("/api/v1/messages/streams/{sid}/delta");
                    let body = json!({"channelId": t.channel, "delta": d});
                    let (st, v) = s.post(&path, &t.key, body).await;
                    assert!(st.is_success(), "{v}");
                }
                let path = format!("/api/v1/messages/streams/{sid}");
                let body = json!({"channelId": t.channel, "streamState": "complete"});
                let (st, v) = s
                    .call(reqwest::Method::PATCH, &path, &t.key, Some(body))
                    .await;
                assert!(st.is_success(), "{v}");
            }
        })
    };
    let answers = {
        let (s, t, reviews) = (s.clone(), t.clone(), reviews.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            while answered < rounds {
                let next = reviews.lock().unwrap().pop();
                let Some(id) = next else {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                };
                let path = format!("/api/messages/{id}/respond");
                let body = json!({"response": {"selectedOption": "yes"}});
                let (st, v) = s.post(&path, &t.human, body).await;
                assert_eq!(st, 201, "{v}");
                answered += 1;
            }
        })
    };
    for h in [agent, human, drafts, answers] {
        h.await.unwrap();
    }
}

/// The channel's head once nothing more is being committed (webhook delivery-status changes
/// go on for a while after the writers stop).
async fn settled_head(s: &Server, channel: &assent_core::ChannelId) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (-1, Instant::now());
    loop {
        let (head, _) = s.app.store().log_bounds(channel).await.unwrap();
        if head != last.0 {
            last = (head, Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(700) {
            return head;
        }
        assert!(Instant::now() < deadline, "the log never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One run on `nodes` (one server, or the nodes of a cluster on one database): tenant i
/// writes through one node, and its subscribers are spread over all of them.
async fn run_once(nodes: Vec<Server>, rounds: usize) {
    let rx = Receiver::start().await;
    let nodes: Vec<Arc<Server>> = nodes.into_iter().map(Arc::new).collect();
    let s = nodes[0].clone();
    let mut next = 0;
    let mut at = || {
        next += 1;
        nodes[next % nodes.len()].clone()
    };
    let mut tenants = vec![s.tenant().await];
    for email in ["b@example.com", "c@example.com"] {
        tenants.push(s.member_tenant(email).await);
    }
    let mut watches: Vec<(usize, Watch)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        let url = rx.url(&format!("/hook/{i}"));
        let body = json!({"channelId": t.channel, "url": url});
        let (st, v) = s.post("/api/v1/agents/setWebhook", &t.key, body).await;
        assert_eq!(st, 200, "{v}");
        watches.push((i, agent_socket(&at(), t).await));
        watches.push((i, agent_socket(&at(), t).await));
        watches.push((i, dashboard_socket(&at(), t).await));
        watches.push((i, thread_socket(&at(), t).await));
        watches.push((i, notification_socket(&at(), t).await));
    }
    let tenants: Vec<Arc<Tenant>> = tenants.into_iter().map(Arc::new).collect();
    let load: Vec<_> = tenants
        .iter()
        .map(|t| tokio::spawn(write_load(at(), t.clone(), rounds)))
        .collect();
    // Late joiners replay from 0 while the writers go on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, t) in tenants.iter().enumerate() {
        watches.push((i, agent_socket(&at(), t).await));
        watches.push((i, dashboard_socket(&at(), t).await));
        watches.push((i, thread_socket(&at(), t).await));
    }
    for l in load {
        l.await.unwrap();
    }
    for (i, t) in tenants.iter().enumerate() {
        let channel = assent_core::ChannelId::from_trusted(t.channel.clone());
        let head = settled_head(&s, &channel).await;
        let log = s
            .app
            .store()
            .events_between(&channel, 0, head, 1_000_000)
            .await
            .unwrap();
        assert_eq!(log.len() as i64, head, "the log is gap-free");
        for (_, w) in watches.iter().filter(|(j, _)| *j == i) {
            let mut want = expected(w.kind, &log);
            if w.kind == Kind::Dashboard {
                want = with_owner_prefix(&w.got.lock().unwrap(), want);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let got = w.got.lock().unwrap().clone();
                if got.len() >= want.len() || Instant::now() > deadline {
                    if got != want {
                        let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
                        panic!(
                            "{} subscriber of tenant {i}: received {} events, expected {}; first difference at {first_diff:?}: got {:?}, want {:?}",
                            match w.kind {
                                Kind::Agent => "agent Socket.IO",
                                Kind::Dashboard => "dashboard Socket.IO",
                                Kind::Thread => "thread stream",
                                Kind::Notifications => "notifications stream",
                            },
                            got.len(),
                            want.len(),
                            first_diff.map(|d| &got[d.saturating_sub(3)..(d + 3).min(got.len())]),
                            first_diff.map(|d| &want[d.saturating_sub(3)..(d + 3).min(want.len())]),
                        );
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let hits = rx.hits();
    assert!(!hits.is_empty(), "webhooks were delivered during the run");
    // Every node's worker delivers, each event once (the receiver answers 200 at once).
    let mut ids = std::collections::HashMap::new();
    for h in &hits {
        *ids.entry(h.header("webhook-id").unwrap().to_owned())
            .or_insert(0) += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    drop(s);
    for node in nodes {
        match Arc::try_unwrap(node) {
            Ok(s) => s.stop().await,
            Err(_) => panic!("server still shared"),
        }
    }
}

fn tuned(c: &mut assent_server::config::Config) {
    c.allow_private_webhooks = true;
    c.webhook_timeout_ms = 2_000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_gets_its_channel_in_seq_order_under_concurrent_writers_on_postgres() {
    // A one-in-three race needs several runs to show; each uses a fresh database.
    for _ in 0..3 {
        let Some(db) = PgDb::create().await else {
            return;
        };
        let url = db.url.clone();
        let s = Server::start_with(
            |c| {
                tuned(c);
                c.database_url = Some(url);
                c.db_writers = 4;
            },
            Arc::new(assent_server::clock::SystemClock),
        )
        .await;
        run_once(vec![s], 24).await;
        db.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_gets_its_channel_in_seq_order_under_concurrent_writers_on_sqlite() {
    let s = Server::start_with(tuned, Arc::new(assent_server::clock::SystemClock)).await;
    run_once(vec![s], 24).await;
}

/// The same on three nodes of a cluster: each tenant writes through one node, its Socket.IO
/// agents and dashboards, thread and notification streams are spread over all three, and
/// every node's webhook worker delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_on_every_node_gets_its_channel_in_seq_order_in_a_cluster() {
    let redis = crate::cluster::Redis::start().await;
    let Some((nodes, db)) = crate::cluster::cluster_with(&redis, tuned).await else {
        return;
    };
    run_once(nodes, 24).await;
    db.finish().await;
}

#[tokio::test]
async fn a_humans_thread_stream_carries_its_own_thread_only() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let other = s.agent(&t.raw_key, "other-bot").await;
    let ticket = s.ticket(&t.human).await;
    let mut r = s
        .raw(&format!("/ws/threads/{}?ticket={ticket}", t.channel), None)
        .await;
    r.until("ready").await;
    let (st, v) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": other, "text": "elsewhere"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let mine = s.say(&t, "here").await;
    let f = r.until("message_completed").await;
    let f = f.last().unwrap();
    assert_eq!(
        (f["thread_id"].as_str(), &f["message_id"]),
        (Some(t.channel.as_str()), &mine["id"]),
        "the other thread's message must not reach this stream"
    );
}
