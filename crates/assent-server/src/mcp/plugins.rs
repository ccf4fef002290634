//! Placet's plugin tools: `list_plugins` (the installed manifests) and, per plugin that
//! declares an `inputSchema`, `send_<plugin>_message`: a freeform review rendered by that
//! plugin, its data checked against the schema like any message.

use super::tools::{Args, answer, post};
use crate::app::{App, AppError};
use rmcp::model::{CallToolResult, Tool};
use serde_json::{Value, json};
use std::sync::Arc;

fn tool_name(plugin: &str) -> String {
    format!("send_{}_message", plugin.replace('-', "_"))
}

/// One `send_<plugin>_message` tool per plugin with an `inputSchema`.
pub(super) fn tools(app: &App) -> Vec<Tool> {
    app.plugins()
        .all()
        .filter_map(|p| {
            let m = &p.manifest;
            let schema = m.input_schema.as_ref()?;
            let description = [
                format!("Send a \"{}\" plugin message to a channel for the human to answer.", m.display_name),
                m.description.clone().map(|d| format!("Plugin: {d}")).unwrap_or_default(),
                format!("Input fields (pluginData): {schema}"),
                "Returns the pending review; call wait_for_review with its messageId for the answer.".into(),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
            let input = json!({"type": "object", "required": ["pluginData"], "properties": {
                "channelId": {"type": "string", "description": "Channel (agent) id; defaults to the connection's ?channel=."},
                "text": {"type": "string", "description": "Message text shown above the plugin."},
                "pluginData": schema,
                "expiresInSeconds": {"type": "integer", "minimum": 1, "description": "How long the review stays open (default 24 h)."}
            }});
            let mut t = Tool::new(tool_name(&m.name), description, Arc::new(input.as_object().cloned().unwrap_or_default()));
            let output = json!({"type": "object", "properties": {"status": {"type": "string"}, "messageId": {"type": "string"}, "expiresAt": {"type": "string"}}});
            t.output_schema = Some(Arc::new(output.as_object().cloned().unwrap_or_default()));
            Some(t)
        })
        .collect()
}

/// `list_plugins`: the manifests, as `GET /api/v1/plugins` returns them.
pub(super) fn list(app: &App) -> Result<CallToolResult, AppError> {
    let all: Vec<Value> = app
        .plugins()
        .all()
        .filter_map(|p| serde_json::to_value(&p.manifest).ok())
        .collect();
    Ok(answer(Value::Array(all.clone()), json!({"plugins": all})))
}

/// Runs `send_<plugin>_message` if `name` is one; `None` otherwise.
pub(super) async fn call(
    app: &App,
    a: &Args<'_>,
    name: &str,
) -> Option<Result<CallToolResult, AppError>> {
    let plugin = app
        .plugins()
        .all()
        .find(|p| p.manifest.input_schema.is_some() && tool_name(&p.manifest.name) == name)?;
    let mut payload = match a.value("pluginData") {
        Some(Value::Object(o)) => o,
        _ => Default::default(),
    };
    payload.insert("plugin".into(), Value::from(plugin.manifest.name.clone()));
    let mut review = json!({"type": "freeform", "payload": payload});
    if let Some(secs) = a.value("expiresInSeconds") {
        review["expiresInSeconds"] = secs;
    }
    Some(post(app, a, Some(review)).await.map(|m| {
        let body = json!({
            "status": "pending", "messageId": m.id, "expiresAt": m.review_deadline().map(|d| d.to_iso()),
            "hint": "Call wait_for_review with this messageId to wait for the human's answer.",
        });
        answer(body.clone(), body)
    }))
}
