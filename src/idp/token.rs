//! The client-credentials grant (RFC 6749 §4.4) at a key manager's token endpoint.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{IdpError, call};
use crate::outbound::OutboundGuard;

/// What the grant asks for; client authentication is HTTP Basic (RFC 6749 §2.3.1) when
/// the client has a secret, else the client id in the form (a public client).
pub struct GrantRequest<'a> {
    pub token_endpoint: &'a Url,
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
    /// Sent as `audience` (Auth0, Okta and others want it to pick the API).
    pub audience: Option<&'a str>,
    pub scopes: &'a [String],
}

/// The token response, in OAuth2's own field names.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub async fn client_credentials(
    guard: &OutboundGuard,
    request: &GrantRequest<'_>,
) -> Result<TokenResponse, IdpError> {
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    let scope = request.scopes.join(" ");
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    if let Some(audience) = request.audience {
        form.push(("audience", audience));
    }
    let mut http = guard.http_client().post(request.token_endpoint.clone());
    match request.client_secret {
        // Basic credentials are the form-encoded id and secret (RFC 6749 §2.3.1).
        Some(secret) => {
            http = http.basic_auth(form_encode(request.client_id), Some(form_encode(secret)))
        }
        None => form.push(("client_id", request.client_id)),
    }
    call(guard, request.token_endpoint, http.form(&form)).await
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
