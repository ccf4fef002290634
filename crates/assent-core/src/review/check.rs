//! Field checks shared by the review kinds: each reports a path-accurate error into the
//! request's `Checker` and returns what it could read.

use crate::validate::Checker;
use serde_json::{Map, Value};

/// At most this many options, items or fields in one review.
pub(crate) const MAX_ITEMS: usize = 200;
/// At most this many characters in a label, id or name.
pub(crate) const MAX_LABEL: usize = 500;

impl Checker {
    /// A required non-empty string of at most `MAX_LABEL` characters at `obj[key]`.
    pub(crate) fn req_str<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        let p = format!("{path}.{key}");
        match obj.get(key) {
            None | Some(Value::Null) => self.fail(p, "is required"),
            Some(Value::String(s)) if s.trim().is_empty() => self.fail(p, "must not be empty"),
            Some(Value::String(s)) if s.chars().count() > MAX_LABEL => {
                self.fail(p, format!("must be at most {MAX_LABEL} characters"))
            }
            Some(Value::String(s)) => return Some(s),
            Some(_) => self.fail(p, "must be a string"),
        }
        None
    }

    /// Optional strings at each of `keys`.
    pub(crate) fn opt_strs(&mut self, obj: &Map<String, Value>, keys: &[&str], path: &str) {
        for key in keys {
            match obj.get(*key) {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(_) => self.fail(format!("{path}.{key}"), "must be a string"),
            }
        }
    }

    pub(crate) fn opt_bool(&mut self, obj: &Map<String, Value>, key: &str, path: &str) {
        match obj.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(_) => self.fail(format!("{path}.{key}"), "must be a boolean"),
        }
    }

    pub(crate) fn opt_num(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<f64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(_) => {
                self.fail(format!("{path}.{key}"), "must be a number");
                None
            }
        }
    }

    pub(crate) fn opt_pos_int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<i64> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v > 0) => n.as_i64(),
            Some(_) => {
                self.fail(format!("{path}.{key}"), "must be a positive integer");
                None
            }
        }
    }

    /// A non-empty array of objects at `obj[key]`, at most `MAX_ITEMS`, with their paths.
    pub(crate) fn req_objects<'a>(
        &mut self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Vec<(String, &'a Map<String, Value>)> {
        let p = format!("{path}.{key}");
        let list = match obj.get(key) {
            Some(Value::Array(a)) if a.is_empty() => {
                self.fail(p, "must have at least one entry");
                return vec![];
            }
            Some(Value::Array(a)) if a.len() > MAX_ITEMS => {
                self.fail(p, format!("must have at most {MAX_ITEMS} entries"));
                return vec![];
            }
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => {
                self.fail(p, "is required");
                return vec![];
            }
            Some(_) => {
                self.fail(p, "must be an array");
                return vec![];
            }
        };
        list.iter()
            .enumerate()
            .filter_map(|(i, v)| match v.as_object() {
                Some(o) => Some((format!("{p}[{i}]"), o)),
                None => {
                    self.fail(format!("{p}[{i}]"), "must be an object");
                    None
                }
            })
            .collect()
    }

    /// A required id or name at `obj[key]` that must not repeat within `seen`.
    pub(crate) fn unique_str(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        seen: &mut Vec<String>,
    ) -> Option<String> {
        let id = self.req_str(obj, key, path)?.to_owned();
        if seen.contains(&id) {
            self.fail(format!("{path}.{key}"), "must be unique");
        }
        seen.push(id.clone());
        Some(id)
    }

    /// Fails for every key of an answer that is not in `allowed`.
    pub(crate) fn only_keys(&mut self, answer: &Map<String, Value>, allowed: &[&str]) {
        for k in answer.keys() {
            if !allowed.contains(&k.as_str()) {
                self.fail(format!("response.{k}"), "is not a field of this review");
            }
        }
    }
}

/// Turns a payload that passed validation into its typed form. Validation covers every
/// typed field, so a failure here is a gap in validation: it is reported, never panics.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    c: &mut Checker,
    payload: Map<String, Value>,
) -> Option<T> {
    match serde_json::from_value(Value::Object(payload)) {
        Ok(t) => Some(t),
        Err(e) => {
            c.fail("review.payload", e.to_string());
            None
        }
    }
}
