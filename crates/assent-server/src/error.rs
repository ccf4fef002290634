//! The one error table: every error an edge can return, mapped to an HTTP status and a
//! stable `code`. No wildcard arms, so a new variant cannot ship without a mapping.
//! 5xx bodies are opaque and logged once here.

use crate::app::{AppError, Limit, Missing};
use assent_core::review::Refusal;
use assent_proto::{ErrorBody, ErrorCode, FieldIssue};
use assent_store::{Rejection, StoreError};
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
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::Edge(e) => edge_code(e),
            ApiError::App(e) => app_code(e),
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
            _ if status.is_server_error() => {
                if code == ErrorCode::StorageUnavailable {
                    ("File storage is unavailable; try again".to_owned(), None)
                } else if code == ErrorCode::DatabaseUnavailable {
                    ("The database is unavailable; try again".to_owned(), None)
                } else if status == StatusCode::SERVICE_UNAVAILABLE {
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
            code: code.as_str().to_owned(),
            errors,
        }
    }
}

fn edge_code(e: &EdgeError) -> (StatusCode, ErrorCode) {
    use ErrorCode as C;
    use StatusCode as S;
    match e {
        EdgeError::InvalidJson(_) => (S::BAD_REQUEST, C::InvalidJson),
        EdgeError::InvalidField { .. } => (S::BAD_REQUEST, C::ValidationFailed),
        EdgeError::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
        EdgeError::RequestTimeout => (S::REQUEST_TIMEOUT, C::RequestTimeout),
        EdgeError::UnsupportedMediaType => (S::UNSUPPORTED_MEDIA_TYPE, C::UnsupportedMediaType),
        EdgeError::MissingApiKey => (S::UNAUTHORIZED, C::MissingApiKey),
        EdgeError::InvalidApiKey => (S::UNAUTHORIZED, C::InvalidApiKey),
        EdgeError::NotAuthenticated => (S::UNAUTHORIZED, C::Unauthorized),
        EdgeError::PasswordChangeRequired => (S::FORBIDDEN, C::PasswordChangeRequired),
        EdgeError::RouteNotFound => (S::NOT_FOUND, C::RouteNotFound),
        EdgeError::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, C::MethodNotAllowed),
        EdgeError::CrossSiteRequest => (S::FORBIDDEN, C::CrossSiteRequest),
    }
}

fn app_code(e: &AppError) -> (StatusCode, ErrorCode) {
    use ErrorCode as C;
    use StatusCode as S;
    match e {
        AppError::Invalid(_) => (S::BAD_REQUEST, C::ValidationFailed),
        AppError::Limit(l) => (S::BAD_REQUEST, limit_code(l)),
        AppError::CannotDemoteSelf => (S::BAD_REQUEST, C::CannotDemoteSelf),
        AppError::Rejected(r) => (S::BAD_REQUEST, rejection_code(r)),
        AppError::Unauthorized(_) => (S::UNAUTHORIZED, C::Unauthorized),
        AppError::InvalidCredentials => (S::UNAUTHORIZED, C::InvalidCredentials),
        AppError::WrongPassword => (S::UNAUTHORIZED, C::WrongPassword),
        AppError::NotYourAgent => (S::FORBIDDEN, C::NotYourAgent),
        AppError::OwnerRequired => (S::FORBIDDEN, C::OwnerRequired),
        AppError::CannotDeleteSelf => (S::FORBIDDEN, C::CannotDeleteSelf),
        AppError::NotFound(what) => (S::NOT_FOUND, not_found_code(what)),
        AppError::EmailInUse => (S::CONFLICT, C::EmailInUse),
        AppError::PluginNotFound(_) => (S::NOT_FOUND, C::PluginNotFound),
        AppError::Refused(r) => refusal_code(r),
        AppError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, C::TooManyAttempts),
        AppError::Busy => (S::TOO_MANY_REQUESTS, C::ServerBusy),
        AppError::UploadTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
        AppError::InvalidUpload(_) => (S::BAD_REQUEST, C::InvalidUpload),
        AppError::UploadTimedOut => (S::REQUEST_TIMEOUT, C::RequestTimeout),
        AppError::Storage(_) => (S::SERVICE_UNAVAILABLE, C::StorageUnavailable),
        AppError::TooManySockets(_) => (S::TOO_MANY_REQUESTS, C::TooManySockets),
        AppError::Store(StoreError::Closed) => (S::SERVICE_UNAVAILABLE, C::ShuttingDown),
        AppError::Store(e) if e.is_unavailable() => {
            (S::SERVICE_UNAVAILABLE, C::DatabaseUnavailable)
        }
        AppError::Store(_) | AppError::Internal(_) => (S::INTERNAL_SERVER_ERROR, C::Internal),
    }
}

fn limit_code(l: &Limit) -> ErrorCode {
    match l {
        Limit::OpenStreams { .. } => ErrorCode::TooManyOpenStreams,
        Limit::ApiKeys(_) => ErrorCode::TooManyApiKeys,
        Limit::Agents(_) => ErrorCode::TooManyAgents,
        Limit::Subscriptions(_) => ErrorCode::TooManySubscriptions,
        Limit::StreamText => ErrorCode::StreamTooLong,
    }
}

