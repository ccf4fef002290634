//! The one error table: every error an edge can return, mapped to an HTTP status and a
//! stable `code`. No wildcard arms, so a new variant cannot ship without a mapping.
//! 5xx bodies are opaque and logged once here.

use crate::app::{AppError, Missing};
use assent_core::review::Refusal;
use assent_proto::{ErrorBody, FieldIssue};
use assent_store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Errors found at the HTTP edge before a use case runs.
#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("Malformed JSON body: {0}")]
    InvalidJson(String),
    #[error("{path}: {message}")]
    InvalidField { path: String, message: String },
    #[error("Request body too large")]
    PayloadTooLarge,
    #[error("The request body did not arrive in time")]
    RequestTimeout,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("Missing or invalid API key")]
    MissingApiKey,
    #[error("Invalid API key")]
    InvalidApiKey,
    #[error("Not authenticated")]
    NotAuthenticated,
    #[error("Password change required")]
    PasswordChangeRequired,
    #[error("Route not found")]
    RouteNotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// A cookie-authenticated write that a browser marked as coming from another site.
    #[error(
        "Cross-site request refused: send it from the dashboard's own origin, or authenticate with a bearer token"
    )]
    CrossSiteRequest,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Edge(#[from] EdgeError),
}

impl From<assent_core::ValidationError> for ApiError {
    fn from(e: assent_core::ValidationError) -> Self {
        ApiError::App(AppError::Invalid(e))
    }
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::Edge(e) => match e {
                EdgeError::InvalidJson(_) => (S::BAD_REQUEST, "invalid_json"),
                EdgeError::InvalidField { .. } => (S::BAD_REQUEST, "validation_failed"),
                EdgeError::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, "payload_too_large"),
                EdgeError::RequestTimeout => (S::REQUEST_TIMEOUT, "request_timeout"),
                EdgeError::UnsupportedMediaType => {
                    (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                }
                EdgeError::MissingApiKey => (S::UNAUTHORIZED, "missing_api_key"),
                EdgeError::InvalidApiKey => (S::UNAUTHORIZED, "invalid_api_key"),
                EdgeError::NotAuthenticated => (S::UNAUTHORIZED, "unauthorized"),
                EdgeError::PasswordChangeRequired => (S::FORBIDDEN, "password_change_required"),
                EdgeError::RouteNotFound => (S::NOT_FOUND, "route_not_found"),
                EdgeError::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
                EdgeError::CrossSiteRequest => (S::FORBIDDEN, "cross_site_request"),
            },
            ApiError::App(e) => match e {
                AppError::Invalid(_) => (S::BAD_REQUEST, "validation_failed"),
                AppError::BadRequest { code, .. } => (S::BAD_REQUEST, code),
                AppError::Unauthorized(_) => (S::UNAUTHORIZED, "unauthorized"),
                AppError::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials"),
                AppError::WrongPassword => (S::UNAUTHORIZED, "wrong_password"),
                AppError::NotYourAgent => (S::FORBIDDEN, "not_your_agent"),
                AppError::OwnerRequired => (S::FORBIDDEN, "owner_required"),
                AppError::CannotDeleteSelf => (S::FORBIDDEN, "cannot_delete_self"),
                AppError::NotFound(what) => (S::NOT_FOUND, not_found_code(what)),
                AppError::EmailInUse => (S::CONFLICT, "email_in_use"),
                AppError::Refused(r) => refusal_code(r),
                AppError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_attempts"),
                AppError::Busy => (S::TOO_MANY_REQUESTS, "server_busy"),
                AppError::TooManySockets(_) => (S::TOO_MANY_REQUESTS, "too_many_sockets"),
                AppError::Store(StoreError::Rejected { code, .. }) => (S::BAD_REQUEST, code),
                AppError::Store(StoreError::Closed) => (S::SERVICE_UNAVAILABLE, "shutting_down"),
                AppError::Store(_) | AppError::Internal(_) => {
                    (S::INTERNAL_SERVER_ERROR, "internal")
                }
            },
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (status, code) = self.status_and_code();
        let (message, errors) = match self {
            ApiError::App(AppError::Invalid(v) | AppError::Refused(Refusal::Invalid(v))) => (
                v.to_string(),
                Some(
                    v.errors
                        .iter()
                        .map(|e| FieldIssue {
                            path: e.path.clone(),
                            message: e.message.clone(),
                        })
                        .collect(),
                ),
            ),
            ApiError::Edge(EdgeError::InvalidField { path, message }) => (
                self.to_string(),
                Some(vec![FieldIssue {
                    path: path.clone(),
                    message: message.clone(),
                }]),
            ),
            ApiError::App(AppError::Store(StoreError::Rejected { message, .. })) => {
                ((*message).to_owned(), None)
            }
            _ if status.is_server_error() => {
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    ("Server is shutting down".to_owned(), None)
                } else {
                    ("Internal server error".to_owned(), None)
                }
            }
            _ => (self.to_string(), None),
        };
        ErrorBody {
            status_code: status.as_u16(),
            error: status.canonical_reason().unwrap_or_default().to_owned(),
            message,
            code: code.to_owned(),
            errors,
        }
    }
}

fn refusal_code(r: &Refusal) -> (StatusCode, &'static str) {
    match r {
        Refusal::AlreadyResponded => (StatusCode::FORBIDDEN, "review_already_responded"),
        Refusal::Expired | Refusal::PastDeadline => (StatusCode::FORBIDDEN, "review_expired"),
        Refusal::Invalid(_) => (StatusCode::BAD_REQUEST, "validation_failed"),
    }
}

fn not_found_code(what: &Missing) -> &'static str {
    match what {
        Missing::Message => "message_not_found",
        Missing::User => "user_not_found",
        Missing::ApiKey => "api_key_not_found",
        Missing::Review => "review_not_found",
        Missing::Stream => "stream_not_found",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let status =
            StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed with an internal error");
        }
        let retry_after = match &self {
            ApiError::App(AppError::TooManyAttempts { retry_after_secs }) => {
                Some(*retry_after_secs)
            }
            ApiError::App(AppError::Busy) => Some(1),
            _ => None,
        };
        let mut res = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_are_opaque() {
        let e = ApiError::App(AppError::Internal("db password is hunter2".into()));
        let b = e.body();
        assert_eq!(b.status_code, 500);
        assert_eq!(b.message, "Internal server error");
        assert_eq!(b.code, "internal");
    }

    #[test]
    fn placet_messages_are_kept() {
        let b = ApiError::App(AppError::NotYourAgent).body();
        assert_eq!(
            (b.status_code, b.message.as_str(), b.code.as_str()),
            (403, "Not your agent", "not_your_agent")
        );
        let b = ApiError::Edge(EdgeError::MissingApiKey).body();
        assert_eq!(
            (b.status_code, b.message.as_str()),
            (401, "Missing or invalid API key")
        );
    }
}
