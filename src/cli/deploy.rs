//! `fedgate deploy` and `fedgate undeploy`: queue the job, then (with --wait) follow the
//! deployment until it ends, however long that is: the server waits at most a minute in
//! one request, so the client polls `GET …/deployments/{id}` instead, and tells each
//! change of status (and each retry, with AWS's error) on stderr.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{Call, Client};
use super::commands::{self, DEPLOYMENT_COLUMNS, api_label, api_path, resolve_api};
use super::error::CliError;
use super::output::{self, Format};

/// How long a bare `--wait` follows a job.
pub const DEFAULT_WAIT: &str = "10m";
const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// The API: its id, its name, or name:version.
    api: String,
    /// The environment's name or id.
    #[arg(long)]
    env: String,
    /// The revision number to deploy (default: the current design, as a new revision
    /// unless one equals it).
    #[arg(long)]
    revision: Option<u32>,
    /// Follow the deployment until it ends, for at most DURATION (e.g. 90s, 5m, 1h30m;
    /// 10m when only --wait is given); exit 4 if it is still running then.
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true,
          default_missing_value = DEFAULT_WAIT, value_parser = parse_duration)]
    wait: Option<Duration>,
    /// Skip the server's pre-deploy checks.
    #[arg(long)]
    skip_checks: bool,
}

#[derive(clap::Args, Debug)]
pub struct UndeployArgs {
    /// The API: its id, its name, or name:version.
    api: String,
    /// The environment's name or id.
    #[arg(long)]
    env: String,
    /// Follow the undeploy until it ends, for at most DURATION (10m when only --wait is given).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true,
          default_missing_value = DEFAULT_WAIT, value_parser = parse_duration)]
    wait: Option<Duration>,
}

pub async fn deploy(client: &Client, args: DeployArgs, format: Format) -> Result<(), CliError> {
    let api = resolve_api(client, &args.api).await?;
    let mut body = json!({"environment": args.env});
    if let Some(number) = args.revision {
        body["revisionId"] = json!(revision_id(client, &api, number).await?);
    }
    let mut call = Call::post(&format!("{}/deployments", api_path(&api))).json(&body);
    if args.skip_checks {
        call = call.query("skipChecks", true);
    }
    let answer = client.call(call).await?;
    commands::warn_each(&answer.body["warnings"]);
    finish(client, &api, answer.body, args.wait, Job::Deploy, format).await
}

pub async fn undeploy(client: &Client, args: UndeployArgs, format: Format) -> Result<(), CliError> {
    let api = resolve_api(client, &args.api).await?;
    let deployment = client
        .list(&format!("{}/deployments", api_path(&api)), &[])
        .await?
        .into_iter()
        .find(|deployment| {
            commands::in_environment(deployment, &args.env) && deployment["status"] != "undeployed"
        })
        .ok_or_else(|| {
            CliError::Invalid(format!(
                "{} is not deployed to `{}`",
                api_label(&api),
                args.env
            ))
        })?;
    let path = deployment_path(&api, &deployment);
    let answer = client.call(Call::delete(&path)).await?;
    finish(client, &api, answer.body, args.wait, Job::Undeploy, format).await
}

#[derive(Clone, Copy, PartialEq)]
pub enum Job {
    Deploy,
    Undeploy,
}

impl Job {
    /// The status the job ends in when it succeeds.
    fn done(self) -> &'static str {
        match self {
            Job::Deploy => "deployed",
            Job::Undeploy => "undeployed",
        }
    }
}

/// Prints the deployment as it is now (no --wait) or as it ends; a failed job is exit 1,
/// one still running when the wait is over exit 4.
async fn finish(
    client: &Client,
    api: &Value,
    deployment: Value,
    wait: Option<Duration>,
    job: Job,
    format: Format,
) -> Result<(), CliError> {
    let deployment = match wait {
        None => {
            eprintln!("{}", progress_line(api, &deployment));
            deployment
        }
        Some(wait) => follow(client, api, deployment, wait, job).await?,
    };
    output::print_row(format, &deployment, DEPLOYMENT_COLUMNS)?;
    check_outcome(api, &deployment, job)
}

/// Follows a queued deploy or undeploy (as `POST …/deployments` or `DELETE
/// …/deployments/{id}` answered it) until it ends, telling its progress on stderr: the
/// deployment as it ended; a failed job is [`CliError::Failed`] with AWS's error, one
/// still running after `wait` [`CliError::TimedOut`].
pub async fn settle(
    client: &Client,
    api: &Value,
    deployment: Value,
    wait: Duration,
    job: Job,
) -> Result<Value, CliError> {
    let deployment = follow(client, api, deployment, wait, job).await?;
    check_outcome(api, &deployment, job)?;
    Ok(deployment)
}

fn check_outcome(api: &Value, deployment: &Value, job: Job) -> Result<(), CliError> {
    if deployment["status"] == "failed" {
        return Err(CliError::Failed(format!(
            "{} {} `{}` failed: {}",
            match job {
                Job::Deploy => "deploying",
                Job::Undeploy => "undeploying",
            },
            api_label(api),
            output::cell(deployment.get("environment")),
            output::cell(deployment.get("error"))
        )));
    }
    Ok(())
}

