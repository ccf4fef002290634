use crate::common::*;
use assent_proto::events as ev;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn types(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["event_type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

async fn thread(s: &Server, t: &Tenant, since: Option<i64>) -> Raw {
    let ticket = s.ticket(&t.human).await;
    let q = since.map(|n| format!("&since={n}")).unwrap_or_default();
    let mut r = s
        .raw(
            &format!("/ws/threads/{}?ticket={ticket}{q}", t.channel),
            None,
        )
        .await;
    let ready = r.until("ready").await;
    assert_eq!(ready.last().unwrap()["thread_id"], t.channel.as_str());
    r
}

#[tokio::test]
async fn every_frame_type_comes_from_the_action_that_causes_it() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut r = thread(&s, &t, None).await;
    let ch = t.channel.clone();

    // A streamed reply: typing_started, text_delta…, stream_end + message_completed.
    let (st, draft) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": ch, "streamId": "turn-1", "streamState": "streaming", "text": ""}),
        )
        .await;
    assert_eq!(st, 201, "{draft}");
    let (st, again) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": ch, "streamId": "turn-1", "streamState": "streaming"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), &again["id"]),
        (200, &draft["id"]),
        "one draft per streamId"
    );
    for d in ["Hel", "lo ", "world"] {
        let (st, v) = s
            .post(
                "/api/v1/messages/streams/turn-1/delta",
                &t.key,
                json!({"channelId": ch, "delta": d}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let (st, step) = s
        .post(
            "/api/v1/messages/streams/turn-1/status",
            &t.key,
            json!({"channelId": ch, "text": "Searching", "toolHint": true}),
        )
        .await;
    assert_eq!((st.as_u16(), step["index"].as_i64()), (201, Some(0)));
    let (st, done) = s
        .call(
            Method::PATCH,
            "/api/v1/messages/streams/turn-1",
            &t.key,
            Some(json!({"channelId": ch, "complete": true})),
        )
        .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(
        (done["text"].as_str(), done["streamState"].as_str()),
        (Some("Hello world"), Some("complete")),
        "deltas only → exact text"
    );

    // Tool calls, an approval answered by a human, a human message, the lifecycle.
    for body in [
        json!({"event_type": "conversation_started", "workflow_id": "wf-1"}),
        json!({"event_type": "tool_call_started", "workflow_id": "wf-1", "tool_call_id": "call_1", "tool_name": "lookup_account", "preview": {"email": "a@b.co"}}),
        json!({"event_type": "tool_call_completed", "workflow_id": "wf-1", "tool_call_id": "call_1", "tool_name": "lookup_account"}),
        json!({"event_type": "escalation_created", "target": "billing-team"}),
    ] {
        let (st, v) = s
            .post(&format!("/api/v1/threads/{ch}/events"), &t.key, body)
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let q = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": ch, "text": "Refund?", "review": {"type": "approval"}}),
        )
        .await
        .1;
    s.post(
        &format!("/api/messages/{}/respond", q["id"].as_str().unwrap()),
        &t.human,
        json!({"response": {"selectedOption": "approve"}}),
    )
    .await;
    s.post(
        "/api/messages",
        &t.human,
        json!({"channelId": ch, "text": "thanks"}),
    )
    .await;
    let plain = s.say(&t, "All done.").await;
    s.call(
        Method::DELETE,
        &format!(
            "/api/v1/messages/{}?channel={ch}",
            plain["id"].as_str().unwrap()
        ),
        &t.key,
        None,
    )
    .await;
    s.post(
        &format!("/api/v1/threads/{ch}/events"),
        &t.key,
        json!({"event_type": "conversation_completed", "workflow_id": "wf-1"}),
    )
    .await;
    let expiring = s.post("/api/v1/messages", &t.key, json!({"channelId": ch, "text": "quick?", "review": {"type": "approval", "expiresInSeconds": 1}})).await.1;
    s.post(
        &format!("/api/v1/threads/{ch}/events"),
        &t.key,
        json!({"event_type": "conversation_failed", "workflow_id": "wf-2", "error": "boom"}),
    )
    .await;

    let mut frames = Vec::new();
    while frames
        .last()
        .is_none_or(|f: &Value| f["event_type"] != "approval_expired")
    {
        match r.next(Duration::from_secs(5)).await {
            Some(RawEvent::Frame(f)) => frames.push(f),
            other => panic!("stream ended early after {:?}: {other:?}", types(&frames)),
        }
    }
    assert_eq!(
        types(&frames),
        [
            "typing_started",
            "text_delta",
            "text_delta",
            "text_delta",
            "status_step",
            "stream_end",
            "message_completed",
            "conversation_started",
            "tool_call_started",
            "tool_call_completed",
            "escalation_created",
            "approval_pending",
            "review_responded",
            "message_created",
            "message_completed",
            "message_deleted",
            "conversation_completed",
            "approval_pending",
            "conversation_failed",
            "approval_expired",
        ]
    );
    let by = |ty: &str| {
        frames
            .iter()
            .find(|f| f["event_type"] == ty)
            .unwrap()
            .clone()
    };
    assert_eq!(by("text_delta")["content"], "Hel");
    assert_eq!(by("message_completed")["content"], "Hello world");
    assert_eq!(
        by("tool_call_started")["preview"],
        json!({"email": "a@b.co"})
    );
    assert_eq!(
        by("review_responded")["response"],
        json!({"selectedOption": "approve"})
    );
    assert_eq!(by("approval_pending")["review_type"], "approval");
    assert_eq!(frames.last().unwrap()["message_id"], expiring["id"]);
    // Every persisted frame has a seq; deltas have none; seqs never go down.
    let seqs: Vec<i64> = frames
        .iter()
        .filter(|f| f["event_type"] != "text_delta")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] >= w[0]), "{seqs:?}");
    assert!(
        frames
            .iter()
            .filter(|f| f["event_type"] == "text_delta")
            .all(|f| f.get("seq").is_none())
    );
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={ch}&limit=100"), &t.key)
        .await;
    let streamed = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["streamId"] == "turn-1")
        .unwrap()
        .clone();
    assert_eq!(
        streamed["statusEvents"][0]["text"], "Searching",
        "listings carry status steps: {streamed}"
    );
    // Liveness.
    r.send(json!({"type": "ping"})).await;
    assert_eq!(r.frame().await, json!({"event_type": "pong"}));
}

