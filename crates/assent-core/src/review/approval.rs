//! `approval`: the human picks one of the agent's buttons, optionally with a comment.

use super::MAX_FEEDBACK;
use super::check::typed;
use crate::validate::Checker;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub options: Vec<ApprovalOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_comment: Option<bool>,
    /// Fields Assent does not read, passed through to the dashboard.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalOption {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    Primary,
    Danger,
    Secondary,
    Ghost,
}

const STYLES: &[&str] = &["primary", "danger", "secondary", "ghost"];

impl Approval {
    /// Validates an approval payload (path prefix `review.payload`). Missing options become
    /// Placet's default Approve / Reject buttons.
    pub(crate) fn parse(mut payload: Map<String, Value>, c: &mut Checker) -> Option<Self> {
        let p = "review.payload";
        payload.entry("options").or_insert_with(|| {
            json!([
                {"id": "approve", "label": "Approve", "style": "primary"},
                {"id": "reject", "label": "Reject", "style": "danger"}
            ])
        });
        let mut ids = Vec::new();
        for (ip, o) in c.req_objects(&payload, "options", p) {
            c.unique_str(o, "id", &ip, &mut ids);
            c.req_str(o, "label", &ip);
            match o.get("style") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if STYLES.contains(&s.as_str()) => {}
                Some(_) => c.fail(
                    format!("{ip}.style"),
                    format!("must be one of: {}", STYLES.join(", ")),
                ),
            }
        }
        c.opt_bool(&payload, "allowComment", p);
        typed(c, payload)
    }

    /// Checks `{selectedOption, comment?}` against the options.
    pub(crate) fn check_answer(&self, r: &Map<String, Value>, c: &mut Checker) {
        let ids: Vec<&str> = self.options.iter().map(|o| o.id.as_str()).collect();
        match r.get("selectedOption") {
            Some(Value::String(s)) if ids.contains(&s.as_str()) => {}
            Some(Value::String(_)) => c.fail(
                "response.selectedOption",
                format!("must be one of: {}", ids.join(", ")),
            ),
            None | Some(Value::Null) => c.fail("response.selectedOption", "is required"),
            Some(_) => c.fail("response.selectedOption", "must be a string"),
        }
        match r.get("comment") {
            None | Some(Value::Null) => {}
            Some(Value::String(_)) if self.allow_comment != Some(true) => {
                c.fail("response.comment", "is not allowed on this review")
            }
            Some(Value::String(s)) if s.chars().count() > MAX_FEEDBACK => {
                c.fail("response.comment", "is too long")
            }
            Some(Value::String(_)) => {}
            Some(_) => c.fail("response.comment", "must be a string"),
        }
        c.only_keys(r, &["selectedOption", "comment"]);
    }
}
