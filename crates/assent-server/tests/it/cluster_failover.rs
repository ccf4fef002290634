//! Cluster mode under failure: a node of the real binary is killed (SIGKILL) while agents post
//! through it; its clients move to another node and resume by `lastSeq`, and no acknowledged
//! POST is lost, repeated or reordered.

use crate::cluster::Redis;
use crate::common::*;
use assent_proto::events as ev;
use assent_sdk::sio::SocketIoClient;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A node run as its own process, so that it can be killed without a goodbye.
struct Process {
    base: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Process {
    async fn start(database_url: &str, redis_url: &str) -> Process {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_assent"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--database-url", database_url, "--redis-url", redis_url])
            .env("ASSENT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the assent binary runs");
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&base).await;
        Process {
            base,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts message `i` (`clientId` "c<i>") through the nodes from `first` on until one
/// acknowledges it; a retry of an acknowledged id is answered with the same message.
async fn post(
    http: &reqwest::Client,
    nodes: &[String],
    first: usize,
    key: &str,
    channel: &str,
    i: usize,
) -> i64 {
    let body = json!({"channelId": channel, "text": format!("m{i}"), "clientId": format!("c{i}")});
    for attempt in 0..50 {
        let base = &nodes[(first + attempt) % nodes.len()];
        let sent = http
            .post(format!("{base}/api/v1/messages"))
            .header("x-api-key", key)
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(r) = sent
            && r.status().is_success()
            && let Ok(v) = r.json::<Value>().await
        {
            return v["seq"].as_i64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("message {i} was never acknowledged");
}

/// Collects `message:created` seqs from a subscriber that starts on `nodes[0]`; when its node
/// dies it reconnects to the next one and resumes after the last seq it saw.
async fn follow(
    nodes: Vec<String>,
    key: String,
    channel: String,
    want: Arc<std::sync::atomic::AtomicI64>,
) -> Vec<i64> {
    use std::sync::atomic::Ordering;
    let mut got: Vec<i64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for attempt in 0.. {
        assert!(
            Instant::now() < deadline,
            "the subscriber never caught up: {got:?}"
        );
        let base = &nodes[attempt % nodes.len()];
        let Ok(mut c) = SocketIoClient::connect(base, "/ws", json!({"apiKey": key})).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let last = got.last().copied().unwrap_or(0);
        if c.emit_with_ack(
            ev::SUBSCRIBE,
            json!({"channelId": channel, "lastSeq": last}),
            Duration::from_secs(5),
        )
        .await
        .is_err()
        {
            continue;
        }
        loop {
            let goal = want.load(Ordering::Relaxed);
            if goal > 0 && got.last().copied().unwrap_or(0) >= goal {
                return got;
            }
            match c.next_event(Duration::from_millis(200)).await {
                Ok(e) if e.name == ev::MESSAGE_CREATED => got.push(e.data["seq"].as_i64().unwrap()),
                Ok(_) | Err(assent_sdk::sio::SioError::Timeout) => {}
                Err(_) => break,
            }
        }
    }
    unreachable!()
}

#[tokio::test]
async fn a_killed_node_loses_nothing_its_clients_resume_elsewhere() {
    let redis = Redis::start().await;
    let Some(db) = PgDb::create().await else {
        return;
    };
    let (url, r) = (db.url.clone(), redis.url());
    let survivor = Server::start_with(
        move |c| {
            c.database_url = Some(url);
            c.redis_url = Some(r);
        },
        Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let t = survivor.tenant().await;
    let mut doomed = Process::start(&db.url, &redis.url()).await;
    let nodes = vec![doomed.base.clone(), survivor.base.clone()];

    // One subscriber starts on the node that will die, one on the survivor.
    let want = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let followers: Vec<_> = [nodes.clone(), nodes.iter().rev().cloned().collect()]
        .into_iter()
        .map(|n| {
            tokio::spawn(follow(
                n,
                t.raw_key.clone(),
                t.channel.clone(),
                want.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Four agents post 60 messages each, alternating nodes; the first node dies midway.
    let http = reqwest::Client::new();
    let posters: Vec<_> = (0..4)
        .map(|a| {
            let (http, nodes, key, ch) = (
                http.clone(),
                nodes.clone(),
                t.raw_key.clone(),
                t.channel.clone(),
            );
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for k in 0..60 {
                    let i = a * 1000 + k;
                    acked.push((i, post(&http, &nodes, k % 2, &key, &ch, i).await));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    let mut acked = Vec::new();
    for p in posters {
        acked.extend(p.await.unwrap());
    }
    assert_eq!(acked.len(), 240);

    // Every acknowledged message is in the log once, under the seq it was acknowledged with.
    let (st, page) = survivor
        .get(
            &format!("/api/v1/messages?channel={}&limit=100&order=asc", t.channel),
            &t.key,
        )
        .await;
    assert_eq!(st, 200, "{page}");
    let head = acked.iter().map(|(_, s)| *s).max().unwrap();
    let mut seqs: Vec<i64> = acked.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 240, "two acknowledgements share a seq");
    assert_eq!(
        seqs,
        (1..=head).collect::<Vec<_>>(),
        "the log has a gap or a stray message"
    );

    // Both subscribers saw every event once, in order, the moved one included.
    want.store(head, std::sync::atomic::Ordering::Relaxed);
    for f in followers {
        let got = f.await.unwrap();
        assert_eq!(got, (1..=head).collect::<Vec<_>>());
    }
    survivor.stop().await;
    db.finish().await;
}

#[tokio::test]
async fn presence_tickets_and_sessions_hold_across_nodes() {
    let redis = Redis::start().await;
    let Some((n, db)) =
        crate::cluster::cluster_with(&redis, |c| c.agent_offline_after_secs = 1).await
    else {
        return;
    };
    let t = n[0].tenant().await;
    let mut dash = n[2].sio_dashboard(&t.human).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The same status reported through three nodes at once is one change, one event.
    let ping = json!({"agentId": t.channel, "status": "busy"});
    let (a, b, c) = tokio::join!(
        n[0].post("/api/v1/status/ping", &t.key, ping.clone()),
        n[1].post("/api/v1/status/ping", &t.key, ping.clone()),
        n[2].post("/api/v1/status/ping", &t.key, ping.clone())
    );
    assert_eq!([a.0, b.0, c.0], [201, 201, 201]);
    let statuses = |got: &[assent_sdk::sio::Event], s: &str| {
        got.iter()
            .filter(|e| e.name == ev::AGENT_STATUS && e.data["status"] == s)
            .count()
    };
    let got = dash.drain(Duration::from_millis(600)).await;
    assert_eq!(statuses(&got, "busy"), 1, "{got:?}");
    // Silence: every node runs the presence sweep, the agent goes offline once.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (a, b, c) = tokio::join!(
        n[0].app.sweep_presence(),
        n[1].app.sweep_presence(),
        n[2].app.sweep_presence()
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 1);
    let got = dash.drain(Duration::from_millis(600)).await;
    assert_eq!(statuses(&got, "offline"), 1, "{got:?}");

    // An agent deleted on A is gone for B too (B's cached ownership is dropped).
    let temp = n[0].agent(&t.raw_key, "temp").await;
    let say = json!({"channelId": temp, "text": "hello"});
    assert_eq!(
        n[1].post("/api/v1/messages", &t.key, say.clone()).await.0,
        201
    );
    let (st, _) = n[0]
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/agents/{temp}"),
            &t.key,
            None,
        )
        .await;
    assert_eq!(st, 200);
    let deleted = Instant::now();
    loop {
        let (st, body) = n[1].post("/api/v1/messages", &t.key, say.clone()).await;
        if st == 403 {
            assert_eq!(body["code"], "not_your_agent");
            break;
        }
        assert!(
            deleted.elapsed() < Duration::from_secs(1),
            "B still takes messages for it: {st} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A ticket minted on A opens a socket on B once; C refuses it.
    let ticket = n[0].ticket(&t.human).await;
    let first = SocketIoClient::connect(&n[1].base, "/ws", json!({"token": ticket}))
        .await
        .expect("first use works");
    first.close();
    let again = SocketIoClient::connect(&n[2].base, "/ws", json!({"token": ticket})).await;
    assert!(
        matches!(again, Err(assent_sdk::sio::SioError::ConnectError(ref m)) if m == "unauthorized"),
        "a ticket worked twice"
    );

    // Logging out on A closes the session's dashboard socket on C within a second.
    let (st, _) = n[0].post("/api/auth/logout", &t.human, json!({})).await;
    assert_eq!(st, 200);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match dash.next_event(Duration::from_millis(100)).await {
            Err(assent_sdk::sio::SioError::Timeout) => {
                assert!(Instant::now() < deadline, "the socket outlived its session");
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    for node in n {
        node.stop().await;
    }
    db.finish().await;
}
