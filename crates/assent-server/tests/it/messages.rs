use crate::common::*;
use assent_proto::events as ev;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn agent_posts_are_placet_shaped_and_idempotent_on_client_id() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let (st, m) = s
        .post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "**Deploy?**", "status": "warning", "metadata": {"k": 1}, "clientId": "c-1"}))
        .await;
    assert_eq!(st, 201, "{m}");
    for field in [
        "id",
        "channelId",
        "senderType",
        "senderId",
        "text",
        "status",
        "review",
        "metadata",
        "createdAt",
        "attachments",
        "deliveryStatus",
        "seq",
        "updatedAt",
    ] {
        assert!(m.get(field).is_some(), "missing {field}: {m}");
    }
    assert_eq!(
        (m["senderType"].as_str(), m["senderId"].as_str()),
        (Some("agent"), Some(t.channel.as_str()))
    );
    assert_eq!(
        (m["deliveryStatus"].as_str(), m["status"].as_str()),
        (Some("sent"), Some("warning"))
    );
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));

    let (st, again) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "retry", "clientId": "c-1"}),
        )
        .await;
    assert_eq!(st, 200, "a replay is not a new message");
    assert_eq!(again["id"], m["id"]);
    assert_eq!(again["text"], "**Deploy?**");
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "no duplicate: {page}"
    );

    // Per-message webhookUrl lands in metadata; reviews are stored (pending) as given.
    let (st, v) = s
        .post("/api/v1/messages", &t.key, json!({"channelId": t.channel, "text": "ok?", "webhookUrl": "https://example.com/h",
            "review": {"type": "approval", "payload": {"options": [{"id": "a", "label": "A"}]}, "status": "completed", "response": {"x": 1}}}))
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["metadata"]["webhookUrl"], "https://example.com/h");
    assert_eq!(v["review"]["status"], "pending");
    assert!(
        v["review"]["response"].is_null(),
        "agents cannot pre-answer: {v}"
    );
}

