//! The error body every 4xx/5xx carries, and its stable codes.

use serde::{Deserialize, Serialize};

/// Error body: Placet's `{statusCode, message, errors?}` plus a stable `code`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status, repeated in the body (Placet's `statusCode`).
    pub status_code: u16,
    /// Human-readable message; Placet's wording where Placet has one (`Not your agent`).
    /// Opaque for 5xx.
    pub message: String,
    /// The status's reason phrase (`"Bad Request"`, `"Forbidden"`, …), as NestJS (Placet)
    /// sends it: clients that read it keep working.
    #[serde(default)]
    pub error: String,
    /// One of [`ErrorCode`]'s codes (a string, so that a client reads codes newer than
    /// itself).
    pub code: String,
    /// Field errors of a `validation_failed` body, each with its path; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldIssue>>,
}

/// The stable `code` of every error body. The server's error table maps each error to one of
/// these, and its OpenAPI document lists them; clients may match on them. New codes may be
/// added (hence `non_exhaustive`); a code's meaning never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400 `invalid_json`: the body is not one well-formed JSON value of the expected kind (or
    /// is nested too deep).
    InvalidJson,
    /// 400 `validation_failed`: fields refused; `errors` names each path.
    ValidationFailed,
    /// 413 `payload_too_large`: the body exceeds the size limit.
    PayloadTooLarge,
    /// 408 `request_timeout`: the body did not arrive within the body-read timeout.
    RequestTimeout,
    /// 415 `unsupported_media_type`: a non-empty body whose `Content-Type` is not JSON.
    UnsupportedMediaType,
    /// 401 `missing_api_key`: no `hp_…` key in `x-api-key` (or `Authorization: Bearer`).
    MissingApiKey,
    /// 401 `invalid_api_key`: the API key is unknown or was rotated or deleted.
    InvalidApiKey,
    /// 401 `unauthorized`: no valid session (missing, expired or revoked); also the
    /// `connect_error` of a socket with bad credentials.
    Unauthorized,
    /// 403 `password_change_required`: the user must change their password first.
    PasswordChangeRequired,
    /// 404 `route_not_found`: no such API route.
    RouteNotFound,
    /// 405 `method_not_allowed`: the route exists, not with this method.
    MethodNotAllowed,
    /// 403 `cross_site_request`: a cookie-authenticated write that the browser marked
    /// cross-site.
    CrossSiteRequest,
    /// 401 `invalid_credentials`: wrong email or password at login.
    InvalidCredentials,
    /// 401 `wrong_password`: `currentPassword` is wrong.
    WrongPassword,
    /// 403 `not_your_agent`: the channel is foreign or unknown (the two look the same).
    NotYourAgent,
    /// 403 `owner_required`: user management needs the `owner` role.
    OwnerRequired,
    /// 403 `cannot_delete_self`: an owner cannot delete their own account.
    CannotDeleteSelf,
    /// 400 `cannot_demote_self`: an owner cannot remove their own owner role.
    CannotDemoteSelf,
    /// 404 `message_not_found` (also for a human asking for a foreign message).
    MessageNotFound,
    /// 404 `user_not_found`.
    UserNotFound,
    /// 404 `api_key_not_found`.
    ApiKeyNotFound,
    /// 404 `review_not_found`: the message carries no review.
    ReviewNotFound,
    /// 404 `stream_not_found`: no draft for this `(channelId, streamId)`.
    StreamNotFound,
    /// 409 `email_in_use`.
    EmailInUse,
    /// 403 `review_already_responded`: the first answer won.
    ReviewAlreadyResponded,
    /// 403 `review_expired`: the review's deadline passed.
    ReviewExpired,
    /// 400 `invalid_iteration`: the `iterationOf` target is not in the channel, or has no
    /// completed or expired review.
    InvalidIteration,
    /// 400 `iteration_chain_member`: a message of a chain with other members cannot be
    /// deleted.
    IterationChainMember,
    /// 400 `stream_finished`: the draft is already complete or aborted.
    StreamFinished,
    /// 400 `stream_too_long`: the streamed text exceeds the message size limit.
    StreamTooLong,
    /// 400 `no_webhook`: the message has no webhook delivery to retry.
    NoWebhook,
    /// 400 `too_many_open_streams`: too many drafts open (8 per channel, 32 per user).
    TooManyOpenStreams,
    /// 400 `too_many_api_keys`: the user has the maximum number of keys (100).
    TooManyApiKeys,
    /// 400 `too_many_agents`: the user has the maximum number of agents (2,000).
    TooManyAgents,
    /// 400 `too_many_subscriptions`: a connection may subscribe to at most 1,000 channels.
    TooManySubscriptions,
    /// 429 `too_many_attempts`: login throttled after failed attempts; see `Retry-After`.
    TooManyAttempts,
    /// 429 `server_busy`: the password-hashing queue is full; retry in a moment.
    ServerBusy,
    /// 404: no attachment with this id among the caller's files.
    AttachmentNotFound,
    /// 404: no plugin of this name is installed.
    PluginNotFound,
    /// 400: a multipart upload without its `file` part, or one that is malformed.
    InvalidUpload,
    /// 503: the file storage (directory or S3 bucket) cannot be reached; nothing was stored.
    StorageUnavailable,
    /// 429 `too_many_sockets`: the key or session has the maximum number of sockets open.
    TooManySockets,
    /// 503 `shutting_down`: the server is shutting down.
    ShuttingDown,
    /// 503 `database_unavailable`: the database cannot be reached (or a write lost a race with
    /// another node's); nothing was written. Retry, with the same `clientId` for a message.
    DatabaseUnavailable,
    /// 500 `internal`: an unexpected failure (logged; the body is opaque).
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
        ErrorCode::AttachmentNotFound,
        ErrorCode::PluginNotFound,
        ErrorCode::InvalidUpload,
        ErrorCode::StorageUnavailable,
        ErrorCode::TooManySockets,
        ErrorCode::ShuttingDown,
        ErrorCode::DatabaseUnavailable,
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
            ErrorCode::AttachmentNotFound => "attachment_not_found",
            ErrorCode::PluginNotFound => "plugin_not_found",
            ErrorCode::InvalidUpload => "invalid_upload",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::TooManySockets => "too_many_sockets",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refused field of a `validation_failed` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldIssue {
    /// The field's path, e.g. `review.payload.options[0].id` (`""` for the whole body).
    pub path: String,
    /// What is wrong with it, e.g. `must not be empty`.
    pub message: String,
}
