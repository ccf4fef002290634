//! `Review::create`: the agent's `review` object (of `POST /api/v1/messages`) checked and
//! turned into a pending review, or every problem reported with its path.

use super::{Approval, Form, Review, ReviewLimits, ReviewSpec, ReviewStatus, ReviewType};
use super::{Selection, TextInput};
use crate::time::Millis;
use crate::validate::{Checker, ValidationError, check_http_url};
use serde_json::{Map, Value};

impl Review {
    /// Parses and validates `review` (path prefix `review`).
    pub fn create(
        review: &Value,
        now: Millis,
        limits: ReviewLimits,
    ) -> Result<Review, ValidationError> {
        let Some(obj) = review.as_object() else {
            return Err(ValidationError::single("review", "must be an object"));
        };
        let kind = kind(obj)?;
        let payload = match obj.get("payload") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(ValidationError::single(
                    "review.payload",
                    "must be an object",
                ));
            }
        };
        let mut c = Checker::new();
        let spec = match kind {
            ReviewType::Approval => Approval::parse(payload, &mut c).map(ReviewSpec::Approval),
            ReviewType::Selection => Selection::parse(payload, &mut c).map(ReviewSpec::Selection),
            ReviewType::Form => Form::parse(payload, &mut c).map(ReviewSpec::Form),
            ReviewType::TextInput => TextInput::parse(payload, &mut c).map(ReviewSpec::TextInput),
            ReviewType::Freeform => Some(ReviewSpec::Freeform(payload)),
        };
        let deadline = deadline(&mut c, obj, now, limits);
        let callback = callback(&mut c, obj.get("callback"));
        c.finish()?;
        Ok(Review {
            spec: spec.expect("set when valid"),
            status: ReviewStatus::Pending,
            deadline: deadline.expect("set when valid"),
            answer: None,
            callback,
            extra: Map::new(),
        })
    }
}

fn kind(obj: &Map<String, Value>) -> Result<ReviewType, ValidationError> {
    match obj.get("type") {
        Some(Value::String(t)) => ReviewType::parse(t).ok_or_else(|| {
            ValidationError::single(
                "review.type",
                format!("must be one of: {}", ReviewType::ALL.join(", ")),
            )
        }),
        None | Some(Value::Null) => Err(ValidationError::single("review.type", "is required")),
        Some(_) => Err(ValidationError::single("review.type", "must be a string")),
    }
}

/// `expiresInSeconds` wins over `expiresAt`; either is capped at the maximum, and neither
/// means the default.
fn deadline(
    c: &mut Checker,
    obj: &Map<String, Value>,
    now: Millis,
    limits: ReviewLimits,
) -> Option<Millis> {
    const BAD_DATE: &str = "expiresAt must be a valid ISO date string";
    let at = match (obj.get("expiresInSeconds"), obj.get("expiresAt")) {
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
                c.fail("review.expiresAt", BAD_DATE);
                None
            }
        },
        (_, Some(v)) if !v.is_null() => {
            c.fail("review.expiresAt", BAD_DATE);
            None
        }
        _ => Some(now.plus_secs(limits.default_secs)),
    };
    at.map(|t| t.min(now.plus_secs(limits.max_secs)))
}

/// Placet's legacy `callback: {url, method?, headers?}`, kept as sent once it checks out.
fn callback(c: &mut Checker, v: Option<&Value>) -> Option<Map<String, Value>> {
    let cb = match v {
        None | Some(Value::Null) => return None,
        Some(Value::Object(cb)) => cb,
        Some(_) => {
            c.fail("review.callback", "must be an object");
            return None;
        }
    };
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
    c.header_map("review.callback.headers", cb.get("headers").cloned());
    Some(cb.clone())
}
