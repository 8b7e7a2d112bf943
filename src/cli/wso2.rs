//! Reads a WSO2 API Manager `apictl` API project (a directory as `apictl export api` or
//! `apictl init` writes it) into what fedgate can import: the OpenAPI/Swagger document,
//! the overrides of `POST /publisher/v1/apis/import`, fedgate policies, CORS, the
//! environments and lifecycle state named, and a note for everything left behind.
//!
//! Two layouts are read:
//! - 4.x: `api.yaml` (or `api.json`) with `type: api`, the apictl `version` and `data:
//!   {name, version, context, endpointConfig, operations, apiPolicies, …}`; the definition
//!   in `Definitions/swagger.yaml` or `Definitions/openapi.yaml` (or `.json`); the
//!   gateways in `deployment_environments.yaml`.
//! - 3.x: `Meta-information/api.yaml` with `id: {apiName, version, providerName}`,
//!   `context`/`contextTemplate`, `endpointConfig` as a JSON string, `environments`,
//!   `status`; the definition in `Meta-information/swagger.yaml`.
//!
//! WSO2's AWS gateway connector secures an operation (or the whole API) with the
//! `awsOAuth2` operation policy, parameters `lambdaARN` and `invokeRoleArn`: it becomes
//! fedgate's `awsOAuth2` policy with `lambdaArn` and `invokeRoleArn`. Pure apart from
//! reading the project's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::manifest::{API_VERSION, KIND, Manifest, Metadata, Spec, SpecOverrides};
use crate::domain::lifecycle::LifecycleState;

/// WSO2's name of the AWS gateway connector's Lambda-authorizer policy and its
/// parameters (`AWSConstants` of wso2-extensions/apim-gw-connectors).
const AWS_POLICY: &str = "awsOAuth2";
const AWS_LAMBDA_PARAMETER: &str = "lambdaARN";
const AWS_ROLE_PARAMETER: &str = "invokeRoleArn";

/// The flows of WSO2 operation policies; only `request` can carry an authorizer.
const POLICY_FLOWS: [&str; 3] = ["request", "response", "fault"];
/// The tier WSO2 gives everything by default: no limit, nothing to carry over.
const UNLIMITED_TIER: &str = "Unlimited";
/// Security schemes fedgate's authorizers stand in for: OAuth2 tokens, and WSO2's flag
/// for "the schemes listed are all mandatory".
const CARRIED_SCHEMES: [&str; 2] = ["oauth2", "oauth_basic_auth_api_key_mandatory"];
/// The methods fedgate's CORS knows.
const CORS_METHODS: [&str; 7] = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"];

const V4_API_FILES: [&str; 2] = ["api.yaml", "api.json"];
const V3_API_FILES: [&str; 2] = ["Meta-information/api.yaml", "Meta-information/api.json"];
const V4_DEFINITIONS: [&str; 4] = [
    "Definitions/swagger.yaml",
    "Definitions/swagger.json",
    "Definitions/openapi.yaml",
    "Definitions/openapi.json",
];
const V3_DEFINITIONS: [&str; 4] = [
    "Meta-information/swagger.yaml",
    "Meta-information/swagger.json",
    "Meta-information/openapi.yaml",
    "Meta-information/openapi.json",
];
const DEPLOYMENT_ENVIRONMENTS: &str = "deployment_environments.yaml";

/// Parts of a project fedgate has nothing for, by the path they sit at.
const UNMAPPED_PARTS: [(&str, &str); 9] = [
    (
        "api_params.yaml",
        "per-environment parameters (endpoints, certificates, security)",
    ),
    (
        "params.yaml",
        "per-environment parameters (endpoints, certificates, security)",
    ),
    ("Sequences", "mediation sequences"),
    ("Interceptors", "interceptors"),
    ("Docs", "API documents"),
    ("Image", "the API's thumbnail"),
    ("Endpoint-certificates", "backend certificates"),
    ("Client-certificates", "mutual-TLS client certificates"),
    ("WSDL", "a WSDL definition"),
];

#[derive(Debug, thiserror::Error)]
pub enum Wso2Error {
    #[error(
        "{}: not an apictl API project (no api.yaml, api.json or Meta-information/api.yaml)",
        dir.display()
    )]
    NotAProject { dir: PathBuf },
    #[error("{}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid YAML or JSON: {reason}", file.display())]
    Syntax { file: PathBuf, reason: String },
    #[error("{}: `{field}` {problem}", file.display())]
    Field {
        file: PathBuf,
        field: String,
        problem: String,
    },
    #[error("{}: no API definition (looked for {})", dir.display(), looked_for.join(", "))]
    NoDefinition {
        dir: PathBuf,
        looked_for: Vec<String>,
    },
}

/// Which apictl layout the project has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "layout")]
pub enum ProjectFormat {
    /// `api.yaml` with `type: api`; `version` is the apictl project version (`v4.1.0`).
    V4 { version: String },
    /// `Meta-information/api.yaml` of API Manager 3.x.
    V3,
}

/// The overrides of `POST /publisher/v1/apis/import` (query parameters beside a document
/// sent as it is, or members of the JSON wrapper).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOverrides {
    pub name: String,
    pub version: String,
    /// WSO2's context with `{version}` resolved.
    pub context: String,
    /// The first production endpoint, without a trailing `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

/// Something of the project fedgate does not carry over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// Where: a file, and the field in it (`api.yaml: data.operations[0].scopes`).
    pub location: String,
    pub what: String,
}

