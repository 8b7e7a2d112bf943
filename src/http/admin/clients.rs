//! `/admin/v1/clients`: the API clients that obtain fedgate access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode, header};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::client::NewClient;
use crate::domain::ids::ClientRecordId;
use crate::domain::scope::Scope;
use crate::http::AppState;
use crate::http::auth::{AdminScope, Authenticated};
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{ValidJson, ValidPath, ValidQuery};
use crate::http::pagination::{Page, PageQuery};
use crate::service::clients::{self as service, WithSecret};
use crate::store::clients::ClientRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_client, list_clients))
        .routes(routes!(get_client, delete_client))
        .routes(routes!(rotate_secret))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateClient {
    name: String,
    /// Generated when absent.
    client_id: Option<String>,
    scopes: Vec<Scope>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    id: ClientRecordId,
    client_id: String,
    name: String,
    scopes: Vec<Scope>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A client together with its secret: returned on create and rotate only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientWithSecret {
    #[serde(flatten)]
    client: Client,
    /// Shown only in this response; fedgate keeps only a hash.
    client_secret: String,
}

impl From<WithSecret> for ClientWithSecret {
    fn from(issued: WithSecret) -> Self {
        ClientWithSecret {
            client: issued.client.into(),
            client_secret: issued.secret.expose_secret().to_owned(),
        }
    }
}

impl From<ClientRow> for Client {
    fn from(row: ClientRow) -> Self {
        Client {
            scopes: row.scopes().map(|s| s.to_vec()).unwrap_or_default(),
            id: row.id,
            client_id: row.client_id,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Create an API client
#[utoipa::path(post, path = "/clients", tag = "admin", security(("bearer" = ["admin"])),
    request_body = CreateClient,
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = ClientWithSecret),
        (status = 400, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client id is taken", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_client(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidJson(body): ValidJson<CreateClient>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, String); 1],
        Json<ClientWithSecret>,
    ),
    ApiError,
> {
    let client = NewClient::parse(&body.name, body.client_id.as_deref(), &body.scopes)
        .map_err(ApiError::Validation)?;
    let created = service::create(&state, &client, &caller.actor).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/admin/v1/clients/{}", created.client.id),
        )],
        Json(created.into()),
    ))
}

/// List API clients
#[utoipa::path(get, path = "/clients", tag = "admin", security(("bearer" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "One page of clients", body = Page<Client>)))]
async fn list_clients(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<PageQuery>,
) -> Result<Json<Page<Client>>, ApiError> {
    let limit = page.limit()?;
    let rows = service::list(&state, page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |r| r.id, Client::from)))
}

/// Get an API client
#[utoipa::path(get, path = "/clients/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The client", body = Client),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_client(
    _caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ClientRecordId>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(service::find(&state, id).await?.into()))
}

/// Delete an API client; its tokens stop working at once
#[utoipa::path(delete, path = "/clients/{id}", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin client cannot be deleted", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_client(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ClientRecordId>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state, id, &caller.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace a client's secret; the old one stops working
#[utoipa::path(post, path = "/clients/{id}/rotate-secret", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The new secret, shown only now", body = ClientWithSecret),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_secret(
    caller: Authenticated<AdminScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ClientRecordId>,
) -> Result<Json<ClientWithSecret>, ApiError> {
    Ok(Json(
        service::rotate_secret(&state, id, &caller.actor)
            .await?
            .into(),
    ))
}
