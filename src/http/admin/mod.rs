//! The admin API (`admin` scope).

mod audit;
mod clients;
mod deployments;
mod discovery;
pub mod environments;
pub mod key_managers;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(clients::router())
        .merge(audit::router())
        .merge(environments::router())
        .merge(key_managers::router())
        .merge(deployments::router())
        .merge(discovery::router())
}
