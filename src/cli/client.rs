//! A thin client of fedgate's REST API, for every command of the `fedgate` binary that
//! talks to a server: JSON in, JSON out, errors as [`CliError`], the bearer token taken
//! care of (fetched with the profile's client credentials, cached in the credentials file,
//! fetched again when it expired or the server answers 401).
//!
//! ```no_run
//! # async fn example() -> Result<(), fedgate::cli::error::CliError> {
//! use fedgate::cli::client::{Call, Client};
//! let client = Client::for_profile("default")?;
//! let apis = client.list("/publisher/v1/apis", &[("name", "pets".into())]).await?;
//! let api = client.get("/publisher/v1/apis/0190c1d2-…").await?;
//! let answer = client
//!     .call(Call::post("/publisher/v1/apis/import").raw("application/yaml", b"openapi: 3.0.3".to_vec()))
//!     .await?;
//! assert_eq!(answer.status, 201);
//! # Ok(()) }
//! ```

use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::error::CliError;
use super::profiles::{CachedToken, Profile, Store};

/// One request, built up before it is sent (and sent again with a new token after a 401).
#[derive(Clone)]
pub struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Body,
}

#[derive(Clone)]
enum Body {
    Empty,
    Json(Value),
    MergePatch(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

impl Call {
    pub fn new(method: Method, path: &str) -> Self {
        Call {
            method,
            path: path.to_owned(),
            query: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    /// Adds each `(name, value)`.
    pub fn queries(mut self, pairs: &[(&str, String)]) -> Self {
        for (name, value) in pairs {
            self = self.query(name, value);
        }
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = Body::Json(body.clone());
        self
    }

    /// A JSON merge patch (RFC 7396), as fedgate's PATCH routes take it.
    pub fn merge_patch(mut self, body: &Value) -> Self {
        self.body = Body::MergePatch(body.clone());
        self
    }

    /// A body sent as it is (an OpenAPI document to import).
    pub fn raw(mut self, content_type: &str, bytes: Vec<u8>) -> Self {
        self.body = Body::Raw {
            content_type: content_type.to_owned(),
            bytes,
        };
        self
    }
}

/// A successful answer: its status (200, 201, 202, 204, …) and its JSON body (`null` when
/// it had none; a string when it was not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub struct Client {
    http: reqwest::Client,
    /// Where a fresh token is stored; `None` keeps it in memory only.
    store: Option<(Store, String)>,
    profile: Profile,
    token: Mutex<Option<CachedToken>>,
}

impl Client {
    /// The client of a profile `fedgate login` stored.
    pub fn for_profile(name: &str) -> Result<Self, CliError> {
        let store = Store::locate()?;
        let profile = store.profile(name)?;
        Ok(Self::new(profile, Some((store, name.to_owned()))))
    }

    /// A client of `profile`; with a store, fresh tokens are written back to it.
    pub fn new(profile: Profile, store: Option<(Store, String)>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Longer than the server's own request timeout, so its 408 is what tells.
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("fedgate-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Client {
            http,
            store,
            token: Mutex::new(profile.token.clone()),
            profile,
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile with the token now cached, as `fedgate login` stores it.
    pub fn profile_with_token(&self) -> Profile {
        Profile {
            token: self.token.lock().unwrap().clone(),
            ..self.profile.clone()
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        Ok(self.call(Call::get(path)).await?.body)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Ok(self.call(Call::post(path).json(body)).await?.body)
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Ok(self
            .call(Call::new(Method::PUT, path).json(body))
            .await?
            .body)
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        Ok(self
            .call(Call::new(Method::PATCH, path).merge_patch(body))
            .await?
            .body)
    }

    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        Ok(self.call(Call::delete(path)).await?.body)
    }

    /// Every item of a list route, following the server's `next` cursor page by page.
    pub async fn list(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<Value>, CliError> {
        self.list_at_most(path, query, usize::MAX).await
    }

    /// The first `max` items of a list route, reading no more pages than they need.
    pub async fn list_at_most(
        &self,
        path: &str,
        query: &[(&str, String)],
        max: usize,
    ) -> Result<Vec<Value>, CliError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut call = Call::get(path).queries(query);
            if let Some(cursor) = &cursor {
                call = call.query("cursor", cursor);
            }
            let mut page = self.call(call).await?.body;
            if let Some(Value::Array(page_items)) = page.get_mut("items").map(Value::take) {
                items.extend(page_items);
            }
            match page.get("next").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && items.len() < max => {
                    cursor = Some(next.to_owned())
                }
                _ => {
                    items.truncate(max);
                    return Ok(items);
                }
            }
        }
    }

    /// Sends `call` with a bearer token; a 401 gets one more try with a new token (the
    /// cached one may have been revoked or the server's signing key rotated).
    pub async fn call(&self, call: Call) -> Result<Answer, CliError> {
        let token = self.bearer(false).await?;
        let response = self.send(&call, &token).await?;
        let response = if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            let token = self.bearer(true).await?;
            self.send(&call, &token).await?
        } else {
            response
        };
        self.answer(response).await
    }

    /// Asks `/auth/token` for a new token with the profile's client credentials, and
    /// caches it (in the credentials file too, when there is one).
    pub async fn refresh_token(&self) -> Result<String, CliError> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.profile.scope {
            form.push(("scope", scope));
        }
        let response = self
            .http
            .post(self.url("/auth/token"))
            .basic_auth(&self.profile.client_id, Some(&self.profile.client_secret))
            .form(&form)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let body = self.answer(response).await?.body;
        let (Some(access_token), Some(expires_in)) = (
            body.get("access_token").and_then(Value::as_str),
            body.get("expires_in").and_then(Value::as_i64),
        ) else {
            return Err(CliError::Failed(format!(
                "{} answered /auth/token without access_token and expires_in",
                self.profile.server
            )));
        };
        let token = CachedToken {
            access_token: access_token.to_owned(),
            expires_at: chrono::Utc::now().timestamp() + expires_in,
        };
        *self.token.lock().unwrap() = Some(token);
        if let Some((store, name)) = &self.store {
            store.update(name, Some(self.profile_with_token()))?;
        }
        Ok(access_token.to_owned())
    }

    async fn bearer(&self, renew: bool) -> Result<String, CliError> {
        let cached = self.token.lock().unwrap().clone();
        match cached {
            Some(token) if !renew && token.is_fresh() => Ok(token.access_token),
            _ => self.refresh_token().await,
        }
    }

    async fn send(&self, call: &Call, token: &str) -> Result<reqwest::Response, CliError> {
        let mut request = self
            .http
            .request(call.method.clone(), self.url(&call.path))
            .bearer_auth(token);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match &call.body {
            Body::Empty => request,
            Body::Json(value) => request.json(value),
            Body::MergePatch(value) => request
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/merge-patch+json",
                )
                .body(value.to_string()),
            Body::Raw {
                content_type,
                bytes,
            } => request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes.clone()),
        };
        request.send().await.map_err(|e| self.unreachable(e))
    }

    /// The body as JSON; an error status becomes [`CliError::Server`] with it.
    async fn answer(&self, response: reqwest::Response) -> Result<Answer, CliError> {
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if status >= 400 {
            return Err(CliError::Server {
                status,
                problem: body,
            });
        }
        Ok(Answer { status, body })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.profile.server.trim_end_matches('/'))
    }

    fn unreachable(&self, error: reqwest::Error) -> CliError {
        CliError::Unreachable {
            url: self.profile.server.clone(),
            reason: error_chain(&error),
        }
    }
}

/// An error and its causes, each said once ("error sending request: … : Connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !words.iter().any(|said| said.contains(&text)) {
            words.push(text);
        }
        next = error.source();
    }
    words.join(": ")
}
