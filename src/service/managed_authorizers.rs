//! The managed authorizers the deploy engine provisions: one Lambda function per key
//! manager and environment, serving every REST API there whose policies name that key
//! manager (one function rather than one per REST API: a single package holds every
//! API's scopes, the roles and the function are made once, and an API's first deploy
//! updates code instead of creating three resources).
//!
//! Its configuration (`config.json`: the key manager's issuer, JWKS and audience, and the
//! methods and scopes of each REST API) is made from the `managed_authorizer_users` rows,
//! and pushed only when its package's SHA-256 differs from the one recorded: a deploy
//! that changes nothing makes no AWS call for it. Every change happens under an advisory
//! lock per environment and key manager, so two deploys never push configurations missing
//! each other's REST API; the function goes when its last user does.

use std::collections::BTreeMap;

use sqlx::types::Json;
use url::Url;

use super::ServiceError;
use crate::aws::connector::{ConnectorError, GatewayConnector, ManagedAuthorizerSpec};
use crate::domain::api::ApiDesign;
use crate::domain::authorizer::{
    AuthorizerConfig, MethodScopes, bundle, code_sha256, key_manager_field, method_scopes,
};
use crate::domain::aws::StageName;
use crate::domain::ids::{DeploymentId, KeyManagerId};
use crate::domain::managed_authorizer::{ManagedArns, stem};
use crate::domain::plan::{ChangeOp, PlanChange};
use crate::domain::predeploy::Finding;
use crate::store::environments::EnvironmentRow;
use crate::store::key_managers::{self as key_manager_store, KeyManagerRow};
use crate::store::managed_authorizers::{self as store, ProvisionedRow, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Gateway(#[from] ConnectorError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The design or the key manager cannot make a configuration; retrying cannot help.
    #[error("{0}")]
    Invalid(String),
}

impl From<SyncError> for ServiceError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Gateway(e) => e.into(),
            SyncError::Database(e) => e.into(),
            SyncError::Invalid(m) => ServiceError::Conflict(m),
        }
    }
}

/// How a sync changes an authorizer's users.
enum UserChange {
    Add(UserRow),
    Remove(DeploymentId),
    Keep,
}

/// The key managers a design's managed policies name, with the methods each guards;
/// one that no longer exists is refused by name.
async fn key_managers_of(
    db: &sqlx::PgPool,
    design: &ApiDesign,
) -> Result<Vec<(KeyManagerRow, Vec<MethodScopes>)>, SyncError> {
    let (named, problems) = resolve(db, design).await?;
    match problems.first() {
        None => Ok(named),
        Some(problem) => Err(SyncError::Invalid(format!(
            "{}: {}; register it again or change the API's policies",
            problem.field, problem.reason
        ))),
    }
}

/// Whether `design` has a managed policy on any resource.
pub fn uses_any(design: &ApiDesign) -> bool {
    !method_scopes(design).is_empty()
}

/// Before a deploy pushes `design`: provisions (or updates) the authorizer of every key
/// manager it names, with this deployment's REST API in the configuration when it already
/// has one. Returns the ARNs by key manager name, for `translate`.
pub async fn before_deploy(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    deployment_id: DeploymentId,
    rest_api_id: Option<&str>,
    design: &ApiDesign,
) -> Result<BTreeMap<String, ManagedArns>, SyncError> {
    let mut arns = BTreeMap::new();
    for (key_manager, methods) in key_managers_of(db, design).await? {
        let change = match rest_api_id {
            Some(id) => UserChange::Add(user(deployment_id, id, environment, methods)),
            None => UserChange::Keep,
        };
        let provisioned = sync(db, connector, environment, &key_manager, change, true).await?;
        arns.insert(
            key_manager.name.clone(),
            provisioned.expect("kept while needed"),
        );
    }
    Ok(arns)
}

/// After a deploy pushed `design` to `rest_api_id`: the authorizers serve it (a first
/// deploy adds its new REST API here), and those of key managers it no longer names drop
/// it (and go when it was their last user).
pub async fn after_deploy(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    deployment_id: DeploymentId,
    rest_api_id: &str,
    design: &ApiDesign,
) -> Result<(), SyncError> {
    let named = key_managers_of(db, design).await?;
    for (key_manager, methods) in &named {
        let change = UserChange::Add(user(
            deployment_id,
            rest_api_id,
            environment,
            methods.clone(),
        ));
        sync(db, connector, environment, key_manager, change, true).await?;
    }
    let kept: Vec<KeyManagerId> = named.iter().map(|(km, _)| km.id).collect();
    sync_used(db, connector, environment, deployment_id, &kept, true).await
}

/// After an undeploy: the authorizers stop serving the deployment, and go when it was
/// their last user.
pub async fn after_undeploy(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    deployment_id: DeploymentId,
) -> Result<(), SyncError> {
    sync_used(db, connector, environment, deployment_id, &[], true).await
}

