//! The one error type of the services; each front end maps it once (HTTP:
//! problem+json in `http::error`).

use crate::domain::validation::FieldError;
use crate::store::WriteError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields of the request are invalid; each is named.
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The current state does not allow the change (a live deployment, a retired API…).
    #[error("{0}")]
    Conflict(String),
    /// The caller's version (`If-Match`) is not the current one.
    #[error("the resource changed since it was read (If-Match did not match its ETag)")]
    PreconditionFailed,
    /// Well-formed but cannot be carried out (a failed check); `extra` says what failed.
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    /// An upstream called on the caller's behalf (a key manager) failed; `extra` carries
    /// what it said, which is the caller's to see.
    #[error("{detail}")]
    BadGateway {
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::Internal(e.into())
    }
}

impl ServiceError {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError::new(field, reason)])
    }

    /// A refused write of the `what` named `name`: taken name → conflict, stale version →
    /// precondition failed.
    pub fn from_write(error: WriteError, what: &str, name: &str) -> Self {
        match error {
            WriteError::DuplicateName => {
                ServiceError::Conflict(format!("{what} named `{name}` already exists"))
            }
            WriteError::VersionMismatch => ServiceError::PreconditionFailed,
            WriteError::Database(e) => e.into(),
        }
    }
}
