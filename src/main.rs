use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// fedgate: a federated AWS API Gateway control plane.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A TOML file layered over the defaults (environment variables still win).
    #[arg(long, env = "FEDGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    client: fedgate::cli::GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    #[command(
        after_help = "Example:\n  FEDGATE_LISTEN_ADDR=0.0.0.0:8080 DATABASE_URL=postgres://db/fedgate fedgate serve"
    )]
    Serve,
    /// Print the OpenAPI document of the HTTP API.
    #[command(after_help = "Example:\n  fedgate openapi > openapi.json")]
    Openapi,
    /// Maintenance of a server, run against its database (DATABASE_URL, or the embedded
    /// one under the data directory).
    #[command(
        after_help = "Example:\n  DATABASE_URL=postgres://db/fedgate fedgate server reset-admin-secret"
    )]
    Server {
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// Print a shell's completion script for fedgate.
    #[command(
        after_help = "Example:\n  fedgate completion bash > /etc/bash_completion.d/fedgate\n  \
        fedgate completion zsh > \"${fpath[1]}/_fedgate\"\n  \
        fedgate completion fish > ~/.config/fish/completions/fedgate.fish"
    )]
    Completion { shell: clap_complete::Shell },
    #[command(flatten)]
    Client(fedgate::cli::Command),
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Give a client a new secret when nobody can log in: prints it once (on stdout),
    /// revokes every token the client was issued, and records it in the audit log.
    #[command(after_help = "Example:\n  fedgate server reset-admin-secret ci-pipeline")]
    ResetAdminSecret {
        /// The client id.
        #[arg(default_value = "admin")]
        client: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let matches = Cli::command()
        .after_long_help(settings_help())
        .get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.command {
        Some(Command::Client(command)) => {
            std::process::exit(fedgate::cli::run(command, cli.client).await)
        }
        Some(Command::Completion { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fedgate", &mut script);
            print_ignoring_closed_pipe(String::from_utf8_lossy(&script).trim_end())
        }
        Some(Command::Openapi) => {
            print_ignoring_closed_pipe(&fedgate::http::openapi().to_pretty_json()?)
        }
        Some(Command::Server {
            command: ServerCommand::ResetAdminSecret { client },
        }) => {
            let config = fedgate::Config::load(cli.config.as_deref())?;
            fedgate::telemetry::init_tracing(config.log_format);
            let secret = fedgate::app::reset_client_secret(&config, &client).await?;
            eprintln!(
                "client `{client}` has a new secret, shown only now; every token issued to it before is revoked"
            );
            use secrecy::ExposeSecret;
            print_ignoring_closed_pipe(secret.expose_secret())
        }
        Some(Command::Serve) | None => {
            let config = fedgate::Config::load(cli.config.as_deref())?;
            fedgate::telemetry::init_tracing(config.log_format);
            let app = fedgate::Application::build(config).await?;
            app.run_until(shutdown_signal()).await
        }
    }
}

/// Prints a line; a reader that stopped reading (`fedgate openapi | head -1`) is not an error.
fn print_ignoring_closed_pipe(text: &str) -> anyhow::Result<()> {
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `--help` lists every setting, from the compiled-in defaults file itself.
fn settings_help() -> String {
    let mut help = String::from(
        "Settings (environment variable, default), documented in config/default.toml and the\n\
         README's configuration table; a --config file or FEDGATE_<KEY> overrides them:\n",
    );
    for (key, default) in fedgate::config::default_settings() {
        let variable = if key == "database_url" {
            "DATABASE_URL".to_owned()
        } else {
            format!("FEDGATE_{}", key.to_uppercase())
        };
        help.push_str(&format!("  {variable:<42} {default}\n"));
    }
    help
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
