//! Request body schemas for `/api/openapi.json` (JSON Schema as OpenAPI 3.1 takes it), one
//! per `assent_proto` request type. They describe what the use cases accept (required
//! fields, enums, sizes), so that schema-driven clients and fuzzers get past the first 400.
//! `system.rs` checks that every route that reads a body has one, and that a body built
//! from each schema's required fields is not refused as malformed.

use assent_core::review::ReviewType;
use assent_core::validate::{
    MAX_CLIENT_ID_CHARS, MAX_DESCRIPTION_CHARS, MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_TAG_CHARS,
    MAX_TEXT_CHARS, MAX_URL_CHARS,
};
use serde_json::{Value, json};

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn text(max: usize) -> Value {
    json!({"type": "string", "maxLength": max})
}

fn nullable(v: Value) -> Value {
    json!({"oneOf": [v, {"type": "null"}]})
}

fn url() -> Value {
    json!({"type": "string", "format": "uri", "maxLength": MAX_URL_CHARS})
}

fn id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64})
}

fn headers() -> Value {
    json!({"type": "object", "maxProperties": 32, "additionalProperties": {"type": "string", "maxLength": 4096}})
}

fn webhook_auth() -> Value {
    json!({"type": "object", "properties": {
        "username": text(4096), "password": text(4096), "token": text(4096)
    }})
}

fn commands() -> Value {
    json!({"type": "array", "maxItems": 100, "items": {"type": "object", "required": ["name"], "properties": {
        "name": text(64), "description": text(500)
    }}})
}

pub(super) fn create_agent() -> Value {
    object(
        &["name"],
        json!({
            "name": text(MAX_NAME_CHARS), "description": text(MAX_DESCRIPTION_CHARS),
            "avatarUrl": url(), "webhookUrl": url(), "tag": text(MAX_TAG_CHARS)
        }),
    )
}

pub(super) fn update_agent() -> Value {
    object(
        &[],
        json!({
            "name": text(MAX_NAME_CHARS), "description": nullable(text(MAX_DESCRIPTION_CHARS)),
            "avatarUrl": nullable(url()), "webhookUrl": nullable(url()),
            "webhookHeaders": nullable(headers()), "webhookAuth": nullable(webhook_auth()),
            "tag": nullable(text(MAX_TAG_CHARS))
        }),
    )
}

pub(super) fn set_tag() -> Value {
    object(
        &["channelId"],
        json!({"channelId": id(), "tag": nullable(text(MAX_TAG_CHARS))}),
    )
}

pub(super) fn set_commands() -> Value {
    object(&["commands"], json!({"commands": commands()}))
}

pub(super) fn agent_message() -> Value {
    let review = json!({"type": "object", "required": ["type", "payload"], "properties": {
        "type": {"enum": ReviewType::ALL}, "payload": {"type": "object"},
        "expiresInSeconds": {"type": "integer", "minimum": 1}, "callback": {"type": "object"}
    }});
    object(
        &["channelId"],
        json!({
            "channelId": id(), "text": text(MAX_TEXT_CHARS), "status": text(500),
            "review": review, "metadata": {"type": "object"}, "webhookUrl": url(),
            "attachmentIds": {"type": "array", "items": id()},
            "textAttachments": {"type": "array", "items": {"type": "object"}},
            "iterationOf": id(), "clientId": text(MAX_CLIENT_ID_CHARS),
            "streamId": text(MAX_CLIENT_ID_CHARS), "streamStartedAt": {"type": "string"},
            "streamState": {"enum": ["streaming", "complete", "aborted"]}
        }),
    )
}

pub(super) fn user_message() -> Value {
    object(
        &["channelId", "text"],
        json!({
            "channelId": id(), "text": text(MAX_TEXT_CHARS),
            "attachmentIds": {"type": "array", "items": id()}, "clientId": text(MAX_CLIENT_ID_CHARS)
        }),
    )
}

pub(super) fn ping_status() -> Value {
    object(
        &["status"],
        json!({
            "agentId": id(), "status": {"enum": ["active", "busy", "error", "offline"]},
            "message": text(500)
        }),
    )
}

pub(super) fn update_stream() -> Value {
    object(
        &["channelId"],
        json!({
            "channelId": id(), "text": text(MAX_TEXT_CHARS), "complete": {"type": "boolean"},
            "streamState": {"enum": ["streaming", "complete", "aborted"]}
        }),
    )
}

pub(super) fn stream_status() -> Value {
    object(
        &["channelId", "text"],
        json!({"channelId": id(), "text": text(2_000), "toolHint": {"type": "boolean"}}),
    )
}

pub(super) fn stream_delta() -> Value {
    object(
        &["channelId", "delta"],
        json!({"channelId": id(), "delta": text(MAX_TEXT_CHARS), "streamEnd": {"type": "boolean"}}),
    )
}

pub(super) fn thread_event() -> Value {
    let kinds: Vec<&str> = assent_core::thread::event_types().collect();
    json!({"type": "object", "required": ["event_type"], "properties": {"event_type": {"enum": kinds}}})
}

pub(super) fn set_webhook() -> Value {
    object(
        &["channelId", "url"],
        json!({"channelId": id(), "url": url(), "headers": headers(), "auth": webhook_auth()}),
    )
}

pub(super) fn delete_webhook() -> Value {
    object(&["channelId"], json!({"channelId": id()}))
}

pub(super) fn login() -> Value {
    object(
        &["email", "password"],
        json!({"email": {"type": "string", "format": "email", "maxLength": 254}, "password": text(1024)}),
    )
}

pub(super) fn change_password() -> Value {
    object(
        &["currentPassword", "newPassword"],
        json!({"currentPassword": text(1024), "newPassword": {"type": "string", "minLength": 8, "maxLength": 256}}),
    )
}

pub(super) fn create_user() -> Value {
    object(
        &["email", "displayName", "password"],
        json!({
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "displayName": text(MAX_NAME_CHARS),
            "password": {"type": "string", "minLength": 8, "maxLength": 256},
            "role": {"enum": ["owner", "member"]}
        }),
    )
}

pub(super) fn update_user() -> Value {
    object(
        &[],
        json!({"displayName": text(MAX_NAME_CHARS), "role": {"enum": ["owner", "member"]}}),
    )
}

pub(super) fn create_api_key() -> Value {
    object(&[], json!({"label": text(MAX_LABEL_CHARS)}))
}

pub(super) fn respond() -> Value {
    object(
        &["response"],
        json!({
            "response": {"type": "object"}, "feedback": nullable(text(10_000)),
            "modifiedFileIds": {"type": "array", "items": id()}
        }),
    )
}
