//! Limits that protect the server from one client: login throttling, connection timeouts and
//! caps, and who may read `/metrics`.

use crate::common::*;
use assent_server::clock::{Clock, ManualClock, SystemClock};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn try_login(s: &Server, email: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_alike_for_known_and_unknown_accounts() {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let s = Server::start_with(|_| {}, clock.clone()).await;
    for email in [ADMIN_EMAIL, "nobody@example.com"] {
        for i in 0..5 {
            let r = try_login(&s, email, "wrong-password").await;
            assert_eq!(r.status(), 401, "{email}: attempt {i} is a plain refusal");
        }
        let r = try_login(&s, email, "wrong-password").await;
        assert_eq!(r.status(), 429, "{email}: the sixth attempt waits");
        assert_eq!(r.headers()["retry-after"], "1");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], "too_many_attempts", "{v}");
    }
    // While the wait runs even the right password is refused; once it is over it works, and
    // the account starts afresh.
    let r = try_login(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 429);
    clock.advance_secs(1);
    let r = try_login(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 200);
    let r = try_login(&s, ADMIN_EMAIL, "wrong-password").await;
    assert_eq!(
        r.status(),
        401,
        "a successful login resets the account's count"
    );
    // The back-off doubles: after the next failure past the free ones, 2 s.
    let r = try_login(&s, "nobody@example.com", "wrong-password").await;
    assert_eq!(
        r.status(),
        401,
        "the unknown account has waited its first second"
    );
    let r = try_login(&s, "nobody@example.com", "wrong-password").await;
    assert_eq!(
        (r.status().as_u16(), &r.headers()["retry-after"]),
        (429, &"2".parse().unwrap())
    );
    let text = s.app.metrics().render();
    assert!(text.contains("assent_logins_throttled_total 4"), "{text}");
    s.stop().await;
}

const METRICS_TOKEN: &str = "metrics-token-for-tests-0001";

#[tokio::test]
async fn metrics_need_the_token_or_the_separate_listener() {
    // Without a token the main port does not serve /metrics at all.
    let s = Server::start().await;
    let r = s.http.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    s.stop().await;

    let s = Server::start_with(
        |c| c.metrics_token = Some(METRICS_TOKEN.into()),
        Arc::new(SystemClock),
    )
    .await;
    for bad in [
        None,
        Some("Bearer nope"),
        Some("metrics-token-for-tests-0001"),
    ] {
        let mut req = s.http.get(s.url("/metrics"));
        if let Some(h) = bad {
            req = req.header("authorization", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{bad:?}");
    }
    let r = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("assent_events_appended_total")
    );
    s.stop().await;

    // A separate listener, no token: only /metrics, to whoever reaches that address.
    let port = free_port();
    let s = Server::start_with(
        |c| c.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap()),
        Arc::new(SystemClock),
    )
    .await;
    let m = format!("http://127.0.0.1:{port}");
    let r = s.http.get(format!("{m}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("assent_socketio_connected")
    );
    let r = s
        .http
        .get(format!("{m}/api/v1/agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the metrics listener serves nothing else");
    s.stop().await;
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
async fn until_closed(tcp: &mut TcpStream, within: Duration) -> Option<(String, Instant)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((String::from_utf8_lossy(&got).into_owned(), Instant::now()));
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn slow_headers_idle_connections_and_trickled_bodies_are_cut_off() {
    let s = Server::start_with(
        |c| {
            c.header_read_timeout_secs = 1;
            c.body_read_timeout_secs = 1;
        },
        Arc::new(SystemClock),
    )
    .await;
    // Slowloris: one header line every 300 ms never completes the request.
    let mut tcp = TcpStream::connect(addr(&s)).await.unwrap();
    let start = Instant::now();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let writer = {
        let (_, mut w) = tcp.into_split();
        tokio::spawn(async move {
            for i in 0..30 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if w.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return true;
                }
            }
            false
        })
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .unwrap()
            .unwrap(),
        "the server closed the connection while the headers trickled in"
    );
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );

    // An idle keep-alive connection is closed after a served request.
    let mut tcp = TcpStream::connect(addr(&s)).await.unwrap();
    tcp.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let (got, closed) = until_closed(&mut tcp, Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(closed - start < Duration::from_secs(4));

    // A body trickled one byte at a time gets 408 once the body deadline passes.
    let mut tcp = TcpStream::connect(addr(&s)).await.unwrap();
    let start = Instant::now();
    tcp.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
    )
    .await
    .unwrap();
    let (mut r, mut w) = tcp.into_split();
    tokio::spawn(async move {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if w.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), r.read(&mut buf))
        .await
        .expect("an answer before the body is complete")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("request_timeout"), "{head}");
    assert!(start.elapsed() < Duration::from_secs(4));
    s.stop().await;
}

