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
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("Email already in use")]
    EmailInUse,
    #[error("internal error: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
        }
    }
}
