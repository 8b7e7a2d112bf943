//! Publisher pages.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::admin::bad_request;
use super::pages::{ApiLine, ApisPage, next_link, render};
use super::{ConsoleError, InArea};
use crate::domain::ids::ApiId;
use crate::http::AppState;
use crate::http::auth::PublisherScope;
use crate::http::pagination::{Page, PageQuery};
use crate::service::apis as service;
use crate::store::apis::ApiFilter;

#[derive(Debug, Deserialize)]
pub struct ApiListQuery {
    #[serde(default)]
    name: String,
    cursor: Option<String>,
}

/// The APIs whose name holds `?name=`, from the same list as `GET /publisher/v1/apis`.
pub async fn apis(
    InArea { session, .. }: InArea<PublisherScope>,
    State(state): State<AppState>,
    Query(query): Query<ApiListQuery>,
) -> Result<Html<String>, ConsoleError> {
    let name = query.name.trim().to_owned();
    let page_query = PageQuery {
        limit: None,
        cursor: query.cursor,
    };
    let limit = page_query.limit().map_err(bad_request)?;
    let after = page_query.after::<ApiId>().map_err(bad_request)?;
    let filter = ApiFilter {
        name: (!name.is_empty()).then(|| name.clone()),
        state: None,
    };
    let rows = service::list(&state, &filter, after, limit + 1).await?;
    let page = Page::from_rows(
        rows,
        limit,
        |r| r.id,
        |r| ApiLine {
            name: r.design.name.as_str().to_owned(),
            version: r.design.version.as_str().to_owned(),
            context: r.design.context.as_str().to_owned(),
            lifecycle_state: r.lifecycle_state.as_str(),
        },
    );
    let next = page
        .next
        .map(|cursor| next_link("/console/publisher/apis", &[("name", &name)], &cursor));
    render(&ApisPage {
        chrome: Some(session.chrome()),
        name,
        apis: page.items,
        next,
    })
}
