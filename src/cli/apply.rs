//! `fedgate plan`, `fedgate apply` and `fedgate import-wso2`: the server made to match
//! declarative manifests ([`super::manifest`]).
//!
//! Each command reads the manifests, fetches what the server holds of each API they name
//! (found by name and version; its deployments; for each live deployment the design of
//! the revision it runs, so a deployment running an older design is redeployed), plans
//! with [`manifest::plan`], and, for `apply`, runs the actions in order: a create is
//! `POST /publisher/v1/apis` with the whole design, an update a merge patch, deploys and
//! undeploys are followed to their end as `fedgate deploy --wait` follows them (progress
//! on stderr). The first failure stops the run with its exit code; what was done until
//! then stays done, and the next apply plans from there.
//!
//! `import-wso2` reads an apictl project ([`super::wso2`]) into a manifest (environments
//! renamed with `--env-map`) and applies it the same way, so a migrated API can be
//! managed with `fedgate apply` afterwards (`--write-manifest`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::client::{Call, Client};
use super::commands::{self, api_path};
use super::deploy::{self, DEFAULT_WAIT, Job, parse_duration};
use super::error::CliError;
use super::manifest::{self, Action, ApiKey, CurrentApi, CurrentDeployment, DesiredApi, Plan};
use super::output::{self, Format};
use super::wso2;
use crate::domain::deployment::DeploymentStatus;

const APIS: &str = "/publisher/v1/apis";

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// A manifest file, or a directory of them (`*.yaml`/`*.yml`, OpenAPI documents
    /// beside them skipped).
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// A manifest file, or a directory of them.
    #[arg(short = 'f', long = "file", value_name = "FILE|DIR")]
    pub file: PathBuf,
    /// Apply without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Skip the server's pre-deploy checks (as `fedgate deploy --skip-checks`).
    #[arg(long)]
    pub skip_checks: bool,
    /// How long each deploy or undeploy is followed (e.g. 90s, 5m); exit 4 if one is
    /// still running then.
    #[arg(long, value_name = "DURATION", require_equals = true,
          default_value = DEFAULT_WAIT, value_parser = parse_duration)]
    pub wait: Duration,
}

#[derive(clap::Args, Debug)]
pub struct ImportWso2Args {
    /// The apictl project: a directory with `api.yaml` (4.x) or `Meta-information/` (3.x).
    pub dir: PathBuf,
    /// Deploy to fedgate environment FEDGATE where the project names WSO2's gateway
    /// environment WSO2 (repeat it for each). Environments not mapped are reported and
    /// not deployed.
    #[arg(long = "env-map", value_name = "WSO2=FEDGATE", value_parser = parse_env_map)]
    pub env_map: Vec<(String, String)>,
    /// Also write a manifest for `fedgate apply` to FILE, and the API's definition next
    /// to it.
    #[arg(long, value_name = "FILE")]
    pub write_manifest: Option<PathBuf>,
    /// Print the plan (and write the manifest, if asked) without changing the server.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the server's pre-deploy checks (as `fedgate deploy --skip-checks`).
    #[arg(long)]
    pub skip_checks: bool,
    /// How long each deploy is followed; exit 4 if one is still running then.
    #[arg(long, value_name = "DURATION", require_equals = true,
          default_value = DEFAULT_WAIT, value_parser = parse_duration)]
    pub wait: Duration,
}

fn parse_env_map(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((wso2, fedgate)) if !wso2.trim().is_empty() && !fedgate.trim().is_empty() => {
            Ok((wso2.trim().to_owned(), fedgate.trim().to_owned()))
        }
        _ => Err(format!(
            "`{text}` is not WSO2=FEDGATE (e.g. Default=aws-dev)"
        )),
    }
}

pub async fn plan(client: &Client, args: PlanArgs, format: Format) -> Result<(), CliError> {
    let desired = load(&args.file)?;
    let plan = make_plan(client, &desired).await?;
    print_plan(format, &plan)
}

