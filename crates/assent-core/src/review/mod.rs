//! Reviews: the five kinds of question an agent can ask a human, as types.
//!
//! A [`Review`] is created from the agent's request by [`Review::create`] (which validates
//! the payload of its kind and fixes the deadline), answered by [`Review::respond`] (status
//! gate, deadline and the kind's answer rules in one place), expired by [`Review::expire`],
//! and shown to dashboards through [`Review::redacted`]. The store only loads, asks one of
//! these, and writes what it gets back.
//!
//! Each kind has its own module: [`approval`], [`selection`], [`form`] (with [`values`] for
//! one field's answer), [`text_input`]; a `freeform` review takes any object.
//!
//! Stored and wire shape (inside the message, Placet-compatible; see `stored.rs`):
//! `{type, payload, status: pending|completed|expired|changes_requested, expiresAt,
//!   response, completedAt, feedback, callback?, modifiedFileIds?}`.

pub mod approval;
mod check;
mod create;
pub mod form;
pub mod selection;
mod stored;
pub mod text_input;
pub mod values;

pub use approval::{Approval, ApprovalOption, ButtonStyle};
pub use form::{FieldType, Form, FormField, SelectOption};
pub use selection::{Selection, SelectionItem, SelectionMode};
pub use text_input::TextInput;

use crate::time::Millis;
use crate::validate::{Checker, ValidationError};
use serde_json::{Map, Value};

/// The value that replaces password answers wherever humans' dashboards look.
pub const REDACTED: &str = "***REDACTED***";
/// At most this many characters of feedback or comment.
pub const MAX_FEEDBACK: usize = 10_000;
/// At most this many characters in one text answer.
pub const MAX_ANSWER_TEXT: usize = 100_000;

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
    /// The human asked for changes (with feedback) instead of answering; the agent usually
    /// follows up with a new iteration (`iterationOf`).
    ChangesRequested,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Completed => "completed",
            ReviewStatus::Expired => "expired",
            ReviewStatus::ChangesRequested => "changes_requested",
        }
    }

    /// Answered or expired: nothing more can happen to it.
    pub fn is_settled(self) -> bool {
        self != ReviewStatus::Pending
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ReviewStatus::Pending,
            "completed" => ReviewStatus::Completed,
            "expired" => ReviewStatus::Expired,
            "changes_requested" => ReviewStatus::ChangesRequested,
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

/// What is asked: the kind and its typed payload.
#[derive(Clone, Debug, PartialEq)]
pub enum ReviewSpec {
    Approval(Approval),
    Selection(Selection),
    Form(Form),
    TextInput(TextInput),
    /// Any payload; any object is an answer.
    Freeform(Map<String, Value>),
    /// A stored review whose payload does not read as its kind (written before payloads
    /// were validated). It loads and shows as stored, and takes any object as an answer.
    Unchecked {
        kind: String,
        payload: Value,
    },
}

impl ReviewSpec {
    /// The wire name of the kind (`approval`, `text-input`, …).
    pub fn kind_str(&self) -> &str {
        match self {
            ReviewSpec::Approval(_) => "approval",
            ReviewSpec::Selection(_) => "selection",
            ReviewSpec::Form(_) => "form",
            ReviewSpec::TextInput(_) => "text-input",
            ReviewSpec::Freeform(_) => "freeform",
            ReviewSpec::Unchecked { kind, .. } => kind,
        }
    }
}

/// A review: what is asked, where it stands, and the human's answer once there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub spec: ReviewSpec,
    pub status: ReviewStatus,
    /// `expiresAt`: a pending review expires here.
    pub deadline: Millis,
    pub answer: Option<Answer>,
    /// Placet's legacy per-review webhook: `{url, method?, headers?}`.
    pub callback: Option<Map<String, Value>>,
    /// Stored fields Assent does not read, kept as they are.
    pub extra: Map<String, Value>,
}

/// The human's answer (or request for changes).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The answer object, as validated for the kind (`{selectedOption}`, `{selectedIds}`,
    /// the form's values, `{text}`, anything for freeform); `null` when changes were
    /// requested.
    pub response: Value,
    pub completed_at: Millis,
    pub feedback: Option<String>,
    /// Placet's `modifiedFileIds`: attachment ids the human replaced, by original id.
    pub modified_file_ids: Option<Map<String, Value>>,
}

