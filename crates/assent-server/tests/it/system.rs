use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn health_metrics_and_the_dashboard_are_served() {
    let token = "metrics-token-0123456789";
    let s = Server::start_with(
        |c| c.metrics_token = Some(token.into()),
        std::sync::Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let (st, v) = s.get("/health", &Auth::None).await;
    assert_eq!((st.as_u16(), v["status"].as_str()), (200, Some("ok")));
    let r = s
        .http
        .get(s.url("/health"))
        .header("x-request-id", "req-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-123");
    let t = s.tenant().await;
    let _c = s.sio_agent(&t.raw_key).await;
    s.say(&t, "x").await;
    let text = s
        .http
        .get(s.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for m in [
        "assent_socketio_connected 1",
        "assent_events_appended_total",
        "assent_http_request_duration_ms_bucket{method=\"POST\",route=\"/api/v1/messages\",status=\"201\"",
    ] {
        assert!(text.contains(m), "{m} missing from metrics:\n{text}");
    }
    let r = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("connect-src 'self';") && !csp.contains("ws:"),
        "sockets only to the server's own origin: {csp}"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// The dashboard imports the JS client from `/client/`, served from `clients/js/src` itself.
#[tokio::test]
async fn the_js_client_is_served_from_its_own_sources() {
    let s = Server::start().await;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/js/src");
    for name in ["index.js", "socket.js", "rest.js"] {
        let r = s
            .http
            .get(s.url(&format!("/client/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        let body = r.text().await.unwrap();
        assert_eq!(
            body,
            std::fs::read_to_string(src.join(name)).unwrap(),
            "{name}"
        );
    }
    let r = s.http.get(s.url("/client/nope.js")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn openapi_document_matches_the_routes() {
    // With a metrics token, so that /metrics is served too.
    let s = Server::start_with(
        |c| c.metrics_token = Some("metrics-token-0123456789".into()),
        std::sync::Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let (st, doc) = s.get("/api/openapi.json", &Auth::None).await;
    assert_eq!(st, 200);
    let paths = doc["paths"].as_object().unwrap();
    let routes = assent_server::http::routes();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, routes.len(), "one operation per route");
    for r in &routes {
        assert!(
            paths[r.path]
                .get(r.method.as_str().to_ascii_lowercase())
                .is_some(),
            "{} {} undocumented",
            r.method,
            r.path
        );
        // Every JSON API route says what its 2xx answer looks like (schemathesis checks the
        // answers against it in CI).
        let json_api = r.path.starts_with("/api/") && r.path != "/api/openapi.json";
        let content =
            &paths[r.path][r.method.as_str().to_ascii_lowercase()]["responses"]["2XX"]["content"];
        let media = if r.path.ends_with("/download") {
            "application/octet-stream"
        } else {
            "application/json"
        };
        let reply = &content[media]["schema"];
        assert_eq!(
            json_api,
            reply.is_object(),
            "{} {}: reply schema",
            r.method,
            r.path
        );
    }
    // Every documented operation exists on the router: it never answers 404/405 for the
    // route itself (it may answer 401/400 for lack of credentials or body).
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "some-id");
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let (st, v) = s.call(m, &concrete, &Auth::None, Some(json!({}))).await;
            // A 404 about the resource (`plugin_not_found` for a made-up name) is fine.
            let route_missing = st == 405 || (st == 404 && v["code"] == "route_not_found");
            assert!(!route_missing, "{method} {path} → {st} {v}");
        }
    }
}

#[tokio::test]
async fn graceful_shutdown_keeps_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let clock = std::sync::Arc::new(assent_server::clock::SystemClock);
    // Both runs on the same database: SQLite in `path`, or one PostgreSQL database.
    let db = if on_postgres() {
        PgDb::create().await
    } else {
        None
    };
    let url = db.as_ref().map(|d| d.url.clone());
    let same_db = |c: &mut assent_server::config::Config| {
        c.data_dir = path.clone();
        c.database_url = url.clone();
    };
    let s = Server::start_with(same_db, clock.clone()).await;
    let t = s.tenant().await;
    let mut ids = Vec::new();
    let posts: Vec<_> = (0..50)
        .map(|i| {
            let (http, url, key, ch) = (
                s.http.clone(),
                s.url("/api/v1/messages"),
                t.raw_key.clone(),
                t.channel.clone(),
            );
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("x-api-key", key)
                    .json(&json!({"channelId": ch, "text": format!("p{i}")}))
                    .send()
                    .await
                    .ok()?;
                if r.status() != 201 {
                    return None;
                }
                r.json::<Value>().await.ok()
            })
        })
        .collect();
    for p in posts {
        if let Some(v) = p.await.unwrap() {
            ids.push(v["id"].as_str().unwrap().to_owned());
        }
    }
    s.stop().await;
    let s = Server::start_with(same_db, clock).await;
    let (_, page) = s
        .get(
            &format!("/api/v1/messages?channel={}&limit=100", t.channel),
            &t.key,
        )
        .await;
    let stored: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
    for id in &ids {
        assert!(
            stored.contains(&id.as_str()),
            "acknowledged message {id} lost"
        );
    }
    s.stop().await;
    if let Some(db) = db {
        db.finish().await;
    }
}

/// A value of `schema` with only what it requires (first enum value, `"x"` for strings).
fn minimal(schema: &Value) -> Value {
    if let Some(e) = schema.get("enum") {
        return e[0].clone();
    }
    if let Some(one) = schema.get("oneOf") {
        return minimal(&one[0]);
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut o = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                o.insert(name.into(), minimal(&schema["properties"][name]));
            }
            Value::Object(o)
        }
        Some("array") => json!([]),
        Some("boolean") => json!(true),
        Some("integer") => json!(1),
        _ if schema["format"] == "email" => json!("someone@example.com"),
        _ if schema["format"] == "uri" => json!("https://example.com/hook"),
        _ => json!("x"),
    }
}

