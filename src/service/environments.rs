//! Gateway environments: registering (optionally after a live check), replacing and
//! deleting them under the guards of their live deployments, the live check, and the
//! connector of an environment's gateway. Secrets a PUT omits are kept.

use std::sync::Arc;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::guards::refuse_if_live;
use super::{Actor, AppState, Precondition, ServiceError};
use crate::aws::check::{CheckItem, CheckReport};
use crate::aws::clients::{AwsTarget, ResolvedCredentials};
use crate::aws::connector::{GatewayConnector, GatewayTarget};
use crate::domain::environment::{CredentialsSpec, EnvironmentSpec, SecretInput};
use crate::domain::ids::EnvironmentId;
use crate::domain::validation::FieldError;
use crate::outbound::OutboundError;
use crate::secrets::Keyring;
use crate::store::RowLock;
use crate::store::deployments as deployment_store;
use crate::store::environments::{
    self as store, EnvironmentRow, EnvironmentWrite, StoredCredentials,
};
use crate::store::rotation::environment_context;

/// The secret credential fields, sealed together as one JSON document.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretFields {
    secret_access_key: String,
    session_token: Option<String>,
}

struct OpenedSecrets {
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
}

fn open_secrets(row: &EnvironmentRow, keyring: &Keyring) -> anyhow::Result<Option<OpenedSecrets>> {
    let Some(sealed) = row.sealed_secrets() else {
        return Ok(None);
    };
    let plaintext = keyring.open(&sealed, &environment_context(&row.id.to_string()))?;
    let fields: SecretFields = serde_json::from_slice(plaintext.expose_secret())?;
    Ok(Some(OpenedSecrets {
        secret_access_key: SecretString::from(fields.secret_access_key),
        session_token: fields.session_token.map(SecretString::from),
    }))
}

/// The row to write for `spec`: on an update, secrets the request omits are kept —
/// but only while the access key id they belong to stays the same.
fn to_write(
    spec: EnvironmentSpec,
    id: EnvironmentId,
    existing: Option<&EnvironmentRow>,
    keyring: &Keyring,
    actor: &str,
) -> Result<EnvironmentWrite, ServiceError> {
    let field = |name: &str, reason: &str| {
        ServiceError::Validation(vec![FieldError::new(
            format!("config.credentials.{name}"),
            reason,
        )])
    };
    let (credentials, secrets) = match spec.credentials {
        CredentialsSpec::AccessKey {
            access_key_id,
            secret_access_key,
            session_token,
        } => {
            let stored_key_id = existing.and_then(|row| match &row.credentials.0 {
                StoredCredentials::AccessKey { access_key_id, .. } => Some(access_key_id.clone()),
                _ => None,
            });
            let access_key_id =
                access_key_id
                    .or_else(|| stored_key_id.clone())
                    .ok_or_else(|| {
                        field(
                            "accessKeyId",
                            "is required: the environment has no stored access key",
                        )
                    })?;
            let same_key = stored_key_id.as_deref() == Some(access_key_id.as_str());
            let stored = match existing {
                Some(row) if same_key => open_secrets(row, keyring)?,
                _ => None,
            };
            let secret_access_key = match secret_access_key {
                SecretInput::New(secret) => secret,
                SecretInput::Keep => stored
                    .as_ref()
                    .map(|s| s.secret_access_key.clone())
                    .ok_or_else(|| {
                        field(
                            "secretAccessKey",
                            "is required when the access key id changes",
                        )
                    })?,
            };
            let session_token = match session_token {
                Some(SecretInput::New(token)) => Some(token),
                Some(SecretInput::Keep) => stored.and_then(|s| s.session_token),
                None => None,
            };
            let has_session_token = session_token.is_some();
            let fields = SecretFields {
                secret_access_key: secret_access_key.expose_secret().to_owned(),
                session_token: session_token.map(|t| t.expose_secret().to_owned()),
            };
            let plaintext = serde_json::to_vec(&fields).expect("serialising strings cannot fail");
            let sealed = keyring.seal(&plaintext, &environment_context(&id.to_string()));
            (
                StoredCredentials::AccessKey {
                    access_key_id,
                    has_session_token,
                },
                Some(sealed),
            )
        }
        CredentialsSpec::AssumeRole {
            role_arn,
            external_id,
            session_name,
        } => (
            StoredCredentials::AssumeRole {
                role_arn: role_arn.as_str().to_owned(),
                external_id,
                session_name,
            },
            None,
        ),
        CredentialsSpec::Default => (StoredCredentials::Default, None),
    };
    Ok(EnvironmentWrite {
        id,
        name: spec.name.as_str().to_owned(),
        display_name: spec.display_name,
        description: spec.description,
        region: spec.region.as_str().to_owned(),
        stage: spec.stage.as_str().to_owned(),
        endpoint_url: spec.endpoint_url.map(|u| u.to_string()),
        invoke_url_template: spec.invoke_url_template,
        credentials,
        secrets,
        actor: actor.to_owned(),
    })
}

