//! API designs and their revisions: writes that the API's deployments guard. A forced
//! delete undeploys everywhere first and answers at once; the worker deletes the API after
//! the last undeploy.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::audit::{self, Change};
use super::guards::{refuse_if_deleting, refuse_if_live};
use super::{Actor, AppState, Precondition, ServiceError, deployments, key_managers};
use crate::domain::api::ApiDesign;
use crate::domain::ids::{ApiId, RevisionId};
use crate::domain::openapi::security::{DeclaredScheme, SchemeType, names_key_manager};
use crate::domain::openapi::update::{ResourceChanges, keep_held, resource_changes};
use crate::domain::openapi::{self, Defaults, ImportedDesign, Overrides};
use crate::domain::validation::FieldError;
use crate::store::RowLock;
use crate::store::apis::{self as store, ApiRow, WriteError};
use crate::store::deployments as deployment_store;
use crate::store::key_managers::{self as key_manager_store, KeyManagerRow};
use crate::store::revisions::{self, CreateOutcome, RevisionRow};

/// A refused write of `design` as the API `id` (`None`: a new one). A context taken by a
/// write that committed after this one's check is looked up again to be named.
pub(super) async fn write_error(
    state: &AppState,
    error: WriteError,
    design: &ApiDesign,
    id: Option<ApiId>,
) -> ServiceError {
    match error {
        WriteError::DuplicateNameVersion => ServiceError::Conflict(format!(
            "an API named `{}` with version `{}` already exists",
            design.name.as_str(),
            design.version.as_str()
        )),
        WriteError::DuplicateContextVersion => {
            match refuse_taken_context(&state.db, design, id).await {
                Err(taken) => taken,
                Ok(()) => ServiceError::Conflict(format!(
                    "another API has the context `{}` with version `{}`",
                    design.context.as_str(),
                    design.version.as_str()
                )),
            }
        }
        WriteError::Database(e) => e.into(),
    }
}

/// Refuses a design at another API's address: context and version say which API a
/// developer calls, so they belong to one API (the unique index of migration 0042 is the
/// backstop of this check).
pub(super) async fn refuse_taken_context(
    db: impl sqlx::PgExecutor<'_>,
    design: &ApiDesign,
    id: Option<ApiId>,
) -> Result<(), ServiceError> {
    let (context, version) = (design.context.as_str(), design.version.as_str());
    match store::at_context(db, context, version, id).await? {
        Some(holder) => Err(ServiceError::Conflict(format!(
            "API `{}` (id {}) already has the context `{context}` with version `{version}`; \
             give this one another context or version",
            holder.design.name.as_str(),
            holder.id
        ))),
        None => Ok(()),
    }
}

/// Refuses a design with more resources than AWS will hold: found now, not at the
/// first deploy after a long wait in the queue.
pub(super) fn refuse_too_many_resources(
    state: &AppState,
    design: &ApiDesign,
) -> Result<(), ServiceError> {
    let count = design.aws_resource_count();
    let limit = state.config.max_resources_per_api;
    if count > limit as usize {
        return Err(ServiceError::field(
            "resources",
            format!(
                "this API has {count} resources as AWS counts them (the root `/` and every \
                 path with its parent segments); the limit is {limit} \
                 (FEDGATE_MAX_RESOURCES_PER_API; AWS's default quota is 300 per REST API)"
            ),
        ));
    }
    Ok(())
}

