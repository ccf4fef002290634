//! Placet's MCP tools, same names and arguments (`@placet/mcp`), each one use case. Results
//! are JSON text (as Placet's) plus `structuredContent` with an output schema. Waits are
//! woken by the commit, not polled: progress notifications go out every 15 s while waiting,
//! and `notifications/cancelled` stops the wait (the review stays pending).

use super::McpCaller;
use crate::app::{AgentInput, AgentMessageInput, App, AppError, ListInput, WaitOutcome};
use crate::error::ApiError;
use crate::wire;
use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, JsonObject, ProgressNotificationParam, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a wait holds the call open unless told otherwise (Placet's default).
const DEFAULT_CONNECTION_TIMEOUT_MS: u64 = 300_000;
/// Progress is reported this often while a wait is parked.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

fn schema(v: Value) -> Arc<JsonObject> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

pub(super) fn tool(
    name: &'static str,
    description: &'static str,
    input: Value,
    output: Value,
) -> Tool {
    let mut t = Tool::new(name, description, schema(input));
    t.output_schema = Some(schema(output));
    t
}

pub(super) fn args(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required})
}

pub(super) fn out(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

const CHANNEL: &str = "Channel (agent) id; defaults to the connection's ?channel= if omitted.";

/// Every tool, with its input and output schema (the plugin tools of the plugins loaded).
pub(super) fn catalog(app: &App) -> Vec<Tool> {
    let mut all = channel_tools();
    all.extend(message_tools());
    all.extend(review_tools());
    all.extend(super::ask::tools());
    all.extend(super::plugins::tools(app));
    all
}

struct Shapes {
    channel: Value,
    message_id: Value,
    message: Value,
}

fn shapes() -> Shapes {
    Shapes {
        channel: json!({"type": "string", "description": CHANNEL}),
        message_id: json!({"type": "string", "description": "The message id."}),
        message: json!({"type": "object", "description": "A message record, as the REST API returns it."}),
    }
}

/// list_channels, create_channel, ping_status, list_plugins.
fn channel_tools() -> Vec<Tool> {
    vec![
        tool(
            "list_channels",
            "List the key owner's channels (agents).",
            args(json!({}), &[]),
            out(json!({"channels": {"type": "array", "items": {"type": "object"}}})),
        ),
        tool(
            "create_channel",
            "Create a channel (agent) for the key's owner.",
            args(
                json!({"name": {"type": "string"}, "description": {"type": "string"}, "webhookUrl": {"type": "string"}}),
                &["name"],
            ),
            out(json!({"channel": {"type": "object"}})),
        ),
        tool(
            "ping_status",
            "Report the agent's status (heartbeat): active, busy, error or offline.",
            args(
                json!({"agentId": {"type": "string"}, "status": {"enum": ["active", "busy", "error", "offline"]}, "message": {"type": "string"}}),
                &["agentId", "status"],
            ),
            out(json!({"channel": {"type": "object"}})),
        ),
        tool(
            "list_plugins",
            "List the installed plugins (custom renderers of freeform reviews and messages) with their manifests.",
            args(json!({}), &[]),
            out(json!({"plugins": {"type": "array"}})),
        ),
    ]
}

/// send_message, get_messages, get_message, delete_message, get_iteration_chain.
fn message_tools() -> Vec<Tool> {
    let Shapes {
        channel,
        message_id,
        message,
    } = shapes();
    vec![
        tool(
            "send_message",
            "Send a message (markdown) to a channel's human.",
            args(
                json!({"channelId": channel, "text": {"type": "string"}, "status": {"enum": ["info", "success", "warning", "error"]},
                         "metadata": {"type": "object"}, "iterationOf": {"type": "string"},
                         "attachmentIds": {"type": "array", "items": {"type": "string"}},
                         "textAttachments": {"type": "array", "items": {"type": "object", "required": ["content"], "properties": {
                             "content": {"type": "string"}, "filename": {"type": "string"}, "mimeType": {"type": "string"}}}}}),
                &[],
            ),
            out(json!({"message": message})),
        ),
        tool(
            "get_messages",
            "Page a channel's messages, newest first (limit 1..100, cursor, search).",
            args(
                json!({"channelId": channel, "limit": {"type": "integer", "minimum": 1, "maximum": 100}, "cursor": {"type": "string"}, "search": {"type": "string"}}),
                &[],
            ),
            out(json!({"data": {"type": "array"}, "nextCursor": {"type": ["string", "null"]}})),
        ),
        tool(
            "get_message",
            "Read one message.",
            args(
                json!({"messageId": message_id, "channelId": channel}),
                &["messageId"],
            ),
            out(json!({"message": message})),
        ),
        tool(
            "delete_message",
            "Delete a message (not one of an iteration chain with other messages).",
            args(
                json!({"messageId": message_id, "channelId": channel}),
                &["messageId"],
            ),
            out(json!({"deleted": {"type": "boolean"}})),
        ),
        tool(
            "get_iteration_chain",
            "The iteration chain a message belongs to.",
            args(
                json!({"messageId": message_id, "channelId": channel}),
                &["messageId"],
            ),
            out(json!({"groupId": {"type": "string"}, "iterations": {"type": "array"}})),
        ),
    ]
}

/// send_review_message, wait_for_review, get_pending_reviews.
fn review_tools() -> Vec<Tool> {
    let Shapes {
        channel,
        message_id,
        message,
    } = shapes();
    let review_types = json!(["approval", "selection", "form", "text-input", "freeform"]);
    vec![
        tool(
            "send_review_message",
            "Ask the human to review: approval (options), selection (items), form (fields), text-input or freeform. Returns the pending review at once, or waits for the answer with waitInline. Use iterationOf to continue a settled review (completed, expired or changes requested).",
            args(
                json!({"channelId": channel, "text": {"type": "string"}, "reviewType": {"enum": review_types},
                         "reviewPayload": {"type": "object"}, "expiresInSeconds": {"type": "integer", "minimum": 1},
                         "webhookUrl": {"type": "string"}, "waitInline": {"type": "boolean"}, "iterationOf": {"type": "string"},
                         "connectionTimeoutMs": {"type": "integer", "minimum": 1}}),
                &["reviewType"],
            ),
            out(
                json!({"status": {"type": "string"}, "messageId": {"type": "string"}, "expiresAt": {"type": "string"}, "message": message}),
            ),
        ),
        tool(
            "wait_for_review",
            "Wait for the human's answer to a review: returns completed, expired or changes_requested with the message, or timeout (call again to keep waiting). Woken the moment the human answers.",
            args(
                json!({"messageId": message_id, "channelId": channel, "connectionTimeoutMs": {"type": "integer", "minimum": 1}}),
                &["messageId"],
            ),
            out(
                json!({"status": {"enum": ["completed", "expired", "changes_requested", "timeout"]}, "messageId": {"type": "string"}, "message": message}),
            ),
        ),
        tool(
            "get_pending_reviews",
            "List a channel's pending reviews, newest first.",
            args(json!({"channelId": channel}), &[]),
            out(json!({"reviews": {"type": "array"}})),
        ),
    ]
}

/// Arguments of one call, with the connection's default channel.
pub(super) struct Args<'a> {
    pub(super) map: JsonObject,
    pub(super) caller: &'a McpCaller,
}

