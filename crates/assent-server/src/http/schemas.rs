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
    json!({"type": "array", "maxItems": 100, "items": {"type": "object", "required": ["command"], "properties": {
        "command": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S"},
        "description": text(MAX_URL_CHARS), "acceptsArgs": {"type": "boolean"}
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
            "channelId": id(), "text": text(MAX_TEXT_CHARS), "status": {"enum": ["info", "success", "warning", "error"]},
            "review": review, "metadata": {"type": "object"}, "webhookUrl": url(),
            "attachmentIds": {"type": "array", "maxItems": 20, "items": id()},
            "textAttachments": {"type": "array", "maxItems": 20, "items": {"type": "object", "required": ["content"], "properties": {
                "content": {"type": "string", "minLength": 1}, "filename": text(255), "mimeType": text(100)
            }}},
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
        &["agentId"],
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
    let mut s = object(
        &[],
        json!({
            "response": {"type": "object"}, "feedback": nullable(text(10_000)),
            "requestChanges": {"type": "boolean"},
            "modifiedFileIds": nullable(json!({"type": "object", "additionalProperties": id()}))
        }),
    );
    // An answer, or a request for changes with feedback.
    s["anyOf"] = json!([
        {"required": ["response"]},
        {"required": ["requestChanges", "feedback"], "properties": {"requestChanges": {"const": true}}}
    ]);
    s
}

// ---- response bodies (the `2XX` content of each route in the OpenAPI document) ----

fn string() -> Value {
    json!({"type": "string"})
}

fn opt(v: Value) -> Value {
    nullable(v)
}

fn int() -> Value {
    json!({"type": "integer"})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

pub(super) fn agent_record() -> Value {
    object(
        &["id", "name", "status", "isSubagent", "createdAt", "lastSeq"],
        json!({
            "id": string(), "name": string(), "description": opt(string()), "avatarUrl": opt(string()),
            "webhookUrl": opt(string()), "webhookHeaders": opt(json!({"type": "object"})),
            "webhookAuth": opt(json!({"type": "object"})), "status": string(),
            "statusMessage": opt(string()), "statusSince": opt(string()), "lastActiveAt": opt(string()),
            "commands": opt(json!({"type": "array"})), "tag": opt(string()), "isSubagent": {"type": "boolean"},
            "parentAgentId": opt(string()), "createdAt": string(), "lastSeq": int(),
            "lastMessage": opt(string()), "lastMessageTime": opt(string()), "unreadCount": int(),
            "webhookDisabledAt": opt(string()), "webhookDisabledReason": opt(string()),
            "webhookSecret": string(),
        }),
    )
}

pub(super) fn agent_list() -> Value {
    array(agent_record())
}

pub(super) fn message_record() -> Value {
    object(
        &[
            "id",
            "channelId",
            "senderType",
            "senderId",
            "deliveryStatus",
            "createdAt",
            "updatedAt",
            "seq",
        ],
        json!({
            "id": string(), "channelId": string(), "senderType": {"enum": ["agent", "user"]},
            "senderId": string(), "text": opt(string()), "status": opt(string()),
            "review": opt(json!({"type": "object", "required": ["type", "payload", "status", "expiresAt"]})),
            "metadata": opt(json!({"type": "object"})), "clientId": opt(string()), "streamId": opt(string()),
            "streamState": opt(string()), "deliveryStatus": string(), "iterationGroupId": opt(string()),
            "iteration": opt(int()), "createdAt": string(), "updatedAt": string(),
            "attachments": array(attachment_record()), "statusEvents": array(json!({"type": "object"})),
            "seq": int(), "agentName": string(),
        }),
    )
}

pub(super) fn attachment_record() -> Value {
    object(
        &[
            "id",
            "messageId",
            "channelId",
            "filename",
            "mimeType",
            "size",
            "pluginType",
            "uploadedBy",
            "createdAt",
        ],
        json!({
            "id": string(), "messageId": opt(string()), "channelId": string(), "filename": string(),
            "mimeType": string(), "size": int(), "pluginType": {"enum": ["@uax/image", "@uax/file"]},
            "uploadedBy": {"enum": ["agent", "user"]}, "createdAt": string(), "textContent": string(),
        }),
    )
}

pub(super) fn upload_record() -> Value {
    let mut v = attachment_record();
    if let Some(r) = v["required"].as_array_mut() {
        r.push(json!("message"));
    }
    v["properties"]["message"] = message_record();
    v
}

pub(super) fn file_page() -> Value {
    let mut file = attachment_record();
    if let Some(r) = file["required"].as_array_mut() {
        r.push(json!("message"));
    }
    file["properties"]["message"] = opt(object(
        &["channelId", "createdAt"],
        json!({"channelId": string(), "createdAt": string()}),
    ));
    object(
        &["data", "nextCursor"],
        json!({"data": array(file), "nextCursor": opt(string())}),
    )
}

/// A `multipart/form-data` upload: `channelId`, optional `text`, and the `file` part. The
/// marker tells the OpenAPI document to list it under that media type.
pub(super) fn upload_form() -> Value {
    let mut v = object(
        &["channelId", "file"],
        json!({"channelId": id(), "text": text(MAX_TEXT_CHARS), "file": {"type": "string", "format": "binary"}}),
    );
    v[MULTIPART] = json!(true);
    v
}

/// A file's bytes (its `Content-Type` is the file's own, or `application/octet-stream`).
pub(super) fn file_bytes() -> Value {
    json!({"type": "string", "format": "binary", BINARY: true})
}

/// Markers `openapi_document` turns into media types.
pub(super) const MULTIPART: &str = "x-multipart";
pub(super) const BINARY: &str = "x-binary";

/// The media type a schema is served as, and the schema without its marker.
pub(super) fn media(mut schema: Value, default: &'static str) -> (&'static str, Value) {
    let Some(o) = schema.as_object_mut() else {
        return (default, schema);
    };
    if o.remove(MULTIPART).is_some() {
        ("multipart/form-data", schema)
    } else if o.remove(BINARY).is_some() {
        ("application/octet-stream", schema)
    } else {
        (default, schema)
    }
}

pub(super) fn plugin_manifest() -> Value {
    object(
        &["name", "displayName", "version"],
        json!({"name": string(), "displayName": string(), "description": string(), "version": string(),
               "author": string(), "inputSchema": {"type": "object"}}),
    )
}

pub(super) fn plugin_list() -> Value {
    array(plugin_manifest())
}

pub(super) fn store_text() -> Value {
    object(
        &["channelId", "content"],
        json!({
            "channelId": id(), "content": {"type": "string", "minLength": 1, "maxLength": 1_048_576},
            "filename": text(255), "mimeType": text(100)
        }),
    )
}

pub(super) fn message_list() -> Value {
    array(message_record())
}

pub(super) fn message_page() -> Value {
    object(
        &["data"],
        json!({"data": message_list(), "nextCursor": opt(string()), "nextAfter": int()}),
    )
}

pub(super) fn wait_response() -> Value {
    object(
        &["status"],
        json!({"status": {"enum": ["completed", "expired", "changes_requested", "timeout"]}, "message": message_record()}),
    )
}

pub(super) fn iteration_chain() -> Value {
    object(
        &["groupId", "iterations"],
        json!({"groupId": string(), "iterations": message_list()}),
    )
}

pub(super) fn user_record() -> Value {
    object(
        &[
            "id",
            "email",
            "displayName",
            "role",
            "mustChangePassword",
            "createdAt",
        ],
        json!({"id": string(), "email": string(), "displayName": string(), "role": {"enum": ["owner", "member"]},
               "mustChangePassword": {"type": "boolean"}, "createdAt": string()}),
    )
}

pub(super) fn user_list() -> Value {
    array(user_record())
}

pub(super) fn me() -> Value {
    object(&["user"], json!({"user": user_record()}))
}

pub(super) fn login_response() -> Value {
    object(
        &["user", "token", "expiresAt"],
        json!({"user": user_record(), "token": string(), "expiresAt": string()}),
    )
}

pub(super) fn api_key_record() -> Value {
    object(
        &["id", "userId", "label", "keyPrefix", "createdAt"],
        json!({"id": string(), "userId": string(), "label": string(), "keyPrefix": string(),
               "lastUsedAt": opt(string()), "createdAt": string(), "key": string()}),
    )
}

pub(super) fn api_key_list() -> Value {
    array(api_key_record())
}

pub(super) fn ticket() -> Value {
    object(
        &["ticket", "expiresAt"],
        json!({"ticket": string(), "expiresAt": string()}),
    )
}

pub(super) fn deliveries() -> Value {
    let attempt = object(
        &["attempt", "at", "durationMs"],
        json!({"attempt": int(), "at": string(), "statusCode": opt(int()), "durationMs": int(), "error": opt(string())}),
    );
    let delivery = object(
        &[
            "id",
            "channelId",
            "messageId",
            "event",
            "seq",
            "target",
            "url",
            "state",
            "attempts",
            "attemptLog",
        ],
        json!({"id": string(), "channelId": string(), "messageId": string(), "event": string(), "seq": int(),
               "target": {"enum": ["agent", "message", "callback"]}, "url": string(),
               "state": {"enum": ["pending", "delivered", "failed"]}, "attempts": int(), "maxAttempts": int(),
               "nextAttemptAt": opt(string()), "lastStatus": opt(int()), "lastError": opt(string()),
               "createdAt": string(), "updatedAt": string(), "attemptLog": array(attempt)}),
    );
    object(&["data"], json!({"data": array(delivery)}))
}

pub(super) fn status_step() -> Value {
    object(
        &[
            "id",
            "channelId",
            "streamId",
            "index",
            "text",
            "toolHint",
            "createdAt",
        ],
        json!({"id": string(), "channelId": string(), "streamId": string(), "index": int(),
               "text": string(), "toolHint": {"type": "boolean"}, "createdAt": string()}),
    )
}

/// A small acknowledgement such as `{"deleted": true}` or `{"ok": true, "seq": 7}`.
pub(super) fn flag(name: &'static str) -> Value {
    object(&[name], json!({ name: {"type": "boolean"} }))
}

pub(super) fn deleted() -> Value {
    flag("deleted")
}

pub(super) fn acknowledged() -> Value {
    flag("acknowledged")
}

pub(super) fn retried() -> Value {
    flag("retried")
}

pub(super) fn ok_flag() -> Value {
    flag("ok")
}

pub(super) fn read_flag() -> Value {
    flag("read")
}

pub(super) fn webhook_secret() -> Value {
    object(&["webhookSecret"], json!({"webhookSecret": string()}))
}

pub(super) fn message_text() -> Value {
    object(&["message"], json!({"message": string()}))
}
