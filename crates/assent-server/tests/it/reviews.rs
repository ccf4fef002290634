use crate::common::*;
use assent_proto::events as ev;
use assent_sdk::sio::SioError;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn ask(s: &Server, t: &Tenant, review: Value) -> Value {
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "question", "review": review}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    m
}

async fn answer(s: &Server, t: &Tenant, id: &str, response: Value) -> (u16, Value) {
    let (st, v) = s
        .post(
            &format!("/api/messages/{id}/respond"),
            &t.human,
            json!({"response": response}),
        )
        .await;
    (st.as_u16(), v)
}

fn id(m: &Value) -> String {
    m["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn review_payloads_are_validated_on_create() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let m = ask(&s, &t, json!({"type": "approval", "payload": {"options": [{"id": "approve", "label": "Approve", "style": "primary"}], "allowComment": true}, "expiresInSeconds": 600})).await;
    let r = &m["review"];
    assert_eq!(
        (r["type"].as_str(), r["status"].as_str()),
        (Some("approval"), Some("pending"))
    );
    assert!(r["response"].is_null() && r["completedAt"].is_null());
    let exp =
        chrono_ms(r["expiresAt"].as_str().unwrap()) - chrono_ms(m["createdAt"].as_str().unwrap());
    assert!((599_000..=601_000).contains(&exp), "{exp}");
    let bad = [
        (
            json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A"}, {"id": "", "label": "B"}]}}),
            "review.payload.options[1].id",
            "review.payload.options[1].id: must not be empty",
        ),
        (json!({"type": "approve"}), "review.type", ""),
        (
            json!({"type": "selection", "payload": {"mode": "some", "items": [{"id": "a", "label": "A"}]}}),
            "review.payload.mode",
            "",
        ),
        (
            json!({"type": "selection", "payload": {"items": []}}),
            "review.payload.items",
            "",
        ),
        (
            json!({"type": "form", "payload": {"fields": [{"name": "x", "type": "select", "label": "X"}]}}),
            "review.payload.fields[0].options",
            "",
        ),
        (
            json!({"type": "text-input", "payload": {"minLength": -1}}),
            "review.payload.minLength",
            "",
        ),
        (
            json!({"type": "freeform", "expiresInSeconds": -5}),
            "review.expiresInSeconds",
            "",
        ),
        (
            json!({"type": "freeform", "expiresAt": "2001-01-01T00:00:00Z"}),
            "review.expiresAt",
            "",
        ),
        (json!("approval"), "review", ""),
    ];
    for (review, path, message) in bad {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": "q", "review": review}),
            )
            .await;
        assert_eq!(st, 400, "{review} → {v}");
        assert_eq!(v["errors"][0]["path"], path, "{review} → {v}");
        if !message.is_empty() {
            assert_eq!(v["message"], message);
        }
    }
}

fn chrono_ms(iso: &str) -> i64 {
    assent_core::Millis::parse_iso(iso).unwrap().0
}

