//! Audit middleware: records every change (POST, PUT, PATCH, DELETE) made through the
//! routers it wraps — who (the token's client), what (method and route template), the
//! target (the `{id}` in the path, or the `Location` of what a POST created) and the
//! outcome. Bodies are never read, so secrets never reach the log.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::store::audit::{self, NewAuditEntry};

pub async fn record_changes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    // Only callers with a valid token are recorded: anonymous noise says nothing of who.
    let actor = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| state.tokens.verify(token.trim()).ok())
        .map(|principal| principal.client_id);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let path = request.uri().path().to_owned();
    let action = format!("{} {route}", request.method());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let Some(actor) = actor else {
        return response;
    };
    let (target_type, target_id) = target_of(&route, &path, &response);
    let entry = NewAuditEntry {
        actor,
        action,
        target_type,
        target_id,
        status: Some(response.status().as_u16()),
        success: response.status().as_u16() < 400,
        detail: None,
        request_id,
    };
    if let Err(error) = audit::record(&state.db, &entry).await {
        tracing::error!(?error, action = %entry.action, "could not write the audit log");
    }
    response
}

/// The collection named after the version segment (`/admin/v1/environments/…` →
/// `environments`) and the id: the first `{…}` segment of the path, else the last
/// segment of a created resource's `Location`.
fn target_of(route: &str, path: &str, response: &Response) -> (String, Option<String>) {
    let route_segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    let path_segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let target_type = route_segments
        .get(2)
        .copied()
        .unwrap_or("unknown")
        .to_owned();
    let from_path = route_segments
        .iter()
        .position(|s| s.starts_with('{'))
        .and_then(|i| path_segments.get(i))
        .map(|s| (*s).to_owned());
    let from_location = || {
        response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .map(str::to_owned)
    };
    (target_type, from_path.or_else(from_location))
}
