//! The one error type of the HTTP layer, rendered as RFC 9457 `application/problem+json`.
//! 5xx details are logged here and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::validation::FieldError;
use crate::service::ServiceError;
use crate::service::error::{DATABASE_UNREACHABLE, UNSTORABLE_TEXT, is_unstorable_text};
use crate::store;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An OpenAPI response of a problem document, for answers documented once for many
/// operations (the 428 of `require_if_match`, the 415 of a PATCH).
pub fn problem_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Unauthorized {
        detail: String,
        /// The `WWW-Authenticate` challenge (RFC 6750).
        challenge: String,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the resource changed since it was read (If-Match did not match its ETag)")]
    PreconditionFailed,
    /// 428 (RFC 6585): `require_if_match` is set and the change carries no `If-Match`.
    #[error(
        "this server requires If-Match on PUT, PATCH and DELETE (require_if_match): send the \
         ETag of the version you read (from a GET), or `If-Match: *` to change whatever \
         version is current"
    )]
    PreconditionRequired,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the request is well-formed but cannot be carried out (e.g. a live check
    /// failed); `extra` adds members to the problem document.
    #[error("{detail}")]
    Unprocessable {
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    /// 502: an upstream fedgate called on the caller's behalf (a key manager) failed;
    /// `extra` carries what it said, which is the caller's to see.
    #[error("{detail}")]
    BadGateway {
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    /// 502: a deploy or undeploy the caller waited for failed; `extra` carries the
    /// deployment, so scripts see the failure in the status and the reason in the body.
    #[error("{detail}")]
    DeploymentFailed {
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 503 with `Retry-After`: the database cannot be reached right now.
    #[error("{DATABASE_UNREACHABLE}")]
    DatabaseUnreachable,
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(errors) => ApiError::Validation(errors),
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Conflict(detail) => ApiError::Conflict(detail),
            ServiceError::PreconditionFailed => ApiError::PreconditionFailed,
            ServiceError::Unprocessable { detail, extra } => {
                ApiError::Unprocessable { detail, extra }
            }
            ServiceError::BadGateway { detail, extra } => ApiError::BadGateway { detail, extra },
            ServiceError::UnstorableText => ApiError::BadRequest(UNSTORABLE_TEXT.into()),
            ServiceError::DatabaseUnreachable(e) => {
                tracing::warn!(error = %e, "the database is unreachable");
                ApiError::DatabaseUnreachable
            }
            ServiceError::Internal(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<anyhow::Error> for ApiError {
    /// Internal, unless a database error inside says the caller sent text it cannot store,
    /// or that the database cannot be reached.
    fn from(e: anyhow::Error) -> Self {
        let database_error = e
            .chain()
            .find_map(|cause| cause.downcast_ref::<sqlx::Error>());
        if database_error.is_some_and(is_unstorable_text) {
            return ApiError::BadRequest(UNSTORABLE_TEXT.into());
        }
        if database_error.is_some_and(store::is_unreachable) {
            tracing::warn!(error = %e, "the database is unreachable");
            return ApiError::DatabaseUnreachable;
        }
        ApiError::Internal(e)
    }
}

/// The problem document. `errors` appears only on validation failures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Problem-specific members (RFC 9457 extensions).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem of a given status with the standard title, for errors raised outside
    /// handlers (unknown routes, timeouts, layers).
    pub fn for_status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: Default::default(),
        }
    }

    pub fn into_response_with_status(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadGateway { .. } | ApiError::DeploymentFailed { .. } => {
                StatusCode::BAD_GATEWAY
            }
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::DatabaseUnreachable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable slug naming the kind of problem.
    fn kind(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::PreconditionRequired => "precondition-required",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::BadGateway { .. } => "bad-gateway",
            ApiError::DeploymentFailed { .. } => "deployment-failed",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::DatabaseUnreachable => "database-unreachable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, reason)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(error) => {
                tracing::error!(error = ?error, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            ApiError::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            other => other.to_string(),
        };
        let challenge = match &self {
            ApiError::Unauthorized { challenge, .. } => HeaderValue::from_str(challenge).ok(),
            _ => None,
        };
        let retry_after = matches!(self, ApiError::DatabaseUnreachable);
        let problem = Problem {
            problem_type: format!("urn:fedgate:problem:{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: Vec::new(),
            extra: Default::default(),
        };
        let problem = match self {
            ApiError::Validation(errors) => Problem { errors, ..problem },
            ApiError::Unprocessable { extra, .. }
            | ApiError::BadGateway { extra, .. }
            | ApiError::DeploymentFailed { extra, .. } => Problem { extra, ..problem },
            _ => problem,
        };
        let mut response = problem.into_response_with_status();
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        if retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}
