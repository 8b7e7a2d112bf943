//! `fedgate login`, `fedgate apis …`, `fedgate deploy …`: a command-line client of a
//! fedgate server. It talks to the server over its REST API only ([`client::Client`]),
//! never to the database or AWS, so it runs anywhere the API is reachable.
//!
//! Exit codes (see [`error::exit`]): 0 ok, 1 failed, 2 invalid input, 3 server
//! unreachable or not authorised, 4 timed out.

pub mod apply;
pub mod client;
pub mod commands;
pub mod deploy;
pub mod error;
pub mod login;
pub mod manifest;
pub mod output;
pub mod profiles;
pub mod wso2;

use clap::{Args, Subcommand};

use error::CliError;
use output::Format;

/// Options of every client command.
#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// The credentials-file profile (one per server) the command uses.
    #[arg(
        long,
        global = true,
        env = "FEDGATE_CLI_PROFILE",
        default_value = "default",
        help_heading = "Client options"
    )]
    pub profile: String,
    /// `table` for people; `json` (the server's JSON; lists as one array of every
    /// page's items) or `yaml` for scripts.
    #[arg(
        short,
        long,
        global = true,
        value_enum,
        default_value_t = Format::Table,
        help_heading = "Client options"
    )]
    pub output: Format,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Store a profile for a server: its URL and client credentials, checked by getting a
    /// token. The secret comes from --client-secret-stdin, FEDGATE_CLI_CLIENT_SECRET or a
    /// prompt.
    #[command(after_help = "Example:\n  \
        fedgate login --server https://fedgate.example.com --client-id ci --profile prod\n  \
        printf %s \"$SECRET\" | fedgate login --server http://localhost:8080 --client-id admin --client-secret-stdin")]
    Login(login::LoginArgs),
    /// Forget a profile (its secret and token).
    #[command(after_help = "Example:\n  fedgate logout --profile prod")]
    Logout,
    /// List the stored profiles (never their secrets).
    #[command(after_help = "Example:\n  fedgate profiles -o json")]
    Profiles,
    /// APIs: list, show, import, export, delete.
    #[command(after_help = "Example:\n  fedgate apis list\n  fedgate apis get Pets:1.0.0 -o yaml")]
    Apis {
        #[command(subcommand)]
        command: commands::ApisCommand,
    },
    /// The revisions of an API.
    #[command(after_help = "Example:\n  fedgate revisions Pets")]
    Revisions {
        /// The API: its id, its name, or name:version.
        api: String,
    },
    /// An API's lifecycle state and allowed actions; with an action, change it.
    #[command(after_help = "Example:\n  fedgate lifecycle Pets\n  fedgate lifecycle Pets publish")]
    Lifecycle {
        /// The API: its id, its name, or name:version.
        api: String,
        /// publish, deprecate, retire, demote, block or unblock.
        action: Option<String>,
    },
    /// AWS gateway environments (admin).
    #[command(
        after_help = "Example:\n  fedgate environments list\n  fedgate environments check aws-dev"
    )]
    Environments {
        #[command(subcommand)]
        command: commands::EnvironmentsCommand,
    },
    /// Deployments: where each API stands in each environment.
    #[command(
        after_help = "Example:\n  fedgate deployments list --api Pets\n  fedgate deployments list --env aws-dev -o json"
    )]
    Deployments {
        #[command(subcommand)]
        command: commands::DeploymentsCommand,
    },
    /// Deploy an API to an environment; with --wait, follow it until it ends.
    #[command(
        after_help = "Exit codes: 0 deployed (or queued without --wait), 1 failed, 2 invalid \
        input, 3 server unreachable or not authorised, 4 still running when --wait ran out.\n\n\
        Example:\n  fedgate deploy Pets --env aws-dev --wait\n  \
        fedgate deploy Pets:1.0.0 --env aws-prod --revision 3 --wait=10m"
    )]
    Deploy(deploy::DeployArgs),
    /// Remove an API from an environment.
    #[command(after_help = "Example:\n  fedgate undeploy Pets --env aws-dev --wait")]
    Undeploy(deploy::UndeployArgs),
    /// Show what `fedgate apply` would change to make the server match the manifests.
    #[command(
        after_help = "Reads manifests (apiVersion: fedgate/v1, kind: Api; see `fedgate apply         --help`), fetches the APIs they name, and prints one line per change and a summary, or         \"No changes.\". Changes nothing.\n\n\
        Exit codes: 0 planned (with or without changes; `-o json` has `changes: true|false`),         2 invalid manifests, 3 server unreachable or not authorised.\n\n\
        Example:\n  fedgate plan -f deploy/\n  fedgate plan -f deploy/pets.yaml -o json"
    )]
    Plan(apply::PlanArgs),
    /// Make the server match the manifests: create or update each API they name, deploy it
    /// where they say and undeploy it elsewhere, move its lifecycle.
    #[command(
        after_help = "A manifest (one per API; several in a file separated by ---):\n  \
        apiVersion: fedgate/v1\n  kind: Api\n  metadata: {name: Pets, version: 1.0.0}\n  spec:\n    \
        openapi: ./pets.openapi.yaml   # relative to the manifest\n    \
        overrides: {context: /pets, endpointUrl: https://pets.example.com/v1}\n    \
        environments: [aws-dev]\n    lifecycle: PUBLISHED\n\n\
        Prints the plan, asks `Apply these changes? [y/N]` (not asked with --auto-approve; \
        without a terminal --auto-approve is needed), then runs the changes in order, \
        following each deploy and undeploy (progress on stderr), and prints what was done. \
        It stops at the first failure. Applying again changes nothing: \"No changes.\"\n\n\
        Exit codes: 0 applied (or nothing to do), 1 a change failed (a deploy AWS refused) or \
        was not confirmed, 2 invalid manifests or input, 3 server unreachable or not \
        authorised, 4 a deploy still running when --wait ran out.\n\n\
        Example:\n  fedgate apply -f deploy/\n  fedgate apply -f deploy/ --auto-approve --wait=5m"
    )]
    Apply(apply::ApplyArgs),
    /// Migrate an API from a WSO2 API Manager apictl project (3.x or 4.x): create it with
    /// its definition, policies and CORS, and deploy it to the mapped environments.
    #[command(
        name = "import-wso2",
        after_help = "The project is read into a manifest and \
        applied as `fedgate apply --auto-approve` would (an API already there is updated to \
        match). What fedgate cannot carry over (scopes, throttling, mediation sequences, \
        environments with no --env-map, …) is listed on stderr as `not mapped: LOCATION: \
        WHAT`. --write-manifest keeps the manifest and definition, to manage the API with \
        `fedgate apply` from then on.\n\n\
        Exit codes: 0 imported, 1 a change failed, 2 not a project or invalid input, 3 \
        server unreachable or not authorised, 4 a deploy still running when --wait ran out.\n\n\
        Example:\n  fedgate import-wso2 ./PizzaShackAPI-1.0.0 --env-map Default=aws-dev\n  \
        fedgate import-wso2 ./PizzaShackAPI-1.0.0 --env-map Default=aws-dev \
        --write-manifest deploy/pizzashack.yaml --dry-run"
    )]
    ImportWso2(apply::ImportWso2Args),
    /// The audit log (admin), newest first.
    #[command(
        after_help = "Example:\n  fedgate audit --actor ci --since 2026-01-01T00:00:00Z --limit 20"
    )]
    Audit(commands::AuditArgs),
}