/// Where and as whom to call AWS for this environment (secrets opened here, in memory).
pub fn aws_target(row: &EnvironmentRow, keyring: &Keyring) -> anyhow::Result<AwsTarget> {
    let credentials = match &row.credentials.0 {
        StoredCredentials::AccessKey { access_key_id, .. } => {
            let secrets = open_secrets(row, keyring)?.ok_or_else(|| {
                anyhow::anyhow!("environment {} has no stored secret key", row.name)
            })?;
            ResolvedCredentials::Static {
                access_key_id: access_key_id.clone(),
                secret_access_key: secrets.secret_access_key,
                session_token: secrets.session_token,
            }
        }
        StoredCredentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
        } => ResolvedCredentials::AssumeRole {
            role_arn: role_arn.clone(),
            external_id: external_id.clone(),
            session_name: session_name.clone(),
        },
        StoredCredentials::Default => ResolvedCredentials::DefaultChain,
    };
    let endpoint_url = row
        .endpoint_url
        .as_deref()
        .map(url::Url::parse)
        .transpose()?;
    Ok(AwsTarget {
        region: row.region.clone(),
        endpoint_url,
        credentials,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The outbound guard refused the environment's endpoint.
    #[error(transparent)]
    Refused(#[from] OutboundError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<ConnectError> for ServiceError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Refused(refused) => ServiceError::Unprocessable {
                detail: refused.to_string(),
                extra: Default::default(),
            },
            ConnectError::Internal(e) => ServiceError::Internal(e),
        }
    }
}

/// Where the gateway counts control-plane quotas: the AWS account (or, before a check has
/// told it, the environment standing in for it) and the region.
fn quota_scope(row: &EnvironmentRow) -> String {
    let account = row
        .account_id
        .clone()
        .unwrap_or_else(|| format!("environment:{}", row.id));
    format!("{account}/{}", row.region)
}

/// The connector of a stored environment's gateway (cached until the environment changes).
pub async fn connect(
    state: &AppState,
    row: &EnvironmentRow,
) -> Result<Arc<dyn GatewayConnector>, ConnectError> {
    let target = GatewayTarget {
        environment_id: row.id,
        version: row.version,
        aws: aws_target(row, &state.keyring)?,
        quota_scope: quota_scope(row),
    };
    Ok(state.gateways.connect(&target).await?)
}

/// An environment by id, or by name.
pub async fn find(state: &AppState, key: &str) -> Result<EnvironmentRow, ServiceError> {
    let row = match key.parse::<EnvironmentId>() {
        Ok(id) => store::get(&state.db, id).await?,
        Err(_) => store::get_by_name(&state.db, key).await?,
    };
    row.ok_or(ServiceError::NotFound("environment"))
}

pub async fn list(
    state: &AppState,
    after: Option<EnvironmentId>,
    limit: i64,
) -> Result<Vec<EnvironmentRow>, ServiceError> {
    Ok(store::list(&state.db, after, limit).await?)
}

/// Runs the live check; a target the outbound guard refuses is a failed check too.
async fn live_check(state: &AppState, row: &EnvironmentRow) -> Result<CheckReport, ServiceError> {
    match connect(state, row).await {
        Ok(connector) => Ok(connector.check().await),
        Err(ConnectError::Refused(refused)) => Ok(CheckReport {
            ok: false,
            account_id: None,
            principal_arn: None,
            credentials_provider: aws_target(row, &state.keyring)?
                .credentials
                .provider_name()
                .to_owned(),
            checks: vec![CheckItem {
                name: "outbound".into(),
                ok: false,
                detail: refused.to_string(),
            }],
        }),
        Err(ConnectError::Internal(e)) => Err(ServiceError::Internal(e)),
    }
}

/// Checks an environment against its gateway and remembers the account it authenticated
/// into (the quota scope of its deploys).
pub async fn check(state: &AppState, key: &str) -> Result<CheckReport, ServiceError> {
    let row = find(state, key).await?;
    let report = live_check(state, &row).await?;
    if let Some(account) = &report.account_id
        && report.ok
        && row.account_id.as_deref() != Some(account.as_str())
    {
        store::set_account_id(&state.db, row.id, account).await?;
    }
    Ok(report)
}

