//! The error body every 4xx/5xx carries, and its stable codes.

use serde::{Deserialize, Serialize};

/// Error body: Placet's `{statusCode, message, errors?}` plus a stable `code`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub message: String,
    /// The status's reason phrase (`"Bad Request"`, `"Forbidden"`, …), as NestJS (Placet)
    /// sends it: clients that read it keep working.
    #[serde(default)]
    pub error: String,
    /// One of [`ErrorCode`]'s codes (a string, so that a client reads codes newer than
    /// itself).
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldIssue>>,
}

/// The stable `code` of every error body. The server's error table maps each error to one of
/// these, and its OpenAPI document lists them; clients may match on them. New codes may be
/// added (hence `non_exhaustive`); a code's meaning never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidJson,
    ValidationFailed,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    MissingApiKey,
    InvalidApiKey,
    Unauthorized,
    PasswordChangeRequired,
    RouteNotFound,
    MethodNotAllowed,
    CrossSiteRequest,
    InvalidCredentials,
    WrongPassword,
    NotYourAgent,
    OwnerRequired,
    CannotDeleteSelf,
    CannotDemoteSelf,
    MessageNotFound,
    UserNotFound,
    ApiKeyNotFound,
    ReviewNotFound,
    StreamNotFound,
    EmailInUse,
    ReviewAlreadyResponded,
    ReviewExpired,
    InvalidIteration,
    IterationChainMember,
    StreamFinished,
    StreamTooLong,
    NoWebhook,
    TooManyOpenStreams,
    TooManyApiKeys,
    TooManyAgents,
    TooManySubscriptions,
    TooManyAttempts,
    ServerBusy,
    TooManySockets,
    ShuttingDown,
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the declaration.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::ValidationFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::MissingApiKey,
        ErrorCode::InvalidApiKey,
        ErrorCode::Unauthorized,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::CrossSiteRequest,
        ErrorCode::InvalidCredentials,
        ErrorCode::WrongPassword,
        ErrorCode::NotYourAgent,
        ErrorCode::OwnerRequired,
        ErrorCode::CannotDeleteSelf,
        ErrorCode::CannotDemoteSelf,
        ErrorCode::MessageNotFound,
        ErrorCode::UserNotFound,
        ErrorCode::ApiKeyNotFound,
        ErrorCode::ReviewNotFound,
        ErrorCode::StreamNotFound,
        ErrorCode::EmailInUse,
        ErrorCode::ReviewAlreadyResponded,
        ErrorCode::ReviewExpired,
        ErrorCode::InvalidIteration,
        ErrorCode::IterationChainMember,
        ErrorCode::StreamFinished,
        ErrorCode::StreamTooLong,
        ErrorCode::NoWebhook,
        ErrorCode::TooManyOpenStreams,
        ErrorCode::TooManyApiKeys,
        ErrorCode::TooManyAgents,
        ErrorCode::TooManySubscriptions,
        ErrorCode::TooManyAttempts,
        ErrorCode::ServerBusy,
        ErrorCode::TooManySockets,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
    ];

    /// The code as it appears in error bodies (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::MissingApiKey => "missing_api_key",
            ErrorCode::InvalidApiKey => "invalid_api_key",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::RouteNotFound => "route_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::CrossSiteRequest => "cross_site_request",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::NotYourAgent => "not_your_agent",
            ErrorCode::OwnerRequired => "owner_required",
            ErrorCode::CannotDeleteSelf => "cannot_delete_self",
            ErrorCode::CannotDemoteSelf => "cannot_demote_self",
            ErrorCode::MessageNotFound => "message_not_found",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::ApiKeyNotFound => "api_key_not_found",
            ErrorCode::ReviewNotFound => "review_not_found",
            ErrorCode::StreamNotFound => "stream_not_found",
            ErrorCode::EmailInUse => "email_in_use",
            ErrorCode::ReviewAlreadyResponded => "review_already_responded",
            ErrorCode::ReviewExpired => "review_expired",
            ErrorCode::InvalidIteration => "invalid_iteration",
            ErrorCode::IterationChainMember => "iteration_chain_member",
            ErrorCode::StreamFinished => "stream_finished",
            ErrorCode::StreamTooLong => "stream_too_long",
            ErrorCode::NoWebhook => "no_webhook",
            ErrorCode::TooManyOpenStreams => "too_many_open_streams",
            ErrorCode::TooManyApiKeys => "too_many_api_keys",
            ErrorCode::TooManyAgents => "too_many_agents",
            ErrorCode::TooManySubscriptions => "too_many_subscriptions",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::ServerBusy => "server_busy",
            ErrorCode::TooManySockets => "too_many_sockets",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldIssue {
    pub path: String,
    pub message: String,
}