/// Runs a client command; prints what went wrong on stderr and answers the exit code.
pub async fn run(command: Command, global: GlobalArgs) -> i32 {
    match dispatch(command, &global).await {
        Ok(()) => error::exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn dispatch(command: Command, global: &GlobalArgs) -> Result<(), CliError> {
    let format = global.output;
    let connect = || client::Client::for_profile(&global.profile);
    match command {
        Command::Login(args) => login::login(args, &global.profile).await,
        Command::Logout => login::logout(&global.profile),
        Command::Profiles => login::profiles(format),
        Command::Apis { command } => commands::apis(&connect()?, command, format).await,
        Command::Revisions { api } => commands::revisions(&connect()?, &api, format).await,
        Command::Lifecycle { api, action } => {
            commands::lifecycle(&connect()?, &api, action.as_deref(), format).await
        }
        Command::Environments { command } => {
            commands::environments(&connect()?, command, format).await
        }
        Command::Deployments { command } => {
            commands::deployments(&connect()?, command, format).await
        }
        Command::Deploy(args) => deploy::deploy(&connect()?, args, format).await,
        Command::Undeploy(args) => deploy::undeploy(&connect()?, args, format).await,
        Command::Plan(args) => apply::plan(&connect()?, args, format).await,
        Command::Apply(args) => apply::apply(&connect()?, args, format).await,
        Command::ImportWso2(args) => apply::import_wso2(&connect()?, args, format).await,
        Command::Audit(args) => commands::audit(&connect()?, args, format).await,
    }
}