/// A project read: everything needed to import it, and what was left behind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wso2Import {
    pub format: ProjectFormat,
    /// The definition's path inside the project (`Definitions/swagger.yaml`).
    pub definition_file: PathBuf,
    /// The definition as written: what to send to the import, which reads the scalars
    /// it treats as text (`info.version: 1.10`) as written.
    pub definition_text: String,
    /// The definition, parsed.
    pub document: Value,
    pub overrides: ImportOverrides,
    /// API-level fedgate policies (`{"type": "awsOAuth2", "parameters": {…}}`).
    pub policies: Vec<Value>,
    /// Each operation's own fedgate policies, by `METHOD /path` (the path relative to
    /// the context, as the definition has it).
    pub resource_policies: BTreeMap<String, Vec<Value>>,
    /// fedgate's `cors` object, when WSO2's CORS configuration is enabled.
    pub cors: Option<Value>,
    /// The gateway environments the project deploys to, by WSO2's names.
    pub environments: Vec<String>,
    pub lifecycle: Option<LifecycleState>,
    pub unmapped: Vec<Unmapped>,
}

impl Wso2Import {
    /// The manifest of `fedgate plan`/`apply` for this API, its definition saved at
    /// `openapi` (relative to the manifest). Environments keep WSO2's names: rename them
    /// to fedgate's before applying.
    pub fn manifest(&self, openapi: &str) -> Manifest {
        Manifest {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata: Metadata {
                name: self.overrides.name.clone(),
                version: self.overrides.version.clone(),
            },
            spec: Spec {
                openapi: openapi.to_owned(),
                overrides: SpecOverrides {
                    context: Some(self.overrides.context.clone()),
                    endpoint_url: self.overrides.endpoint_url.clone(),
                },
                policies: (!self.policies.is_empty()).then(|| self.policies.clone()),
                resource_policies: self.resource_policies.clone(),
                cors: self.cors.clone(),
                key_managers: None,
                environments: self.environments.clone(),
                lifecycle: self.lifecycle,
            },
        }
    }
}

/// Reads the project in `dir`.
pub fn read_project(dir: &Path) -> Result<Wso2Import, Wso2Error> {
    let (format, api_file) = locate(dir)?;
    let api_path = dir.join(api_file);
    let api = read_structured(&api_path)?;
    let source = Source {
        file: &api_path,
        name: api_file,
        root: &api,
    };
    let mut notes = Notes::default();
    let read = match format {
        Layout::V4 => read_v4(&source, &mut notes)?,
        Layout::V3 => read_v3(&source, &mut notes)?,
    };
    let environments = match format {
        Layout::V4 => deployment_environments(dir)?,
        Layout::V3 => read.environments,
    };
    let definitions = match format {
        Layout::V4 => V4_DEFINITIONS,
        Layout::V3 => V3_DEFINITIONS,
    };
    let definition_file = definitions
        .iter()
        .find(|file| dir.join(file).is_file())
        .ok_or_else(|| Wso2Error::NoDefinition {
            dir: dir.to_owned(),
            looked_for: definitions.iter().map(|f| (*f).to_owned()).collect(),
        })?;
    let definition_path = dir.join(definition_file);
    let definition_text = read_text(&definition_path)?;
    let document = parse_structured(&definition_path, &definition_text)?;
    for (part, what) in UNMAPPED_PARTS {
        if dir.join(part).exists() {
            notes.add(part, format!("{what} are not carried over"));
        }
    }
    Ok(Wso2Import {
        format: read.format,
        definition_file: PathBuf::from(definition_file),
        definition_text,
        document,
        overrides: read.overrides,
        policies: read.policies,
        resource_policies: read.resource_policies,
        cors: read.cors,
        environments,
        lifecycle: read.lifecycle,
        unmapped: notes.0,
    })
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    V4,
    V3,
}

