//! The declarative file of `fedgate plan` and `fedgate apply`, and the planner that
//! compares it with what the server holds. Pure apart from reading files.
//!
//! A manifest names one API; a YAML file may hold several (separated by `---`):
//!
//! ```yaml
//! apiVersion: fedgate/v1
//! kind: Api
//! metadata: {name: Pets, version: 1.0.0}
//! spec:
//!   openapi: ./pets.openapi.yaml        # relative to the manifest file
//!   overrides: {context: /pets, endpointUrl: https://petstore.example.com/v1}
//!   policies:                           # API-level, fedgate policy JSON
//!     - type: awsOAuth2
//!       parameters: {keyManager: corp-idp, scopes: [pets:read]}
//!   resourcePolicies:                   # by `METHOD /path` of the document
//!     "DELETE /pets/{petId}": [{type: awsOAuth2, parameters: {keyManager: corp-idp, scopes: [pets:admin]}}]
//!   cors: {enabled: true, allowOrigins: [https://app.example.com]}
//!   keyManagers: [corp-idp]
//!   environments: [aws-dev]             # deployed there, undeployed elsewhere
//!   lifecycle: PUBLISHED                # optional: left as it is when absent
//! ```
//!
//! The file is the truth for what it names: the design is the one the server's own
//! OpenAPI import makes of the document (`domain::openapi::import`, run here), with
//! `metadata` as name and version, `overrides` winning over the document, and
//! `policies`, `resourcePolicies`, `cors` and `keyManagers` replacing what the
//! document's `x-fedgate` says when given. The document's security schemes are not
//! matched to key managers (that needs the server): security is what these fields say.
//! Name key managers by name, as the server stores them.
//!
//! Planning compares that design with the server's (`UpdateDesign` carries a JSON merge
//! patch of exactly the differing members, policies and CORS included), so a server that
//! matches gets no actions. APIs the files do not name are left alone.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::api::draft::{ApiDraft, CorsDraft, PolicyDraft};
use crate::domain::api::{ApiDesign, HttpMethod};
use crate::domain::deployment::DeploymentStatus;
use crate::domain::lifecycle::{LifecycleAction, LifecycleState, transition};
use crate::domain::openapi::update::resource_changes;
use crate::domain::openapi::{self, Defaults, Overrides};
use crate::domain::validation::FieldError;

pub const API_VERSION: &str = "fedgate/v1";
pub const KIND: &str = "Api";

/// The order lifecycle actions are tried in when looking for a path between two
/// states: the gentler first (unblocking before deprecating a blocked API).
const LIFECYCLE_PREFERENCE: [LifecycleAction; 6] = [
    LifecycleAction::Unblock,
    LifecycleAction::Publish,
    LifecycleAction::Demote,
    LifecycleAction::Deprecate,
    LifecycleAction::Block,
    LifecycleAction::Retire,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// `fedgate/v1`.
    pub api_version: String,
    /// `Api`.
    pub kind: String,
    pub metadata: Metadata,
    pub spec: Spec,
}

/// The API's identity on the server: name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// The OpenAPI 3.x or Swagger 2.0 document, relative to the manifest file.
    pub openapi: String,
    #[serde(default, skip_serializing_if = "SpecOverrides::is_empty")]
    pub overrides: SpecOverrides,
    /// API-level policies; absent: the document's `x-fedgate` ones (or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<Value>>,
    /// A resource's own policies, by `METHOD /path`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_policies: BTreeMap<String, Vec<Value>>,
    /// fedgate's `cors` object; absent: the document's `x-fedgate` one (or disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Value>,
    /// Absent: the document's `x-fedgate` ones (or none, meaning all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_managers: Option<Vec<String>>,
    /// The environments the API is deployed to; undeployed from any other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// The lifecycle state to reach; absent: whatever it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleState>,
}

/// What wins over the document (name and version come from `metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpecOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

impl SpecOverrides {
    fn is_empty(&self) -> bool {
        self.context.is_none() && self.endpoint_url.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// Problems of one file, each with its field path (`spec.policies[0].type`).
    #[error("{}: {}", file.display(), describe(problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<FieldError>,
    },
    #[error("{}: holds no fedgate manifest (apiVersion: {API_VERSION})", path.display())]
    NoManifest { path: PathBuf },
    #[error("{name} {version} is named by both {} and {}", first.display(), second.display())]
    Duplicate {
        name: String,
        version: String,
        first: PathBuf,
        second: PathBuf,
    },
}

fn describe(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|p| match p.field.as_str() {
            "" => p.reason.clone(),
            field => format!("`{field}` {}", p.reason),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn invalid(file: &Path, field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        file: file.to_owned(),
        problems: vec![FieldError::new(field, reason)],
    }
}

/// Parses the manifests of one file (`file` names it in errors). Unknown fields are
/// refused; every field is checked as far as it can be without the document.
pub fn parse(file: &Path, text: &str) -> Result<Vec<Manifest>, ManifestError> {
    let mut manifests = Vec::new();
    // The YAML reader makes one empty document of a file with nothing in it.
    let blank = text
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#') || line == "---");
    if blank {
        return Err(ManifestError::NoManifest {
            path: file.to_owned(),
        });
    }
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        // A multi-document file names the document too.
        let prefix = if index == 0 {
            String::new()
        } else {
            format!("(document {}) ", index + 1)
        };
        let manifest: Manifest = serde_path_to_error::deserialize(document).map_err(|e| {
            let (field, reason) = located(&e.path().to_string(), e.inner().to_string());
            invalid(file, format!("{prefix}{field}"), reason)
        })?;
        check(&manifest).map_err(|problems| ManifestError::Invalid {
            file: file.to_owned(),
            problems: problems
                .into_iter()
                .map(|p| FieldError::new(format!("{prefix}{}", p.field), p.reason))
                .collect(),
        })?;
        manifests.push(manifest);
    }
    if manifests.is_empty() {
        return Err(ManifestError::NoManifest {
            path: file.to_owned(),
        });
    }
    Ok(manifests)
}

