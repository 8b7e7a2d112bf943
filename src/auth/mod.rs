//! fedgate's own OAuth2 authorization server: client secrets, access tokens, bootstrap.

pub mod bootstrap;
pub mod client_secret;
pub mod throttle;
pub mod tokens;