#[tokio::test]
async fn answers_are_validated_per_type_and_the_first_wins() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let approval = ask(&s, &t, json!({"type": "approval", "payload": {"options": [{"id": "approve", "label": "OK"}, {"id": "reject", "label": "No"}]}})).await;
    let (st, v) = answer(&s, &t, &id(&approval), json!({"selectedOption": "maybe"})).await;
    assert_eq!(
        (st, v["errors"][0]["path"].as_str()),
        (400, Some("response.selectedOption"))
    );
    let (st, v) = answer(
        &s,
        &t,
        &id(&approval),
        json!({"selectedOption": "approve", "comment": "no comments allowed"}),
    )
    .await;
    assert_eq!(
        (st, v["errors"][0]["path"].as_str()),
        (400, Some("response.comment"))
    );
    let (st, v) = s
        .post(
            &format!("/api/messages/{}/respond", id(&approval)),
            &t.human,
            json!({"response": "approve"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("response"))
    );
    let (st, v) = answer(&s, &t, &id(&approval), json!({"selectedOption": "approve"})).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["review"]["status"], "completed");
    assert_eq!(
        v["review"]["response"],
        json!({"selectedOption": "approve"})
    );
    assert!(v["review"]["completedAt"].is_string());
    let (st, v) = answer(&s, &t, &id(&approval), json!({"selectedOption": "reject"})).await;
    assert_eq!(
        (st, v["message"].as_str(), v["code"].as_str()),
        (
            403,
            Some("Review already responded"),
            Some("review_already_responded")
        )
    );

    let multi = ask(&s, &t, json!({"type": "selection", "payload": {"mode": "multi", "items": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}})).await;
    assert_eq!(
        answer(&s, &t, &id(&multi), json!({"selectedIds": []}))
            .await
            .0,
        400
    );
    assert_eq!(
        answer(&s, &t, &id(&multi), json!({"selectedIds": ["a", "c"]}))
            .await
            .1["errors"][0]["path"],
        "response.selectedIds[1]"
    );
    assert_eq!(
        answer(&s, &t, &id(&multi), json!({"selectedIds": ["a", "b"]}))
            .await
            .0,
        201
    );
    let single = ask(&s, &t, json!({"type": "selection", "payload": {"mode": "single", "items": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}})).await;
    assert_eq!(
        answer(&s, &t, &id(&single), json!({"selectedIds": ["a", "b"]}))
            .await
            .0,
        400
    );
    let (st, v) = answer(&s, &t, &id(&single), json!({"_dismissed": true})).await;
    assert_eq!(
        (st, v["review"]["response"]["_dismissed"].as_bool()),
        (201, Some(true))
    );

    let form = ask(&s, &t, json!({"type": "form", "payload": {"fields": [
        {"name": "name", "type": "text", "label": "Name", "required": true},
        {"name": "replicas", "type": "number", "label": "Replicas", "min": 1, "max": 10},
        {"name": "env", "type": "select", "label": "Env", "options": [{"value": "staging", "label": "Staging"}, {"value": "prod", "label": "Prod"}]},
        {"name": "when", "type": "datetime", "label": "When"},
        {"name": "agree", "type": "checkbox", "label": "Agree"}
    ]}})).await;
    for (resp, path) in [
        (json!({"replicas": 2}), "response.name"),
        (json!({"name": "x", "replicas": 11}), "response.replicas"),
        (json!({"name": "x", "env": "dev"}), "response.env"),
        (json!({"name": "x", "when": "soon"}), "response.when"),
        (json!({"name": "x", "agree": "yes"}), "response.agree"),
        (json!({"name": "x", "other": 1}), "response.other"),
    ] {
        let (st, v) = answer(&s, &t, &id(&form), resp.clone()).await;
        assert_eq!(
            (st, v["errors"][0]["path"].as_str()),
            (400, Some(path)),
            "{resp}: {v}"
        );
    }
    let (st, v) = s
        .post(&format!("/api/messages/{}/respond", id(&form)), &t.human, json!({"response": {"name": "Ada", "replicas": "3", "env": "prod", "when": "2026-12-01T10:00", "agree": true}, "feedback": "looks fine"}))
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["review"]["feedback"], "looks fine");
    assert_eq!(
        v["review"]["response"]["replicas"], "3",
        "answers are stored as given"
    );

    let text = ask(
        &s,
        &t,
        json!({"type": "text-input", "payload": {"minLength": 3, "maxLength": 10}}),
    )
    .await;
    assert_eq!(
        answer(&s, &t, &id(&text), json!({"text": "no"})).await.1["message"],
        "response.text: must be at least 3 characters"
    );
    assert_eq!(
        answer(&s, &t, &id(&text), json!({"text": "far too long here"}))
            .await
            .0,
        400
    );
    assert_eq!(
        answer(&s, &t, &id(&text), json!({"text": "just right"}))
            .await
            .0,
        201
    );
    let free = ask(
        &s,
        &t,
        json!({"type": "freeform", "payload": {"schema": "anything"}}),
    )
    .await;
    assert_eq!(
        answer(&s, &t, &id(&free), json!({"any": {"thing": [1, 2]}}))
            .await
            .0,
        201
    );

    // Not a review, not found, not mine.
    let plain = s.say(&t, "plain").await;
    let (st, v) = answer(&s, &t, &id(&plain), json!({"x": 1})).await;
    assert_eq!(
        (st, v["message"].as_str()),
        (404, Some("No review on this message"))
    );
    assert_eq!(answer(&s, &t, "nope", json!({"x": 1})).await.0, 404);
    let other = s.member_tenant("other@example.com").await;
    let q = ask(&s, &t, json!({"type": "freeform"})).await;
    let (st, _) = s
        .post(
            &format!("/api/messages/{}/respond", id(&q)),
            &other.human,
            json!({"response": {"x": 1}}),
        )
        .await;
    assert_eq!(st, 404, "a foreign review looks missing");
}

