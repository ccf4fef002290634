//! `form`: the human fills in typed fields. Each field's answer (and default) is checked
//! by `values::check`.

use super::check::typed;
use super::values;
use crate::validate::Checker;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Form {
    pub fields: Vec<FormField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_label: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Numbers keep their JSON spelling (`5` stays `5`, not `5.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Number>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SelectOption>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Number,
    Email,
    Url,
    Textarea,
    Select,
    Checkbox,
    Date,
    Time,
    Datetime,
    Range,
    Password,
}

impl FieldType {
    pub const ALL: &'static [&'static str] = &[
        "text", "number", "email", "url", "textarea", "select", "checkbox", "date", "time",
        "datetime", "range", "password",
    ];
    fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::from(s)).ok()
    }
}

/// A select field's option: a bare value, or `{value, label}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SelectOption {
    Plain(String),
    Labeled {
        value: String,
        label: String,
        #[serde(flatten)]
        extra: Map<String, Value>,
    },
}

impl SelectOption {
    pub fn value(&self) -> &str {
        match self {
            SelectOption::Plain(v) | SelectOption::Labeled { value: v, .. } => v,
        }
    }
}

impl FormField {
    pub(crate) fn bound(&self, n: &Option<Number>) -> Option<f64> {
        n.as_ref().and_then(Number::as_f64)
    }
    pub fn is_required(&self) -> bool {
        self.required == Some(true)
    }
}

impl Form {
    /// Validates a form payload (path prefix `review.payload`).
    pub(crate) fn parse(payload: Map<String, Value>, c: &mut Checker) -> Option<Self> {
        let p = "review.payload";
        let mut names = Vec::new();
        for (fp, f) in c.req_objects(&payload, "fields", p) {
            check_field(c, &fp, f, &mut names);
        }
        c.opt_strs(&payload, &["submitLabel", "dismissLabel"], p);
        typed(c, payload)
    }

    /// Checks `{<field name>: value, ...}`: required fields present, each value valid for its
    /// field, no names that are not fields.
    pub(crate) fn check_answer(&self, r: &Map<String, Value>, c: &mut Checker) {
        for f in &self.fields {
            let path = format!("response.{}", f.name);
            match r.get(&f.name) {
                None | Some(Value::Null) if f.is_required() => c.fail(path, "is required"),
                None | Some(Value::Null) => {}
                Some(v) => match values::check(f, v) {
                    Err(m) => c.fail(path, m),
                    Ok(()) if f.is_required() && values::is_blank(f.kind, v) => {
                        c.fail(path, "is required")
                    }
                    Ok(()) => {}
                },
            }
        }
        let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        c.only_keys(r, &names);
    }

    /// The names of the fields whose answers are secrets (`password`).
    pub fn secret_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|f| f.kind == FieldType::Password)
            .map(|f| f.name.as_str())
    }
}

fn check_field(c: &mut Checker, fp: &str, f: &Map<String, Value>, names: &mut Vec<String>) {
    if let Some(name) = c.req_str(f, "name", fp) {
        if names.iter().any(|n| n == name) {
            c.fail(format!("{fp}.name"), "must be unique");
        } else if name.starts_with('_') {
            c.fail(format!("{fp}.name"), "must not start with _ (reserved)");
        }
        names.push(name.to_owned());
    }
    c.req_str(f, "label", fp);
    let kind = match f.get("type") {
        Some(Value::String(t)) if FieldType::parse(t).is_some() => FieldType::parse(t),
        None | Some(Value::Null) => {
            c.fail(format!("{fp}.type"), "is required");
            None
        }
        Some(_) => {
            let all = FieldType::ALL.join(", ");
            c.fail(format!("{fp}.type"), format!("must be one of: {all}"));
            None
        }
    };
    c.opt_bool(f, "required", fp);
    c.opt_strs(f, &["placeholder", "unit", "description"], fp);
    let min = c.opt_num(f, "min", fp);
    let max = c.opt_num(f, "max", fp);
    let step = c.opt_num(f, "step", fp);
    if let (Some(a), Some(b)) = (min, max)
        && a > b
    {
        c.fail(format!("{fp}.max"), "must not be less than min");
    }
    if step.is_some_and(|s| s <= 0.0) {
        c.fail(format!("{fp}.step"), "must be positive");
    }
    check_options(c, fp, f, kind == Some(FieldType::Select));
    // A default must be a valid answer (checked once the field itself reads as one).
    if kind.is_some()
        && let Some(d) = f.get("defaultValue").filter(|d| !d.is_null())
        && let Ok(field) = serde_json::from_value::<FormField>(Value::Object(f.clone()))
        && let Err(msg) = values::check(&field, d)
    {
        c.fail(format!("{fp}.defaultValue"), msg);
    }
}

/// `options`: required (non-empty) on select fields; where present, each a non-empty string
/// or `{value, label}`.
fn check_options(c: &mut Checker, fp: &str, f: &Map<String, Value>, select: bool) {
    match f.get("options") {
        Some(Value::Array(a)) if !a.is_empty() => {
            for (i, o) in a.iter().enumerate() {
                let ok = match o {
                    Value::String(s) => !s.is_empty(),
                    Value::Object(m) => {
                        m.get("value")
                            .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                            && m.get("label").is_some_and(Value::is_string)
                    }
                    _ => false,
                };
                if !ok {
                    c.fail(
                        format!("{fp}.options[{i}]"),
                        "must be a non-empty string or {value, label}",
                    );
                }
            }
        }
        None | Some(Value::Null) if !select => {}
        Some(Value::Array(_)) if !select => {}
        _ if select => c.fail(
            format!("{fp}.options"),
            "is required for select fields (a non-empty array)",
        ),
        _ => c.fail(format!("{fp}.options"), "must be an array of options"),
    }
}
