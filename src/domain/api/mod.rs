//! An API design: what a publisher creates, edits and snapshots into revisions, validated
//! as a whole so that every problem is reported at once, named by its JSON path.

pub mod cors;
pub mod draft;
pub mod endpoint;
pub mod path;
pub mod policy;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use self::cors::Cors;
use self::draft::{ApiDraft, ResourceDraft};
use self::endpoint::EndpointUrl;
use self::path::{BackendPath, PathTemplate, Segment, aws_resource_count, param_clashes};
use self::policy::{
    EffectivePolicy, ManagedAuthorizer, Policy, effective_policy, managed_mut, parse_policies,
};
use super::validation::{Errors, FieldError, parsed_string};

/// The longest description fedgate keeps, in characters.
pub const MAX_DESCRIPTION: usize = 2000;

/// 1–100 characters, not blank, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Petstore")]
pub struct ApiName(String);

impl ApiName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.is_empty()
            || trimmed.chars().count() > 100
            || trimmed.chars().any(char::is_control)
        {
            return Err("must be 1–100 characters, not blank, without control characters".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The API's own version label: 1–30 letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "1.0.0")]
pub struct ApiVersion(String);

impl ApiVersion {
    pub fn parse(s: &str) -> Result<Self, String> {
        let valid = (1..=30).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err("must be 1–30 letters, digits, `.`, `_` and `-`".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The API's base path: `/pets`, `/shop/v1` — literal segments only, no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "/petstore")]
pub struct Context(String);

impl Context {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() > 200 {
            return Err("must be at most 200 characters".into());
        }
        if s == "/" {
            return Err("must name at least one segment, like `/pets`".into());
        }
        let path = PathTemplate::parse(s)?;
        if path
            .segments()
            .any(|segment| !matches!(segment, Segment::Literal(_)))
        {
            return Err("must not contain parameters (`{…}`)".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

parsed_string!(ApiName, ApiVersion, Context);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatewayType {
    Aws,
}

impl GatewayType {
    fn parse(s: Option<&str>) -> Result<Self, String> {
        match s {
            None | Some("aws") => Ok(GatewayType::Aws),
            Some(other) => Err(format!(
                "`{other}` is not supported; the only gateway type is `aws`"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    /// Every method (API Gateway's `ANY`).
    Any,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 8] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
        HttpMethod::Head,
        HttpMethod::Options,
        HttpMethod::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Any => "ANY",
        }
    }

    /// Case-insensitive; stored upper-case.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("`{s}` is not one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY")
            })
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation of the API: a method on a path template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub method: HttpMethod,
    pub path: PathTemplate,
    pub description: String,
    /// Overrides the API-level policies for this resource.
    pub policies: Vec<Policy>,
    /// Where the backend serves this resource, when not at `path`: with a trailing `/`,
    /// or with parameters named otherwise (matched by position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_path: Option<BackendPath>,
}

impl Resource {
    /// The operation as people name it: `GET /pets/{petId}`.
    pub fn operation(&self) -> String {
        format!("{} {}", self.method, self.path.as_str())
    }
}

/// A validated API design. Serialized as is into revisions, so it stays stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiDesign {
    pub name: ApiName,
    pub version: ApiVersion,
    pub context: Context,
    pub description: String,
    pub endpoint_url: EndpointUrl,
    pub gateway_type: GatewayType,
    pub cors: Cors,
    pub key_managers: Vec<String>,
    pub policies: Vec<Policy>,
    pub resources: Vec<Resource>,
}

impl ApiDesign {
    pub fn parse(draft: &ApiDraft) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::new();
        let name = errors.check("name", required(&draft.name).and_then(ApiName::parse));
        let version = errors.check(
            "version",
            required(&draft.version).and_then(ApiVersion::parse),
        );
        let context = errors.check("context", required(&draft.context).and_then(Context::parse));
        let description = errors.check(
            "description",
            check_description(draft.description.as_deref()),
        );
        let endpoint_url = errors.check(
            "endpointUrl",
            required(&draft.endpoint_url).and_then(EndpointUrl::parse),
        );
        let gateway_type = errors.check(
            "gatewayType",
            GatewayType::parse(draft.gateway_type.as_deref()),
        );
        let cors = Cors::parse(draft.cors.as_ref(), &mut errors);
        let key_managers = parse_key_managers(&draft.key_managers, &mut errors);
        let policies = parse_policies(&draft.policies, "policies", &mut errors);
        let resources = parse_resources(&draft.resources, &mut errors);
        errors.finish(|| ApiDesign {
            name: name.expect("checked"),
            version: version.expect("checked"),
            context: context.expect("checked"),
            description: description.expect("checked"),
            endpoint_url: endpoint_url.expect("checked"),
            gateway_type: gateway_type.expect("checked"),
            cors,
            key_managers,
            policies,
            resources,
        })
    }

    /// Accepted but worth knowing before a deploy.
    pub fn warnings(&self) -> Vec<FieldError> {
        self.endpoint_url
            .unreachable_from_aws()
            .map(|reason| FieldError::new("endpointUrl", reason))
            .into_iter()
            .collect()
    }

    /// The resources API Gateway will hold for this design (its per-API quota counts
    /// them): the root `/` and every path with its parent segments.
    pub fn aws_resource_count(&self) -> usize {
        aws_resource_count(self.resources.iter().map(|r| &r.path))
    }

    /// Every managed policy of the design, API-level first, with the field naming its
    /// key manager (`resources[2].policies[0].parameters.keyManager`).
    pub fn managed_policies_mut(&mut self) -> Vec<(String, &mut ManagedAuthorizer)> {
        let mut all: Vec<_> = managed_mut(&mut self.policies, "policies").collect();
        for (r, resource) in self.resources.iter_mut().enumerate() {
            all.extend(managed_mut(
                &mut resource.policies,
                &format!("resources[{r}].policies"),
            ));
        }
        all
    }

    /// The policies of the API and of every resource.
    fn all_policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies
            .iter()
            .chain(self.resources.iter().flat_map(|r| &r.policies))
    }

    /// Whether any policy of the design is a managed one.
    pub fn has_managed_policies(&self) -> bool {
        self.all_policies().any(|p| p.managed().is_some())
    }

    /// The key managers the managed policies name, each once.
    pub fn managed_key_managers(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .all_policies()
            .filter_map(Policy::managed)
            .map(|m| m.key_manager.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether the API lists the key manager `name` among those issuing its tokens
    /// (listing none means every one).
    pub fn lists_key_manager(&self, name: &str) -> bool {
        self.key_managers.is_empty() || self.key_managers.iter().any(|k| k == name)
    }

    /// Whether callers of the API may need tokens of the key manager `name`: the API
    /// lists it, or a managed policy names it.
    pub fn takes_tokens_of(&self, name: &str) -> bool {
        self.lists_key_manager(name) || self.managed_key_managers().contains(&name)
    }

    /// The policy AWS will enforce on `resource`.
    pub fn effective_policy(&self, resource: &Resource) -> EffectivePolicy {
        effective_policy(&self.policies, &resource.policies)
    }
}

fn required(value: &Option<String>) -> Result<&str, String> {
    value.as_deref().ok_or_else(|| "is required".to_owned())
}

/// A free-text description: at most `MAX_DESCRIPTION` characters; absent means empty.
pub fn check_description(description: Option<&str>) -> Result<String, String> {
    let description = description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(format!("must be at most {MAX_DESCRIPTION} characters"));
    }
    Ok(description.to_owned())
}

fn parse_key_managers(names: &[String], errors: &mut Errors) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let field = format!("keyManagers[{i}]");
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add(field, "must be a key manager name of 1–100 characters");
        } else if kept.iter().any(|k| k == name) {
            errors.add(field, format!("`{name}` is listed twice"));
        } else {
            kept.push(name.to_owned());
        }
    }
    kept
}

fn parse_resources(drafts: &[ResourceDraft], errors: &mut Errors) -> Vec<Resource> {
    let mut resources: Vec<(usize, Resource)> = Vec::new();
    let mut operations: HashMap<(HttpMethod, PathTemplate), usize> = HashMap::new();
    for (i, draft) in drafts.iter().enumerate() {
        let at = format!("resources[{i}]");
        let method = errors.check(
            &format!("{at}.method"),
            required(&draft.method).and_then(HttpMethod::parse),
        );
        let path = errors.check(
            &format!("{at}.path"),
            required(&draft.path).and_then(PathTemplate::parse),
        );
        let description = errors.check(
            &format!("{at}.description"),
            check_description(draft.description.as_deref()),
        );
        let policies = parse_policies(&draft.policies, &format!("{at}.policies"), errors);
        let backend_path = match (&draft.backend_path, &path) {
            (None, _) => Some(None),
            (Some(backend), Some(path)) => errors
                .check(
                    &format!("{at}.backendPath"),
                    BackendPath::parse(backend).and_then(|b| b.check_serves(path).map(|()| b)),
                )
                // The resource's own path says it all: nothing to keep.
                .map(|b| (b.as_str() != path.as_str()).then_some(b)),
            (Some(_), None) => None,
        };
        let (Some(method), Some(path), Some(description), Some(backend_path)) =
            (method, path, description, backend_path)
        else {
            continue;
        };
        if let Some(earlier) = operations.insert((method, path.clone()), i) {
            errors.add(
                at,
                format!(
                    "duplicates resources[{earlier}]: {method} {} is defined twice",
                    path.as_str()
                ),
            );
            continue;
        }
        resources.push((
            i,
            Resource {
                method,
                path,
                description,
                policies,
                backend_path,
            },
        ));
    }
    let paths: Vec<(usize, &PathTemplate)> = resources.iter().map(|(i, r)| (*i, &r.path)).collect();
    for clash in param_clashes(&paths) {
        errors.add(
            format!("resources[{}].path", clash.index),
            format!(
                "the parameter `{}` sits where resources[{}].path has `{}`; API Gateway \
                 allows one parameter name per position, so use `{}` here too",
                clash.name, clash.earlier, clash.earlier_name, clash.earlier_name
            ),
        );
    }
    resources.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(value: serde_json::Value) -> ApiDraft {
        serde_json::from_value(value).unwrap()
    }

    fn fields(value: serde_json::Value) -> Vec<String> {
        ApiDesign::parse(&draft(value))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn minimal() -> serde_json::Value {
        json!({"name": "Petstore", "version": "1.0.0", "context": "/pets",
               "endpointUrl": "https://petstore.example.com/v1"})
    }

    #[test]
    fn minimal_design_gets_defaults() {
        let design = ApiDesign::parse(&draft(minimal())).unwrap();
        assert_eq!(design.gateway_type, GatewayType::Aws);
        assert!(design.resources.is_empty());
        assert!(!design.cors.enabled);
        assert!(design.warnings().is_empty());
    }

    #[test]
    fn every_missing_field_is_named() {
        assert_eq!(
            fields(json!({})),
            ["name", "version", "context", "endpointUrl"]
        );
    }

    #[test]
    fn contexts() {
        for ok in ["/pets", "/shop/v1", "/a.b-c_d~e"] {
            assert!(Context::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/",
            "pets",
            "/pets/",
            "/a/../b",
            "/pets/{id}",
            "/a//b",
            "/a b",
        ] {
            assert!(Context::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_errors_carry_their_index() {
        let mut body = minimal();
        body["resources"] = json!([
            {"method": "GET", "path": "/pets"},
            {"method": "FETCH", "path": "pets"},
            {"method": "get", "path": "/pets"},
            {"method": "GET", "path": "/pets/{id}"},
            {"method": "PUT", "path": "/pets/{petId}"},
        ]);
        assert_eq!(
            fields(body),
            [
                "resources[1].method",
                "resources[1].path",
                "resources[2]",
                "resources[4].path"
            ]
        );
    }

    #[test]
    fn a_backend_path_must_serve_the_resource() {
        let mut body = minimal();
        body["resources"] = json!([
            {"method": "GET", "path": "/items", "backendPath": "/items/"},
            {"method": "GET", "path": "/a/{x}/b", "backendPath": "/a/{y}/b"},
            {"method": "GET", "path": "/c", "backendPath": "/c"},
            {"method": "GET", "path": "/d/{x}", "backendPath": "/d"},
            {"method": "GET", "path": "/e/{x}", "backendPath": "/e/{p+}"},
            {"method": "GET", "path": "/f", "backendPath": "f//"},
        ]);
        assert_eq!(
            fields(body.clone()),
            [
                "resources[3].backendPath",
                "resources[4].backendPath",
                "resources[5].backendPath"
            ]
        );
        body["resources"] = body["resources"].as_array().unwrap()[..3].into();
        let design = ApiDesign::parse(&draft(body)).unwrap();
        let backends: Vec<Option<&str>> = design
            .resources
            .iter()
            .map(|r| r.backend_path.as_ref().map(BackendPath::as_str))
            .collect();
        assert_eq!(backends, [Some("/items/"), Some("/a/{y}/b"), None]);
        let stored = serde_json::to_value(&design).unwrap();
        assert!(stored["resources"][2].get("backendPath").is_none());
        assert_eq!(serde_json::from_value::<ApiDesign>(stored).unwrap(), design);
    }

    #[test]
    fn round_trips_through_json() {
        let mut body = minimal();
        body["resources"] = json!([{"method": "any", "path": "/{proxy+}", "description": "all"}]);
        let design = ApiDesign::parse(&draft(body)).unwrap();
        let stored = serde_json::to_value(&design).unwrap();
        assert_eq!(stored["resources"][0]["method"], "ANY");
        let back: ApiDesign = serde_json::from_value(stored).unwrap();
        assert_eq!(back, design);
    }
}