pub async fn apply(client: &Client, args: ApplyArgs, format: Format) -> Result<(), CliError> {
    let desired = load(&args.file)?;
    let plan = make_plan(client, &desired).await?;
    if plan.is_empty() {
        return print_plan(format, &plan);
    }
    if format == Format::Table {
        print_plan(format, &plan)?;
    }
    if !args.auto_approve {
        confirm()?;
    }
    let done = execute(client, &plan, args.wait, args.skip_checks).await?;
    print_done(format, &done)
}

pub async fn import_wso2(
    client: &Client,
    args: ImportWso2Args,
    format: Format,
) -> Result<(), CliError> {
    let import = wso2::read_project(&args.dir).map_err(|e| CliError::Invalid(e.to_string()))?;
    for note in &import.unmapped {
        eprintln!("not mapped: {}: {}", note.location, note.what);
    }
    let map: HashMap<&str, &str> = args
        .env_map
        .iter()
        .map(|(wso2, fedgate)| (wso2.as_str(), fedgate.as_str()))
        .collect();
    let mut environments = Vec::new();
    for environment in &import.environments {
        match map.get(environment.as_str()) {
            Some(fedgate) => {
                if !environments.iter().any(|e| e == fedgate) {
                    environments.push((*fedgate).to_owned())
                }
            }
            None => eprintln!(
                "not mapped: environment `{environment}`: no --env-map {environment}=…; not deployed"
            ),
        }
    }

    let desired = match &args.write_manifest {
        Some(file) => {
            write_manifest(&import, environments, file)?;
            eprintln!("wrote {}", file.display());
            load(file)?
        }
        None => {
            let mut manifest = import.manifest(&import.definition_file.to_string_lossy());
            manifest.spec.environments = environments;
            let desired = manifest::desired_api(
                &manifest,
                &args.dir,
                &args.dir.join(&import.definition_file),
                &import.definition_text,
            )
            .map_err(|e| CliError::Invalid(e.to_string()))?;
            warn_desired(std::slice::from_ref(&desired));
            vec![desired]
        }
    };
    let plan = make_plan(client, &desired).await?;
    if args.dry_run || plan.is_empty() {
        return print_plan(format, &plan);
    }
    if format == Format::Table {
        print_plan(format, &plan)?;
    }
    let done = execute(client, &plan, args.wait, args.skip_checks).await?;
    print_done(format, &done)
}

/// Writes `import`'s manifest to `file` and its definition beside it
/// (`<manifest stem>.openapi.yaml`, or `.json` for a JSON definition).
fn write_manifest(
    import: &wso2::Wso2Import,
    environments: Vec<String>,
    file: &Path,
) -> Result<(), CliError> {
    let extension = match import.definition_file.extension().and_then(|e| e.to_str()) {
        Some("json") => "json",
        _ => "yaml",
    };
    let stem = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "api".to_owned());
    let definition_name = format!("{stem}.openapi.{extension}");
    let dir = file.parent().filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::local(&format!("cannot create {}", dir.display()), e))?;
    }
    let definition_file = dir.map_or_else(
        || PathBuf::from(&definition_name),
        |dir| dir.join(&definition_name),
    );
    let mut manifest = import.manifest(&format!("./{definition_name}"));
    manifest.spec.environments = environments;
    let text = serde_norway::to_string(&manifest)
        .map_err(|e| CliError::local("cannot write the manifest", e))?;
    std::fs::write(&definition_file, &import.definition_text)
        .map_err(|e| CliError::local(&format!("cannot write {}", definition_file.display()), e))?;
    std::fs::write(file, text)
        .map_err(|e| CliError::local(&format!("cannot write {}", file.display()), e))
}

/// The manifests of `path`; anything wrong with them is invalid input (exit 2).
fn load(path: &Path) -> Result<Vec<DesiredApi>, CliError> {
    let desired = manifest::load(path).map_err(|e| CliError::Invalid(e.to_string()))?;
    warn_desired(&desired);
    Ok(desired)
}

fn warn_desired(desired: &[DesiredApi]) {
    for api in desired {
        for warning in &api.warnings {
            eprintln!("warning: {}: {warning}", api.key());
        }
    }
}