fn rejection_code(r: &Rejection) -> ErrorCode {
    match r {
        Rejection::IterationTargetMissing | Rejection::IterationTargetOpen => {
            ErrorCode::InvalidIteration
        }
        Rejection::IterationChainMember => ErrorCode::IterationChainMember,
        Rejection::StreamFinished => ErrorCode::StreamFinished,
        Rejection::NoWebhook => ErrorCode::NoWebhook,
    }
}

fn refusal_code(r: &Refusal) -> (StatusCode, ErrorCode) {
    match r {
        Refusal::AlreadyResponded => (StatusCode::FORBIDDEN, ErrorCode::ReviewAlreadyResponded),
        Refusal::Expired | Refusal::PastDeadline => {
            (StatusCode::FORBIDDEN, ErrorCode::ReviewExpired)
        }
        Refusal::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::ValidationFailed),
    }
}

fn not_found_code(what: &Missing) -> ErrorCode {
    match what {
        Missing::Message => ErrorCode::MessageNotFound,
        Missing::User => ErrorCode::UserNotFound,
        Missing::ApiKey => ErrorCode::ApiKeyNotFound,
        Missing::Review => ErrorCode::ReviewNotFound,
        Missing::Stream => ErrorCode::StreamNotFound,
        Missing::Attachment => ErrorCode::AttachmentNotFound,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let status =
            StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed with an internal error");
        } else if let ApiError::App(AppError::Storage(e)) = &self {
            tracing::error!(error = %e, "request failed: file storage unavailable");
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
    use assent_core::ValidationError;

    /// One error of every kind the table maps.
    fn every_error() -> Vec<ApiError> {
        use AppError as A;
        use EdgeError as E;
        let invalid =
            || ValidationError::single("review.payload.options[0].id", "must not be empty");
        let mut all: Vec<ApiError> = vec![
            E::InvalidJson("expected value at line 1 column 2".into()).into(),
            E::InvalidField {
                path: "limit".into(),
                message: "must be a number".into(),
            }
            .into(),
            E::PayloadTooLarge.into(),
            E::RequestTimeout.into(),
            E::UnsupportedMediaType.into(),
            E::MissingApiKey.into(),
            E::InvalidApiKey.into(),
            E::NotAuthenticated.into(),
            E::PasswordChangeRequired.into(),
            E::RouteNotFound.into(),
            E::MethodNotAllowed.into(),
            E::CrossSiteRequest.into(),
        ];
        let app = [
            A::Invalid(invalid()),
            A::Limit(Limit::OpenStreams {
                per_channel: 8,
                per_user: 32,
            }),
            A::Limit(Limit::ApiKeys(100)),
            A::Limit(Limit::Agents(2000)),
            A::Limit(Limit::Subscriptions(1000)),
            A::Limit(Limit::StreamText),
            A::CannotDemoteSelf,
            A::Rejected(Rejection::IterationTargetMissing),
            A::Rejected(Rejection::IterationTargetOpen),
            A::Rejected(Rejection::IterationChainMember),
            A::Rejected(Rejection::StreamFinished),
            A::Rejected(Rejection::NoWebhook),
            A::Unauthorized("Session expired"),
            A::InvalidCredentials,
            A::WrongPassword,
            A::NotYourAgent,
            A::OwnerRequired,
            A::CannotDeleteSelf,
            A::NotFound(Missing::Message),
            A::NotFound(Missing::User),
            A::NotFound(Missing::ApiKey),
            A::NotFound(Missing::Review),
            A::NotFound(Missing::Stream),
            A::NotFound(Missing::Attachment),
            A::EmailInUse,
            A::PluginNotFound("kroki-diagram".into()),
            A::Refused(Refusal::AlreadyResponded),
            A::Refused(Refusal::Expired),
            A::Refused(Refusal::Invalid(invalid())),
            A::TooManyAttempts {
                retry_after_secs: 4,
            },
            A::Busy,
            A::UploadTooLarge {
                max_bytes: 104_857_600,
            },
            A::InvalidUpload("The form has no `file` part".into()),
            A::UploadTimedOut,
            A::Storage("connection refused".into()),
            A::TooManySockets(1000),
            A::Store(StoreError::Closed),
            A::Store(StoreError::CommitFailed("connection reset".into())),
            A::Store(StoreError::Corrupt("row 7".into())),
            A::Internal("db password is hunter2".into()),
        ];
        all.extend(app.into_iter().map(ApiError::from));
        all
    }

    /// The bodies clients see, compared with `tests/snapshots/error_bodies.txt`. After an
    /// intended change, rerun with `UPDATE_SNAPSHOTS=1` and review the diff.
    #[test]
    fn error_bodies_match_their_snapshot() {
        let rendered: String = every_error()
            .iter()
            .map(|e| format!("{}\n", serde_json::to_string(&e.body()).unwrap()))
            .collect();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/snapshots/error_bodies.txt"
        );
        // A test switch, not a setting.
        #[allow(clippy::disallowed_methods)]
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let expected = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            rendered == expected,
            "error bodies changed; rerun with UPDATE_SNAPSHOTS=1 if intended:\n{rendered}"
        );
    }

    #[test]
    fn every_code_is_produced_by_some_error() {
        let produced: Vec<ErrorCode> = every_error()
            .iter()
            .map(|e| e.status_and_code().1)
            .collect();
        for code in ErrorCode::ALL {
            assert!(produced.contains(code), "{code} is never produced");
        }
    }

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
