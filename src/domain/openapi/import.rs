//! OpenAPI 3.0/3.1 or Swagger 2.0 → an API draft: resources from the paths and their
//! operations, the endpoint from `servers` (3.x) or `schemes`/`host`/`basePath` (2.0),
//! name and version from `info`, fedgate's own settings from `x-fedgate`. Fields given
//! beside the document override what it says. Errors name where the document is broken.
//!
//! What API Gateway can represent is imported, with a warning where fedgate had to adapt
//! it: a trailing `/` (the resource drops it, the backend still gets it), two parameter
//! names at one position of the path tree (the resource takes the first, the backend
//! still gets its own), a description over fedgate's limit (truncated), security the
//! document declares (a registered key manager's becomes managed policies, once the
//! service has matched the schemes: `ImportedDesign::secure`; the rest is not carried
//! over). Only what AWS cannot express is refused.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::document::load;
use super::security::{
    DeclaredScheme, DocumentSecurity, OperationSecurity, Requirements, declared_schemes,
    required_schemes, secure_with_key_managers,
};
use super::{EXTENSION, OPERATIONS};
use crate::domain::api::draft::{ApiDraft, CorsDraft, PolicyDraft, ResourceDraft};
use crate::domain::api::path::unify_param_names;
use crate::domain::api::{ApiDesign, MAX_DESCRIPTION};
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

/// What is taken when the document does not say it: an update keeps the API's own
/// context and endpoint rather than deriving new ones.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub context: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Which of fedgate's own settings the document's `x-fedgate` states (an update keeps
/// the API's own where it does not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declares {
    pub cors: bool,
    pub key_managers: bool,
    pub policies: bool,
}

/// An imported draft, what is wrong with the document, and, for each draft field taken
/// from the document, where in the document it came from.
#[derive(Debug)]
pub struct Imported {
    pub draft: ApiDraft,
    problems: Vec<FieldError>,
    origins: Vec<(String, String)>,
    warnings: Vec<FieldError>,
    security_schemes: Vec<DeclaredScheme>,
    security: DocumentSecurity,
    declares: Declares,
}

/// A valid design read from a document, and what the import had to say about it.
#[derive(Debug)]
pub struct ImportedDesign {
    pub design: ApiDesign,
    /// What was adapted or left out, each named by where the document says it.
    pub warnings: Vec<FieldError>,
    pub security_schemes: Vec<DeclaredScheme>,
    /// The requirements naming them, for `secure`.
    pub security: DocumentSecurity,
    pub declares: Declares,
}

impl ImportedDesign {
    /// Secures the design as the document's requirements say, once its schemes are
    /// matched to key managers, with a warning for each requirement left out. Policies
    /// the design has by then (`x-fedgate`'s, or the API's own) win.
    pub fn secure(&mut self) {
        secure_with_key_managers(
            &self.security,
            &self.security_schemes,
            &mut self.design,
            &mut self.warnings,
        );
    }
}

