//! Admin → Environments, the write side: the create and edit forms and the live check.
//! Each calls the service function the REST API calls (`create`, `replace`, `check`) with
//! the same `EnvironmentSpec::parse`; the form only shapes its fields into that input.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{Chrome, render};
use super::{ConsoleError, CsrfForm, InArea};
use crate::aws::check::CheckReport;
use crate::domain::environment::{
    CredentialsInput, EnvironmentInput, EnvironmentSpec, mask_access_key_id,
};
use crate::domain::validation::{FieldError, WriteOnly};
use crate::http::AppState;
use crate::http::auth::AdminScope;
use crate::service::environments as service;
use crate::service::{Precondition, ServiceError};
use crate::store::environments::{EnvironmentRow, StoredCredentials};

/// The form as posted: every field a string, empty meaning not given.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EnvironmentForm {
    name: String,
    display_name: String,
    description: String,
    region: String,
    stage: String,
    endpoint_url: String,
    invoke_url_template: String,
    credential_type: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    role_arn: String,
    external_id: String,
    session_name: String,
    /// The version the edit form was opened at: the lost-update guard.
    version: Option<i64>,
    /// The edit form's checkbox: remove the stored session token (`null` in the API).
    remove_session_token: Option<String>,
    /// The create form's checkbox: store only if the live check passes (`?check=true`).
    check_first: Option<String>,
}

fn given(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// An empty secret field is an omitted secret: kept on an edit, missing on a create.
fn secret(s: &str) -> WriteOnly<&str> {
    if s.is_empty() {
        WriteOnly::Keep
    } else {
        WriteOnly::Set(s)
    }
}

impl EnvironmentForm {
    /// The service's input. Only the chosen credential kind's fields are passed: the form
    /// shows the fields of every kind, and the others are left as typed.
    fn parse(&self, creating: bool) -> Result<EnvironmentSpec, ServiceError> {
        let kind = self.credential_type.as_str();
        let (access_key, role) = (kind == "accessKey", kind == "assumeRole");
        let input = EnvironmentInput {
            name: self.name.trim(),
            display_name: given(&self.display_name),
            description: given(&self.description),
            provider: "aws",
            region: self.region.trim(),
            stage: self.stage.trim(),
            endpoint_url: given(&self.endpoint_url),
            invoke_url_template: given(&self.invoke_url_template),
            credentials: CredentialsInput {
                credential_type: kind,
                access_key_id: given(&self.access_key_id).filter(|_| access_key),
                secret_access_key: if access_key {
                    secret(&self.secret_access_key)
                } else {
                    WriteOnly::Keep
                },
                session_token: if access_key {
                    match secret(&self.session_token) {
                        WriteOnly::Keep if self.remove_session_token.is_some() => WriteOnly::Remove,
                        given => given,
                    }
                } else {
                    WriteOnly::Keep
                },
                role_arn: given(&self.role_arn).filter(|_| role),
                external_id: given(&self.external_id).filter(|_| role),
                session_name: given(&self.session_name).filter(|_| role),
            },
        };
        EnvironmentSpec::parse(&input, creating).map_err(ServiceError::Validation)
    }

    fn from_row(row: &EnvironmentRow) -> Self {
        let mut form = EnvironmentForm {
            name: row.name.clone(),
            display_name: row.display_name.clone(),
            description: row.description.clone(),
            region: row.region.clone(),
            stage: row.stage.clone(),
            endpoint_url: row.endpoint_url.clone().unwrap_or_default(),
            invoke_url_template: row.invoke_url_template.clone().unwrap_or_default(),
            version: Some(row.version),
            ..Default::default()
        };
        form.credential_type = match &row.credentials.0 {
            StoredCredentials::AccessKey { .. } => "accessKey",
            StoredCredentials::AssumeRole {
                role_arn,
                external_id,
                session_name,
            } => {
                form.role_arn = role_arn.clone();
                form.external_id = external_id.clone().unwrap_or_default();
                form.session_name = session_name.clone().unwrap_or_default();
                "assumeRole"
            }
            StoredCredentials::Default => "default",
        }
        .to_owned();
        form
    }
}

/// What an edit form says of the stored secrets (never their values).
#[derive(Default)]
struct Stored {
    access_key_id_masked: Option<String>,
    secret_access_key_set: bool,
    session_token_set: bool,
}

impl Stored {
    fn of(row: &EnvironmentRow) -> Self {
        match &row.credentials.0 {
            StoredCredentials::AccessKey {
                access_key_id,
                has_session_token,
            } => Stored {
                access_key_id_masked: Some(mask_access_key_id(access_key_id)),
                secret_access_key_set: row.sealed_secrets().is_some(),
                session_token_set: *has_session_token,
            },
            _ => Stored::default(),
        }
    }
}

pub struct InputField {
    pub id: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub required: bool,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "console/admin/environment_form.html")]
