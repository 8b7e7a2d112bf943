//! Admin pages.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::pages::{EnvironmentLine, EnvironmentsPage, next_link, render, timestamp};
use super::{ConsoleError, InArea};
use crate::domain::ids::EnvironmentId;
use crate::http::AppState;
use crate::http::auth::AdminScope;
use crate::http::pagination::{Page, PageQuery};
use crate::service::environments as service;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    /// Set by the redirect after a form: the environment created or saved.
    created: Option<String>,
    updated: Option<String>,
}

/// The environments, a page at a time, from the same list as `GET /admin/v1/environments`.
pub async fn environments(
    InArea { session, .. }: InArea<AdminScope>,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let page_query = PageQuery {
        limit: None,
        cursor: query.cursor,
    };
    let limit = page_query.limit().map_err(bad_request)?;
    let after = page_query.after::<EnvironmentId>().map_err(bad_request)?;
    let rows = service::list(&state, after, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| EnvironmentLine {
            name: r.name,
            region: r.region,
            stage: r.stage,
            provider: r.provider,
            updated: timestamp(r.updated_at),
        },
    );
    let notice = match (query.created, query.updated) {
        (Some(name), _) => Some(format!("Environment {name} was created.")),
        (None, Some(name)) => Some(format!("Environment {name} was saved.")),
        (None, None) => None,
    };
    render(&EnvironmentsPage {
        chrome: Some(session.chrome()),
        notice,
        environments: page.items,
        next: page
            .next
            .map(|cursor| next_link("/console/admin/environments", &[], &cursor)),
    })
}

/// A query the list refuses (a cursor this server did not issue).
pub(super) fn bad_request(error: crate::http::error::ApiError) -> ConsoleError {
    ConsoleError::BadRequest(error.to_string())
}
