//! Liveness, readiness and Prometheus metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::store;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// Liveness: the process answers (it says nothing of the database: probe `/readyz`)
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// How long readiness waits for the database: a probe sees "not ready" within it, well
/// before a load balancer's probe times out.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// Readiness: the database answers within a second and every migration is applied
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready", body = Health),
    (status = 503, description = "Not ready", body = Health),
))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if store::is_ready(&state.db, READY_WITHIN).await {
        (StatusCode::OK, Json(Health { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
            }),
        )
    }
}

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", tag = "health", responses(
    (status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain"),
))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Queue depth is shared by every replica, so it is read from the queue itself.
    if let Ok(counts) = store::deployments::job_counts(&state.db).await {
        for status in ["queued", "running"] {
            let count = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("fedgate_deploy_jobs", "status" => status).set(count as f64);
        }
    }
    state.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