fn locate(dir: &Path) -> Result<(Layout, &'static str), Wso2Error> {
    let found = |files: [&'static str; 2]| files.into_iter().find(|f| dir.join(f).is_file());
    if let Some(file) = found(V4_API_FILES) {
        return Ok((Layout::V4, file));
    }
    if let Some(file) = found(V3_API_FILES) {
        return Ok((Layout::V3, file));
    }
    Err(Wso2Error::NotAProject {
        dir: dir.to_owned(),
    })
}

/// What the API's own file says, whichever layout.
struct ApiFile {
    format: ProjectFormat,
    overrides: ImportOverrides,
    policies: Vec<Value>,
    resource_policies: BTreeMap<String, Vec<Value>>,
    cors: Option<Value>,
    environments: Vec<String>,
    lifecycle: Option<LifecycleState>,
}

fn read_v4(api: &Source, notes: &mut Notes) -> Result<ApiFile, Wso2Error> {
    match api.text("type")?.as_deref() {
        Some("api") => {}
        Some(other) => return Err(api.error("type", format!("is `{other}`, not `api`"))),
        None => return Err(api.error("type", "is required (`api`)")),
    }
    let project_version = api.text("version")?.unwrap_or_default();
    let version = api.required_text("data.version")?;
    let overrides = ImportOverrides {
        name: api.required_text("data.name")?,
        context: resolve_context(&api.required_text("data.context")?, &version),
        endpoint_url: endpoint(api, "data.endpointConfig", notes)?,
        version,
    };
    let policies = policies_of(api, "data.apiPolicies", notes)?;
    let mut resource_policies = BTreeMap::new();
    let mut unsecured = Vec::new();
    for (i, operation) in api.list("data.operations")?.iter().enumerate() {
        let at = format!("data.operations[{i}]");
        let operation = api.at(operation);
        let key = format!(
            "{} {}",
            operation.required_text_in(&at, "verb")?.to_uppercase(),
            operation.required_text_in(&at, "target")?
        );
        let own = policies_of(api, &format!("{at}.operationPolicies"), notes)?;
        if operation.text_in("authType")?.as_deref() == Some("None")
            && own.is_empty()
            && !policies.is_empty()
        {
            notes.add_in(
                api,
                &format!("{at}.authType"),
                format!("`{key}` is unsecured in WSO2; in fedgate it takes the API-level policies"),
            );
        }
        note_tier(api, &format!("{at}.throttlingPolicy"), notes)?;
        note_scopes(api, &format!("{at}.scopes"), notes)?;
        if own.is_empty() && policies.is_empty() {
            unsecured.push(key);
        } else if !own.is_empty() {
            resource_policies.insert(key, own);
        }
    }
    note_tiers(api, "data.policies", "subscription tiers", notes)?;
    note_tier(api, "data.apiThrottlingPolicy", notes)?;
    note_scopes(api, "data.scopes", notes)?;
    for (i, mediation) in api.list("data.mediationPolicies")?.iter().enumerate() {
        let name = api.at(mediation).text_in("name")?.unwrap_or_default();
        notes.add_in(
            api,
            &format!("data.mediationPolicies[{i}]"),
            format!("mediation policy `{name}`"),
        );
    }
    note_schemes(api, "data.securityScheme", notes)?;
    let schemes = api.list("data.securityScheme")?;
    note_unsecured(api, "data.securityScheme", schemes, &unsecured, notes);
    note_key_managers(api, "data.keyManagers", notes)?;
    if let Some(kind) = api.text("data.type")?.filter(|t| t != "HTTP") {
        notes.add_in(
            api,
            "data.type",
            format!("API type `{kind}`: fedgate imports its definition as a REST API"),
        );
    }
    Ok(ApiFile {
        format: ProjectFormat::V4 {
            version: project_version,
        },
        overrides,
        policies,
        resource_policies,
        cors: cors(api, "data.corsConfiguration", notes)?,
        environments: Vec::new(),
        lifecycle: lifecycle(api, "data.lifeCycleStatus", notes)?,
    })
}

fn read_v3(api: &Source, notes: &mut Notes) -> Result<ApiFile, Wso2Error> {
    let version = api.required_text("id.version")?;
    // The template keeps `{version}` where the context has it resolved; either way the
    // result is the context WSO2 serves the API at.
    let context = match api.text("contextTemplate")? {
        Some(template) => template,
        None => api.required_text("context")?,
    };
    let overrides = ImportOverrides {
        name: api.required_text("id.apiName")?,
        context: resolve_context(&context, &version),
        endpoint_url: endpoint(api, "endpointConfig", notes)?,
        version,
    };
    for sequence in ["inSequence", "outSequence", "faultSequence"] {
        if let Some(name) = api.text(sequence)? {
            notes.add_in(api, sequence, format!("mediation sequence `{name}`"));
        }
    }
    if api.get("endpointSecured") == Some(&Value::Bool(true)) {
        notes.add_in(api, "endpointSecured", "backend endpoint security");
    }
    let tiers: Vec<Value> = api
        .list("availableTiers")?
        .iter()
        .map(|tier| tier.get("name").cloned().unwrap_or(Value::Null))
        .collect();
    note_tier_names(api, "availableTiers", "subscription tiers", &tiers, notes);
    for i in 0..api.list("uriTemplates")?.len() {
        note_tier(api, &format!("uriTemplates[{i}].throttlingTier"), notes)?;
        note_scopes(api, &format!("uriTemplates[{i}].scopes"), notes)?;
    }
    note_scopes(api, "scopes", notes)?;
    if let Some(schemes) = api.text("apiSecurity")? {
        let schemes: Vec<Value> = schemes.split(',').map(|s| json!(s.trim())).collect();
        note_scheme_names(api, "apiSecurity", &schemes, notes);
        // 3.x has no policies: every operation is unsecured in fedgate.
        note_unsecured(
            api,
            "apiSecurity",
            &schemes,
            &["every operation".into()],
            notes,
        );
    }
    note_key_managers(api, "keyManagers", notes)?;
    let environments = api
        .list("environments")?
        .iter()
        .enumerate()
        .map(|(i, env)| {
            api.at(env)
                .required_text_in(&format!("environments[{i}]"), "")
        })
        .collect::<Result<_, _>>()?;
    Ok(ApiFile {
        format: ProjectFormat::V3,
        overrides,
        policies: Vec::new(),
        resource_policies: BTreeMap::new(),
        cors: cors(api, "corsConfiguration", notes)?,
        environments,
        lifecycle: lifecycle(api, "status", notes)?,
    })
}

/// WSO2 contexts may hold `{version}` (`/pizzashack/{version}`); fedgate's may not.
fn resolve_context(context: &str, version: &str) -> String {
    let resolved = context.replace("{version}", version);
    if resolved.starts_with('/') {
        resolved
    } else {
        format!("/{resolved}")
    }
}

/// The first production endpoint of `endpointConfig` (an object, or the JSON text 3.x
/// writes), noting what else it configures.
fn endpoint(api: &Source, field: &str, notes: &mut Notes) -> Result<Option<String>, Wso2Error> {
    let parsed;
    let config = match api.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| api.error(field, format!("is not valid JSON: {e}")))?;
            &parsed
        }
        Some(config) => config,
    };
    let config = api.at(config);
    if let Some(kind) = config
        .text_in("endpoint_type")?
        .filter(|kind| !matches!(kind.as_str(), "http" | "address"))
    {
        notes.add_in(
            api,
            &format!("{field}.endpoint_type"),
            format!("endpoint type `{kind}`: fedgate calls an HTTP backend"),
        );
    }
    for (key, what) in [
        ("sandbox_endpoints", "sandbox endpoints"),
        ("production_failovers", "failover endpoints"),
        ("sandbox_failovers", "sandbox failover endpoints"),
        ("endpoint_security", "backend endpoint security"),
    ] {
        if config.get(key).is_some_and(|v| !is_empty(v)) {
            notes.add_in(api, &format!("{field}.{key}"), what);
        }
    }
    let at = format!("{field}.production_endpoints");
    let url = match config.get("production_endpoints") {
        None | Some(Value::Null) => None,
        Some(Value::Array(endpoints)) => {
            if endpoints.len() > 1 {
                notes.add_in(
                    api,
                    &at,
                    "load-balanced endpoints: only the first is the backend",
                );
            }
            match endpoints.first() {
                Some(first) => api.at(first).text_in("url")?,
                None => None,
            }
        }
        Some(object) => api.at(object).text_in("url")?,
    };
    Ok(url.map(|url| url.trim_end_matches('/').to_owned()))
}