#[tokio::test]
async fn concurrent_answers_exactly_one_wins() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let m = ask(&s, &t, json!({"type": "approval"})).await;
    let token = match &t.human {
        Auth::Bearer(b) => b.clone(),
        _ => unreachable!(),
    };
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (http, url, token) = (
            s.http.clone(),
            s.url(&format!("/api/messages/{}/respond", id(&m))),
            token.clone(),
        );
        let choice = if i % 2 == 0 { "approve" } else { "reject" };
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(&json!({"response": {"selectedOption": choice}}))
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        }));
    }
    let mut wins = 0;
    for task in tasks {
        let (st, v) = task.await.unwrap();
        match st {
            201 => wins += 1,
            403 => assert_eq!(v["code"], "review_already_responded"),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn reviews_expire_at_their_deadline_exactly_once() {
    let (s, clock) = Server::start_manual().await;
    let t = s.tenant().await;
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, None).await;
    let early = ask(&s, &t, json!({"type": "approval", "expiresInSeconds": 60})).await;
    let late = ask(&s, &t, json!({"type": "approval", "expiresInSeconds": 600})).await;
    assert_eq!(s.app.expire_due_reviews().await.unwrap(), 0);
    clock.advance_secs(61);
    // Answering after the deadline is refused even before the job runs, and expires it.
    let (st, v) = answer(&s, &t, &id(&early), json!({"selectedOption": "approve"})).await;
    assert_eq!((st, v["code"].as_str()), (403, Some("review_expired")));
    assert_eq!(
        s.app.expire_due_reviews().await.unwrap(),
        0,
        "already expired lazily"
    );
    let (_, w) = s
        .get(
            &format!(
                "/api/v1/reviews/{}/wait?channel={}&timeout=100",
                id(&early),
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(w["status"], "expired");
    assert_eq!(w["message"]["review"]["status"], "expired");
    clock.advance_secs(600);
    assert_eq!(s.app.expire_due_reviews().await.unwrap(), 1);
    let (st, v) = answer(&s, &t, &id(&late), json!({"selectedOption": "approve"})).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("review_expired")),
        "an expired review stays expired"
    );
    let got = c.drain(Duration::from_millis(300)).await;
    let expired: Vec<&Value> = got
        .iter()
        .filter(|e| e.name == ev::REVIEW_EXPIRED)
        .map(|e| &e.data)
        .collect();
    assert_eq!(expired.len(), 2, "one event per review: {got:?}");
    assert_eq!(expired[0]["messageId"], early["id"]);
    assert_eq!(expired[1]["messageId"], late["id"]);
    assert!(expired[0]["seq"].as_i64().unwrap() < expired[1]["seq"].as_i64().unwrap());
    let (_, pending) = s
        .get(
            &format!("/api/v1/reviews/pending?channel={}", t.channel),
            &t.key,
        )
        .await;
    assert!(pending.as_array().unwrap().is_empty());
    let (_, listed) = s
        .get(
            &format!("/api/messages/reviews?status=expired&channel={}", t.channel),
            &t.human,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_expiry_job_fires_at_the_deadline_on_a_real_clock() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, None).await;
    let start = Instant::now();
    let m = ask(&s, &t, json!({"type": "approval", "expiresInSeconds": 1})).await;
    let e = c
        .next_named(ev::REVIEW_EXPIRED, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(e.data["messageId"], m["id"]);
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "not before the deadline: {took:?}"
    );
}

#[tokio::test]
async fn wait_answers_within_milliseconds_of_the_click() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let m = ask(&s, &t, json!({"type": "approval"})).await;
    let url = s.url(&format!(
        "/api/v1/reviews/{}/wait?channel={}&timeout=10000",
        id(&m),
        t.channel
    ));
    let (http, key) = (s.http.clone(), t.raw_key.clone());
    let waiter = tokio::spawn(async move {
        http.get(url)
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    eventually("the wait is parked, not polling", || {
        s.app.parked_waits() == 1
    })
    .await;
    let clicked = Instant::now();
    assert_eq!(
        answer(&s, &t, &id(&m), json!({"selectedOption": "approve"}))
            .await
            .0,
        201
    );
    let v = waiter.await.unwrap();
    let lag = clicked.elapsed();
    assert_eq!(v["status"], "completed");
    assert_eq!(
        v["message"]["review"]["response"]["selectedOption"],
        "approve"
    );
    assert!(
        lag < Duration::from_secs(2),
        "woken by the answer, not a poll: {lag:?}"
    );
    assert_eq!(s.app.parked_waits(), 0);

    // Already answered → immediately; timeout → {status: timeout} without message.
    let (_, v) = s
        .get(
            &format!("/api/v1/reviews/{}/wait?channel={}", id(&m), t.channel),
            &t.key,
        )
        .await;
    assert_eq!(v["status"], "completed");
    let m2 = ask(&s, &t, json!({"type": "approval"})).await;
    let started = Instant::now();
    let (st, v) = s
        .get(
            &format!(
                "/api/v1/reviews/{}/wait?channel={}&timeout=200",
                id(&m2),
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!((st.as_u16(), v), (200, json!({"status": "timeout"})));
    assert!(started.elapsed() >= Duration::from_millis(200));
    // As in Placet, a timeout that is not a positive number means the default: the wait
    // stays parked rather than failing (see tests/it/placet.rs).
    let plain = s.say(&t, "no review").await;
    let (st, v) = s
        .get(
            &format!("/api/v1/reviews/{}/wait?channel={}", id(&plain), t.channel),
            &t.key,
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (404, Some("No review on this message"))
    );
    let other = s.member_tenant("o@example.com").await;
    let (st, _) = s
        .get(
            &format!("/api/v1/reviews/{}/wait?channel={}", id(&m2), t.channel),
            &other.key,
        )
        .await;
    assert_eq!(st, 403);
    // A client that goes away releases its wait.
    let url = s.url(&format!(
        "/api/v1/reviews/{}/wait?channel={}&timeout=20000",
        id(&m2),
        t.channel
    ));
    let (http, key) = (s.http.clone(), t.raw_key.clone());
    let gone = tokio::spawn(async move { http.get(url).header("x-api-key", key).send().await });
    eventually("the second wait is parked", || s.app.parked_waits() == 1).await;
    gone.abort();
    eventually("the wait is released when its client disconnects", || {
        s.app.parked_waits() == 0
    })
    .await;
}

#[tokio::test]
async fn password_answers_reach_only_the_agent() {
    let s = Server::start().await;
    let t = s.tenant().await;
    s.call(
        Method::PATCH,
        &format!("/api/v1/agents/{}", t.channel),
        &t.key,
        Some(json!({"webhookAuth": {"username": "u", "password": "agent-webhook-secret"}})),
    )
    .await;
    let mut agent = s.sio_agent(&t.raw_key).await;
    let mut dash = s.sio_dashboard(&t.human).await;
    subscribe(&agent, &t.channel, None).await;
    subscribe(&dash, &t.channel, None).await;
    let m = ask(&s, &t, json!({"type": "form", "payload": {"fields": [{"name": "user", "type": "text", "label": "U"}, {"name": "pw", "type": "password", "label": "P", "required": true}]}})).await;
    let (st, v) = answer(&s, &t, &id(&m), json!({"user": "ada", "pw": "hunter22"})).await;
    assert_eq!(st, 201);
    assert_eq!(
        v["review"]["response"],
        json!({"user": "ada", "pw": "***REDACTED***"}),
        "the human's own reply is redacted"
    );
    let raw = |v: &Value| v["review"]["response"]["pw"].clone();
    let e = agent.next_named(ev::REVIEW_RESPONDED, T).await.unwrap();
    assert_eq!(raw(&e.data), "hunter22");
    assert!(e.data["seq"].as_i64().unwrap() > m["seq"].as_i64().unwrap());
    assert!(
        !e.data.to_string().contains("agent-webhook-secret"),
        "no agent secrets in events"
    );
    let e = dash.next_named(ev::REVIEW_RESPONDED, T).await.unwrap();
    assert_eq!(raw(&e.data), "***REDACTED***");
    assert!(
        dash.drain(Duration::from_millis(200))
            .await
            .iter()
            .all(|e| e.name != ev::REVIEW_RESPONDED),
        "once per dashboard"
    );
    let ch = &t.channel;
    let mid = id(&m);
    assert_eq!(
        raw(&s
            .get(&format!("/api/v1/messages/{mid}?channel={ch}"), &t.key)
            .await
            .1),
        "hunter22"
    );
    assert_eq!(
        raw(&s
            .get(&format!("/api/v1/reviews/{mid}?channel={ch}"), &t.key)
            .await
            .1),
        "hunter22"
    );
    assert_eq!(
        raw(&s
            .get(&format!("/api/v1/reviews/{mid}/wait?channel={ch}"), &t.key)
            .await
            .1["message"]),
        "hunter22"
    );
    assert_eq!(
        raw(&s
            .get(&format!("/api/v1/messages?channel={ch}"), &t.key)
            .await
            .1["data"][0]),
        "***REDACTED***"
    );
    assert_eq!(
        raw(&s.get(&format!("/api/messages/{mid}"), &t.human).await.1),
        "***REDACTED***"
    );
    assert_eq!(
        raw(&s
            .get(&format!("/api/messages?channel={ch}"), &t.human)
            .await
            .1["data"][0]),
        "***REDACTED***"
    );
    assert_eq!(
        raw(&s
            .get("/api/messages/reviews?status=completed", &t.human)
            .await
            .1[0]),
        "***REDACTED***"
    );
    // A resuming agent gets the value from the log too; a resuming dashboard does not.
    let mut again = s.sio_agent(&t.raw_key).await;
    subscribe(&again, ch, Some(m["seq"].as_i64().unwrap())).await;
    assert_eq!(
        raw(&again
            .next_named(ev::REVIEW_RESPONDED, T)
            .await
            .unwrap()
            .data),
        "hunter22"
    );
    let mut d2 = s.sio_dashboard(&t.human).await;
    subscribe(&d2, ch, Some(m["seq"].as_i64().unwrap())).await;
    assert_eq!(
        raw(&d2.next_named(ev::REVIEW_RESPONDED, T).await.unwrap().data),
        "***REDACTED***"
    );
}

#[tokio::test]
async fn iteration_chains_follow_answered_reviews() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let root = ask(&s, &t, json!({"type": "approval"})).await;
    let (st, v) = s.post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "v2", "iterationOf": id(&root), "review": {"type": "approval"}})).await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (
            400,
            Some("iterationOf target must have a completed, expired or changes_requested review")
        )
    );
    let (st, v) = s.post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "v2", "iterationOf": "cnothere", "review": {"type": "approval"}})).await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (
            400,
            Some("iterationOf target does not exist in this channel")
        )
    );
    answer(&s, &t, &id(&root), json!({"selectedOption": "reject"})).await;
    let (st, v2) = s.post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "v2", "iterationOf": id(&root), "review": {"type": "approval"}})).await;
    assert_eq!(st, 201, "{v2}");
    assert_eq!(
        (v2["iteration"].as_i64(), v2["iterationGroupId"].as_str()),
        (Some(2), root["id"].as_str())
    );
    answer(&s, &t, &id(&v2), json!({"selectedOption": "reject"})).await;
    let (_, v3) = s.post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "v3", "iterationOf": id(&v2), "review": {"type": "approval"}})).await;
    assert_eq!(v3["iteration"], 3);
    let (st, chain) = s
        .get(
            &format!(
                "/api/v1/messages/iterations/{}?channel={}",
                id(&v3),
                t.channel
            ),
            &t.key,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(chain["groupId"], root["id"]);
    assert_eq!(
        chain["iterations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["iteration"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let (_, human) = s
        .get(&format!("/api/messages/{}/iterations", id(&root)), &t.human)
        .await;
    assert_eq!(human["iterations"].as_array().unwrap().len(), 3);
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/messages/{}?channel={}", id(&v2), t.channel),
            &t.key,
            None,
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("iteration_chain_member"))
    );
}

