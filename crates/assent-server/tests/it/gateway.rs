use crate::common::*;
use assent_proto::events as ev;
use assent_sdk::sio::{Event, SioError, SocketIoClient};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn created_seqs(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter(|e| e.name == ev::MESSAGE_CREATED)
        .map(|e| e.data["seq"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn bad_or_missing_credentials_get_connect_error_unauthorized() {
    let s = Server::start().await;
    for auth in [
        json!({"apiKey": format!("hp_{}", "0".repeat(48))}),
        json!({}),
        json!({"token": "as_nope"}),
        json!({"token": "wt_nope"}),
        json!({"apiKey": 5}),
    ] {
        match SocketIoClient::connect(&s.base, "/ws", auth.clone()).await {
            Err(SioError::ConnectError(m)) => assert_eq!(m, "unauthorized", "{auth}"),
            Err(e) => panic!("{auth}: unexpected {e}"),
            Ok(_) => panic!("{auth}: connected"),
        }
    }
}

#[tokio::test]
async fn subscribe_and_receive_message_created_with_seq() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut c = s.sio_agent(&t.raw_key).await;
    let ack = subscribe(&c, &t.channel, None).await;
    assert_eq!(
        ack,
        json!({"ok": true, "channelId": t.channel, "lastSeq": 0})
    );
    let m = s.say(&t, "hi there").await;
    let e = c.next_named(ev::MESSAGE_CREATED, T).await.unwrap();
    assert_eq!(e.data["id"], m["id"]);
    assert_eq!(e.data["text"], "hi there");
    assert_eq!(e.data["seq"], m["seq"]);
    assert_eq!(e.data["agentName"], "bot");

    // ping → pong, and the seed's bare-string subscribe without ack works too.
    c.emit("ping", serde_json::Value::Null).unwrap();
    assert_eq!(
        c.next_named("pong", T).await.unwrap().data,
        serde_json::Value::Null
    );
    let mut c2 = s.sio_agent(&t.raw_key).await;
    c2.emit(ev::SUBSCRIBE, json!(t.channel)).unwrap();
    c2.emit("ping", serde_json::Value::Null).unwrap();
    c2.next_named("pong", T).await.unwrap(); // barrier: the subscription is in place
    s.say(&t, "second").await;
    assert_eq!(
        c2.next_named(ev::MESSAGE_CREATED, T).await.unwrap().data["text"],
        "second"
    );

    // Deletion and acknowledgement are events too.
    let id = m["id"].as_str().unwrap();
    s.post(
        &format!("/api/v1/messages/{id}/ack?channel={}", t.channel),
        &t.key,
        json!({}),
    )
    .await;
    let e = c.next_named(ev::MESSAGE_DELIVERY, T).await.unwrap();
    assert_eq!(
        (
            e.data["messageId"].as_str(),
            e.data["deliveryStatus"].as_str()
        ),
        (Some(id), Some("agent_received"))
    );
    s.call(
        Method::DELETE,
        &format!("/api/v1/messages/{id}?channel={}", t.channel),
        &t.key,
        None,
    )
    .await;
    let e = c.next_named(ev::MESSAGE_DELETED, T).await.unwrap();
    assert_eq!(e.data["messageId"], id);
    assert!(e.data["seq"].as_i64().unwrap() > m["seq"].as_i64().unwrap());

    // After unsubscribe, nothing more arrives.
    let ack = c
        .emit_with_ack(ev::UNSUBSCRIBE, json!(t.channel), T)
        .await
        .unwrap();
    assert_eq!(ack["ok"], true);
    s.say(&t, "after").await;
    assert!(
        c.drain(Duration::from_millis(300))
            .await
            .iter()
            .all(|e| e.name != ev::MESSAGE_CREATED)
    );
}

#[tokio::test]
async fn no_event_of_user_a_reaches_user_b() {
    let s = Server::start().await;
    let a = s.tenant().await;
    let b = s.member_tenant("b@example.com").await;
    let mut bk = s.sio_agent(&b.raw_key).await;
    let mut bd = s.sio_dashboard(&b.human).await;
    let ack = subscribe(&bk, &a.channel, None).await;
    assert_eq!(ack["ok"], false);
    assert_eq!(ack["error"]["code"], "not_your_agent");
    let ack = subscribe(&bd, &a.channel, Some(0)).await;
    assert_eq!(ack["ok"], false, "no replay of foreign channels either");
    let ack = subscribe(&bk, "no-such-channel", None).await;
    assert_eq!(
        ack["error"]["code"], "not_your_agent",
        "unknown looks like foreign"
    );
    let ack = subscribe(&bk, &b.channel, None).await;
    assert_eq!(ack["ok"], true);

    let m = s.say(&a, "for A only").await;
    s.post(
        "/api/v1/status/ping",
        &a.key,
        json!({"agentId": a.channel, "status": "busy"}),
    )
    .await;
    s.post(
        &format!(
            "/api/v1/messages/{}/ack?channel={}",
            m["id"].as_str().unwrap(),
            a.channel
        ),
        &a.key,
        json!({}),
    )
    .await;
    s.say(&b, "for B").await;
    let got_k = bk.drain(Duration::from_millis(400)).await;
    let got_d = bd.drain(Duration::from_millis(100)).await;
    for e in got_k.iter().chain(got_d.iter()) {
        assert!(
            !e.data.to_string().contains(&a.channel),
            "leak of A's channel to B: {e:?}"
        );
    }
    assert_eq!(
        got_k
            .iter()
            .filter(|e| e.name == ev::MESSAGE_CREATED)
            .count(),
        1,
        "B sees its own message: {got_k:?}"
    );
}

#[tokio::test]
async fn dashboards_get_owner_events_once_even_when_subscribed() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut d = s.sio_dashboard(&t.human).await;
    let mut plain = s.sio_dashboard(&t.human).await;
    assert_eq!(subscribe(&d, &t.channel, None).await["ok"], true);
    let m = s.say(&t, "once").await;
    s.post(
        "/api/v1/status/ping",
        &t.key,
        json!({"agentId": t.channel, "status": "active"}),
    )
    .await;
    let got = d.drain(Duration::from_millis(400)).await;
    let created: Vec<_> = got
        .iter()
        .filter(|e| e.name == ev::MESSAGE_CREATED)
        .collect();
    assert_eq!(created.len(), 1, "exactly once: {got:?}");
    assert_eq!(created[0].data["id"], m["id"]);
    assert_eq!(got.iter().filter(|e| e.name == ev::AGENT_STATUS).count(), 1);
    // A dashboard that did not subscribe still gets the user-level events (not delivery ticks).
    let got = plain.drain(Duration::from_millis(100)).await;
    assert_eq!(created_seqs(&got).len(), 1, "{got:?}");
    assert!(got.iter().any(|e| e.name == ev::AGENT_STATUS));
    // A session token works as auth.token as well.
    let session = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    SocketIoClient::connect(&s.base, "/ws", json!({"token": session}))
        .await
        .unwrap();
}

#[tokio::test]
async fn resume_with_last_seq_replays_exactly_the_missed_events_in_order() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, None).await;
    let first = s.say(&t, "seen").await;
    let seen = c.next_named(ev::MESSAGE_CREATED, T).await.unwrap().data["seq"]
        .as_i64()
        .unwrap();
    assert_eq!(seen, first["seq"].as_i64().unwrap());
    c.kill();

    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(
            s.say(&t, &format!("missed {i}")).await["seq"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut c = s.sio_agent(&t.raw_key).await;
    let ack = subscribe(&c, &t.channel, Some(seen)).await;
    assert_eq!(ack["lastSeq"].as_i64(), missed.last().copied());
    let got = c.drain(Duration::from_millis(200)).await;
    assert_eq!(created_seqs(&got), missed, "{got:?}");
    assert_eq!(
        got.iter()
            .map(|e| e.data["text"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["missed 0", "missed 1", "missed 2", "missed 3", "missed 4"]
    );
    let live = s.say(&t, "live").await;
    assert_eq!(
        c.next_named(ev::MESSAGE_CREATED, T).await.unwrap().data["seq"],
        live["seq"]
    );
}

#[tokio::test]
async fn resume_under_concurrent_posting_has_no_gap_and_no_duplicate() {
    let s = Server::start().await;
    let t = s.tenant().await;
    const N: usize = 300;
    let poster = {
        let (base, key, ch) = (s.base.clone(), t.raw_key.clone(), t.channel.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..N {
                let r = http
                    .post(format!("{base}/api/v1/messages"))
                    .header("x-api-key", &key)
                    .json(&json!({"channelId": ch, "text": format!("n{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
        })
    };
    let mut received: Vec<i64> = Vec::new();
    let mut last = 0i64;
    // Reconnect five times while messages keep arriving.
    for round in 0..6 {
        let mut c = s.sio_agent(&t.raw_key).await;
        let ack = subscribe(&c, &t.channel, Some(last)).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let window = if round < 5 {
            Duration::from_millis(60)
        } else {
            Duration::from_secs(0)
        };
        let deadline = tokio::time::Instant::now() + window;
        loop {
            if round == 5 && received.len() >= N {
                break;
            }
            let left = if round == 5 {
                T
            } else {
                deadline.saturating_duration_since(tokio::time::Instant::now())
            };
            match c.next_event(left).await {
                Ok(e) if e.name == ev::MESSAGE_CREATED => {
                    let seq = e.data["seq"].as_i64().unwrap();
                    received.push(seq);
                    last = seq;
                }
                Ok(_) => {}
                Err(SioError::Timeout) if round < 5 => break,
                Err(e) => panic!("round {round}: {e} after {} events", received.len()),
            }
        }
        c.kill();
    }
    poster.await.unwrap();
    let expected: Vec<i64> = (1..=N as i64).collect();
    assert_eq!(received, expected, "every message exactly once, in order");
}

#[tokio::test]
async fn a_client_behind_the_retained_log_gets_sync_reset() {
    let s = Server::start_with(
        |c| c.event_retention = 100,
        std::sync::Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let t = s.tenant().await;
    for i in 0..130 {
        s.say(&t, &format!("m{i}")).await;
    }
    assert_eq!(s.app.prune_events().await.unwrap(), 30);
    let mut c = s.sio_agent(&t.raw_key).await;
    let ack = subscribe(&c, &t.channel, Some(5)).await;
    assert_eq!(ack["ok"], true);
    let e = c.next_event(T).await.unwrap();
    assert_eq!(e.name, ev::SYNC_RESET);
    assert_eq!(
        e.data,
        json!({"channelId": t.channel, "oldestSeq": 31, "headSeq": 130})
    );
    assert!(
        c.drain(Duration::from_millis(200))
            .await
            .iter()
            .all(|e| e.name != ev::MESSAGE_CREATED),
        "no partial replay after a reset"
    );

    // Exactly at the edge of the log still resumes.
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, Some(30)).await;
    let got = c.drain(Duration::from_millis(300)).await;
    assert_eq!(created_seqs(&got), (31..=130).collect::<Vec<_>>());
    // A client from the future (e.g. after a restore) is told as well.
    let mut c = s.sio_agent(&t.raw_key).await;
    subscribe(&c, &t.channel, Some(999)).await;
    assert_eq!(c.next_event(T).await.unwrap().name, ev::SYNC_RESET);
}

#[tokio::test]
async fn malformed_subscribe_payloads_are_refused_with_an_ack() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let c = s.sio_agent(&t.raw_key).await;
    for bad in [
        json!({"lastSeq": 3}),
        json!(42),
        json!({"channelId": t.channel, "lastSeq": "x"}),
    ] {
        let ack = c
            .emit_with_ack(ev::SUBSCRIBE, bad.clone(), T)
            .await
            .unwrap();
        assert_eq!(ack["ok"], false, "{bad}");
        assert_eq!(ack["error"]["code"], "validation_failed", "{bad}");
    }
}

/// A bare Engine.IO/Socket.IO v4 client on one WebSocket, to send bursts no real client
/// library would, and to count exactly which acks come back.
async fn raw_sio(s: &Server, raw_key: &str) -> Raw {
    let mut r = s.raw("/socket.io/?EIO=4&transport=websocket", None).await;
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let open = r.ws_text().await.expect("open packet");
    assert!(open.starts_with('0'), "{open}");
    r.ws.send(Message::text(format!(r#"40/ws,{{"apiKey":"{raw_key}"}}"#)))
        .await
        .unwrap();
    loop {
        let t = r.ws_text().await.expect("connect answer");
        if t == "2" {
            r.ws.send(Message::text("3")).await.unwrap();
            continue;
        }
        assert!(t.starts_with("40/ws,"), "{t}");
        return r;
    }
}

#[tokio::test]
async fn a_burst_of_subscribes_gets_every_ack_or_a_closed_socket() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut r = raw_sio(&s, &t.raw_key).await;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    const N: i64 = 10_000;
    for id in 1..=N {
        let frame = format!(
            r#"42/ws,{id}["subscribe:channel",{{"channelId":"{}","lastSeq":0}}]"#,
            t.channel
        );
        r.ws.feed(Message::text(frame)).await.unwrap();
    }
    r.ws.flush().await.unwrap();
    let mut acked = std::collections::BTreeSet::new();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(20), r.ws.next()).await {
            Err(_) => break false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break true,
            Ok(Some(Ok(Message::Text(t)))) => {
                let t = t.as_str();
                if t == "2" {
                    let _ = r.ws.send(Message::text("3")).await;
                } else if t.starts_with("41/ws") || t.starts_with('1') {
                    break true;
                } else if let Some(rest) = t.strip_prefix("43/ws,") {
                    let id: i64 = rest[..rest.find('[').unwrap()].parse().unwrap();
                    assert!(rest.contains(r#""ok":true"#), "{t}");
                    assert!(acked.insert(id), "ack {id} twice");
                    if acked.len() as i64 == N {
                        break false;
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
        }
    };
    assert!(
        closed || acked.len() as i64 == N,
        "{} of {N} acks arrived and the socket is still open: acks were dropped",
        acked.len()
    );
    // Either way the server is fine, and a new socket works.
    let c = s.sio_agent(&t.raw_key).await;
    assert_eq!(subscribe(&c, &t.channel, None).await["ok"], true);
}

#[tokio::test]
async fn a_socket_subscribes_to_at_most_a_thousand_channels() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut channels = vec![t.channel.clone()];
    for i in 0..1_000 {
        channels.push(s.agent(&t.raw_key, &format!("bot-{i}")).await);
    }
    let c = s.sio_agent(&t.raw_key).await;
    for ch in &channels[..1_000] {
        assert_eq!(subscribe(&c, ch, None).await["ok"], true);
    }
    let ack = subscribe(&c, &channels[1_000], None).await;
    assert_eq!(
        (ack["ok"].as_bool(), ack["error"]["code"].as_str()),
        (Some(false), Some("too_many_subscriptions")),
        "{ack}"
    );
    // Re-subscribing to a channel it has is fine; leaving one makes room.
    assert_eq!(subscribe(&c, &channels[0], None).await["ok"], true);
    let ack = c
        .emit_with_ack(ev::UNSUBSCRIBE, json!(channels[0]), T)
        .await
        .unwrap();
    assert_eq!(ack["ok"], true);
    assert_eq!(subscribe(&c, &channels[1_000], None).await["ok"], true);
}

/// Posts `n` messages of 100,000 characters into the tenant's channel.
async fn post_bulk(s: &Server, t: &Tenant, n: usize) {
    let text = "y".repeat(100_000);
    for _ in 0..n {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "text": text}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
}

async fn slow_consumers_closed(s: &Server, at_least: u64, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        let n = s
            .app
            .metrics()
            .slow_consumers_closed
            .load(std::sync::atomic::Ordering::Relaxed);
        if n >= at_least {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Subscribes a bare Socket.IO client to `channel` (ack id 1) and waits for its ack, over
/// the WebSocket; engine pings may come first.
async fn raw_subscribe(r: &mut Raw, channel: &str) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    r.ws.send(Message::text(format!(
        r#"42/ws,1["subscribe:channel","{channel}"]"#
    )))
    .await
    .unwrap();
    loop {
        let t = r
            .ws_text()
            .await
            .expect("the subscribe ack, over the WebSocket");
        if t.starts_with("43/ws,1") {
            assert!(t.contains(r#""ok":true"#), "{t}");
            return;
        }
        assert!(t == "2", "{t}");
    }
}

#[tokio::test]
async fn a_socketio_client_that_stops_reading_is_bounded_in_bytes_and_closed() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut r = raw_sio(&s, &t.raw_key).await;
    raw_subscribe(&mut r, &t.channel).await;
    // The client reads nothing more: 20 MB go out, far more than the 4 MiB bound plus what
    // the kernel's socket buffers take.
    post_bulk(&s, &t, 200).await;
    assert!(
        slow_consumers_closed(&s, 1, Duration::from_secs(20)).await,
        "the socket was never closed: the server buffers without bound"
    );
    drop(r);
    s.stop().await;
}

/// What socket.io-client and python-socketio do by default: an Engine.IO session on HTTP
/// long-polling, the Socket.IO connect over it, then the upgrade to WebSocket.
async fn polling_then_upgraded(s: &Server, raw_key: &str) -> Raw {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let poll = |sid: &str| s.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
    let open = s
        .http
        .get(s.url("/socket.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    let sid = v["sid"].as_str().unwrap().to_owned();
    let r = s
        .http
        .post(poll(&sid))
        .body(format!(r#"40/ws,{{"apiKey":"{raw_key}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let connected = s
        .http
        .get(poll(&sid))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(connected.contains("40/ws,"), "{connected}");
    let mut r = s
        .raw(
            &format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"),
            None,
        )
        .await;
    r.ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(r.ws_text().await.as_deref(), Some("3probe"));
    r.ws.send(Message::text("5")).await.unwrap();
    r
}

#[tokio::test]
async fn an_upgraded_socketio_client_that_stops_reading_is_bounded_in_bytes_too() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut r = polling_then_upgraded(&s, &t.raw_key).await;
    raw_subscribe(&mut r, &t.channel).await;
    post_bulk(&s, &t, 200).await;
    assert!(
        slow_consumers_closed(&s, 1, Duration::from_secs(20)).await,
        "the upgraded socket was never closed: the server buffers without bound"
    );
    drop(r);
    s.stop().await;
}

/// A relay the server refuses is never dropped silently: with an ack the ack says why,
/// without one the socket gets NestJS's `exception` event.
#[tokio::test]
async fn refused_relays_without_an_ack_get_an_exception_event() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let mut c = s.sio_agent(&t.raw_key).await;
    let delta = json!({"channelId": t.channel, "streamBaseId": "nope", "delta": "hi"});
    c.emit(ev::MESSAGE_DELTA, delta.clone()).unwrap();
    let e = c.next_named(ev::EXCEPTION, T).await.unwrap();
    assert_eq!(
        (
            e.data["status"].as_str(),
            e.data["code"].as_str(),
            e.data["event"].as_str()
        ),
        (
            Some("error"),
            Some("stream_not_found"),
            Some(ev::MESSAGE_DELTA)
        ),
        "{}",
        e.data
    );
    c.emit(ev::MESSAGE_PROGRESS, json!("not an object"))
        .unwrap();
    let e = c.next_named(ev::EXCEPTION, T).await.unwrap();
    assert_eq!(e.data["code"], "validation_failed", "{}", e.data);
    // Asked for an ack: the ack carries the refusal, and no exception follows.
    let ack = c.emit_with_ack(ev::MESSAGE_DELTA, delta, T).await.unwrap();
    assert_eq!(ack["error"]["code"], "stream_not_found", "{ack}");
    let later = c.drain(Duration::from_millis(300)).await;
    assert!(later.iter().all(|e| e.name != ev::EXCEPTION), "{later:?}");
}
