//! Blocking tools for hosts that prefer one call per question: `ask_approval`,
//! `ask_selection`, `ask_form`, `ask_text`. Each posts the review, waits for the answer (as
//! `wait_for_review` does: woken by the commit, progress, cancellation), and returns it in a
//! form a model reads at a glance: one line of text saying what the human decided, plus the
//! structured answer. `timeout`, `expired`, `changes_requested` and `cancelled` are said
//! explicitly, never disguised as an answer.

use super::tools::{Args, Waited, answer, args, out, post, timeout_of, tool, wait_outcome};
use crate::app::{App, AppError};
use assent_core::model::Message;
use rmcp::model::{CallToolResult, Tool};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

/// The ask tools, with their schemas.
pub(super) fn tools() -> Vec<Tool> {
    let common = |mut props: Value| {
        props["question"] = json!({"type": "string", "description": "What to ask (markdown)."});
        props["channelId"] = json!({"type": "string", "description": "Channel (agent) id; defaults to the connection's ?channel=."});
        props["expiresInSeconds"] = json!({"type": "integer", "minimum": 1});
        props["connectionTimeoutMs"] = json!({"type": "integer", "minimum": 1, "description": "How long this call waits (default 5 min); then status timeout."});
        props
    };
    let result = out(json!({
        "status": {"enum": ["answered", "changes_requested", "expired", "timeout", "cancelled"]},
        "messageId": {"type": "string"}, "answer": {}, "feedback": {"type": ["string", "null"]},
    }));
    let strings = json!({"type": "array", "items": {"type": "string"}, "minItems": 1});
    vec![
        tool(
            "ask_approval",
            "Ask the human to approve or reject (or pick one of your options) and wait for the decision.",
            args(common(json!({"options": strings.clone()})), &["question"]),
            result.clone(),
        ),
        tool(
            "ask_selection",
            "Ask the human to pick one option (or several with multi) and wait for the choice.",
            args(
                common(json!({"options": strings, "multi": {"type": "boolean"}})),
                &["question", "options"],
            ),
            result.clone(),
        ),
        tool(
            "ask_form",
            "Ask the human to fill in a form (fields as in send_review_message's form payload) and wait for the values.",
            args(
                common(
                    json!({"fields": {"type": "array", "items": {"type": "object"}, "minItems": 1}}),
                ),
                &["question", "fields"],
            ),
            result.clone(),
        ),
        tool(
            "ask_text",
            "Ask the human for a written answer and wait for it.",
            args(
                common(json!({"placeholder": {"type": "string"}})),
                &["question"],
            ),
            result,
        ),
    ]
}

/// Labels as ids: `["Ship it", "Wait"]` → `[{id: "Ship it", label: "Ship it"}]`.
fn labelled(options: Option<Value>) -> Option<Value> {
    let list = options?.as_array()?.clone();
    let items: Vec<Value> = list
        .iter()
        .map(|o| match o {
            Value::String(s) => json!({"id": s, "label": s}),
            other => other.clone(),
        })
        .collect();
    Some(json!(items))
}

/// The review an ask tool posts.
fn review_of(name: &str, a: &Args<'_>) -> Value {
    let (kind, payload) = match name {
        "ask_approval" => match labelled(a.value("options")) {
            Some(options) => ("approval", json!({"options": options})),
            None => ("approval", json!({})),
        },
        "ask_selection" => {
            let mode = if a.value("multi") == Some(Value::Bool(true)) {
                "multi"
            } else {
                "single"
            };
            (
                "selection",
                json!({"mode": mode, "items": labelled(a.value("options"))}),
            )
        }
        "ask_form" => ("form", json!({"fields": a.value("fields")})),
        _ => ("text-input", json!({"placeholder": a.value("placeholder")})),
    };
    let mut review = json!({"type": kind, "payload": payload});
    if let Some(secs) = a.value("expiresInSeconds") {
        review["expiresInSeconds"] = secs;
    }
    review
}

pub(super) async fn call(
    app: &App,
    a: &Args<'_>,
    name: &str,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResult, AppError> {
    let mut a = Args {
        map: a.map.clone(),
        caller: a.caller,
    };
    if let Some(q) = a.value("question") {
        a.map.insert("text".into(), q);
    }
    let m = post(app, &a, Some(review_of(name, &a))).await?;
    let id = m.id.to_string();
    let (text, body) = match wait_outcome(app, &a, &id, timeout_of(&a), context).await? {
        Waited::Settled(status, m) => settled(status, &m),
        Waited::Timeout => (
            "No answer yet (timeout): the review is still pending; call wait_for_review with this messageId to keep waiting.".to_owned(),
            json!({"status": "timeout"}),
        ),
        Waited::Cancelled => ("Cancelled: the review is still pending.".to_owned(), json!({"status": "cancelled"})),
    };
    let mut body = body;
    body["messageId"] = json!(id);
    let mut r = answer(json!({}), body);
    r.content = vec![rmcp::model::ContentBlock::text(text)];
    Ok(r)
}

/// One line for the model, and the structured answer.
fn settled(status: &str, m: &Message) -> (String, Value) {
    let review = m.review.as_ref().map(|r| r.to_json()).unwrap_or_default();
    let response = review.get("response").cloned().unwrap_or_default();
    let feedback = review.get("feedback").cloned().unwrap_or(Value::Null);
    let with_feedback = |s: String| match feedback.as_str() {
        Some(f) => format!("{s} Feedback: {f}"),
        None => s,
    };
    match status {
        "expired" => (
            "The review expired unanswered.".to_owned(),
            json!({"status": "expired", "answer": null, "feedback": null}),
        ),
        "changes_requested" => (
            with_feedback("The human asked for changes instead of answering.".to_owned()),
            json!({"status": "changes_requested", "answer": null, "feedback": feedback}),
        ),
        _ => {
            let answer = plain_answer(&response);
            let line = with_feedback(format!("The human answered: {}", describe(&answer)));
            (
                line,
                json!({"status": "answered", "answer": answer, "feedback": feedback}),
            )
        }
    }
}

/// The answer without the review's wrapping: the chosen option, the chosen ids, the form's
/// values, or the text (`{"dismissed": true}` when dismissed).
fn plain_answer(response: &Value) -> Value {
    if response.get("_dismissed") == Some(&Value::Bool(true)) {
        return json!({"dismissed": true});
    }
    if let Some(choice) = response.get("selectedOption") {
        let mut v = json!({"choice": choice});
        if let Some(c) = response.get("comment").filter(|c| !c.is_null()) {
            v["comment"] = c.clone();
        }
        return v;
    }
    if let Some(ids) = response.get("selectedIds") {
        return json!({"selected": ids});
    }
    if let Some(text) = response.get("text") {
        return json!({"text": text});
    }
    json!({"values": response})
}

fn describe(answer: &Value) -> String {
    if let Some(c) = answer.get("choice").and_then(Value::as_str) {
        return match answer.get("comment").and_then(Value::as_str) {
            Some(comment) => format!("{c} (comment: {comment})"),
            None => c.to_owned(),
        };
    }
    if let Some(ids) = answer.get("selected") {
        return ids.to_string();
    }
    if let Some(t) = answer.get("text").and_then(Value::as_str) {
        return t.to_owned();
    }
    if answer.get("dismissed").is_some() {
        return "dismissed the question".to_owned();
    }
    answer
        .get("values")
        .map(Value::to_string)
        .unwrap_or_default()
}
