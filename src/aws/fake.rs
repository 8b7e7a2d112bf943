//! An in-memory gateway for the service tests: it keeps REST APIs as a gateway would
//! (tags, document, stage, throttle), records every call by the AWS operation it stands
//! for, and can be made slow or failing. No network, no emulator.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::apigateway::{CallFailure, TAG_API, TAG_ENVIRONMENT};
use super::check::{CheckItem, CheckReport};
use super::connector::{
    AdoptionFacts, ConnectorError, DeployOutcome, DeployRequest, GatewayApi, GatewayConnector,
    GatewayTarget, Gateways, ManagedAuthorizerSpec, Ownership, PagePosition, ProvisionedAuthorizer,
    RestApiPage, RestApiSummary, StageSummary,
};
use super::managed_authorizer::{
    APIGATEWAY_SERVICE, LAMBDA_SERVICE, PropagationRetry, check_owner, until_role_assumable,
};
use crate::domain::api::ApiDesign;
use crate::domain::gateway_state::{GatewayState, StageState};
use crate::domain::ids::EnvironmentId;
use crate::domain::managed_authorizer::{
    EXECUTION_POLICY_NAME, INVOKE_POLICY_NAME, Placement, TAG_KEY_MANAGER, check_stem,
    execution_role_name, invoke_policy, invoke_role_arn, invoke_role_name, logs_policy,
    trust_policy,
};
use crate::domain::predeploy::PredeployReport;
use crate::domain::zip::read_stored_zip;
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
    /// Managed authorizers' functions and roles, by name.
    functions: BTreeMap<String, FakeFunction>,
    roles: BTreeMap<String, FakeRole>,
    /// The next CreateFunction calls that fail as on AWS while IAM propagates a new role.
    role_not_assumable: u32,
    /// The next call of this operation fails before reaching the gateway (a crash).
    crash_before: Option<&'static str>,
    propagation: PropagationRetry,
}

/// A managed authorizer's function as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeFunction {
    pub arn: String,
    pub role_arn: String,
    pub code_sha256: String,
    pub tags: BTreeMap<String, String>,
    /// The `config.json` of its package.
    pub config: Value,
}

/// An IAM role as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRole {
    pub arn: String,
    pub trust_policy: String,
    /// Inline policies by name.
    pub policies: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Where the fake's functions and roles live.
