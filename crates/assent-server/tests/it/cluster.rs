//! Cluster mode: three servers on one PostgreSQL database and one Redis (a `redis-server` of
//! the test's own, so that it can be killed), clients spread over them.

use crate::common::*;
use assent_proto::events as ev;
use assent_sdk::sio::Event;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start_on(port: u16) -> Child {
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed")
    }
    pub(crate) async fn start() -> Redis {
        let port = free_port();
        let r = Redis {
            port,
            child: Some(Self::start_on(port)),
        };
        r.wait_up().await;
        r
    }
    async fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    async fn restart(&mut self) {
        self.kill();
        self.child = Some(Self::start_on(self.port));
        self.wait_up().await;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three nodes of one cluster, or `None` when PostgreSQL tests are switched off.
async fn cluster(redis: &Redis) -> Option<(Vec<Server>, PgDb)> {
    cluster_with(redis, |_| {}).await
}

pub(crate) async fn cluster_with(
    redis: &Redis,
    tweak: impl Fn(&mut assent_server::config::Config) + Clone + Send + 'static,
) -> Option<(Vec<Server>, PgDb)> {
    let db = PgDb::create().await?;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let (url, r, tweak) = (db.url.clone(), redis.url(), tweak.clone());
        nodes.push(
            Server::start_with(
                move |c| {
                    c.database_url = Some(url);
                    c.redis_url = Some(r);
                    tweak(c);
                },
                Arc::new(assent_server::clock::SystemClock),
            )
            .await,
        );
    }
    Some((nodes, db))
}

fn seqs(events: &[Event], name: &str) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.data["seq"].as_i64().unwrap())
        .collect()
}

async fn health(s: &Server) -> Value {
    s.get("/health", &Auth::None).await.1
}

