//! Review rules: creation, answers, expiry, redaction and the stored JSON.
use super::*;
use serde_json::json;

const NOW: Millis = Millis(1_750_000_000_000);

fn parse(v: Value) -> Result<Review, ValidationError> {
    Review::create(&v, NOW, ReviewLimits::default())
}

fn first_error(v: Value) -> String {
    parse(v).unwrap_err().to_string()
}

#[test]
fn approval_payloads() {
    let spec = parse(json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A", "style": "primary"}], "allowComment": true}})).unwrap();
    assert_eq!(spec.kind(), "approval");
    assert_eq!(spec.deadline, NOW.plus_secs(86_400));
    assert_eq!(spec.to_json()["status"], "pending");
    assert_eq!(
        first_error(
            json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A"}, {"id": "", "label": "B"}]}})
        ),
        "review.payload.options[1].id: must not be empty"
    );
    assert_eq!(
        first_error(json!({"type": "approval", "payload": {"options": []}})),
        "review.payload.options: must have at least one entry"
    );
    assert!(first_error(json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A", "style": "loud"}]}})).starts_with("review.payload.options[0].style"));
    assert!(first_error(json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]}})).contains("unique"));
    let d = parse(json!({"type": "approval"})).unwrap();
    assert_eq!(
        d.to_json()["payload"]["options"][0]["id"],
        "approve",
        "Placet's default buttons"
    );
}

#[test]
fn types_and_expiry() {
    assert_eq!(
        first_error(json!({"type": "approve"})),
        "review.type: must be one of: approval, selection, form, text-input, freeform"
    );
    assert_eq!(
        first_error(json!({"payload": {}})),
        "review.type: is required"
    );
    assert_eq!(
        parse(json!({"type": "freeform", "expiresInSeconds": 60}))
            .unwrap()
            .deadline,
        NOW.plus_secs(60)
    );
    assert_eq!(
        parse(json!({"type": "freeform", "expiresInSeconds": 999_999}))
            .unwrap()
            .deadline,
        NOW.plus_secs(129_600),
        "capped at the maximum"
    );
    assert!(
        first_error(json!({"type": "freeform", "expiresInSeconds": 0}))
            .starts_with("review.expiresInSeconds")
    );
    assert!(
        first_error(json!({"type": "freeform", "expiresInSeconds": 1.5}))
            .starts_with("review.expiresInSeconds")
    );
    assert_eq!(
        first_error(json!({"type": "freeform", "expiresAt": "2020-01-01T00:00:00Z"})),
        "review.expiresAt: Review expiration must be in the future"
    );
    assert_eq!(
        first_error(json!({"type": "freeform", "expiresAt": "tomorrow"})),
        "review.expiresAt: expiresAt must be a valid ISO date string"
    );
    let at = NOW.plus_secs(3600);
    assert_eq!(
        parse(json!({"type": "freeform", "expiresAt": at.to_iso()}))
            .unwrap()
            .deadline,
        at
    );
}

#[test]
fn form_payloads_cover_every_field_type() {
    let fields: Vec<Value> = FieldType::ALL
        .iter()
        .map(|t| {
            let mut f = json!({"name": format!("f_{t}"), "type": t, "label": t});
            if *t == "select" {
                f["options"] = json!([{"value": "a", "label": "A"}, "b"]);
            }
            f
        })
        .collect();
    parse(json!({"type": "form", "payload": {"fields": fields}})).unwrap();
    assert!(first_error(json!({"type": "form", "payload": {"fields": [{"name": "x", "type": "select", "label": "X"}]}})).contains("options"));
    assert!(first_error(json!({"type": "form", "payload": {"fields": [{"name": "x", "type": "color", "label": "X"}]}})).starts_with("review.payload.fields[0].type"));
    assert!(first_error(json!({"type": "form", "payload": {"fields": [{"name": "n", "type": "number", "label": "N", "min": 5, "max": 1}]}})).contains("max"));
    assert!(first_error(json!({"type": "form", "payload": {"fields": [{"name": "n", "type": "number", "label": "N", "max": 3, "defaultValue": 7}]}})).contains("defaultValue"));
    assert!(
        first_error(json!({"type": "text-input", "payload": {"minLength": 10, "maxLength": 5}}))
            .contains("maxLength")
    );
}

fn answer(review: Value, response: Value) -> Result<Value, String> {
    let review = parse(review).unwrap();
    let reply = Reply {
        response: response.clone(),
        feedback: None,
        modified_file_ids: None,
        request_changes: false,
    };
    match review.respond(&reply, NOW) {
        Ok(r) => Ok(r.answer.unwrap().response),
        Err(Refusal::Invalid(e)) => Err(e.to_string()),
        Err(e) => panic!("not a validation refusal: {e}"),
    }
}

