//! The commands that read and change APIs, environments, deployments and the audit log:
//! one REST call (or one list, page by page) each, printed as a table or as is.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::client::{Call, Client};
use super::error::CliError;
use super::output::{self, Column, Format};

const APIS: &str = "/publisher/v1/apis";

const API_COLUMNS: &[Column] = &[
    ("ID", "/id"),
    ("NAME", "/name"),
    ("VERSION", "/version"),
    ("CONTEXT", "/context"),
    ("STATE", "/lifecycleState"),
];

const API_FIELDS: &[Column] = &[
    ("ID", "/id"),
    ("Name", "/name"),
    ("Version", "/version"),
    ("Context", "/context"),
    ("Endpoint", "/endpointUrl"),
    ("State", "/lifecycleState"),
    ("Description", "/description"),
    ("Updated", "/updatedAt"),
];

pub const DEPLOYMENT_COLUMNS: &[Column] = &[
    ("API", "/apiName"),
    ("ENVIRONMENT", "/environment"),
    ("STATUS", "/status"),
    ("REVISION", "/revisionNumber"),
    ("UPDATED", "/updatedAt"),
    ("INVOCATION URL", "/invocationUrl"),
    ("ERROR", "/error"),
];

#[derive(clap::Subcommand, Debug)]
pub enum ApisCommand {
    /// Every API (optionally those whose name contains NAME).
    #[command(after_help = "Example:\n  fedgate apis list --name pet -o json")]
    List {
        /// Part of the name, any case.
        #[arg(long)]
        name: Option<String>,
        /// Only APIs in this lifecycle state (CREATED, PUBLISHED, …).
        #[arg(long)]
        state: Option<String>,
    },
    /// One API with its resources.
    #[command(
        after_help = "Example:\n  fedgate apis get Pets\n  fedgate apis get Pets:2.0.0 -o json"
    )]
    Get {
        /// The API: its id, its name, or name:version.
        api: String,
    },
    /// Make an API from an OpenAPI 3.x or Swagger 2.0 document (YAML or JSON).
    #[command(after_help = "Example:\n  \
        fedgate apis import petstore.yaml --context /pets --endpoint-url https://pets.example.com/v1")]
    Import {
        /// The document; `.json` files are sent as JSON, others as YAML.
        file: PathBuf,
        /// Instead of `info.title`.
        #[arg(long)]
        name: Option<String>,
        /// Instead of `info.version`.
        #[arg(long)]
        version: Option<String>,
        /// Instead of `x-fedgate.context` or a slug of the title.
        #[arg(long)]
        context: Option<String>,
        /// Instead of the document's server URL.
        #[arg(long)]
        endpoint_url: Option<String>,
    },
    /// Print an API as an OpenAPI 3.0 document (JSON, or YAML with -o yaml); it imports
    /// back to the same API.
    #[command(
        after_help = "Example:\n  fedgate apis export Pets > pets.json\n  fedgate apis export Pets -o yaml"
    )]
    Export {
        /// The API: its id, its name, or name:version.
        api: String,
        #[arg(short, long, value_enum, default_value_t = ExportFormat::Openapi)]
        format: ExportFormat,
    },
    /// Delete an API; a deployed one needs --force (undeployed everywhere first).
    #[command(after_help = "Example:\n  fedgate apis delete Pets:1.0.0 --force")]
    Delete {
        /// The API: its id, its name, or name:version.
        api: String,
        /// Undeploy it from every environment first; it is deleted after the last undeploy.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    Openapi,
}