#[tokio::test]
async fn open_connections_per_address_are_capped() {
    let s = Server::start_with(|c| c.max_connections_per_ip = 3, Arc::new(SystemClock)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    // The fourth is accepted by the kernel and closed by the server at once.
    let mut extra = TcpStream::connect(addr(&s)).await.unwrap();
    let _ = extra
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (got, _) = until_closed(&mut extra, Duration::from_secs(3))
        .await
        .expect("closed at accept");
    assert!(got.is_empty(), "served past the cap: {got}");
    // The held ones still work, and closing one frees a place.
    let held0 = &mut held[0];
    held0
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = until_closed(held0, Duration::from_secs(3)).await.unwrap();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let r = s.http.get(s.url("/health")).send().await;
        if matches!(&r, Ok(r) if r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "a freed place is usable again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = s.app.metrics().render();
    assert!(
        !text.contains("assent_connections_refused_total 0"),
        "{text}"
    );
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn one_key_or_session_holds_a_bounded_number_of_sockets() {
    use assent_sdk::sio::{SioError, SocketIoClient};
    let s = Server::start_with(|c| c.max_sockets_per_credential = 3, Arc::new(SystemClock)).await;
    let t = s.tenant().await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(s.sio_agent(&t.raw_key).await);
    }
    let r = SocketIoClient::connect(&s.base, "/ws", json!({"apiKey": t.raw_key})).await;
    assert!(
        matches!(&r, Err(SioError::ConnectError(m)) if m == "too_many_sockets"),
        "{:?}",
        r.err()
    );
    let mut raw = s
        .raw(&format!("/ws/threads/{}", t.channel), Some(&t.raw_key))
        .await;
    assert_eq!(raw.close_code().await, Some(4429), "raw sockets count too");
    // Another credential of the same user has its own count.
    let other = s.key(&t.human).await;
    let _other = s.sio_agent(&other).await;
    // A closed socket frees its place.
    open.pop().unwrap().close();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match SocketIoClient::connect(&s.base, "/ws", json!({"apiKey": t.raw_key})).await {
            Ok(c) => {
                open.push(c);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "no place freed: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn agents_keys_and_sessions_per_user_are_bounded() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let user = s
        .app
        .store()
        .user_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .user;
    // Agents: the tenant has one; fill up to the cap through the use case, then the API refuses.
    for i in 1..assent_server::app::MAX_AGENTS_PER_USER {
        let input = assent_server::app::AgentInput {
            name: Some(format!("a{i}")),
            ..Default::default()
        };
        s.app.create_agent(&user.id, input).await.unwrap();
    }
    let (st, v) = s
        .post("/api/v1/agents", &t.key, json!({"name": "one more"}))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("too_many_agents")),
        "{v}"
    );
    // API keys: likewise.
    let have = s.app.store().list_api_keys(&user.id).await.unwrap().len();
    for _ in have..assent_server::app::MAX_API_KEYS_PER_USER {
        s.app.create_api_key(&user.id, None).await.unwrap();
    }
    let (st, v) = s
        .post("/api/api-keys", &t.human, json!({"label": "x"}))
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (400, Some("too_many_api_keys")),
        "{v}"
    );
    // Sessions: a login past the cap revokes the oldest, and closes its sockets.
    let first = match &t.human {
        Auth::Bearer(b) => b.clone(),
        _ => unreachable!(),
    };
    let mut dash = s.sio_dashboard(&t.human).await;
    for _ in 0..assent_server::app::MAX_SESSIONS_PER_USER {
        s.app
            .login(Some(ADMIN_EMAIL.into()), Some(ADMIN_PASSWORD.into()), None)
            .await
            .unwrap();
    }
    let (st, _) = s.get("/api/auth/me", &Auth::Bearer(first)).await;
    assert_eq!(st, 401, "the oldest session was revoked");
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        while dash.next_event(Duration::from_secs(2)).await.is_ok() {}
    })
    .await;
    assert!(closed.is_ok(), "its socket was closed");
    let (st, _) = s.get("/api/auth/me", &s.owner().await).await;
    assert_eq!(st, 200, "a login always works");
    s.stop().await;
}
