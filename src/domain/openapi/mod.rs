//! OpenAPI documents: reading one (OpenAPI 3.0/3.1 or Swagger 2.0, as JSON or YAML)
//! into an API draft, and writing an API design as OpenAPI 3.0.
//!
//! What OpenAPI has no field for (context, CORS, key managers, policies) travels in an
//! `x-fedgate` extension, at the root and per operation, so an export imports back to
//! the same API.

use crate::domain::api::HttpMethod;

mod document;
pub mod export;
pub mod import;
pub mod portal;
pub mod security;
pub mod update;

pub use export::export;
pub use import::{Declares, Defaults, Imported, ImportedDesign, Overrides, import};

/// The extension key carrying fedgate's own settings.
pub const EXTENSION: &str = "x-fedgate";
/// API Gateway's name for an operation answering every method.
pub const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

/// The operations of a path item API Gateway has a method for, by their OpenAPI key.
pub const OPERATIONS: [(&str, HttpMethod); 8] = [
    ("get", HttpMethod::Get),
    ("put", HttpMethod::Put),
    ("post", HttpMethod::Post),
    ("delete", HttpMethod::Delete),
    ("options", HttpMethod::Options),
    ("head", HttpMethod::Head),
    ("patch", HttpMethod::Patch),
    (ANY_METHOD, HttpMethod::Any),
];

/// The key of a method's operation in an OpenAPI path item (`ANY` is API Gateway's own).
pub fn operation_key(method: HttpMethod) -> &'static str {
    OPERATIONS
        .iter()
        .find(|(_, m)| *m == method)
        .map(|(key, _)| *key)
        .expect("every method has an operation key")
}
