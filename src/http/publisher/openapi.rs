//! `POST /publisher/v1/apis/import`, `PUT /publisher/v1/apis/{id}/openapi` and
//! `GET /publisher/v1/apis/{id}/openapi`.
//!
//! A document is sent either as it is (`Content-Type: application/yaml`,
//! `application/openapi+yaml`, `application/openapi+json`, …) with the overrides as query
//! parameters, so `curl --data-binary @openapi.yaml` works, or inside the JSON wrapper
//! `{document, name, …}` (`application/json`). Both take documents up to
//! `import_body_limit_bytes`.

use axum::Json;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::Api;
use crate::domain::ids::ApiId;
use crate::domain::openapi::security::DeclaredScheme;
use crate::domain::openapi::update::ResourceChanges;
use crate::domain::openapi::{self, Overrides};
use crate::domain::validation::FieldError;
use crate::http::AppState;
use crate::http::auth::{Authenticated, PublisherScope};
use crate::http::error::{ApiError, Problem, problem_response};
use crate::http::etag::{IfMatch, versioned_response};
use crate::http::extract::{ValidPath, ValidQuery, media_type, parse_json, read_up_to};
use crate::service::apis::{self, FromDocument};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_api))
        .routes(routes!(export_api, update_api_from_document))
}

/// The media types of a document sent as it is.
const DOCUMENT_TYPES: [&str; 5] = [
    "application/yaml",
    "application/openapi+yaml",
    "application/openapi+json",
    "application/x-yaml",
    "text/yaml",
];

/// The operations that take a document.
const DOCUMENT_OPERATIONS: [&str; 2] = ["import_api", "update_api_from_document"];

/// Documents, once for every operation that takes a document, the media types of a
/// document sent as it is and the 413 and 415 of `DocumentBody`.
pub fn document_bodies(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, RefOr, Schema};
    let text = ContentBuilder::new()
        .schema(Some(RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The OpenAPI or Swagger document"))
                .build(),
        ))))
        .build();
    let too_large = problem_response("The document is larger than `import_body_limit_bytes`");
    let unsupported = problem_response("Neither a document's media type nor application/json");
    let operations = spec
        .paths
        .paths
        .values_mut()
        .flat_map(|item| [item.post.as_mut(), item.put.as_mut()])
        .flatten()
        .filter(|op| {
            op.operation_id
                .as_deref()
                .is_some_and(|id| DOCUMENT_OPERATIONS.contains(&id))
        });
    for operation in operations {
        if let Some(body) = operation.request_body.as_mut() {
            for kind in DOCUMENT_TYPES {
                body.content.insert(kind.to_owned(), text.clone());
            }
        }
        let responses = &mut operation.responses.responses;
        responses.insert("413".into(), too_large.clone().into());
        responses.insert("415".into(), unsupported.clone().into());
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportApi {
    /// An OpenAPI 3.0/3.1 or Swagger 2.0 document: a JSON object, or JSON or YAML text.
    #[schema(value_type = Object)]
    document: Value,
    /// Instead of `info.title`.
    name: Option<String>,
    /// Instead of `info.version`.
    version: Option<String>,
    /// Instead of `x-fedgate.context`, or a slug of the title.
    context: Option<String>,
    /// Instead of `servers[0].url` (3.x) or `schemes`/`host`/`basePath` (2.0).
    endpoint_url: Option<String>,
    gateway_type: Option<String>,
}

/// Overrides of a document sent as it is (with `application/json`, they go in the body).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Instead of `info.title`.
    name: Option<String>,
    /// Instead of `info.version`.
    version: Option<String>,
    /// Instead of `x-fedgate.context`, or a slug of the title.
    context: Option<String>,
    /// Instead of `servers[0].url` (3.x) or `schemes`/`host`/`basePath` (2.0).
    endpoint_url: Option<String>,
    gateway_type: Option<String>,
}

/// A document and its overrides, however the request sends them.
pub struct DocumentBody {
    document: Value,
    overrides: Overrides,
}

impl<S> FromRequest<S> for DocumentBody
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = AppState::from_ref(state).config.import_body_limit_bytes;
        let (mut parts, body) = req.into_parts();
        let ValidQuery(query) =
            ValidQuery::<ImportQuery>::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let kind = media_type(&req).map(|essence| essence.as_str().to_owned());
        match kind.as_deref() {
            Some("application/json") => {
                let wrapper: ImportApi = parse_json(&read_up_to(req, limit).await?)?;
                if let Some(given) = query.given() {
                    return Err(ApiError::field(
                        given,
                        "with application/json the overrides go in the body, beside \
                         `document`",
                    ));
                }
                Ok(DocumentBody {
                    document: wrapper.document,
                    overrides: Overrides {
                        name: wrapper.name,
                        version: wrapper.version,
                        context: wrapper.context,
                        endpoint_url: wrapper.endpoint_url,
                        gateway_type: wrapper.gateway_type,
                    },
                })
            }
            Some(kind) if DOCUMENT_TYPES.contains(&kind) => {
                let bytes = read_up_to(req, limit).await?;
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| ApiError::field("document", "is not UTF-8 text"))?;
                Ok(DocumentBody {
                    document: Value::String(text),
                    overrides: query.into(),
                })
            }
            _ => Err(ApiError::UnsupportedMediaType(format!(
                "send the document as it is ({}), or the JSON wrapper {{document, name, …}} \
                 as application/json",
                DOCUMENT_TYPES.join(", ")
            ))),
        }
    }
}

