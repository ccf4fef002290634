//! Agent-reported lifecycle events of the thread stream (seed 003): validation of
//! `POST /api/v1/threads/:threadId/events` bodies.

use crate::validate::ValidationError;
use serde_json::{Map, Value};

/// `(event_type, required string fields, optional fields)`.
const KINDS: &[(&str, &[&str], &[&str])] = &[
    (
        "tool_call_started",
        &["tool_call_id", "tool_name"],
        &["workflow_id", "preview"],
    ),
    (
        "tool_call_completed",
        &["tool_call_id", "tool_name"],
        &["workflow_id", "preview", "success"],
    ),
    (
        "escalation_created",
        &["target"],
        &["workflow_id", "reason"],
    ),
    ("conversation_started", &["workflow_id"], &[]),
    ("conversation_completed", &["workflow_id"], &[]),
    ("conversation_failed", &["workflow_id"], &["error"]),
];

const MAX_STRING: usize = 2_000;
const MAX_PREVIEW_BYTES: usize = 16_384;

/// Every `event_type` an agent may report.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(k, _, _)| *k)
}

/// Validates a reported event; returns its type and its fields (without `event_type`).
pub fn parse_thread_event(v: &Value) -> Result<(String, Map<String, Value>), ValidationError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ValidationError::single("", "body must be an object"))?;
    let kind = obj
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or_else(|| ValidationError::single("event_type", "is required"))?;
    let Some((_, required, optional)) = KINDS.iter().find(|(k, _, _)| *k == kind) else {
        let all: Vec<&str> = KINDS.iter().map(|(k, _, _)| *k).collect();
        return Err(ValidationError::single(
            "event_type",
            format!("must be one of: {}", all.join(", ")),
        ));
    };
    let mut errors = Vec::new();
    let mut fail = |p: &str, m: &str| {
        errors.push(crate::validate::FieldError {
            path: p.into(),
            message: m.into(),
        })
    };
    let mut out = Map::new();
    for (k, val) in obj {
        if k == "event_type" || k == "thread_id" {
            continue;
        }
        if !required.contains(&k.as_str()) && !optional.contains(&k.as_str()) {
            fail(k, "is not a field of this event type");
            continue;
        }
        let ok = match k.as_str() {
            "preview" => val.is_object() && val.to_string().len() <= MAX_PREVIEW_BYTES,
            "success" => val.is_boolean(),
            _ => val
                .as_str()
                .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= MAX_STRING),
        };
        if !ok {
            fail(
                k,
                match k.as_str() {
                    "preview" => "must be an object of at most 16 KiB",
                    "success" => "must be a boolean",
                    _ => "must be a non-empty string of at most 2000 characters",
                },
            );
            continue;
        }
        out.insert(k.clone(), val.clone());
    }
    for r in *required {
        if !obj.contains_key(*r) {
            fail(r, "is required");
        }
    }
    if errors.is_empty() {
        Ok((kind.to_owned(), out))
    } else {
        Err(ValidationError { errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_per_kind() {
        let (k, f) = parse_thread_event(&json!({"event_type": "tool_call_started", "tool_call_id": "c1", "tool_name": "lookup", "preview": {"email": "a@b.c"}})).unwrap();
        assert_eq!(k, "tool_call_started");
        assert_eq!(f["tool_name"], "lookup");
        assert_eq!(
            parse_thread_event(&json!({"event_type": "tool_call_started", "tool_name": "x"}))
                .unwrap_err()
                .to_string(),
            "tool_call_id: is required"
        );
        assert!(
            parse_thread_event(&json!({"event_type": "dance"}))
                .unwrap_err()
                .to_string()
                .starts_with("event_type: must be one of")
        );
        assert_eq!(
            parse_thread_event(
                &json!({"event_type": "conversation_failed", "workflow_id": "w", "error": 3})
            )
            .unwrap_err()
            .errors[0]
                .path,
            "error"
        );
        assert_eq!(
            parse_thread_event(
                &json!({"event_type": "conversation_started", "workflow_id": "w", "extra": 1})
            )
            .unwrap_err()
            .errors[0]
                .path,
            "extra"
        );
    }
}