impl Args<'_> {
    pub(super) fn str(&self, k: &str) -> Option<String> {
        self.map.get(k).and_then(Value::as_str).map(str::to_owned)
    }
    pub(super) fn value(&self, k: &str) -> Option<Value> {
        self.map.get(k).cloned().filter(|v| !v.is_null())
    }
    fn channel(&self) -> Option<String> {
        self.str("channelId")
            .or_else(|| self.caller.default_channel.clone())
    }
    /// The channel, or the message id's own channel when neither names one (the use case
    /// then refuses `channel: is required`).
    fn channel_or_empty(&self) -> String {
        self.channel().unwrap_or_default()
    }
}

/// Runs a tool. Refusals of the use cases are tool errors (`isError`, with the API's code
/// and message), so the model can read and fix them; an unknown tool is a protocol error.
pub(super) async fn call(
    app: &App,
    caller: &McpCaller,
    request: CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let a = Args {
        map: request.arguments.unwrap_or_default(),
        caller,
    };
    let outcome = match request.name.as_ref() {
        "list_channels" => list_channels(app, &a).await,
        "create_channel" => create_channel(app, &a).await,
        "ping_status" => ping_status(app, &a).await,
        "send_message" => send_message(app, &a).await,
        "send_review_message" => send_review_message(app, &a, context).await,
        "wait_for_review" => {
            let id = a.str("messageId").unwrap_or_default();
            wait(app, &a, &id, timeout_of(&a), context).await
        }
        "get_messages" => get_messages(app, &a).await,
        "get_message" => get_message(app, &a).await,
        "delete_message" => delete_message(app, &a).await,
        "get_pending_reviews" => pending_reviews(app, &a).await,
        "get_iteration_chain" => iteration_chain(app, &a).await,
        "list_plugins" => super::plugins::list(app),
        "ask_approval" | "ask_selection" | "ask_form" | "ask_text" => {
            super::ask::call(app, &a, request.name.as_ref(), context).await
        }
        other => match super::plugins::call(app, &a, other).await {
            Some(outcome) => outcome,
            None => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool: {other}"),
                    None,
                ));
            }
        },
    };
    Ok(outcome.unwrap_or_else(refused))
}