#[tokio::test]
async fn review_events_resume_and_client_id_holds_for_reviews() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let body = json!({"channelId": t.channel, "text": "deploy?", "clientId": "r-1", "review": {"type": "approval"}});
    let (st, a) = s.post("/api/v1/messages", &t.key, body.clone()).await;
    assert_eq!(st, 201);
    let (st, b) = s.post("/api/v1/messages", &t.key, body).await;
    assert_eq!((st.as_u16(), &b["id"]), (200, &a["id"]));
    let seen = a["seq"].as_i64().unwrap();
    answer(&s, &t, &id(&a), json!({"selectedOption": "approve"})).await;
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, Some(seen)).await;
    let e = c.next_event(T).await.unwrap();
    assert_eq!(e.name, ev::REVIEW_RESPONDED);
    assert_eq!(e.data["review"]["response"]["selectedOption"], "approve");
    assert!(matches!(
        c.next_event(Duration::from_millis(200)).await,
        Err(SioError::Timeout)
    ));
}

#[tokio::test]
async fn review_listings_are_paged_newest_first_with_a_cursor_header() {
    review_paging(Server::start().await).await;
}

#[tokio::test]
async fn review_listings_are_paged_on_postgres_too() {
    let Some(s) = Server::start_on_postgres().await else {
        return;
    };
    review_paging(s).await;
}

