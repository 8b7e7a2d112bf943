//! The publisher API (`publisher` scope): APIs, revisions, lifecycle, OpenAPI, deployments.

mod apis;
mod deployments;
mod discovery;

pub(crate) use deployments::Deployment;
mod lifecycle;
mod openapi;

pub(crate) use openapi::document_bodies;
mod revisions;
mod views;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(apis::router())
        .merge(revisions::router())
        .merge(lifecycle::router())
        .merge(openapi::router())
        .merge(deployments::router())
        .merge(discovery::router())
}