#[derive(clap::Subcommand, Debug)]
pub enum EnvironmentsCommand {
    /// Every environment.
    #[command(after_help = "Example:\n  fedgate environments list")]
    List,
    /// Check an environment's credentials and permissions against AWS (exit 1 if a check fails).
    #[command(after_help = "Example:\n  fedgate environments check aws-dev")]
    Check {
        /// The environment's name or id.
        environment: String,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum DeploymentsCommand {
    /// Deployments, of one API and/or in one environment. Without --api this lists across
    /// APIs, which needs the admin scope.
    #[command(after_help = "Example:\n  fedgate deployments list --api Pets --env aws-dev")]
    List {
        /// The API: its id, its name, or name:version.
        #[arg(long)]
        api: Option<String>,
        /// The environment's name or id.
        #[arg(long)]
        env: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// The client id that acted.
    #[arg(long)]
    actor: Option<String>,
    /// What was acted on: api, environment, client, deployment, …
    #[arg(long)]
    target_type: Option<String>,
    #[arg(long)]
    target_id: Option<String>,
    /// success, failure, denied, …
    #[arg(long)]
    outcome: Option<String>,
    /// RFC 3339 time, e.g. 2026-01-01T00:00:00Z.
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    /// At most this many entries (all of them when absent).
    #[arg(long)]
    limit: Option<usize>,
}

/// An API named by its id, its name, or `name:version`. A name several APIs share is
/// ambiguous: the error lists them (exit 2).
pub async fn resolve_api(client: &Client, reference: &str) -> Result<Value, CliError> {
    if uuid::Uuid::parse_str(reference).is_ok() {
        return client.get(&format!("{APIS}/{reference}")).await;
    }
    let (name, version) = match reference.rsplit_once(':') {
        Some((name, version)) if !name.is_empty() => (name, Some(version)),
        _ => (reference, None),
    };
    // The list's filter matches any part of the name, in any case; keep the exact ones.
    let mut candidates: Vec<Value> = client
        .list(APIS, &[("name", name.to_owned())])
        .await?
        .into_iter()
        .filter(|api| api["name"] == name)
        .collect();
    if candidates.is_empty() && version.is_some() {
        // A name with a colon in it, and no version.
        return Box::pin(resolve_api_by_whole_name(client, reference)).await;
    }
    if let Some(version) = version {
        candidates.retain(|api| api["version"] == version);
    }
    one_of(reference, candidates)
}

async fn resolve_api_by_whole_name(client: &Client, name: &str) -> Result<Value, CliError> {
    let candidates = client
        .list(APIS, &[("name", name.to_owned())])
        .await?
        .into_iter()
        .filter(|api| api["name"] == name)
        .collect();
    one_of(name, candidates)
}

fn one_of(reference: &str, mut candidates: Vec<Value>) -> Result<Value, CliError> {
    match candidates.len() {
        0 => Err(CliError::Invalid(format!("no API `{reference}`"))),
        1 => Ok(candidates.remove(0)),
        _ => {
            let names: Vec<String> = candidates
                .iter()
                .map(|api| {
                    format!(
                        "  {}:{}  {}",
                        output::cell(api.get("name")),
                        output::cell(api.get("version")),
                        output::cell(api.get("id"))
                    )
                })
                .collect();
            Err(CliError::Invalid(format!(
                "`{reference}` names {} APIs; say which with name:version or the id:\n{}",
                candidates.len(),
                names.join("\n")
            )))
        }
    }
}

/// The path of a resolved API.
pub fn api_path(api: &Value) -> String {
    format!("{APIS}/{}", output::cell(api.get("id")))
}

/// `Pets 1.0.0`, for messages.
pub fn api_label(api: &Value) -> String {
    format!(
        "{} {}",
        output::cell(api.get("name")),
        output::cell(api.get("version"))
    )
}

/// The query of the filters that were given.
fn filters(pairs: &[(&'static str, &Option<String>)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| (*name, value.clone())))
        .collect()
}

pub async fn apis(client: &Client, command: ApisCommand, format: Format) -> Result<(), CliError> {
    match command {
        ApisCommand::List { name, state } => {
            let query = filters(&[("name", &name), ("state", &state)]);
            output::print_list(format, client.list(APIS, &query).await?, API_COLUMNS)
        }
        ApisCommand::Get { api } => {
            let api = resolve_api(client, &api).await?;
            output::print(format, &api, |api| {
                let resources: Vec<String> = api["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|resource| {
                        format!(
                            "  {} {}",
                            output::cell(resource.get("method")),
                            output::cell(resource.get("path"))
                        )
                    })
                    .collect();
                format!(
                    "{}Resources:\n{}",
                    output::details(api, API_FIELDS),
                    resources.join("\n")
                )
            })
        }
        ApisCommand::Import {
            file,
            name,
            version,
            context,
            endpoint_url,
        } => {
            let document = std::fs::read(&file)
                .map_err(|e| CliError::local(&format!("cannot read {}", file.display()), e))?;
            let content_type = match file.extension().and_then(|e| e.to_str()) {
                Some("json") => "application/openapi+json",
                _ => "application/yaml",
            };
            let query = filters(&[
                ("name", &name),
                ("version", &version),
                ("context", &context),
                ("endpointUrl", &endpoint_url),
            ]);
            let imported = client
                .call(
                    Call::post(&format!("{APIS}/import"))
                        .queries(&query)
                        .raw(content_type, document),
                )
                .await?
                .body;
            warn_each(&imported["warnings"]);
            output::print_details(format, &imported, API_FIELDS)
        }
        ApisCommand::Export { api, format: _ } => {
            let api = resolve_api(client, &api).await?;
            let document = client.get(&format!("{}/openapi", api_path(&api))).await?;
            // A document is printed as a document: JSON unless YAML was asked for.
            let format = if format == Format::Yaml {
                Format::Yaml
            } else {
                Format::Json
            };
            output::print(format, &document, |_| unreachable!("never a table"))
        }
        ApisCommand::Delete { api, force } => {
            let api = resolve_api(client, &api).await?;
            let mut call = Call::delete(&api_path(&api));
            if force {
                call = call.query("force", true);
            }
            let answer = client.call(call).await?;
            if answer.status == 202 {
                eprintln!(
                    "undeploying {} everywhere; it is deleted after the last undeploy",
                    api_label(&api)
                );
                output::print_details(format, &answer.body, API_FIELDS)
            } else {
                eprintln!("deleted {}", api_label(&api));
                Ok(())
            }
        }
    }
}

pub async fn revisions(client: &Client, api: &str, format: Format) -> Result<(), CliError> {
    let api = resolve_api(client, api).await?;
    let revisions = client
        .list(&format!("{}/revisions", api_path(&api)), &[])
        .await?;
    output::print_list(
        format,
        revisions,
        &[
            ("NUMBER", "/number"),
            ("ID", "/id"),
            ("CREATED", "/createdAt"),
            ("BY", "/createdBy"),
            ("DESCRIPTION", "/description"),
        ],
    )
}

pub async fn lifecycle(
    client: &Client,
    api: &str,
    action: Option<&str>,
    format: Format,
) -> Result<(), CliError> {
    let api = resolve_api(client, api).await?;
    let path = format!("{}/lifecycle", api_path(&api));
    let lifecycle = match action {
        Some(action) => {
            client
                .post(&path, &json!({"action": action.to_lowercase()}))
                .await?
        }
        None => client.get(&path).await?,
    };
    for warning in lifecycle["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", output::cell(Some(warning)));
    }
    output::print_details(
        format,
        &lifecycle,
        &[("State", "/state"), ("Allowed actions", "/allowedActions")],
    )
}

pub async fn environments(
    client: &Client,
    command: EnvironmentsCommand,
    format: Format,
) -> Result<(), CliError> {
    match command {
        EnvironmentsCommand::List => output::print_list(
            format,
            client.list("/admin/v1/environments", &[]).await?,
            &[
                ("NAME", "/name"),
                ("ID", "/id"),
                ("REGION", "/config/region"),
                ("STAGE", "/config/stage"),
                ("ENDPOINT", "/config/endpointUrl"),
                ("DISPLAY NAME", "/displayName"),
            ],
        ),
        EnvironmentsCommand::Check { environment } => {
            let report = client
                .post(
                    &format!("/admin/v1/environments/{environment}/check"),
                    &json!({}),
                )
                .await?;
            output::print(format, &report, |report| {
                let checks = report["checks"].as_array().cloned().unwrap_or_default();
                output::table(
                    &checks,
                    &[("CHECK", "/name"), ("OK", "/ok"), ("DETAIL", "/detail")],
                )
            })?;
            if report["ok"] == true {
                Ok(())
            } else {
                Err(CliError::Failed(format!(
                    "environment `{environment}` failed its check"
                )))
            }
        }
    }
}

pub async fn deployments(
    client: &Client,
    command: DeploymentsCommand,
    format: Format,
) -> Result<(), CliError> {
    let DeploymentsCommand::List { api, env } = command;
    let items = match api {
        // A publisher's own route, filtered here: the cross-API list is the admin's.
        Some(api) => {
            let api = resolve_api(client, &api).await?;
            let mut items = client
                .list(&format!("{}/deployments", api_path(&api)), &[])
                .await?;
            if let Some(env) = &env {
                items.retain(|deployment| in_environment(deployment, env));
            }
            items
        }
        None => {
            client
                .list("/admin/v1/deployments", &filters(&[("environment", &env)]))
                .await?
        }
    };
    output::print_list(format, items, DEPLOYMENT_COLUMNS)
}

/// Whether `deployment` is in the environment named (or identified) `environment`.
pub fn in_environment(deployment: &Value, environment: &str) -> bool {
    deployment["environment"] == environment || deployment["environmentId"] == environment
}

pub async fn audit(client: &Client, args: AuditArgs, format: Format) -> Result<(), CliError> {
    let query = filters(&[
        ("actor", &args.actor),
        ("targetType", &args.target_type),
        ("targetId", &args.target_id),
        ("outcome", &args.outcome),
        ("since", &args.since),
        ("until", &args.until),
    ]);
    let entries = client
        .list_at_most("/admin/v1/audit", &query, args.limit.unwrap_or(usize::MAX))
        .await?;
    output::print_list(
        format,
        entries,
        &[
            ("AT", "/at"),
            ("ACTOR", "/actor"),
            ("ACTION", "/action"),
            ("TARGET", "/targetType"),
            ("TARGET ID", "/targetId"),
            ("OUTCOME", "/outcome"),
            ("STATUS", "/status"),
            ("DETAIL", "/detail"),
        ],
    )
}

/// `warnings` of an answer (`[{field, reason}]`), on stderr.
pub fn warn_each(warnings: &Value) {
    for warning in warnings.as_array().into_iter().flatten() {
        eprintln!(
            "warning: {}: {}",
            output::cell(warning.get("field")),
            output::cell(warning.get("reason"))
        );
    }
}