async fn review_paging(s: Server) {
    let t = s.tenant().await;
    let approval =
        json!({"type": "approval", "payload": {"options": [{"id": "approve", "label": "OK"}]}});
    let mut asked = Vec::new();
    for _ in 0..5 {
        asked.push(id(&ask(&s, &t, approval.clone()).await));
    }
    // A completed one, which the pending listing leaves out.
    let done = id(&ask(&s, &t, approval.clone()).await);
    let (st, v) = answer(&s, &t, &done, json!({"selectedOption": "approve"})).await;
    assert_eq!(st, 201, "{v}");
    asked.reverse();

    // Follows X-Next-Cursor from `first` until it is absent.
    let walk = |first: String, auth: Auth| {
        let s = &s;
        async move {
            let (mut url, mut seen, mut pages) = (first.clone(), Vec::new(), 0);
            loop {
                let mut req = s.http.get(s.url(&url));
                req = match &auth {
                    Auth::Key(k) => req.header("x-api-key", k),
                    Auth::Bearer(b) => req.bearer_auth(b),
                    _ => req,
                };
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 200);
                let next = r
                    .headers()
                    .get("x-next-cursor")
                    .map(|v| v.to_str().unwrap().to_owned());
                let page: Vec<Value> = r.json().await.unwrap();
                assert!(page.len() <= 2);
                seen.extend(page.iter().map(id));
                pages += 1;
                match next {
                    Some(c) => url = format!("{first}&cursor={c}"),
                    None => return (seen, pages),
                }
            }
        }
    };
    let (seen, pages) = walk(
        format!("/api/v1/reviews/pending?channel={}&limit=2", t.channel),
        t.key.clone(),
    )
    .await;
    assert_eq!(seen, asked, "every pending review once, newest first");
    assert_eq!(pages, 3);
    let (seen, _) = walk(
        format!(
            "/api/messages/reviews?status=all&channel={}&limit=2",
            t.channel
        ),
        t.human.clone(),
    )
    .await;
    let mut all = vec![done.clone()];
    all.extend(asked.iter().cloned());
    assert_eq!(seen, all);
    // Without paging parameters the listing is the same bare array as before.
    let (st, v) = s
        .get(
            &format!("/api/v1/reviews/pending?channel={}", t.channel),
            &t.key,
        )
        .await;
    assert_eq!((st.as_u16(), v.as_array().map(Vec::len)), (200, Some(5)));
    for bad in ["limit=0", "limit=x", "cursor=not%20an%20id"] {
        let (st, v) = s
            .get(&format!("/api/messages/reviews?{bad}"), &t.human)
            .await;
        assert_eq!(
            (st.as_u16(), v["code"].as_str()),
            (400, Some("validation_failed")),
            "{bad}: {v}"
        );
    }
    // Another user's message id as a cursor reveals nothing: an empty page.
    let other = s.member_tenant("pager@example.com").await;
    let (st, v) = s
        .get(
            &format!("/api/messages/reviews?cursor={}", asked[0]),
            &other.human,
        )
        .await;
    assert_eq!((st.as_u16(), v.as_array().map(Vec::len)), (200, Some(0)));
    s.stop().await;
}

