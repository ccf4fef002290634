//! Validation of untrusted input into domain values. Every failure names the offending
//! field (`review.payload.options[1].id: must not be empty`) so that callers get a 400 they
//! can act on.

use crate::ids::{ChannelId, is_plausible_id};
use crate::model::{AgentStatus, MessageStatus, Role, StreamState};
use serde_json::Value;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

/// One or more invalid fields. `Display` shows the first as `path: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.first() {
            Some(e) if e.path.is_empty() => f.write_str(&e.message),
            Some(e) => write!(f, "{}: {}", e.path, e.message),
            None => f.write_str("invalid input"),
        }
    }
}

impl ValidationError {
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            errors: vec![FieldError {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

/// Limits on free text. Bodies are capped at the HTTP edge too; these keep rows sane.
pub const MAX_TEXT_CHARS: usize = 100_000;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_CLIENT_ID_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2_048;
pub const MAX_STATUS_MESSAGE_CHARS: usize = 500;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_LABEL_CHARS: usize = 64;
/// Extra headers a webhook may carry, and the longest value.
pub const MAX_HEADERS: usize = 32;
pub const MAX_HEADER_VALUE: usize = 4_096;
/// Deepest nesting of arrays and objects accepted in a JSON body (the body itself is level
/// 1). What is accepted is stored inside a few more levels (event, message) and read back
/// with serde_json's limit of 128; this leaves a wide margin, so that nothing accepted can
/// fail to load again.
pub const MAX_JSON_DEPTH: usize = 64;

/// Headers Assent sets on webhooks itself; configured headers may not replace them.
const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
];

/// Collects field errors so that one request reports all of them at once.
#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn finish(self) -> Result<(), ValidationError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                errors: self.errors,
            })
        }
    }

    /// A required, non-blank string of at most `max` characters.
    pub fn required_text(&mut self, path: &str, v: Option<String>, max: usize) -> String {
        match v {
            None => {
                self.fail(path, "is required");
                String::new()
            }
            Some(s) => {
                if s.trim().is_empty() {
                    self.fail(path, "must not be empty");
                } else if s.chars().count() > max {
                    self.fail(path, format!("must be at most {max} characters"));
                }
                s
            }
        }
    }

    /// An optional string of at most `max` characters (empty is allowed).
    pub fn opt_text(&mut self, path: &str, v: Option<String>, max: usize) -> Option<String> {
        if let Some(s) = &v
            && s.chars().count() > max
        {
            self.fail(path, format!("must be at most {max} characters"));
        }
        v
    }

    /// An optional, non-empty identifier-like string (clientId, streamId).
    pub fn opt_token(&mut self, path: &str, v: Option<String>, max: usize) -> Option<String> {
        if let Some(s) = &v {
            if s.is_empty() {
                self.fail(path, "must not be empty");
            } else if s.chars().count() > max {
                self.fail(path, format!("must be at most {max} characters"));
            }
        }
        v
    }

    pub fn channel_id(&mut self, path: &str, v: Option<String>) -> ChannelId {
        match v {
            None => {
                self.fail(path, "is required");
                ChannelId::from_trusted(String::new())
            }
            Some(s) if s.is_empty() => {
                self.fail(path, "must not be empty");
                ChannelId::from_trusted(s)
            }
            // An id we could never have issued cannot be owned: ownership reports it (403).
            Some(s) => ChannelId::from_trusted(s),
        }
    }

    pub fn opt_enum<T>(
        &mut self,
        path: &str,
        v: Option<String>,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Option<T> {
        let s = v?;
        match parse(&s) {
            Some(t) => Some(t),
            None => {
                self.fail(path, format!("must be one of: {}", all.join(", ")));
                None
            }
        }
    }

    pub fn message_status(&mut self, path: &str, v: Option<String>) -> Option<MessageStatus> {
        self.opt_enum(path, v, MessageStatus::parse, MessageStatus::ALL)
    }

    pub fn stream_state(&mut self, path: &str, v: Option<String>) -> Option<StreamState> {
        self.opt_enum(path, v, StreamState::parse, StreamState::ALL)
    }

    pub fn agent_status(&mut self, path: &str, v: Option<String>) -> Option<AgentStatus> {
        let r = self.opt_enum(path, v.clone(), AgentStatus::parse, AgentStatus::ALL);
        if v.is_none() {
            self.fail(path, "is required");
        }
        r
    }

    pub fn role(&mut self, path: &str, v: Option<String>) -> Option<Role> {
        self.opt_enum(path, v, Role::parse, Role::ALL)
    }

    /// An optional JSON object (metadata, headers).
    pub fn opt_object(&mut self, path: &str, v: Option<Value>) -> Option<Value> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(Value::Object(m)),
            Some(_) => {
                self.fail(path, "must be an object");
                None
            }
        }
    }

    /// An optional map of extra HTTP headers sent with a webhook (the agent's stored
    /// headers, a review callback's): at most 32, valid names, single-line values, and none
    /// of the headers Assent sets itself.
    pub fn header_map(&mut self, path: &str, v: Option<Value>) -> Option<Value> {
        let obj = self.opt_object(path, v)?;
        let map = obj.as_object().expect("checked object");
        if map.len() > MAX_HEADERS {
            self.fail(path, format!("must have at most {MAX_HEADERS} headers"));
        }
        for (k, val) in map {
            let valid_name = !k.is_empty()
                && k.len() <= 256
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                self.fail(format!("{path}.{k}"), "is not a valid header name");
            } else if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                self.fail(
                    format!("{path}.{k}"),
                    "is set by Assent and cannot be replaced",
                );
            }
            match val.as_str() {
                // What HTTP allows in a value: no control characters but tab. A stored value
                // that the client library refuses would fail every delivery, forever.
                Some(s)
                    if s.len() <= MAX_HEADER_VALUE
                        && !s.chars().any(|c| c.is_control() && c != '\t') => {}
                Some(_) => self.fail(
                    format!("{path}.{k}"),
                    "must be a single-line value of at most 4096 bytes without control characters",
                ),
                None => self.fail(format!("{path}.{k}"), "must be a string"),
            }
        }
        Some(obj)
    }

    /// An optional absolute http(s) URL.
    pub fn opt_url(&mut self, path: &str, v: Option<String>) -> Option<String> {
        let s = v?;
        if let Err(msg) = check_http_url(&s) {
            self.fail(path, msg);
        }
        Some(s)
    }

    pub fn email(&mut self, path: &str, v: Option<String>) -> String {
        let s = self.required_text(path, v, MAX_EMAIL_CHARS);
        let t = s.trim();
        let valid = match t.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !t.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !t.is_empty() && !valid {
            self.fail(path, "must be a valid email address");
        }
        t.to_lowercase()
    }

    pub fn new_password(&mut self, path: &str, v: Option<String>) -> String {
        match v {
            None => {
                self.fail(path, "is required");
                String::new()
            }
            Some(s) => {
                let n = s.chars().count();
                if n < MIN_PASSWORD_CHARS {
                    self.fail(
                        path,
                        format!("must be at least {MIN_PASSWORD_CHARS} characters"),
                    );
                } else if n > MAX_PASSWORD_CHARS {
                    self.fail(
                        path,
                        format!("must be at most {MAX_PASSWORD_CHARS} characters"),
                    );
                }
                s
            }
        }
    }
}