#[tokio::test]
async fn every_node_hears_every_event_exactly_once() {
    let redis = Redis::start().await;
    let Some((n, db)) = cluster(&redis).await else {
        return;
    };
    let t = n[0].tenant().await;
    let mut on_b = n[1].sio_agent(&t.raw_key).await;
    subscribe(&on_b, &t.channel, None).await;
    let mut on_c = n[2].sio_dashboard(&t.human).await;
    subscribe(&on_c, &t.channel, None).await;
    // Posts through all three nodes, interleaved.
    for i in 0..30 {
        let node = &n[i % 3];
        let (st, _) = node
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": format!("m{i}")}),
            )
            .await;
        assert_eq!(st, 201);
    }
    for sock in [&mut on_b, &mut on_c] {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seqs(&got, ev::MESSAGE_CREATED).len() < 30 && Instant::now() < deadline {
            got.extend(sock.drain(Duration::from_millis(200)).await);
        }
        assert_eq!(
            seqs(&got, ev::MESSAGE_CREATED),
            (1..=30).collect::<Vec<_>>(),
            "in order, once each"
        );
    }
    for node in &n {
        assert_eq!(health(node).await["status"], "ok");
    }

    // A long-poll parked on B returns when a human answers on C.
    let (_, m) = n[0]
        .post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "review": {"type": "approval", "payload": {"question": "Ship?"}}}))
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let wait = {
        let (http, url, key) = (
            n[1].http.clone(),
            n[1].url(&format!(
                "/api/v1/reviews/{id}/wait?channel={}&timeout=20000",
                t.channel
            )),
            t.raw_key.clone(),
        );
        tokio::spawn(async move {
            http.get(url)
                .header("x-api-key", key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answered = Instant::now();
    let (st, _) = n[2]
        .post(
            &format!("/api/messages/{id}/respond"),
            &t.human,
            json!({"response": {"selectedOption": "approve"}}),
        )
        .await;
    assert_eq!(st, 201);
    let got = wait.await.unwrap();
    assert_eq!(got["status"], "completed");
    assert!(
        answered.elapsed() < Duration::from_secs(2),
        "woken by the answer, not by polling"
    );

    // Deltas cross nodes too.
    let (st, _) = n[0]
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "streamId": "s1", "streamState": "streaming"}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, _) = n[0]
        .post(
            "/api/v1/messages/streams/s1/delta",
            &t.key,
            json!({"channelId": t.channel, "delta": "Hel"}),
        )
        .await;
    assert_eq!(st, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut delta = None;
    while delta.is_none() && Instant::now() < deadline {
        delta = on_b
            .drain(Duration::from_millis(100))
            .await
            .into_iter()
            .find(|e| e.name == ev::MESSAGE_DELTA);
    }
    assert_eq!(
        delta.expect("the delta reached node B").data["delta"],
        "Hel"
    );

    // A key deleted on A stops working on B and C within a second.
    let key_id = {
        let (_, keys) = n[0].get("/api/api-keys", &t.human).await;
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| t.raw_key.starts_with(k["keyPrefix"].as_str().unwrap()))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let probe = format!("/api/v1/messages?channel={}", t.channel);
    assert_eq!(n[1].get(&probe, &t.key).await.0, 200, "cached on B");
    let (st, _) = n[0]
        .call(
            reqwest::Method::DELETE,
            &format!("/api/api-keys/{key_id}"),
            &t.human,
            None,
        )
        .await;
    assert_eq!(st, 200);
    let revoked = Instant::now();
    for node in &n[1..] {
        while node.get(&probe, &t.key).await.0 != 401 {
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "a revoked key still works on another node"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for node in n {
        node.stop().await;
    }
    db.finish().await;
}

#[tokio::test]
async fn without_redis_nodes_degrade_but_lose_nothing() {
    let mut redis = Redis::start().await;
    let Some((n, db)) = cluster(&redis).await else {
        return;
    };
    let t = n[0].tenant().await;
    let mut on_b = n[1].sio_agent(&t.raw_key).await;
    subscribe(&on_b, &t.channel, None).await;
    n[0].say(&t, "before").await;
    assert_eq!(on_b.next_event(T).await.unwrap().name, ev::MESSAGE_CREATED);

    redis.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&n[1]).await["status"] != "degraded" {
        assert!(Instant::now() < deadline, "health never said degraded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        health(&n[1]).await["reason"]
            .as_str()
            .unwrap()
            .contains("Redis")
    );
    // Writes still succeed, and the other nodes read them from the log.
    for i in 0..5 {
        n[0].say(&t, &format!("during {i}")).await;
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seqs(&got, ev::MESSAGE_CREATED).len() < 5 && Instant::now() < deadline {
        got.extend(on_b.drain(Duration::from_millis(200)).await);
    }
    assert_eq!(
        seqs(&got, ev::MESSAGE_CREATED),
        vec![2, 3, 4, 5, 6],
        "nothing lost, nothing twice"
    );

    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while health(&n[1]).await["status"] != "ok" || health(&n[0]).await["status"] != "ok" {
        assert!(
            Instant::now() < deadline,
            "nodes never reconnected to Redis"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n[0].say(&t, "after").await;
    let e = on_b.next_event(T).await.unwrap();
    assert_eq!(
        (e.name.as_str(), e.data["seq"].as_i64()),
        (ev::MESSAGE_CREATED, Some(7))
    );
    assert!(
        on_b.drain(Duration::from_millis(300))
            .await
            .iter()
            .all(|e| e.name != ev::MESSAGE_CREATED),
        "no repeats"
    );
    for node in n {
        node.stop().await;
    }
    db.finish().await;
}

#[tokio::test]
async fn a_review_expires_once_whichever_nodes_run_the_job() {
    let redis = Redis::start().await;
    let Some((n, db)) = cluster(&redis).await else {
        return;
    };
    let t = n[0].tenant().await;
    let mut on_c = n[2].sio_agent(&t.raw_key).await;
    subscribe(&on_c, &t.channel, None).await;
    let (st, _) = n[1]
        .post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "review": {"type": "approval", "payload": {"question": "Quick?"}, "expiresInSeconds": 1}}))
        .await;
    assert_eq!(st, 201);
    let got = on_c.drain(Duration::from_secs(3)).await;
    assert_eq!(
        got.iter().filter(|e| e.name == ev::REVIEW_EXPIRED).count(),
        1
    );
    for node in n {
        node.stop().await;
    }
    db.finish().await;
}

#[tokio::test]
async fn a_draft_streams_through_every_node() {
    let redis = Redis::start().await;
    let Some((n, db)) = cluster_with(&redis, |c| c.draft_idle_secs = 1).await else {
        return;
    };
    let t = n[0].tenant().await;
    let mut on_c = n[2].sio_dashboard(&t.human).await;
    subscribe(&on_c, &t.channel, None).await;
    let (st, _) = n[0]
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "streamId": "s", "streamState": "streaming"}),
        )
        .await;
    assert_eq!(st, 201);
    // Deltas through all three nodes in turn, a status step on B, the completion on C.
    let sent: Vec<String> = (0..12).map(|i| format!("part {i}; ")).collect();
    for (i, d) in sent.iter().enumerate() {
        let (st, body) = n[i % 3]
            .post(
                "/api/v1/messages/streams/s/delta",
                &t.key,
                json!({"channelId": t.channel, "delta": d}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
    }
    let (st, _) = n[1]
        .post(
            "/api/v1/messages/streams/s/status",
            &t.key,
            json!({"channelId": t.channel, "text": "Thinking"}),
        )
        .await;
    assert_eq!(st, 201);
    let complete = json!({"channelId": t.channel, "streamState": "complete"});
    let (st, done) = n[2]
        .call(
            reqwest::Method::PATCH,
            "/api/v1/messages/streams/s",
            &t.key,
            Some(complete.clone()),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(
        done["text"],
        sent.concat(),
        "the deltas, in the order accepted"
    );
    // A retried completion on another node answers the same.
    let (st, again) = n[1]
        .call(
            reqwest::Method::PATCH,
            "/api/v1/messages/streams/s",
            &t.key,
            Some(complete),
        )
        .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["text"], done["text"]);
    // The subscriber on C saw every delta once, in order, numbered across nodes.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && !got
            .iter()
            .any(|e: &Event| e.name == ev::MESSAGE_UPDATED && e.data["streamState"] == "complete")
    {
        got.extend(on_c.drain(Duration::from_millis(200)).await);
    }
    let deltas: Vec<&Event> = got.iter().filter(|e| e.name == ev::MESSAGE_DELTA).collect();
    let texts: Vec<&str> = deltas
        .iter()
        .map(|e| e.data["delta"].as_str().unwrap())
        .collect();
    assert_eq!(texts, sent.iter().map(String::as_str).collect::<Vec<_>>());
    let ids: Vec<&str> = deltas
        .iter()
        .map(|e| e.data["streamId"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (1..=12).map(|i| format!("s:{i}")).collect();
    assert_eq!(ids, want.iter().map(String::as_str).collect::<Vec<_>>());
    let completed = got
        .iter()
        .filter(|e| e.name == ev::MESSAGE_UPDATED && e.data["streamState"] == "complete")
        .count();
    assert_eq!(completed, 1);

    // An idle draft is aborted once, however many nodes run the job at the same time.
    let (st, _) = n[1]
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "streamId": "idle", "streamState": "streaming"}),
        )
        .await;
    assert_eq!(st, 201);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (a, b, c) = tokio::join!(
        n[0].app.abort_stale_drafts(),
        n[1].app.abort_stale_drafts(),
        n[2].app.abort_stale_drafts()
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 1);
    let aborted = on_c
        .drain(Duration::from_millis(500))
        .await
        .iter()
        .filter(|e| e.name == ev::MESSAGE_UPDATED && e.data["streamState"] == "aborted")
        .count();
    assert_eq!(aborted, 1);
    for node in n {
        node.stop().await;
    }
    db.finish().await;
}

#[tokio::test]
async fn cluster_mode_needs_postgresql() {
    let mut c = assent_server::config::Config::defaults();
    c.redis_url = Some("redis://127.0.0.1:6379".into());
    assert!(c.validate().unwrap_err().contains("PostgreSQL"));
    c.database_url = Some("postgres://db/x".into());
    assert!(c.validate().is_ok());
    c.redis_url = Some("http://nope".into());
    assert!(c.validate().is_err());
}
