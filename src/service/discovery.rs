//! Discovery: the REST APIs of an environment's account and region, and adopting one
//! fedgate did not create as a fedgate API deployed there.
//!
//! Adoption writes the API, its first revision and a `deployed` deployment (with the state
//! read from AWS as its baseline) in one transaction, and tags the REST API inside it,
//! after the writes and before the commit: a write that fails (a taken name or context)
//! leaves AWS untouched; a failed TagResource rolls everything back; and if the commit
//! fails after the tags, they name an API that does not exist in the discovering
//! environment — a claim a retried discover takes over (see `refuse_owned`). The only
//! change in AWS is the two ownership tags.

use std::collections::HashMap;

use super::apis::{
    lock_key_managers, refuse_taken_context, refuse_too_many_resources, resolve_key_managers,
    write_error,
};
use super::audit::{self, Change};
use super::environments;
use super::{Actor, AppState, ServiceError};
use crate::aws::apigateway::{TAG_API, TAG_ENVIRONMENT};
pub use crate::aws::connector::PagePosition;
use crate::aws::connector::{Ownership, RestApiSummary};
use crate::domain::api::ApiDesign;
use crate::domain::deployment::invocation_url;
use crate::domain::discovery::{self, RestApiFacts};
use crate::domain::ids::{ApiId, DeploymentId};
use crate::domain::openapi::Overrides;
use crate::domain::validation::FieldError;
use crate::store::RowLock;
use crate::store::apis::{self as api_store, ApiRow};
use crate::store::deployments::{self as deployment_store, AdoptedDeployment};
use crate::store::environments::{self as environment_store, EnvironmentRow};
use crate::store::revisions::{self, CreateOutcome};

/// A REST API of the account, and whether (and by which API) fedgate manages it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub api: RestApiSummary,
    /// Tagged with `fedgate:api`.
    pub managed: bool,
    /// The fedgate API the tag names, when it exists here.
    pub fedgate_api: Option<(ApiId, String)>,
    /// Tagged with this environment's id.
    pub in_this_environment: bool,
}

#[derive(Debug, Clone)]
pub struct ListedPage {
    pub items: Vec<Listed>,
    /// Where the next page starts; absent on the last.
    pub next: Option<PagePosition>,
}

/// One page of the REST APIs of the environment's account and region: one GetRestApis
/// page and a GetStages per REST API shown, so a page's work is bounded by `limit`.
pub async fn list(
    state: &AppState,
    environment_key: &str,
    from: &PagePosition,
    limit: usize,
) -> Result<ListedPage, ServiceError> {
    let environment = environments::find(state, environment_key).await?;
    let connector = environments::connect(state, &environment).await?;
    let page = connector.list_rest_apis(from, limit).await?;
    let tagged: Vec<ApiId> = page
        .items
        .iter()
        .filter_map(|api| api.tags.get(TAG_API)?.parse().ok())
        .collect();
    let names: HashMap<ApiId, String> = api_store::names(&state.db, &tagged)
        .await?
        .into_iter()
        .collect();
    let this_environment = environment.id.to_string();
    let items = page
        .items
        .into_iter()
        .map(|api| {
            let fedgate_api = api
                .tags
                .get(TAG_API)
                .and_then(|tag| tag.parse::<ApiId>().ok())
                .and_then(|id| Some((id, names.get(&id)?.clone())));
            Listed {
                managed: api.tags.contains_key(TAG_API),
                in_this_environment: api.tags.get(TAG_ENVIRONMENT) == Some(&this_environment),
                fedgate_api,
                api,
            }
        })
        .collect();
    Ok(ListedPage {
        items,
        next: page.next,
    })
}

/// What to adopt, and what to take instead of what the REST API says.
#[derive(Debug, Clone, Default)]
pub struct DiscoverRequest {
    /// The environment's name or id.
    pub environment: String,
    pub rest_api_id: String,
    /// Must be the environment's stage (its default).
    pub stage: Option<String>,
    pub overrides: Overrides,
}