#[test]
fn answers_are_checked_against_their_review() {
    let approval = json!({"type": "approval", "payload": {"options": [{"id": "approve", "label": "OK"}, {"id": "reject", "label": "No"}]}});
    assert!(answer(approval.clone(), json!({"selectedOption": "approve"})).is_ok());
    assert!(
        answer(approval.clone(), json!({"selectedOption": "maybe"}))
            .unwrap_err()
            .starts_with("response.selectedOption: must be one of")
    );
    assert_eq!(
        answer(
            approval.clone(),
            json!({"selectedOption": "approve", "comment": "hi"})
        )
        .unwrap_err(),
        "response.comment: is not allowed on this review"
    );
    assert!(answer(approval.clone(), json!({"_dismissed": true})).is_err());
    let single = json!({"type": "selection", "payload": {"items": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}});
    assert!(answer(single.clone(), json!({"selectedIds": ["a"]})).is_ok());
    assert!(
        answer(single.clone(), json!({"selectedIds": ["a", "b"]}))
            .unwrap_err()
            .contains("exactly one")
    );
    assert!(answer(single.clone(), json!({"selectedIds": []})).is_err());
    assert!(answer(single.clone(), json!({"_dismissed": true})).is_ok());
    let multi = json!({"type": "selection", "payload": {"mode": "multi", "items": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]}});
    assert!(answer(multi.clone(), json!({"selectedIds": ["a", "b"]})).is_ok());
    assert_eq!(
        answer(multi, json!({"selectedIds": ["a", "z"]})).unwrap_err(),
        "response.selectedIds[1]: must be one of: a, b"
    );
    let form = json!({"type": "form", "payload": {"fields": [
        {"name": "age", "type": "number", "label": "Age", "min": 0, "max": 120, "required": true},
        {"name": "email", "type": "email", "label": "E"},
        {"name": "when", "type": "date", "label": "D"},
        {"name": "env", "type": "select", "label": "Env", "options": ["staging", "prod"]},
        {"name": "ok", "type": "checkbox", "label": "OK"},
        {"name": "secret", "type": "password", "label": "P"},
        {"name": "vol", "type": "range", "label": "V", "min": 0, "max": 10, "step": 2}
    ]}});
    assert!(answer(form.clone(), json!({"age": "42", "email": "a@b.co", "when": "2026-01-31", "env": "prod", "ok": true, "secret": "x", "vol": 4})).is_ok());
    assert_eq!(
        answer(form.clone(), json!({})).unwrap_err(),
        "response.age: is required"
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 200})).unwrap_err(),
        "response.age: must be at most 120"
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 1, "email": "nope"})).unwrap_err(),
        "response.email: must be an email address"
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 1, "when": "2026-02-30"})).unwrap_err(),
        "response.when: must be a date (YYYY-MM-DD)"
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 1, "env": "dev"})).unwrap_err(),
        "response.env: must be one of the field's options"
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 1, "ok": "yes"})).unwrap_err(),
        "response.ok: must be a boolean"
    );
    assert!(
        answer(form.clone(), json!({"age": 1, "vol": 3}))
            .unwrap_err()
            .starts_with("response.vol: must be a multiple")
    );
    assert_eq!(
        answer(form.clone(), json!({"age": 1, "extra": 1})).unwrap_err(),
        "response.extra: is not a field of this review"
    );
    let text = json!({"type": "text-input", "payload": {"minLength": 3, "maxLength": 5}});
    assert!(answer(text.clone(), json!({"text": "abcd"})).is_ok());
    assert_eq!(
        answer(text.clone(), json!({"text": "ab"})).unwrap_err(),
        "response.text: must be at least 3 characters"
    );
    assert_eq!(
        answer(text.clone(), json!({"text": "abcdef"})).unwrap_err(),
        "response.text: must be at most 5 characters"
    );
    assert!(answer(json!({"type": "freeform"}), json!({"anything": [1, 2]})).is_ok());
    assert_eq!(
        answer(json!({"type": "freeform"}), json!("no")).unwrap_err(),
        "response: must be an object"
    );
}

fn reply(response: Value) -> Reply {
    Reply {
        response,
        feedback: Some("looks good".into()),
        modified_file_ids: None,
        request_changes: false,
    }
}