impl ImportQuery {
    /// The first override given, by its name.
    fn given(&self) -> Option<&'static str> {
        [
            ("name", self.name.is_some()),
            ("version", self.version.is_some()),
            ("context", self.context.is_some()),
            ("endpointUrl", self.endpoint_url.is_some()),
            ("gatewayType", self.gateway_type.is_some()),
        ]
        .into_iter()
        .find_map(|(name, given)| given.then_some(name))
    }
}

impl From<ImportQuery> for Overrides {
    fn from(query: ImportQuery) -> Self {
        Overrides {
            name: query.name,
            version: query.version,
            context: query.context,
            endpoint_url: query.endpoint_url,
            gateway_type: query.gateway_type,
        }
    }
}

/// An API made from a document, with what the import has to say about it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedApi {
    #[serde(flatten)]
    api: Api,
    /// The security schemes the document declares. `keyManager` names the registered
    /// key manager a scheme's issuer or token URL belongs to: the operations requiring
    /// such a scheme get a managed policy with the scopes they require. Other schemes
    /// are not carried over.
    security_schemes: Vec<DeclaredScheme>,
    /// Of an update: the resources (`METHOD /path`) added, removed and changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<ResourceChanges>,
}

impl From<FromDocument> for ImportedApi {
    fn from(outcome: FromDocument) -> Self {
        let mut api = Api::from(&outcome.row);
        let mut warnings: Vec<FieldError> = outcome.warnings;
        warnings.append(&mut api.warnings);
        api.warnings = warnings;
        ImportedApi {
            api,
            security_schemes: outcome.security_schemes,
            changes: outcome.changes,
        }
    }
}

/// Create an API from an OpenAPI or Swagger document
///
/// The document is sent as it is (`application/yaml`, `application/openapi+yaml`,
/// `application/openapi+json`, `application/x-yaml`, `text/yaml`) with the overrides as
/// query parameters, or in the JSON wrapper `{document, name, …}` (`application/json`).
/// Operations whose `security` names a scheme of a registered key manager get a managed
/// `awsOAuth2` policy with the scopes they require (at the API when the document's own
/// `security` names it and every operation is secured). What fedgate had to adapt (a
/// trailing `/`, renamed parameters, a truncated description, security it does not
/// carry over or could only partly) is in `warnings`.
#[utoipa::path(post, path = "/apis/import", tag = "publisher", security(("bearer" = ["publisher"])),
    params(ImportQuery),
    request_body = ImportApi,
    responses(
        (status = 201, description = "Created", body = ImportedApi,
            headers(("Location" = String), ("ETag" = String))),
        (status = 400, description = "The document is broken (named by where, e.g. `document.paths./pets.get`) or the API it describes is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An API with this name and version, or this context and version, exists (the problem names it)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn import_api(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    body: DocumentBody,
) -> Result<Response, ApiError> {
    let outcome = apis::import(&state, &body.document, body.overrides, &caller.actor).await?;
    let location = format!("/publisher/v1/apis/{}", outcome.row.id);
    Ok(versioned_response(
        StatusCode::CREATED,
        outcome.row.version,
        Some(location),
        ImportedApi::from(outcome),
    ))
}

/// Update an API from an OpenAPI or Swagger document
///
/// Same bodies as the import. The design becomes what the document describes; what
/// fedgate holds and the document does not say is kept: CORS, key managers and
/// API-level policies (unless its `x-fedgate` states them), each resource's policies
/// while its method and path exist (these win over the managed policies the document's
/// security implies), and the context and endpoint when the document names none.
/// `changes` lists the resources added, removed and changed. With
/// `If-Match`, the write happens only if the API is unchanged.
#[utoipa::path(put, path = "/apis/{id}/openapi", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "The ETag last read"),
        ImportQuery),
    request_body = ImportApi,
    responses(
        (status = 200, description = "Updated", body = ImportedApi, headers(("ETag" = String))),
        (status = 400, description = "The document is broken (named by where) or the API it describes is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another API has this name and version, or this context and version, or the API is being deleted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The API changed since it was read", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_api_from_document(
    caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
    if_match: IfMatch,
    body: DocumentBody,
) -> Result<Response, ApiError> {
    let outcome = apis::update_from_document(
        &state,
        id,
        &body.document,
        body.overrides,
        &if_match.0,
        &caller.actor,
    )
    .await?;
    Ok(versioned_response(
        StatusCode::OK,
        outcome.row.version,
        None,
        ImportedApi::from(outcome),
    ))
}

/// The API's current design as an OpenAPI 3.0 document
///
/// Context, CORS, key managers, policies and backend paths travel in `x-fedgate`
/// extensions, so the document imports back to the same API.
#[utoipa::path(get, path = "/apis/{id}/openapi", tag = "publisher", security(("bearer" = ["publisher"])),
    params(("id" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "An OpenAPI 3.0 document", body = Object),
        (status = 404, description = "No such API", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_api(
    _caller: Authenticated<PublisherScope>,
    State(state): State<AppState>,
    ValidPath(id): ValidPath<ApiId>,
) -> Result<Json<Value>, ApiError> {
    let row = apis::get(&state, id).await?;
    Ok(Json(openapi::export(&row.design)))
}
