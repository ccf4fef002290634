//! `selection`: the human picks one item (`mode: single`, the default) or several (`multi`),
//! or dismisses the question.

use super::check::typed;
use crate::validate::Checker;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub mode: SelectionMode,
    pub items: Vec<SelectionItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_label: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionMode {
    Single,
    Multi,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectionItem {
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Selection {
    /// Validates a selection payload (path prefix `review.payload`).
    pub(crate) fn parse(mut payload: Map<String, Value>, c: &mut Checker) -> Option<Self> {
        let p = "review.payload";
        match payload.get("mode") {
            None | Some(Value::Null) => {
                payload.insert("mode".into(), Value::from("single"));
            }
            Some(Value::String(m)) if m == "single" || m == "multi" => {}
            Some(_) => c.fail(format!("{p}.mode"), "must be one of: single, multi"),
        }
        let mut ids = Vec::new();
        for (ip, o) in c.req_objects(&payload, "items", p) {
            c.unique_str(o, "id", &ip, &mut ids);
            c.req_str(o, "label", &ip);
            c.opt_strs(o, &["description"], &ip);
        }
        c.opt_strs(&payload, &["submitLabel", "dismissLabel"], p);
        typed(c, payload)
    }

    /// Checks `{selectedIds: [...]}` (exactly one in single mode, no repeats).
    pub(crate) fn check_answer(&self, r: &Map<String, Value>, c: &mut Checker) {
        let ids: Vec<&str> = self.items.iter().map(|i| i.id.as_str()).collect();
        let single = self.mode == SelectionMode::Single;
        let p = "response.selectedIds";
        match r.get("selectedIds") {
            Some(Value::Array(a)) if a.is_empty() => c.fail(p, "must not be empty"),
            Some(Value::Array(a)) if single && a.len() != 1 => {
                c.fail(p, "must have exactly one entry (single selection)")
            }
            Some(Value::Array(a)) => {
                let mut seen = Vec::new();
                for (i, v) in a.iter().enumerate() {
                    match v.as_str() {
                        Some(s) if !ids.contains(&s) => c.fail(
                            format!("{p}[{i}]"),
                            format!("must be one of: {}", ids.join(", ")),
                        ),
                        Some(s) if seen.contains(&s) => {
                            c.fail(format!("{p}[{i}]"), "is a duplicate")
                        }
                        Some(s) => seen.push(s),
                        None => c.fail(format!("{p}[{i}]"), "must be a string"),
                    }
                }
            }
            None | Some(Value::Null) => c.fail(p, "is required"),
            Some(_) => c.fail(p, "must be an array of item ids"),
        }
        c.only_keys(r, &["selectedIds"]);
    }
}
