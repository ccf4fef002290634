//! Errors of the use cases. The HTTP status and stable code of each variant live in one
//! place only: `crate::error`.

use assent_core::ValidationError;
use assent_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
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
    /// A review's rules refused an answer (already answered, expired, invalid).
    #[error(transparent)]
    Refused(#[from] assent_core::review::Refusal),
    #[error("Too many failed login attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("The server is busy; try again in a moment")]
    Busy,
    #[error("This key or session already has {0} sockets open")]
    TooManySockets(usize),
    #[error("internal error: {0}")]
    Store(#[from] StoreError),
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
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::Message => "Message",
            Missing::User => "User",
            Missing::ApiKey => "API key",
            Missing::Review => "Review",
            Missing::Stream => "Stream",
        })
    }
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
}