/// The API made of an adopted REST API, its deployment, and what could not be mapped.
#[derive(Debug)]
pub struct Adopted {
    pub api: ApiRow,
    pub deployment_id: DeploymentId,
    pub warnings: Vec<FieldError>,
}

/// Turns an existing REST API into a fedgate API deployed to the environment, changing
/// nothing in AWS but the ownership tags.
pub async fn discover(
    state: &AppState,
    request: DiscoverRequest,
    actor: &Actor,
) -> Result<Adopted, ServiceError> {
    let api_id = ApiId::new();
    let change = Change::new("apis.discover", "apis")
        .on(api_id)
        .detail(format!(
            "adopt REST API {} of environment {}",
            request.rest_api_id, request.environment
        ));
    audit::attempt(state, actor, change.clone(), async {
        adopt(state, api_id, request, actor, &change).await
    })
    .await
}

async fn adopt(
    state: &AppState,
    api_id: ApiId,
    request: DiscoverRequest,
    actor: &Actor,
    change: &Change,
) -> Result<Adopted, ServiceError> {
    let rest_api_id = request.rest_api_id.as_str();
    check_rest_api_id(rest_api_id)?;
    let environment = environments::find(state, &request.environment).await?;
    if let Some(stage) = request.stage.as_deref().filter(|s| *s != environment.stage) {
        return Err(unprocessable(
            "stage",
            format!(
                "fedgate deploys to the environment's stage `{}`, so it can adopt only that \
                 stage; `{stage}` would be left behind by the next deploy. Omit stage, or \
                 register an environment whose stage is `{stage}`",
                environment.stage
            ),
        ));
    }
    refuse_recorded(&state.db, rest_api_id).await?;
    let connector = environments::connect(state, &environment).await?;
    let facts = connector
        .describe_for_adoption(rest_api_id)
        .await?
        .ok_or(ServiceError::NotFound("REST API"))?;
    refuse_owned(state, &facts.api.tags, &environment).await?;
    if !facts.api.stages.iter().any(|s| s.name == environment.stage) {
        let stages: Vec<&str> = facts.api.stages.iter().map(|s| s.name.as_str()).collect();
        return Err(unprocessable(
            "stage",
            format!(
                "the REST API has no stage `{}`, the environment's (its stages: {}); deploy it \
                 to that stage in AWS first, or register an environment with one of its stages",
                environment.stage,
                if stages.is_empty() {
                    "none".to_owned()
                } else {
                    stages.join(", ")
                }
            ),
        ));
    }
    let gateway = connector
        .read_state(rest_api_id, &environment.stage)
        .await?
        .ok_or(ServiceError::NotFound("REST API"))?;
    let mapped = discovery::map(
        &RestApiFacts {
            id: rest_api_id,
            name: &facts.api.name,
            description: facts.api.description.as_deref(),
            request_validators: facts.request_validators,
            models: facts.models,
        },
        &gateway,
        request.overrides,
    )
    .map_err(|e| ServiceError::Validation(vec![e]))?;
    let design = ApiDesign::parse(&mapped.draft).map_err(ServiceError::Validation)?;
    // Adoption writes the API itself, so it resolves key managers as every write does.
    let design = resolve_key_managers(state, &design).await?.into_owned();
    refuse_too_many_resources(state, &design)?;

    let mut tx = state.db.begin().await?;
    environment_store::lock(&mut tx, environment.id, RowLock::Share)
        .await?
        .ok_or(ServiceError::NotFound("environment"))?;
    deployment_store::lock_rest_api(&mut tx, rest_api_id).await?;
    refuse_recorded(&mut *tx, rest_api_id).await?;
    lock_key_managers(&mut tx, &design).await?;
    refuse_taken_context(&mut *tx, &design, None).await?;
    let api = match api_store::insert_as(&mut *tx, api_id, &design, actor.name()).await {
        Ok(row) => row,
        Err(e) => return Err(write_error(state, e, &design, None).await),
    };
    let revision = match revisions::create(
        &mut tx,
        api_id,
        "adopted from AWS by discovery",
        actor.name(),
        i64::from(state.config.max_revisions_per_api),
    )
    .await?
    {
        CreateOutcome::Created(row) => row,
        CreateOutcome::ApiNotFound | CreateOutcome::AtCap => {
            return Err(anyhow::anyhow!("the first revision of a new API was refused").into());
        }
    };
    let url = invocation_url(
        environment.invoke_url_template.as_deref(),
        rest_api_id,
        &environment.region,
        &environment.stage,
    );
    let deployment_id = deployment_store::insert_adopted(
        &mut tx,
        &AdoptedDeployment {
            api_id,
            environment_id: environment.id,
            revision_id: revision.id,
            rest_api_id,
            aws_deployment_id: gateway
                .stage
                .as_ref()
                .and_then(|s| s.deployment_id.as_deref()),
            invocation_url: &url,
            deployed_state: &gateway,
        },
        actor.name(),
    )
    .await?;
    audit::record(&mut *tx, actor, change).await?;
    let ownership = Ownership {
        api_id: api_id.to_string(),
        environment_id: environment.id.to_string(),
    };
    connector.tag_owned(rest_api_id, &ownership).await?;
    tx.commit().await?;
    tracing::info!(api = %api_id, rest_api_id, environment = %environment.name, "adopted a REST API");
    Ok(Adopted {
        api,
        deployment_id,
        warnings: mapped.warnings,
    })
}

