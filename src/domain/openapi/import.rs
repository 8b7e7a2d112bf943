//! OpenAPI 3.0/3.1 or Swagger 2.0 → an API draft: resources from the paths and their
//! operations, the endpoint from `servers` (3.x) or `schemes`/`host`/`basePath` (2.0),
//! name and version from `info`, fedgate's own settings from `x-fedgate`. Fields given
//! beside the document override what it says. Errors name where the document is broken.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::document::load;
use super::{ANY_METHOD, EXTENSION};
use crate::domain::api::draft::{ApiDraft, CorsDraft, PolicyDraft, ResourceDraft};
use crate::domain::api::{ApiDesign, HttpMethod};
use crate::domain::validation::{Errors, FieldError};

/// What the caller gives beside the document; each wins over the document.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub name: Option<String>,
    pub version: Option<String>,
    pub context: Option<String>,
    pub endpoint_url: Option<String>,
    pub gateway_type: Option<String>,
}

/// An imported draft, what is wrong with the document, and, for each draft field taken
/// from the document, where in the document it came from.
#[derive(Debug)]
pub struct Imported {
    pub draft: ApiDraft,
    problems: Vec<FieldError>,
    origins: Vec<(String, String)>,
}

impl Imported {
    /// Validates the draft: every problem of the document and of the API it describes,
    /// each named by where the document says it, and each field once.
    pub fn into_design(self) -> Result<ApiDesign, Vec<FieldError>> {
        let located = match ApiDesign::parse(&self.draft) {
            Ok(design) if self.problems.is_empty() => return Ok(design),
            Ok(_) => Vec::new(),
            Err(errors) => self.locate(errors),
        };
        let mut all = self.problems;
        for error in located {
            if !all.iter().any(|known| known.field == error.field) {
                all.push(error);
            }
        }
        Err(all)
    }

    /// Renames validation errors of the draft after the document location they came
    /// from (`resources[2].path` → `document.paths./pets/*`).
    fn locate(&self, errors: Vec<FieldError>) -> Vec<FieldError> {
        errors
            .into_iter()
            .map(|mut error| {
                let origin = self.origins.iter().find(|(field, _)| {
                    error.field == *field
                        || error
                            .field
                            .strip_prefix(field.as_str())
                            .is_some_and(|rest| rest.starts_with(['.', '[']))
                });
                if let Some((field, location)) = origin {
                    error.field = format!("{location}{}", &error.field[field.len()..]);
                }
                error
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RootExtension {
    context: Option<String>,
    gateway_type: Option<String>,
    cors: Option<CorsDraft>,
    #[serde(default)]
    key_managers: Vec<String>,
    #[serde(default)]
    policies: Vec<PolicyDraft>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationExtension {
    #[serde(default)]
    policies: Vec<PolicyDraft>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    OpenApi3,
    Swagger2,
}

const OPERATIONS: [(&str, HttpMethod); 8] = [
    ("get", HttpMethod::Get),
    ("put", HttpMethod::Put),
    ("post", HttpMethod::Post),
    ("delete", HttpMethod::Delete),
    ("options", HttpMethod::Options),
    ("head", HttpMethod::Head),
    ("patch", HttpMethod::Patch),
    (ANY_METHOD, HttpMethod::Any),
];

/// Reads the document into a draft; fails at once only when it is no OpenAPI document
/// at all. Everything else wrong with it is reported by `Imported::into_design`.
pub fn import(document: &Value, overrides: Overrides) -> Result<Imported, FieldError> {
    let doc = load(document)?;
    let flavour = flavour(&doc)?;
    let mut errors = Errors::new();
    let mut origins = Vec::new();
    let mut from_document = |field: &str, location: &str| {
        origins.push((field.to_owned(), location.to_owned()));
    };

    let info = doc.get("info").and_then(Value::as_object);
    if info.is_none() {
        errors.add("document.info", "is required");
    }
    let info_text = |key: &str, errors: &mut Errors| {
        text(info?.get(key)?, &format!("document.info.{key}"), errors)
    };
    let title = info_text("title", &mut errors);
    let name = overrides.name.or_else(|| {
        from_document("name", "document.info.title");
        title.clone()
    });
    if name.is_none() && info.is_some() {
        errors.add("document.info.title", "is required (or give `name`)");
    }
    let version = overrides.version.or_else(|| {
        from_document("version", "document.info.version");
        info_text("version", &mut errors)
    });
    from_document("description", "document.info.description");
    let description = info_text("description", &mut errors);

    let extension: RootExtension = extension(
        doc.get(EXTENSION),
        &format!("document.{EXTENSION}"),
        &mut errors,
    );
    for field in ["cors", "keyManagers", "policies"] {
        from_document(field, &format!("document.{EXTENSION}.{field}"));
    }
    let context = match (overrides.context, extension.context.clone()) {
        (Some(context), _) => Some(context),
        (None, Some(context)) => {
            from_document("context", &format!("document.{EXTENSION}.context"));
            Some(context)
        }
        (None, None) => {
            let derived = title.as_deref().and_then(slug);
            if derived.is_some() {
                from_document("context", "document.info.title");
            } else {
                errors.add(
                    "context",
                    "cannot be derived from the title; give `context`",
                );
            }
            derived
        }
    };
    let gateway_type = overrides.gateway_type.or(extension.gateway_type);
    let endpoint_url = match overrides.endpoint_url {
        Some(url) => Some(url),
        None => match endpoint(&doc, flavour) {
            Ok((url, location)) => {
                from_document("endpointUrl", location);
                Some(url)
            }
            Err(error) => {
                from_document("endpointUrl", &error.field);
                errors.add(error.field, error.reason);
                None
            }
        },
    };
    let resources = resources(&doc, &mut errors, &mut from_document);

    let draft = ApiDraft {
        name,
        version,
        context,
        description,
        endpoint_url,
        gateway_type,
        cors: extension.cors,
        key_managers: extension.key_managers,
        policies: extension.policies,
        resources,
        ..ApiDraft::default()
    };
    Ok(Imported {
        draft,
        problems: errors.finish(|| ()).err().unwrap_or_default(),
        origins,
    })
}

fn flavour(doc: &Map<String, Value>) -> Result<Flavour, FieldError> {
    let version_of = |key: &str| {
        doc.get(key).map(|v| {
            v.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string())
        })
    };
    if let Some(version) = version_of("openapi") {
        return if version.starts_with("3.0.")
            || version.starts_with("3.1.")
            || version == "3.0"
            || version == "3.1"
        {
            Ok(Flavour::OpenApi3)
        } else {
            Err(FieldError::new(
                "document.openapi",
                format!("version `{version}` is not supported: OpenAPI 3.0, 3.1 or Swagger 2.0"),
            ))
        };
    }
    match version_of("swagger").as_deref() {
        Some("2.0") => Ok(Flavour::Swagger2),
        Some(other) => Err(FieldError::new(
            "document.swagger",
            format!("version `{other}` is not supported: OpenAPI 3.0, 3.1 or Swagger 2.0"),
        )),
        None => Err(FieldError::new(
            "document",
            "is not an OpenAPI document: it has neither `openapi` nor `swagger`",
        )),
    }
}

/// Text, or a number written where text was meant (YAML's `version: 1.0`).
fn text(value: &Value, field: &str, errors: &mut Errors) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => {
            errors.add(field, "must be text");
            None
        }
    }
}

/// Reads an `x-fedgate` extension, naming a bad field by its path in the document.
fn extension<T: DeserializeOwned + Default>(
    value: Option<&Value>,
    at: &str,
    errors: &mut Errors,
) -> T {
    let Some(value) = value else {
        return T::default();
    };
    serde_path_to_error::deserialize(value).unwrap_or_else(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            at.to_owned()
        } else {
            format!("{at}.{path}")
        };
        errors.add(field, error.into_inner().to_string());
        T::default()
    })
}