pub struct EnvironmentFormPage {
    pub chrome: Option<Chrome>,
    pub title: String,
    pub action: String,
    pub submit: &'static str,
    pub version: Option<i64>,
    /// The create form offers to check before storing; checked as last posted.
    pub check_first: Option<bool>,
    /// An edit of an environment with a stored session token offers to remove it.
    pub session_token_removable: bool,
    /// Errors that name no field of the form (a conflict, a stale version…).
    pub problems: Vec<String>,
    pub fields: Vec<InputField>,
    pub kinds: Vec<Choice>,
    pub kind_error: Option<String>,
    pub access_key: Vec<InputField>,
    pub assume_role: Vec<InputField>,
}

/// The form field a service error's path names (`config.region` → `region`).
fn form_field(path: &str) -> Option<&'static str> {
    Some(match path {
        "name" => "name",
        "displayName" => "display_name",
        "description" => "description",
        "config.region" => "region",
        "config.stage" => "stage",
        "config.endpointUrl" => "endpoint_url",
        "config.invokeUrlTemplate" => "invoke_url_template",
        "config.credentials.type" => "credential_type",
        "config.credentials.accessKeyId" => "access_key_id",
        "config.credentials.secretAccessKey" => "secret_access_key",
        "config.credentials.sessionToken" => "session_token",
        "config.credentials.roleArn" => "role_arn",
        "config.credentials.externalId" => "external_id",
        "config.credentials.sessionName" => "session_name",
        _ => return None,
    })
}

fn form_page(
    chrome: Chrome,
    form: &EnvironmentForm,
    editing: Option<(&str, &Stored)>,
    errors: &[FieldError],
    mut problems: Vec<String>,
) -> EnvironmentFormPage {
    let error_of = |id: &str| {
        let reasons: Vec<&str> = errors
            .iter()
            .filter(|e| form_field(&e.field) == Some(id))
            .map(|e| e.reason.as_str())
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    };
    problems.extend(
        errors
            .iter()
            .filter(|e| form_field(&e.field).is_none())
            .map(|e| format!("{} {}", e.field, e.reason)),
    );
    let field = |id, label, kind, value: &str, hint: Option<String>, required| InputField {
        id,
        label,
        kind,
        // Secrets are never sent back to the browser.
        value: if kind == "password" {
            String::new()
        } else {
            value.to_owned()
        },
        hint,
        error: error_of(id),
        required,
    };
    let stored = editing.map(|(_, s)| s);
    let kept = |set: bool| {
        (stored.is_some() && set).then(|| "Set — leave empty to keep the stored one.".to_owned())
    };
    let fields = vec![
        field(
            "name",
            "Name",
            "text",
            &form.name,
            Some("A slug: lowercase letters, digits and hyphens.".into()),
            true,
        ),
        field(
            "display_name",
            "Display name",
            "text",
            &form.display_name,
            None,
            false,
        ),
        field(
            "description",
            "Description",
            "text",
            &form.description,
            None,
            false,
        ),
        field(
            "region",
            "Region",
            "text",
            &form.region,
            Some("An AWS region code, e.g. us-east-1.".into()),
            true,
        ),
        field("stage", "Stage", "text", &form.stage, None, true),
        field(
            "endpoint_url",
            "Endpoint URL (optional)",
            "url",
            &form.endpoint_url,
            Some("For emulators and VPC endpoints: every AWS call goes here.".into()),
            false,
        ),
        field(
            "invoke_url_template",
            "Invoke URL template (optional)",
            "text",
            &form.invoke_url_template,
            Some("Placeholders {restApiId}, {region} and {stage}.".into()),
            false,
        ),
    ];
    let access_key = vec![
        field(
            "access_key_id",
            "Access key id",
            "text",
            &form.access_key_id,
            stored
                .and_then(|s| s.access_key_id_masked.clone())
                .map(|masked| format!("Currently {masked} — leave empty to keep it.")),
            false,
        ),
        field(
            "secret_access_key",
            "Secret access key",
            "password",
            "",
            kept(stored.is_some_and(|s| s.secret_access_key_set)),
            false,
        ),
        field(
            "session_token",
            "Session token (optional)",
            "password",
            "",
            kept(stored.is_some_and(|s| s.session_token_set)),
            false,
        ),
    ];
    let assume_role = vec![
        field("role_arn", "Role ARN", "text", &form.role_arn, None, false),
        field(
            "external_id",
            "External id (optional)",
            "text",
            &form.external_id,
            None,
            false,
        ),
        field(
            "session_name",
            "Session name (optional)",
            "text",
            &form.session_name,
            None,
            false,
        ),
    ];
    let kind = if form.credential_type.is_empty() {
        "accessKey"
    } else {
        form.credential_type.as_str()
    };
    let kinds = [
        ("accessKey", "Access key"),
        ("assumeRole", "Assume role"),
        ("default", "Default credential chain"),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value,
        label,
        checked: value == kind,
    })
    .collect();
    let (title, action, submit) = match editing {
        Some((name, _)) => (
            format!("Edit environment {name}"),
            format!("/console/admin/environments/{name}/edit"),
            "Save changes",
        ),
        None => (
            "New environment".to_owned(),
            "/console/admin/environments/new".to_owned(),
            "Create environment",
        ),
    };
    EnvironmentFormPage {
        chrome: Some(chrome),
        title,
        action,
        submit,
        version: form.version,
        check_first: editing.is_none().then_some(form.check_first.is_some()),
        session_token_removable: stored.is_some_and(|s| s.session_token_set),
        problems,
        fields,
        kinds,
        kind_error: error_of("credential_type"),
        access_key,
        assume_role,
    }
}