/// The policies of `{request, response, fault}` at `field`: AWS authorizers become
/// fedgate policies, everything else a note.
fn policies_of(api: &Source, field: &str, notes: &mut Notes) -> Result<Vec<Value>, Wso2Error> {
    let mut mapped = Vec::new();
    for flow in POLICY_FLOWS {
        let at = format!("{field}.{flow}");
        for (i, policy) in api.list(&at)?.iter().enumerate() {
            let at = format!("{at}[{i}]");
            let policy = api.at(policy);
            let name = policy.required_text_in(&at, "policyName")?;
            if name == AWS_POLICY && flow == "request" {
                mapped.push(aws_policy(api, &policy, &at)?);
                continue;
            }
            let version = policy
                .text_in("policyVersion")?
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            notes.add_in(
                api,
                &at,
                format!("operation policy `{name}`{version} ({flow} flow)"),
            );
        }
    }
    Ok(mapped)
}

fn aws_policy(api: &Source, policy: &Source, at: &str) -> Result<Value, Wso2Error> {
    // Accept either capitalisation: the connector's constants and its policy
    // specifications have spelled these two differently.
    let parameter = |name: &str| -> Result<String, Wso2Error> {
        let field = format!("{at}.parameters.{name}");
        let parameters = policy.get("parameters").and_then(Value::as_object);
        let value = parameters.and_then(|p| {
            p.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        });
        match value {
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
            Some(_) => Err(api.error(&field, "must be a non-empty string")),
            None => Err(api.error(&field, "is required by the awsOAuth2 policy")),
        }
    };
    Ok(json!({
        "type": "awsOAuth2",
        "parameters": {
            "lambdaArn": parameter(AWS_LAMBDA_PARAMETER)?,
            "invokeRoleArn": parameter(AWS_ROLE_PARAMETER)?,
        }
    }))
}

/// fedgate's `cors` for WSO2's `corsConfiguration`, when enabled.
fn cors(api: &Source, field: &str, notes: &mut Notes) -> Result<Option<Value>, Wso2Error> {
    let Some(config) = api.get(field) else {
        return Ok(None);
    };
    let config = api.at(config);
    if config.get("corsConfigurationEnabled") != Some(&Value::Bool(true)) {
        return Ok(None);
    }
    let texts = |key: &str| -> Result<Vec<String>, Wso2Error> {
        config
            .list(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                api.at(v)
                    .required_text_in(&format!("{field}.{key}[{i}]"), "")
            })
            .collect()
    };
    let (methods, dropped): (Vec<String>, Vec<String>) = texts("accessControlAllowMethods")?
        .into_iter()
        .map(|m| m.to_uppercase())
        .partition(|m| CORS_METHODS.contains(&m.as_str()));
    if !dropped.is_empty() {
        notes.add_in(
            api,
            &format!("{field}.accessControlAllowMethods"),
            format!("CORS methods fedgate does not know: {}", dropped.join(", ")),
        );
    }
    let mut cors = Map::new();
    cors.insert("enabled".into(), Value::Bool(true));
    cors.insert(
        "allowOrigins".into(),
        json!(texts("accessControlAllowOrigins")?),
    );
    cors.insert(
        "allowHeaders".into(),
        json!(texts("accessControlAllowHeaders")?),
    );
    if !methods.is_empty() {
        cors.insert("allowMethods".into(), json!(methods));
    }
    let credentials = config.get("accessControlAllowCredentials") == Some(&Value::Bool(true));
    cors.insert("allowCredentials".into(), Value::Bool(credentials));
    Ok(Some(Value::Object(cors)))
}