/// Placet's text (pretty JSON of the REST shape) plus the structured object.
pub(super) fn answer(text: Value, structured: Value) -> CallToolResult {
    let mut r = CallToolResult::structured(structured);
    r.content = vec![rmcp::model::ContentBlock::text(
        serde_json::to_string_pretty(&text).unwrap_or_default(),
    )];
    r
}

fn refused(e: AppError) -> CallToolResult {
    let body = ApiError::from(e).body();
    CallToolResult::structured_error(json!({
        "statusCode": body.status_code, "code": body.code, "message": body.message, "errors": body.errors,
    }))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

async fn list_channels(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let list = app.list_agents(&a.caller.principal.user_id).await?;
    let records: Vec<Value> = list.iter().map(|x| to_json(&wire::agent(x))).collect();
    Ok(answer(json!(records), json!({"channels": records})))
}

async fn create_channel(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let input = AgentInput {
        name: a.str("name"),
        description: a.str("description"),
        avatar_url: None,
        webhook_url: a.str("webhookUrl"),
        tag: None,
    };
    let (agent, secret) = app.create_agent(&a.caller.principal.user_id, input).await?;
    let record = to_json(&wire::agent_with_secret(&agent, secret));
    Ok(answer(record.clone(), json!({"channel": record})))
}

async fn ping_status(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let user = &a.caller.principal.user_id;
    let agent = app
        .ping(user, a.str("agentId"), a.str("status"), a.str("message"))
        .await?;
    let record = to_json(&wire::agent(&agent));
    Ok(answer(record.clone(), json!({"channel": record})))
}

fn message_input(a: &Args<'_>, review: Option<Value>) -> AgentMessageInput {
    AgentMessageInput {
        channel_id: a.channel(),
        text: a.str("text"),
        status: a.str("status"),
        review,
        metadata: a.value("metadata"),
        webhook_url: a.str("webhookUrl"),
        attachment_ids: a
            .value("attachmentIds")
            .and_then(|v| serde_json::from_value(v).ok()),
        text_attachments: a
            .value("textAttachments")
            .and_then(|v| serde_json::from_value(v).ok()),
        client_id: None,
        stream_id: None,
        stream_state: None,
        iteration_of: a.str("iterationOf"),
    }
}

/// Posts, then acknowledges receipt like Placet's tool (the agent has seen its own message).
pub(super) async fn post(
    app: &App,
    a: &Args<'_>,
    review: Option<Value>,
) -> Result<assent_core::model::Message, AppError> {
    let (m, _) = app
        .post_agent_message(&a.caller.principal, message_input(a, review))
        .await?;
    let user = &a.caller.principal.user_id;
    app.ack_message(user, Some(m.channel_id.as_str()), m.id.as_str())
        .await?;
    Ok(m)
}

async fn send_message(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let m = post(app, a, None).await?;
    let record = to_json(&wire::message(&m, None));
    Ok(answer(record.clone(), json!({"message": record})))
}

async fn send_review_message(
    app: &App,
    a: &Args<'_>,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, AppError> {
    let mut review = json!({"type": a.value("reviewType"), "payload": a.value("reviewPayload")});
    if let Some(secs) = a.value("expiresInSeconds") {
        review["expiresInSeconds"] = secs;
    }
    let m = post(app, a, Some(review)).await?;
    if a.value("waitInline") == Some(Value::Bool(true)) {
        return wait(app, a, m.id.as_str(), timeout_of(a), context).await;
    }
    let expires_at = m.review_deadline().map(|d| d.to_iso());
    let body = json!({
        "status": "pending", "messageId": m.id, "expiresAt": expires_at,
        "hint": "Call wait_for_review with this messageId to wait for the human's answer.",
    });
    Ok(answer(body.clone(), body))
}

pub(super) fn timeout_of(a: &Args<'_>) -> Duration {
    let ms = a
        .value("connectionTimeoutMs")
        .and_then(|v| v.as_u64())
        .filter(|ms| *ms > 0)
        .unwrap_or(DEFAULT_CONNECTION_TIMEOUT_MS);
    Duration::from_millis(ms)
}

/// How a wait ended.
pub(super) enum Waited {
    /// `completed`, `expired` or `changes_requested`, with the message as answered.
    Settled(&'static str, Box<assent_core::model::Message>),
    Timeout,
    Cancelled,
}

/// Waits for the answer up to `total`: parked on the commit (a slice of at most
/// `PROGRESS_EVERY` at a time), a progress notification after each slice and when the
/// review settles, stopped by the client's cancellation.
pub(super) async fn wait_outcome(
    app: &App,
    a: &Args<'_>,
    id: &str,
    total: Duration,
    context: &RequestContext<RoleServer>,
) -> Result<Waited, AppError> {
    let user = &a.caller.principal.user_id;
    let channel = a.channel_or_empty();
    let token = context.meta.get_progress_token();
    let started = Instant::now();
    let mut step = 0.0;
    let progress = |step: f64, total: Option<f64>, message: String| {
        let token = token.clone();
        async move {
            if let Some(token) = token {
                let mut p = ProgressNotificationParam::new(token, step);
                p.total = total;
                p.message = Some(message);
                let _ = context.peer.notify_progress(p).await;
            }
        }
    };
    loop {
        let slice = total.saturating_sub(started.elapsed()).min(PROGRESS_EVERY);
        let outcome = tokio::select! {
            o = app.wait_review(user, Some(&channel), id, slice) => o?,
            _ = context.ct.cancelled() => return Ok(Waited::Cancelled),
        };
        let (status, m) = match outcome {
            WaitOutcome::Completed(m) => ("completed", m),
            WaitOutcome::Expired(m) => ("expired", m),
            WaitOutcome::ChangesRequested(m) => ("changes_requested", m),
            WaitOutcome::Timeout if started.elapsed() >= total => return Ok(Waited::Timeout),
            WaitOutcome::Timeout => {
                step += 1.0;
                let waited = started.elapsed().as_secs();
                progress(
                    step,
                    None,
                    format!("Waiting for the human's answer ({waited} s)"),
                )
                .await;
                continue;
            }
        };
        progress(step + 1.0, Some(step + 1.0), format!("Review {status}")).await;
        return Ok(Waited::Settled(status, Box::new(m)));
    }
}

async fn wait(
    app: &App,
    a: &Args<'_>,
    id: &str,
    total: Duration,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, AppError> {
    let body = match wait_outcome(app, a, id, total, context).await? {
        Waited::Settled(status, m) => {
            let record = to_json(&wire::message(&m, None));
            json!({"status": status, "messageId": id, "message": record})
        }
        Waited::Timeout => json!({
            "status": "timeout", "messageId": id,
            "hint": "The review is still pending. Call wait_for_review again with the same messageId to keep waiting.",
        }),
        Waited::Cancelled => json!({"status": "cancelled", "messageId": id}),
    };
    Ok(answer(body.clone(), body))
}

async fn get_messages(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let q = ListInput {
        channel: a.channel(),
        limit: a
            .value("limit")
            .map(|v| v.to_string().trim_matches('"').to_owned()),
        cursor: a.str("cursor"),
        after: None,
        search: a.str("search"),
        has_attachments: a.value("has_attachments").map(|v| v.to_string()),
    };
    let page = app.list_messages(&a.caller.principal.user_id, q).await?;
    let body = to_json(&wire::page(&page));
    Ok(answer(body.clone(), body))
}

async fn get_message(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let (user, channel, id) = (
        &a.caller.principal.user_id,
        a.channel_or_empty(),
        a.str("messageId"),
    );
    let m = app
        .get_message(user, Some(&channel), &id.unwrap_or_default())
        .await?;
    let record = to_json(&wire::message(&m, None));
    Ok(answer(record.clone(), json!({"message": record})))
}

async fn delete_message(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let (user, channel, id) = (&a.caller.principal.user_id, a.channel(), a.str("messageId"));
    app.delete_message(user, channel.as_deref(), &id.unwrap_or_default())
        .await?;
    let body = json!({"deleted": true});
    Ok(answer(body.clone(), body))
}

async fn pending_reviews(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let user = &a.caller.principal.user_id;
    let page = app
        .pending_reviews(user, a.channel().as_deref(), Default::default())
        .await?;
    let list: Vec<Value> = page
        .data
        .iter()
        .map(|m| to_json(&wire::message(m, None)))
        .collect();
    Ok(answer(json!(list), json!({"reviews": list})))
}

async fn iteration_chain(app: &App, a: &Args<'_>) -> Result<CallToolResult, AppError> {
    let (user, channel, id) = (
        &a.caller.principal.user_id,
        a.channel_or_empty(),
        a.str("messageId"),
    );
    let (group, list) = app
        .iterations(user, Some(&channel), &id.unwrap_or_default())
        .await?;
    let body = to_json(&wire::chain(group, &list, false));
    Ok(answer(body.clone(), body))
}
