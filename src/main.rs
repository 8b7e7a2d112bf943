use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// fedgate: a federated AWS API Gateway control plane.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A TOML file layered over the defaults (environment variables still win).
    #[arg(long, env = "FEDGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        println!("{}", fedgate::http::openapi().to_pretty_json()?);
        return Ok(());
    }
    let config = fedgate::Config::load(cli.config.as_deref())?;
    fedgate::telemetry::init_tracing(config.log_format);
    let app = fedgate::Application::build(config).await?;
    app.run_until(shutdown_signal()).await
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