#[tokio::test]
async fn bad_message_input_gets_clear_400s_413s_and_415s() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let ch = t.channel.clone();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"channelId": ch}), ""),
        (json!({"text": "x"}), "channelId"),
        (json!({"channelId": ch, "text": 42}), "text"),
        (
            json!({"channelId": ch, "text": "x", "status": "loud"}),
            "status",
        ),
        (
            json!({"channelId": ch, "text": "x", "metadata": [1]}),
            "metadata",
        ),
        (
            json!({"channelId": ch, "text": "x", "clientId": ""}),
            "clientId",
        ),
        (
            json!({"channelId": ch, "review": {"payload": {}}}),
            "review.type",
        ),
        (
            json!({"channelId": ch, "text": "x", "streamState": "paused"}),
            "streamState",
        ),
        (
            json!({"channelId": ch, "text": "x", "webhookUrl": "javascript:alert(1)"}),
            "webhookUrl",
        ),
        (
            json!({"channelId": ch, "attachmentIds": "nope"}),
            "attachmentIds",
        ),
    ];
    for (body, path) in cases {
        let (st, v) = s.post("/api/v1/messages", &t.key, body.clone()).await;
        assert_eq!(st, 400, "{body} → {v}");
        assert_eq!(v["errors"][0]["path"], path, "{body} → {v}");
        assert!(v["code"].is_string() && v["message"].is_string());
    }
    let (_, v) = s
        .post("/api/v1/messages", &t.key, json!({"channelId": ch}))
        .await;
    assert_eq!(
        v["message"],
        "Message must contain at least one of: text, review, status, attachmentIds, or textAttachments"
    );

    let raw = |body: &'static str, ct: &'static str| {
        s.http
            .post(s.url("/api/v1/messages"))
            .header("x-api-key", &t.raw_key)
            .header("content-type", ct)
            .body(body)
    };
    let r = raw("{\"channelId\": ", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_json");
    let r = raw("[1,2]", "application/json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = raw("text=hi", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let big = format!(
        "{{\"channelId\":\"{ch}\",\"text\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    let r = s
        .http
        .post(s.url("/api/v1/messages"))
        .header("x-api-key", &t.raw_key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "payload_too_large"
    );
    let (st, v) = s
        .get(&format!("/api/v1/messages?channel={ch}&limit=abc"), &t.key)
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("limit"))
    );
    let (st, v) = s
        .get(&format!("/api/v1/messages?channel={ch}&limit=0"), &t.key)
        .await;
    assert_eq!(st, 400, "{v}");
    let (st, v) = s
        .get(&format!("/api/v1/messages?channel={ch}&after=-3"), &t.key)
        .await;
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.get("/api/v1/nope", &t.key).await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (404, Some("route_not_found"))
    );
    let (st, v) = s
        .call(Method::PUT, "/api/v1/messages", &t.key, Some(json!({})))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn paging_newest_first_with_cursor_and_forward_with_after() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut seqs = Vec::new();
    for i in 0..7 {
        seqs.push(s.say(&t, &format!("m{i}")).await["seq"].as_i64().unwrap());
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free seq: {seqs:?}"
    );
    let ch = &t.channel;
    let (_, p1) = s
        .get(&format!("/api/v1/messages?channel={ch}&limit=3"), &t.key)
        .await;
    let texts = |p: &Value| {
        p["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&p1), ["m6", "m5", "m4"]);
    let c = p1["nextCursor"].as_str().unwrap();
    let (_, p2) = s
        .get(
            &format!("/api/v1/messages?channel={ch}&limit=3&cursor={c}"),
            &t.key,
        )
        .await;
    assert_eq!(texts(&p2), ["m3", "m2", "m1"]);
    let c = p2["nextCursor"].as_str().unwrap();
    let (_, p3) = s
        .get(
            &format!("/api/v1/messages?channel={ch}&limit=3&cursor={c}"),
            &t.key,
        )
        .await;
    assert_eq!(texts(&p3), ["m0"]);
    assert!(p3["nextCursor"].is_null());

    // Forward paging never misses a message.
    let after = seqs[2];
    let (_, f1) = s
        .get(
            &format!("/api/v1/messages?channel={ch}&after={after}&limit=2"),
            &t.key,
        )
        .await;
    assert_eq!(texts(&f1), ["m3", "m4"]);
    let next = f1["nextAfter"].as_i64().unwrap();
    let (_, f2) = s
        .get(
            &format!("/api/v1/messages?channel={ch}&after={next}&limit=10"),
            &t.key,
        )
        .await;
    assert_eq!(texts(&f2), ["m5", "m6"]);
    let next = f2["nextAfter"].as_i64().unwrap();
    let (_, f3) = s
        .get(
            &format!("/api/v1/messages?channel={ch}&after={next}"),
            &t.key,
        )
        .await;
    assert!(f3["data"].as_array().unwrap().is_empty());
    assert_eq!(
        f3["nextAfter"].as_i64(),
        Some(next),
        "an empty page keeps the position"
    );

    let (_, found) = s
        .get(&format!("/api/v1/messages?channel={ch}&search=M5"), &t.key)
        .await;
    assert_eq!(texts(&found), ["m5"]);
    let (_, none) = s
        .get(&format!("/api/v1/messages?channel={ch}&search=%25"), &t.key)
        .await;
    assert!(
        none["data"].as_array().unwrap().is_empty(),
        "LIKE wildcards are escaped"
    );
}

#[tokio::test]
async fn read_delete_and_ack_a_message() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let m = s.say(&t, "hello").await;
    let (id, ch) = (m["id"].as_str().unwrap(), &t.channel);
    let (st, v) = s
        .get(&format!("/api/v1/messages/{id}?channel={ch}"), &t.key)
        .await;
    assert_eq!((st.as_u16(), v["text"].as_str()), (200, Some("hello")));
    let (st, v) = s
        .post(
            &format!("/api/v1/messages/{id}/ack?channel={ch}"),
            &t.key,
            json!({}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["acknowledged"].as_bool()),
        (200, Some(true))
    );
    let (_, v) = s
        .get(&format!("/api/v1/messages/{id}?channel={ch}"), &t.key)
        .await;
    assert_eq!(v["deliveryStatus"], "agent_received");
    let (st, v) = s
        .post(&format!("/api/v1/messages/{id}/ack"), &t.key, json!({}))
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("channel"))
    );
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/messages/{id}?channel={ch}"),
            &t.key,
            None,
        )
        .await;
    assert_eq!((st.as_u16(), v["deleted"].as_bool()), (200, Some(true)));
    let (st, v) = s
        .get(&format!("/api/v1/messages/{id}?channel={ch}"), &t.key)
        .await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str(), v["code"].as_str()),
        (404, Some("Message not found"), Some("message_not_found"))
    );
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/messages/{id}?channel={ch}"),
            &t.key,
            None,
        )
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn humans_post_idempotently_and_read() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let (st, m) = s
        .post(
            "/api/messages",
            &t.human,
            json!({"channelId": t.channel, "text": "ship it", "clientId": "ui-1"}),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(m["senderType"], "user");
    let me = s.get("/api/auth/me", &t.human).await.1["user"]["id"].clone();
    assert_eq!(m["senderId"], me);
    let (st, again) = s
        .post(
            "/api/messages",
            &t.human,
            json!({"channelId": t.channel, "text": "ship it", "clientId": "ui-1"}),
        )
        .await;
    assert_eq!((st.as_u16(), &again["id"]), (200, &m["id"]));
    // An agent's clientId space is separate from the human's.
    let (st, _) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "agent", "clientId": "ui-1"}),
        )
        .await;
    assert_eq!(st, 201);
    let (st, v) = s
        .post(
            "/api/messages",
            &t.human,
            json!({"channelId": t.channel, "text": "   "}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("text"))
    );
    let (_, page) = s
        .get(&format!("/api/messages?channel={}", t.channel), &t.human)
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let (st, one) = s
        .get(
            &format!("/api/messages/{}", m["id"].as_str().unwrap()),
            &t.human,
        )
        .await;
    assert_eq!((st.as_u16(), one["text"].as_str()), (200, Some("ship it")));
}