/// `/` and a slug of the title: "Swagger Petstore" → `/swagger-petstore`.
pub(crate) fn slug(title: &str) -> Option<String> {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| format!("/{slug}"))
}

/// The backend URL the document names, and where it names it.
fn endpoint(
    doc: &Map<String, Value>,
    flavour: Flavour,
) -> Result<(String, &'static str), FieldError> {
    match flavour {
        Flavour::OpenApi3 => {
            let server = doc
                .get("servers")
                .and_then(Value::as_array)
                .and_then(|servers| servers.first())
                .ok_or_else(|| {
                    FieldError::new("endpointUrl", "is required: the document names no server")
                })?;
            let at = "document.servers[0].url";
            let mut url = server
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| FieldError::new(at, "is required"))?
                .to_owned();
            // Server variables resolve to their defaults: `{scheme}://{host}/v1`.
            if let Some(variables) = server.get("variables").and_then(Value::as_object) {
                for (name, variable) in variables {
                    if let Some(default) = variable.get("default").and_then(Value::as_str) {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            if !url.contains("://") {
                return Err(FieldError::new(
                    at,
                    format!("`{url}` is not an absolute URL; give `endpointUrl`"),
                ));
            }
            Ok((url, at))
        }
        Flavour::Swagger2 => {
            let host = doc.get("host").and_then(Value::as_str).ok_or_else(|| {
                FieldError::new("endpointUrl", "is required: the document has no `host`")
            })?;
            let schemes: Vec<&str> = doc
                .get("schemes")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let scheme = if schemes.contains(&"https") || schemes.is_empty() {
                "https"
            } else {
                schemes[0]
            };
            let base_path = doc.get("basePath").and_then(Value::as_str).unwrap_or("");
            Ok((format!("{scheme}://{host}{base_path}"), "document.host"))
        }
    }
}

/// One resource per operation of each path, in document order.
fn resources(
    doc: &Map<String, Value>,
    errors: &mut Errors,
    from_document: &mut impl FnMut(&str, &str),
) -> Vec<ResourceDraft> {
    let mut resources = Vec::new();
    let paths = match doc.get("paths") {
        None => return resources,
        Some(Value::Object(paths)) => paths,
        Some(_) => {
            errors.add("document.paths", "must be an object");
            return resources;
        }
    };
    for (path, item) in paths {
        let item_at = format!("document.paths.{path}");
        let Some(item) = item.as_object() else {
            errors.add(item_at, "must be a path item object");
            continue;
        };
        if item.contains_key("$ref") {
            errors.add(
                format!("{item_at}.$ref"),
                "path item references are not supported; inline the operations",
            );
        }
        if item.contains_key("trace") {
            errors.add(
                format!("{item_at}.trace"),
                "API Gateway has no TRACE method",
            );
        }
        for (key, operation) in item {
            let Some(method) = OPERATIONS.iter().find(|(k, _)| k == key).map(|(_, m)| *m) else {
                continue;
            };
            let at = format!("{item_at}.{key}");
            let Some(operation) = operation.as_object() else {
                errors.add(at, "must be an operation object");
                continue;
            };
            let description = ["description", "summary"]
                .iter()
                .find_map(|k| operation.get(*k))
                .and_then(|d| text(d, &format!("{at}.description"), errors));
            let own: OperationExtension = extension(
                operation.get(EXTENSION),
                &format!("{at}.{EXTENSION}"),
                errors,
            );
            let index = resources.len();
            let field = |f: &str| format!("resources[{index}]{f}");
            from_document(&field(".path"), &item_at);
            from_document(&field(".method"), &at);
            from_document(&field(".description"), &format!("{at}.description"));
            from_document(&field(".policies"), &format!("{at}.{EXTENSION}.policies"));
            from_document(&field(""), &at);
            resources.push(ResourceDraft {
                method: Some(method.as_str().to_owned()),
                path: Some(path.clone()),
                description,
                policies: own.policies,
                ..ResourceDraft::default()
            });
        }
    }
    resources
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Swagger Petstore").as_deref(),
            Some("/swagger-petstore")
        );
        assert_eq!(slug("  Pets & Co. (v2) ").as_deref(), Some("/pets-co-v2"));
        assert_eq!(slug("???"), None);
    }

    #[test]
    fn swagger_endpoint_prefers_https() {
        let doc = json!({"swagger": "2.0", "info": {"title": "T", "version": "1"},
            "host": "api.example.com", "basePath": "/v2", "schemes": ["http", "https"]});
        let imported = import(&doc, Overrides::default()).unwrap();
        assert_eq!(
            imported.draft.endpoint_url.as_deref(),
            Some("https://api.example.com/v2")
        );
    }

    #[test]
    fn server_variables_resolve_to_defaults() {
        let doc = json!({"openapi": "3.1.0", "info": {"title": "T", "version": 2},
            "servers": [{"url": "{scheme}://api.example.com/{base}",
                         "variables": {"scheme": {"default": "https"}, "base": {"default": "v1"}}}]});
        let imported = import(&doc, Overrides::default()).unwrap();
        assert_eq!(
            imported.draft.endpoint_url.as_deref(),
            Some("https://api.example.com/v1")
        );
        assert_eq!(imported.draft.version.as_deref(), Some("2"));
    }

    #[test]
    fn broken_documents_name_every_place() {
        let doc = json!({"openapi": "3.0.3", "info": {"version": "1"},
            "servers": [{"url": "/relative"}],
            "paths": {"/pets": {"get": "nope", "trace": {}}, "/x": 5},
            "x-fedgate": {"colour": "red"}});
        let errors = import(&doc, Overrides::default())
            .unwrap()
            .into_design()
            .unwrap_err();
        assert_eq!(
            fields(errors),
            [
                "document.info.title",
                "document.x-fedgate.colour",
                "context",
                "document.servers[0].url",
                "document.paths./pets.trace",
                "document.paths./pets.get",
                "document.paths./x"
            ]
        );
    }

    #[test]
    fn locate_maps_draft_fields_to_the_document() {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://api.example.com"}],
            "paths": {"/a": {"get": {}}, "/b/*": {"post": {"x-fedgate": {"policies": [{"type": "x"}]}}}}});
        let imported = import(
            &doc,
            Overrides {
                name: Some("N".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let located = imported.locate(vec![
            FieldError::new("resources[1].path", "bad"),
            FieldError::new("resources[1].policies[0].type", "bad"),
            FieldError::new("resources[1]", "dup"),
            FieldError::new("resources[10].path", "not ours"),
            FieldError::new("name", "an override stays as it is"),
            FieldError::new("endpointUrl", "bad"),
        ]);
        assert_eq!(
            fields(located),
            [
                "document.paths./b/*",
                "document.paths./b/*.post.x-fedgate.policies[0].type",
                "document.paths./b/*.post",
                "resources[10].path",
                "name",
                "document.servers[0].url"
            ]
        );
    }
}
