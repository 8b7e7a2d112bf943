//! The HTTP interface: one `AppState`, a `router()` per area, shared layers.

pub mod admin;
pub mod auth;
pub mod console;
pub mod devportal;
pub mod docs;
pub mod error;
pub mod etag;
pub mod extract;
pub mod health;
pub mod middleware;
pub mod pagination;
pub mod patch;
pub mod publisher;
pub mod serve;
pub mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode, header};
use axum::response::Html;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// The state handlers extract: the services' context.
pub use crate::service::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fedgate",
        description = "Federated AWS API Gateway control plane. Errors are \
            application/problem+json (RFC 9457); lists are cursor-paginated."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness, readiness, metrics"),
        (name = "auth", description = "OAuth2 client-credentials tokens"),
        (name = "admin", description = "Administration (scope `admin`)"),
        (name = "publisher", description = "API design, revisions and lifecycle (scope `publisher`)"),
        (name = "devportal", description = "Published APIs, applications and their tokens (scope `devportal`)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(token::router())
        .nest("/admin/v1", admin::router())
        .nest("/publisher/v1", publisher::router())
        .nest("/devportal/v1", devportal::router())
}

/// The routes and the OpenAPI document of every one of them.
fn routes_and_spec() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut spec) = api_router().split_for_parts();
    etag::document_if_match_required(&mut spec);
    patch::document_media_type(&mut spec);
    publisher::document_bodies(&mut spec);
    (routes, spec)
}

/// The OpenAPI document of every route, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_and_spec().1
}

pub fn router(state: AppState) -> Router {
    let (routes, spec) = routes_and_spec();
    let docs = Html(docs::render(
        &serde_json::to_value(&spec).expect("the spec serialises"),
    ));
    let spec = Arc::new(spec);
    let request_id = HeaderName::from_static(middleware::REQUEST_ID);
    let timeout = Duration::from_secs(state.config.request_timeout_secs);
    let body_limit = state.config.body_limit_bytes;
    routes
        .route(
            "/openapi.json",
            get(move || {
                let spec = spec.clone();
                async move { axum::Json(spec.as_ref().clone()) }
            }),
        )
        .route("/docs", get(move || async move { docs.clone() }))
        // The console's routes are pages, not API operations: outside the OpenAPI document.
        .merge(console::router())
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn(
            middleware::refuse_control_characters,
        ))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                ]))
                .layer(axum::middleware::from_fn(
                    middleware::drop_unusable_request_id,
                ))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get(middleware::REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn(middleware::problem_for_bare_errors))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    timeout,
                ))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}