/// A refused write: the form again, each error next to its field, with the status the
/// REST API answers; any other failure is the error page.
fn refused(
    chrome: Chrome,
    form: &EnvironmentForm,
    editing: Option<(&str, &Stored)>,
    error: ServiceError,
) -> Result<Response, ConsoleError> {
    let (status, errors, problems) = match error {
        ServiceError::Validation(errors) => (StatusCode::BAD_REQUEST, errors, vec![]),
        ServiceError::Conflict(detail) => (StatusCode::CONFLICT, vec![], vec![detail]),
        ServiceError::PreconditionFailed => (
            StatusCode::PRECONDITION_FAILED,
            vec![],
            vec![
                "This environment was changed by someone else since you opened it; reload \
                 the page to see the changes, then edit again."
                    .into(),
            ],
        ),
        ServiceError::Unprocessable { detail, .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, vec![], vec![detail])
        }
        ServiceError::UnstorableText => (
            StatusCode::BAD_REQUEST,
            vec![],
            vec![crate::service::error::UNSTORABLE_TEXT.into()],
        ),
        other => return Err(other.into()),
    };
    let page = form_page(chrome, form, editing, &errors, problems);
    Ok((status, render(&page)?).into_response())
}

pub async fn new_form(
    InArea { session, .. }: InArea<AdminScope>,
) -> Result<Html<String>, ConsoleError> {
    let form = EnvironmentForm {
        credential_type: "accessKey".into(),
        ..Default::default()
    };
    render(&form_page(session.chrome(), &form, None, &[], vec![]))
}

pub async fn create(
    State(state): State<AppState>,
    CsrfForm { session, form }: CsrfForm<EnvironmentForm>,
) -> Result<Response, ConsoleError> {
    session.require::<AdminScope>()?;
    let result = match form.parse(true) {
        Ok(spec) => {
            let check_first = form.check_first.is_some();
            service::create(&state, spec, check_first, &session.actor).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(row) => Ok(see_other(&format!(
            "/console/admin/environments?created={}",
            row.name
        ))),
        Err(error) => refused(session.chrome(), &form, None, error),
    }
}

pub async fn edit_form(
    InArea { session, .. }: InArea<AdminScope>,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    let row = service::find(&state, &name).await?;
    let form = EnvironmentForm::from_row(&row);
    let stored = Stored::of(&row);
    render(&form_page(
        session.chrome(),
        &form,
        Some((&row.name, &stored)),
        &[],
        vec![],
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    CsrfForm { session, form }: CsrfForm<EnvironmentForm>,
) -> Result<Response, ConsoleError> {
    session.require::<AdminScope>()?;
    let version = form.version.ok_or_else(|| {
        ConsoleError::BadRequest("the form lacks the version it was opened at".into())
    })?;
    let current = service::find(&state, &name).await?;
    let stored = Stored::of(&current);
    let precondition = Precondition::one_of(vec![version]);
    let result = match form.parse(false) {
        Ok(spec) => service::replace(&state, &name, spec, &precondition, &session.actor).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(row) => Ok(see_other(&format!(
            "/console/admin/environments?updated={}",
            row.name
        ))),
        Err(error) => refused(
            session.chrome(),
            &form,
            Some((&current.name, &stored)),
            error,
        ),
    }
}

/// The check form carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CheckForm {}

#[derive(Template)]
#[template(path = "console/admin/environment_check.html")]
pub struct CheckPage {
    pub chrome: Option<Chrome>,
    pub name: String,
    pub report: CheckReport,
}

pub async fn check(
    State(state): State<AppState>,
    Path(name): Path<String>,
    CsrfForm { session, .. }: CsrfForm<CheckForm>,
) -> Result<Html<String>, ConsoleError> {
    session.require::<AdminScope>()?;
    let row = service::find(&state, &name).await?;
    let report = service::check(&state, &row.id.to_string()).await?;
    render(&CheckPage {
        chrome: Some(session.chrome()),
        name: row.name,
        report,
    })
}

fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}