/// Brings the authorizers a deployment uses up to date with their key managers' settings.
pub async fn refresh(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    deployment_id: DeploymentId,
) -> Result<(), SyncError> {
    sync_used(db, connector, environment, deployment_id, &[], false).await
}

/// Syncs every authorizer the deployment uses but those of `kept`; with `remove`, the
/// deployment stops being one of their users.
async fn sync_used(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    deployment_id: DeploymentId,
    kept: &[KeyManagerId],
    remove: bool,
) -> Result<(), SyncError> {
    for key_manager_id in store::used_by(db, deployment_id).await? {
        if kept.contains(&key_manager_id) {
            continue;
        }
        if let Some(key_manager) = key_manager_store::get(db, key_manager_id).await? {
            let change = if remove {
                UserChange::Remove(deployment_id)
            } else {
                UserChange::Keep
            };
            sync(db, connector, environment, &key_manager, change, false).await?;
        }
    }
    Ok(())
}

fn user(
    deployment_id: DeploymentId,
    rest_api_id: &str,
    environment: &EnvironmentRow,
    methods: Vec<MethodScopes>,
) -> UserRow {
    UserRow {
        deployment_id,
        rest_api_id: rest_api_id.to_owned(),
        stage: environment.stage.clone(),
        methods: Json(methods),
    }
}

/// One step, under the lock of the environment and key manager: apply `change` to the
/// users, then make AWS hold the package they give. With no user left (and not `needed`)
/// the function and its roles are removed. A failed AWS call rolls the change back, so
/// the rows always describe what AWS holds.
async fn sync(
    db: &sqlx::PgPool,
    connector: &dyn GatewayConnector,
    environment: &EnvironmentRow,
    key_manager: &KeyManagerRow,
    change: UserChange,
    needed: bool,
) -> Result<Option<ManagedArns>, SyncError> {
    let mut tx = db.begin().await?;
    store::lock(&mut tx, environment.id, key_manager.id).await?;
    match &change {
        UserChange::Add(user) => {
            store::add_user(&mut *tx, environment.id, key_manager.id, user).await?
        }
        UserChange::Remove(deployment) => {
            store::remove_user(&mut *tx, *deployment, key_manager.id).await?
        }
        UserChange::Keep => {}
    }
    let users = store::users(&mut *tx, environment.id, key_manager.id).await?;
    let recorded = store::get(&mut *tx, environment.id, key_manager.id).await?;
    if users.is_empty() && !needed {
        if let Some(recorded) = recorded {
            connector
                .remove_managed_authorizer(&recorded.function_name)
                .await?;
            store::forget(&mut *tx, environment.id, key_manager.id).await?;
            tracing::info!(function = %recorded.function_name, "removed a managed authorizer nothing uses any more");
        }
        tx.commit().await?;
        return Ok(None);
    }
    let package = bundle(&configuration(key_manager, &users)?);
    let sha = code_sha256(&package);
    if let Some(recorded) = recorded.as_ref().filter(|r| r.code_sha256 == sha) {
        tx.commit().await?;
        return Ok(Some(recorded.arns()));
    }
    // A key manager renamed since keeps the function it has.
    let name = match recorded {
        Some(recorded) => recorded.function_name,
        None => function_name(key_manager, environment),
    };
    let provisioned = connector
        .ensure_managed_authorizer(&ManagedAuthorizerSpec {
            name: &name,
            package: &package,
            code_sha256: &sha,
            key_manager_id: &key_manager.id.to_string(),
            environment_id: &environment.id.to_string(),
        })
        .await?;
    let row = ProvisionedRow {
        environment_id: environment.id,
        key_manager_id: key_manager.id,
        function_name: name,
        function_arn: provisioned.function_arn,
        invoke_role_arn: provisioned.invoke_role_arn,
        code_sha256: sha,
    };
    store::record(&mut *tx, &row).await?;
    tx.commit().await?;
    tracing::info!(function = %row.function_name, "provisioned a managed authorizer");
    Ok(Some(row.arns()))
}

/// The start of a package's SHA-256, enough to tell two apart in a plan.
fn short_sha(sha: &str) -> String {
    format!("sha256:{}…", sha.get(..12).unwrap_or(sha))
}

fn function_name(key_manager: &KeyManagerRow, environment: &EnvironmentRow) -> String {
    stem(&key_manager.name, &environment.id.to_string())
}