/// The field of a serde error at `path` and its reason, without the YAML reader's own
/// location prefix (`spec: unknown field …`, `spec.lifecycle: unknown variant …`),
/// which `path` says better.
fn located(path: &str, reason: String) -> (String, String) {
    let field = if path == "." { "" } else { path };
    let reason = match reason.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && field.starts_with(head) => rest.to_owned(),
        _ => reason,
    };
    (field.to_owned(), reason)
}

/// What serde cannot check: the constants, the policy and CORS objects, the keys of
/// `resourcePolicies`, and environments that contradict the lifecycle.
fn check(manifest: &Manifest) -> Result<(), Vec<FieldError>> {
    let mut problems = Vec::new();
    let mut expect = |field: &str, value: &str, expected: &str| {
        if value != expected {
            problems.push(FieldError::new(
                field,
                format!("is `{value}`; expected `{expected}`"),
            ));
        }
    };
    expect("apiVersion", &manifest.api_version, API_VERSION);
    expect("kind", &manifest.kind, KIND);
    let spec = &manifest.spec;
    let mut shape = |field: String, result: Result<(), FieldError>| {
        if let Err(error) = result {
            let at = match error.field.as_str() {
                "" => field,
                inner => format!("{field}.{inner}"),
            };
            problems.push(FieldError::new(at, error.reason));
        }
    };
    for (i, policy) in spec.policies.iter().flatten().enumerate() {
        shape(format!("spec.policies[{i}]"), shaped::<PolicyDraft>(policy));
    }
    for (operation, policies) in &spec.resource_policies {
        let at = format!("spec.resourcePolicies.{operation}");
        shape(at.clone(), parse_operation(operation).map(|_| ()));
        for (i, policy) in policies.iter().enumerate() {
            shape(format!("{at}[{i}]"), shaped::<PolicyDraft>(policy));
        }
    }
    if let Some(cors) = &spec.cors {
        shape("spec.cors".into(), shaped::<CorsDraft>(cors));
    }
    let mut seen = BTreeSet::new();
    for (i, environment) in spec.environments.iter().enumerate() {
        if !seen.insert(environment) {
            problems.push(FieldError::new(
                format!("spec.environments[{i}]"),
                format!("names `{environment}` twice"),
            ));
        }
    }
    if spec.lifecycle == Some(LifecycleState::Retired) && !spec.environments.is_empty() {
        problems.push(FieldError::new(
            "spec.environments",
            "must be empty: a RETIRED API is deployed nowhere",
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Whether `value` has the shape of `T` (unknown fields refused), naming where not.
fn shaped<T: DeserializeOwned>(value: &Value) -> Result<(), FieldError> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(|_| ())
        .map_err(|e| {
            let (field, reason) = located(&e.path().to_string(), e.inner().to_string());
            FieldError::new(field, reason)
        })
}

/// `GET /pets/{petId}` → (GET, `/pets/{petId}`).
fn parse_operation(operation: &str) -> Result<(HttpMethod, &str), FieldError> {
    let (method, path) = operation
        .split_once(' ')
        .ok_or_else(|| FieldError::new("", "must be `METHOD /path`, like `GET /pets/{petId}`"))?;
    let method = HttpMethod::parse(method).map_err(|reason| FieldError::new("", reason))?;
    Ok((method, path.trim()))
}

/// An API as the files want it.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredApi {
    /// The manifest file naming it.
    pub source: PathBuf,
    pub design: ApiDesign,
    pub environments: Vec<String>,
    pub lifecycle: Option<LifecycleState>,
    /// What the import of the document adapted or left out, and what is worth knowing
    /// before a deploy (a private endpoint host), as `field: reason`.
    pub warnings: Vec<String>,
}

impl DesiredApi {
    pub fn key(&self) -> ApiKey {
        ApiKey {
            name: self.design.name.as_str().to_owned(),
            version: self.design.version.as_str().to_owned(),
        }
    }

    /// The body of `POST /publisher/v1/apis` (and of `PUT /publisher/v1/apis/{id}`).
    pub fn design_json(&self) -> Value {
        design_json(&self.design)
    }
}

fn design_json(design: &ApiDesign) -> Value {
    serde_json::to_value(design).expect("a design serializes")
}

/// Loads `path`: a manifest file, or a directory whose `*.yaml`/`*.yml` files are read
/// in name order. In a directory, YAML files that are OpenAPI or Swagger documents
/// (`openapi:`/`swagger:` at the top, no `apiVersion`) are skipped; anything else that
/// is no manifest is an error. Each manifest's document is read and imported.
pub fn load(path: &Path) -> Result<Vec<DesiredApi>, ManifestError> {
    let files = if path.is_dir() {
        manifest_files(path)?
    } else {
        vec![path.to_owned()]
    };
    let mut desired: Vec<DesiredApi> = Vec::new();
    for file in files {
        let text = read(&file)?;
        for manifest in parse(&file, &text)? {
            let base = file.parent().unwrap_or(Path::new("."));
            let openapi_file = base.join(&manifest.spec.openapi);
            let openapi_text = read(&openapi_file)?;
            let api = desired_api(&manifest, &file, &openapi_file, &openapi_text)?;
            if let Some(first) = desired.iter().find(|d| d.key() == api.key()) {
                return Err(ManifestError::Duplicate {
                    name: api.key().name,
                    version: api.key().version,
                    first: first.source.clone(),
                    second: file.clone(),
                });
            }
            desired.push(api);
        }
    }
    if desired.is_empty() {
        return Err(ManifestError::NoManifest {
            path: path.to_owned(),
        });
    }
    Ok(desired)
}

fn read(file: &Path) -> Result<String, ManifestError> {
    std::fs::read_to_string(file).map_err(|source| ManifestError::Read {
        file: file.to_owned(),
        source,
    })
}

fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let listing = |source| ManifestError::Read {
        file: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let file = entry.map_err(listing)?.path();
        let yaml = file
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml");
        if yaml && file.is_file() && !is_openapi_document(&read(&file)?) {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// An OpenAPI or Swagger document rather than a manifest (a broken file is left for the
/// manifest parser to report).
fn is_openapi_document(text: &str) -> bool {
    let Some(first) = serde_norway::Deserializer::from_str(text).next() else {
        return false;
    };
    match serde_norway::Value::deserialize(first) {
        Ok(serde_norway::Value::Mapping(top)) => {
            !top.contains_key("apiVersion")
                && (top.contains_key("openapi") || top.contains_key("swagger"))
        }
        _ => false,
    }
}

/// The API `manifest` describes, its document (`openapi_text`, read from
/// `openapi_file`) imported as the server would.
pub fn desired_api(
    manifest: &Manifest,
    manifest_file: &Path,
    openapi_file: &Path,
    openapi_text: &str,
) -> Result<DesiredApi, ManifestError> {
    let spec = &manifest.spec;
    let overrides = Overrides {
        name: Some(manifest.metadata.name.clone()),
        version: Some(manifest.metadata.version.clone()),
        context: spec.overrides.context.clone(),
        endpoint_url: spec.overrides.endpoint_url.clone(),
        gateway_type: None,
    };
    let imported = openapi::import(
        &Value::String(openapi_text.to_owned()),
        overrides,
        Defaults::default(),
    )
    .map_err(|error| vec![error])
    .and_then(|imported| imported.into_design())
    .map_err(|errors| {
        // Errors of fields the manifest gave are the manifest's; the rest the document's.
        let (ours, theirs): (Vec<_>, Vec<_>) = errors
            .into_iter()
            .map(|e| (manifest_field(&e.field, spec), e))
            .partition(|(ours, _)| ours.is_some());
        if ours.is_empty() {
            ManifestError::Invalid {
                file: openapi_file.to_owned(),
                problems: theirs.into_iter().map(|(_, e)| e).collect(),
            }
        } else {
            ManifestError::Invalid {
                file: manifest_file.to_owned(),
                problems: ours
                    .into_iter()
                    .map(|(field, e)| FieldError::new(field.expect("partitioned"), e.reason))
                    .collect(),
            }
        }
    })?;

    let imported_design = imported.design;
    let mut draft = design_json(&imported_design);
    let mut set = |key: &str, value: Value| {
        draft[key] = value;
    };
    if let Some(policies) = &spec.policies {
        set("policies", Value::Array(policies.clone()));
    }
    if let Some(cors) = &spec.cors {
        set("cors", cors.clone());
    }
    if let Some(key_managers) = &spec.key_managers {
        set("keyManagers", serde_json::json!(key_managers));
    }
    // resources[i] ↔ `spec.resourcePolicies.<operation>`, to name errors after the file.
    let mut resource_fields = Vec::new();
    for (operation, policies) in &spec.resource_policies {
        let (method, path) = parse_operation(operation).expect("checked by parse");
        let index = imported_design
            .resources
            .iter()
            .position(|r| r.method == method && r.path.as_str() == path)
            .ok_or_else(|| {
                let known: Vec<String> = imported_design
                    .resources
                    .iter()
                    .map(|r| r.operation())
                    .collect();
                invalid(
                    manifest_file,
                    format!("spec.resourcePolicies.{operation}"),
                    format!(
                        "names no operation of {}; it has {}",
                        openapi_file.display(),
                        known.join(", ")
                    ),
                )
            })?;
        draft["resources"][index]["policies"] = Value::Array(policies.clone());
        resource_fields.push((
            format!("resources[{index}].policies"),
            format!("spec.resourcePolicies.{operation}"),
        ));
    }
    let draft: ApiDraft = serde_json::from_value(draft).map_err(|e| {
        invalid(
            manifest_file,
            "spec",
            format!("does not make a design: {e}"),
        )
    })?;
    let design = ApiDesign::parse(&draft).map_err(|errors| ManifestError::Invalid {
        file: manifest_file.to_owned(),
        problems: errors
            .into_iter()
            .map(|error| {
                let field = resource_fields
                    .iter()
                    .find_map(|(draft_field, manifest_field)| {
                        error
                            .field
                            .strip_prefix(draft_field.as_str())
                            .map(|rest| format!("{manifest_field}{rest}"))
                    })
                    .unwrap_or_else(|| format!("spec.{}", error.field));
                FieldError::new(field, error.reason)
            })
            .collect(),
    })?;
    Ok(DesiredApi {
        source: manifest_file.to_owned(),
        environments: spec.environments.clone(),
        lifecycle: spec.lifecycle,
        warnings: imported
            .warnings
            .into_iter()
            .chain(design.warnings())
            .map(|w| format!("{}: {}", w.field, w.reason))
            .collect(),
        design,
    })
}

/// The manifest field an import error of the draft field `field` is about, when the
/// manifest gave it.
fn manifest_field(field: &str, spec: &Spec) -> Option<&'static str> {
    match field {
        "name" => Some("metadata.name"),
        "version" => Some("metadata.version"),
        "context" if spec.overrides.context.is_some() => Some("spec.overrides.context"),
        "endpointUrl" if spec.overrides.endpoint_url.is_some() => {
            Some("spec.overrides.endpointUrl")
        }
        _ => None,
    }
}

/// An API by the identity plans show: name and version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ApiKey {
    pub name: String,
    pub version: String,
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// An API the server holds, as the command fetched it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentApi {
    /// The API as `GET /publisher/v1/apis/{id}` returns it: its design, `id` and
    /// `lifecycleState` among the read-only fields.
    pub api: Value,
    /// Its deployments (`GET /publisher/v1/apis/{id}/deployments`).
    pub deployments: Vec<CurrentDeployment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrentDeployment {
    /// The deployment's id, for `DELETE …/deployments/{deploymentId}`.
    pub id: String,
    pub environment: String,
    pub status: DeploymentStatus,
    /// The design of the revision AWS holds (`GET …/revisions/{revisionId}`), when the
    /// command fetched it: a deployment whose design differs is redeployed. `None`: not
    /// compared (only a design change in this plan redeploys).
    pub deployed_design: Option<Value>,
}

/// Why a deploy is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeployReason {
    NotDeployed,
    LastDeployFailed,
    DesignChanged,
    DeployedRevisionDiffers,
}

impl fmt::Display for DeployReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeployReason::NotDeployed => "not deployed",
            DeployReason::LastDeployFailed => "the last deploy failed",
            DeployReason::DesignChanged => "design changed",
            DeployReason::DeployedRevisionDiffers => "the deployed revision differs",
        })
    }
}

