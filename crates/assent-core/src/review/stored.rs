//! The stored and wire JSON of a review: keys in Placet's order, `response`, `completedAt`
//! and `feedback` always present (null until answered), `callback` and `modifiedFileIds`
//! only when set, unknown keys kept. Loading is lenient where old rows may differ (a
//! payload that does not read as its kind loads as `Unchecked`), strict where Assent has
//! always written the same thing (status, deadline).

use super::{Answer, Review, ReviewSpec, ReviewStatus, ReviewType};
use crate::time::Millis;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

const KNOWN: &[&str] = &[
    "type",
    "payload",
    "status",
    "expiresAt",
    "response",
    "completedAt",
    "feedback",
    "callback",
    "modifiedFileIds",
];

impl Review {
    /// The review as its JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(self.kind()));
        m.insert("payload".into(), self.spec.payload_json());
        m.insert("status".into(), Value::from(self.status.as_str()));
        m.insert("expiresAt".into(), Value::from(self.deadline.to_iso()));
        let a = self.answer.as_ref();
        m.insert(
            "response".into(),
            a.map_or(Value::Null, |a| a.response.clone()),
        );
        m.insert(
            "completedAt".into(),
            a.map_or(Value::Null, |a| Value::from(a.completed_at.to_iso())),
        );
        m.insert(
            "feedback".into(),
            a.and_then(|a| a.feedback.clone())
                .map_or(Value::Null, Value::from),
        );
        if let Some(cb) = &self.callback {
            m.insert("callback".into(), Value::Object(cb.clone()));
        }
        if let Some(ids) = a.and_then(|a| a.modified_file_ids.clone()) {
            m.insert("modifiedFileIds".into(), Value::Object(ids));
        }
        for (k, v) in &self.extra {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }

    /// Reads a review's JSON object (as stored, logged or sent).
    pub fn from_json(v: Value) -> Result<Review, String> {
        let Value::Object(mut m) = v else {
            return Err("a review must be an object".into());
        };
        let kind = match m.remove("type") {
            Some(Value::String(s)) => s,
            _ => return Err("review.type must be a string".into()),
        };
        let payload = m.remove("payload").unwrap_or(Value::Null);
        let status = m
            .remove("status")
            .and_then(|s| s.as_str().and_then(ReviewStatus::parse))
            .ok_or("review.status is not a known status")?;
        let deadline = m
            .remove("expiresAt")
            .and_then(|s| s.as_str().and_then(Millis::parse_iso))
            .ok_or("review.expiresAt is not a timestamp")?;
        let answer = answer(&mut m, status)?;
        let callback = match m.remove("callback") {
            Some(Value::Object(cb)) => Some(cb),
            _ => None,
        };
        for k in KNOWN {
            m.remove(*k);
        }
        Ok(Review {
            spec: ReviewSpec::from_json(kind, payload),
            status,
            deadline,
            answer,
            callback,
            extra: m,
        })
    }
}

fn answer(m: &mut Map<String, Value>, status: ReviewStatus) -> Result<Option<Answer>, String> {
    let response = m.remove("response").unwrap_or(Value::Null);
    let completed = m.remove("completedAt");
    let feedback = m.remove("feedback");
    let modified = m.remove("modifiedFileIds");
    if !matches!(
        status,
        ReviewStatus::Completed | ReviewStatus::ChangesRequested
    ) {
        return Ok(None);
    }
    let completed_at = completed
        .and_then(|s| s.as_str().and_then(Millis::parse_iso))
        .ok_or("review.completedAt is not a timestamp")?;
    Ok(Some(Answer {
        response,
        completed_at,
        feedback: feedback.and_then(|f| f.as_str().map(str::to_owned)),
        modified_file_ids: match modified {
            Some(Value::Object(ids)) => Some(ids),
            _ => None,
        },
    }))
}

impl ReviewSpec {
    fn payload_json(&self) -> Value {
        let typed = match self {
            ReviewSpec::Approval(a) => serde_json::to_value(a),
            ReviewSpec::Selection(s) => serde_json::to_value(s),
            ReviewSpec::Form(f) => serde_json::to_value(f),
            ReviewSpec::TextInput(t) => serde_json::to_value(t),
            ReviewSpec::Freeform(m) => return Value::Object(m.clone()),
            ReviewSpec::Unchecked { payload, .. } => return payload.clone(),
        };
        typed.expect("typed payloads serialize")
    }

    fn from_json(kind: String, payload: Value) -> ReviewSpec {
        let typed = match ReviewType::parse(&kind) {
            Some(ReviewType::Approval) => read(&payload, ReviewSpec::Approval),
            Some(ReviewType::Selection) => read(&payload, ReviewSpec::Selection),
            Some(ReviewType::Form) => read(&payload, ReviewSpec::Form),
            Some(ReviewType::TextInput) => read(&payload, ReviewSpec::TextInput),
            Some(ReviewType::Freeform) => match &payload {
                Value::Object(m) => Some(ReviewSpec::Freeform(m.clone())),
                _ => None,
            },
            None => None,
        };
        typed.unwrap_or(ReviewSpec::Unchecked { kind, payload })
    }
}

fn read<T: serde::de::DeserializeOwned>(
    payload: &Value,
    wrap: impl FnOnce(T) -> ReviewSpec,
) -> Option<ReviewSpec> {
    serde_json::from_value(payload.clone()).ok().map(wrap)
}

impl Serialize for Review {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Review {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Review::from_json(Value::deserialize(d)?).map_err(D::Error::custom)
    }
}
