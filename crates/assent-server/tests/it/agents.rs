use crate::common::*;
use assent_proto::events as ev;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn agents_crud_over_both_apis_with_masked_secrets() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let (st, v) = s
        .post(
            "/api/v1/agents",
            &t.key,
            json!({"name": "  deployer ", "tag": "ops", "webhookUrl": "https://example.com/hook"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["tag"].as_str(), v["status"].as_str()),
        (Some("deployer"), Some("ops"), Some("offline"))
    );
    let id = v["id"].as_str().unwrap().to_owned();

    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            &t.key,
            Some(json!({
                "description": "ships things",
                "webhookHeaders": {"X-Team": "ops"},
                "webhookAuth": {"username": "bot", "password": "s3cret-pass"}
            })),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["webhookAuth"],
        json!({"username": "bot", "password": "***"})
    );
    assert_eq!(v["description"], "ships things");
    for (path, auth) in [("/api/v1/agents", &t.key), ("/api/agents", &t.human)] {
        let (_, list) = s.get(path, auth).await;
        assert!(
            !list.to_string().contains("s3cret-pass"),
            "secret leaked in {path}: {list}"
        );
    }
    let (_, one) = s.get(&format!("/api/agents/{id}"), &t.human).await;
    assert!(!one.to_string().contains("s3cret-pass"));

    // Clearing with null, Placet's setTag, commands.
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/agents/{id}"),
            &t.human,
            Some(json!({"description": null, "tag": null})),
        )
        .await;
    assert_eq!(st, 200);
    assert!(v["description"].is_null() && v["tag"].is_null());
    let (st, v) = s
        .post(
            "/api/v1/agents/setTag",
            &t.key,
            json!({"channelId": id, "tag": "prod"}),
        )
        .await;
    assert_eq!((st.as_u16(), v["tag"].as_str()), (200, Some("prod")));
    let (st, v) = s
        .call(Method::PUT, &format!("/api/v1/agents/{id}/commands"), &t.key, Some(json!({"commands": [{"command": "deploy", "description": "Ship it", "acceptsArgs": true}]})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["commands"][0]["command"], "deploy");

    // The dashboard listing carries last message, time and unread count.
    let (st, _) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": id, "text": "hello human"}),
        )
        .await;
    assert_eq!(st, 201);
    let (_, list) = s.get("/api/agents", &t.human).await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (row["lastMessage"].as_str(), row["unreadCount"].as_i64()),
        (Some("hello human"), Some(1))
    );
    assert_eq!(list[0]["id"], id.as_str(), "most recently active first");
    let (st, _) = s
        .post(&format!("/api/agents/{id}/read"), &t.human, json!({}))
        .await;
    assert_eq!(st, 201);
    let (_, list) = s.get("/api/agents", &t.human).await;
    assert_eq!(list[0]["unreadCount"], 0);

    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/api/v1/agents/{id}"),
            &t.key,
            None,
        )
        .await;
    assert_eq!((st.as_u16(), v["deleted"].as_bool()), (200, Some(true)));
    let (st, v) = s
        .get(&format!("/api/v1/messages?channel={id}"), &t.key)
        .await;
    assert_eq!(
        (st.as_u16(), v["message"].as_str()),
        (403, Some("Not your agent"))
    );
}

#[tokio::test]
async fn agent_input_is_validated_with_field_names() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (
            json!({"name": "x", "webhookUrl": "ftp://example.com"}),
            "webhookUrl",
        ),
        (json!({"name": "x", "tag": "t".repeat(65)}), "tag"),
        (json!({"name": 12}), "name"),
    ];
    for (body, field) in cases {
        let (st, v) = s.post("/api/v1/agents", &t.key, body.clone()).await;
        assert_eq!(st, 400, "{body} → {v}");
        assert_eq!(v["errors"][0]["path"], field, "{body} → {v}");
        assert_eq!(v["statusCode"], 400);
    }
    let id = &t.channel;
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            &t.key,
            Some(json!({"webhookHeaders": {"bad header": "x", "X-Ok": "line\nbreak"}})),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(v["errors"].as_array().unwrap().len(), 2, "{v}");
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/agents/{id}"),
            &t.key,
            Some(json!({"webhookAuth": {"username": "only"}})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("webhookAuth"))
    );
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{id}/commands"),
            &t.key,
            Some(json!({"commands": [{"command": ""}]})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("commands[0].command"))
    );
    let (st, v) = s
        .post(
            "/api/v1/status/ping",
            &t.key,
            json!({"agentId": id, "status": "sleeping"}),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["errors"][0]["path"].as_str()),
        (400, Some("status"))
    );
}

