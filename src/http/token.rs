//! `POST /auth/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4). Errors use
//! OAuth2's own shape (`{error, error_description}`), not problem+json, as clients expect.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppState, auth};
use crate::service::ServiceError;
use crate::service::auth::{self as service, Login, LoginError};
use crate::service::error::DATABASE_UNREACHABLE;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue_token))
}

/// Form fields of a token request.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; all of them when absent.
    scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

/// An OAuth2 error response (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    error: &'static str,
    error_description: String,
    #[serde(skip)]
    basic_challenge: bool,
    /// A status other than the one the error code implies (413, 429).
    #[serde(skip)]
    status: Option<StatusCode>,
    /// Seconds to wait before trying again (429).
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: description.into(),
            basic_challenge: false,
            status: None,
            retry_after: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or(match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        });
        let (challenge, retry_after) = (self.basic_challenge, self.retry_after);
        let mut response = (status, no_store(), Json(self)).into_response();
        if challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fedgate\""),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Exchange client credentials for an access token
///
/// Client authentication by HTTP Basic or by the `client_id`/`client_secret` form fields.
/// Failed logins are throttled per source address and per client id from one source
/// address (429 with `Retry-After`).
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenResponse),
        (status = 400, description = "Malformed request, unsupported grant or invalid scope", body = OAuthError),
        (status = 401, description = "Unknown client or wrong secret", body = OAuthError),
        (status = 413, description = "The body is too large", body = OAuthError),
        (status = 429, description = "Too many failed logins from this address; see Retry-After", body = OAuthError),
    )
)]
async fn issue_token(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, OAuthError> {
    let (parts, body) = request.into_parts();
    let source = auth::source(&parts, &state);
    let request_id = auth::request_id(&parts);
    let headers = parts.headers;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(OAuthError::new(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    // Read here rather than by an extractor, so that even a too-large body is answered
    // in OAuth2's error shape.
    let body = axum::body::to_bytes(body, state.config.body_limit_bytes)
        .await
        .map_err(|_| OAuthError {
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..OAuthError::new(
                "invalid_request",
                format!(
                    "the request body is larger than {} bytes",
                    state.config.body_limit_bytes
                ),
            )
        })?;
    let form: TokenRequest = serde_urlencoded::from_bytes(&body)
        .map_err(|e| OAuthError::new("invalid_request", format!("malformed form body: {e}")))?;
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => return Err(OAuthError::new("invalid_request", "grant_type is required")),
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant type `{other}` is not supported; use client_credentials"),
            ));
        }
    }
    let ((client_id, secret), used_basic) = client_credentials(&headers, &form)?;
    let login = Login {
        client_id: &client_id,
        secret,
        scope: form.scope.as_deref(),
        source,
        request_id,
    };
    let issued = service::login(&state, login).await.map_err(|e| match e {
        LoginError::InvalidClient => OAuthError {
            basic_challenge: used_basic,
            ..OAuthError::new("invalid_client", e.to_string())
        },
        LoginError::InvalidScope(reason) => OAuthError::new("invalid_scope", reason),
        LoginError::Throttled(wait) => OAuthError {
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            retry_after: Some(wait.as_secs().max(1)),
            ..OAuthError::new("temporarily_unavailable", e.to_string())
        },
        LoginError::Service(ServiceError::UnstorableText) => OAuthError::new(
            "invalid_request",
            "the request holds text that cannot be stored (a NUL character)",
        ),
        LoginError::Service(ServiceError::DatabaseUnreachable(error)) => {
            tracing::warn!(%error, "the database is unreachable");
            OAuthError {
                status: Some(StatusCode::SERVICE_UNAVAILABLE),
                retry_after: Some(2),
                ..OAuthError::new("temporarily_unavailable", DATABASE_UNREACHABLE)
            }
        }
        LoginError::Service(error) => server_error(error.into()),
    })?;
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: issued.scopes.to_string(),
    };
    Ok((no_store(), Json(body)).into_response())
}

/// Client id and secret from HTTP Basic (preferred by RFC 6749) or the form; both at once
/// is an error. Returns whether Basic was used, for the 401 challenge.
fn client_credentials(
    headers: &HeaderMap,
    form: &TokenRequest,
) -> Result<((String, SecretString), bool), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials);
    match (basic, &form.client_id) {
        (Some(_), Some(_)) if form.client_secret.is_some() => Err(OAuthError::new(
            "invalid_request",
            "use either HTTP Basic or form fields for client authentication, not both",
        )),
        (Some(encoded), _) => {
            let malformed = || OAuthError {
                basic_challenge: true,
                ..OAuthError::new("invalid_client", "malformed HTTP Basic credentials")
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| malformed())?;
            let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|s| s.into_owned())
                    .map_err(|_| malformed())
            };
            Ok(((decode(id)?, SecretString::from(decode(secret)?)), true))
        }
        (None, Some(id)) => {
            let secret = form
                .client_secret
                .clone()
                .ok_or_else(|| OAuthError::new("invalid_request", "client_secret is required"))?;
            Ok(((id.clone(), SecretString::from(secret)), false))
        }
        (None, None) => Err(OAuthError {
            basic_challenge: true,
            ..OAuthError::new(
                "invalid_client",
                "client authentication is required (HTTP Basic or client_id/client_secret)",
            )
        }),
    }
}

fn server_error(error: anyhow::Error) -> OAuthError {
    tracing::error!(error = ?error, "token endpoint failed");
    OAuthError::new("server_error", "an internal error occurred")
}
