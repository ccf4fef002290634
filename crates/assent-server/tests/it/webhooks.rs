//! Webhooks: a local receiver with a programmable reply sequence, a manual clock for the
//! retry schedule, signatures checked with the `standardwebhooks` crate, and a crash test
//! that kills the real binary with SIGKILL while deliveries are pending.

use crate::common::*;
use assent_proto::events as ev;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode as AxStatus, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- the receiver ----

#[derive(Clone, Debug)]
pub(crate) enum Reply {
    Status(u16),
    WithHeader(u16, &'static str, &'static str),
    /// Never answers (the sender's timeout fires).
    Hang,
}

#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    /// The status the receiver answered with (0: it hung).
    pub replied: u16,
}

impl Hit {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct RxState {
    hits: Vec<Hit>,
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub base: String,
    state: Arc<Mutex<RxState>>,
}

async fn receive(
    State(st): State<Arc<Mutex<RxState>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let reply = {
        let mut s = st.lock().unwrap();
        let reply = s
            .script
            .pop_front()
            .or_else(|| s.fallback.clone())
            .unwrap_or(Reply::Status(200));
        let replied = match reply {
            Reply::Status(c) | Reply::WithHeader(c, _, _) => c,
            Reply::Hang => 0,
        };
        s.hits.push(Hit {
            path: uri.path().to_owned(),
            headers,
            body,
            replied,
        });
        reply
    };
    match reply {
        Reply::Status(c) => AxStatus::from_u16(c).unwrap().into_response(),
        Reply::WithHeader(c, k, v) => {
            let mut r = AxStatus::from_u16(c).unwrap().into_response();
            r.headers_mut().insert(k, HeaderValue::from_static(v));
            r
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            AxStatus::OK.into_response()
        }
    }
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(RxState::default()));
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Receiver { base, state }
    }
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    pub(crate) fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }
    pub(crate) fn otherwise(&self, r: Reply) {
        self.state.lock().unwrap().fallback = Some(r);
    }
    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.state.lock().unwrap().hits.clone()
    }
    /// Waits until at least `n` requests arrived.
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let h = self.hits();
            if h.len() >= n {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook requests, got {}",
                h.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    /// Asserts that the count stays at `n` for `d`.
    pub(crate) async fn stays_at(&self, n: usize, d: Duration) {
        tokio::time::sleep(d).await;
        assert_eq!(self.hits().len(), n, "an attempt came before it was due");
    }
}

// ---- helpers ----

pub(crate) async fn private_server() -> (Server, Arc<assent_server::clock::ManualClock>) {
    use assent_server::clock::{Clock, ManualClock, SystemClock};
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let s = Server::start_with(
        |c| {
            c.allow_private_webhooks = true;
            c.webhook_timeout_ms = 1_000;
        },
        clock.clone(),
    )
    .await;
    (s, clock)
}