/// The function's `config.json`: the key manager's settings and every user's methods.
fn configuration(
    key_manager: &KeyManagerRow,
    users: &[UserRow],
) -> Result<AuthorizerConfig, SyncError> {
    let jwks_uri = Url::parse(&key_manager.jwks_uri).map_err(|e| {
        SyncError::Invalid(format!(
            "the key manager `{}` has an invalid JWKS URI: {e}",
            key_manager.name
        ))
    })?;
    let mut config = AuthorizerConfig::new(
        &key_manager.issuer,
        &jwks_uri,
        key_manager.audience.as_deref(),
    );
    for user in users {
        let stage = StageName::parse(&user.stage).map_err(SyncError::Invalid)?;
        config = config.with_api(&user.rest_api_id, &stage, user.methods.0.iter().cloned());
    }
    Ok(config)
}

/// What deploying `design` would do to the managed authorizers, without touching AWS:
/// the ARNs already provisioned (for the plan's document) and the changes to show.
pub struct ManagedPlan {
    pub arns: BTreeMap<String, ManagedArns>,
    pub changes: Vec<PlanChange>,
    /// Problems a deploy would fail on (a key manager gone).
    pub problems: Vec<Finding>,
}

/// The key managers a design's managed policies name, and a finding for each that does
/// not exist (a pre-deploy problem: the deploy would fail on it).
async fn resolve(
    db: &sqlx::PgPool,
    design: &ApiDesign,
) -> Result<(Vec<(KeyManagerRow, Vec<MethodScopes>)>, Vec<Finding>), SyncError> {
    let (mut named, mut problems) = (Vec::new(), Vec::new());
    for (name, methods) in method_scopes(design) {
        match key_manager_store::get_by_name(db, &name).await? {
            Some(key_manager) => named.push((key_manager, methods)),
            None => problems.push(Finding {
                field: key_manager_field(design, &name).unwrap_or_default(),
                reason: format!("no key manager is named `{name}` (any more)"),
            }),
        }
    }
    Ok((named, problems))
}

/// The pre-deploy check of managed policies: every key manager they name exists.
pub async fn check(db: &sqlx::PgPool, design: &ApiDesign) -> Result<Vec<Finding>, SyncError> {
    Ok(resolve(db, design).await?.1)
}

pub async fn plan(
    db: &sqlx::PgPool,
    environment: &EnvironmentRow,
    deployment: Option<(DeploymentId, Option<&str>)>,
    design: &ApiDesign,
) -> Result<ManagedPlan, SyncError> {
    let mut result = ManagedPlan {
        arns: BTreeMap::new(),
        changes: Vec::new(),
        problems: Vec::new(),
    };
    let (named, problems) = resolve(db, design).await?;
    result.problems = problems;
    let (deployment_id, rest_api_id) = deployment.unzip();
    for (key_manager, methods) in &named {
        let mut users = store::users(db, environment.id, key_manager.id).await?;
        users.retain(|u| Some(u.deployment_id) != deployment_id);
        // Before the first deploy the REST API has no id yet: a placeholder stands in.
        let rest_api_id = rest_api_id.flatten().unwrap_or("(new REST API)");
        users.push(user(
            deployment_id.unwrap_or_else(DeploymentId::new),
            rest_api_id,
            environment,
            methods.clone(),
        ));
        let sha = code_sha256(&bundle(&configuration(key_manager, &users)?));
        let recorded = store::get(db, environment.id, key_manager.id).await?;
        match recorded {
            None => result.changes.push(PlanChange::function(
                ChangeOp::Add,
                &function_name(key_manager, environment),
                None,
                None,
                Some(serde_json::json!({"keyManager": key_manager.name})),
            )),
            Some(recorded) => {
                if recorded.code_sha256 != sha {
                    result.changes.push(PlanChange::function(
                        ChangeOp::Change,
                        &recorded.function_name,
                        Some("package"),
                        Some(short_sha(&recorded.code_sha256).into()),
                        Some(short_sha(&sha).into()),
                    ));
                }
                result
                    .arns
                    .insert(key_manager.name.clone(), recorded.arns());
            }
        }
    }
    if let Some(deployment_id) = deployment_id {
        for key_manager_id in store::used_by(db, deployment_id).await? {
            if named.iter().any(|(km, _)| km.id == key_manager_id) {
                continue;
            }
            let (Some(key_manager), Some(recorded)) = (
                key_manager_store::get(db, key_manager_id).await?,
                store::get(db, environment.id, key_manager_id).await?,
            ) else {
                continue;
            };
            let others = store::users(db, environment.id, key_manager_id)
                .await?
                .into_iter()
                .filter(|u| u.deployment_id != deployment_id)
                .count();
            let change = if others == 0 {
                PlanChange::function(ChangeOp::Remove, &recorded.function_name, None, None, None)
            } else {
                PlanChange::function(
                    ChangeOp::Change,
                    &recorded.function_name,
                    Some("serves"),
                    Some(format!("this API for {}", key_manager.name).into()),
                    Some("the other APIs only".into()),
                )
            };
            result.changes.push(change);
        }
    }
    Ok(result)
}