#[tokio::test]
async fn bad_reported_events_and_stream_misuse_get_400s() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let ch = &t.channel;
    let (st, v) = s
        .post(
            &format!("/api/v1/threads/{ch}/events"),
            &t.key,
            json!({"event_type": "tool_call_started", "tool_name": "x"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("tool_call_id"))
    );
    let (st, v) = s
        .post(
            &format!("/api/v1/threads/{ch}/events"),
            &t.key,
            json!({"event_type": "teleport"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("event_type"))
    );
    let (st, v) = s
        .call(
            Method::PATCH,
            "/api/v1/messages/streams/nope",
            &t.key,
            Some(json!({"channelId": ch, "text": "x"})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (
            404,
            Some("No streaming draft for this (channelId, streamId)")
        )
    );
    let (st, _) = s
        .post(
            "/api/v1/messages/streams/nope/delta",
            &t.key,
            json!({"channelId": ch, "delta": "x"}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, v) = s
        .call(
            Method::PATCH,
            "/api/v1/messages/streams/x",
            &t.key,
            Some(json!({"channelId": ch, "streamState": "paused"})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("streamState"))
    );
    // Finished streams stay finished; re-POST with aborted aborts a live one.
    s.post(
        "/api/v1/messages",
        &t.key,
        json!({"channelId": ch, "streamId": "s2", "streamState": "streaming", "text": "par"}),
    )
    .await;
    let (st, v) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": ch, "streamId": "s2", "streamState": "aborted", "text": "partial"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["streamState"].as_str(), v["text"].as_str()),
        (200, Some("aborted"), Some("partial"))
    );
    let (st, v) = s
        .post(
            "/api/v1/messages/streams/s2/delta",
            &t.key,
            json!({"channelId": ch, "delta": "more"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("stream_finished"))
    );
    // Another user's key can do none of it.
    let b = s.member_tenant("b@example.com").await;
    let (st, _) = s
        .post(
            &format!("/api/v1/threads/{ch}/events"),
            &b.key,
            json!({"event_type": "conversation_started", "workflow_id": "w"}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .post(
            "/api/v1/messages/streams/s2/status",
            &b.key,
            json!({"channelId": ch, "text": "x"}),
        )
        .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn socketio_deltas_only_into_owned_channels_and_draft_text_is_exact() {
    let s = Server::start().await;
    let a = s.tenant().await;
    let b = s.member_tenant("b@example.com").await;
    let (_, draft) = s
        .post(
            "/api/v1/messages",
            &a.key,
            json!({"channelId": a.channel, "streamId": "t1", "streamState": "streaming"}),
        )
        .await;
    let mut watcher = s.sio_dashboard(&a.human).await;
    subscribe(&watcher, &a.channel, None).await;
    let agent = s.sio_agent(&a.raw_key).await;
    let words = ["The ", "quick ", "brown ", "fox"];
    for w in words {
        let ack = agent.emit_with_ack(ev::MESSAGE_DELTA, json!({"channelId": a.channel, "delta": w, "streamBaseId": "t1", "streamId": "t1:0"}), T).await.unwrap();
        assert_eq!(ack["ok"], true, "{ack}");
    }
    let mut got = Vec::new();
    while got.len() < words.len() {
        let e = watcher.next_named(ev::MESSAGE_DELTA, T).await.unwrap();
        assert_eq!(e.data["streamBaseId"], "t1");
        got.push(e.data["delta"].as_str().unwrap().to_owned());
    }
    assert_eq!(got, words);
    // A foreign agent cannot inject text: refused and nothing relayed.
    let intruder = s.sio_agent(&b.raw_key).await;
    let ack = intruder
        .emit_with_ack(
            "message:delta",
            json!({"channelId": a.channel, "delta": "PWNED", "streamBaseId": "t1"}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        (ack["ok"].as_bool(), ack["error"]["code"].as_str()),
        (Some(false), Some("not_your_agent"))
    );
    intruder
        .emit(
            "message:delta",
            json!({"channelId": a.channel, "delta": "PWNED", "streamBaseId": "t1"}),
        )
        .unwrap();
    let ack = intruder
        .emit_with_ack(
            "message:progress",
            json!({"channelId": a.channel, "content": "fake"}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], false);
    let ack = intruder
        .emit_with_ack(
            "agent:commands",
            json!({"channelId": a.channel, "commands": []}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], false);
    let ack = agent
        .emit_with_ack(
            "message:progress",
            json!({"channelId": a.channel, "content": "thinking"}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], true);
    let e = watcher.next_named(ev::MESSAGE_PROGRESS, T).await.unwrap();
    assert_eq!(e.data["content"], "thinking");
    // The thread stream carries the relays too (the dashboard's palette updates live).
    let mut raw = thread(&s, &a, None).await;
    let cmds = json!([{"command": "/deploy", "description": "Ship it"}]);
    let ack = agent
        .emit_with_ack(
            "agent:commands",
            json!({"channelId": a.channel, "commands": cmds}),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], true);
    let f = raw.until("agent_commands").await.pop().unwrap();
    assert_eq!((&f["commands"], f.get("seq")), (&cmds, None), "{f}");
    let (_, done) = s
        .call(
            Method::PATCH,
            "/api/v1/messages/streams/t1",
            &a.key,
            Some(json!({"channelId": a.channel, "complete": true})),
        )
        .await;
    assert_eq!(
        done["text"], "The quick brown fox",
        "exactly the owner's deltas, in order"
    );
    assert_eq!(done["id"], draft["id"]);
    let seen = watcher.drain(Duration::from_millis(300)).await;
    assert!(
        seen.iter()
            .all(|e| !e.data.to_string().contains("PWNED") && !e.data.to_string().contains("fake"))
    );
    assert!(
        seen.iter()
            .any(|e| e.name == ev::MESSAGE_UPDATED && e.data["streamState"] == "complete")
    );
}

#[tokio::test]
async fn drafts_are_persisted_coalesced_and_stale_ones_aborted() {
    let (s, clock) = Server::start_manual().await;
    let t = s.tenant().await;
    s.post(
        "/api/v1/messages",
        &t.key,
        json!({"channelId": t.channel, "streamId": "slow", "streamState": "streaming"}),
    )
    .await;
    for i in 0..50 {
        s.post(
            "/api/v1/messages/streams/slow/delta",
            &t.key,
            json!({"channelId": t.channel, "delta": format!("{i} ")}),
        )
        .await;
    }
    let before = s
        .app
        .store()
        .log_bounds(&assent_core::ChannelId::parse(&t.channel).unwrap())
        .await
        .unwrap()
        .0;
    assert!(s.app.flush_drafts().await.unwrap() <= 1);
    let after = s
        .app
        .store()
        .log_bounds(&assent_core::ChannelId::parse(&t.channel).unwrap())
        .await
        .unwrap()
        .0;
    assert!(
        after - before <= 1,
        "50 deltas, at most one write: {before} → {after}"
    );
    // A long stream, saved at every flush, is logged only as its text doubles: the log
    // holds about twice the final text, not the text once per flush.
    let chunk = "x".repeat(1_000);
    for _ in 0..100 {
        s.post(
            "/api/v1/messages/streams/slow/delta",
            &t.key,
            json!({"channelId": t.channel, "delta": chunk}),
        )
        .await;
        // (The background flush job may have saved it a moment before.)
        assert!(s.app.flush_drafts().await.unwrap() <= 1);
    }
    let channel = assent_core::ChannelId::parse(&t.channel).unwrap();
    let end = s.app.store().log_bounds(&channel).await.unwrap().0;
    let logged = s
        .app
        .store()
        .events_between(&channel, after, end, 1_000)
        .await
        .unwrap();
    let bytes: usize = logged
        .iter()
        .map(|e| serde_json::to_string(&e.event).unwrap().len())
        .sum();
    assert!(
        logged.len() <= 10,
        "{} logged saves for 100 flushes",
        logged.len()
    );
    assert!(
        bytes < 2 * 100_000 + 20_000,
        "{bytes} bytes logged for 100 KB of text"
    );
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert!(
        page["data"][0]["text"].as_str().unwrap().ends_with(&chunk),
        "the row has the whole text"
    );
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert!(
        page["data"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("0 1 2"),
        "{page}"
    );
    assert_eq!(s.app.abort_stale_drafts().await.unwrap(), 0);
    clock.advance_secs(301);
    assert_eq!(s.app.abort_stale_drafts().await.unwrap(), 1);
    let (_, page) = s
        .get(&format!("/api/v1/messages?channel={}", t.channel), &t.key)
        .await;
    assert_eq!(page["data"][0]["streamState"], "aborted");
}

#[tokio::test]
async fn open_drafts_are_capped_per_channel_and_per_user() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let draft = |channel: &str, id: &str| json!({"channelId": channel, "streamId": id, "streamState": "streaming", "text": "…"});
    for i in 0..8 {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                draft(&t.channel, &format!("d{i}")),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, v) = s
        .post("/api/v1/messages", &t.key, draft(&t.channel, "d8"))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("too_many_open_streams")),
        "{v}"
    );
    // Posting an open draft again is not a new one; plain messages are not affected.
    let (st, v) = s
        .post("/api/v1/messages", &t.key, draft(&t.channel, "d0"))
        .await;
    assert!(st.is_success(), "{v}");
    s.say(&t, "still talking").await;
    // Completing one frees its place.
    let (st, v) = s
        .call(
            Method::PATCH,
            "/api/v1/messages/streams/d0",
            &t.key,
            Some(json!({"channelId": t.channel, "streamState": "complete"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .post("/api/v1/messages", &t.key, draft(&t.channel, "d8"))
        .await;
    assert_eq!(st, 201, "{v}");
    // Across the user's channels: 32 at most.
    let key = t.raw_key.clone();
    for a in 0..3 {
        let channel = s.agent(&key, &format!("bot{a}")).await;
        for i in 0..8 {
            let (st, v) = s
                .post(
                    "/api/v1/messages",
                    &t.key,
                    draft(&channel, &format!("d{i}")),
                )
                .await;
            assert_eq!(st, 201, "{v}");
        }
    }
    let channel = s.agent(&key, "bot-last").await;
    let (st, v) = s
        .post("/api/v1/messages", &t.key, draft(&channel, "x"))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("too_many_open_streams")),
        "{v}"
    );
    // Another user has their own room.
    let other = s.member_tenant("drafts@example.com").await;
    let (st, v) = s
        .post("/api/v1/messages", &other.key, draft(&other.channel, "x"))
        .await;
    assert_eq!(st, 201, "{v}");
}

#[tokio::test]
async fn thread_auth_isolation_tickets_and_resume() {
    let s = Server::start().await;
    let a = s.tenant().await;
    let b = s.member_tenant("b@example.com").await;
    // No credential, a bad ticket, a used ticket, another user's ticket, an unknown thread.
    let mut r = s.raw(&format!("/ws/threads/{}", a.channel), None).await;
    assert_eq!(r.close_code().await, Some(4401));
    let mut r = s
        .raw(&format!("/ws/threads/{}?ticket=wt_forged", a.channel), None)
        .await;
    assert_eq!(r.close_code().await, Some(4401));
    let tb = s.ticket(&b.human).await;
    let mut r = s
        .raw(&format!("/ws/threads/{}?ticket={tb}", a.channel), None)
        .await;
    assert_eq!(
        r.close_code().await,
        Some(4403),
        "B's ticket cannot open A's thread"
    );
    let mut r = s
        .raw(&format!("/ws/threads/{}?ticket={tb}", b.channel), None)
        .await;
    assert_eq!(r.close_code().await, Some(4401), "a used ticket is refused");
    let tb = s.ticket(&b.human).await;
    let mut r = s.raw(&format!("/ws/threads/nope?ticket={tb}"), None).await;
    assert_eq!(
        r.close_code().await,
        Some(4403),
        "unknown looks like foreign"
    );
    let ta = s.ticket(&a.human).await;
    let mut r = s
        .raw(
            &format!("/ws/threads/{}?ticket={ta}&since=abc", a.channel),
            None,
        )
        .await;
    assert_eq!(r.close_code().await, Some(4400));
    // The x-api-key header works for non-browser clients.
    let mut r = s
        .raw(&format!("/ws/threads/{}", a.channel), Some(&a.raw_key))
        .await;
    assert_eq!(r.until("ready").await.last().unwrap()["last_seq"], 0);

    // Resume: frames after `since`, in order, then live.
    let m1 = s.say(&a, "one").await;
    s.say(&a, "two").await;
    s.say(&a, "three").await;
    let mut r = thread(&s, &a, Some(m1["seq"].as_i64().unwrap())).await;
    // `thread` consumed the replay up to ready; check it by reconnecting and reading it.
    drop(r);
    let ta = s.ticket(&a.human).await;
    let mut r2 = s
        .raw(
            &format!("/ws/threads/{}?ticket={ta}&since={}", a.channel, m1["seq"]),
            None,
        )
        .await;
    let replay = r2.until("ready").await;
    assert_eq!(
        replay
            .iter()
            .filter(|f| f["event_type"] == "message_completed")
            .map(|f| f["content"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["two", "three"]
    );
    s.say(&a, "four").await;
    assert_eq!(r2.frame().await["content"], "four");
    r = thread(&s, &a, Some(999)).await;
    let _ = &mut r;
}

#[tokio::test]
async fn a_thread_client_that_cannot_keep_up_is_closed_with_4408() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let ticket = s.ticket(&t.human).await;
    // Connect and never read: the socket buffer fills, then the outbox, then the server
    // closes the connection instead of growing memory.
    let r = s
        .raw(&format!("/ws/threads/{}?ticket={ticket}", t.channel), None)
        .await;
    let big = "x".repeat(60_000);
    let mut closed = false;
    for _ in 0..40 {
        let posts: Vec<_> = (0..100)
            .map(|_| {
                let (http, url, key, ch, text) = (
                    s.http.clone(),
                    s.url("/api/v1/messages"),
                    t.raw_key.clone(),
                    t.channel.clone(),
                    big.clone(),
                );
                tokio::spawn(async move {
                    http.post(url)
                        .header("x-api-key", key)
                        .json(&json!({"channelId": ch, "text": text}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        for p in posts {
            assert_eq!(p.await.unwrap(), 201);
        }
        if s.app
            .metrics()
            .slow_consumers_closed
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the slow reader was never closed");
    drop(r);
}

#[tokio::test]
async fn the_notifications_stream_carries_the_users_cross_channel_events() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let second = s.agent(&t.raw_key, "second").await;
    let ticket = s.ticket(&t.human).await;
    let mut n = s
        .raw(&format!("/ws/notifications?ticket={ticket}"), None)
        .await;
    assert_eq!(n.frame().await["event_type"], "ready");
    s.say(&t, "hello from the first").await;
    let (_, q) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": second, "text": "ok?", "review": {"type": "approval"}}),
        )
        .await;
    s.post(
        "/api/v1/status/ping",
        &t.key,
        json!({"agentId": second, "status": "busy"}),
    )
    .await;
    s.post(
        &format!("/api/messages/{}/respond", q["id"].as_str().unwrap()),
        &t.human,
        json!({"response": {"selectedOption": "approve"}}),
    )
    .await;
    let frames = n.until("review_resolved").await;
    assert_eq!(
        types(&frames),
        [
            "message_created",
            "review_pending",
            "agent_status",
            "review_resolved"
        ]
    );
    assert_eq!(frames[0]["channel_id"], t.channel.as_str());
    assert_eq!(frames[0]["preview"], "hello from the first");
    assert_eq!(frames[1]["channel_id"], second.as_str());
    assert_eq!(frames[3]["status"], "completed");
    // Reading a channel on one device clears its unread count on every dashboard.
    s.post(
        &format!("/api/agents/{}/read", t.channel),
        &t.human,
        json!({}),
    )
    .await;
    let read = n.frame().await;
    assert_eq!(
        (read["event_type"].as_str(), read["unread_count"].as_i64()),
        (Some("unread_changed"), Some(0))
    );
    n.send(json!({"type": "ping"})).await;
    assert_eq!(n.frame().await, json!({"event_type": "pong"}));
    // Nothing of another user's channels; agents (API keys) are not dashboards.
    let b = s.member_tenant("b@example.com").await;
    s.say(&b, "not yours").await;
    assert!(
        n.next(Duration::from_millis(300)).await.is_none(),
        "B's message reached A"
    );
    let mut k = s.raw("/ws/notifications", Some(&t.raw_key)).await;
    assert_eq!(k.close_code().await, Some(4403));
    let mut none = s.raw("/ws/notifications", None).await;
    assert_eq!(none.close_code().await, Some(4401));
}

#[tokio::test]
async fn a_thread_stream_that_stops_reading_is_bounded_in_bytes_and_closed() {
    let s = Server::start().await;
    let t = s.tenant().await;
    // Past the ready frame the client reads nothing while 20 MB are posted.
    let mut r = thread(&s, &t, Some(0)).await;
    let text = "y".repeat(100_000);
    for _ in 0..200 {
        let (st, _) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": text}),
            )
            .await;
        assert_eq!(st, 201);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while s
        .app
        .metrics()
        .slow_consumers_closed
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream was never closed: the server buffers without bound"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(r.close_code().await, Some(4408));
}

#[tokio::test]
async fn stream_end_is_relayed_with_the_last_delta() {
    let s = Server::start().await;
    let t = s.tenant().await;
    s.post(
        "/api/v1/messages",
        &t.key,
        json!({"channelId": t.channel, "streamId": "e1", "streamState": "streaming"}),
    )
    .await;
    let mut watcher = s.sio_dashboard(&t.human).await;
    subscribe(&watcher, &t.channel, None).await;
    let mut th = thread(&s, &t, None).await;
    let agent = s.sio_agent(&t.raw_key).await;
    for (delta, end) in [(json!("Done"), None), (json!(""), Some(true))] {
        let mut payload = json!({"channelId": t.channel, "delta": delta, "streamBaseId": "e1"});
        if let Some(end) = end {
            payload["streamEnd"] = json!(end);
        }
        let ack = agent
            .emit_with_ack(ev::MESSAGE_DELTA, payload, T)
            .await
            .unwrap();
        assert_eq!(ack["ok"], true, "{ack}");
    }
    let first = watcher.next_named(ev::MESSAGE_DELTA, T).await.unwrap();
    assert!(first.data.get("streamEnd").is_none(), "{:?}", first.data);
    let last = watcher.next_named(ev::MESSAGE_DELTA, T).await.unwrap();
    assert_eq!(
        (last.data["streamEnd"].clone(), last.data["delta"].clone()),
        (json!(true), json!(""))
    );
    let frames = th.until("text_delta").await;
    assert!(frames.last().unwrap().get("stream_end").is_none());
    let frames = th.until("text_delta").await;
    assert_eq!(frames.last().unwrap()["stream_end"], true);
    // Over REST too.
    let (st, v) = s
        .post(
            "/api/v1/messages/streams/e1/delta",
            &t.key,
            json!({"channelId": t.channel, "delta": "!", "streamEnd": true}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let e = watcher.next_named(ev::MESSAGE_DELTA, T).await.unwrap();
    assert_eq!(e.data["streamEnd"], true);
}