#[tokio::test]
async fn foreign_and_unknown_agents_look_the_same() {
    let s = Server::start().await;
    let a = s.tenant().await;
    let b = s.member_tenant("b@example.com").await;
    let foreign = a.channel.clone();
    for (m, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/agents/{foreign}"),
            Some(json!({"name": "pwned"})),
        ),
        (Method::DELETE, format!("/api/v1/agents/{foreign}"), None),
        (
            Method::PUT,
            format!("/api/v1/agents/{foreign}/commands"),
            Some(json!({"commands": []})),
        ),
        (
            Method::POST,
            "/api/v1/agents/setTag".to_owned(),
            Some(json!({"channelId": foreign, "tag": "x"})),
        ),
        (
            Method::POST,
            "/api/v1/status/ping".to_owned(),
            Some(json!({"agentId": foreign, "status": "busy"})),
        ),
        (
            Method::PATCH,
            "/api/v1/agents/does-not-exist".to_owned(),
            Some(json!({"name": "x"})),
        ),
    ] {
        let (st, v) = s.call(m.clone(), &path, &b.key, body).await;
        assert_eq!(
            (st.as_u16(), v["message"].as_str(), v["code"].as_str()),
            (403, Some("Not your agent"), Some("not_your_agent")),
            "{m} {path}"
        );
    }
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/api/agents/{foreign}"),
            &b.human,
            Some(json!({"name": "pwned"})),
        )
        .await;
    assert_eq!(st, 403);
    let (_, list) = s.get("/api/v1/agents", &b.key).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|x| x["id"] != foreign.as_str())
    );
    let (_, one) = s.get("/api/v1/agents", &a.key).await;
    assert_eq!(one[0]["name"], "bot", "A's agent untouched");
}

#[tokio::test]
async fn heartbeat_sets_status_and_silence_marks_offline() {
    let (s, clock) = Server::start_manual().await;
    let t = s.tenant().await;
    let mut dash = s.sio_dashboard(&t.human).await;
    let mut agent = s.sio_agent(&t.raw_key).await;
    assert_eq!(subscribe(&agent, &t.channel, None).await["ok"], true);

    let (st, v) = s
        .post(
            "/api/v1/status/ping",
            &t.key,
            json!({"agentId": t.channel, "status": "busy", "message": "crunching"}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["statusMessage"].as_str()),
        (Some("busy"), Some("crunching"))
    );
    let since = v["statusSince"].clone();
    let e = dash.next_named(ev::AGENT_STATUS, T).await.unwrap();
    assert_eq!(
        (e.data["agentId"].as_str(), e.data["status"].as_str()),
        (Some(t.channel.as_str()), Some("busy"))
    );
    assert!(e.data["seq"].as_i64().unwrap() > 0);

    clock.advance_secs(10);
    let (_, v) = s
        .post(
            "/api/v1/status/ping",
            &t.key,
            json!({"agentId": t.channel, "status": "busy", "message": "crunching"}),
        )
        .await;
    assert_eq!(
        v["statusSince"], since,
        "statusSince moves only on a transition"
    );
    assert!(
        dash.drain(std::time::Duration::from_millis(200))
            .await
            .is_empty(),
        "an unchanged heartbeat is not an event"
    );

    assert_eq!(
        s.app.sweep_presence().await.unwrap(),
        0,
        "recently seen agents stay"
    );
    clock.advance_secs(301);
    assert_eq!(s.app.sweep_presence().await.unwrap(), 1);
    assert_eq!(s.app.sweep_presence().await.unwrap(), 0, "once");
    let e = dash.next_named(ev::AGENT_STATUS, T).await.unwrap();
    assert_eq!(e.data["status"], "offline");
    let (_, list) = s.get("/api/v1/agents", &t.key).await;
    assert_eq!(list[0]["status"], "offline");

    // Agents never receive heartbeats (Placet sends them to the owner's dashboards only).
    let got = agent.drain(std::time::Duration::from_millis(300)).await;
    assert!(got.iter().all(|e| e.name != ev::AGENT_STATUS), "{got:?}");
}
