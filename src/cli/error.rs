//! The client's one error type, and the exit code each kind of failure means to a script.

use serde_json::Value;

/// Exit codes a pipeline can rely on; every command ends with one of them.
pub mod exit {
    pub const OK: i32 = 0;
    /// The operation failed: a failed deploy, a conflict (409), a server error (5xx).
    pub const FAILED: i32 = 1;
    /// The input was wrong: bad arguments, or the server answered 400/404/422.
    pub const INVALID: i32 = 2;
    /// The server could not be reached, or refused the credentials (401/403).
    pub const UNREACHABLE: i32 = 3;
    /// `--wait` ran out before the operation ended.
    pub const TIMED_OUT: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments the server never saw are wrong (an unknown profile, an ambiguous name).
    #[error("{0}")]
    Invalid(String),
    /// The server answered with an error status; `problem` is its body (problem+json,
    /// an OAuth2 error, or whatever it sent).
    #[error("{}", describe_problem(*status, problem))]
    Server { status: u16, problem: Value },
    /// No answer from the server (connection refused, DNS, TLS, a broken body).
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The operation ran and failed (a deploy AWS refused).
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    TimedOut(String),
    /// The local side: the credentials file, a file to import, the terminal.
    #[error("{0}")]
    Local(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Invalid(_) => exit::INVALID,
            CliError::Server { status, .. } => match status {
                401 | 403 => exit::UNREACHABLE,
                400 | 404 | 413 | 415 | 422 | 428 => exit::INVALID,
                _ => exit::FAILED,
            },
            CliError::Unreachable { .. } => exit::UNREACHABLE,
            CliError::Failed(_) | CliError::Local(_) => exit::FAILED,
            CliError::TimedOut(_) => exit::TIMED_OUT,
        }
    }

    /// The status the server answered, if it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            CliError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn local(context: &str, error: impl std::fmt::Display) -> Self {
        CliError::Local(format!("{context}: {error}"))
    }
}

/// A problem+json body in words: its `detail` (or `title`), then each `errors[]` entry
/// as `field: reason` on its own line. OAuth2 errors (`error`, `error_description`) and
/// bodies of neither kind are told as well as they can be.
fn describe_problem(status: u16, problem: &Value) -> String {
    let text = |key: &str| problem.get(key).and_then(Value::as_str);
    let mut words = text("detail")
        .or_else(|| text("title"))
        .or_else(|| text("error_description"))
        .or_else(|| text("error"))
        .map(str::to_owned)
        .or_else(|| {
            problem
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "no details".to_owned());
    words = format!("{status}: {words}");
    for error in problem
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = error.get("field").and_then(Value::as_str).unwrap_or("?");
        let reason = error.get("reason").and_then(Value::as_str).unwrap_or("?");
        words.push_str(&format!("\n  {field}: {reason}"));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_map_to_exit_codes() {
        let server = |status| CliError::Server {
            status,
            problem: json!({}),
        };
        for (status, code) in [
            (400, 2),
            (404, 2),
            (422, 2),
            (401, 3),
            (403, 3),
            (409, 1),
            (500, 1),
            (502, 1),
        ] {
            assert_eq!(server(status).exit_code(), code, "{status}");
        }
        assert_eq!(CliError::TimedOut(String::new()).exit_code(), 4);
    }

    #[test]
    fn a_problem_reads_as_its_detail_and_field_errors() {
        let error = CliError::Server {
            status: 400,
            problem: json!({"title": "Bad Request", "detail": "2 invalid fields", "errors": [
                {"field": "name", "reason": "must not be empty"},
                {"field": "resources[0].path", "reason": "must start with /"}]}),
        };
        assert_eq!(
            error.to_string(),
            "400: 2 invalid fields\n  name: must not be empty\n  resources[0].path: must start with /"
        );
        let oauth = CliError::Server {
            status: 401,
            problem: json!({"error": "invalid_client", "error_description": "bad credentials"}),
        };
        assert_eq!(oauth.to_string(), "401: bad credentials");
    }
}
