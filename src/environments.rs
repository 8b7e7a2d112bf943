//! Environment rules that need storage or secrets: turning a validated request into the
//! row to write (keeping stored secrets a PUT omits), and a row into AWS clients.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::aws::clients::{AwsTarget, EnvironmentClients, ResolvedCredentials};
use crate::domain::environment::{CredentialsSpec, EnvironmentSpec, SecretInput};
use crate::domain::ids::EnvironmentId;
use crate::domain::validation::FieldError;
use crate::http::AppState;
use crate::outbound::OutboundError;
use crate::secrets::Keyring;
use crate::store::environments::{EnvironmentRow, EnvironmentWrite, StoredCredentials};
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
pub fn to_write(
    spec: EnvironmentSpec,
    id: EnvironmentId,
    existing: Option<&EnvironmentRow>,
    keyring: &Keyring,
    actor: &str,
) -> Result<EnvironmentWrite, ApiOrFieldError> {
    let field = |name: &str, reason: &str| {
        ApiOrFieldError::Fields(vec![FieldError::new(
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
                Some(row) if same_key => {
                    open_secrets(row, keyring).map_err(ApiOrFieldError::Internal)?
                }
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

/// A request-shaped failure, or an internal one (a secret that no longer opens).
#[derive(Debug)]
pub enum ApiOrFieldError {
    Fields(Vec<FieldError>),
    Internal(anyhow::Error),
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
pub enum ClientsError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The cached SDK clients of a stored environment, rebuilt when its version changes.
pub async fn clients_for(
    state: &AppState,
    row: &EnvironmentRow,
) -> Result<Arc<EnvironmentClients>, ClientsError> {
    let target = aws_target(row, &state.keyring)?;
    let clients = state
        .aws_clients
        .get_or_build(row.id, row.version, async || {
            EnvironmentClients::build(&target, &state.outbound, state.aws_timeouts).await
        })
        .await?;
    Ok(clients)
}