/// What a human sends to answer a review (`POST /api/messages/:id/respond`), checked for
/// shape by the caller and against the review by [`Review::respond`].
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub response: Value,
    pub feedback: Option<String>,
    pub modified_file_ids: Option<Map<String, Value>>,
    /// "Request changes" instead of the kind's answer: `feedback` is then required and
    /// `response` must be absent (`null`).
    pub request_changes: bool,
}

/// Why a review cannot take an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("Review already responded")]
    AlreadyResponded,
    #[error("Review has expired")]
    Expired,
    /// Still pending, but its deadline has passed: the caller expires it (once) instead.
    #[error("Review has expired")]
    PastDeadline,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl Review {
    pub fn kind(&self) -> &str {
        self.spec.kind_str()
    }

    /// Answers this review, first answer wins.
    pub fn respond(&self, r: &Reply, now: Millis) -> Result<Review, Refusal> {
        match self.status {
            ReviewStatus::Pending if self.deadline <= now => return Err(Refusal::PastDeadline),
            ReviewStatus::Pending => {}
            ReviewStatus::Expired => return Err(Refusal::Expired),
            ReviewStatus::Completed | ReviewStatus::ChangesRequested => {
                return Err(Refusal::AlreadyResponded);
            }
        }
        let status = if r.request_changes {
            check_change_request(r)?;
            ReviewStatus::ChangesRequested
        } else {
            self.check_answer(&r.response)?;
            ReviewStatus::Completed
        };
        Ok(Review {
            status,
            answer: Some(Answer {
                response: r.response.clone(),
                completed_at: now,
                feedback: r.feedback.clone(),
                modified_file_ids: r.modified_file_ids.clone(),
            }),
            ..self.clone()
        })
    }

    /// The expired review, if this one is pending and its deadline is at or before `now`.
    pub fn expire(&self, now: Millis) -> Option<Review> {
        (self.status == ReviewStatus::Pending && self.deadline <= now).then(|| Review {
            status: ReviewStatus::Expired,
            ..self.clone()
        })
    }

    /// This review with the answers of `password` form fields replaced by [`REDACTED`].
    pub fn redacted(&self) -> Review {
        let mut out = self.clone();
        if let (ReviewSpec::Form(form), Some(a)) = (&self.spec, out.answer.as_mut())
            && let Some(resp) = a.response.as_object_mut()
        {
            for name in form.secret_fields() {
                if let Some(v) = resp.get_mut(name).filter(|v| !v.is_null()) {
                    *v = Value::from(REDACTED);
                }
            }
        }
        out
    }

    /// Checks an answer against the kind's rules (path prefix `response`). `_dismissed:
    /// true` closes any kind but approval without an answer.
    fn check_answer(&self, response: &Value) -> Result<(), ValidationError> {
        let Some(r) = response.as_object() else {
            return Err(ValidationError::single("response", "must be an object"));
        };
        let mut c = Checker::new();
        let dismissed = r.get("_dismissed") == Some(&Value::Bool(true));
        match &self.spec {
            ReviewSpec::Freeform(_) | ReviewSpec::Unchecked { .. } => {}
            ReviewSpec::Approval(_) if dismissed => {
                c.fail(
                    "response._dismissed",
                    "approvals cannot be dismissed; choose an option",
                );
                c.only_keys(r, &["_dismissed"]);
            }
            _ if dismissed => c.only_keys(r, &["_dismissed"]),
            ReviewSpec::Approval(a) => a.check_answer(r, &mut c),
            ReviewSpec::Selection(s) => s.check_answer(r, &mut c),
            ReviewSpec::Form(f) => f.check_answer(r, &mut c),
            ReviewSpec::TextInput(t) => t.check_answer(r, &mut c),
        }
        c.finish()
    }
}

/// A request for changes carries feedback (what to change) and no answer.
fn check_change_request(r: &Reply) -> Result<(), ValidationError> {
    let mut c = Checker::new();
    if r.feedback.as_deref().is_none_or(|f| f.trim().is_empty()) {
        c.fail("feedback", "is required when requesting changes");
    }
    if !r.response.is_null() {
        c.fail("response", "must be absent when requesting changes");
    }
    c.finish()
}

impl crate::model::Message {
    /// The status of this message's review, if it has one.
    pub fn review_status(&self) -> Option<ReviewStatus> {
        self.review.as_ref().map(|r| r.status)
    }

    /// The deadline of this message's review, if it has one.
    pub fn review_deadline(&self) -> Option<Millis> {
        self.review.as_ref().map(|r| r.deadline)
    }
}

#[cfg(test)]
mod tests;
