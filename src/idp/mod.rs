//! Calls to key managers (third-party OAuth2 / OIDC IdPs) on a developer's behalf: the
//! client-credentials grant, dynamic client registration, and JWKS for verifying their
//! tokens. Every call passes the outbound guard.

pub mod jwks;
pub mod registration;
pub mod token;

use serde::Deserialize;
use url::Url;

use crate::outbound::{OutboundError, OutboundGuard};

/// Why a call to a key manager failed.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("{0}")]
    Refused(#[from] OutboundError),
    #[error("the key manager could not be reached: {0}")]
    Unreachable(String),
    /// The IdP answered with an error (RFC 6749 §5.2 / RFC 7591 §3.2.2 when it says so).
    #[error("the key manager answered HTTP {status}{}", describe(.error, .description))]
    Rejected {
        status: u16,
        error: Option<String>,
        description: Option<String>,
    },
    #[error("the key manager's answer is not what OAuth2 prescribes: {0}")]
    Malformed(String),
}

fn describe(error: &Option<String>, description: &Option<String>) -> String {
    match (error, description) {
        (Some(e), Some(d)) => format!(": {e} ({d})"),
        (Some(e), None) => format!(": {e}"),
        (None, Some(d)) => format!(": {d}"),
        (None, None) => String::new(),
    }
}

/// The OAuth2 error body; IdPs that answer problem+json (`title`/`detail`) are read too.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
    detail: Option<String>,
}

/// Sends `request` to `url` after the guard accepts it; a non-2xx answer is `Rejected`
/// with what the IdP said, a 2xx one is parsed as `T`.
async fn call<T: serde::de::DeserializeOwned>(
    guard: &OutboundGuard,
    url: &Url,
    request: reqwest::RequestBuilder,
) -> Result<T, IdpError> {
    guard.check_url(url).await?;
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| IdpError::Unreachable(e.to_string()))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| IdpError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let fallback = (!text.trim().is_empty()).then(|| text.chars().take(300).collect());
        return Err(IdpError::Rejected {
            status: status.as_u16(),
            error: body.error,
            description: body
                .error_description
                .or(body.message)
                .or(body.detail)
                .or(fallback),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| IdpError::Malformed(e.to_string()))
}