#[tokio::test]
async fn user_b_cannot_read_post_delete_or_ack_in_user_a_channel() {
    let s = Server::start().await;
    let a = s.tenant().await;
    let b = s.member_tenant("b@example.com").await;
    let m = s.say(&a, "secret plan").await;
    let (id, ch) = (m["id"].as_str().unwrap().to_owned(), a.channel.clone());
    let checks: Vec<(Method, String, &Auth, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/messages".into(),
            &b.key,
            Some(json!({"channelId": ch, "text": "x"})),
        ),
        (
            Method::GET,
            format!("/api/v1/messages?channel={ch}"),
            &b.key,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/messages/{id}?channel={ch}"),
            &b.key,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/messages/{id}?channel={ch}"),
            &b.key,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/messages/{id}/ack?channel={ch}"),
            &b.key,
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/messages".into(),
            &b.human,
            Some(json!({"channelId": ch, "text": "x"})),
        ),
        (
            Method::GET,
            format!("/api/messages?channel={ch}"),
            &b.human,
            None,
        ),
    ];
    for (m, path, auth, body) in checks {
        let (st, v) = s.call(m.clone(), &path, auth, body).await;
        assert_eq!(
            (st.as_u16(), v["message"].as_str()),
            (403, Some("Not your agent")),
            "{m} {path}: {v}"
        );
    }
    // With B's own channel as the `channel` parameter, A's message id is simply not there.
    let (st, _) = s
        .get(
            &format!("/api/v1/messages/{id}?channel={}", b.channel),
            &b.key,
        )
        .await;
    assert_eq!(st, 404);
    let (st, _) = s.get(&format!("/api/messages/{id}"), &b.human).await;
    assert_eq!(st, 404);
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={ch}"), &a.key)
        .await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "nothing changed in A's channel"
    );
}

