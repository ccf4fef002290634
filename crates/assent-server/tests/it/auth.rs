use crate::common::*;
use assent_proto::events as ev;
use assent_sdk::sio::{SioError, SocketIoClient};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn login_me_logout_with_bearer_and_cookie() {
    let s = Server::start().await;
    let (st, v) = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["user"]["email"], ADMIN_EMAIL);
    assert_eq!(v["user"]["role"], "owner");
    assert_eq!(v["user"]["mustChangePassword"], false);
    let token = v["token"].as_str().unwrap().to_owned();

    // The cookie is set HttpOnly.
    let res = s
        .http
        .post(s.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("access_token=as_")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    for auth in [Auth::Bearer(token.clone()), Auth::Cookie(token.clone())] {
        let (st, v) = s.get("/api/auth/me", &auth).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["user"]["email"], ADMIN_EMAIL);
    }
    let (st, _) = s
        .post("/api/auth/logout", &Auth::Bearer(token.clone()), json!({}))
        .await;
    assert_eq!(st, 200);
    let (st, v) = s.get("/api/auth/me", &Auth::Bearer(token)).await;
    assert_eq!(st, 401, "logout must revoke the session server-side: {v}");
    assert_eq!(v["code"], "unauthorized");
}

#[tokio::test]
async fn bad_credentials_and_bad_bodies_get_clear_4xx() {
    let s = Server::start().await;
    let (st, v) = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": ADMIN_EMAIL, "password": "nope-nope"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    assert_eq!(v["message"], "Invalid credentials");
    let (st, v) = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": "ghost@example.com", "password": "whatever1"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (st, v) = s
        .post("/api/auth/login", &Auth::None, json!({"email": 3}))
        .await;
    assert_eq!(st, 400);
    assert_eq!(v["errors"][0]["path"], "email", "{v}");
    let (st, v) = s.post("/api/auth/login", &Auth::None, json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(v["code"], "validation_failed");
    let (st, v) = s.get("/api/auth/me", &Auth::None).await;
    assert_eq!((st.as_u16(), v["statusCode"].as_u64()), (401, Some(401)));
    let (st, _) = s
        .get("/api/auth/me", &Auth::Bearer("as_forged".into()))
        .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn refresh_rotates_and_change_password_revokes_other_sessions() {
    let s = Server::start().await;
    let a = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let b = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let (st, v) = s
        .post("/api/auth/refresh", &Auth::Bearer(a.clone()), json!({}))
        .await;
    assert_eq!(st, 200, "{v}");
    let a2 = v["token"].as_str().unwrap().to_owned();
    assert_ne!(a, a2);
    assert_eq!(
        s.get("/api/auth/me", &Auth::Bearer(a)).await.0,
        401,
        "refreshed-away token must die"
    );
    assert_eq!(
        s.get("/api/auth/me", &Auth::Bearer(a2.clone())).await.0,
        200
    );

    let (st, v) = s
        .post(
            "/api/auth/change-password",
            &Auth::Bearer(a2.clone()),
            json!({"currentPassword": "wrong-one", "newPassword": "brand-new-pass"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (401, Some("wrong_password"))
    );
    let (st, v) = s
        .post(
            "/api/auth/change-password",
            &Auth::Bearer(a2.clone()),
            json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "short"}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(v["errors"][0]["path"], "newPassword");
    let (st, _) = s
        .post(
            "/api/auth/change-password",
            &Auth::Bearer(a2.clone()),
            json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "brand-new-pass"}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        s.get("/api/auth/me", &Auth::Bearer(a2)).await.0,
        200,
        "the session that changed it survives"
    );
    assert_eq!(
        s.get("/api/auth/me", &Auth::Bearer(b)).await.0,
        401,
        "other sessions are revoked"
    );
    s.login(ADMIN_EMAIL, "brand-new-pass").await;
}

#[tokio::test]
async fn tickets_are_single_use_short_lived_and_never_http_credentials() {
    let (s, clock) = Server::start_manual().await;
    let owner = s.owner().await;
    let ticket = |v: serde_json::Value| v["ticket"].as_str().unwrap().to_owned();
    let (st, v) = s.post("/api/auth/ws-ticket", &owner, json!({})).await;
    assert_eq!(st, 200);
    assert!(v["expiresAt"].is_string());
    let t1 = ticket(v);
    assert_eq!(
        s.get("/api/auth/me", &Auth::Bearer(t1.clone())).await.0,
        401,
        "a ticket is not an HTTP credential"
    );

    let c = SocketIoClient::connect(&s.base, "/ws", json!({"token": t1}))
        .await
        .expect("first use works");
    c.close();
    let again = SocketIoClient::connect(&s.base, "/ws", json!({"token": t1})).await;
    assert!(
        matches!(again, Err(SioError::ConnectError(ref m)) if m == "unauthorized"),
        "reuse must fail"
    );

    let (_, v) = s.post("/api/auth/ws-ticket", &owner, json!({})).await;
    let t2 = ticket(v);
    clock.advance_secs(31);
    let late = SocketIoClient::connect(&s.base, "/ws", json!({"token": t2})).await;
    assert!(
        matches!(late, Err(SioError::ConnectError(_))),
        "expired ticket must fail"
    );

    // A ticket minted from a session dies with it.
    let session = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, v) = s
        .post(
            "/api/auth/ws-ticket",
            &Auth::Bearer(session.clone()),
            json!({}),
        )
        .await;
    let t3 = ticket(v);
    s.post("/api/auth/logout", &Auth::Bearer(session), json!({}))
        .await;
    let r = SocketIoClient::connect(&s.base, "/ws", json!({"token": t3})).await;
    assert!(
        matches!(r, Err(SioError::ConnectError(_))),
        "a ticket never outlives the session that minted it"
    );

    // API-key tickets for non-browser clients.
    let key = s.key(&owner).await;
    let (st, v) = s
        .post("/api/v1/ws-ticket", &Auth::Key(key), json!({}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["ticket"].as_str().unwrap().starts_with("wt_"));
}

#[tokio::test]
async fn users_are_owner_managed_and_members_must_change_their_password() {
    let s = Server::start().await;
    let owner = s.owner().await;
    let (st, v) = s
        .post(
            "/api/users",
            &owner,
            json!({"email": "m@example.com", "displayName": "M", "password": "initial-pass-1"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["role"], "member");
    assert_eq!(v["mustChangePassword"], true);
    let member_id = v["id"].as_str().unwrap().to_owned();
    let (st, v) = s
        .post(
            "/api/users",
            &owner,
            json!({"email": "M@example.com", "displayName": "M2", "password": "initial-pass-1"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (409, Some("email_in_use"))
    );
    let (st, v) = s
        .post(
            "/api/users",
            &owner,
            json!({"email": "not-an-email", "displayName": "", "password": "x"}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(v["errors"].as_array().unwrap().len(), 3, "{v}");

    // Until they change the password, members can only reach the password endpoints.
    let m = Auth::Bearer(s.login("m@example.com", "initial-pass-1").await);
    let (st, v) = s.get("/api/api-keys", &m).await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (403, Some("password_change_required"))
    );
    assert_eq!(s.get("/api/auth/me", &m).await.0, 200);
    let (st, _) = s
        .post(
            "/api/auth/change-password",
            &m,
            json!({"currentPassword": "initial-pass-1", "newPassword": "member-pass-2"}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.get("/api/api-keys", &m).await.0, 200);

    // Owner-only management.
    let (st, v) = s.get("/api/users", &m).await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (403, Some("owner_required"))
    );
    let (st, v) = s.get("/api/users", &owner).await;
    assert_eq!(st, 200);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/users/{member_id}"),
            &owner,
            Some(json!({"displayName": "Mia", "role": "owner"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        (v["displayName"].as_str(), v["role"].as_str()),
        (Some("Mia"), Some("owner"))
    );
    let (st, _) = s
        .call(
            Method::PATCH,
            "/api/users/nobody",
            &owner,
            Some(json!({"displayName": "X"})),
        )
        .await;
    assert_eq!(st, 404);
    let me = s.get("/api/auth/me", &owner).await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, v) = s
        .call(Method::DELETE, &format!("/api/users/{me}"), &owner, None)
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (403, Some("cannot_delete_self"))
    );
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/users/{member_id}"),
            &owner,
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        s.get("/api/auth/me", &m).await.0,
        401,
        "a deleted user's sessions die with them"
    );
}

#[tokio::test]
async fn generated_owner_password_is_returned_once_and_must_be_changed() {
    let s = Server::start_with(
        |c| c.admin_password = None,
        std::sync::Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    // The generated password went to stdout; a second bootstrap does nothing.
    assert_eq!(
        s.app
            .bootstrap_owner("other@example.com", Some("whatever-123"))
            .await
            .unwrap(),
        None
    );
    let (st, _) = s
        .post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn api_keys_are_shown_once_hashed_and_rotatable() {
    let s = Server::start().await;
    let owner = s.owner().await;
    let (st, v) = s
        .post("/api/api-keys", &owner, json!({"label": "ci"}))
        .await;
    assert_eq!(st, 201);
    let raw = v["key"].as_str().unwrap().to_owned();
    let id = v["id"].as_str().unwrap().to_owned();
    assert!(
        raw.starts_with("hp_")
            && raw.len() == 51
            && raw[3..].chars().all(|c| c.is_ascii_hexdigit())
    );
    assert_eq!(v["keyPrefix"], &raw[..11]);
    let (_, list) = s.get("/api/api-keys", &owner).await;
    assert!(
        list[0].get("key").is_none(),
        "listings never show the key: {list}"
    );
    assert!(!list.to_string().contains(&raw));

    let k = Auth::Key(raw.clone());
    assert_eq!(s.get("/api/v1/agents", &k).await.0, 200);
    let (st, v) = s.get("/api/v1/agents", &Auth::None).await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (401, Some("Missing or invalid API key"))
    );
    let (st, v) = s
        .get(
            "/api/v1/agents",
            &Auth::Key(format!("hp_{}", "0".repeat(48))),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (401, Some("Invalid API key"))
    );
    // Session tokens are not API keys, and API keys are not sessions.
    assert_eq!(s.get("/api/v1/agents", &owner).await.0, 401);
    assert_eq!(
        s.get("/api/agents", &Auth::Bearer(raw.clone())).await.0,
        401
    );

    let (st, v) = s
        .post(&format!("/api/api-keys/{id}/rotate"), &owner, json!({}))
        .await;
    assert_eq!(st, 200);
    let raw2 = v["key"].as_str().unwrap().to_owned();
    assert_ne!(raw, raw2);
    assert_eq!(
        s.get("/api/v1/agents", &k).await.0,
        401,
        "rotated-away key dies at once"
    );
    assert_eq!(
        s.get("/api/v1/agents", &Auth::Key(raw2.clone())).await.0,
        200
    );
    let (st, _) = s
        .call(Method::DELETE, &format!("/api/api-keys/{id}"), &owner, None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.get("/api/v1/agents", &Auth::Key(raw2)).await.0, 401);
    let (st, v) = s
        .call(Method::DELETE, &format!("/api/api-keys/{id}"), &owner, None)
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (404, Some("api_key_not_found"))
    );

    // Another user cannot touch my keys.
    let key = s.key(&owner).await;
    let (_, list) = s.get("/api/api-keys", &owner).await;
    let kid = list[0]["id"].as_str().unwrap().to_owned();
    let m = s.member(&owner, "keys@example.com").await;
    assert_eq!(
        s.call(Method::DELETE, &format!("/api/api-keys/{kid}"), &m, None)
            .await
            .0,
        404
    );
    assert_eq!(s.get("/api/v1/agents", &Auth::Key(key)).await.0, 200);
}

#[tokio::test]
async fn a_json_body_with_trailing_garbage_is_refused() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let body = format!(r#"{{"channelId":"{}","text":"x"}} garbage"#, t.channel);
    let res = s
        .http
        .post(s.url("/api/v1/messages"))
        .header("x-api-key", &t.raw_key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["code"], "invalid_json", "{v}");
}

#[tokio::test]
async fn cookie_authenticated_writes_from_another_site_are_refused() {
    let s = Server::start().await;
    let token = s.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = format!("access_token={token}");
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = s
            .http
            .post(s.url("/api/api-keys"))
            .header("content-type", "text/plain")
            .body("");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let v: serde_json::Value = res.json().await.unwrap_or_default();
            (status, v["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    // What a form on a sibling subdomain or another site sends along with the cookie.
    for attack in [
        vec![
            ("cookie", cookie.clone()),
            ("sec-fetch-site", "same-site".into()),
        ],
        vec![
            ("cookie", cookie.clone()),
            ("sec-fetch-site", "cross-site".into()),
        ],
        vec![
            ("cookie", cookie.clone()),
            ("origin", "http://evil.example".into()),
        ],
    ] {
        assert_eq!(
            post(attack.clone()).await,
            (403, "cross_site_request".into()),
            "{attack:?}"
        );
    }
    // The dashboard's own requests, scripts without browser headers, bearer tokens.
    let same_origin = vec![
        ("cookie", cookie.clone()),
        ("sec-fetch-site", "same-origin".into()),
    ];
    assert_eq!(post(same_origin).await.0, 201);
    let own_origin = vec![("cookie", cookie.clone()), ("origin", s.base.clone())];
    assert_eq!(post(own_origin).await.0, 201);
    assert_eq!(post(vec![("cookie", cookie.clone())]).await.0, 201);
    let bearer = vec![
        ("authorization", format!("Bearer {token}")),
        ("sec-fetch-site", "cross-site".into()),
    ];
    assert_eq!(post(bearer).await.0, 201);
}

/// Waits for the server to close a Socket.IO client; fails after `within`.
async fn sio_closed_within(c: &mut assent_sdk::sio::SocketIoClient, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match c.next_event(left).await {
            Ok(_) => continue,
            Err(SioError::Closed) => return,
            Err(e) => panic!("the socket is still open after {within:?}: {e}"),
        }
    }
}

async fn raw_closed_within(r: &mut Raw, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match r.next(left).await {
            Some(RawEvent::Closed(code)) => return code,
            Some(RawEvent::Frame(_)) => continue,
            None => panic!("the raw socket is still open after {within:?}"),
        }
    }
}

async fn key_id(s: &Server, human: &Auth, raw: &str) -> String {
    let (_, list) = s.get("/api/api-keys", human).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| raw.starts_with(k["keyPrefix"].as_str().unwrap_or("-")))
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .expect("the key is listed")
}

#[tokio::test]
async fn revoked_keys_and_sessions_lose_their_open_sockets_within_a_second() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let second = Duration::from_secs(1);
    let thread = format!("/ws/threads/{}", t.channel);

    // Rotation: sockets opened with the old secret close, and its unused tickets die.
    let id = key_id(&s, &t.human, &t.raw_key).await;
    let mut sio = s.sio_agent(&t.raw_key).await;
    subscribe(&sio, &t.channel, None).await;
    let mut raw = s.raw(&thread, Some(&t.raw_key)).await;
    let (_, v) = s.post("/api/v1/ws-ticket", &t.key, json!({})).await;
    let unused_ticket = v["ticket"].as_str().unwrap().to_owned();
    let other_key = s.key(&t.human).await;
    let bystander = s.sio_agent(&other_key).await;
    let (st, v) = s
        .post(&format!("/api/api-keys/{id}/rotate"), &t.human, json!({}))
        .await;
    assert_eq!(st, 200, "{v}");
    sio_closed_within(&mut sio, second).await;
    assert_eq!(raw_closed_within(&mut raw, second).await, Some(4401));
    let r = SocketIoClient::connect(&s.base, "/ws", json!({"token": unused_ticket})).await;
    assert!(
        matches!(r, Err(SioError::ConnectError(_))),
        "a ticket minted before the rotation is refused"
    );
    let pong = bystander
        .emit_with_ack(ev::SUBSCRIBE, json!(t.channel), T)
        .await
        .unwrap();
    assert_eq!(
        pong["ok"], true,
        "another key's socket is untouched: {pong}"
    );

    // Deletion, on a socket that authenticated with a ticket minted from the key.
    let rotated = v["key"].as_str().unwrap().to_owned();
    let (_, v) = s
        .post("/api/v1/ws-ticket", &Auth::Key(rotated), json!({}))
        .await;
    let ticket = v["ticket"].as_str().unwrap();
    let mut raw = s.raw(&format!("{thread}?ticket={ticket}"), None).await;
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/api/api-keys/{id}"),
            &t.human,
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(raw_closed_within(&mut raw, second).await, Some(4401));

    // Logout closes the session's dashboard sockets, not those of another session.
    let mut dash = s.sio_dashboard(&t.human).await;
    let other_session = s.owner().await;
    let mut other_dash = s.sio_dashboard(&other_session).await;
    let ticket = s.ticket(&t.human).await;
    let mut dash_raw = s
        .raw(&format!("/ws/notifications?ticket={ticket}"), None)
        .await;
    let (st, _) = s.post("/api/auth/logout", &t.human, json!({})).await;
    assert_eq!(st, 200);
    sio_closed_within(&mut dash, second).await;
    assert_eq!(raw_closed_within(&mut dash_raw, second).await, Some(4401));
    assert!(
        matches!(
            other_dash.next_event(Duration::from_millis(300)).await,
            Err(SioError::Timeout)
        ),
        "the other session's socket stays open"
    );

    // A password change closes the user's other sessions' sockets.
    let current = s.owner().await;
    let (st, v) = s
        .post(
            "/api/auth/change-password",
            &current,
            json!({"currentPassword": ADMIN_PASSWORD, "newPassword": "a-new-password-2"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    sio_closed_within(&mut other_dash, second).await;
    s.stop().await;
}

/// Agent API and dashboard routes share handlers (`Caller`); each route still takes only its
/// own credential, and each caller gets its own view.
#[tokio::test]
async fn shared_handlers_take_only_their_routes_credential() {
    let s = Server::start().await;
    let t = s.tenant().await;
    for (path, wrong, code) in [
        ("/api/v1/agents", &t.human, "missing_api_key"),
        ("/api/agents", &t.key, "unauthorized"),
        ("/api/v1/agents/x/deliveries", &t.human, "missing_api_key"),
        ("/api/agents/x/deliveries", &t.key, "unauthorized"),
    ] {
        let (st, v) = s.get(path, wrong).await;
        assert_eq!(
            (st.as_u16(), v["code"].as_str()),
            (401, Some(code)),
            "{path}"
        );
    }
    let (_, agent_view) = s.get("/api/v1/agents", &t.key).await;
    let (_, human_view) = s.get("/api/agents", &t.human).await;
    assert_eq!(agent_view[0]["id"], human_view[0]["id"]);
    assert!(agent_view[0].get("unreadCount").is_none(), "{agent_view}");
    assert_eq!(human_view[0]["unreadCount"], 0, "the dashboard's summary");
    let (st, v) = s.get("/api/v1/messages/m1/deliveries", &t.key).await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("channel")),
        "agents name the channel: {v}"
    );
}