impl Imported {
    /// Validates the draft: every problem of the document and of the API it describes,
    /// each named by where the document says it, and each field once.
    pub fn into_design(self) -> Result<ImportedDesign, Vec<FieldError>> {
        let located = match ApiDesign::parse(&self.draft) {
            Ok(design) if self.problems.is_empty() => {
                return Ok(ImportedDesign {
                    design,
                    warnings: self.warnings,
                    security_schemes: self.security_schemes,
                    security: self.security,
                    declares: self.declares,
                });
            }
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
    /// from (`resources[2].path` → `document.paths./pets/*`), in the field and in the
    /// reason (`duplicates resources[0]` → `duplicates document.paths./pets.get`).
    fn locate(&self, errors: Vec<FieldError>) -> Vec<FieldError> {
        errors
            .into_iter()
            .map(|error| FieldError {
                field: self.origin(&error.field).unwrap_or(error.field),
                reason: self.locate_in_text(&error.reason),
            })
            .collect()
    }

    /// Where the draft field `field` (or the one it is part of) came from.
    fn origin(&self, field: &str) -> Option<String> {
        let (draft_field, location) = self.origins.iter().find(|(draft_field, _)| {
            field == draft_field
                || field
                    .strip_prefix(draft_field.as_str())
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })?;
        Some(format!("{location}{}", &field[draft_field.len()..]))
    }

    fn locate_in_text(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("resources[") {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            let end = tail.find(']').map_or(tail.len(), |i| i + 1);
            let end = match tail[end..].strip_prefix(".path") {
                Some(_) => end + ".path".len(),
                None => end,
            };
            match self.origin(&tail[..end]) {
                Some(location) => out.push_str(&location),
                None => out.push_str(&tail[..end]),
            }
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RootExtension {
    context: Option<String>,
    gateway_type: Option<String>,
    cors: Option<CorsDraft>,
    key_managers: Option<Vec<String>>,
    policies: Option<Vec<PolicyDraft>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OperationExtension {
    #[serde(default)]
    policies: Vec<PolicyDraft>,
    backend_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    OpenApi3,
    Swagger2,
}

/// Reads the document into a draft; fails at once only when it is no OpenAPI document
/// at all. Everything else wrong with it is reported by `Imported::into_design`.
pub fn import(
    document: &Value,
    overrides: Overrides,
    defaults: Defaults,
) -> Result<Imported, FieldError> {
    let doc = load(document)?;
    let flavour = flavour(&doc)?;
    let mut errors = Errors::new();
    let mut warnings = Vec::new();
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
    let description = info_text("description", &mut errors)
        .map(|d| truncated(d, "document.info.description", &mut warnings));

    let extension: RootExtension = extension(
        doc.get(EXTENSION),
        &format!("document.{EXTENSION}"),
        &mut errors,
    );
    for field in ["cors", "keyManagers", "policies"] {
        from_document(field, &format!("document.{EXTENSION}.{field}"));
    }
    let declares = Declares {
        cors: extension.cors.is_some(),
        key_managers: extension.key_managers.is_some(),
        policies: extension.policies.is_some(),
    };
    let context = match (overrides.context, extension.context.clone()) {
        (Some(context), _) => Some(context),
        (None, Some(context)) => {
            from_document("context", &format!("document.{EXTENSION}.context"));
            Some(context)
        }
        (None, None) if defaults.context.is_some() => defaults.context,
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
            Err(_) if defaults.endpoint_url.is_some() => defaults.endpoint_url,
            Err(error) => {
                from_document("endpointUrl", &error.field);
                errors.add(error.field, error.reason);
                None
            }
        },
    };
    let mut security = DocumentSecurity {
        top: Requirements::read(doc.get("security")),
        ..DocumentSecurity::default()
    };
    required_schemes(doc.get("security"), &mut security.required);
    let resources = resources(
        &doc,
        &mut Diagnostics {
            errors: &mut errors,
            warnings: &mut warnings,
            security: &mut security,
        },
        &mut from_document,
    );
    let security_schemes = declared_schemes(&doc);

    let draft = ApiDraft {
        name,
        version,
        context,
        description,
        endpoint_url,
        gateway_type,
        cors: extension.cors,
        key_managers: extension.key_managers.unwrap_or_default(),
        policies: extension.policies.unwrap_or_default(),
        resources,
        ..ApiDraft::default()
    };
    Ok(Imported {
        draft,
        problems: errors.finish(|| ()).err().unwrap_or_default(),
        origins,
        warnings,
        security_schemes,
        security,
        declares,
    })
}

/// Where the reading of the paths reports to.
struct Diagnostics<'a> {
    errors: &'a mut Errors,
    warnings: &'a mut Vec<FieldError>,
    /// The operations' security requirements.
    security: &'a mut DocumentSecurity,
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

/// Text, or a number written where text was meant (JSON's `"version": 2`).
fn text(value: &Value, field: &str, errors: &mut Errors) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => None,
        _ => {
            errors.add(field, "must be text");
            None
        }
    }
}

/// A description cut to fedgate's limit, with a warning saying so.
fn truncated(description: String, field: &str, warnings: &mut Vec<FieldError>) -> String {
    let length = description.chars().count();
    if length <= MAX_DESCRIPTION {
        return description;
    }
    warnings.push(FieldError::new(
        field,
        format!("has {length} characters; fedgate keeps {MAX_DESCRIPTION}, so it was truncated"),
    ));
    let mut cut: String = description.chars().take(MAX_DESCRIPTION - 1).collect();
    cut.push('…');
    cut
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

/// A path of the document with what its resources are made of.
struct PathEntry<'d> {
    /// As the document writes it: the backend's path.
    key: &'d str,
    item_at: String,
    item: Cow<'d, Map<String, Value>>,
    /// The resources' path: the key without a trailing `/`, parameters unified.
    resource_path: String,
}

impl PathEntry<'_> {
    fn has_operations(&self) -> bool {
        OPERATIONS
            .iter()
            .any(|(key, _)| self.item.contains_key(*key))
    }
}

/// One resource per operation of each path, in document order.
fn resources(
    doc: &Map<String, Value>,
    report: &mut Diagnostics<'_>,
    from_document: &mut impl FnMut(&str, &str),
) -> Vec<ResourceDraft> {
    let paths = match doc.get("paths") {
        None => return Vec::new(),
        Some(Value::Object(paths)) => paths,
        Some(_) => {
            report.errors.add("document.paths", "must be an object");
            return Vec::new();
        }
    };
    let mut entries: Vec<PathEntry<'_>> = Vec::new();
    for (key, item) in paths {
        let item_at = format!("document.paths.{key}");
        match resolve_path_item(doc, item, &item_at) {
            Ok(item) => entries.push(PathEntry {
                key,
                resource_path: without_trailing_slash(key).to_owned(),
                item_at,
                item,
            }),
            Err(error) => report.errors.add(error.field, error.reason),
        }
    }
    refuse_trailing_slash_twins(&mut entries, report.errors);
    let written: Vec<&str> = entries.iter().map(|e| e.resource_path.as_str()).collect();
    let unified = unify_param_names(&written);
    let keys: Vec<&str> = entries.iter().map(|e| e.key).collect();
    for (entry, (path, renames)) in entries.iter_mut().zip(unified) {
        for rename in renames {
            report.warnings.push(FieldError::new(
                &entry.item_at,
                format!(
                    "API Gateway allows one parameter name per position of the path tree: \
                     `{{{}}}` is named `{{{}}}` here, as in `document.paths.{}`; the backend \
                     still receives it as `{{{}}}` at `{}`",
                    rename.from, rename.to, keys[rename.first], rename.from, entry.key
                ),
            ));
        }
        entry.resource_path = path;
    }

    let mut resources = Vec::new();
    for entry in &entries {
        let backend_path = (entry.resource_path != entry.key).then(|| entry.key.to_owned());
        if entry.item.contains_key("trace") {
            report.errors.add(
                format!("{}.trace", entry.item_at),
                "API Gateway has no TRACE method",
            );
        }
        for (key, operation) in entry.item.iter() {
            let Some(method) = OPERATIONS.iter().find(|(k, _)| k == key).map(|(_, m)| *m) else {
                continue;
            };
            let at = format!("{}.{key}", entry.item_at);
            let Some(operation) = operation.as_object() else {
                report.errors.add(at, "must be an operation object");
                continue;
            };
            required_schemes(operation.get("security"), &mut report.security.required);
            let description = ["description", "summary"]
                .iter()
                .find_map(|k| operation.get(*k).filter(|d| !d.is_null()))
                .and_then(|d| text(d, &format!("{at}.description"), report.errors))
                .map(|d| truncated(d, &format!("{at}.description"), report.warnings));
            let own: OperationExtension = extension(
                operation.get(EXTENSION),
                &format!("{at}.{EXTENSION}"),
                report.errors,
            );
            let index = resources.len();
            let field = |f: &str| format!("resources[{index}]{f}");
            from_document(&field(".path"), &entry.item_at);
            from_document(&field(".method"), &at);
            from_document(&field(".description"), &format!("{at}.description"));
            from_document(&field(".policies"), &format!("{at}.{EXTENSION}.policies"));
            from_document(
                &field(".backendPath"),
                &format!("{at}.{EXTENSION}.backendPath"),
            );
            from_document(&field(""), &at);
            report.security.operations.push(OperationSecurity {
                requirements: Requirements::read(operation.get("security")),
                at,
            });
            resources.push(ResourceDraft {
                method: Some(method.as_str().to_owned()),
                path: Some(entry.resource_path.clone()),
                description,
                policies: own.policies,
                backend_path: own.backend_path.or_else(|| backend_path.clone()),
                ..ResourceDraft::default()
            });
        }
    }
    resources
}

/// `/items/` → `/items`; `/` stays.
fn without_trailing_slash(path: &str) -> &str {
    match path.strip_suffix('/') {
        Some(core) if !core.is_empty() => core,
        _ => path,
    }
}

/// `/x` and `/x/` are one resource to API Gateway: both with operations cannot be told
/// apart, so the second is refused, naming the first; its operations are left out.
fn refuse_trailing_slash_twins(entries: &mut Vec<PathEntry<'_>>, errors: &mut Errors) {
    let mut kept: Vec<PathEntry<'_>> = Vec::with_capacity(entries.len());
    for entry in entries.drain(..) {
        let twin = kept
            .iter()
            .find(|k| k.resource_path == entry.resource_path && k.has_operations());
        match twin {
            Some(twin) if entry.has_operations() => errors.add(
                &entry.item_at,
                format!(
                    "is the same API Gateway resource as `{}` (API Gateway does not tell \
                     `{}` from `{}`): keep the operations under one of them",
                    twin.item_at, twin.key, entry.key
                ),
            ),
            _ => kept.push(entry),
        }
    }
    *entries = kept;
}

/// A path item with its `$ref` followed: a local reference (`#/components/pathItems/x`,
/// `#/paths/~1other`), also through other references; members beside the `$ref` win.
fn resolve_path_item<'d>(
    doc: &'d Map<String, Value>,
    item: &'d Value,
    at: &str,
) -> Result<Cow<'d, Map<String, Value>>, FieldError> {
    let Some(item) = item.as_object() else {
        return Err(FieldError::new(at, "must be a path item object"));
    };
    if !item.contains_key("$ref") {
        return Ok(Cow::Borrowed(item));
    }
    let field = format!("{at}.$ref");
    let mut resolved = item.clone();
    let mut followed: Vec<String> = Vec::new();
    while let Some(reference) = resolved.remove("$ref") {
        let Some(reference) = reference.as_str() else {
            return Err(FieldError::new(field, "must be text"));
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(FieldError::new(
                field,
                format!(
                    "`{reference}` refers outside the document, which fedgate does not \
                     fetch; inline it or use a local reference (`#/components/pathItems/…`)"
                ),
            ));
        };
        if followed.iter().any(|r| r == reference) {
            followed.push(reference.to_owned());
            return Err(FieldError::new(
                field,
                format!("the references form a cycle: {}", followed.join(" → ")),
            ));
        }
        followed.push(reference.to_owned());
        let target = json_pointer(doc, pointer)
            .and_then(Value::as_object)
            .ok_or_else(|| {
                FieldError::new(
                    &field,
                    format!("`{reference}` names no path item object in the document"),
                )
            })?;
        for (key, value) in target {
            resolved.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(Cow::Owned(resolved))
}

/// RFC 6901, after the percent-decoding a URI fragment may carry.
fn json_pointer<'d>(doc: &'d Map<String, Value>, pointer: &str) -> Option<&'d Value> {
    let pointer = percent_encoding::percent_decode_str(pointer)
        .decode_utf8()
        .ok()?;
    let mut tokens = pointer.strip_prefix('/')?.split('/');
    let unescape = |t: &str| t.replace("~1", "/").replace("~0", "~");
    let mut current = doc.get(&unescape(tokens.next()?))?;
    for token in tokens {
        let token = unescape(token);
        current = match current {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
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
        let imported = import(&doc, Overrides::default(), Defaults::default()).unwrap();
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
        let imported = import(&doc, Overrides::default(), Defaults::default()).unwrap();
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
        let errors = import(&doc, Overrides::default(), Defaults::default())
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
                "document.paths./x",
                "document.paths./pets.trace",
                "document.paths./pets.get"
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
            Defaults::default(),
        )
        .unwrap();
        let located = imported.locate(vec![
            FieldError::new("resources[1].path", "bad"),
            FieldError::new("resources[1].policies[0].type", "bad"),
            FieldError::new("resources[1]", "duplicates resources[0]: twice"),
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

    fn imported(doc: Value) -> ImportedDesign {
        import(&doc, Overrides::default(), Defaults::default())
            .unwrap()
            .into_design()
            .unwrap()
    }

    fn refused(doc: Value) -> Vec<FieldError> {
        import(&doc, Overrides::default(), Defaults::default())
            .unwrap()
            .into_design()
            .unwrap_err()
    }

    fn doc(paths: Value) -> Value {
        json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
               "servers": [{"url": "https://api.example.com"}], "paths": paths})
    }

    fn resource_paths(design: &ApiDesign) -> Vec<(String, Option<String>)> {
        design
            .resources
            .iter()
            .map(|r| {
                (
                    r.operation(),
                    r.backend_path.as_ref().map(|b| b.as_str().to_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn a_trailing_slash_stays_the_backends() {
        let result = imported(doc(json!({
            "/items/": {"get": {}},
            "/items/{id}/": {"put": {}},
            "/x": {"parameters": []},
            "/x/": {"get": {}},
            "/": {"get": {}}
        })));
        assert_eq!(
            resource_paths(&result.design),
            [
                ("GET /items".to_owned(), Some("/items/".to_owned())),
                (
                    "PUT /items/{id}".to_owned(),
                    Some("/items/{id}/".to_owned())
                ),
                ("GET /x".to_owned(), Some("/x/".to_owned())),
                ("GET /".to_owned(), None),
            ]
        );
        assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    }

    #[test]
    fn twins_with_and_without_a_slash_are_refused_naming_both() {
        for (a, b) in [("get", "post"), ("get", "get")] {
            let errors = refused(doc(json!({"/x": {a: {}}, "/x/": {b: {}}})));
            assert_eq!(fields(errors.clone()), ["document.paths./x/"]);
            assert!(
                errors[0].reason.contains("document.paths./x`"),
                "{}",
                errors[0].reason
            );
        }
    }

    #[test]
    fn parameter_names_are_unified_with_a_warning() {
        let result = imported(doc(json!({
            "/a/{x}": {"get": {}},
            "/a/{y}/b": {"get": {}}
        })));
        assert_eq!(
            resource_paths(&result.design),
            [
                ("GET /a/{x}".to_owned(), None),
                ("GET /a/{x}/b".to_owned(), Some("/a/{y}/b".to_owned())),
            ]
        );
        assert_eq!(fields(result.warnings.clone()), ["document.paths./a/{y}/b"]);
        let reason = &result.warnings[0].reason;
        assert!(reason.contains("`{y}` is named `{x}`"), "{reason}");
        assert!(reason.contains("document.paths./a/{x}"), "{reason}");
    }

    #[test]
    fn what_aws_cannot_express_is_refused_by_document_path() {
        let errors = refused(doc(json!({
            "/a": {"get": {}},
            "/files/{id}.json": {"get": {}},
            "/t": {"trace": {}},
            "/g/{id}": {"get": {}},
            "/g/{rest+}": {"get": {}}
        })));
        assert_eq!(
            fields(errors.clone()),
            [
                "document.paths./t.trace",
                "document.paths./files/{id}.json",
                "document.paths./g/{rest+}"
            ]
        );
        for error in &errors {
            assert!(!error.reason.contains("resources["), "{}", error.reason);
        }
        let v32 = json!({"openapi": "3.2.0", "info": {"title": "T", "version": "1"}});
        let error = import(&v32, Overrides::default(), Defaults::default()).unwrap_err();
        assert_eq!(error.field, "document.openapi");
    }

    #[test]
    fn long_descriptions_are_truncated_with_a_warning() {
        let long = "x".repeat(MAX_DESCRIPTION + 10);
        let mut document = doc(json!({"/a": {"get": {"description": long}}}));
        document["info"]["description"] = json!(long);
        let result = imported(document);
        assert_eq!(result.design.description.chars().count(), MAX_DESCRIPTION);
        assert!(result.design.description.ends_with('…'));
        assert_eq!(
            result.design.resources[0].description.chars().count(),
            MAX_DESCRIPTION
        );
        assert_eq!(
            fields(result.warnings),
            [
                "document.info.description",
                "document.paths./a.get.description"
            ]
        );
    }

    #[test]
    fn path_item_references_are_followed() {
        let mut document = doc(json!({
            "/a": {"$ref": "#/components/pathItems/A"},
            "/b": {"$ref": "#/paths/~1a", "get": {"summary": "beside"}}
        }));
        document["components"] = json!({"pathItems": {"A": {"get": {"summary": "from A"}}}});
        let result = imported(document);
        assert_eq!(
            result
                .design
                .resources
                .iter()
                .map(|r| (r.operation(), r.description.as_str()))
                .collect::<Vec<_>>(),
            [
                ("GET /a".to_owned(), "from A"),
                ("GET /b".to_owned(), "beside")
            ]
        );
    }

    #[test]
    fn bad_references_are_refused() {
        let mut document = doc(json!({
            "/ext": {"$ref": "other.yaml#/paths/~1x"},
            "/loop": {"$ref": "#/components/pathItems/A"},
            "/missing": {"$ref": "#/components/pathItems/Nope"}
        }));
        document["components"] = json!({"pathItems": {
            "A": {"$ref": "#/components/pathItems/B"},
            "B": {"$ref": "#/components/pathItems/A"}}});
        let errors = refused(document);
        assert_eq!(
            fields(errors.clone()),
            [
                "document.paths./ext.$ref",
                "document.paths./loop.$ref",
                "document.paths./missing.$ref"
            ]
        );
        assert!(errors[0].reason.contains("outside the document"));
        assert!(errors[1].reason.contains("cycle"), "{}", errors[1].reason);
    }

    #[test]
    fn declared_security_is_warned_about() {
        let mut document =
            doc(json!({"/a": {"get": {"security": [{"oidc": []}]}}, "/b": {"get": {}}}));
        document["components"] = json!({"securitySchemes": {
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://idp.example.com/.well-known/openid-configuration"}}});
        let mut result = imported(document);
        result.secure();
        assert_eq!(result.security_schemes.len(), 1);
        assert_eq!(
            fields(result.warnings.clone()),
            ["document.components.securitySchemes"]
        );
        assert!(result.warnings[0].reason.contains("`oidc`"));
        let swagger = json!({"swagger": "2.0", "info": {"title": "T", "version": "1"},
            "host": "api.example.com", "security": [{"key": []}],
            "securityDefinitions": {"key": {"type": "apiKey", "name": "k", "in": "header"}},
            "paths": {"/a": {"get": {}}}});
        let mut result = imported(swagger);
        result.secure();
        assert_eq!(fields(result.warnings), ["document.securityDefinitions"]);
    }

    /// A document whose scheme `idp` is matched to the key manager `okta` (and `key`,
    /// an API key, to none), secured.
    fn secured(security: Value, paths: Value, x_fedgate: Option<Value>) -> ImportedDesign {
        let mut document = doc(paths);
        document["security"] = security;
        document["components"] = json!({"securitySchemes": {
            "idp": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://idp.example.com/token", "scopes": {}}}},
            "key": {"type": "apiKey", "name": "k", "in": "header"}}});
        if let Some(extension) = x_fedgate {
            document[EXTENSION] = extension;
        }
        let mut result = imported(document);
        result.security_schemes[0].key_manager = Some("okta".into());
        result.secure();
        result
    }

    fn managed(scopes: &[&str]) -> Vec<crate::domain::api::policy::Policy> {
        serde_json::from_value(json!([{"type": "awsOAuth2",
            "parameters": {"keyManager": "okta", "scopes": scopes}}]))
        .unwrap()
    }

    fn reasons(warnings: &[FieldError]) -> Vec<String> {
        warnings
            .iter()
            .map(|w| format!("{}: {}", w.field, w.reason))
            .collect()
    }

    #[test]
    fn requirements_naming_a_key_manager_become_managed_policies() {
        let result = secured(
            json!([{"idp": ["pets:read"]}]),
            json!({"/a": {"get": {}},
                   "/b": {"post": {"security": [{"idp": ["pets:write", "pets:read"]}]}}}),
            None,
        );
        assert_eq!(result.design.policies, managed(&["pets:read"]));
        assert!(result.design.resources[0].policies.is_empty(), "inherits");
        assert_eq!(
            result.design.resources[1].policies,
            managed(&["pets:read", "pets:write"])
        );
        assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    }

    #[test]
    fn an_unsecured_operation_keeps_the_policy_off_the_api() {
        let result = secured(
            json!([{"idp": ["r"]}]),
            json!({"/a": {"get": {}}, "/open": {"get": {"security": []}},
                   "/keyed": {"get": {"security": [{"key": []}]}}}),
            None,
        );
        assert!(result.design.policies.is_empty());
        assert_eq!(result.design.resources[0].policies, managed(&["r"]));
        assert!(result.design.resources[1].policies.is_empty());
        assert!(result.design.resources[2].policies.is_empty());
        let warnings = reasons(&result.warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // `key` is not carried over; `idp` is, on the resources.
        assert!(warnings[0].contains("`key`") && !warnings[0].contains("`idp`"));
        assert!(
            warnings[1].starts_with(
                "document.security: `document.paths./open.get`, `document.paths./keyed.get` \
                 require no security fedgate manages"
            ),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_first_alternative_naming_a_key_manager_wins_with_a_warning() {
        let result = secured(
            json!([]),
            json!({"/a": {"get": {"security": [{"key": []}, {"key": [], "idp": ["x"]}, {}]}}}),
            None,
        );
        assert_eq!(result.design.resources[0].policies, managed(&["x"]));
        let warnings = reasons(&result.warnings);
        assert_eq!(
            warnings.last().unwrap(),
            "document.paths./a.get.security: secured by the fedgate-managed authorizer of key \
             manager `okta` (scheme `idp`) alone, which leaves out `key` (required with it), \
             the alternative `key`, the alternative of no security (`{}`)"
        );
    }

    #[test]
    fn policies_the_design_has_win_over_managed_ones() {
        let lambda = json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:own",
            "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}});
        let result = secured(
            json!([{"idp": []}]),
            json!({"/a": {"get": {"security": [{"idp": ["a"]}],
                                  EXTENSION: {"policies": [lambda.clone()]}}}}),
            Some(json!({"policies": [lambda]})),
        );
        assert!(result.design.policies[0].lambda().is_some());
        assert!(result.design.resources[0].policies[0].lambda().is_some());
        let fields: Vec<&str> = result.warnings.iter().map(|w| w.field.as_str()).collect();
        assert_eq!(fields, ["document.security", "document.paths./a.get"]);
        assert!(
            result.warnings[0]
                .reason
                .starts_with("keeps the policy it has")
        );
    }

    #[test]
    fn scopes_fedgate_cannot_check_leave_the_operation_unsecured() {
        let result = secured(
            json!([]),
            json!({"/a": {"get": {"security": [{"idp": ["two words"]}]}}}),
            None,
        );
        assert!(result.design.resources[0].policies.is_empty());
        assert!(result.warnings[0].reason.contains("fedgate cannot check"));
    }

    #[test]
    fn an_update_keeps_context_and_endpoint_the_document_lacks() {
        let document = json!({"openapi": "3.1.0", "info": {"title": "New title", "version": "2"},
            "paths": {"/a": {"get": {}}}});
        let defaults = Defaults {
            context: Some("/kept".into()),
            endpoint_url: Some("https://kept.example.com".into()),
        };
        let design = import(&document, Overrides::default(), defaults)
            .unwrap()
            .into_design()
            .unwrap()
            .design;
        assert_eq!(design.context.as_str(), "/kept");
        assert_eq!(design.endpoint_url.as_str(), "https://kept.example.com");
    }
}
