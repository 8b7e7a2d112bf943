//! An in-memory gateway for the service tests: it keeps REST APIs as a gateway would
//! (tags, document, stage, throttle), records every call by the AWS operation it stands
//! for, and can be made slow or failing. No network, no emulator.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::apigateway::{TAG_API, TAG_ENVIRONMENT};
use super::check::{CheckItem, CheckReport};
use super::connector::{
    AdoptionFacts, ConnectorError, DeployOutcome, DeployRequest, GatewayApi, GatewayConnector,
    GatewayTarget, Gateways, Ownership, PagePosition, RestApiPage, RestApiSummary, StageSummary,
};
use crate::domain::api::ApiDesign;
use crate::domain::gateway_state::{GatewayState, StageState};
use crate::domain::ids::EnvironmentId;
use crate::domain::predeploy::PredeployReport;
use crate::outbound::OutboundError;

/// A REST API as the fake gateway holds it.
#[derive(Debug, Clone)]
pub struct FakeApi {
    pub name: String,
    pub ownership: Ownership,
    pub document: Value,
    pub stage: String,
    pub stage_deployment_id: Option<String>,
    pub blocked: bool,
}

#[derive(Debug, Default)]
struct World {
    apis: BTreeMap<String, FakeApi>,
    /// Every call, by the AWS operation it stands for (`CreateRestApi`, `PutRestApi`, …).
    calls: Vec<&'static str>,
    next_id: u64,
    /// Failures handed out to the next deploy or undeploy calls, in order.
    failures: VecDeque<ConnectorError>,
    /// How long CreateRestApi takes to answer.
    create_delay: Duration,
    /// How long an undeploy takes before it answers.
    undeploy_delay: Duration,
    predeploy: PredeployReport,
}

/// One gateway shared by every environment (their ownership tags keep them apart).
#[derive(Debug, Default, Clone)]
pub struct FakeGateway {
    world: Arc<Mutex<World>>,
}

impl FakeGateway {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("not poisoned")
    }

    /// The calls made so far, by AWS operation.
    pub fn calls(&self) -> Vec<&'static str> {
        self.world().calls.clone()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.world()
            .calls
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    pub fn apis(&self) -> BTreeMap<String, FakeApi> {
        self.world().apis.clone()
    }

    /// The next deploy or undeploy calls fail with these errors, one each.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = ConnectorError>) {
        self.world().failures.extend(errors);
    }

    /// CreateRestApi answers only after `delay` (a slow gateway).
    pub fn slow_create(&self, delay: Duration) {
        self.world().create_delay = delay;
    }

    /// Undeploys answer only after `delay`.
    pub fn slow_undeploy(&self, delay: Duration) {
        self.world().undeploy_delay = delay;
    }

    /// What the gateway-side pre-deploy checks report.
    pub fn set_predeploy(&self, report: PredeployReport) {
        self.world().predeploy = report;
    }

    /// Changes a REST API behind fedgate's back, as someone in the AWS console would.
    pub fn edit(&self, rest_api_id: &str, change: impl FnOnce(&mut FakeApi)) {
        change(
            self.world()
                .apis
                .get_mut(rest_api_id)
                .expect("a REST API of the fake"),
        );
    }

    /// Deletes a REST API behind fedgate's back.
    pub fn delete(&self, rest_api_id: &str) {
        self.world().apis.remove(rest_api_id);
    }

    /// A REST API made outside fedgate (untagged), holding `document` and deployed to
    /// `stage`, as discovery finds it; returns its id.
    pub fn seed(&self, name: &str, document: Value, stage: &str) -> String {
        let mut world = self.world();
        world.next_id += 2;
        let id = format!("fake{:06}", world.next_id - 1);
        let deployment_id = format!("dep{:06}", world.next_id);
        world.apis.insert(
            id.clone(),
            FakeApi {
                name: name.to_owned(),
                ownership: Ownership {
                    api_id: String::new(),
                    environment_id: String::new(),
                },
                document,
                stage: stage.to_owned(),
                stage_deployment_id: Some(deployment_id),
                blocked: false,
            },
        );
        id
    }

    fn take_failure(&self) -> Option<ConnectorError> {
        self.world().failures.pop_front()
    }

    fn find_owned(&self, ownership: &Ownership) -> Option<String> {
        let mut world = self.world();
        world.calls.push("GetRestApis");
        world
            .apis
            .iter()
            .find(|(_, api)| {
                api.ownership.api_id == ownership.api_id
                    && api.ownership.environment_id == ownership.environment_id
            })
            .map(|(id, _)| id.clone())
    }

    async fn create(&self, request: &DeployRequest<'_>) -> String {
        let delay = self.world().create_delay;
        tokio::time::sleep(delay).await;
        let mut world = self.world();
        world.calls.push("CreateRestApi");
        world.next_id += 1;
        let id = format!("fake{:06}", world.next_id);
        world.apis.insert(
            id.clone(),
            FakeApi {
                name: request.name.to_owned(),
                ownership: request.ownership.clone(),
                document: Value::Null,
                stage: request.stage.to_owned(),
                stage_deployment_id: None,
                blocked: false,
            },
        );
        id
    }
}