/// What the server holds of the APIs the manifests name, and the plan to match them.
async fn make_plan(client: &Client, desired: &[DesiredApi]) -> Result<Plan, CliError> {
    let mut current = Vec::new();
    for want in desired {
        if let Some(api) = fetch_current(client, &want.key()).await? {
            current.push(api);
        }
    }
    manifest::plan(desired, &current).map_err(|e| match e {
        manifest::PlanError::UnreadableCurrent { .. } => CliError::Failed(e.to_string()),
        _ => CliError::Invalid(e.to_string()),
    })
}

/// The API named `key` on the server, its deployments and the designs they run.
async fn fetch_current(client: &Client, key: &ApiKey) -> Result<Option<CurrentApi>, CliError> {
    // The name filter matches any part of the name, in any case: keep the exact one.
    let found = client
        .list(APIS, &[("name", key.name.clone())])
        .await?
        .into_iter()
        .find(|api| api["name"] == key.name.as_str() && api["version"] == key.version.as_str());
    let Some(found) = found else {
        return Ok(None);
    };
    let path = api_path(&found);
    let api = client.get(&path).await?;
    let mut designs: BTreeMap<String, Value> = BTreeMap::new();
    let mut deployments = Vec::new();
    for deployment in client.list(&format!("{path}/deployments"), &[]).await? {
        let status_text = output::cell(deployment.get("status"));
        let status = DeploymentStatus::parse(&status_text).ok_or_else(|| {
            CliError::Failed(format!(
                "{key}: the server answered a deployment status `{status_text}` this client does not know"
            ))
        })?;
        let mut deployed_design = None;
        if let Some(revision) = deployment["revisionId"]
            .as_str()
            .filter(|_| status.is_live())
        {
            if !designs.contains_key(revision) {
                let revision_body = client.get(&format!("{path}/revisions/{revision}")).await?;
                designs.insert(revision.to_owned(), revision_body["design"].clone());
            }
            deployed_design = designs.get(revision).cloned();
        }
        deployments.push(CurrentDeployment {
            id: output::cell(deployment.get("id")),
            environment: output::cell(deployment.get("environment")),
            status,
            deployed_design,
        });
    }
    Ok(Some(CurrentApi { api, deployments }))
}

/// The plan for people (its lines and summary), or its actions as JSON/YAML.
fn print_plan(format: Format, plan: &Plan) -> Result<(), CliError> {
    let value = json!({"changes": !plan.is_empty(), "actions": plan.actions});
    output::print(format, &value, |_| plan.to_string())
}

/// Asks on the terminal; anything but yes stops here, nothing changed.
fn confirm() -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Invalid(
            "stdin is not a terminal to confirm on: pass --auto-approve to apply without asking"
                .to_owned(),
        ));
    }
    eprint!("Apply these changes? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::local("cannot read the answer", e))?;
    match answer.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::Failed(
            "not applied: nothing was changed".to_owned(),
        )),
    }
}

