//! `GET /admin/v1/audit`: the audit log, newest first, filtered and paginated.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::ApiError;
use crate::http::extract::ValidQuery;
use crate::http::pagination::{Page, PageQuery};
use crate::service::audit as service;
use crate::store::audit::{AuditFilter, AuditRow};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Client id that made the change.
    actor: Option<String>,
    /// Collection changed: `environments`, `apis`, `clients`, …
    target_type: Option<String>,
    target_id: Option<String>,
    /// `success` or `failure`.
    outcome: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    id: Uuid,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    target_type: String,
    target_id: Option<String>,
    /// The HTTP status answered; absent for a job's outcome (deployed, failed, undeployed).
    status: Option<u16>,
    outcome: String,
    /// What happened, in words (a failed job's error).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    request_id: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        AuditEntry {
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            status: row.status.map(|s| s as u16),
            outcome: row.outcome,
            detail: row.detail,
            request_id: row.request_id,
        }
    }
}

/// The audit log of admin and publisher changes, newest first
#[utoipa::path(get, path = "/audit", tag = "admin", security(("bearer" = ["admin"])),
    params(AuditQuery),
    responses((status = 200, description = "One page of entries", body = Page<AuditEntry>)))]
async fn list_audit(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    };
    let limit = page.limit()?;
    let filter = AuditFilter {
        actor: query.actor,
        target_type: query.target_type,
        target_id: query.target_id,
        outcome: query.outcome,
        since: query.since,
        until: query.until,
    };
    let rows = service::list(&state, &filter, page.after::<Uuid>()?, limit + 1).await?;
    Ok(Json(Page::from_rows(
        rows,
        limit,
        |r| r.id,
        AuditEntry::from,
    )))
}