#[async_trait]
impl GatewayConnector for FakeGateway {
    async fn check(&self) -> CheckReport {
        self.world().calls.push("GetCallerIdentity");
        CheckReport {
            ok: true,
            account_id: Some("000000000000".into()),
            principal_arn: Some("arn:aws:iam::000000000000:user/fake".into()),
            credentials_provider: "fake".into(),
            checks: vec![CheckItem {
                name: "fake".into(),
                ok: true,
                detail: "the in-memory gateway answers".into(),
            }],
        }
    }

    async fn predeploy(&self, _design: &ApiDesign) -> PredeployReport {
        self.world().predeploy.clone()
    }

    async fn deploy(&self, request: DeployRequest<'_>) -> Result<DeployOutcome, ConnectorError> {
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        let known = request
            .rest_api_id
            .filter(|id| self.world().apis.contains_key(*id))
            .map(str::to_owned);
        let (rest_api_id, created, adopted) = match known {
            Some(id) => (id, false, false),
            None => match self.find_owned(request.ownership) {
                Some(id) => (id, false, true),
                None => (self.create(&request).await, true, false),
            },
        };
        let mut world = self.world();
        world.calls.push("PutRestApi");
        world.calls.push("CreateDeployment");
        world.next_id += 1;
        let deployment_id = format!("dep{:06}", world.next_id);
        let api = world
            .apis
            .get_mut(&rest_api_id)
            .expect("created or found above");
        api.document = request.document.clone();
        api.stage = request.stage.to_owned();
        api.stage_deployment_id = Some(deployment_id.clone());
        api.blocked = request.blocked;
        Ok(DeployOutcome {
            rest_api_id,
            deployment_id,
            created,
            adopted,
        })
    }