fn lifecycle(
    api: &Source,
    field: &str,
    notes: &mut Notes,
) -> Result<Option<LifecycleState>, Wso2Error> {
    let Some(state) = api.text(field)? else {
        return Ok(None);
    };
    let parsed = LifecycleState::parse(&state.to_uppercase());
    if parsed.is_none() {
        notes.add_in(
            api,
            field,
            format!("lifecycle state `{state}` has no fedgate equivalent"),
        );
    }
    Ok(parsed)
}

/// The gateways of a 4.x project (`data: [{deploymentEnvironment, …}]`); none when the
/// file is absent.
fn deployment_environments(dir: &Path) -> Result<Vec<String>, Wso2Error> {
    let path = dir.join(DEPLOYMENT_ENVIRONMENTS);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let root = read_structured(&path)?;
    let file = Source {
        file: &path,
        name: DEPLOYMENT_ENVIRONMENTS,
        root: &root,
    };
    file.list("data")?
        .iter()
        .enumerate()
        .map(|(i, env)| {
            file.at(env)
                .required_text_in(&format!("data[{i}]"), "deploymentEnvironment")
        })
        .collect()
}

fn note_tier(api: &Source, field: &str, notes: &mut Notes) -> Result<(), Wso2Error> {
    if let Some(tier) = api.text(field)?.filter(|t| t != UNLIMITED_TIER) {
        notes.add_in(api, field, format!("throttling tier `{tier}`"));
    }
    Ok(())
}

fn note_tiers(api: &Source, field: &str, what: &str, notes: &mut Notes) -> Result<(), Wso2Error> {
    let tiers = api.list(field)?;
    note_tier_names(api, field, what, tiers, notes);
    Ok(())
}

fn note_tier_names(api: &Source, field: &str, what: &str, tiers: &[Value], notes: &mut Notes) {
    let limited = names_except(tiers, &[UNLIMITED_TIER]);
    if !limited.is_empty() {
        notes.add_in(api, field, format!("{what}: {}", limited.join(", ")));
    }
}

fn note_scopes(api: &Source, field: &str, notes: &mut Notes) -> Result<(), Wso2Error> {
    let scopes: Vec<String> = api
        .list(field)?
        .iter()
        .map(|scope| match scope {
            // 4.x: {scope: {name, …}, shared}; 3.x: {key, name, …}
            Value::Object(_) => ["scope.name", "name", "key"]
                .iter()
                .find_map(|path| api.at(scope).get(path).and_then(scalar_text))
                .unwrap_or_else(|| "?".to_owned()),
            other => scalar_text(other).unwrap_or_else(|| "?".to_owned()),
        })
        .collect();
    if !scopes.is_empty() {
        notes.add_in(
            api,
            field,
            format!(
                "WSO2 scopes {} (a managed awsOAuth2 policy with `keyManager` and \
                 `scopes` can require a key manager's)",
                scopes.join(", ")
            ),
        );
    }
    Ok(())
}

fn note_schemes(api: &Source, field: &str, notes: &mut Notes) -> Result<(), Wso2Error> {
    let schemes = api.list(field)?;
    note_scheme_names(api, field, schemes, notes);
    Ok(())
}

fn note_scheme_names(api: &Source, field: &str, schemes: &[Value], notes: &mut Notes) {
    let others = names_except(schemes, &CARRIED_SCHEMES);
    if !others.is_empty() {
        notes.add_in(
            api,
            field,
            format!("security schemes {}", others.join(", ")),
        );
    }
}

/// WSO2 checks OAuth2 tokens of its own key managers; fedgate leaves an operation
/// without a policy open, which deserves a word.
fn note_unsecured(
    api: &Source,
    field: &str,
    schemes: &[Value],
    unsecured: &[String],
    notes: &mut Notes,
) {
    let oauth2 = schemes.iter().any(|s| s.as_str() == Some("oauth2"));
    if oauth2 && !unsecured.is_empty() {
        notes.add_in(
            api,
            field,
            format!(
                "OAuth2 security by WSO2's key managers: without an awsOAuth2 policy, {} \
                 will be unsecured in fedgate",
                unsecured.join(", ")
            ),
        );
    }
}

fn note_key_managers(api: &Source, field: &str, notes: &mut Notes) -> Result<(), Wso2Error> {
    // `all` is WSO2's "any key manager", which is fedgate's empty list.
    let named = names_except(api.list(field)?, &["all"]);
    if !named.is_empty() {
        notes.add_in(
            api,
            field,
            format!(
                "key managers {} (register them in fedgate and name them in `keyManagers`)",
                named.join(", ")
            ),
        );
    }
    Ok(())
}

fn names_except(values: &[Value], except: &[&str]) -> Vec<String> {
    values
        .iter()
        .filter_map(scalar_text)
        .filter(|name| !name.is_empty() && !except.contains(&name.as_str()))
        .collect()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
        Value::String(text) => text.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A scalar as text: YAML writes `version: 1.0` as a number.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The notes gathered, in the order found.
#[derive(Default)]
struct Notes(Vec<Unmapped>);

impl Notes {
    fn add(&mut self, location: &str, what: impl Into<String>) {
        self.0.push(Unmapped {
            location: location.to_owned(),
            what: what.into(),
        });
    }

    fn add_in(&mut self, source: &Source, field: &str, what: impl Into<String>) {
        self.add(&format!("{}: {field}", source.name), what);
    }
}

/// A parsed file (or a value inside it) and the file's name, for errors naming both.
struct Source<'a> {
    file: &'a Path,
    name: &'a str,
    root: &'a Value,
}

