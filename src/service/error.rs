//! The one error type of the services; each front end maps it once (HTTP:
//! problem+json in `http::error`).

use crate::aws::connector::ConnectorError;
use crate::domain::validation::FieldError;
use crate::store::{self, WriteError};

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
    /// The request carried text the database cannot store (a NUL character): the
    /// caller's error, in whichever field it came.
    #[error("{UNSTORABLE_TEXT}")]
    UnstorableText,
    /// The database cannot be reached right now (see `store::is_unreachable`); the
    /// caller may try again shortly. The cause is for the log.
    #[error("{DATABASE_UNREACHABLE}")]
    DatabaseUnreachable(#[source] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub const UNSTORABLE_TEXT: &str = "the request contains text that cannot be stored: a NUL \
     character (U+0000) in one of its fields; remove it";

pub const DATABASE_UNREACHABLE: &str =
    "the database is unreachable (or every connection to it is busy); try again shortly";

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if is_unstorable_text(&e) {
            return ServiceError::UnstorableText;
        }
        if store::is_unreachable(&e) {
            return ServiceError::DatabaseUnreachable(e);
        }
        ServiceError::Internal(e.into())
    }
}

/// Postgres refuses a NUL in `text` (22021 character_not_in_repertoire) and `\u0000` in
/// `jsonb` (22P05 untranslatable_character); both come from what the caller sent.
pub fn is_unstorable_text(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "22021" || code == "22P05")
}

/// A gateway call made on the caller's behalf failed; its words reach the caller.
impl From<ConnectorError> for ServiceError {
    fn from(error: ConnectorError) -> Self {
        let detail = match &error {
            ConnectorError::Postponed { retry_after, .. } => format!(
                "{error}; the gateway's quota is used up for now: try again in {} s",
                retry_after.as_secs().max(1)
            ),
            _ => format!("the gateway call failed: {error}"),
        };
        ServiceError::BadGateway {
            detail,
            extra: Default::default(),
        }
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
