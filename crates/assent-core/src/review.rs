//! Reviews: the five types of question an agent can ask a human, the validation of their
//! payloads on create and of the human's answer on respond, expiry, and the redaction of
//! password answers. Placet stores reviews as unchecked JSON; Assent accepts the same
//! requests but refuses what cannot be answered (or answered wrongly).
//!
//! Stored shape (inside the message, Placet-compatible):
//! `{type, payload, status: pending|completed|expired, expiresAt, response, completedAt,
//!   feedback, modifiedFileIds?, callback?}`.

use crate::time::Millis;
use crate::validate::{FieldError, ValidationError, check_http_url};
use serde_json::{Map, Value};

/// The value that replaces password answers wherever humans' dashboards look.
pub const REDACTED: &str = "***REDACTED***";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewType {
    Approval,
    Selection,
    Form,
    TextInput,
    Freeform,
}

impl ReviewType {
    pub const ALL: &'static [&'static str] =
        &["approval", "selection", "form", "text-input", "freeform"];
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "approval" => ReviewType::Approval,
            "selection" => ReviewType::Selection,
            "form" => ReviewType::Form,
            "text-input" => ReviewType::TextInput,
            "freeform" => ReviewType::Freeform,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewType::Approval => "approval",
            ReviewType::Selection => "selection",
            ReviewType::Form => "form",
            ReviewType::TextInput => "text-input",
            ReviewType::Freeform => "freeform",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewStatus {
    Pending,
    Completed,
    Expired,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Completed => "completed",
            ReviewStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ReviewStatus::Pending,
            "completed" => ReviewStatus::Completed,
            "expired" => ReviewStatus::Expired,
            _ => return None,
        })
    }
}

/// Expiry bounds, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct ReviewLimits {
    pub default_secs: i64,
    pub max_secs: i64,
}

impl Default for ReviewLimits {
    fn default() -> Self {
        // Placet's constants: 24 h default, 36 h maximum.
        ReviewLimits {
            default_secs: 86_400,
            max_secs: 129_600,
        }
    }
}

/// A validated review, ready to be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewSpec {
    pub kind: ReviewType,
    pub expires_at: Millis,
    /// The stored JSON (`status: pending`, no response yet).
    pub stored: Value,
}

const FIELD_TYPES: &[&str] = &[
    "text", "number", "email", "url", "textarea", "select", "checkbox", "date", "time", "datetime",
    "range", "password",
];
const STYLES: &[&str] = &["primary", "danger", "secondary", "ghost"];
const MAX_ITEMS: usize = 200;
const MAX_LABEL: usize = 500;
const MAX_FEEDBACK: usize = 10_000;
const MAX_ANSWER_TEXT: usize = 100_000;

struct C {
    errors: Vec<FieldError>,
}

impl C {
    fn fail(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: msg.into(),
        });
    }
    fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }
    /// A required non-empty string at `obj[key]`.
    fn req_str<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.fail(format!("{path}.{key}"), "is required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(format!("{path}.{key}"), "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > MAX_LABEL => {
                self.fail(
                    format!("{path}.{key}"),
                    format!("must be at most {MAX_LABEL} characters"),
                );
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(format!("{path}.{key}"), "must be a string");
                None
            }
        }
    }
    fn opt_str(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(_) => self.fail(format!("{path}.{key}"), "must be a string"),
        }
    }
    fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(_) => self.fail(format!("{path}.{key}"), "must be a boolean"),
        }
    }
    fn opt_num(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.fail(format!("{path}.{key}"), "must be a number");
                None
            }
        }
    }
    fn opt_pos_int(&mut self, obj: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v > 0) => n.as_i64(),
            Some(_) => {
                self.fail(format!("{path}.{key}"), "must be a positive integer");
                None
            }
        }
    }
    /// A non-empty array of objects at `obj[key]`, at most `MAX_ITEMS`.
    fn req_objects<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Vec<(String, &'a Map<String, Value>)> {
        let p = format!("{path}.{key}");
        match obj.get(key) {
            Some(Value::Array(a)) if a.is_empty() => {
                self.fail(p, "must have at least one entry");
                vec![]
            }
            Some(Value::Array(a)) if a.len() > MAX_ITEMS => {
                self.fail(p, format!("must have at most {MAX_ITEMS} entries"));
                vec![]
            }
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v.as_object() {
                    Some(o) => Some((format!("{p}[{i}]"), o)),
                    None => {
                        self.fail(format!("{p}[{i}]"), "must be an object");
                        None
                    }
                })
                .collect(),
            None | Some(Value::Null) => {
                self.fail(p, "is required");
                vec![]
            }
            Some(_) => {
                self.fail(p, "must be an array");
                vec![]
            }
        }
    }
}