#[tokio::test]
async fn every_body_route_documents_its_schema_and_the_schema_is_accepted() {
    let s = Server::start().await;
    let t = s.tenant().await;
    // Writes that read no body; anything else that writes must document its body.
    let bodiless = [
        "/api/v1/agents/{id}/webhook-secret/rotate",
        "/api/v1/messages/{id}/ack",
        "/api/v1/messages/{id}/retry",
        "/api/v1/ws-ticket",
        "/api/auth/logout",
        "/api/auth/refresh",
        "/api/auth/ws-ticket",
        "/api/api-keys/{id}/rotate",
        "/api/agents/{id}/webhook-secret/rotate",
        "/api/agents/{id}/read",
        "/api/messages/{id}/retry",
    ];
    for r in assent_server::http::routes() {
        let writes = matches!(r.method.as_str(), "POST" | "PATCH" | "PUT");
        match r.body {
            None if writes => assert!(
                bodiless.contains(&r.path),
                "{} {} reads no documented body",
                r.method,
                r.path
            ),
            None => {}
            Some(schema) => {
                assert!(writes, "{} {} has a body schema", r.method, r.path);
                // A body with just the required fields is never refused as malformed: it
                // reaches validation (which may refuse the made-up values) or succeeds.
                let body = minimal(&schema());
                let auth = if r.path.starts_with("/api/v1/") {
                    t.key.clone()
                } else {
                    t.human.clone()
                };
                let path = r.path.replace("{id}", &t.channel);
                let (st, v) = s
                    .call(r.method.clone(), &path, &auth, Some(body.clone()))
                    .await;
                assert!(
                    st.is_success()
                        || (st.is_client_error()
                            && !matches!(
                                v["code"].as_str(),
                                Some("invalid_json" | "unsupported_media_type" | "route_not_found")
                            )),
                    "{} {path} with {body}: {st} {v}",
                    r.method
                );
            }
        }
    }
}

/// `/mcp` authenticates before MCP: no key, a bad key → 401 with the API's codes; with a
/// key, `initialize` opens a session and lists Placet's tools.
#[tokio::test]
async fn mcp_needs_an_agent_key_and_lists_placets_tools() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}});
    let post = |key: Option<&str>, body: &Value, session: Option<&str>| {
        let mut r = s
            .http
            .post(s.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        if let Some(sid) = session {
            r = r
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", "2025-06-18");
        }
        r.send()
    };
    for (key, code) in [
        (None, "missing_api_key"),
        (
            Some("hp_000000000000000000000000000000000000000000000000"),
            "invalid_api_key",
        ),
    ] {
        let r = post(key, &init, None).await.unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], code);
    }
    let r = post(Some(&t.raw_key), &init, None).await.unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("\"serverInfo\"") && body.contains("assent"),
        "{body}"
    );
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        post(Some(&t.raw_key), &note, Some(&sid))
            .await
            .unwrap()
            .status(),
        202
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let body = post(Some(&t.raw_key), &list, Some(&sid))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "send_review_message",
        "wait_for_review",
        "get_iteration_chain",
        "list_plugins",
    ] {
        assert!(
            body.contains(&format!("\"{name}\"")),
            "{name} missing: {body}"
        );
    }
}