/// One step of a plan, in the order to run them. `id` is the API's; `None` for an API
/// an earlier `CreateApi` of the plan makes (the command knows its id by then).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// `POST /publisher/v1/apis` with `design`.
    #[serde(rename_all = "camelCase")]
    CreateApi { api: ApiKey, design: Value },
    /// `PATCH /publisher/v1/apis/{id}` (`application/merge-patch+json`) with `patch`:
    /// the members of the design that differ, policies and CORS included. `changes`
    /// names them for people (`resources (+ GET /a, - GET /b)`).
    #[serde(rename_all = "camelCase")]
    UpdateDesign {
        api: ApiKey,
        id: String,
        patch: Value,
        changes: Vec<String>,
    },
    /// `POST /publisher/v1/apis/{id}/deployments` with `{environment}`.
    #[serde(rename_all = "camelCase")]
    Deploy {
        api: ApiKey,
        id: Option<String>,
        environment: String,
        reason: DeployReason,
    },
    /// `DELETE /publisher/v1/apis/{id}/deployments/{deploymentId}`.
    #[serde(rename_all = "camelCase")]
    Undeploy {
        api: ApiKey,
        id: String,
        deployment_id: String,
        environment: String,
    },
    /// `POST /publisher/v1/apis/{id}/lifecycle` with `{action}`.
    #[serde(rename_all = "camelCase")]
    ChangeLifecycle {
        api: ApiKey,
        id: Option<String>,
        change: LifecycleAction,
        from: LifecycleState,
        to: LifecycleState,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateApi { api, .. } => write!(f, "+ create API {api}"),
            Action::UpdateDesign { api, changes, .. } => {
                write!(f, "~ update API {api}: {}", changes.join(", "))
            }
            Action::Deploy {
                api,
                environment,
                reason,
                ..
            } => write!(f, "~ deploy {api} to {environment} ({reason})"),
            Action::Undeploy {
                api, environment, ..
            } => write!(f, "- undeploy {api} from {environment}"),
            Action::ChangeLifecycle {
                api,
                change,
                from,
                to,
                ..
            } => write!(f, "~ {change} {api} ({from} → {to})"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// One line per action, then a count of them (or "No changes.").
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.actions.is_empty() {
            return writeln!(f, "No changes. The server matches the manifests.");
        }
        for action in &self.actions {
            writeln!(f, "{action}")?;
        }
        let count = |wanted: fn(&Action) -> bool| self.actions.iter().filter(|a| wanted(a)).count();
        let counts = [
            (
                count(|a| matches!(a, Action::CreateApi { .. })),
                "to create",
            ),
            (
                count(|a| matches!(a, Action::UpdateDesign { .. })),
                "to update",
            ),
            (count(|a| matches!(a, Action::Deploy { .. })), "to deploy"),
            (
                count(|a| matches!(a, Action::Undeploy { .. })),
                "to undeploy",
            ),
            (
                count(|a| matches!(a, Action::ChangeLifecycle { .. })),
                "lifecycle change",
            ),
        ];
        let summary: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| match (*n, *what) {
                (n, "lifecycle change") if n > 1 => format!("{n} lifecycle changes"),
                (n, what) => format!("{n} {what}"),
            })
            .collect();
        writeln!(f, "\nPlan: {}.", summary.join(", "))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("the server's API {id}: {problem}")]
    UnreadableCurrent { id: String, problem: String },
    #[error("{api}: no lifecycle actions lead from {from} to {to}{}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    UnreachableLifecycle {
        api: ApiKey,
        from: LifecycleState,
        to: LifecycleState,
        reason: Option<String>,
    },
    #[error("{api} is RETIRED on the server and cannot be deployed to {}", environments.join(", "))]
    RetiredDeploy {
        api: ApiKey,
        environments: Vec<String>,
    },
}