/// API Gateway's ids are short strings of letters and digits.
fn check_rest_api_id(id: &str) -> Result<(), ServiceError> {
    let valid = (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(ServiceError::field(
            "restApiId",
            "must be an API Gateway REST API id: 1–64 letters and digits",
        ))
    }
}

/// Refuses a REST API a deployment already holds.
async fn refuse_recorded(
    db: impl sqlx::PgExecutor<'_>,
    rest_api_id: &str,
) -> Result<(), ServiceError> {
    match deployment_store::holding_rest_api(db, rest_api_id)
        .await?
        .first()
    {
        Some(holder) => Err(ServiceError::Conflict(format!(
            "the REST API {rest_api_id} is already deployment {} of API `{}` (id {}) in \
             environment `{}`",
            holder.id, holder.api_name, holder.api_id, holder.environment_name
        ))),
        None => Ok(()),
    }
}

/// Refuses a REST API tagged as another fedgate API's. Tags naming this environment and an
/// API that does not exist are an earlier discover's, which failed after tagging: taken
/// over.
async fn refuse_owned(
    state: &AppState,
    tags: &std::collections::BTreeMap<String, String>,
    environment: &EnvironmentRow,
) -> Result<(), ServiceError> {
    let Some(owner) = tags.get(TAG_API) else {
        return Ok(());
    };
    let existing = match owner.parse::<ApiId>() {
        Ok(id) => api_store::get(&state.db, id).await?,
        Err(_) => None,
    };
    if let Some(api) = existing {
        return Err(ServiceError::Conflict(format!(
            "the REST API is fedgate API `{}`'s (id {}, tag {TAG_API}): it is managed already",
            api.design.name.as_str(),
            api.id
        )));
    }
    let here = environment.id.to_string();
    match tags.get(TAG_ENVIRONMENT) {
        Some(tagged) if *tagged == here => Ok(()),
        tagged => Err(ServiceError::Conflict(format!(
            "the REST API is tagged as fedgate API {owner}'s in environment {} — another \
             fedgate's, or an environment's since deleted; remove its {TAG_API} and \
             {TAG_ENVIRONMENT} tags in AWS to adopt it here",
            tagged.map_or("(none)", String::as_str)
        ))),
    }
}

/// 422 naming a field: the request is well-formed, but the gateway's state refuses it.
fn unprocessable(field: &str, reason: String) -> ServiceError {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "errors".into(),
        serde_json::json!([{"field": field, "reason": reason}]),
    );
    ServiceError::Unprocessable {
        detail: format!("{field}: {reason}"),
        extra,
    }
}