/// Polls the deployment until it is `done` or failed, or `wait` is over.
async fn follow(
    client: &Client,
    api: &Value,
    mut deployment: Value,
    wait: Duration,
    job: Job,
) -> Result<Value, CliError> {
    let deadline = Instant::now() + wait;
    let path = deployment_path(api, &deployment);
    let mut told = String::new();
    loop {
        let line = progress_line(api, &deployment);
        if line != told {
            eprintln!("{line}");
            told = line;
        }
        let status = deployment["status"].as_str().unwrap_or_default();
        if status == job.done() || status == "failed" {
            return Ok(deployment);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CliError::TimedOut(format!(
                "{} in `{}` is still {status} after {}; see `fedgate deployments list --api {}`",
                api_label(api),
                output::cell(deployment.get("environment")),
                format_duration(wait),
                output::cell(api.get("id")),
            )));
        }
        tokio::time::sleep(left.min(POLL_INTERVAL)).await;
        deployment = client.get(&path).await?;
    }
}

/// `Pets 1.0.0 → aws-dev: deploying (attempt 1 of 5 failed: …; next try at …)`, the
/// retry told as the server's error tells it.
fn progress_line(api: &Value, deployment: &Value) -> String {
    let mut line = format!(
        "{} → {}: {}",
        api_label(api),
        output::cell(deployment.get("environment")),
        output::cell(deployment.get("status"))
    );
    let error = deployment.get("error").filter(|error| !error.is_null());
    match deployment.get("retry").filter(|retry| !retry.is_null()) {
        // The server's error of a retry already says which attempt failed, how, and when
        // the next is; only its absence needs the retry member spelled out.
        Some(_) if error.is_some() => line.push_str(&format!(" ({})", output::cell(error))),
        Some(retry) => line.push_str(&format!(
            " (attempt {} of {} failed; next try at {})",
            output::cell(retry.get("attempt")),
            output::cell(retry.get("maxAttempts")),
            output::cell(retry.get("nextAttemptAt")),
        )),
        None if deployment["status"] == "failed" => {
            line.push_str(&format!(": {}", output::cell(error)))
        }
        None => {}
    }
    if let Some(url) = deployment
        .get("invocationUrl")
        .and_then(Value::as_str)
        .filter(|_| deployment["status"] == "deployed")
    {
        line.push_str(&format!(" at {url}"));
    }
    line
}

fn deployment_path(api: &Value, deployment: &Value) -> String {
    format!(
        "{}/deployments/{}",
        api_path(api),
        output::cell(deployment.get("id"))
    )
}

async fn revision_id(client: &Client, api: &Value, number: u32) -> Result<String, CliError> {
    client
        .list(&format!("{}/revisions", api_path(api)), &[])
        .await?
        .into_iter()
        .find(|revision| revision["number"] == number)
        .and_then(|revision| revision["id"].as_str().map(str::to_owned))
        .ok_or_else(|| CliError::Invalid(format!("{} has no revision {number}", api_label(api))))
}

/// `90s`, `5m`, `1h30m`, `250ms`, or plain seconds (`30`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration (e.g. 30s, 5m, 1h30m)");
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_length = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_length] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(invalid()),
        };
        total += unit * u32::try_from(number).map_err(|_| invalid())?;
        rest = &rest[unit_length..];
    }
    Ok(total)
}

fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() != 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "m", "5x", "1.5m", "-3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn progress_tells_retries_and_errors() {
        let api = json!({"id": "a", "name": "Pets", "version": "1.0.0"});
        // As the server writes a retry's error (service::jobs::settle).
        let retrying = json!({"environment": "aws-dev", "status": "deploying",
            "error": "attempt 1 of 5 failed: CreateRestApi failed: throttled; next try at 2026-01-01T00:00:05Z",
            "retry": {"attempt": 1, "maxAttempts": 5, "nextAttemptAt": "2026-01-01T00:00:05Z"}});
        assert_eq!(
            progress_line(&api, &retrying),
            "Pets 1.0.0 → aws-dev: deploying (attempt 1 of 5 failed: CreateRestApi failed: \
             throttled; next try at 2026-01-01T00:00:05Z)"
        );
        let no_error = json!({"environment": "aws-dev", "status": "pending",
            "retry": {"attempt": 2, "maxAttempts": 5, "nextAttemptAt": "2026-01-01T00:00:09Z"}});
        assert_eq!(
            progress_line(&api, &no_error),
            "Pets 1.0.0 → aws-dev: pending (attempt 2 of 5 failed; next try at 2026-01-01T00:00:09Z)"
        );
        let failed = json!({"environment": "aws-dev", "status": "failed", "error": "no such host"});
        assert_eq!(
            progress_line(&api, &failed),
            "Pets 1.0.0 → aws-dev: failed: no such host"
        );
    }
}
