use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the transaction carrying this write failed to commit: {0}")]
    CommitFailed(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A business rule refused the write.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Invalid(#[from] assent_core::ValidationError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("store configuration: {0}")]
    Config(String),
    #[error("the store is shut down")]
    Closed,
}

/// The rules a write job checks against stored state, refused before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error("iterationOf target does not exist in this channel")]
    IterationTargetMissing,
    #[error("iterationOf target must have a completed, expired or changes_requested review")]
    IterationTargetOpen,
    #[error("Cannot delete a message that is part of an iteration chain with other messages")]
    IterationChainMember,
    #[error("This stream is already complete or aborted")]
    StreamFinished,
    #[error("No webhook configured for this message")]
    NoWebhook,
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl StoreError {
    /// A business refusal (decided before any write), as opposed to a database failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound
                | StoreError::Conflict(_)
                | StoreError::Rejected(_)
                | StoreError::Invalid(_)
        )
    }

    /// True when the database could not be reached or dropped the connection, or a
    /// transaction lost a lock race (deadlock, serialization) with another node's: nothing
    /// was written and the same request may simply be retried.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::CommitFailed(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                    // 08: connection exceptions; 57P0x: the server shut down or is starting;
                    // 40001/40P01: serialization failure, deadlock.
                    c.starts_with("08") || c.starts_with("57P0") || c == "40001" || c == "40P01"
                }),
                _ => false,
            },
            // The write lock was not granted within the busy timeout: nothing was written.
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }

    /// True for unique-constraint violations (an insert lost a race with an equal one).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}