    async fn undeploy(
        &self,
        rest_api_id: Option<&str>,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError> {
        let delay = self.world().undeploy_delay;
        tokio::time::sleep(delay).await;
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        let id = match rest_api_id {
            Some(id) => Some(id.to_owned()),
            None => self.find_owned(ownership),
        };
        let mut world = self.world();
        if let Some(id) = id {
            world.calls.push("DeleteRestApi");
            world.apis.remove(&id);
        }
        Ok(())
    }

    async fn set_blocked(
        &self,
        rest_api_id: &str,
        _stage: &str,
        blocked: bool,
    ) -> Result<(), ConnectorError> {
        let mut world = self.world();
        world.calls.push("UpdateStage");
        match world.apis.get_mut(rest_api_id) {
            Some(api) => {
                api.blocked = blocked;
                Ok(())
            }
            None => Err(ConnectorError::Rejected(format!(
                "UpdateStage failed: NotFoundException: no REST API {rest_api_id}"
            ))),
        }
    }

    async fn read_state(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayState>, ConnectorError> {
        let mut world = self.world();
        world
            .calls
            .extend(["GetAuthorizers", "GetResources", "GetStage"]);
        Ok(world.apis.get(rest_api_id).map(|api| {
            let stage = (api.stage == stage).then(|| StageState {
                name: api.stage.clone(),
                blocked: api.blocked,
                deployment_id: api.stage_deployment_id.clone(),
            });
            GatewayState::from_document(&api.document, stage)
        }))
    }

    async fn describe(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayApi>, ConnectorError> {
        let mut world = self.world();
        world.calls.push("GetRestApi");
        Ok(world.apis.get(rest_api_id).map(|api| GatewayApi {
            rest_api_id: rest_api_id.to_owned(),
            name: api.name.clone(),
            stage_deployment_id: api
                .stage_deployment_id
                .clone()
                .filter(|_| api.stage == stage),
        }))
    }
    async fn list_rest_apis(
        &self,
        from: &PagePosition,
        limit: usize,
    ) -> Result<RestApiPage, ConnectorError> {
        // As AWS pages: at most `limit`, the next page after an opaque position.
        let mut world = self.world();
        world.calls.push("GetRestApis");
        let mut after = world
            .apis
            .iter()
            .filter(|(id, _)| from.position.as_ref().is_none_or(|p| *id > p))
            .peekable();
        let mut items = Vec::new();
        while items.len() < limit
            && let Some((id, api)) = after.next()
        {
            items.push(api.summary(id));
        }
        let next = after.peek().and(items.last()).map(|last| PagePosition {
            position: Some(last.id.clone()),
            skip: 0,
        });
        world
            .calls
            .extend(std::iter::repeat_n("GetStages", items.len()));
        Ok(RestApiPage { items, next })
    }

    async fn describe_for_adoption(
        &self,
        rest_api_id: &str,
    ) -> Result<Option<AdoptionFacts>, ConnectorError> {
        let mut world = self.world();
        world.calls.extend([
            "GetRestApi",
            "GetStages",
            "GetRequestValidators",
            "GetModels",
        ]);
        Ok(world.apis.get(rest_api_id).map(|api| AdoptionFacts {
            api: api.summary(rest_api_id),
            request_validators: 0,
            models: 0,
        }))
    }

    async fn tag_owned(
        &self,
        rest_api_id: &str,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError> {
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        let mut world = self.world();
        world.calls.push("TagResource");
        match world.apis.get_mut(rest_api_id) {
            Some(api) => {
                api.ownership = ownership.clone();
                Ok(())
            }
            None => Err(ConnectorError::Rejected(format!(
                "TagResource failed: NotFoundException: no REST API {rest_api_id}"
            ))),
        }
    }
}

impl FakeApi {
    /// As a listing shows it; a seeded REST API has no ownership tags.
    fn summary(&self, id: &str) -> RestApiSummary {
        let tags = [
            (TAG_API, &self.ownership.api_id),
            (TAG_ENVIRONMENT, &self.ownership.environment_id),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.to_owned(), value.clone()))
        .collect();
        RestApiSummary {
            id: id.to_owned(),
            name: self.name.clone(),
            description: None,
            created_date: None,
            tags,
            stages: vec![StageSummary {
                name: self.stage.clone(),
                deployment_id: self.stage_deployment_id.clone(),
            }],
        }
    }
}

/// Hands the one fake gateway to every environment.
#[derive(Debug, Default, Clone)]
pub struct FakeGateways {
    pub gateway: FakeGateway,
}

#[async_trait]
impl Gateways for FakeGateways {
    async fn connect(
        &self,
        _target: &GatewayTarget,
    ) -> Result<Arc<dyn GatewayConnector>, OutboundError> {
        Ok(Arc::new(self.gateway.clone()))
    }

    fn forget(&self, _environment: EnvironmentId) {}
}