/// Sets the agent's webhook with Placet's `setWebhook`; returns the signing secret.
pub(crate) async fn set_webhook(s: &Server, t: &Tenant, url: &str, extra: Value) -> String {
    let mut body = json!({"channelId": t.channel, "url": url});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let (st, v) = s.post("/api/v1/agents/setWebhook", &t.key, body).await;
    assert_eq!(st, 200, "{v}");
    v["webhookSecret"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default()
}

async fn human_says(s: &Server, t: &Tenant, text: &str) -> Value {
    let (st, v) = s
        .post(
            "/api/messages",
            &t.human,
            json!({"channelId": t.channel, "text": text}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    v
}

async fn approved_review(s: &Server, t: &Tenant, extra: Value) -> Value {
    let mut body = json!({"channelId": t.channel, "text": "Deploy?", "review": {"type": "approval",
        "payload": {"options": [{"id": "approve", "label": "Approve"}, {"id": "reject", "label": "Reject"}], "allowComment": true}}});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let (st, m) = s.post("/api/v1/messages", &t.key, body).await;
    assert_eq!(st, 201, "{m}");
    let id = m["id"].as_str().unwrap();
    let (st, v) = s
        .post(
            &format!("/api/messages/{id}/respond"),
            &t.human,
            json!({"response": {"selectedOption": "approve", "comment": "ship it"}, "feedback": "well done"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    m
}

async fn deliveries(s: &Server, t: &Tenant, message_id: &str) -> Vec<Value> {
    let (st, v) = s
        .get(&format!("/api/messages/{message_id}/deliveries"), &t.human)
        .await;
    assert_eq!(st, 200, "{v}");
    v["data"].as_array().unwrap().clone()
}

/// Polls until the message's newest delivery is in `state`.
async fn delivery_in(s: &Server, t: &Tenant, message_id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = deliveries(s, t, message_id).await;
        if let Some(first) = d.first()
            && first["state"] == state
        {
            return first.clone();
        }
        assert!(
            Instant::now() < deadline,
            "delivery never became {state}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until the message's newest delivery has recorded `n` attempts.
async fn attempts_recorded(s: &Server, t: &Tenant, message_id: &str, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = deliveries(s, t, message_id).await;
        if d.first().and_then(|f| f["attempts"].as_i64()) >= Some(n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "attempt {n} never recorded: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn delivery_status(s: &Server, t: &Tenant, message_id: &str) -> String {
    let (st, v) = s
        .get(&format!("/api/messages/{message_id}"), &t.human)
        .await;
    assert_eq!(st, 200, "{v}");
    v["deliveryStatus"].as_str().unwrap().to_owned()
}

fn kick(s: &Server) {
    s.app.wake_webhooks();
}

fn verifier(secret: &str) -> standardwebhooks::Webhook {
    standardwebhooks::Webhook::new(secret).expect("a valid whsec_ secret")
}

// ---- tests ----

#[tokio::test]
async fn retries_follow_the_schedule_with_one_webhook_id_and_valid_signatures() {
    let (s, clock) = private_server().await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    let secret = set_webhook(&s, &t, &rx.url("/hook"), json!({})).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    rx.then([
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(503),
        Reply::Status(200),
    ]);
    let m = approved_review(&s, &t, json!({})).await;
    let mid = m["id"].as_str().unwrap();

    rx.wait_for(1, T).await;
    attempts_recorded(&s, &t, mid, 1).await;
    // Second attempt: 5 s (±10 %) later.
    clock.advance_secs(4);
    kick(&s);
    rx.stays_at(1, Duration::from_millis(300)).await;
    clock.advance_secs(2);
    kick(&s);
    rx.wait_for(2, T).await;
    attempts_recorded(&s, &t, mid, 2).await;
    // Third: 5 min later.
    clock.advance_secs(260);
    kick(&s);
    rx.stays_at(2, Duration::from_millis(300)).await;
    clock.advance_secs(80);
    kick(&s);
    rx.wait_for(3, T).await;
    attempts_recorded(&s, &t, mid, 3).await;
    assert_eq!(delivery_status(&s, &t, mid).await, "sent", "not final yet");
    // Fourth: 30 min later, and it is delivered.
    clock.advance_secs(26 * 60);
    kick(&s);
    rx.stays_at(3, Duration::from_millis(300)).await;
    clock.advance_secs(8 * 60);
    kick(&s);
    let hits = rx.wait_for(4, T).await;
    let d = delivery_in(&s, &t, mid, "delivered").await;

    // One webhook-id across the retries, the same bytes each time.
    let id = hits[0].header("webhook-id").unwrap().to_owned();
    assert!(hits.iter().all(|h| h.header("webhook-id") == Some(&id)));
    assert!(hits.iter().all(|h| h.body == hits[0].body));
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["target"], "agent");
    let log: Vec<Value> = d["attemptLog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["statusCode"].clone())
        .collect();
    assert_eq!(log, [json!(500), json!(500), json!(503), json!(200)]);
    assert_eq!(d["attempts"], 4);
    assert_eq!(delivery_status(&s, &t, mid).await, "webhook_delivered");

    // Placet's body, plus seq.
    let b = hits[0].json();
    assert_eq!(b["event"], ev::REVIEW_RESPONDED);
    assert_eq!(b["channelId"], t.channel.as_str());
    assert_eq!(b["message_id"], mid);
    assert_eq!(b["review_type"], "approval");
    assert_eq!(b["status"], "completed");
    assert_eq!(b["response"]["selectedOption"], "approve");
    assert_eq!(b["feedback"], "well done");
    assert!(
        b["responded_at"].is_string() && b["seq"].as_i64().unwrap() > 0,
        "{b}"
    );
    assert_eq!(hits[0].header("content-type"), Some("application/json"));

    // Every attempt verifies with the standardwebhooks crate...
    for h in &hits {
        verifier(&secret)
            .verify(h.body.as_bytes(), &h.headers)
            .expect("signature verifies");
    }
    // ...and tampering of any part fails.
    let h = &hits[3];
    assert!(verifier(&secret).verify(b"{}", &h.headers).is_err(), "body");
    let other = assent_server::app::new_webhook_secret();
    assert!(
        verifier(&other)
            .verify(h.body.as_bytes(), &h.headers)
            .is_err(),
        "secret"
    );
    let with = |name: &'static str, value: String| {
        let mut hm = h.headers.clone();
        hm.insert(name, HeaderValue::from_str(&value).unwrap());
        hm
    };
    let ts: i64 = h.header("webhook-timestamp").unwrap().parse().unwrap();
    let sig = h.header("webhook-signature").unwrap().to_owned();
    for (name, value) in [
        ("webhook-timestamp", (ts + 1).to_string()),
        ("webhook-id", "msg_other".to_owned()),
        ("webhook-signature", "v1,".to_owned()),
        ("webhook-signature", sig[..sig.len() - 4].to_owned()),
        ("webhook-signature", sig[..6].to_owned()),
        ("webhook-signature", format!("v2,{}", &sig[3..])),
    ] {
        assert!(
            verifier(&secret)
                .verify(h.body.as_bytes(), &with(name, value.clone()))
                .is_err(),
            "{name}: {value} verified"
        );
    }
    // A correctly signed but stale (6 min old) request is refused; a fresh one passes.
    let now = assent_server::clock::Clock::now(&assent_server::clock::SystemClock).0 / 1000;
    for (stamp, ok) in [(now - 360, false), (now, true)] {
        let sig = assent_server::webhooks::sign(&secret, &id, stamp, &h.body).unwrap();
        let mut hm = with("webhook-timestamp", stamp.to_string());
        hm.insert("webhook-signature", HeaderValue::from_str(&sig).unwrap());
        assert_eq!(
            verifier(&secret).verify(h.body.as_bytes(), &hm).is_ok(),
            ok,
            "{stamp}"
        );
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_gone_disables_the_endpoint() {
    let (s, clock) = private_server().await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    set_webhook(&s, &t, &rx.url("/hook"), json!({})).await;
    rx.then([
        Reply::WithHeader(429, "retry-after", "120"),
        Reply::Status(410),
    ]);
    let m = human_says(&s, &t, "hello").await;
    let mid = m["id"].as_str().unwrap();
    let first = rx.wait_for(1, T).await;
    assert_eq!(first[0].json()["event"], ev::MESSAGE_CREATED);
    assert_eq!(first[0].json()["message"]["text"], "hello");
    attempts_recorded(&s, &t, mid, 1).await;
    // Not at the schedule's 5 s, but after the 120 s asked for.
    clock.advance_secs(60);
    kick(&s);
    rx.stays_at(1, Duration::from_millis(300)).await;
    clock.advance_secs(61);
    kick(&s);
    rx.wait_for(2, T).await;
    // 410: failed for good, and the endpoint is disabled.
    let d = delivery_in(&s, &t, mid, "failed").await;
    assert_eq!(d["attempts"], 2);
    assert_eq!(delivery_status(&s, &t, mid).await, "webhook_failed");
    let (_, agent) = s.get(&format!("/api/agents/{}", t.channel), &t.human).await;
    assert!(agent["webhookDisabledAt"].is_string(), "{agent}");
    assert!(agent.get("webhookSecret").is_none(), "{agent}");
    // Later events fail at once, without a request.
    let m2 = human_says(&s, &t, "anyone?").await;
    let d2 = delivery_in(&s, &t, m2["id"].as_str().unwrap(), "failed").await;
    assert!(
        d2["lastError"].as_str().unwrap().contains("disabled"),
        "{d2}"
    );
    assert_eq!(rx.hits().len(), 2);
    // Setting the URL again (here the same one) enables it again.
    let (st, agent) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{}", t.channel),
            &t.key,
            Some(json!({"webhookUrl": rx.url("/hook")})),
        )
        .await;
    assert_eq!(st, 200);
    assert!(agent["webhookDisabledAt"].is_null(), "{agent}");
    assert!(agent.get("webhookSecret").is_none(), "shown once: {agent}");
    human_says(&s, &t, "back").await;
    let hits = rx.wait_for(3, T).await;
    assert_eq!(hits[2].path, "/hook");
    assert_eq!(hits[2].json()["message"]["text"], "back");
}

#[tokio::test]
async fn exhausted_deliveries_stay_visible_and_can_be_retried_by_hand() {
    use assent_server::clock::{Clock, ManualClock, SystemClock};
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let s = Server::start_with(
        |c| {
            c.allow_private_webhooks = true;
            c.webhook_retry_schedule = assent_server::config::parse_schedule("0s,10s,10s").unwrap();
        },
        clock.clone(),
    )
    .await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    set_webhook(&s, &t, &rx.url("/hook"), json!({})).await;
    rx.otherwise(Reply::Status(502));
    let m = approved_review(&s, &t, json!({})).await;
    let mid = m["id"].as_str().unwrap();
    let mut dio = s.sio_dashboard(&t.human).await;
    subscribe(&dio, &t.channel, None).await;
    rx.wait_for(1, T).await;
    for n in 2..=3 {
        // The receiver answered; the clock moves on only once the failure is recorded (else
        // the retry is scheduled from the advanced time, and never comes due).
        attempts_recorded(&s, &t, mid, n as i64 - 1).await;
        clock.advance_secs(12);
        kick(&s);
        rx.wait_for(n, T).await;
    }
    let d = delivery_in(&s, &t, mid, "failed").await;
    assert_eq!(
        (d["attempts"].as_i64(), d["maxAttempts"].as_i64()),
        (Some(3), Some(3))
    );
    assert!(d["nextAttemptAt"].is_null());
    assert!(
        d["lastError"].as_str().unwrap().starts_with("HTTP 502"),
        "{d}"
    );
    assert_eq!(delivery_status(&s, &t, mid).await, "webhook_failed");
    // The dashboard heard about it.
    let ev = dio
        .next_named(ev::MESSAGE_DELIVERY, T)
        .await
        .expect(ev::MESSAGE_DELIVERY);
    assert_eq!(ev.data["deliveryStatus"], "webhook_failed");
    // It stays failed: no more attempts, whatever the time.
    clock.advance_secs(86_400);
    kick(&s);
    rx.stays_at(3, Duration::from_millis(300)).await;
    // Agents see it in the failed listing.
    let (st, v) = s
        .get(
            &format!("/api/v1/agents/{}/deliveries?state=failed", t.channel),
            &t.key,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"][0]["messageId"], mid);
    // A human retries: one more attempt, same webhook-id, delivered.
    rx.otherwise(Reply::Status(200));
    let (st, v) = s
        .post(&format!("/api/messages/{mid}/retry"), &t.human, json!({}))
        .await;
    assert_eq!((st.as_u16(), &v), (200, &json!({"retried": true})));
    let hits = rx.wait_for(4, T).await;
    assert_eq!(hits[3].header("webhook-id"), hits[0].header("webhook-id"));
    delivery_in(&s, &t, mid, "delivered").await;
    assert_eq!(delivery_status(&s, &t, mid).await, "webhook_delivered");
    // The agent acknowledges: never back from agent_received.
    let (st, _) = s
        .post(
            &format!("/api/v1/messages/{mid}/ack?channel={}", t.channel),
            &t.key,
            json!({}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(delivery_status(&s, &t, mid).await, "agent_received");
    // A message without a webhook cannot be retried.
    let plain = s.say(&t, "agent note").await;
    let (st, v) = s
        .post(
            &format!("/api/messages/{}/retry", plain["id"].as_str().unwrap()),
            &t.human,
            json!({}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("no_webhook")),
        "{v}"
    );
}

#[tokio::test]
async fn agent_credentials_go_only_to_the_agents_own_url() {
    let (s, _clock) = private_server().await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    set_webhook(
        &s,
        &t,
        &rx.url("/agent"),
        json!({"headers": {"X-Agent-Secret": "s3cret"}, "auth": {"username": "bot", "password": "pw"}}),
    )
    .await;
    // Per-message URL: no stored credentials.
    approved_review(&s, &t, json!({"webhookUrl": rx.url("/per-message")})).await;
    let hits = rx.wait_for(1, T).await;
    assert_eq!(hits[0].path, "/per-message");
    assert!(hits[0].header("authorization").is_none());
    assert!(hits[0].header("x-agent-secret").is_none());
    assert!(hits[0].header("webhook-signature").is_some());
    // The agent's own URL: credentials and headers.
    human_says(&s, &t, "hi").await;
    let hits = rx.wait_for(2, T).await;
    assert_eq!(hits[1].path, "/agent");
    assert_eq!(hits[1].header("authorization"), Some("Basic Ym90OnB3"));
    assert_eq!(hits[1].header("x-agent-secret"), Some("s3cret"));
    // Agent messages never trigger webhooks.
    s.say(&t, "agent talking").await;
    rx.stays_at(2, Duration::from_millis(300)).await;

    // Header values are shown masked, like the credentials; sending the mask back keeps
    // the stored value, and a mask for a header that has none is refused.
    for (path, auth) in [("/api/v1/agents", &t.key), ("/api/agents", &t.human)] {
        let (_, list) = s.get(path, auth).await;
        let a = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == t.channel.as_str())
            .unwrap();
        assert_eq!(
            a["webhookHeaders"],
            json!({"X-Agent-Secret": "***"}),
            "{path}"
        );
        assert!(!list.to_string().contains("s3cret"), "{path}: {list}");
    }
    let agent_path = format!("/api/v1/agents/{}", t.channel);
    let patch = |headers: serde_json::Value| {
        s.call(
            Method::PATCH,
            &agent_path,
            &t.key,
            Some(json!({"webhookHeaders": headers})),
        )
    };
    let (st, v) = patch(json!({"X-Agent-Secret": "***", "X-Other": "***"})).await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("webhookHeaders.X-Other")),
        "{v}"
    );
    let (st, v) = patch(json!({"X-Agent-Secret": "***", "X-New": "fresh"})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["webhookHeaders"],
        json!({"X-Agent-Secret": "***", "X-New": "***"})
    );
    human_says(&s, &t, "again").await;
    let hits = rx.wait_for(3, T).await;
    assert_eq!(hits[2].header("x-agent-secret"), Some("s3cret"), "kept");
    assert_eq!(hits[2].header("x-new"), Some("fresh"));
}

#[tokio::test]
async fn expired_reviews_reach_the_legacy_callback_without_touching_delivery_status() {
    let (s, clock) = private_server().await;
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "Pick", "review": {"type": "text-input",
                "payload": {"placeholder": "why?"}, "expiresInSeconds": 60,
                "callback": {"url": rx.url("/cb"), "method": "PUT", "headers": {"X-Cb": "1"}}}}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let mid = m["id"].as_str().unwrap();
    clock.advance_secs(61);
    s.app.expire_due_reviews().await.unwrap();
    let hits = rx.wait_for(1, T).await;
    let b = hits[0].json();
    assert_eq!(
        (
            b["event"].as_str(),
            b["message_id"].as_str(),
            b["review_type"].as_str()
        ),
        (Some(ev::REVIEW_EXPIRED), Some(mid), Some("text-input"))
    );
    assert!(b["expired_at"].is_string());
    assert_eq!(hits[0].path, "/cb");
    assert_eq!(hits[0].header("x-cb"), Some("1"));
    let d = delivery_in(&s, &t, mid, "delivered").await;
    assert_eq!(d["target"], "callback");
    assert_eq!(delivery_status(&s, &t, mid).await, "sent");
}

#[tokio::test]
async fn the_egress_guard_turns_private_targets_into_visible_failures() {
    let s = Server::start().await; // allow_private_webhooks = false
    let t = s.tenant().await;
    let rx = Receiver::start().await;
    let port = rx.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://169.254.169.254:{port}/latest/meta-data"),
    ] {
        set_webhook(&s, &t, &url, json!({})).await;
        let m = human_says(&s, &t, "hi").await;
        let d = delivery_in(&s, &t, m["id"].as_str().unwrap(), "failed").await;
        let err = d["attemptLog"][0]["error"].as_str().unwrap();
        assert!(err.contains("egress guard"), "{url}: {err}");
        assert_eq!(d["attempts"], 1, "{url}: refused once, not retried");
    }
    assert!(rx.hits().is_empty(), "the guard let a request through");
}

#[tokio::test]
async fn webhook_configuration_is_validated_and_the_secret_shown_once() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    for (body, field) in [
        (
            json!({"channelId": t.channel, "url": "ftp://example.com/x"}),
            "url",
        ),
        (json!({"channelId": t.channel, "url": "not a url"}), "url"),
        (json!({"channelId": t.channel}), "url"),
        (json!({"url": "https://example.com"}), "channelId"),
        (
            json!({"channelId": t.channel, "url": "https://example.com", "headers": many}),
            "headers",
        ),
        (
            json!({"channelId": t.channel, "url": "https://example.com", "headers": {"webhook-id": "x"}}),
            "headers.webhook-id",
        ),
        (
            json!({"channelId": t.channel, "url": "https://example.com", "headers": {"Bad Name": "x"}}),
            "headers.Bad Name",
        ),
        (
            json!({"channelId": t.channel, "url": "https://example.com", "auth": {"username": "u"}}),
            "auth",
        ),
    ] {
        let (st, v) = s
            .post("/api/v1/agents/setWebhook", &t.key, body.clone())
            .await;
        assert_eq!(
            (st.as_u16(), v["errors"][0]["path"].as_str()),
            (400, Some(field)),
            "{body} → {v}"
        );
    }
    // A review's legacy callback is held to the same rules.
    for (callback, field) in [
        (
            json!({"url": "https://example.com/cb", "method": "GET"}),
            "review.callback.method",
        ),
        (
            json!({"url": "https://example.com/cb", "headers": {"Webhook-Signature": "v1,x"}}),
            "review.callback.headers.Webhook-Signature",
        ),
        (
            json!({"url": "https://example.com/cb", "headers": {"X-A": "a\r\nb"}}),
            "review.callback.headers.X-A",
        ),
        (json!({"url": "file:///etc/passwd"}), "review.callback.url"),
    ] {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": "?", "review": {"type": "approval", "callback": callback}}),
            )
            .await;
        assert_eq!(
            (st.as_u16(), v["errors"][0]["path"].as_str()),
            (400, Some(field)),
            "{v}"
        );
    }
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/agents/{}", t.channel),
            &t.human,
            Some(json!({"webhookUrl": "javascript:alert(1)"})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("webhookUrl"))
    );

    // The first URL shows the secret; nothing else does, except rotate.
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/agents/{}", t.channel),
            &t.human,
            Some(json!({"webhookUrl": "https://example.com/hook"})),
        )
        .await;
    assert_eq!(st, 200);
    let first = v["webhookSecret"]
        .as_str()
        .expect("secret shown")
        .to_owned();
    assert!(first.starts_with("whsec_") && first.len() > 40, "{first}");
    let (_, v) = s
        .post(
            "/api/v1/agents/setWebhook",
            &t.key,
            json!({"channelId": t.channel, "url": "https://example.com/other"}),
        )
        .await;
    assert!(v.get("webhookSecret").is_none(), "{v}");
    for path in ["/api/agents", "/api/v1/agents"] {
        let auth = if path.contains("v1") {
            &t.key
        } else {
            &t.human
        };
        let (_, v) = s.get(path, auth).await;
        assert!(!v.to_string().contains("whsec_"), "{path}: {v}");
    }
    let (st, v) = s
        .post(
            &format!("/api/v1/agents/{}/webhook-secret/rotate", t.channel),
            &t.key,
            json!({}),
        )
        .await;
    assert_eq!(st, 200);
    let rotated = v["webhookSecret"].as_str().unwrap().to_owned();
    assert!(rotated.starts_with("whsec_") && rotated != first);
    // deleteWebhook clears URL, headers and credentials.
    let (st, v) = s
        .post(
            "/api/v1/agents/deleteWebhook",
            &t.key,
            json!({"channelId": t.channel}),
        )
        .await;
    assert_eq!(st, 200);
    assert!(
        v["webhookUrl"].is_null() && v["webhookHeaders"].is_null() && v["webhookAuth"].is_null()
    );
    // Another user's agent: 403, as for every other agent route.
    let other = s.member_tenant("other@example.com").await;
    let (st, _) = s
        .post(
            &format!("/api/agents/{}/webhook-secret/rotate", t.channel),
            &other.human,
            json!({}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, v) = s
        .get(
            &format!("/api/v1/agents/{}/deliveries?state=maybe", t.channel),
            &t.key,
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("state"))
    );
}

// ---- crash safety with the real binary ----

struct Proc {
    child: std::process::Child,
    base: String,
}

async fn spawn_binary(data: &std::path::Path) -> Proc {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_assent"))
        .arg("serve")
        .env("ASSENT_ADDR", format!("127.0.0.1:{port}"))
        .env("ASSENT_DATA_DIR", data)
        .env("ASSENT_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ASSENT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ASSENT_ALLOW_PRIVATE_WEBHOOKS", "true")
        .env("ASSENT_WEBHOOK_TIMEOUT_MS", "1000")
        .env(
            "ASSENT_WEBHOOK_RETRY_SCHEDULE",
            "0ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
        )
        .env("ASSENT_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the assent binary starts");
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    Proc { child, base }
}

async fn call(base: &str, method: Method, path: &str, auth: &Auth, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .json(&body);
    req = match auth {
        Auth::Bearer(t) => req.bearer_auth(t),
        Auth::Key(k) => req.header("x-api-key", k),
        _ => req,
    };
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_sigkill_mid_delivery_loses_nothing_and_keeps_webhook_ids() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    // Everything fails at first, and a few requests hang so that they are in flight at the kill.
    rx.then([Reply::Hang, Reply::Hang, Reply::Hang]);
    rx.otherwise(Reply::Status(503));
    let mut a = spawn_binary(dir.path()).await;
    let login = call(
        &a.base,
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let human = Auth::Bearer(login["token"].as_str().unwrap().to_owned());
    let key = call(
        &a.base,
        Method::POST,
        "/api/api-keys",
        &human,
        json!({"label": "k"}),
    )
    .await;
    let key = Auth::Key(key["key"].as_str().unwrap().to_owned());
    let agent = call(
        &a.base,
        Method::POST,
        "/api/v1/agents",
        &key,
        json!({"name": "crashy", "webhookUrl": rx.url("/hook")}),
    )
    .await;
    let secret = agent["webhookSecret"].as_str().unwrap().to_owned();
    let channel = agent["id"].as_str().unwrap().to_owned();
    const N: usize = 30;
    let mut posted = Vec::new();
    for i in 0..N {
        let m = call(
            &a.base,
            Method::POST,
            "/api/messages",
            &human,
            json!({"channelId": channel, "text": format!("message {i}")}),
        )
        .await;
        posted.push(m["id"].as_str().unwrap().to_owned());
    }
    // Every delivery has been tried at least once (most more), none has succeeded.
    rx.wait_for(N + 10, Duration::from_secs(20)).await;
    a.child.kill().expect("SIGKILL");
    a.child.wait().unwrap();
    // Requests the dead process sent just before the kill may still be in the receiver's
    // socket buffers: let them be answered 503 (as before the kill) before switching to 200,
    // so that every 2xx below was given to the new process.
    let mut before = rx.hits().len();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = rx.hits().len();
        if now == before {
            break;
        }
        before = now;
    }
    rx.otherwise(Reply::Status(200));

    let mut b = spawn_binary(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok: std::collections::HashSet<String> = rx
            .hits()
            .iter()
            .filter(|h| h.replied == 200)
            .map(|h| h.json()["message"]["id"].as_str().unwrap().to_owned())
            .collect();
        if ok.len() == N {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {N} delivered after the restart",
            ok.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hits = rx.hits();
    assert!(hits.len() > before, "the new process delivered");
    // Per message: one webhook-id across both processes, and one 2xx.
    let mut ids: HashMap<String, Vec<&Hit>> = HashMap::new();
    for h in &hits {
        ids.entry(h.json()["message"]["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(h);
    }
    let mut got: Vec<&String> = ids.keys().collect();
    got.sort();
    let mut want: Vec<&String> = posted.iter().collect();
    want.sort();
    assert_eq!(got, want);
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (mid, list) in &ids {
        let first = list[0].header("webhook-id").unwrap();
        assert!(
            list.iter().all(|h| h.header("webhook-id") == Some(first)),
            "message {mid} was sent with two webhook-ids"
        );
        assert_eq!(list.iter().filter(|h| h.replied == 200).count(), 1, "{mid}");
        *per_id.entry(first).or_default() += 1;
        for h in list {
            verifier(&secret)
                .verify(h.body.as_bytes(), &h.headers)
                .unwrap();
        }
    }
    assert_eq!(per_id.len(), N, "distinct webhook-ids");
    // And the server agrees: every message is webhook_delivered.
    let b_login = call(
        &b.base,
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    )
    .await;
    let human = Auth::Bearer(b_login["token"].as_str().unwrap().to_owned());
    let deadline = Instant::now() + Duration::from_secs(10);
    for mid in &posted {
        loop {
            let m = reqwest::Client::new()
                .get(format!("{}/api/messages/{mid}", b.base))
                .bearer_auth(match &human {
                    Auth::Bearer(t) => t.clone(),
                    _ => unreachable!(),
                })
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap();
            if m["deliveryStatus"] == "webhook_delivered" {
                break;
            }
            assert!(Instant::now() < deadline, "{mid}: {m}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    b.child.kill().unwrap();
    b.child.wait().unwrap();
}

#[tokio::test]
async fn webhook_header_values_with_control_characters_are_refused_at_configuration() {
    let s = Server::start().await;
    let t = s.tenant().await;
    for bad in ["a\u{1}b", "a\u{7f}", "line\nbreak", "nul\u{0}"] {
        let (st, v) = s
            .post(
                "/api/v1/agents/setWebhook",
                &t.key,
                json!({"channelId": t.channel, "url": "https://example.com/hook", "headers": {"X-Team": bad}}),
            )
            .await;
        assert_eq!(st, 400, "{bad:?}: {v}");
        assert_eq!(v["errors"][0]["path"], "headers.X-Team", "{v}");
    }
    let (st, v) = s
        .post(
            "/api/v1/agents/setWebhook",
            &t.key,
            json!({"channelId": t.channel, "url": "https://example.com/hook", "headers": {"X-Team": "a\tb ü"}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
}

/// A receiver that answers 500 with a body that never ends.
async fn endless_error_receiver() -> String {
    use futures_util::stream;
    let app = axum::Router::new().fallback(|| async {
        let chunks = stream::repeat_with(|| {
            Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'x'; 64 * 1024]))
        });
        (
            AxStatus::INTERNAL_SERVER_ERROR,
            axum::body::Body::from_stream(chunks),
        )
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

#[tokio::test]
async fn a_huge_error_body_is_read_only_as_far_as_the_attempt_log_needs() {
    let (s, _clock) = private_server().await;
    let t = s.tenant().await;
    let base = endless_error_receiver().await;
    set_webhook(&s, &t, &format!("{base}/hook"), json!({})).await;
    let m = human_says(&s, &t, "hello").await;
    kick(&s);
    // Reading the whole body would never finish: the attempt would end in a timeout.
    let deadline = Instant::now() + Duration::from_secs(10);
    let attempt = loop {
        let d = deliveries(&s, &t, m["id"].as_str().unwrap()).await;
        let attempts: Vec<Value> = d
            .first()
            .and_then(|d| d["attemptLog"].as_array().cloned())
            .unwrap_or_default();
        if let Some(a) = attempts.first() {
            break a.clone();
        }
        assert!(Instant::now() < deadline, "no attempt recorded: {d:?}");
        kick(&s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let error = attempt["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("HTTP 500: xxx"), "{attempt}");
    assert!(error.len() < 300, "{attempt}");
}