/// Registers an environment; with `check_first`, only if the live check passes.
pub async fn create(
    state: &AppState,
    spec: EnvironmentSpec,
    check_first: bool,
    actor: &Actor,
) -> Result<EnvironmentRow, ServiceError> {
    let id = EnvironmentId::new();
    let change = Change::new("environments.create", "environments").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let write = to_write(spec, id, None, &state.keyring, actor.name())?;
        if check_first {
            let report = live_check(state, &unsaved_row(&write)).await;
            state.gateways.forget(id);
            let report = report?;
            if !report.ok {
                return Err(check_failed(report));
            }
        }
        let mut tx = state.db.begin().await?;
        let row = store::insert(&mut *tx, &write)
            .await
            .map_err(|e| ServiceError::from_write(e, "an environment", &write.name))?;
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        tracing::info!(environment = %row.name, "registered an environment");
        Ok(row)
    })
    .await
}

/// The row a write would produce, for checking before anything is stored.
fn unsaved_row(write: &EnvironmentWrite) -> EnvironmentRow {
    let sealed = write.secrets.clone();
    EnvironmentRow {
        id: write.id,
        name: write.name.clone(),
        display_name: write.display_name.clone(),
        description: write.description.clone(),
        provider: "aws".into(),
        region: write.region.clone(),
        stage: write.stage.clone(),
        endpoint_url: write.endpoint_url.clone(),
        invoke_url_template: write.invoke_url_template.clone(),
        credentials: sqlx::types::Json(write.credentials.clone()),
        secret_key_id: sealed.as_ref().map(|s| s.key_id.clone()),
        secret_nonce: sealed.as_ref().map(|s| s.nonce.clone()),
        secret_ciphertext: sealed.map(|s| s.ciphertext),
        account_id: None,
        version: 0,
        created_by: write.actor.clone(),
        updated_by: write.actor.clone(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn check_failed(report: CheckReport) -> ServiceError {
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    let mut extra = serde_json::Map::new();
    extra.insert(
        "check".into(),
        serde_json::to_value(&report).expect("a report serialises"),
    );
    ServiceError::Unprocessable {
        detail: format!("the live check failed — {}", failed.join("; ")),
        extra,
    }
}

/// The live environment with this id or name, locked as `lock` says until `tx` ends.
async fn lock(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    key: &str,
    lock: RowLock,
) -> Result<EnvironmentRow, ServiceError> {
    let id = find(state, key).await?.id;
    store::lock(tx, id, lock)
        .await?
        .ok_or(ServiceError::NotFound("environment"))
}

/// Replaces an environment. Moving one that APIs are deployed to (region, stage or
/// endpoint) would strand their REST APIs, so it is refused while any is live; the guard
/// and the write share one transaction that holds the environment's row.
pub async fn replace(
    state: &AppState,
    key: &str,
    spec: EnvironmentSpec,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<EnvironmentRow, ServiceError> {
    let change = Change::new("environments.update", "environments").on(key);
    audit::attempt(state, actor, change, async {
        let mut tx = state.db.begin().await?;
        let current = lock(&mut tx, state, key, RowLock::Update).await?;
        let change = Change::new("environments.update", "environments").on(current.id);
        let row = replace_locked(state, &mut tx, current, spec, precondition, actor.name()).await?;
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        state.gateways.forget(row.id);
        Ok(row)
    })
    .await
}

async fn replace_locked(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    current: EnvironmentRow,
    spec: EnvironmentSpec,
    precondition: &Precondition,
    actor: &str,
) -> Result<EnvironmentRow, ServiceError> {
    precondition.check(current.version)?;
    let write = to_write(spec, current.id, Some(&current), &state.keyring, actor)?;
    if write.region != current.region
        || write.stage != current.stage
        || write.endpoint_url != current.endpoint_url
    {
        let live = deployment_store::live(&mut *tx, None, Some(current.id)).await?;
        refuse_if_live(
            &live,
            "region, stage and endpoint cannot change while APIs are deployed here",
        )?;
    }
    store::update(&mut *tx, &write, current.version)
        .await
        .map_err(|e| ServiceError::from_write(e, "an environment", &write.name))
}

/// Deletes an environment that no API is deployed to, if `precondition` accepts its
/// version; the guard and the delete share one transaction that holds the environment's
/// row, so no deploy can slip in between.
pub async fn delete(
    state: &AppState,
    key: &str,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let change = Change::new("environments.delete", "environments").on(key);
    audit::attempt(state, actor, change, async {
        let mut tx = state.db.begin().await?;
        let row = lock(&mut tx, state, key, RowLock::Update).await?;
        precondition.check(row.version)?;
        let live = deployment_store::live(&mut *tx, None, Some(row.id)).await?;
        refuse_if_live(&live, "undeploy these APIs first")?;
        store::delete(&mut *tx, row.id).await?;
        let change = Change::new("environments.delete", "environments").on(row.id);
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        state.gateways.forget(row.id);
        tracing::info!(environment = %row.name, "deleted an environment");
        Ok(())
    })
    .await
}