/// The design with each managed policy naming its key manager by name: one given by id
/// is stored by its name. Refuses a key manager that is not registered, naming every
/// such field. Reads the pool, so call it before a transaction opens.
pub(super) async fn resolve_key_managers<'d>(
    state: &AppState,
    design: &'d ApiDesign,
) -> Result<Cow<'d, ApiDesign>, ServiceError> {
    if !design.has_managed_policies() {
        return Ok(Cow::Borrowed(design));
    }
    let mut resolved = design.clone();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut errors = Vec::new();
    for (field, policy) in resolved.managed_policies_mut() {
        let name = match names.get(&policy.key_manager) {
            Some(name) => name.clone(),
            None => {
                let name = key_managers::lookup(state, &policy.key_manager)
                    .await?
                    .map(|km| km.name);
                names.insert(policy.key_manager.clone(), name.clone());
                name
            }
        };
        match name {
            Some(name) => policy.key_manager = name,
            None => errors.push(FieldError::new(
                field,
                format!(
                    "no key manager is named or has the id `{}`",
                    policy.key_manager
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(Cow::Owned(resolved))
}

/// Holds the key managers the design's managed policies name until the write commits;
/// one deleted or renamed since `resolve_key_managers` looked it up refuses the write.
pub(super) async fn lock_key_managers(
    tx: &mut sqlx::PgConnection,
    design: &ApiDesign,
) -> Result<(), ServiceError> {
    let named = design.managed_key_managers();
    if named.is_empty() {
        return Ok(());
    }
    let found = key_manager_store::lock_names(tx, &named).await?;
    match named.iter().find(|n| !found.iter().any(|f| f == *n)) {
        Some(gone) => Err(ServiceError::Conflict(format!(
            "key manager `{gone}` was deleted or renamed meanwhile; name a registered one"
        ))),
        None => Ok(()),
    }
}

/// Stores a validated new design (created, or imported from OpenAPI).
pub async fn create(
    state: &AppState,
    design: &ApiDesign,
    actor: &Actor,
) -> Result<ApiRow, ServiceError> {
    let change = Change::new("apis.create", "apis");
    audit::attempt(state, actor, change.clone(), async {
        let design = &*resolve_key_managers(state, design).await?;
        refuse_too_many_resources(state, design)?;
        let mut tx = state.db.begin().await?;
        lock_key_managers(&mut tx, design).await?;
        refuse_taken_context(&mut *tx, design, None).await?;
        let row = match store::insert(&mut *tx, design, actor.name()).await {
            Ok(row) => row,
            Err(e) => return Err(write_error(state, e, design, None).await),
        };
        audit::record(&mut *tx, actor, &change.on(row.id)).await?;
        tx.commit().await?;
        tracing::info!(api = %row.id, name = design.name.as_str(), "created an API");
        Ok(row)
    })
    .await
}

/// Replaces the design if `precondition` accepts the current version; the row stays
/// locked from the check to the write, so of two writers that read one version one wins.
pub async fn replace(
    state: &AppState,
    id: ApiId,
    design: &ApiDesign,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<ApiRow, ServiceError> {
    let change = Change::new("apis.update", "apis").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let design = &*resolve_key_managers(state, design).await?;
        refuse_too_many_resources(state, design)?;
        let mut tx = state.db.begin().await?;
        let current = store::lock(&mut tx, id, RowLock::Update)
            .await?
            .ok_or(ServiceError::NotFound("API"))?;
        precondition.check(current.version)?;
        refuse_if_deleting(&current)?;
        lock_key_managers(&mut tx, design).await?;
        refuse_taken_context(&mut *tx, design, Some(id)).await?;
        let row = match store::update(&mut tx, id, design, actor.name()).await {
            Ok(row) => row,
            Err(e) => return Err(write_error(state, e, design, Some(id)).await),
        };
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        Ok(row)
    })
    .await
}

/// An API created or updated from an OpenAPI document, and what the import says of it.
pub struct FromDocument {
    pub row: ApiRow,
    /// What was adapted or left out, named by where the document says it.
    pub warnings: Vec<FieldError>,
    /// The security schemes the document declares, with the key manager each names.
    pub security_schemes: Vec<DeclaredScheme>,
    /// For an update: the resources added, removed and changed.
    pub changes: Option<ResourceChanges>,
}

/// Creates an API from an OpenAPI 3.0/3.1 or Swagger 2.0 document (a JSON object, or
/// JSON or YAML text); `overrides` win over what the document says.
pub async fn import(
    state: &AppState,
    document: &Value,
    overrides: Overrides,
    actor: &Actor,
) -> Result<FromDocument, ServiceError> {
    let imported = read_document(state, document, overrides, Defaults::default(), None).await?;
    let row = create(state, &imported.design, actor).await?;
    Ok(FromDocument {
        row,
        warnings: imported.warnings,
        security_schemes: imported.security_schemes,
        changes: None,
    })
}

/// Replaces an API's design with what a document describes, as `replace` does (same
/// precondition, guards and audit), keeping what fedgate holds and the document does
/// not say: CORS, key managers, policies (a resource's while its method and path
/// exist; they win over managed ones the document's security implies), and the context
/// and endpoint when the document names none.
pub async fn update_from_document(
    state: &AppState,
    id: ApiId,
    document: &Value,
    overrides: Overrides,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<FromDocument, ServiceError> {
    let current = get(state, id).await?;
    let defaults = Defaults {
        context: Some(current.design.context.as_str().to_owned()),
        endpoint_url: Some(current.design.endpoint_url.as_str().to_owned()),
    };
    let imported =
        read_document(state, document, overrides, defaults, Some(&current.design)).await?;
    let changes = resource_changes(&current.design, &imported.design);
    // Merged onto the version read: a change made meanwhile fails the write.
    let pinned = precondition.pinned(current.version);
    let row = replace(state, id, &imported.design, &pinned, actor).await?;
    Ok(FromDocument {
        row,
        warnings: imported.warnings,
        security_schemes: imported.security_schemes,
        changes: Some(changes),
    })
}

/// The design a document describes, with what fedgate holds of the API `current` (an
/// update), secured by managed policies where its security requirements name a
/// registered key manager.
async fn read_document(
    state: &AppState,
    document: &Value,
    overrides: Overrides,
    defaults: Defaults,
    current: Option<&ApiDesign>,
) -> Result<ImportedDesign, ServiceError> {
    let mut imported = openapi::import(document, overrides, defaults)
        .map_err(|error| ServiceError::Validation(vec![error]))?
        .into_design()
        .map_err(ServiceError::Validation)?;
    match_key_managers(state, &mut imported).await?;
    if let Some(current) = current {
        keep_held(&mut imported.design, imported.declares, current);
    }
    // After keep_held: what the API holds wins over what its security implies.
    imported.secure();
    Ok(imported)
}

/// Matches the document's token schemes to the registered key managers (by issuer or
/// token URL).
async fn match_key_managers(
    state: &AppState,
    imported: &mut ImportedDesign,
) -> Result<(), ServiceError> {
    let token_schemes = |s: &&mut DeclaredScheme| {
        matches!(
            s.scheme_type,
            SchemeType::OAuth2 | SchemeType::OpenIdConnect
        ) && !s.urls.is_empty()
    };
    if !imported
        .security_schemes
        .iter_mut()
        .any(|s| token_schemes(&s))
    {
        return Ok(());
    }
    let managers = all_key_managers(state).await?;
    for scheme in imported.security_schemes.iter_mut().filter(token_schemes) {
        let named = managers.iter().find(|km| {
            scheme
                .urls
                .iter()
                .any(|url| names_key_manager(url, &km.issuer, &km.token_endpoint))
        });
        if let Some(km) = named {
            scheme.key_manager = Some(km.name.clone());
            imported.warnings.push(FieldError::new(
                &scheme.field,
                format!(
                    "names the registered key manager `{}`: the operations that require \
                     it are secured by a fedgate-managed authorizer with their scopes",
                    km.name
                ),
            ));
        }
    }
    Ok(())
}

async fn all_key_managers(state: &AppState) -> Result<Vec<KeyManagerRow>, ServiceError> {
    const PAGE: i64 = 200;
    let mut all: Vec<KeyManagerRow> = Vec::new();
    loop {
        let page = key_managers::list(state, all.last().map(|k| k.id), PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

pub enum Deletion {
    Deleted,
    /// Undeploys are queued; the API is deleted after the last one (`deleting: true`).
    Started(Box<ApiRow>),
}

/// Deletes an API that is deployed nowhere, if `precondition` accepts its version; with
/// `force`, undeploys it everywhere first. The guard and the change are one transaction
/// holding the API's row, so no deploy can slip in between.
pub async fn delete(
    state: &AppState,
    id: ApiId,
    force: bool,
    precondition: &Precondition,
    actor: &Actor,
) -> Result<Deletion, ServiceError> {
    let change = Change::new("apis.delete", "apis").on(id);
    audit::attempt(state, actor, change.clone(), async {
        let mut tx = state.db.begin().await?;
        let api = store::lock(&mut tx, id, RowLock::Update)
            .await?
            .ok_or(ServiceError::NotFound("API"))?;
        precondition.check(api.version)?;
        let live = deployment_store::live(&mut *tx, Some(id), None).await?;
        if live.is_empty() {
            store::delete(&mut *tx, id).await?;
            audit::record(&mut *tx, actor, &change).await?;
            tx.commit().await?;
            tracing::info!(api = %id, "deleted an API");
            return Ok(Deletion::Deleted);
        }
        if !force {
            refuse_if_live(&live, "undeploy the API first, or delete with force=true")?;
        }
        if !api.deleting {
            store::set_deleting(&mut *tx, id, true, None).await?;
        }
        deployments::queue_undeploys(&mut tx, id, actor.name()).await?;
        let row = store::get(&mut *tx, id)
            .await?
            .ok_or(ServiceError::NotFound("API"))?;
        let change = Change {
            action: "apis.delete-started",
            ..change
        };
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        state.jobs_waker.notify_waiters();
        tracing::info!(api = %id, "deleting an API: undeploying it everywhere first");
        Ok(Deletion::Started(Box::new(row)))
    })
    .await
}

/// Snapshots the API's current design as its next revision.
pub async fn create_revision(
    state: &AppState,
    api_id: ApiId,
    description: &str,
    actor: &Actor,
) -> Result<RevisionRow, ServiceError> {
    let change = Change::new("apis.revisions.create", "apis").on(api_id);
    audit::attempt(state, actor, change.clone(), async {
        let api = deployments::find_api(state, api_id).await?;
        refuse_if_deleting(&api)?;
        let max_kept = state.config.max_revisions_per_api;
        let mut tx = state.db.begin().await?;
        let created = revisions::create(
            &mut tx,
            api_id,
            description,
            actor.name(),
            i64::from(max_kept),
        )
        .await?;
        let row = match created {
            CreateOutcome::Created(row) => row,
            CreateOutcome::ApiNotFound => return Err(ServiceError::NotFound("API")),
            CreateOutcome::AtCap => {
                return Err(ServiceError::Conflict(format!(
                    "the API already keeps {max_kept} revisions, the most allowed \
                     (max_revisions_per_api); delete one it no longer needs first"
                )));
            }
        };
        audit::record(&mut *tx, actor, &change).await?;
        tx.commit().await?;
        tracing::info!(api = %api_id, number = row.number, "created a revision");
        Ok(*row)
    })
    .await
}

/// Deletes a revision no live deployment holds or is about to; the guard and the delete
/// share one transaction holding the API's row, which every deploy request share-locks.
pub async fn delete_revision(
    state: &AppState,
    api_id: ApiId,
    id: RevisionId,
    actor: &Actor,
) -> Result<(), ServiceError> {
    let change = Change::new("apis.revisions.delete", "apis").on(api_id);
    audit::attempt(state, actor, change.clone(), async {
        let mut tx = state.db.begin().await?;
        store::lock(&mut tx, api_id, RowLock::Update)
            .await?
            .ok_or(ServiceError::NotFound("API"))?;
        let live = deployment_store::live(&mut *tx, Some(api_id), None).await?;
        let using: Vec<_> = live
            .into_iter()
            .filter(|d| d.revision_id == Some(id) || d.target_revision_id == Some(id))
            .collect();
        refuse_if_live(&using, "the revision is deployed")?;
        if !revisions::delete(&mut *tx, api_id, id).await? {
            return Err(ServiceError::NotFound("revision"));
        }
        audit::record(&mut *tx, actor, &change).await?;
        Ok(tx.commit().await?)
    })
    .await
}

pub async fn get(state: &AppState, id: ApiId) -> Result<ApiRow, ServiceError> {
    deployments::find_api(state, id).await
}

pub async fn list(
    state: &AppState,
    filter: &store::ApiFilter,
    after: Option<ApiId>,
    limit: i64,
) -> Result<Vec<ApiRow>, ServiceError> {
    Ok(store::list(&state.db, filter, after, limit).await?)
}

pub async fn revisions(
    state: &AppState,
    api_id: ApiId,
    after: Option<RevisionId>,
    limit: i64,
) -> Result<Vec<RevisionRow>, ServiceError> {
    deployments::find_api(state, api_id).await?;
    Ok(revisions::list(&state.db, api_id, after, limit).await?)
}

pub async fn revision(
    state: &AppState,
    api_id: ApiId,
    id: RevisionId,
) -> Result<RevisionRow, ServiceError> {
    revisions::get(&state.db, api_id, id)
        .await?
        .ok_or(ServiceError::NotFound("revision"))
}
