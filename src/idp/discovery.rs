//! A key manager's metadata: OpenID Connect Discovery 1.0 or OAuth 2.0 Authorization
//! Server Metadata (RFC 8414), fetched through the outbound guard.

use url::Url;

use super::{IdpError, call};
use crate::domain::key_manager::Discovery;
use crate::outbound::OutboundGuard;

pub async fn fetch(guard: &OutboundGuard, well_known_url: &Url) -> Result<Discovery, IdpError> {
    call(
        guard,
        well_known_url,
        guard.http_client().get(well_known_url.clone()),
    )
    .await
}