#[test]
fn password_answers_are_redacted() {
    let r = parse(json!({"type": "form", "payload": {"fields": [{"name": "pw", "type": "password", "label": "P"}, {"name": "user", "type": "text", "label": "U"}]}})).unwrap();
    let answered = r
        .respond(&reply(json!({"pw": "hunter2", "user": "ada"})), NOW)
        .unwrap();
    assert_eq!(
        answered.redacted().to_json()["response"],
        json!({"pw": REDACTED, "user": "ada"})
    );
    assert_eq!(
        answered.to_json()["response"]["pw"],
        "hunter2",
        "only the redacted view hides it"
    );
}

#[test]
fn first_answer_wins_and_the_deadline_is_final() {
    let r = parse(json!({"type": "freeform", "expiresInSeconds": 60})).unwrap();
    let done = r.respond(&reply(json!({"ok": 1})), NOW).unwrap();
    assert_eq!(done.status, ReviewStatus::Completed);
    let a = done.answer.as_ref().unwrap();
    assert_eq!(
        (a.completed_at, a.feedback.as_deref()),
        (NOW, Some("looks good"))
    );
    assert_eq!(
        done.respond(&reply(json!({})), NOW),
        Err(Refusal::AlreadyResponded)
    );
    let late = NOW.plus_secs(60);
    assert_eq!(
        r.respond(&reply(json!({})), late),
        Err(Refusal::PastDeadline),
        "a pending review past its deadline must be expired, not answered"
    );
    assert_eq!(r.expire(NOW.plus_secs(59)), None, "not due yet");
    let expired = r.expire(late).unwrap();
    assert_eq!(expired.status, ReviewStatus::Expired);
    assert_eq!(expired.expire(late), None, "expires once");
    assert_eq!(
        expired.respond(&reply(json!({})), late),
        Err(Refusal::Expired)
    );
    assert_eq!(done.expire(late), None, "an answered review never expires");
}

/// Every shape the API accepts, as stored by the previous release (keys in its order).
fn previous_release_rows() -> Vec<Value> {
    let at = "2025-06-16T15:06:40.000Z";
    vec![
        json!({"type": "approval", "payload": {"options": [{"id": "approve", "label": "Approve", "style": "primary"}, {"id": "reject", "label": "Reject", "style": "danger"}]}, "status": "pending", "expiresAt": at, "response": null, "completedAt": null, "feedback": null}),
        json!({"type": "approval", "payload": {"options": [{"id": "ship", "label": "Ship it", "icon": "rocket"}], "allowComment": true, "title": "Deploy?"}, "status": "completed", "expiresAt": at, "response": {"selectedOption": "ship", "comment": "go"}, "completedAt": at, "feedback": "careful", "callback": {"url": "https://example.com/cb", "method": "PUT", "headers": {"X-A": "1"}}, "modifiedFileIds": {"f1": "f2"}}),
        json!({"type": "selection", "payload": {"items": [{"id": "a", "label": "A", "description": "first"}, {"id": "b", "label": "B"}], "mode": "multi", "submitLabel": "Pick"}, "status": "expired", "expiresAt": at, "response": null, "completedAt": null, "feedback": null}),
        json!({"type": "form", "payload": {"fields": [
            {"name": "age", "type": "number", "label": "Age", "min": 0, "max": 120.5, "step": 0.5, "required": true, "unit": "y"},
            {"name": "env", "type": "select", "label": "Env", "options": ["staging", {"value": "prod", "label": "Production", "hint": "careful"}], "defaultValue": "staging"},
            {"name": "ok", "type": "checkbox", "label": "OK", "defaultValue": false},
            {"name": "pw", "type": "password", "label": "P", "placeholder": "secret"}
        ], "dismissLabel": "Later"}, "status": "completed", "expiresAt": at, "response": {"age": "42", "env": "prod", "ok": true, "pw": "x"}, "completedAt": at, "feedback": null}),
        json!({"type": "text-input", "payload": {"placeholder": "Why?", "markdown": true, "minLength": 3, "maxLength": 500, "prefill": "Because"}, "status": "pending", "expiresAt": at, "response": null, "completedAt": null, "feedback": null}),
        json!({"type": "freeform", "payload": {"anything": [1, {"nested": true}]}, "status": "completed", "expiresAt": at, "response": {"free": "form"}, "completedAt": at, "feedback": null}),
        // Written before payloads were validated: still loads, and stays as it was.
        json!({"type": "approval", "payload": {"options": "yes or no"}, "status": "pending", "expiresAt": at, "response": null, "completedAt": null, "feedback": null}),
        json!({"type": "poll", "payload": {"q": 1}, "status": "pending", "expiresAt": at, "response": null, "completedAt": null, "feedback": null, "someday": 1}),
    ]
}

