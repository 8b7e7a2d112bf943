//! `fedgate login`, `logout`, `profiles`: the credentials file's profiles.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Value, json};

use super::client::Client;
use super::error::CliError;
use super::output::{self, Format};
use super::profiles::{Profile, Store};

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// The server's base URL.
    #[arg(long, env = "FEDGATE_CLI_SERVER")]
    server: url::Url,
    /// The OAuth2 client id (e.g. `admin`, or a client made for a pipeline).
    #[arg(long, env = "FEDGATE_CLI_CLIENT_ID")]
    client_id: String,
    /// Space-separated scopes to ask for (admin, publisher, devportal); all of the
    /// client's when absent.
    #[arg(long)]
    scope: Option<String>,
    /// Read the client secret from stdin (its first line) instead of
    /// FEDGATE_CLI_CLIENT_SECRET or a prompt.
    #[arg(long)]
    client_secret_stdin: bool,
}

pub async fn login(args: LoginArgs, profile_name: &str) -> Result<(), CliError> {
    let store = Store::locate()?;
    let profile = Profile {
        server: args.server.as_str().trim_end_matches('/').to_owned(),
        client_id: args.client_id,
        client_secret: client_secret(args.client_secret_stdin)?,
        scope: args.scope,
        token: None,
    };
    // Nothing is stored unless the server gives these credentials a token.
    let client = Client::new(profile, None);
    client.refresh_token().await?;
    store.update(profile_name, Some(client.profile_with_token()))?;
    eprintln!(
        "logged in to {} as {} (profile `{profile_name}`, stored in {})",
        client.profile().server,
        client.profile().client_id,
        store.path().display()
    );
    Ok(())
}

pub fn logout(profile_name: &str) -> Result<(), CliError> {
    let store = Store::locate()?;
    if !store.update(profile_name, None)? {
        return Err(CliError::Invalid(format!(
            "no profile `{profile_name}` in {}",
            store.path().display()
        )));
    }
    eprintln!("profile `{profile_name}` forgotten");
    Ok(())
}

/// Each profile's name, server and client id, and until when its token is good.
pub fn profiles(format: Format) -> Result<(), CliError> {
    let credentials = Store::locate()?.load()?;
    let listed: Vec<Value> = credentials
        .profiles
        .iter()
        .map(|(name, profile)| {
            json!({
                "name": name,
                "server": profile.server,
                "clientId": profile.client_id,
                "scope": profile.scope,
                "tokenExpiresAt": profile.token.as_ref().and_then(|token| {
                    chrono::DateTime::from_timestamp(token.expires_at, 0).map(|at| at.to_rfc3339())
                }),
            })
        })
        .collect();
    output::print_list(
        format,
        listed,
        &[
            ("PROFILE", "/name"),
            ("SERVER", "/server"),
            ("CLIENT", "/clientId"),
            ("SCOPE", "/scope"),
            ("TOKEN EXPIRES", "/tokenExpiresAt"),
        ],
    )
}

/// From stdin when asked, else FEDGATE_CLI_CLIENT_SECRET, else a prompt on the terminal.
fn client_secret(from_stdin: bool) -> Result<String, CliError> {
    let secret = if from_stdin {
        read_line(&mut std::io::stdin().lock())?
    } else if let Ok(secret) = std::env::var("FEDGATE_CLI_CLIENT_SECRET") {
        secret
    } else if std::io::stdin().is_terminal() {
        prompt_without_echo("client secret: ")?
    } else {
        return Err(CliError::Invalid(
            "no client secret: pass --client-secret-stdin, set FEDGATE_CLI_CLIENT_SECRET, or run on a terminal to be asked".into(),
        ));
    };
    if secret.is_empty() {
        return Err(CliError::Invalid("the client secret is empty".into()));
    }
    Ok(secret)
}

fn read_line(input: &mut impl BufRead) -> Result<String, CliError> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::local("cannot read the client secret", e))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Asks on stderr and reads a line from the terminal with its echo turned off (and back
/// on afterwards, whatever happened).
fn prompt_without_echo(prompt: &str) -> Result<String, CliError> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let failed = |e| CliError::local("cannot turn the terminal's echo off", e);
    let original = tcgetattr(&stdin).map_err(failed)?;
    let mut silent = original.clone();
    silent.local_flags.remove(LocalFlags::ECHO);
    silent.local_flags.insert(LocalFlags::ECHONL);
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    tcsetattr(&stdin, SetArg::TCSANOW, &silent).map_err(failed)?;
    let line = read_line(&mut stdin.lock());
    tcsetattr(&stdin, SetArg::TCSANOW, &original).map_err(failed)?;
    line
}