/// Checks that `s` is an absolute http(s) URL with a host. Returns the reason if not.
pub fn check_http_url(s: &str) -> Result<(), String> {
    if s.len() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if let Some(r) = s.strip_prefix("http://") {
        r
    } else {
        return Err("must be an http or https URL".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty()
        || host.starts_with(':')
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("must be a valid URL".into());
    }
    Ok(())
}

/// Whether a string from a query or path could be an id (see `ids::is_plausible_id`).
/// The deepest nesting of arrays and objects in JSON text, strings skipped. Linear and
/// without recursion, so it can run before parsing on any input.
pub fn json_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

pub fn plausible_id(s: &str) -> bool {
    is_plausible_id(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_depth_counts_nesting_outside_strings() {
        use super::json_depth;
        assert_eq!(json_depth(b"1"), 0);
        assert_eq!(json_depth(b"{}"), 1);
        assert_eq!(json_depth(br#"{"a":[{"b":[]}],"c":{}}"#), 4);
        assert_eq!(
            json_depth(br#"{"a":"[[[{{{\"[[["}"#),
            1,
            "brackets in strings do not count"
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(json_depth(deep.as_bytes()), 200);
    }

    use super::*;

    #[test]
    fn collects_every_error_with_its_path() {
        let mut c = Checker::new();
        c.required_text("name", Some("  ".into()), 10);
        c.message_status("status", Some("loud".into()));
        c.opt_object("metadata", Some(Value::from(3)));
        let err = c.finish().unwrap_err();
        assert_eq!(err.errors.len(), 3);
        assert_eq!(err.to_string(), "name: must not be empty");
        assert_eq!(
            err.errors[1].message,
            "must be one of: info, success, warning, error"
        );
    }

    #[test]
    fn urls_and_emails() {
        assert!(check_http_url("https://example.com/hook").is_ok());
        assert!(check_http_url("http://127.0.0.1:9000").is_ok());
        assert!(check_http_url("ftp://example.com").is_err());
        assert!(check_http_url("https://").is_err());
        assert!(check_http_url("https://exa mple.com").is_err());
        let mut c = Checker::new();
        assert_eq!(
            c.email("email", Some("A@Example.com".into())),
            "a@example.com"
        );
        c.email("email", Some("nope".into()));
        assert_eq!(c.finish().unwrap_err().errors.len(), 1);
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn header_values_with_control_characters_are_refused() {
        for bad in ["a\u{1}b", "a\u{7f}", "line\nbreak", "nul\u{0}"] {
            let mut c = Checker::new();
            c.header_map("headers", Some(serde_json::json!({ "X-Team": bad })));
            assert!(c.finish().is_err(), "{bad:?}");
        }
        let mut c = Checker::new();
        c.header_map("headers", Some(serde_json::json!({"X-Team": "a\tb ü"})));
        assert!(c.finish().is_ok());
    }
}