/// "Request changes": any review, feedback required, no answer; the agent's wait, its
/// socket and listings see `changes_requested`, and a follow-up iteration is accepted.
#[tokio::test]
async fn a_human_can_request_changes_instead_of_answering() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let root = ask(
        &s,
        &t,
        json!({"type": "text-input", "payload": {"minLength": 3}}),
    )
    .await;
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, None).await;
    let url = s.url(&format!(
        "/api/v1/reviews/{}/wait?channel={}&timeout=20000",
        id(&root),
        t.channel
    ));
    let (http, key) = (s.http.clone(), t.raw_key.clone());
    let wait = tokio::spawn(async move {
        let r = http.get(url).header("x-api-key", key).send().await.unwrap();
        r.json::<Value>().await.unwrap()
    });
    eventually("the wait is parked", || s.app.parked_waits() == 1).await;
    let respond = format!("/api/messages/{}/respond", id(&root));
    for (body, path) in [
        (json!({"requestChanges": true}), "feedback"),
        (
            json!({"requestChanges": true, "feedback": "   "}),
            "feedback",
        ),
        (
            json!({"requestChanges": true, "feedback": "x", "response": {"text": "abc"}}),
            "response",
        ),
        (
            json!({"requestChanges": "yes", "feedback": "x"}),
            "requestChanges",
        ),
    ] {
        let (st, v) = s.post(&respond, &t.human, body.clone()).await;
        assert_eq!(
            (st.as_u16(), v["errors"][0]["path"].as_str()),
            (400, Some(path)),
            "{body}: {v}"
        );
    }
    let (st, m) = s
        .post(
            &respond,
            &t.human,
            json!({"requestChanges": true, "feedback": "Cite the runbook"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    let r = &m["review"];
    assert_eq!(
        (
            r["status"].as_str(),
            r["feedback"].as_str(),
            r["response"].is_null()
        ),
        (Some("changes_requested"), Some("Cite the runbook"), true)
    );
    let waited = wait.await.unwrap();
    assert_eq!(waited["status"], "changes_requested", "{waited}");
    assert_eq!(waited["message"]["review"]["feedback"], "Cite the runbook");
    let e = c.next_named(ev::REVIEW_RESPONDED, T).await.unwrap();
    assert_eq!(
        e.data["review"]["status"], "changes_requested",
        "{}",
        e.data
    );
    let (st, v) = s
        .post(&respond, &t.human, json!({"response": {"text": "late"}}))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (403, Some("review_already_responded"))
    );
    let (_, listed) = s
        .get("/api/messages/reviews?status=changes_requested", &t.human)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let (_, pending) = s
        .get(
            &format!("/api/v1/reviews/pending?channel={}", t.channel),
            &t.key,
        )
        .await;
    assert!(pending.as_array().unwrap().is_empty(), "{pending}");
    let (st, v2) = s.post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "v2", "iterationOf": id(&root), "review": {"type": "text-input"}})).await;
    assert_eq!(
        (st.as_u16(), v2["iteration"].as_i64()),
        (201, Some(2)),
        "{v2}"
    );
}