#[tokio::test]
async fn metadata_webhook_url_is_validated_like_webhook_url() {
    let s = Server::start().await;
    let t = s.tenant().await;
    for bad in [json!("gopher://x y z"), json!("not a url"), json!(5)] {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": "x", "metadata": {"webhookUrl": bad}}),
            )
            .await;
        assert_eq!(st, 400, "{bad}: {v}");
        assert_eq!(v["errors"][0]["path"], "metadata.webhookUrl", "{v}");
    }
    let (st, v) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "x", "metadata": {"webhookUrl": "https://example.com/hook"}}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
}

/// `{"a": {"a": … "bottom" …}}`, `levels` objects deep.
fn nested(levels: usize) -> Value {
    let mut v = json!("bottom");
    for _ in 0..levels {
        v = json!({ "a": v });
    }
    v
}

fn depth_of(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => deepest = deepest.max(d),
        }
    }
    deepest
}

/// The deepest body the API accepts is stored and replayed intact: a resume from before it
/// works on Socket.IO (agent and dashboard) and on the thread stream.
async fn resume_over_the_deepest_accepted_payload(s: Server) {
    let t = s.tenant().await;
    let max = assent_core::validate::MAX_JSON_DEPTH;
    let body = |levels| json!({"channelId": t.channel, "text": "deep", "metadata": nested(levels)});
    for too_deep in [max, 127, 128, 500] {
        let (st, v) = s.post("/api/v1/messages", &t.key, body(too_deep)).await;
        assert_eq!(
            (st.as_u16(), v["code"].as_str()),
            (400, Some("invalid_json")),
            "a body {} levels deep: {v}",
            too_deep + 1
        );
    }
    // The body itself is one level: its metadata may use the rest.
    let (st, v) = s.post("/api/v1/messages", &t.key, body(max - 1)).await;
    assert_eq!(st, 201, "{v}");
    s.say(&t, "after-deep").await;

    let agent = s.sio_agent(&t.raw_key).await;
    let dash = s.sio_dashboard(&t.human).await;
    for (name, mut c) in [("agent", agent), ("dashboard", dash)] {
        let ack = subscribe(&c, &t.channel, Some(0)).await;
        assert_eq!(ack["ok"], true, "{name}: {ack}");
        let mut deep_seen = false;
        loop {
            let e = c
                .next_named(ev::MESSAGE_CREATED, T)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if e.data["text"] == "deep" {
                assert_eq!(depth_of(&e.data["metadata"]), max - 1, "{name}");
                deep_seen = true;
            }
            if e.data["text"] == "after-deep" {
                break;
            }
        }
        assert!(deep_seen, "{name} replayed the deep message");
    }
    let ticket = s.ticket(&t.human).await;
    let mut r = s
        .raw(
            &format!("/ws/threads/{}?ticket={ticket}&since=0", t.channel),
            None,
        )
        .await;
    let mut deep_seen = false;
    loop {
        let f = r.frame().await;
        let text = f.to_string();
        if text.contains("\"bottom\"") {
            deep_seen = true;
        }
        if text.contains("after-deep") {
            break;
        }
    }
    assert!(deep_seen, "the thread stream replayed the deep message");
    s.stop().await;
}

#[tokio::test]
async fn resume_over_the_deepest_accepted_payload_on_sqlite() {
    resume_over_the_deepest_accepted_payload(Server::start().await).await;
}

#[tokio::test]
async fn resume_over_the_deepest_accepted_payload_on_postgres() {
    let Some(s) = Server::start_on_postgres().await else {
        return;
    };
    resume_over_the_deepest_accepted_payload(s).await;
}
