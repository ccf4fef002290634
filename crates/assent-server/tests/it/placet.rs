//! Placet's compatibility edges: small behaviours a Placet client relies on.

use crate::common::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn limits_above_100_are_clamped_and_bad_wait_timeouts_mean_the_default() {
    let s = Server::start().await;
    let t = s.tenant().await;
    for i in 0..3 {
        s.say(&t, &format!("m{i}")).await;
    }
    let (st, v) = s
        .get(
            &format!("/api/v1/messages?channel={}&limit=500", t.channel),
            &t.key,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    let (st, v) = s.get("/api/messages/reviews?limit=500", &t.human).await;
    assert_eq!(st, 200, "{v}");

    let (_, m) = s
        .post(
            "/api/v1/messages",
            &t.key,
            json!({"channelId": t.channel, "text": "ok?", "review": {"type": "approval", "payload": {"options": [{"id": "yes", "label": "Yes"}]}}}),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    for bad in ["abc", "0", "-5"] {
        let url = s.url(&format!(
            "/api/v1/reviews/{id}/wait?channel={}&timeout={bad}",
            t.channel
        ));
        let req = s.http.get(url).header("x-api-key", &t.raw_key).send();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), req)
                .await
                .is_err(),
            "timeout={bad} is parked for the default, not refused"
        );
    }
    let url = s.url(&format!(
        "/api/v1/reviews/{id}/wait?channel={}&timeout=abc",
        t.channel
    ));
    let waiter = tokio::spawn(
        s.http
            .get(url)
            .header("x-api-key", t.raw_key.clone())
            .send(),
    );
    eventually("the wait is parked", || s.app.parked_waits() >= 1).await;
    let (st, _) = s
        .post(
            &format!("/api/messages/{id}/respond"),
            &t.human,
            json!({"response": {"selectedOption": "yes"}}),
        )
        .await;
    assert_eq!(st, 201);
    let v: serde_json::Value = waiter.await.unwrap().unwrap().json().await.unwrap();
    assert_eq!(v["status"], "completed", "{v}");
}

#[tokio::test]
async fn a_bearer_api_key_works_on_the_agent_api() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let (st, v) = s
        .get("/api/v1/agents", &Auth::Bearer(t.raw_key.clone()))
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .get(
            "/api/v1/agents",
            &Auth::Bearer(format!("hp_{}", "0".repeat(48))),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    // A session token is still not an API key.
    let (st, _) = s.get("/api/v1/agents", &t.human).await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn a_retried_completion_is_answered_like_the_first() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let stream = |id: &str, body: serde_json::Value| {
        let path = format!("/api/v1/messages/streams/{id}");
        let mut body = body;
        body["channelId"] = json!(t.channel);
        let s = &s;
        let key = t.key.clone();
        async move { s.call(Method::PATCH, &path, &key, Some(body)).await }
    };
    for id in ["a", "b"] {
        let (st, v) = s
            .post(
                "/api/v1/messages",
                &t.key,
                json!({"channelId": t.channel, "streamId": id, "streamState": "streaming", "text": "Hello"}),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, first) = stream("a", json!({"text": "Hello world", "complete": true})).await;
    assert_eq!(st, 200, "{first}");
    let (st, again) = stream("a", json!({"text": "Hello world", "complete": true})).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(
        (again["id"].clone(), again["text"].clone()),
        (first["id"].clone(), first["text"].clone())
    );
    let (st, again) = stream("a", json!({"complete": true})).await;
    assert_eq!(st, 200, "a bare retry: {again}");
    // Not a retry: other text, another ending, or an update after the end.
    for body in [
        json!({"text": "Something else", "complete": true}),
        json!({"streamState": "aborted"}),
        json!({"text": "more"}),
    ] {
        let (st, v) = stream("a", body.clone()).await;
        assert_eq!(
            (st.as_u16(), v["code"].as_str()),
            (400, Some("stream_finished")),
            "{body}"
        );
    }
    let (st, _) = stream("b", json!({"streamState": "aborted"})).await;
    assert_eq!(st, 200);
    let (st, _) = stream("b", json!({"streamState": "aborted"})).await;
    assert_eq!(st, 200, "a retried abort");
}

#[tokio::test]
async fn error_bodies_carry_nests_error_name() {
    let s = Server::start().await;
    let t = s.tenant().await;
    for (path, auth, status, error) in [
        ("/api/v1/agents", Auth::None, 401, "Unauthorized"),
        ("/api/v1/nope", t.key.clone(), 404, "Not Found"),
        (
            "/api/v1/messages?channel=x&limit=abc",
            t.key.clone(),
            400,
            "Bad Request",
        ),
    ] {
        let (st, v) = s.get(path, &auth).await;
        assert_eq!(
            (st.as_u16(), v["statusCode"].as_u64(), v["error"].as_str()),
            (status, Some(status as u64), Some(error)),
            "{path}: {v}"
        );
    }
}

#[tokio::test]
async fn placet_sub_agent_fields_are_refused_not_ignored() {
    let s = Server::start().await;
    let t = s.tenant().await;
    let body = |extra: serde_json::Value| {
        let mut b = json!({"channelId": t.channel, "url": "https://example.com/hook"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (field, value) in [
        ("isSubagent", json!(true)),
        ("parentChannelId", json!("c0parent")),
        ("management", json!({"url": "https://example.com/m"})),
    ] {
        let (st, v) = s
            .post(
                "/api/v1/agents/setWebhook",
                &t.key,
                body(json!({field: value})),
            )
            .await;
        assert_eq!(
            (st.as_u16(), v["errors"][0]["path"].as_str()),
            (400, Some(field)),
            "{v}"
        );
    }
    // Left out, null or false: the webhook is set.
    let (st, v) = s
        .post(
            "/api/v1/agents/setWebhook",
            &t.key,
            body(json!({"isSubagent": false, "management": null})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
}