/// What `current` needs, in order, to become `desired`: per API, its creation or design
/// update, undeploys, deploys, then lifecycle changes.
pub fn plan(desired: &[DesiredApi], current: &[CurrentApi]) -> Result<Plan, PlanError> {
    let current = current
        .iter()
        .map(ServerApi::read)
        .collect::<Result<Vec<_>, _>>()?;
    let mut actions = Vec::new();
    for want in desired {
        let key = want.key();
        let have = current.iter().find(|have| have.key() == key);
        plan_api(want, have, &mut actions)?;
    }
    Ok(Plan { actions })
}

/// A current API, read.
struct ServerApi<'a> {
    id: String,
    design: ApiDesign,
    lifecycle: LifecycleState,
    deployments: &'a [CurrentDeployment],
}

impl<'a> ServerApi<'a> {
    fn read(api: &'a CurrentApi) -> Result<Self, PlanError> {
        let id = api.api.get("id").and_then(Value::as_str).unwrap_or("?");
        let unreadable = |problem: String| PlanError::UnreadableCurrent {
            id: id.to_owned(),
            problem,
        };
        let draft: ApiDraft =
            serde_json::from_value(api.api.clone()).map_err(|e| unreadable(e.to_string()))?;
        let design = ApiDesign::parse(&draft).map_err(|errors| {
            unreadable(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let lifecycle = api
            .api
            .get("lifecycleState")
            .and_then(Value::as_str)
            .and_then(LifecycleState::parse)
            .ok_or_else(|| unreadable("no `lifecycleState`".into()))?;
        Ok(ServerApi {
            id: id.to_owned(),
            design,
            lifecycle,
            deployments: &api.deployments,
        })
    }

    fn key(&self) -> ApiKey {
        ApiKey {
            name: self.design.name.as_str().to_owned(),
            version: self.design.version.as_str().to_owned(),
        }
    }
}

fn plan_api(
    want: &DesiredApi,
    have: Option<&ServerApi>,
    actions: &mut Vec<Action>,
) -> Result<(), PlanError> {
    let api = want.key();
    let id = have.map(|have| have.id.clone());
    let design_changed = match have {
        None => {
            actions.push(Action::CreateApi {
                api: api.clone(),
                design: want.design_json(),
            });
            true
        }
        Some(have) if have.design != want.design => {
            let patch = merge_diff(&design_json(&have.design), &want.design_json())
                .expect("the designs differ");
            actions.push(Action::UpdateDesign {
                api: api.clone(),
                id: have.id.clone(),
                changes: describe_changes(&patch, &have.design, &want.design),
                patch,
            });
            true
        }
        Some(_) => false,
    };
    let lifecycle = have.map_or(LifecycleState::Created, |have| have.lifecycle);
    let deployments = have.map_or(&[][..], |have| have.deployments);
    // Retiring undeploys everywhere by itself.
    let retiring = want.lifecycle == Some(LifecycleState::Retired);
    if !retiring {
        if lifecycle == LifecycleState::Retired && !want.environments.is_empty() {
            return Err(PlanError::RetiredDeploy {
                api,
                environments: want.environments.clone(),
            });
        }
        for deployment in deployments.iter().filter(|d| {
            !want.environments.contains(&d.environment)
                && d.status.is_live()
                && d.status != DeploymentStatus::Undeploying
        }) {
            actions.push(Action::Undeploy {
                api: api.clone(),
                id: id.clone().expect("deployments belong to a current API"),
                deployment_id: deployment.id.clone(),
                environment: deployment.environment.clone(),
            });
        }
        for environment in &want.environments {
            let deployment = deployments.iter().find(|d| &d.environment == environment);
            if let Some(reason) = deploy_reason(deployment, design_changed, &want.design) {
                actions.push(Action::Deploy {
                    api: api.clone(),
                    id: id.clone(),
                    environment: environment.clone(),
                    reason,
                });
            }
        }
    }
    if let Some(target) = want.lifecycle {
        let steps =
            lifecycle_path(lifecycle, target, want.design.resources.len()).ok_or_else(|| {
                PlanError::UnreachableLifecycle {
                    api: api.clone(),
                    from: lifecycle,
                    to: target,
                    reason: lifecycle_path(lifecycle, target, 1).map(|_| {
                        "an API needs at least one resource before it can be published".to_owned()
                    }),
                }
            })?;
        for (change, from, to) in steps {
            actions.push(Action::ChangeLifecycle {
                api: api.clone(),
                id: id.clone(),
                change,
                from,
                to,
            });
        }
    }
    Ok(())
}

fn deploy_reason(
    deployment: Option<&CurrentDeployment>,
    design_changed: bool,
    design: &ApiDesign,
) -> Option<DeployReason> {
    let Some(deployment) = deployment else {
        return Some(DeployReason::NotDeployed);
    };
    match deployment.status {
        DeploymentStatus::Failed => Some(DeployReason::LastDeployFailed),
        status if !status.serves_or_will() => Some(DeployReason::NotDeployed),
        _ if design_changed => Some(DeployReason::DesignChanged),
        _ => {
            let deployed = deployment.deployed_design.as_ref()?;
            let same = serde_json::from_value::<ApiDraft>(deployed.clone())
                .ok()
                .and_then(|draft| ApiDesign::parse(&draft).ok())
                .is_some_and(|deployed| &deployed == design);
            (!same).then_some(DeployReason::DeployedRevisionDiffers)
        }
    }
}

/// The shortest series of lifecycle actions from `from` to `to`, with the states they
/// pass (none needed: empty); `None` when no series leads there.
fn lifecycle_path(
    from: LifecycleState,
    to: LifecycleState,
    resources: usize,
) -> Option<Vec<(LifecycleAction, LifecycleState, LifecycleState)>> {
    let mut reached: BTreeMap<&str, Vec<(LifecycleAction, LifecycleState, LifecycleState)>> =
        BTreeMap::from([(from.as_str(), Vec::new())]);
    let mut queue = VecDeque::from([from]);
    while let Some(state) = queue.pop_front() {
        if state == to {
            return reached.remove(to.as_str());
        }
        for action in LIFECYCLE_PREFERENCE {
            let Ok(next) = transition(state, action, resources) else {
                continue;
            };
            if !reached.contains_key(next.as_str()) {
                let mut path = reached[state.as_str()].clone();
                path.push((action, state, next));
                reached.insert(next.as_str(), path);
                queue.push_back(next);
            }
        }
    }
    None
}

/// The JSON merge patch (RFC 7396) turning `from` into `to`; `None` when equal.
fn merge_diff(from: &Value, to: &Value) -> Option<Value> {
    if from == to {
        return None;
    }
    let (Value::Object(from), Value::Object(to)) = (from, to) else {
        return Some(to.clone());
    };
    let mut patch = Map::new();
    for (key, wanted) in to {
        let member = match from.get(key) {
            Some(held) => merge_diff(held, wanted),
            None => Some(wanted.clone()),
        };
        if let Some(member) = member {
            patch.insert(key.clone(), member);
        }
    }
    for key in from.keys().filter(|key| !to.contains_key(*key)) {
        patch.insert(key.clone(), Value::Null);
    }
    Some(Value::Object(patch))
}

/// The design members a patch changes, resources told operation by operation.
fn describe_changes(patch: &Value, from: &ApiDesign, to: &ApiDesign) -> Vec<String> {
    let Some(members) = patch.as_object() else {
        return Vec::new();
    };
    members
        .keys()
        .map(|member| {
            if member != "resources" {
                return member.clone();
            }
            let changes = resource_changes(from, to);
            let told: Vec<String> = [
                ("+", &changes.added),
                ("-", &changes.removed),
                ("~", &changes.changed),
            ]
            .into_iter()
            .flat_map(|(sign, operations)| operations.iter().map(move |op| format!("{sign} {op}")))
            .collect();
            if told.is_empty() {
                // Only the order of the resources changed.
                "resources (order)".to_owned()
            } else {
                format!("resources ({})", told.join(", "))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::merge_patch;

    const PETS_DOCUMENT: &str = include_str!("../../tests/fixtures/manifests/pets.openapi.yaml");

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests")
    }

    /// The error of parsing `text` as `m.yaml`.
    fn parse_error(text: &str) -> String {
        parse(Path::new("m.yaml"), text).unwrap_err().to_string()
    }

    /// A manifest of Pets 1.0.0 with `spec` (YAML flow mapping members) added.
    fn manifest(spec: &str) -> Manifest {
        let text = format!(
            "apiVersion: fedgate/v1\nkind: Api\nmetadata: {{name: Pets, version: 1.0.0}}\n\
             spec: {{openapi: pets.openapi.yaml, {spec}}}\n"
        );
        parse(Path::new("m.yaml"), &text).unwrap().remove(0)
    }

    fn desired(spec: &str) -> DesiredApi {
        try_desired(spec).unwrap()
    }

    fn try_desired(spec: &str) -> Result<DesiredApi, ManifestError> {
        desired_api(
            &manifest(spec),
            Path::new("m.yaml"),
            Path::new("pets.openapi.yaml"),
            PETS_DOCUMENT,
        )
    }

    /// The API as the server would return it for `design`, read-only fields included.
    fn server_api(
        design: &DesiredApi,
        state: &str,
        deployments: Vec<CurrentDeployment>,
    ) -> CurrentApi {
        let mut api = design.design_json();
        for resource in api["resources"].as_array_mut().unwrap() {
            resource["effectivePolicy"] = json!({"source": "none"});
        }
        let read_only = json!({
            "id": "api-1", "lifecycleState": state, "createdAt": "2026-01-01T00:00:00Z",
            "createdBy": "ci", "updatedAt": "2026-01-01T00:00:00Z", "updatedBy": "ci",
            "deleting": false, "warnings": [],
        });
        merge_patch::apply(&mut api, &read_only);
        CurrentApi { api, deployments }
    }

    fn deployment(environment: &str, status: DeploymentStatus) -> CurrentDeployment {
        CurrentDeployment {
            id: format!("dep-{environment}"),
            environment: environment.into(),
            status,
            deployed_design: None,
        }
    }

    fn rendered(plan: &Plan) -> Vec<String> {
        plan.to_string().lines().map(str::to_owned).collect()
    }

    #[test]
    fn parsing_refuses_unknown_fields_and_names_the_path() {
        let base = "apiVersion: fedgate/v1\nkind: Api\nmetadata: {name: A, version: '1'}\n";
        let error = parse_error(&format!(
            "{base}spec: {{openapi: a.yaml, enviroments: [x]}}\n"
        ));
        assert!(
            error.starts_with(
                "m.yaml: `spec.enviroments` unknown field `enviroments`, expected one of"
            ),
            "{error}"
        );
        let error = parse_error(&format!(
            "{base}spec: {{openapi: a.yaml, overrides: {{name: B}}}}\n"
        ));
        assert!(
            error.starts_with("m.yaml: `spec.overrides.name` unknown field"),
            "{error}"
        );
        let error = parse_error(&format!(
            "{base}spec: {{openapi: a.yaml, lifecycle: LIVE}}\n"
        ));
        assert!(
            error.starts_with("m.yaml: `spec.lifecycle` unknown variant `LIVE`"),
            "{error}"
        );
        let error = parse_error("apiVersion: fedgate/v1\nkind: Api\nspec: {openapi: a.yaml}\n");
        assert!(error.contains("missing field `metadata`"), "{error}");
    }

    #[test]
    fn parsing_checks_what_serde_cannot() {
        let error = parse_error(
            "apiVersion: fedgate/v2\nkind: API\nmetadata: {name: A, version: '1'}\nspec:\n  \
             openapi: a.yaml\n  policies: [{type: awsOAuth2, parameters: {lambdaARN: x}}]\n  \
             resourcePolicies: {'/pets': [], 'FETCH /pets': []}\n  \
             cors: {enabled: true, origins: ['*']}\n  \
             environments: [dev, dev]\n",
        );
        for expected in [
            "`apiVersion` is `fedgate/v2`; expected `fedgate/v1`",
            "`kind` is `API`; expected `Api`",
            "`spec.policies[0].parameters.lambdaARN` unknown field `lambdaARN`",
            "`spec.resourcePolicies./pets` must be `METHOD /path`",
            "`spec.resourcePolicies.FETCH /pets` `FETCH` is not one of",
            "`spec.cors.origins` unknown field `origins`",
            "`spec.environments[1]` names `dev` twice",
        ] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
        let error = parse_error(
            "apiVersion: fedgate/v1\nkind: Api\nmetadata: {name: A, version: '1'}\n\
             spec: {openapi: a.yaml, lifecycle: RETIRED, environments: [dev]}\n",
        );
        assert!(
            error.contains("`spec.environments` must be empty"),
            "{error}"
        );
    }

    #[test]
    fn the_documents_of_a_file_are_numbered_in_errors() {
        let one = "apiVersion: fedgate/v1\nkind: Api\nmetadata: {name: A, version: '1'}\n\
                   spec: {openapi: a.yaml}\n";
        let error = parse_error(&format!(
            "{one}---\n{}",
            one.replace("kind: Api", "kind: Nope")
        ));
        assert!(
            error.starts_with("m.yaml: `(document 2) kind` is `Nope`"),
            "{error}"
        );
        assert_eq!(parse(Path::new("m.yaml"), one).unwrap().len(), 1);
        assert!(parse_error("").contains("holds no fedgate manifest"));
    }

    #[test]
    fn a_directory_loads_its_manifests_and_skips_documents() {
        let apis = load(&fixtures()).unwrap();
        let keys: Vec<String> = apis.iter().map(|a| a.key().to_string()).collect();
        assert_eq!(keys, ["Pets 1.0.0", "Pets 2.0.0"]);
        let v1 = &apis[0];
        assert_eq!(v1.design.context.as_str(), "/pets");
        assert_eq!(
            v1.design.endpoint_url.as_str(),
            "https://petstore.example.com/v1"
        );
        assert_eq!(v1.environments, ["aws-dev", "aws-prod"]);
        assert_eq!(v1.lifecycle, Some(LifecycleState::Published));
        let design = v1.design_json();
        assert_eq!(design["keyManagers"], json!(["corp-idp"]));
        assert_eq!(
            design["policies"][0]["parameters"]["lambdaArn"],
            "arn:aws:lambda:eu-west-1:123456789012:function:pets-authorizer"
        );
        assert_eq!(
            design["cors"]["allowOrigins"],
            json!(["https://app.example.com"])
        );
        let delete = &design["resources"][2];
        assert_eq!(
            (delete["method"].as_str(), delete["path"].as_str()),
            (Some("DELETE"), Some("/pets/{petId}"))
        );
        assert_eq!(
            delete["policies"][0]["parameters"]["scopes"],
            json!(["pets:admin"])
        );
        assert!(
            design["resources"][0]["policies"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(v1.warnings.is_empty(), "{:?}", v1.warnings);
        let v2 = &apis[1];
        assert_eq!(
            v2.design.endpoint_url.as_str(),
            "https://v2.petstore.example.com"
        );
        assert_eq!(v2.lifecycle, None);
        // A single file loads the same.
        assert_eq!(load(&fixtures().join("pets.yaml")).unwrap(), apis);
    }

    #[test]
    fn loading_refuses_an_api_named_twice_and_a_missing_document() {
        let dir = tempfile::tempdir().unwrap();
        let one = "apiVersion: fedgate/v1\nkind: Api\nmetadata: {name: Pets, version: 1.0.0}\n\
                   spec: {openapi: pets.openapi.yaml}\n";
        std::fs::write(dir.path().join("pets.openapi.yaml"), PETS_DOCUMENT).unwrap();
        std::fs::write(dir.path().join("a.yaml"), one).unwrap();
        std::fs::write(dir.path().join("b.yml"), one).unwrap();
        let error = load(dir.path()).unwrap_err().to_string();
        assert!(error.starts_with("Pets 1.0.0 is named by both "), "{error}");
        assert!(error.ends_with("b.yml"), "{error}");
        std::fs::write(
            dir.path().join("b.yml"),
            one.replace("pets.openapi", "gone"),
        )
        .unwrap();
        let error = load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("gone.yaml: "), "{error}");
    }

    #[test]
    fn design_errors_name_the_manifest_field_or_the_document() {
        let error = |spec: &str| try_desired(spec).unwrap_err().to_string();
        assert_eq!(
            error("overrides: {context: 'no-slash'}")
                .split(" `spec.overrides.context` ")
                .next(),
            Some("m.yaml:")
        );
        let bad_arn = error(
            "policies: [{type: awsOAuth2, parameters: {lambdaArn: nope, invokeRoleArn: nope}}]",
        );
        assert!(
            bad_arn.starts_with("m.yaml: `spec.policies[0].parameters.lambdaArn` "),
            "{bad_arn}"
        );
        let bad_scope = error(
            "resourcePolicies: {'GET /pets': [{type: awsOAuth2, parameters: {keyManager: ''}}]}",
        );
        assert!(
            bad_scope.starts_with("m.yaml: `spec.resourcePolicies.GET /pets[0].parameters"),
            "{bad_scope}"
        );
        let unknown = error("resourcePolicies: {'PUT /pets': []}");
        assert!(
            unknown.contains("`spec.resourcePolicies.PUT /pets` names no operation of pets.openapi.yaml; it has GET /pets, GET /pets/{petId}, DELETE /pets/{petId}"),
            "{unknown}"
        );
        let broken = desired_api(
            &manifest(""),
            Path::new("m.yaml"),
            Path::new("pets.openapi.yaml"),
            "openapi: 3.0.3\ninfo: {title: P, version: '1'}\npaths: {a: {get: {}}}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(broken.starts_with("pets.openapi.yaml: "), "{broken}");
        assert!(
            broken.contains("`document.paths.a` must start with `/`"),
            "{broken}"
        );
    }

    #[test]
    fn a_new_api_is_created_deployed_and_published() {
        let want = desired("environments: [aws-dev], lifecycle: PUBLISHED");
        let plan = plan(std::slice::from_ref(&want), &[]).unwrap();
        assert_eq!(
            plan.actions[0],
            Action::CreateApi {
                api: want.key(),
                design: want.design_json()
            }
        );
        assert_eq!(
            rendered(&plan),
            [
                "+ create API Pets 1.0.0",
                "~ deploy Pets 1.0.0 to aws-dev (not deployed)",
                "~ publish Pets 1.0.0 (CREATED → PUBLISHED)",
                "",
                "Plan: 1 to create, 1 to deploy, 1 lifecycle change.",
            ]
        );
        assert!(plan.actions.iter().all(|action| match action {
            Action::Deploy { id, .. } | Action::ChangeLifecycle { id, .. } => id.is_none(),
            _ => true,
        }));
    }

    #[test]
    fn a_server_that_matches_gets_no_actions() {
        let want = desired("environments: [aws-dev], lifecycle: PUBLISHED");
        let mut deployed = deployment("aws-dev", DeploymentStatus::Deployed);
        deployed.deployed_design = Some(want.design_json());
        let have = server_api(
            &want,
            "PUBLISHED",
            vec![
                deployed,
                // Gone already: nothing to undeploy.
                deployment("aws-old", DeploymentStatus::Undeployed),
            ],
        );
        let plan = plan(&[want], &[have]).unwrap();
        assert!(plan.is_empty(), "{plan}");
        assert_eq!(
            plan.to_string(),
            "No changes. The server matches the manifests.\n"
        );
    }

    #[test]
    fn a_changed_design_is_patched_and_redeployed() {
        let before = desired("environments: [aws-dev, aws-prod]");
        let after = desired(
            "overrides: {endpointUrl: 'https://new.example.com'}, environments: [aws-dev, aws-prod], \
             policies: [{type: awsOAuth2, parameters: {keyManager: corp-idp}}], \
             cors: {enabled: true}",
        );
        let have = server_api(
            &before,
            "CREATED",
            vec![
                deployment("aws-dev", DeploymentStatus::Deployed),
                deployment("aws-prod", DeploymentStatus::Failed),
            ],
        );
        let plan = plan(std::slice::from_ref(&after), std::slice::from_ref(&have)).unwrap();
        let Action::UpdateDesign {
            id, patch, changes, ..
        } = &plan.actions[0]
        else {
            panic!("{plan}");
        };
        assert_eq!(id, "api-1");
        assert_eq!(changes, &["endpointUrl", "cors", "policies"]);
        assert_eq!(patch["cors"], json!({"enabled": true}), "only what differs");
        let mut patched = before.design_json();
        merge_patch::apply(&mut patched, patch);
        assert_eq!(patched, after.design_json());
        assert_eq!(
            rendered(&plan),
            [
                "~ update API Pets 1.0.0: endpointUrl, cors, policies",
                "~ deploy Pets 1.0.0 to aws-dev (design changed)",
                "~ deploy Pets 1.0.0 to aws-prod (the last deploy failed)",
                "",
                "Plan: 1 to update, 2 to deploy.",
            ]
        );
    }

    #[test]
    fn resource_changes_are_told_by_operation() {
        let want = desired(
            "resourcePolicies: {'GET /pets': [{type: awsOAuth2, parameters: {keyManager: corp-idp}}]}",
        );
        let mut have = server_api(&desired(""), "CREATED", vec![]);
        let resources = have.api["resources"].as_array_mut().unwrap();
        resources.remove(2);
        resources
            .push(json!({"method": "POST", "path": "/pets", "description": "", "policies": []}));
        let plan = plan(&[want], &[have]).unwrap();
        assert_eq!(
            rendered(&plan)[0],
            "~ update API Pets 1.0.0: resources (+ DELETE /pets/{petId}, - POST /pets, ~ GET /pets)"
        );
    }

    #[test]
    fn an_environment_no_longer_named_is_undeployed() {
        let want = desired("environments: [aws-dev]");
        let have = server_api(
            &want,
            "CREATED",
            vec![
                deployment("aws-dev", DeploymentStatus::Deployed),
                deployment("aws-prod", DeploymentStatus::Deployed),
                deployment("aws-qa", DeploymentStatus::Failed),
                deployment("aws-old", DeploymentStatus::Undeploying),
            ],
        );
        let plan = plan(&[want], &[have]).unwrap();
        assert_eq!(
            plan.actions[0],
            Action::Undeploy {
                api: ApiKey {
                    name: "Pets".into(),
                    version: "1.0.0".into()
                },
                id: "api-1".into(),
                deployment_id: "dep-aws-prod".into(),
                environment: "aws-prod".into(),
            }
        );
        assert_eq!(
            rendered(&plan),
            [
                "- undeploy Pets 1.0.0 from aws-prod",
                "- undeploy Pets 1.0.0 from aws-qa",
                "",
                "Plan: 2 to undeploy.",
            ]
        );
    }

    #[test]
    fn a_deployed_revision_behind_the_design_is_redeployed() {
        let want = desired("environments: [aws-dev]");
        let mut behind = deployment("aws-dev", DeploymentStatus::Deployed);
        behind.deployed_design = Some(desired("overrides: {context: /old}").design_json());
        let have = server_api(&want, "CREATED", vec![behind]);
        let plan = plan(&[want], &[have]).unwrap();
        assert_eq!(
            rendered(&plan)[0],
            "~ deploy Pets 1.0.0 to aws-dev (the deployed revision differs)"
        );
    }

    #[test]
    fn lifecycle_changes_follow_the_state_machine() {
        let steps = |from: &str, spec: &str| {
            let want = desired(spec);
            let have = server_api(
                &want,
                from,
                vec![deployment("aws-dev", DeploymentStatus::Deployed)],
            );
            plan(&[want], &[have]).map(|plan| rendered(&plan))
        };
        assert_eq!(
            steps("BLOCKED", "lifecycle: CREATED, environments: [aws-dev]").unwrap()[..2],
            [
                "~ unblock Pets 1.0.0 (BLOCKED → PUBLISHED)",
                "~ demote Pets 1.0.0 (PUBLISHED → CREATED)"
            ]
        );
        assert_eq!(
            steps("CREATED", "lifecycle: DEPRECATED, environments: [aws-dev]").unwrap()[..2],
            [
                "~ publish Pets 1.0.0 (CREATED → PUBLISHED)",
                "~ deprecate Pets 1.0.0 (PUBLISHED → DEPRECATED)"
            ]
        );
        // Retiring undeploys by itself: no undeploy of its own.
        assert_eq!(
            steps("PUBLISHED", "lifecycle: RETIRED").unwrap()[..3],
            [
                "~ deprecate Pets 1.0.0 (PUBLISHED → DEPRECATED)",
                "~ retire Pets 1.0.0 (DEPRECATED → RETIRED)",
                ""
            ]
        );
    }

    #[test]
    fn unreachable_states_and_retired_deploys_are_refused() {
        let want = desired("lifecycle: PUBLISHED");
        let have = server_api(&want, "RETIRED", vec![]);
        assert_eq!(
            plan(&[want], &[have]).unwrap_err().to_string(),
            "Pets 1.0.0: no lifecycle actions lead from RETIRED to PUBLISHED"
        );
        let want = desired("environments: [aws-dev]");
        let have = server_api(&want, "RETIRED", vec![]);
        assert_eq!(
            plan(&[want], &[have]).unwrap_err(),
            PlanError::RetiredDeploy {
                api: ApiKey {
                    name: "Pets".into(),
                    version: "1.0.0".into()
                },
                environments: vec!["aws-dev".into()],
            }
        );
        assert_eq!(
            lifecycle_path(LifecycleState::Created, LifecycleState::Published, 0),
            None
        );
    }

    #[test]
    fn merge_diff_removes_what_the_target_lacks() {
        let from = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        let to = json!({"a": 1, "b": {"c": 2}, "e": [1, 2], "f": "new"});
        let patch = merge_diff(&from, &to).unwrap();
        assert_eq!(patch, json!({"b": {"d": null}, "e": [1, 2], "f": "new"}));
        let mut patched = from.clone();
        merge_patch::apply(&mut patched, &patch);
        assert_eq!(patched, to);
        assert_eq!(merge_diff(&to, &to), None);
    }
}