#[test]
fn stored_rows_of_the_previous_release_load_and_write_back_unchanged() {
    for row in previous_release_rows() {
        let review: Review = serde_json::from_value(row.clone()).unwrap();
        let back = serde_json::to_value(&review).unwrap();
        assert_eq!(back, row, "semantically equal");
        // Top-level keys keep the previous release's order, byte for byte.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&back), keys(&row));
    }
    let legacy: Review = serde_json::from_value(previous_release_rows()[6].clone()).unwrap();
    assert!(matches!(legacy.spec, ReviewSpec::Unchecked { .. }));
    assert!(
        legacy.respond(&reply(json!({"any": 1})), Millis(0)).is_ok(),
        "an unchecked review takes any object, as before"
    );
}

#[test]
fn created_reviews_store_what_the_previous_release_stored() {
    let r = parse(json!({"type": "selection", "payload": {"items": [{"id": "a", "label": "A"}], "extraKey": 7}, "expiresInSeconds": 60, "callback": {"url": "https://example.com/x"}})).unwrap();
    assert_eq!(
        r.to_json().to_string(),
        json!({"type": "selection", "payload": {"mode": "single", "items": [{"id": "a", "label": "A"}], "extraKey": 7}, "status": "pending",
               "expiresAt": NOW.plus_secs(60).to_iso(), "response": null, "completedAt": null, "feedback": null,
               "callback": {"url": "https://example.com/x"}}).to_string()
    );
    assert!(matches!(r.spec, ReviewSpec::Selection(ref s) if s.mode == SelectionMode::Single));
}

#[test]
fn options_on_non_select_fields_must_read_as_options() {
    assert_eq!(
        first_error(
            json!({"type": "form", "payload": {"fields": [{"name": "x", "type": "text", "label": "X", "options": 5}]}})
        ),
        "review.payload.fields[0].options: must be an array of options"
    );
}

#[test]
fn logged_events_of_the_previous_release_load_and_write_back_unchanged() {
    for row in previous_release_rows() {
        let logged = json!({"type": "review_responded", "message": {
            "id": "m1", "channel_id": "c1", "seq": 3, "sender_type": "agent", "sender_id": "c1",
            "text": "Deploy?", "status": null, "review": row, "metadata": null, "client_id": null,
            "stream_id": null, "stream_state": null, "delivery_status": "sent",
            "iteration_group_id": null, "iteration": null, "created_at": 1, "updated_at": 2}});
        let event: crate::DomainEvent = serde_json::from_value(logged.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), logged);
    }
}

#[test]
fn changes_can_be_requested_on_any_kind_with_feedback_only() {
    for kind in ReviewType::ALL {
        let r = parse(json!({"type": kind, "payload": match *kind {
            "selection" => json!({"items": [{"id": "a", "label": "A"}]}),
            "form" => json!({"fields": [{"name": "x", "type": "text", "label": "X", "required": true}]}),
            _ => json!({}),
        }}))
        .unwrap();
        let ask = |feedback: Option<&str>, response: Value| Reply {
            response,
            feedback: feedback.map(str::to_owned),
            modified_file_ids: None,
            request_changes: true,
        };
        let done = r
            .respond(&ask(Some("shorter, please"), Value::Null), NOW)
            .unwrap();
        assert_eq!(done.status, ReviewStatus::ChangesRequested, "{kind}");
        let a = done.answer.as_ref().unwrap();
        assert_eq!(
            (&a.response, a.feedback.as_deref()),
            (&Value::Null, Some("shorter, please"))
        );
        let stored = done.to_json();
        assert_eq!(stored["status"], "changes_requested");
        assert_eq!(stored["completedAt"], NOW.to_iso());
        let back: Review = serde_json::from_value(stored).unwrap();
        assert_eq!(back, done, "loads back");
        assert_eq!(
            done.respond(&reply(json!({})), NOW),
            Err(Refusal::AlreadyResponded)
        );
        assert_eq!(
            done.expire(NOW.plus_secs(999_999)),
            None,
            "settled: never expires"
        );
        let Err(Refusal::Invalid(e)) = r.respond(&ask(Some("  "), Value::Null), NOW) else {
            panic!("blank feedback must be refused");
        };
        assert_eq!(
            e.to_string(),
            "feedback: is required when requesting changes"
        );
        let Err(Refusal::Invalid(e)) =
            r.respond(&ask(Some("x"), json!({"selectedOption": "approve"})), NOW)
        else {
            panic!("an answer with a change request must be refused");
        };
        assert_eq!(e.errors[0].path, "response");
    }
}
