//! `text-input`: the human writes a text (optionally Markdown), within length bounds.

use super::MAX_ANSWER_TEXT;
use super::check::typed;
use crate::validate::Checker;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TextInput {
    /// Validates a text-input payload (path prefix `review.payload`).
    pub(crate) fn parse(payload: Map<String, Value>, c: &mut Checker) -> Option<Self> {
        let p = "review.payload";
        c.opt_strs(
            &payload,
            &["placeholder", "prefill", "submitLabel", "dismissLabel"],
            p,
        );
        c.opt_bool(&payload, "markdown", p);
        let min = c.opt_pos_int(&payload, "minLength", p);
        let max = c.opt_pos_int(&payload, "maxLength", p);
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            c.fail(format!("{p}.maxLength"), "must not be less than minLength");
        }
        typed(c, payload)
    }

    /// Checks `{text}` against the length bounds (counted after trimming).
    pub(crate) fn check_answer(&self, r: &Map<String, Value>, c: &mut Checker) {
        let p = "response.text";
        match r.get("text") {
            Some(Value::String(s)) => {
                let n = s.trim().chars().count();
                let min = self.min_length.unwrap_or(1).max(1) as usize;
                let max = self.max_length.map_or(MAX_ANSWER_TEXT, |m| m as usize);
                if n == 0 {
                    c.fail(p, "must not be empty");
                } else if n < min {
                    c.fail(p, format!("must be at least {min} characters"));
                } else if n > max {
                    c.fail(p, format!("must be at most {max} characters"));
                }
            }
            None | Some(Value::Null) => c.fail(p, "is required"),
            Some(_) => c.fail(p, "must be a string"),
        }
        c.only_keys(r, &["text"]);
    }
}
