//! `POST /auth/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4). Errors use
//! OAuth2's own shape (`{error, error_description}`), not problem+json, as clients expect.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::auth::client_secret;
use crate::domain::scope::Scopes;
use crate::store;

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
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: description.into(),
            basic_challenge: false,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.error {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let challenge = self.basic_challenge;
        let mut response = (status, no_store(), Json(self)).into_response();
        if challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fedgate\""),
            );
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
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenResponse),
        (status = 400, description = "Malformed request, unsupported grant or invalid scope", body = OAuthError),
        (status = 401, description = "Unknown client or wrong secret", body = OAuthError),
    )
)]
async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
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
    let (credentials, used_basic) = client_credentials(&headers, &form)?;
    let invalid_client = || OAuthError {
        basic_challenge: used_basic,
        ..OAuthError::new("invalid_client", "unknown client or wrong secret")
    };
    let client = store::clients::find_by_client_id(&state.db, &credentials.0)
        .await
        .map_err(|e| server_error(e.into()))?;
    let stored_hash = client.as_ref().map(|c| c.secret_hash.clone());
    if !client_secret::verify(credentials.1, stored_hash).await {
        return Err(invalid_client());
    }
    let client = client.ok_or_else(invalid_client)?;
    let allowed = client.scopes().ok_or_else(invalid_client)?;
    let granted = match form.scope.as_deref().map(str::trim) {
        None | Some("") => allowed,
        Some(requested) => {
            let requested = Scopes::parse_space_separated(requested)
                .map_err(|e| OAuthError::new("invalid_scope", e))?;
            if !requested.is_subset(&allowed) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("this client may request only `{allowed}`"),
                ));
            }
            requested
        }
    };
    let access_token = state.tokens.issue(&client.client_id, &granted);
    tracing::info!(client_id = %client.client_id, scope = %granted, "issued an access token");
    let body = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        scope: granted.to_string(),
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
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
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