/// Parses and validates `review` of `POST /api/v1/messages` (path prefix `review`).
pub fn parse_review(
    review: &Value,
    now: Millis,
    limits: ReviewLimits,
) -> Result<ReviewSpec, ValidationError> {
    let mut c = C { errors: vec![] };
    let Some(obj) = review.as_object() else {
        return Err(ValidationError::single("review", "must be an object"));
    };
    let kind = match obj.get("type") {
        Some(Value::String(t)) => match ReviewType::parse(t) {
            Some(k) => k,
            None => {
                return Err(ValidationError::single(
                    "review.type",
                    format!("must be one of: {}", ReviewType::ALL.join(", ")),
                ));
            }
        },
        None | Some(Value::Null) => {
            return Err(ValidationError::single("review.type", "is required"));
        }
        Some(_) => return Err(ValidationError::single("review.type", "must be a string")),
    };
    let empty = Map::new();
    let payload = match obj.get("payload") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ValidationError::single(
                "review.payload",
                "must be an object",
            ));
        }
    };
    let mut payload = payload.clone();
    let p = "review.payload";
    match kind {
        ReviewType::Approval => {
            if !payload.contains_key("options") {
                // Placet's dashboard shows Approve / Reject when options are missing.
                payload.insert(
                    "options".into(),
                    serde_json::json!([
                        {"id": "approve", "label": "Approve", "style": "primary"},
                        {"id": "reject", "label": "Reject", "style": "danger"}
                    ]),
                );
            }
            let mut ids = Vec::new();
            for (ip, o) in c.req_objects(&payload, "options", p) {
                if let Some(id) = c.req_str(o, "id", &ip) {
                    if ids.contains(&id.to_owned()) {
                        c.fail(format!("{ip}.id"), "must be unique");
                    }
                    ids.push(id.to_owned());
                }
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
        }
        ReviewType::Selection => {
            match payload.get("mode") {
                None | Some(Value::Null) => {
                    payload.insert("mode".into(), Value::from("single"));
                }
                Some(Value::String(m)) if m == "single" || m == "multi" => {}
                Some(_) => c.fail(format!("{p}.mode"), "must be one of: single, multi"),
            }
            let mut ids = Vec::new();
            for (ip, o) in c.req_objects(&payload, "items", p) {
                if let Some(id) = c.req_str(o, "id", &ip) {
                    if ids.contains(&id.to_owned()) {
                        c.fail(format!("{ip}.id"), "must be unique");
                    }
                    ids.push(id.to_owned());
                }
                c.req_str(o, "label", &ip);
                c.opt_str(o, "description", &ip);
            }
            c.opt_str(&payload, "submitLabel", p);
            c.opt_str(&payload, "dismissLabel", p);
        }
        ReviewType::Form => {
            let mut names = Vec::new();
            for (fp, f) in c.req_objects(&payload, "fields", p) {
                if let Some(name) = c.req_str(f, "name", &fp) {
                    if names.contains(&name.to_owned()) {
                        c.fail(format!("{fp}.name"), "must be unique");
                    } else if name.starts_with('_') {
                        c.fail(format!("{fp}.name"), "must not start with _ (reserved)");
                    }
                    names.push(name.to_owned());
                }
                c.req_str(f, "label", &fp);
                let ty = match f.get("type") {
                    Some(Value::String(t)) if FIELD_TYPES.contains(&t.as_str()) => t.as_str(),
                    None | Some(Value::Null) => {
                        c.fail(format!("{fp}.type"), "is required");
                        continue;
                    }
                    Some(_) => {
                        c.fail(
                            format!("{fp}.type"),
                            format!("must be one of: {}", FIELD_TYPES.join(", ")),
                        );
                        continue;
                    }
                };
                c.opt_bool(f, "required", &fp);
                for k in ["placeholder", "unit", "description"] {
                    c.opt_str(f, k, &fp);
                }
                let min = c.opt_num(f, "min", &fp);
                let max = c.opt_num(f, "max", &fp);
                let step = c.opt_num(f, "step", &fp);
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    c.fail(format!("{fp}.max"), "must not be less than min");
                }
                if step.is_some_and(|s| s <= 0.0) {
                    c.fail(format!("{fp}.step"), "must be positive");
                }
                if ty == "select" {
                    match f.get("options") {
                        Some(Value::Array(a)) if !a.is_empty() => {
                            for (i, o) in a.iter().enumerate() {
                                let ok = match o {
                                    Value::String(s) => !s.is_empty(),
                                    Value::Object(m) => {
                                        m.get("value").is_some_and(|v| {
                                            v.as_str().is_some_and(|s| !s.is_empty())
                                        }) && m.get("label").is_some_and(Value::is_string)
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
                        _ => c.fail(
                            format!("{fp}.options"),
                            "is required for select fields (a non-empty array)",
                        ),
                    }
                }
                if let Some(d) = f.get("defaultValue").filter(|d| !d.is_null())
                    && let Err(msg) = check_value(ty, f, d, min, max, step)
                {
                    c.fail(format!("{fp}.defaultValue"), msg);
                }
            }
            c.opt_str(&payload, "submitLabel", p);
            c.opt_str(&payload, "dismissLabel", p);
        }
        ReviewType::TextInput => {
            for k in ["placeholder", "prefill", "submitLabel", "dismissLabel"] {
                c.opt_str(&payload, k, p);
            }
            c.opt_bool(&payload, "markdown", p);
            let min = c.opt_pos_int(&payload, "minLength", p);
            let max = c.opt_pos_int(&payload, "maxLength", p);
            if let (Some(a), Some(b)) = (min, max)
                && a > b
            {
                c.fail(format!("{p}.maxLength"), "must not be less than minLength");
            }
        }
        ReviewType::Freeform => {}
    }
    // Expiry: expiresInSeconds wins over expiresAt; both are bounded.
    let max_at = now.plus_secs(limits.max_secs);
    let expires_at = match (obj.get("expiresInSeconds"), obj.get("expiresAt")) {
        (Some(v), _) if !v.is_null() => match v.as_i64() {
            Some(s) if s > 0 => Some(now.plus_secs(s)),
            _ => {
                c.fail("review.expiresInSeconds", "must be a positive integer");
                None
            }
        },
        (_, Some(Value::String(s))) => match Millis::parse_iso(s) {
            Some(t) if t <= now => {
                c.fail(
                    "review.expiresAt",
                    "Review expiration must be in the future",
                );
                None
            }
            Some(t) => Some(t),
            None => {
                c.fail(
                    "review.expiresAt",
                    "expiresAt must be a valid ISO date string",
                );
                None
            }
        },
        (_, Some(v)) if !v.is_null() => {
            c.fail(
                "review.expiresAt",
                "expiresAt must be a valid ISO date string",
            );
            None
        }
        _ => Some(now.plus_secs(limits.default_secs)),
    };
    let callback = match obj.get("callback") {
        None | Some(Value::Null) => None,
        Some(Value::Object(cb)) => {
            match cb.get("url").and_then(Value::as_str) {
                Some(u) => {
                    if let Err(m) = check_http_url(u) {
                        c.fail("review.callback.url", m);
                    }
                }
                None => c.fail("review.callback.url", "is required"),
            }
            match cb.get("method") {
                None | Some(Value::Null) => {}
                Some(Value::String(m))
                    if ["POST", "PUT", "PATCH"].contains(&m.to_ascii_uppercase().as_str()) => {}
                Some(_) => c.fail("review.callback.method", "must be POST, PUT or PATCH"),
            }
            let mut hc = crate::validate::Checker::new();
            hc.header_map("review.callback.headers", cb.get("headers").cloned());
            if let Err(e) = hc.finish() {
                for fe in e.errors {
                    c.fail(fe.path, fe.message);
                }
            }
            Some(Value::Object(cb.clone()))
        }
        Some(_) => {
            c.fail("review.callback", "must be an object");
            None
        }
    };
    c.finish()?;
    let expires_at = expires_at.expect("set when valid").min(max_at);
    let mut stored = Map::new();
    stored.insert("type".into(), Value::from(kind.as_str()));
    stored.insert("payload".into(), Value::Object(payload));
    stored.insert("status".into(), Value::from("pending"));
    stored.insert("expiresAt".into(), Value::from(expires_at.to_iso()));
    stored.insert("response".into(), Value::Null);
    stored.insert("completedAt".into(), Value::Null);
    stored.insert("feedback".into(), Value::Null);
    if let Some(cb) = callback {
        stored.insert("callback".into(), cb);
    }
    Ok(ReviewSpec {
        kind,
        expires_at,
        stored: Value::Object(stored),
    })
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}
fn is_time(s: &str) -> bool {
    chrono::NaiveTime::parse_from_str(s, "%H:%M").is_ok()
        || chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").is_ok()
}
fn is_datetime(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").is_ok()
        || Millis::parse_iso(s).is_some()
}
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A number from a JSON number or a numeric string (Placet's dashboard sends strings).
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn select_values(f: &Map<String, Value>) -> Vec<String> {
    f.get("options")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| match o {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(m) => m.get("value").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one form value against its field. Empty strings are "no value" (checked by
/// `required` instead).
fn check_value(
    ty: &str,
    f: &Map<String, Value>,
    v: &Value,
    min: Option<f64>,
    max: Option<f64>,
    step: Option<f64>,
) -> Result<(), String> {
    match ty {
        "checkbox" => v
            .is_boolean()
            .then_some(())
            .ok_or_else(|| "must be a boolean".into()),
        "number" | "range" => {
            let n = as_number(v).ok_or("must be a number")?;
            if min.is_some_and(|m| n < m) {
                return Err(format!("must be at least {}", min.unwrap_or_default()));
            }
            if max.is_some_and(|m| n > m) {
                return Err(format!("must be at most {}", max.unwrap_or_default()));
            }
            if let Some(st) = step {
                let k = (n - min.unwrap_or(0.0)) / st;
                if (k - k.round()).abs() > 1e-9 {
                    return Err(format!(
                        "must be a multiple of {st} from {}",
                        min.unwrap_or(0.0)
                    ));
                }
            }
            Ok(())
        }
        _ => {
            let s = v.as_str().ok_or("must be a string")?;
            if s.chars().count() > MAX_ANSWER_TEXT {
                return Err(format!("must be at most {MAX_ANSWER_TEXT} characters"));
            }
            if s.is_empty() {
                return Ok(());
            }
            let ok = match ty {
                "email" => is_email(s),
                "url" => check_http_url(s).is_ok(),
                "date" => is_date(s),
                "time" => is_time(s),
                "datetime" => is_datetime(s),
                "select" => select_values(f).iter().any(|o| o == s),
                _ => true,
            };
            if ok {
                Ok(())
            } else {
                Err(match ty {
                    "email" => "must be an email address".into(),
                    "url" => "must be an http(s) URL".into(),
                    "date" => "must be a date (YYYY-MM-DD)".into(),
                    "time" => "must be a time (HH:MM)".into(),
                    "datetime" => "must be a date and time (YYYY-MM-DDTHH:MM)".into(),
                    _ => "must be one of the field's options".into(),
                })
            }
        }
    }
}

/// Validates a human's answer against the stored review (prefix `response`). Returns the
/// answer as it will be stored.
pub fn validate_response(review: &Value, response: &Value) -> Result<Value, ValidationError> {
    let kind = review
        .get("type")
        .and_then(Value::as_str)
        .and_then(ReviewType::parse);
    let empty = Map::new();
    let payload = review
        .get("payload")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let Some(r) = response.as_object() else {
        return Err(ValidationError::single("response", "must be an object"));
    };
    let mut c = C { errors: vec![] };
    let dismissed = r.get("_dismissed") == Some(&Value::Bool(true));
    let unknown = |c: &mut C, allowed: &[&str]| {
        for k in r.keys() {
            if !allowed.contains(&k.as_str()) {
                c.fail(format!("response.{k}"), "is not a field of this review");
            }
        }
    };
    match kind {
        // Reviews stored before validation existed (or unknown types) take any object.
        None | Some(ReviewType::Freeform) => {}
        Some(_) if dismissed => {
            if kind == Some(ReviewType::Approval) {
                c.fail(
                    "response._dismissed",
                    "approvals cannot be dismissed; choose an option",
                );
            }
            unknown(&mut c, &["_dismissed"]);
        }
        Some(ReviewType::Approval) => {
            let ids: Vec<&str> = payload
                .get("options")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.get("id").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
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
                Some(Value::String(_))
                    if payload.get("allowComment") != Some(&Value::Bool(true)) =>
                {
                    c.fail("response.comment", "is not allowed on this review")
                }
                Some(Value::String(s)) if s.chars().count() > MAX_FEEDBACK => {
                    c.fail("response.comment", "is too long")
                }
                Some(Value::String(_)) => {}
                Some(_) => c.fail("response.comment", "must be a string"),
            }
            unknown(&mut c, &["selectedOption", "comment"]);
        }
        Some(ReviewType::Selection) => {
            let ids: Vec<&str> = payload
                .get("items")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.get("id").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let single = payload.get("mode").and_then(Value::as_str) != Some("multi");
            match r.get("selectedIds") {
                Some(Value::Array(a)) if a.is_empty() => {
                    c.fail("response.selectedIds", "must not be empty")
                }
                Some(Value::Array(a)) if single && a.len() != 1 => c.fail(
                    "response.selectedIds",
                    "must have exactly one entry (single selection)",
                ),
                Some(Value::Array(a)) => {
                    let mut seen = Vec::new();
                    for (i, v) in a.iter().enumerate() {
                        match v.as_str() {
                            Some(s) if !ids.contains(&s) => c.fail(
                                format!("response.selectedIds[{i}]"),
                                format!("must be one of: {}", ids.join(", ")),
                            ),
                            Some(s) if seen.contains(&s) => {
                                c.fail(format!("response.selectedIds[{i}]"), "is a duplicate")
                            }
                            Some(s) => seen.push(s),
                            None => {
                                c.fail(format!("response.selectedIds[{i}]"), "must be a string")
                            }
                        }
                    }
                }
                None | Some(Value::Null) => c.fail("response.selectedIds", "is required"),
                Some(_) => c.fail("response.selectedIds", "must be an array of item ids"),
            }
            unknown(&mut c, &["selectedIds"]);
        }
        Some(ReviewType::Form) => {
            let fields: Vec<&Map<String, Value>> = payload
                .get("fields")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_object).collect())
                .unwrap_or_default();
            let names: Vec<&str> = fields
                .iter()
                .filter_map(|f| f.get("name").and_then(Value::as_str))
                .collect();
            for f in &fields {
                let (Some(name), Some(ty)) = (
                    f.get("name").and_then(Value::as_str),
                    f.get("type").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let path = format!("response.{name}");
                let required = f.get("required") == Some(&Value::Bool(true));
                let num = |k: &str| f.get(k).and_then(Value::as_f64);
                match r.get(name) {
                    None | Some(Value::Null) => {
                        if required {
                            c.fail(path, "is required");
                        }
                    }
                    Some(v) => {
                        if let Err(m) = check_value(ty, f, v, num("min"), num("max"), num("step")) {
                            c.fail(path, m);
                        } else if required
                            && (v.as_str().is_some_and(|s| s.trim().is_empty())
                                || (ty == "checkbox" && v == &Value::Bool(false)))
                        {
                            c.fail(path, "is required");
                        }
                    }
                }
            }
            unknown(&mut c, &names);
        }
        Some(ReviewType::TextInput) => {
            match r.get("text") {
                Some(Value::String(s)) => {
                    let n = s.trim().chars().count();
                    let min = payload
                        .get("minLength")
                        .and_then(Value::as_u64)
                        .unwrap_or(1)
                        .max(1) as usize;
                    let max = payload
                        .get("maxLength")
                        .and_then(Value::as_u64)
                        .map(|m| m as usize)
                        .unwrap_or(MAX_ANSWER_TEXT);
                    if n == 0 {
                        c.fail("response.text", "must not be empty");
                    } else if n < min {
                        c.fail(
                            "response.text",
                            format!("must be at least {min} characters"),
                        );
                    } else if n > max {
                        c.fail("response.text", format!("must be at most {max} characters"));
                    }
                }
                None | Some(Value::Null) => c.fail("response.text", "is required"),
                Some(_) => c.fail("response.text", "must be a string"),
            }
            unknown(&mut c, &["text"]);
        }
    }
    c.finish()?;
    Ok(response.clone())
}

/// Replaces the answers of `password` form fields by `REDACTED`, in place.
pub fn redact_review(review: &mut Value) {
    if review.get("type").and_then(Value::as_str) != Some("form") {
        return;
    }
    let secret: Vec<String> = review
        .pointer("/payload/fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|f| f.get("type").and_then(Value::as_str) == Some("password"))
                .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if secret.is_empty() {
        return;
    }
    if let Some(resp) = review.get_mut("response").and_then(Value::as_object_mut) {
        for name in secret {
            if let Some(v) = resp.get_mut(&name)
                && !v.is_null()
            {
                *v = Value::from(REDACTED);
            }
        }
    }
}

impl crate::model::Message {
    /// The status of this message's review, if it has one.
    pub fn review_status(&self) -> Option<ReviewStatus> {
        self.review
            .as_ref()?
            .get("status")?
            .as_str()
            .and_then(ReviewStatus::parse)
    }

    /// The deadline of this message's review, if it has one.
    pub fn review_deadline(&self) -> Option<Millis> {
        self.review
            .as_ref()?
            .get("expiresAt")?
            .as_str()
            .and_then(Millis::parse_iso)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Millis = Millis(1_750_000_000_000);

    fn parse(v: Value) -> Result<ReviewSpec, ValidationError> {
        parse_review(&v, NOW, ReviewLimits::default())
    }

    fn first_error(v: Value) -> String {
        parse(v).unwrap_err().to_string()
    }

    #[test]
    fn approval_payloads() {
        let spec = parse(json!({"type": "approval", "payload": {"options": [{"id": "a", "label": "A", "style": "primary"}], "allowComment": true}})).unwrap();
        assert_eq!(spec.kind, ReviewType::Approval);
        assert_eq!(spec.expires_at, NOW.plus_secs(86_400));
        assert_eq!(spec.stored["status"], "pending");
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
            d.stored["payload"]["options"][0]["id"], "approve",
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
                .expires_at,
            NOW.plus_secs(60)
        );
        assert_eq!(
            parse(json!({"type": "freeform", "expiresInSeconds": 999_999}))
                .unwrap()
                .expires_at,
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
                .expires_at,
            at
        );
    }

    #[test]
    fn form_payloads_cover_every_field_type() {
        let fields: Vec<Value> = FIELD_TYPES
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
            first_error(
                json!({"type": "text-input", "payload": {"minLength": 10, "maxLength": 5}})
            )
            .contains("maxLength")
        );
    }

    fn answer(review: Value, response: Value) -> Result<Value, String> {
        let spec = parse(review).unwrap();
        validate_response(&spec.stored, &response).map_err(|e| e.to_string())
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

    #[test]
    fn password_answers_are_redacted() {
        let mut r = json!({"type": "form", "payload": {"fields": [{"name": "pw", "type": "password", "label": "P"}, {"name": "user", "type": "text", "label": "U"}]},
                           "response": {"pw": "hunter2", "user": "ada"}});
        redact_review(&mut r);
        assert_eq!(r["response"], json!({"pw": REDACTED, "user": "ada"}));
    }
}
