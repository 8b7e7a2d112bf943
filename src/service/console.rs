//! Console sessions: a client signs in with the same check as the token endpoint
//! (`auth::verify_client`, throttled and audited alike) and gets a server-side session.
//! Each request re-checks the client as a bearer token is re-checked
//! (`auth::client_principal`), so a rotated secret or a deleted client ends its sessions.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::auth::{self, AuthError, Login, LoginError};
use super::{Actor, AppState, ServiceError};
use crate::auth::tokens::TokenSubject;
use crate::domain::scope::{Scope, Scopes};
use crate::store::console_sessions::{self as store, NewSession};

/// A session just opened: the raw id goes into the cookie and is never stored.
pub struct Opened {
    pub session_id: String,
    pub expires_in: std::time::Duration,
}

/// A live session: who it speaks for, and the token its forms must carry.
pub struct Session {
    pub actor: Actor,
    pub csrf_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Unknown, expired, idle too long, or its client's credential is no longer valid.
    #[error("the session has ended")]
    Ended,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for SessionError {
    fn from(e: sqlx::Error) -> Self {
        SessionError::Service(e.into())
    }
}

/// Checks the client's secret and opens a session for its scopes.
pub async fn sign_in(state: &AppState, login: Login<'_>) -> Result<Opened, LoginError> {
    let verified = auth::verify_client(state, login).await?;
    let session_id = random_token();
    let csrf_token = random_token();
    let ttl = std::time::Duration::from_secs(state.config.console_session_ttl_secs);
    let expires_at = Utc::now() + Duration::from_std(ttl).expect("a bounded lifetime");
    let subject = verified.subject();
    let stored = NewSession {
        id_hash: &id_hash(&session_id),
        client_record: subject.record,
        client_id: subject.client_id,
        generation: subject.generation,
        scopes: verified.scopes.to_strings(),
        csrf_token: &csrf_token,
        expires_at,
    };
    store::delete_expired(&state.db)
        .await
        .map_err(ServiceError::from)?;
    store::insert(&state.db, &stored)
        .await
        .map_err(ServiceError::from)?;
    tracing::info!(client_id = %subject.client_id, scope = %verified.scopes, "opened a console session");
    Ok(Opened {
        session_id,
        expires_in: ttl,
    })
}

/// The live session `session_id` names; an ended one is removed.
pub async fn session(
    state: &AppState,
    session_id: &str,
    request_id: Option<String>,
) -> Result<Session, SessionError> {
    let hash = id_hash(session_id);
    let row = store::find(&state.db, &hash)
        .await?
        .ok_or(SessionError::Ended)?;
    let idle = Duration::seconds(state.config.console_session_idle_secs as i64);
    if !is_live(row.expires_at, row.last_seen_at, idle, Utc::now()) {
        store::delete(&state.db, &hash).await?;
        return Err(SessionError::Ended);
    }
    let granted = Scopes::from_iter_nonempty(row.scopes.iter().filter_map(|s| Scope::parse(s)));
    let subject = TokenSubject {
        client_id: &row.client_id,
        record: row.client_record,
        generation: row.generation,
    };
    let principal = match granted {
        Some(granted) => auth::client_principal(state, &subject, &granted).await,
        None => Err(AuthError::Invalid("no scope left")),
    };
    let principal = match principal {
        Ok(principal) => principal,
        Err(AuthError::Invalid(reason)) => {
            tracing::info!(client_id = %row.client_id, reason, "ended a console session");
            store::delete(&state.db, &hash).await?;
            return Err(SessionError::Ended);
        }
        Err(AuthError::Service(error)) => return Err(error.into()),
    };
    store::touch(&state.db, &hash).await?;
    Ok(Session {
        actor: Actor {
            principal,
            request_id,
        },
        csrf_token: row.csrf_token,
    })
}

/// Ends a session (sign-out).
pub async fn sign_out(state: &AppState, session_id: &str) -> Result<(), ServiceError> {
    Ok(store::delete(&state.db, &id_hash(session_id)).await?)
}

/// Whether a session is neither past its lifetime nor idle longer than `idle`.
fn is_live(
    expires_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    idle: Duration,
    now: DateTime<Utc>,
) -> bool {
    now < expires_at && now < last_seen_at + idle
}

/// 256 random bits, base64url without padding.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn id_hash(session_id: &str) -> Vec<u8> {
    Sha256::digest(session_id.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_at_its_expiry_or_after_idling() {
        let now = Utc::now();
        let idle = Duration::minutes(30);
        let hour = Duration::hours(1);
        assert!(is_live(now + hour, now, idle, now));
        assert!(!is_live(now - hour, now, idle, now));
        assert!(!is_live(now + hour, now - hour, idle, now));
    }

    #[test]
    fn session_ids_are_random_and_only_their_hash_is_kept() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(id_hash(&a).len(), 32);
        assert_ne!(id_hash(&a), id_hash(&b));
    }
}