impl<'a> Source<'a> {
    /// The same file, at another value.
    fn at(&self, root: &'a Value) -> Source<'a> {
        Source {
            file: self.file,
            name: self.name,
            root,
        }
    }

    /// The value at a dotted `path` (`data.operations[1].target`); `""` is the value
    /// itself.
    fn get(&self, path: &str) -> Option<&'a Value> {
        path.split('.')
            .filter(|step| !step.is_empty())
            .try_fold(self.root, |value, step| {
                let (key, index) = match step.strip_suffix(']').and_then(|s| s.split_once('[')) {
                    Some((key, index)) => (key, Some(index.parse::<usize>().ok()?)),
                    None => (step, None),
                };
                let value = value.as_object()?.get(key)?;
                match index {
                    Some(i) => value.as_array()?.get(i),
                    None => Some(value),
                }
            })
    }

    fn error(&self, field: &str, problem: impl Into<String>) -> Wso2Error {
        Wso2Error::Field {
            file: self.file.to_owned(),
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// The text at `path` (absent or null: none); for errors, `path` is the field.
    fn text(&self, path: &str) -> Result<Option<String>, Wso2Error> {
        self.text_at(path, path)
    }

    fn required_text(&self, path: &str) -> Result<String, Wso2Error> {
        self.required_text_in("", path)
    }

    /// The text at `key` of a value found at `at` of the file.
    fn text_in(&self, key: &str) -> Result<Option<String>, Wso2Error> {
        self.text_at(key, key)
    }

    fn required_text_in(&self, at: &str, key: &str) -> Result<String, Wso2Error> {
        let field = join(at, key);
        match self.text_at(key, &field)? {
            Some(text) if !text.trim().is_empty() => Ok(text),
            _ => Err(self.error(&field, "is required")),
        }
    }

    fn text_at(&self, path: &str, field: &str) -> Result<Option<String>, Wso2Error> {
        match self.get(path) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => scalar_text(value)
                .map(Some)
                .ok_or_else(|| self.error(field, "must be text")),
        }
    }

    /// The list at `path` (absent or null: empty).
    fn list(&self, path: &str) -> Result<&'a [Value], Wso2Error> {
        match self.get(path) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.error(path, "must be a list")),
        }
    }
}

fn join(at: &str, key: &str) -> String {
    match (at.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (_, true) => at.to_owned(),
        _ => format!("{at}.{key}"),
    }
}

fn read_text(file: &Path) -> Result<String, Wso2Error> {
    std::fs::read_to_string(file).map_err(|source| Wso2Error::Read {
        file: file.to_owned(),
        source,
    })
}

fn read_structured(file: &Path) -> Result<Value, Wso2Error> {
    parse_structured(file, &read_text(file)?)
}

/// JSON or YAML text as JSON, whichever the file holds.
fn parse_structured(file: &Path, text: &str) -> Result<Value, Wso2Error> {
    let syntax = |reason: String| Wso2Error::Syntax {
        file: file.to_owned(),
        reason,
    };
    if file.extension().is_some_and(|ext| ext == "json") {
        return serde_json::from_str(text).map_err(|e| syntax(e.to_string()));
    }
    let yaml: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| syntax(e.to_string()))?;
    Ok(yaml_to_json(yaml))
}