fn fake_placement() -> Placement {
    Placement {
        partition: "aws".into(),
        account: "000000000000".into(),
        region: "us-east-1".into(),
    }
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

    /// The managed authorizers' functions, by name.
    pub fn functions(&self) -> BTreeMap<String, FakeFunction> {
        self.world().functions.clone()
    }

    /// The IAM roles, by name.
    pub fn roles(&self) -> BTreeMap<String, FakeRole> {
        self.world().roles.clone()
    }

    /// The next `n` CreateFunction calls fail as on AWS right after CreateRole: "The role
    /// defined for the function cannot be assumed by Lambda".
    pub fn role_not_assumable_for(&self, n: u32) {
        self.world().role_not_assumable = n;
    }

    /// The next call of `operation` (e.g. `PutRolePolicy`) fails before it is made, as
    /// when fedgate crashes between two provisioning steps.
    pub fn crash_before(&self, operation: &'static str) {
        self.world().crash_before = Some(operation);
    }

    /// How CreateFunction is retried while a role propagates (AWS's default otherwise).
    pub fn set_propagation_retry(&self, retry: PropagationRetry) {
        self.world().propagation = retry;
    }

    /// Records a managed-authorizer call, or fails it when a crash is due before it.
    fn step(&self, operation: &'static str) -> Result<(), CallFailure> {
        let mut world = self.world();
        if world.crash_before == Some(operation) {
            world.crash_before = None;
            return Err(CallFailure {
                error: ConnectorError::Transient(format!(
                    "{operation} was not made: fedgate stopped before it"
                )),
                not_found: false,
                code: None,
            });
        }
        world.calls.push(operation);
        Ok(())
    }

    /// CreateRole, or GetRole of the role an earlier ensure created.
    fn fake_role(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
        name: &str,
        service: &str,
    ) -> Result<String, ConnectorError> {
        self.step("CreateRole")?;
        let existing = self.world().roles.get(name).cloned();
        if let Some(role) = existing {
            self.step("GetRole")?;
            check_owner(
                "IAM role",
                name,
                spec,
                role.tags.get(TAG_ENVIRONMENT).map(String::as_str),
            )?;
            return Ok(role.arn);
        }
        let arn = format!("arn:aws:iam::000000000000:role/{name}");
        self.world().roles.insert(
            name.to_owned(),
            FakeRole {
                arn: arn.clone(),
                trust_policy: trust_policy(service),
                policies: BTreeMap::new(),
                tags: authorizer_tags(spec),
            },
        );
        Ok(arn)
    }

    fn fake_put_policy(
        &self,
        role: &str,
        name: &str,
        document: String,
    ) -> Result<(), ConnectorError> {
        self.step("PutRolePolicy")?;
        self.world()
            .roles
            .get_mut(role)
            .expect("created above")
            .policies
            .insert(name.to_owned(), document);
        Ok(())
    }

    fn fake_create_function(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
        function: FakeFunction,
    ) -> Result<(), CallFailure> {
        self.step("CreateFunction")?;
        let mut world = self.world();
        if world.role_not_assumable > 0 {
            world.role_not_assumable -= 1;
            return Err(CallFailure {
                error: ConnectorError::Rejected(
                    "CreateFunction failed: InvalidParameterValueException: The role defined for \
                     the function cannot be assumed by Lambda. — AWS refused the call; see the message"
                        .into(),
                ),
                not_found: false,
                code: Some("InvalidParameterValueException".into()),
            });
        }
        world.functions.insert(spec.name.to_owned(), function);
        Ok(())
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

    async fn reserve(&self, request: &DeployRequest<'_>) -> Result<String, ConnectorError> {
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        Ok(match self.find_owned(request.ownership) {
            Some(id) => id,
            None => self.create(request).await,
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

    /// The AWS connector's sequence (`aws::managed_authorizer`), on the fake's world, with
    /// the same retry while a new role propagates.
    async fn ensure_managed_authorizer(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
    ) -> Result<ProvisionedAuthorizer, ConnectorError> {
        check_stem(spec.name).map_err(ConnectorError::Rejected)?;
        self.step("GetFunction")?;
        let existing = self.world().functions.get(spec.name).cloned();
        if let Some(function) = existing {
            check_owner(
                "Lambda function",
                spec.name,
                spec,
                function.tags.get(TAG_ENVIRONMENT).map(String::as_str),
            )?;
            let changed = function.code_sha256 != spec.code_sha256;
            if changed {
                self.step("UpdateFunctionCode")?;
                let mut world = self.world();
                let stored = world.functions.get_mut(spec.name).expect("found above");
                stored.code_sha256 = spec.code_sha256.to_owned();
                stored.config = package_config(spec.package);
            }
            return Ok(ProvisionedAuthorizer {
                invoke_role_arn: invoke_role_arn(&function.role_arn).unwrap_or_default(),
                function_arn: function.arn,
                changed,
            });
        }
        let placement = fake_placement();
        let execution_role = execution_role_name(spec.name);
        let execution_arn = self.fake_role(spec, &execution_role, LAMBDA_SERVICE)?;
        self.fake_put_policy(
            &execution_role,
            EXECUTION_POLICY_NAME,
            logs_policy(&placement, spec.name),
        )?;
        let invoke_role = invoke_role_name(spec.name);
        let invoke_role_arn = self.fake_role(spec, &invoke_role, APIGATEWAY_SERVICE)?;
        let function_arn = placement.function_arn(spec.name);
        self.fake_put_policy(
            &invoke_role,
            INVOKE_POLICY_NAME,
            invoke_policy(&function_arn),
        )?;
        let function = FakeFunction {
            arn: function_arn.clone(),
            role_arn: execution_arn,
            code_sha256: spec.code_sha256.to_owned(),
            tags: authorizer_tags(spec),
            config: package_config(spec.package),
        };
        let retry = self.world().propagation;
        until_role_assumable(&retry, || {
            let function = function.clone();
            async move { self.fake_create_function(spec, function) }
        })
        .await?;
        Ok(ProvisionedAuthorizer {
            function_arn,
            invoke_role_arn,
            changed: true,
        })
    }

    async fn remove_managed_authorizer(&self, name: &str) -> Result<(), ConnectorError> {
        check_stem(name).map_err(ConnectorError::Rejected)?;
        self.step("DeleteFunction")?;
        self.world().functions.remove(name);
        for (role, policy) in [
            (execution_role_name(name), EXECUTION_POLICY_NAME),
            (invoke_role_name(name), INVOKE_POLICY_NAME),
        ] {
            self.step("DeleteRolePolicy")?;
            if let Some(role) = self.world().roles.get_mut(&role) {
                role.policies.remove(policy);
            }
            self.step("DeleteRole")?;
            self.world().roles.remove(&role);
        }
        Ok(())
    }
}

/// The `config.json` a managed authorizer's package holds (`Null` when it holds none).
fn package_config(package: &[u8]) -> Value {
    read_stored_zip(package)
        .ok()
        .and_then(|files| files.into_iter().find(|(name, _)| name == "config.json"))
        .and_then(|(_, json)| serde_json::from_slice(&json).ok())
        .unwrap_or(Value::Null)
}

fn authorizer_tags(spec: &ManagedAuthorizerSpec<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_KEY_MANAGER.to_owned(), spec.key_manager_id.to_owned()),
        (TAG_ENVIRONMENT.to_owned(), spec.environment_id.to_owned()),
    ])
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
