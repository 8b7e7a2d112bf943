//! The templates (in `templates/console/`) and what every page shows around its content.

use askama::Template;
use axum::response::Html;

use super::ConsoleError;
use crate::domain::scope::{Scope, Scopes};

/// The header and navigation of a signed-in page.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub principal: String,
    pub scopes: Vec<&'static str>,
    /// Sent back by the sign-out form (and every other form).
    pub csrf_token: String,
    pub areas: Vec<Area>,
}

#[derive(Debug, Clone)]
pub struct Area {
    pub title: &'static str,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub label: &'static str,
    pub href: &'static str,
}

impl Chrome {
    pub fn new(principal: &str, scopes: &Scopes, csrf_token: &str) -> Self {
        Chrome {
            principal: principal.to_owned(),
            scopes: scopes.iter().map(Scope::as_str).collect(),
            csrf_token: csrf_token.to_owned(),
            areas: areas(scopes),
        }
    }
}

/// The console's pages by area: an area is shown to sessions with its scope.
fn areas(scopes: &Scopes) -> Vec<Area> {
    let link = |label, href| Link { label, href };
    let mut areas = Vec::new();
    if scopes.contains(Scope::Admin) {
        areas.push(Area {
            title: "Admin",
            links: vec![link("Environments", "/console/admin/environments")],
        });
    }
    if scopes.contains(Scope::Publisher) {
        areas.push(Area {
            title: "Publisher",
            links: vec![link("APIs", "/console/publisher/apis")],
        });
    }
    areas
}

pub fn render(page: &impl Template) -> Result<Html<String>, ConsoleError> {
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage {
    pub chrome: Option<Chrome>,
    pub client_id: String,
    /// Why the last attempt failed, shown next to the fields.
    pub error: Option<String>,
    pub client_id_missing: bool,
    pub secret_missing: bool,
    /// The previous session ended (expired, revoked).
    pub expired: bool,
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    pub chrome: Option<Chrome>,
}

#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    pub chrome: Option<Chrome>,
    pub title: &'static str,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/admin/environments.html")]
pub struct EnvironmentsPage {
    pub chrome: Option<Chrome>,
    /// What the last form did (created, saved).
    pub notice: Option<String>,
    pub environments: Vec<EnvironmentLine>,
    pub next: Option<String>,
}

pub struct EnvironmentLine {
    pub name: String,
    pub region: String,
    pub stage: String,
    pub provider: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "console/publisher/apis.html")]
pub struct ApisPage {
    pub chrome: Option<Chrome>,
    pub name: String,
    pub apis: Vec<ApiLine>,
    pub next: Option<String>,
}

pub struct ApiLine {
    pub name: String,
    pub version: String,
    pub context: String,
    pub lifecycle_state: &'static str,
}

/// A time as the console shows it.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The link to the page after `cursor`, keeping the page's other parameters.
pub fn next_link(path: &str, params: &[(&str, &str)], cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params.iter().filter(|(_, value)| !value.is_empty()) {
        query.append_pair(key, value);
    }
    query.append_pair("cursor", cursor);
    format!("{path}?{}", query.finish())
}