/// YAML values as JSON: mapping keys that are not text (`200:` in `responses`) become
/// their text, tags are dropped.
pub(crate) fn yaml_to_json(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Mapping(members) => Value::Object(
            members
                .into_iter()
                .map(|(key, value)| {
                    let key = match yaml_to_json(key) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(value))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/wso2")
            .join(name)
    }

    fn lambda_policy(function: &str) -> Value {
        json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": format!("arn:aws:lambda:eu-west-1:123456789012:function:{function}"),
            "invokeRoleArn": "arn:aws:iam::123456789012:role/orders-authorizer-invoke",
        }})
    }

    fn notes_at<'a>(import: &'a Wso2Import, location: &str) -> Vec<&'a str> {
        import
            .unmapped
            .iter()
            .filter(|note| note.location == location)
            .map(|note| note.what.as_str())
            .collect()
    }

    /// A project in a temporary directory: `files` are (path, content).
    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    const MINIMAL_DEFINITION: (&str, &str) = (
        "Definitions/openapi.yaml",
        "openapi: 3.0.1\ninfo: {title: T, version: '1'}\npaths: {}\n",
    );

    #[test]
    fn a_4x_project_with_aws_authorizers() {
        let import = read_project(&fixture("orders-v45-oas3-aws")).unwrap();
        assert_eq!(
            import.format,
            ProjectFormat::V4 {
                version: "v4.5.0".into()
            }
        );
        assert_eq!(
            import.definition_file,
            PathBuf::from("Definitions/openapi.yaml")
        );
        assert_eq!(import.document["openapi"], "3.0.1");
        assert!(import.definition_text.starts_with("openapi: 3.0.1"));
        assert_eq!(
            import.overrides,
            ImportOverrides {
                name: "OrdersAPI".into(),
                version: "2.1.0".into(),
                context: "/orders/2.1.0".into(),
                endpoint_url: Some("https://orders.example.com/api".into()),
            }
        );
        assert_eq!(import.policies, [lambda_policy("orders-authorizer")]);
        assert_eq!(
            import.resource_policies,
            BTreeMap::from([(
                "POST /orders".to_owned(),
                vec![lambda_policy("orders-writer-authorizer")]
            )])
        );
        assert_eq!(
            import.cors,
            Some(json!({
                "enabled": true,
                "allowOrigins": ["https://shop.example.com"],
                "allowHeaders": ["authorization", "Content-Type"],
                "allowMethods": ["GET", "POST", "OPTIONS"],
                "allowCredentials": true,
            }))
        );
        assert_eq!(import.environments, ["aws-dev", "aws-prod"]);
        assert_eq!(import.lifecycle, Some(LifecycleState::Published));
        let op = "api.yaml: data.operations[1]";
        assert_eq!(
            notes_at(&import, &format!("{op}.operationPolicies.request[1]")),
            ["operation policy `addHeader` v1 (request flow)"]
        );
        assert_eq!(
            notes_at(&import, &format!("{op}.throttlingPolicy")),
            ["throttling tier `10KPerMin`"]
        );
        assert!(notes_at(&import, &format!("{op}.scopes"))[0].contains("orders:write"));
        assert_eq!(
            notes_at(
                &import,
                "api.yaml: data.operations[2].operationPolicies.response[0]"
            ),
            ["operation policy `removeHeader` v1 (response flow)"]
        );
        assert_eq!(
            notes_at(&import, "api.yaml: data.policies"),
            ["subscription tiers: Gold"]
        );
        assert_eq!(
            notes_at(&import, "api.yaml: data.endpointConfig.sandbox_endpoints"),
            ["sandbox endpoints"]
        );
        // Carried over, or WSO2's defaults: nothing to say about them.
        for quiet in [
            "data.securityScheme",
            "data.keyManagers",
            "data.operations[0]",
        ] {
            assert!(
                !import
                    .unmapped
                    .iter()
                    .any(|n| n.location.starts_with(&format!("api.yaml: {quiet}"))),
                "{quiet}: {:?}",
                import.unmapped
            );
        }
        assert_eq!(import.unmapped.len(), 7, "{:#?}", import.unmapped);
    }

    #[test]
    fn a_4x_project_with_swagger_2_and_no_policies() {
        let import = read_project(&fixture("inventory-v42-swagger2")).unwrap();
        assert_eq!(
            import.definition_file,
            PathBuf::from("Definitions/swagger.yaml")
        );
        // Integer keys of YAML become text, as in JSON.
        assert_eq!(
            import.document["paths"]["/items"]["get"]["responses"]["200"]["description"],
            "The items."
        );
        assert_eq!(import.overrides.version, "1.0", "written as a YAML number");
        assert_eq!(import.overrides.context, "/inventory");
        assert_eq!(
            import.overrides.endpoint_url.as_deref(),
            Some("http://inventory.internal:8080")
        );
        assert!(import.policies.is_empty());
        assert!(import.resource_policies.is_empty());
        assert_eq!(import.cors, None, "disabled in WSO2");
        assert!(
            import.environments.is_empty(),
            "no deployment_environments.yaml"
        );
        assert_eq!(import.lifecycle, Some(LifecycleState::Created));
        let security = notes_at(&import, "api.yaml: data.securityScheme");
        assert_eq!(security[0], "security schemes api_key");
        assert!(
            security[1].contains("GET /items, DELETE /items/{sku} will be unsecured"),
            "{security:?}"
        );
        assert!(
            notes_at(&import, "api.yaml: data.keyManagers")[0].contains("Resident Key Manager")
        );
        assert_eq!(import.unmapped.len(), 3, "{:#?}", import.unmapped);
    }

    #[test]
    fn a_3x_project() {
        let import = read_project(&fixture("legacy-v3")).unwrap();
        assert_eq!(import.format, ProjectFormat::V3);
        assert_eq!(
            import.definition_file,
            PathBuf::from("Meta-information/swagger.yaml")
        );
        assert_eq!(import.document["swagger"], "2.0");
        assert_eq!(
            import.overrides,
            ImportOverrides {
                name: "WeatherAPI".into(),
                version: "3.0.0".into(),
                context: "/weather/3.0.0".into(),
                endpoint_url: Some("https://weather.example.com/v3".into()),
            }
        );
        assert!(import.policies.is_empty());
        assert_eq!(import.environments, ["Production and Sandbox"]);
        assert_eq!(import.lifecycle, Some(LifecycleState::Deprecated));
        let file = "Meta-information/api.yaml";
        for (field, what) in [
            ("inSequence", "mediation sequence `json_to_xml_in_message`"),
            ("endpointSecured", "backend endpoint security"),
            ("availableTiers", "subscription tiers: Bronze"),
            ("endpointConfig.sandbox_endpoints", "sandbox endpoints"),
        ] {
            assert_eq!(notes_at(&import, &format!("{file}: {field}")), [what]);
        }
        assert_eq!(notes_at(&import, "Sequences").len(), 1);
        assert_eq!(notes_at(&import, "api_params.yaml").len(), 1);
        assert!(
            notes_at(&import, &format!("{file}: apiSecurity"))[0]
                .contains("every operation will be unsecured")
        );
        assert_eq!(import.unmapped.len(), 7, "{:#?}", import.unmapped);
    }

    #[test]
    fn each_fixture_makes_a_manifest_the_planner_accepts() {
        use crate::cli::manifest;
        for name in ["orders-v45-oas3-aws", "inventory-v42-swagger2", "legacy-v3"] {
            let import = read_project(&fixture(name)).unwrap();
            let manifest = import.manifest("openapi.yaml");
            // What `import-wso2` would write, read back.
            let text = serde_norway::to_string(&manifest).unwrap();
            let parsed = manifest::parse(Path::new("m.yaml"), &text).unwrap();
            assert_eq!(parsed, std::slice::from_ref(&manifest), "{name}");
            let desired = manifest::desired_api(
                &manifest,
                Path::new("m.yaml"),
                &import.definition_file,
                &import.definition_text,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(desired.design.name.as_str(), import.overrides.name);
            assert_eq!(desired.design.context.as_str(), import.overrides.context);
            let design = desired.design_json();
            for (operation, policies) in &import.resource_policies {
                let (method, path) = operation.split_once(' ').unwrap();
                let resource = design["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["method"] == method && r["path"] == path)
                    .unwrap();
                assert_eq!(&resource["policies"], &json!(policies), "{name}");
            }
            assert_eq!(design["policies"], json!(import.policies), "{name}");
            let private_host = name == "inventory-v42-swagger2";
            assert_eq!(
                desired
                    .warnings
                    .iter()
                    .any(|w| w.starts_with("endpointUrl: ")),
                private_host,
                "{name}: {:?}",
                desired.warnings
            );
        }
    }

    #[test]
    fn contexts_resolve_their_version() {
        assert_eq!(resolve_context("/a/{version}", "1.0"), "/a/1.0");
        assert_eq!(resolve_context("/{version}/a", "v2"), "/v2/a");
        assert_eq!(resolve_context("a", "1"), "/a");
        assert_eq!(resolve_context("/a", "1"), "/a");
    }

    #[test]
    fn json_projects_and_endpoint_lists_are_read() {
        let dir = project(&[
            (
                "api.json",
                r#"{"type": "api", "version": "v4.3.0", "data": {"name": "J", "version": "1",
                    "context": "/j", "endpointConfig": {"endpoint_type": "http",
                    "production_endpoints": [{"url": "https://a.example.com/"},
                                             {"url": "https://b.example.com/"}]}}}"#,
            ),
            (
                "Definitions/swagger.json",
                r#"{"swagger": "2.0", "info": {"title": "J", "version": "1"}, "paths": {}}"#,
            ),
        ]);
        let import = read_project(dir.path()).unwrap();
        assert_eq!(
            import.overrides.endpoint_url.as_deref(),
            Some("https://a.example.com")
        );
        assert_eq!(
            notes_at(
                &import,
                "api.json: data.endpointConfig.production_endpoints"
            ),
            ["load-balanced endpoints: only the first is the backend"]
        );
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let error = |files: &[(&str, &str)]| {
            let dir = project(files);
            let error = read_project(dir.path()).unwrap_err().to_string();
            let root = dir.path().display().to_string();
            error.replace(&root, "<dir>")
        };
        assert_eq!(
            error(&[MINIMAL_DEFINITION]),
            "<dir>: not an apictl API project (no api.yaml, api.json or \
             Meta-information/api.yaml)"
        );
        assert_eq!(
            error(&[("api.yaml", "type: api\ndata: {version: '1', context: /x}\n")]),
            "<dir>/api.yaml: `data.name` is required"
        );
        assert_eq!(
            error(&[("api.yaml", "type: api_product\ndata: {}\n")]),
            "<dir>/api.yaml: `type` is `api_product`, not `api`"
        );
        assert_eq!(
            error(&[("api.yaml", "type: api\ndata: [\n")])
                .split(':')
                .take(2)
                .collect::<Vec<_>>(),
            ["<dir>/api.yaml", " not valid YAML or JSON"]
        );
        let aws_without_role = "type: api\ndata:\n  name: A\n  version: '1'\n  context: /a\n  \
            operations:\n    - target: /x\n      verb: GET\n      operationPolicies:\n        \
            request:\n          - policyName: awsOAuth2\n            parameters:\n              \
            lambdaARN: arn:aws:lambda:eu-west-1:123456789012:function:f\n";
        assert_eq!(
            error(&[("api.yaml", aws_without_role), MINIMAL_DEFINITION]),
            "<dir>/api.yaml: `data.operations[0].operationPolicies.request[0].parameters.\
             invokeRoleArn` is required by the awsOAuth2 policy"
        );
        let minimal = "type: api\ndata: {name: A, version: '1', context: /a}\n";
        assert!(
            error(&[("api.yaml", minimal)])
                .starts_with("<dir>: no API definition (looked for Definitions/swagger.yaml, ")
        );
        assert_eq!(
            error(&[
                ("api.yaml", minimal),
                MINIMAL_DEFINITION,
                (
                    DEPLOYMENT_ENVIRONMENTS,
                    "data:\n  - displayOnDevportal: true\n"
                ),
            ]),
            "<dir>/deployment_environments.yaml: `data[0].deploymentEnvironment` is required"
        );
        assert_eq!(
            error(&[
                (
                    "api.yaml",
                    "type: api\ndata: {name: A, version: '1', context: /a, operations: {}}\n"
                ),
                MINIMAL_DEFINITION,
            ]),
            "<dir>/api.yaml: `data.operations` must be a list"
        );
    }
}
