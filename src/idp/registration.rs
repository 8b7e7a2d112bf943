//! Dynamic client registration (RFC 7591) of an application at a key manager.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{IdpError, call};
use crate::outbound::OutboundGuard;

#[derive(Debug, Serialize)]
struct Metadata<'a> {
    client_name: &'a str,
    grant_types: [&'static str; 1],
    token_endpoint_auth_method: &'static str,
}

/// What the IdP registered; a public client comes back without a secret.
#[derive(Debug, Deserialize)]
pub struct Registered {
    pub client_id: String,
    pub client_secret: Option<String>,
}

/// Registers a confidential client for the client-credentials grant, authorised by the
/// key manager's initial access token when it has one.
pub async fn register(
    guard: &OutboundGuard,
    endpoint: &Url,
    initial_access_token: Option<&str>,
    client_name: &str,
) -> Result<Registered, IdpError> {
    let mut http = guard.http_client().post(endpoint.clone()).json(&Metadata {
        client_name,
        grant_types: ["client_credentials"],
        token_endpoint_auth_method: "client_secret_basic",
    });
    if let Some(token) = initial_access_token {
        http = http.bearer_auth(token);
    }
    let registered: Registered = call(guard, endpoint, http).await?;
    if registered.client_id.is_empty() {
        return Err(IdpError::Malformed("client_id is empty".into()));
    }
    Ok(registered)
}