/// Runs the plan's actions in order, stopping at the first that fails; answers the
/// actions done, as they were done.
async fn execute(
    client: &Client,
    plan: &Plan,
    wait: Duration,
    skip_checks: bool,
) -> Result<Vec<Value>, CliError> {
    let mut created: BTreeMap<ApiKey, String> = BTreeMap::new();
    let mut done = Vec::new();
    let total = plan.actions.len();
    for (index, action) in plan.actions.iter().enumerate() {
        eprintln!("[{}/{total}] {action}", index + 1);
        let result = run_action(client, action, &mut created, wait, skip_checks).await;
        match result {
            Ok(outcome) => {
                let mut told = serde_json::to_value(action).expect("actions serialize");
                if let Some(object) = told.as_object_mut() {
                    object.remove("design");
                    object.remove("patch");
                    object.insert("result".to_owned(), outcome);
                }
                done.push(told);
            }
            Err(e) => {
                eprintln!(
                    "stopped at action {} of {total} ({action}); the {} before it were done",
                    index + 1,
                    index
                );
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// Runs one action: answers what the server made of it (the API, the deployment, the
/// lifecycle state).
async fn run_action(
    client: &Client,
    action: &Action,
    created: &mut BTreeMap<ApiKey, String>,
    wait: Duration,
    skip_checks: bool,
) -> Result<Value, CliError> {
    let id_of = |api: &ApiKey, id: &Option<String>| -> Result<String, CliError> {
        id.clone()
            .or_else(|| created.get(api).cloned())
            .ok_or_else(|| CliError::Failed(format!("{api}: no id (its creation did not run)")))
    };
    let label =
        |api: &ApiKey, id: &str| json!({"id": id, "name": api.name, "version": api.version});
    match action {
        Action::CreateApi { api, design } => {
            let answer = client.post(APIS, design).await?;
            commands::warn_each(&answer["warnings"]);
            let id = output::cell(answer.get("id"));
            created.insert(api.clone(), id.clone());
            Ok(json!({"id": id}))
        }
        Action::UpdateDesign { id, patch, .. } => {
            let answer = client.patch(&format!("{APIS}/{id}"), patch).await?;
            commands::warn_each(&answer["warnings"]);
            Ok(json!({"id": id}))
        }
        Action::Deploy {
            api,
            id,
            environment,
            ..
        } => {
            let id = id_of(api, id)?;
            let mut call = Call::post(&format!("{APIS}/{id}/deployments"))
                .json(&json!({"environment": environment}));
            if skip_checks {
                call = call.query("skipChecks", true);
            }
            let answer = client.call(call).await?;
            commands::warn_each(&answer.body["warnings"]);
            let deployment =
                deploy::settle(client, &label(api, &id), answer.body, wait, Job::Deploy).await?;
            Ok(deployment_outcome(&deployment))
        }
        Action::Undeploy {
            api,
            id,
            deployment_id,
            ..
        } => {
            let answer = client
                .call(Call::delete(&format!(
                    "{APIS}/{id}/deployments/{deployment_id}"
                )))
                .await?;
            let deployment =
                deploy::settle(client, &label(api, id), answer.body, wait, Job::Undeploy).await?;
            Ok(deployment_outcome(&deployment))
        }
        Action::ChangeLifecycle {
            api, id, change, ..
        } => {
            let id = id_of(api, id)?;
            let answer = client
                .post(
                    &format!("{APIS}/{id}/lifecycle"),
                    &json!({"action": change.as_str()}),
                )
                .await?;
            for warning in answer["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", output::cell(Some(warning)));
            }
            Ok(json!({"state": answer["state"]}))
        }
    }
}

fn deployment_outcome(deployment: &Value) -> Value {
    json!({
        "deploymentId": deployment["id"],
        "status": deployment["status"],
        "revisionNumber": deployment["revisionNumber"],
        "invocationUrl": deployment["invocationUrl"],
    })
}

/// What was done: one line each and a count (people), or the actions with their results.
fn print_done(format: Format, done: &[Value]) -> Result<(), CliError> {
    output::print(format, &json!({"applied": done}), |_| {
        let mut lines = vec!["\nApplied:".to_owned()];
        for action in done {
            lines.push(format!("  {}", done_line(action)));
        }
        lines.push(format!(
            "\nApply complete: {} action{} done.",
            done.len(),
            if done.len() == 1 { "" } else { "s" }
        ));
        lines.join("\n")
    })
}

fn done_line(action: &Value) -> String {
    let api = format!(
        "{} {}",
        output::cell(action.pointer("/api/name")),
        output::cell(action.pointer("/api/version"))
    );
    let result = &action["result"];
    match action["action"].as_str().unwrap_or_default() {
        "createApi" => format!("created {api} ({})", output::cell(result.get("id"))),
        "updateDesign" => format!("updated {api}: {}", output::cell(action.get("changes"))),
        "deploy" => {
            let mut line = format!(
                "deployed {api} to {} (revision {})",
                output::cell(action.get("environment")),
                output::cell(result.get("revisionNumber"))
            );
            if let Some(url) = result["invocationUrl"].as_str() {
                line.push_str(&format!(" at {url}"));
            }
            line
        }
        "undeploy" => format!(
            "undeployed {api} from {}",
            output::cell(action.get("environment"))
        ),
        "changeLifecycle" => format!(
            "{} {api}: now {}",
            output::cell(action.get("change")),
            output::cell(result.get("state"))
        ),
        other => format!("{other} {api}"),
    }
}
