//! One form value against its field: type, bounds, step, options and text formats.

use super::MAX_ANSWER_TEXT;
use super::form::{FieldType, FormField};
use crate::time::Millis;
use crate::validate::check_http_url;
use serde_json::Value;

/// Checks one value. Empty strings are "no value" (the `required` check handles them).
pub(crate) fn check(f: &FormField, v: &Value) -> Result<(), String> {
    match f.kind {
        FieldType::Checkbox => v
            .is_boolean()
            .then_some(())
            .ok_or_else(|| "must be a boolean".into()),
        FieldType::Number | FieldType::Range => check_number(f, v),
        kind => check_text(f, kind, v),
    }
}

/// A present value that still counts as missing for a required field.
pub(crate) fn is_blank(kind: FieldType, v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim().is_empty())
        || (kind == FieldType::Checkbox && v == &Value::Bool(false))
}

fn check_number(f: &FormField, v: &Value) -> Result<(), String> {
    let n = as_number(v).ok_or("must be a number")?;
    let (min, max, step) = (f.bound(&f.min), f.bound(&f.max), f.bound(&f.step));
    if let Some(m) = min.filter(|m| n < *m) {
        return Err(format!("must be at least {m}"));
    }
    if let Some(m) = max.filter(|m| n > *m) {
        return Err(format!("must be at most {m}"));
    }
    if let Some(st) = step {
        let from = min.unwrap_or(0.0);
        let k = (n - from) / st;
        if (k - k.round()).abs() > 1e-9 {
            return Err(format!("must be a multiple of {st} from {from}"));
        }
    }
    Ok(())
}

fn check_text(f: &FormField, kind: FieldType, v: &Value) -> Result<(), String> {
    let s = v.as_str().ok_or("must be a string")?;
    if s.chars().count() > MAX_ANSWER_TEXT {
        return Err(format!("must be at most {MAX_ANSWER_TEXT} characters"));
    }
    if s.is_empty() {
        return Ok(());
    }
    let (ok, why) = match kind {
        FieldType::Email => (is_email(s), "must be an email address"),
        FieldType::Url => (check_http_url(s).is_ok(), "must be an http(s) URL"),
        FieldType::Date => (is_date(s), "must be a date (YYYY-MM-DD)"),
        FieldType::Time => (is_time(s), "must be a time (HH:MM)"),
        FieldType::Datetime => (is_datetime(s), "must be a date and time (YYYY-MM-DDTHH:MM)"),
        FieldType::Select => (
            f.options.iter().flatten().any(|o| o.value() == s),
            "must be one of the field's options",
        ),
        _ => (true, ""),
    };
    if ok { Ok(()) } else { Err(why.into()) }
}

/// A number from a JSON number or a numeric string (Placet's dashboard sends strings).
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn is_time(s: &str) -> bool {
    ["%H:%M", "%H:%M:%S"]
        .iter()
        .any(|f| chrono::NaiveTime::parse_from_str(s, f).is_ok())
}

fn is_datetime(s: &str) -> bool {
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .any(|f| chrono::NaiveDateTime::parse_from_str(s, f).is_ok())
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
