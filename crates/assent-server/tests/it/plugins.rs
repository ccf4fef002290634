//! Plugins: the registry (bad folders skipped), manifests, data checked against a plugin's
//! schema, the sandboxed frame, answers from a plugin, and the MCP tools per plugin.

use crate::common::*;
use serde_json::{Value, json};
use std::sync::Arc;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins")
}

async fn server() -> Server {
    Server::start_with(
        |c| c.plugins_dir = Some(examples()),
        Arc::new(assent_server::clock::SystemClock),
    )
    .await
}

#[tokio::test]
async fn bad_plugin_folders_are_skipped_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("plugins/broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("plugin.json"), "{ nope").unwrap();
    let wrong = dir.path().join("plugins/wrong-name");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::write(
        wrong.join("plugin.json"),
        r#"{"name":"other","displayName":"X","version":"1"}"#,
    )
    .unwrap();
    std::fs::write(wrong.join("render.html"), "<p>x</p>").unwrap();
    let data = dir.path().to_path_buf();
    let s = Server::start_with(
        move |c| {
            c.data_dir = data;
            c.plugins_dir = Some(examples());
        },
        Arc::new(assent_server::clock::SystemClock),
    )
    .await;
    let t = s.tenant().await;
    let (st, list) = s.get("/api/v1/plugins", &t.key).await;
    assert_eq!(st, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["diagram", "status-badge"]);
    let (st, m) = s.get("/api/plugins/status-badge", &t.human).await;
    assert_eq!(
        (st.as_u16(), m["displayName"].as_str()),
        (200, Some("Status badge"))
    );
    assert_eq!(m["inputSchema"]["required"], json!(["status", "label"]));
    let (st, e) = s.get("/api/v1/plugins/kroki-diagram", &t.key).await;
    assert_eq!(
        (st.as_u16(), e["code"].as_str(), e["message"].as_str()),
        (
            404,
            Some("plugin_not_found"),
            Some("Plugin \"kroki-diagram\" not found")
        )
    );
}

#[tokio::test]
async fn plugin_data_is_checked_against_its_schema() {
    let s = server().await;
    let t = s.tenant().await;
    let review = |payload: Value| json!({"channelId": t.channel, "text": "Status?", "review": {"type": "freeform", "payload": payload}});
    let (st, e) = s
        .post(
            "/api/v1/messages",
            &t.key,
            review(json!({"plugin": "status-badge", "status": "on fire"})),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    let paths: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["review.payload.label", "review.payload.status"]);
    let (st, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            review(json!({"plugin": "status-badge", "status": "degraded", "label": "API"})),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    assert_eq!(
        m["metadata"]["plugin"], "status-badge",
        "Placet's rule: the payload names the renderer"
    );

    // Messages name it in metadata; the rest of the metadata is the plugin's data.
    let msg =
        |metadata: Value| json!({"channelId": t.channel, "text": "Topology", "metadata": metadata});
    let (st, e) = s
        .post(
            "/api/v1/messages",
            &t.key,
            msg(json!({"plugin": "diagram", "nodes": [{"id": "a"}]})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), e["errors"][0]["path"].as_str()),
        (400, Some("metadata.nodes[0].label")),
        "{e}"
    );
    let (st, _) = s.post("/api/v1/messages", &t.key, msg(json!({"plugin": "diagram", "nodes": [{"id": "a", "label": "A"}], "webhookUrl": "https://example.com/h"}))).await;
    assert_eq!(st, 201);
    // A plugin that is not installed here is not checked (the dashboard shows the data).
    let (st, _) = s
        .post(
            "/api/v1/messages",
            &t.key,
            msg(json!({"plugin": "kroki-diagram", "source": 1})),
        )
        .await;
    assert_eq!(st, 201);

    // What the plugin submits is the review's answer.
    let (st, done) = s
        .post(
            &format!("/api/messages/{}/respond", m["id"].as_str().unwrap()),
            &t.human,
            json!({"response": {"action": "acknowledge", "status": "degraded"}}),
        )
        .await;
    assert_eq!(st, 201, "{done}");
    assert_eq!(done["review"]["response"]["action"], "acknowledge");
}

#[tokio::test]
async fn the_frame_is_sandboxed_wherever_it_is_opened() {
    let s = server().await;
    let res = s
        .http
        .get(s.url("/plugins/status-badge/frame"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = |n: &str| res.headers()[n].to_str().unwrap().to_owned();
    assert_eq!(h("content-type"), "text/html; charset=utf-8");
    let csp = h("content-security-policy");
    for must in [
        "default-src 'none'",
        "sandbox allow-scripts",
        "frame-ancestors 'self'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(must), "{csp}");
    }
    assert!(!csp.contains("allow-same-origin"), "{csp}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("window.Placet = api") && body.contains("Acknowledge"),
        "bridge, then the plugin"
    );
    let res = s
        .http
        .get(s.url("/plugins/nope/frame"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// One JSON-RPC call over Streamable HTTP; the answer's `result`.
async fn rpc(s: &Server, key: &str, sid: Option<&str>, body: Value) -> (Option<String>, Value) {
    let mut r = s
        .http
        .post(s.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("x-api-key", key)
        .json(&body);
    if let Some(sid) = sid {
        r = r
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", "2025-06-18");
    }
    let res = r.send().await.unwrap();
    let sid = res
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|d| d.contains("\"result\"") || d.contains("\"error\""));
    let v: Value = data
        .map(|d| serde_json::from_str(d).unwrap())
        .unwrap_or(Value::Null);
    (sid, v["result"].clone())
}

#[tokio::test]
async fn mcp_lists_the_plugins_and_has_a_send_tool_for_each() {
    let s = server().await;
    let t = s.tenant().await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}});
    let (sid, _) = rpc(&s, &t.raw_key, None, init).await;
    let sid = sid.unwrap();
    s.http
        .post(s.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("x-api-key", &t.raw_key)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    let (_, tools) = rpc(
        &s,
        &t.raw_key,
        Some(&sid),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    let tool = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "send_status_badge_message")
        .expect("a tool per plugin");
    assert_eq!(
        tool["inputSchema"]["properties"]["pluginData"]["required"],
        json!(["status", "label"])
    );
    let (_, listed) = rpc(&s, &t.raw_key, Some(&sid), json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_plugins", "arguments": {}}})).await;
    assert_eq!(
        listed["structuredContent"]["plugins"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "send_status_badge_message",
        "arguments": {"channelId": t.channel, "text": "Checkout is slow", "pluginData": {"status": "degraded", "label": "Checkout"}}}});
    let (_, sent) = rpc(&s, &t.raw_key, Some(&sid), call).await;
    assert_eq!(sent["structuredContent"]["status"], "pending", "{sent}");
    let id = sent["structuredContent"]["messageId"].as_str().unwrap();
    let (_, m) = s
        .get(
            &format!("/api/v1/reviews/{id}?channel={}", t.channel),
            &t.key,
        )
        .await;
    assert_eq!(m["review"]["type"], "freeform");
    assert_eq!(m["review"]["payload"]["plugin"], "status-badge");
    assert_eq!(m["review"]["payload"]["label"], "Checkout");
    let bad = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "send_status_badge_message",
        "arguments": {"channelId": t.channel, "pluginData": {"status": "fine"}}}});
    let (_, refused) = rpc(&s, &t.raw_key, Some(&sid), bad).await;
    assert_eq!(refused["isError"], true, "{refused}");
}
