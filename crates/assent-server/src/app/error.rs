//! Errors of the use cases. The HTTP status and stable code of each variant live in one
//! place only: `crate::error`.

use assent_core::ValidationError;
use assent_store::{Rejection, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// A per-user or per-connection cap was reached.
    #[error(transparent)]
    Limit(#[from] Limit),
    #[error("Cannot remove your own owner role")]
    CannotDemoteSelf,
    /// A rule the store checked against stored state.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("Invalid credentials")]
    InvalidCredentials,
    #[error("Current password is incorrect")]
    WrongPassword,
    #[error("Not your agent")]
    NotYourAgent,
    #[error("Owner access required")]
    OwnerRequired,
    #[error("Cannot delete your own account")]
    CannotDeleteSelf,
    #[error("{}", match .0 { Missing::Review => "No review on this message".to_owned(), Missing::Stream => "No streaming draft for this (channelId, streamId)".to_owned(), m => format!("{m} not found") })]
    NotFound(Missing),
    #[error("Email already in use")]
    EmailInUse,
    #[error("Plugin \"{0}\" not found")]
    PluginNotFound(String),
    /// A review's rules refused an answer (already answered, expired, invalid).
    #[error(transparent)]
    Refused(#[from] assent_core::review::Refusal),
    #[error("Too many failed login attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("The server is busy; try again in a moment")]
    Busy,
    #[error("The file is larger than the upload limit of {} MiB ({max_bytes} bytes)", max_bytes / 1_048_576)]
    UploadTooLarge { max_bytes: u64 },
    #[error("{0}")]
    InvalidUpload(String),
    #[error("The upload did not arrive in time")]
    UploadTimedOut,
    /// The blob store failed; the detail is logged, never shown.
    #[error("file storage failed: {0}")]
    Storage(String),
    #[error("This key or session already has {0} sockets open")]
    TooManySockets(usize),
    /// A store failure (never a refusal: those become `Invalid` or `Rejected`).
    #[error("internal error: {0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What was not found (each has its own stable code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Message,
    User,
    ApiKey,
    Review,
    Stream,
    Attachment,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::Message => "Message",
            Missing::User => "User",
            Missing::ApiKey => "API key",
            Missing::Review => "Review",
            Missing::Stream => "Stream",
            Missing::Attachment => "Attachment",
        })
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => AppError::Invalid(v),
            StoreError::Rejected(r) => AppError::Rejected(r),
            e => AppError::Store(e),
        }
    }
}

/// The caps (`docs/LIMITS` in the README): each says what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    #[error(
        "At most {per_channel} streaming drafts per channel and {per_user} per user may be open: complete or abort one first"
    )]
    OpenStreams { per_channel: i64, per_user: i64 },
    #[error("A user may have at most {0} API keys: delete one first")]
    ApiKeys(usize),
    #[error("A user may have at most {0} agents: delete one first")]
    Agents(i64),
    #[error("A connection may be subscribed to at most {0} channels: unsubscribe from one first")]
    Subscriptions(usize),
    #[error("The streamed text exceeds the message size limit")]
    StreamText,
}
