//! Provisions the managed authorizer of a key manager and environment: the Lambda function
//! fedgate ships, its execution role and the invoke role API Gateway assumes to call it
//! (why a role and not a resource policy: `domain::managed_authorizer`). Every call goes
//! through the shared rate limiter.
//!
//! First ensure: GetFunction → CreateRole (execution) → PutRolePolicy → CreateRole
//! (invoke) → PutRolePolicy → CreateFunction, six calls (plus CreateFunction retries while
//! IAM propagates the new role). The function is created last: its existence means the
//! roles are complete, so a rerun after a crash finds the roles by their names and carries
//! on. An ensure with the code unchanged is one call (GetFunction); a new package is
//! GetFunction → UpdateFunctionCode.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_iam::types::Tag;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

use super::apigateway::{AwsConnector, CallFailure, TAG_ENVIRONMENT};
use super::connector::{ConnectorError, ManagedAuthorizerSpec, ProvisionedAuthorizer};
use super::limiter::Operation;
use crate::domain::authorizer::HANDLER;
use crate::domain::managed_authorizer::{
    EXECUTION_POLICY_NAME, INVOKE_POLICY_NAME, MEMORY_MB, Placement, RUNTIME, TAG_KEY_MANAGER,
    TIMEOUT_SECS, check_stem, execution_role_name, invoke_policy, invoke_role_arn,
    invoke_role_name, logs_policy, trust_policy,
};

pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";
pub const APIGATEWAY_SERVICE: &str = "apigateway.amazonaws.com";

/// How long CreateFunction is retried while Lambda cannot assume a role IAM has just
/// created (on AWS a new role takes some seconds to become usable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropagationRetry {
    /// At most this many CreateFunction calls in all.
    pub tries: u32,
    /// The first pause; each next one doubles, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// No pause starts that would end after this much time since the first call.
    pub budget: Duration,
}

impl Default for PropagationRetry {
    fn default() -> Self {
        Self {
            tries: 10,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            budget: Duration::from_secs(20),
        }
    }
}

/// Lambda's answer while IAM has not yet propagated a new execution role.
fn role_not_assumable(failure: &CallFailure) -> bool {
    failure.code.as_deref() == Some("InvalidParameterValueException")
        && failure.error.to_string().contains("cannot be assumed")
}

/// Runs `attempt` (a CreateFunction) again while it fails because the role is not yet
/// assumable, within `retry`'s bound; then fails in words, as worth retrying later.
pub(super) async fn until_role_assumable<T, F, Fut>(
    retry: &PropagationRetry,
    mut attempt: F,
) -> Result<T, CallFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallFailure>>,
{
    let started = Instant::now();
    let mut delay = retry.first_delay;
    let mut tries = 0;
    loop {
        tries += 1;
        let failure = match attempt().await {
            Ok(done) => return Ok(done),
            Err(failure) if role_not_assumable(&failure) => failure,
            Err(failure) => return Err(failure),
        };
        if tries >= retry.tries || started.elapsed() + delay > retry.budget {
            return Err(CallFailure {
                error: ConnectorError::Transient(format!(
                    "{} (tried {tries} times over {:.1} s: IAM has not yet made the new execution \
                     role usable by Lambda; provisioning carries on where it stopped when tried again)",
                    failure.error,
                    started.elapsed().as_secs_f64()
                )),
                not_found: false,
                code: failure.code,
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(retry.max_delay);
    }
}

/// A function as GetFunction reports it.
struct ExistingFunction {
    arn: String,
    role: String,
    code_sha256: String,
}

impl AwsConnector {
    pub(super) async fn ensure_authorizer(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
    ) -> Result<ProvisionedAuthorizer, ConnectorError> {
        check_stem(spec.name).map_err(|e| {
            ConnectorError::Rejected(format!("cannot provision a managed authorizer: {e}"))
        })?;
        if let Some(existing) = self.authorizer_function(spec).await? {
            return self.update_code(spec, existing).await;
        }
        let execution_role = execution_role_name(spec.name);
        let execution_arn = self
            .ensure_role(spec, &execution_role, LAMBDA_SERVICE)
            .await?;
        let region = self
            .clients
            .config
            .region()
            .map(ToString::to_string)
            .unwrap_or_default();
        let placement = Placement::of_role(&execution_arn, &region).ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "CreateRole answered the role ARN {execution_arn:?}, which names no account"
            ))
        })?;
        self.put_role_policy(
            &execution_role,
            EXECUTION_POLICY_NAME,
            &logs_policy(&placement, spec.name),
        )
        .await?;
        let invoke_role = invoke_role_name(spec.name);
        let invoke_role_arn = self
            .ensure_role(spec, &invoke_role, APIGATEWAY_SERVICE)
            .await?;
        let expected_arn = placement.function_arn(spec.name);
        self.put_role_policy(
            &invoke_role,
            INVOKE_POLICY_NAME,
            &invoke_policy(&expected_arn),
        )
        .await?;
        let created = until_role_assumable(&PropagationRetry::default(), || {
            self.create_function(spec, &execution_arn)
        })
        .await;
        let function_arn = match created {
            Ok(arn) => arn,
            // Another ensure created it meanwhile: that one is the function.
            Err(e) if e.code.as_deref() == Some("ResourceConflictException") => {
                let existing = self.authorizer_function(spec).await?.ok_or(e.error)?;
                return self.update_code(spec, existing).await;
            }
            Err(e) => return Err(e.error),
        };
        if function_arn != expected_arn {
            // Not expected on AWS; the invoke role must name the function as it is.
            self.put_role_policy(
                &invoke_role,
                INVOKE_POLICY_NAME,
                &invoke_policy(&function_arn),
            )
            .await?;
        }
        Ok(ProvisionedAuthorizer {
            function_arn,
            invoke_role_arn,
            changed: true,
        })
    }

    pub(super) async fn remove_authorizer(&self, name: &str) -> Result<(), ConnectorError> {
        check_stem(name).map_err(|e| {
            ConnectorError::Rejected(format!("cannot remove a managed authorizer: {e}"))
        })?;
        gone_is_fine(
            self.call(Operation::Overall, "DeleteFunction", {
                self.clients
                    .lambda
                    .delete_function()
                    .function_name(name)
                    .send()
            })
            .await,
        )?;
        for (role, policy) in [
            (execution_role_name(name), EXECUTION_POLICY_NAME),
            (invoke_role_name(name), INVOKE_POLICY_NAME),
        ] {
            gone_is_fine(
                self.call(Operation::Overall, "DeleteRolePolicy", {
                    self.clients
                        .iam
                        .delete_role_policy()
                        .role_name(&role)
                        .policy_name(policy)
                        .send()
                })
                .await,
            )?;
            gone_is_fine(
                self.call(Operation::Overall, "DeleteRole", {
                    self.clients.iam.delete_role().role_name(&role).send()
                })
                .await,
            )?;
        }
        Ok(())
    }

    /// The function named by `spec`, if it exists; refused when it is not fedgate's for
    /// this environment.
    async fn authorizer_function(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
    ) -> Result<Option<ExistingFunction>, ConnectorError> {
        let found = match self
            .call(Operation::Overall, "GetFunction", {
                self.clients
                    .lambda
                    .get_function()
                    .function_name(spec.name)
                    .send()
            })
            .await
        {
            Ok(found) => found,
            Err(e) => return e.not_found_as_none(),
        };
        let owner = found
            .tags()
            .and_then(|tags| tags.get(TAG_ENVIRONMENT))
            .map(String::as_str);
        check_owner("Lambda function", spec.name, spec, owner)?;
        let configuration = found.configuration();
        let field = |value: Option<&str>| value.unwrap_or_default().to_owned();
        Ok(Some(ExistingFunction {
            arn: field(configuration.and_then(|c| c.function_arn())),
            role: field(configuration.and_then(|c| c.role())),
            code_sha256: field(configuration.and_then(|c| c.code_sha256())),
        }))
    }

    /// The existing function, with its code replaced if the package changed.
    async fn update_code(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
        existing: ExistingFunction,
    ) -> Result<ProvisionedAuthorizer, ConnectorError> {
        let invoke_role_arn = invoke_role_arn(&existing.role).ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "the Lambda function {} runs as {:?}, not as its fedgate execution role; delete \
                 the function so that fedgate provisions it again",
                spec.name, existing.role
            ))
        })?;
        if existing.code_sha256 == spec.code_sha256 {
            return Ok(ProvisionedAuthorizer {
                function_arn: existing.arn,
                invoke_role_arn,
                changed: false,
            });
        }
        let updated = self
            .call(Operation::Overall, "UpdateFunctionCode", {
                self.clients
                    .lambda
                    .update_function_code()
                    .function_name(spec.name)
                    .zip_file(Blob::new(spec.package))
                    .send()
            })
            .await?;
        Ok(ProvisionedAuthorizer {
            function_arn: updated.function_arn().map_or(existing.arn, str::to_owned),
            invoke_role_arn,
            changed: true,
        })
    }

    /// The ARN of the role `name`, created with a trust in `service` alone, or adopted
    /// when an earlier (interrupted) ensure created it.
    async fn ensure_role(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
        name: &str,
        service: &str,
    ) -> Result<String, ConnectorError> {
        let tag = |key: &str, value: &str| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("key and value are set")
        };
        let created = self
            .call(Operation::Overall, "CreateRole", {
                self.clients
                    .iam
                    .create_role()
                    .role_name(name)
                    .description(format!("fedgate managed authorizer {}", spec.name))
                    .assume_role_policy_document(trust_policy(service))
                    .tags(tag(TAG_KEY_MANAGER, spec.key_manager_id))
                    .tags(tag(TAG_ENVIRONMENT, spec.environment_id))
                    .send()
            })
            .await;
        match created {
            Ok(created) => Ok(created
                .role()
                .map(|r| r.arn().to_owned())
                .unwrap_or_default()),
            Err(e) if e.code.as_deref() == Some("EntityAlreadyExists") => {
                let found = self
                    .call(Operation::Overall, "GetRole", {
                        self.clients.iam.get_role().role_name(name).send()
                    })
                    .await?;
                let role = found.role().ok_or_else(|| {
                    ConnectorError::Rejected(format!("GetRole answered no role for {name}"))
                })?;
                let owner = role
                    .tags()
                    .iter()
                    .find(|t| t.key() == TAG_ENVIRONMENT)
                    .map(|t| t.value());
                check_owner("IAM role", name, spec, owner)?;
                Ok(role.arn().to_owned())
            }
            Err(e) => Err(e.error),
        }
    }

    async fn put_role_policy(
        &self,
        role: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), ConnectorError> {
        self.call(Operation::Overall, "PutRolePolicy", {
            self.clients
                .iam
                .put_role_policy()
                .role_name(role)
                .policy_name(policy_name)
                .policy_document(document)
                .send()
        })
        .await?;
        Ok(())
    }

    async fn create_function(
        &self,
        spec: &ManagedAuthorizerSpec<'_>,
        execution_role_arn: &str,
    ) -> Result<String, CallFailure> {
        let created = self
            .call(Operation::Overall, "CreateFunction", {
                self.clients
                    .lambda
                    .create_function()
                    .function_name(spec.name)
                    .description("fedgate's key-manager authorizer (TOKEN)")
                    .runtime(Runtime::from(RUNTIME))
                    .handler(HANDLER)
                    .role(execution_role_arn)
                    .memory_size(MEMORY_MB)
                    .timeout(TIMEOUT_SECS)
                    .code(
                        FunctionCode::builder()
                            .zip_file(Blob::new(spec.package))
                            .build(),
                    )
                    .tags(TAG_KEY_MANAGER, spec.key_manager_id)
                    .tags(TAG_ENVIRONMENT, spec.environment_id)
                    .send()
            })
            .await?;
        Ok(created.function_arn().unwrap_or_default().to_owned())
    }
}

/// A resource of the managed authorizer's name that another environment (or someone
/// else) owns is not adopted.
pub(super) fn check_owner(
    kind: &str,
    name: &str,
    spec: &ManagedAuthorizerSpec<'_>,
    owner: Option<&str>,
) -> Result<(), ConnectorError> {
    if owner == Some(spec.environment_id) {
        return Ok(());
    }
    Err(ConnectorError::Rejected(format!(
        "the {kind} {name} exists but is not tagged {TAG_ENVIRONMENT}={}: fedgate did not create it \
         for this environment and leaves it alone; delete or rename it",
        spec.environment_id
    )))
}

fn gone_is_fine<T>(result: Result<T, CallFailure>) -> Result<(), ConnectorError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => e.not_found_as_none::<()>().map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, message: &str) -> CallFailure {
        CallFailure {
            error: ConnectorError::Rejected(format!("CreateFunction failed: {code}: {message}")),
            not_found: false,
            code: Some(code.to_owned()),
        }
    }

    #[tokio::test]
    async fn only_the_propagation_error_is_retried() {
        let retry = PropagationRetry {
            first_delay: Duration::from_millis(1),
            ..PropagationRetry::default()
        };
        for (code, message) in [
            (
                "InvalidParameterValueException",
                "Unzipped size must be smaller",
            ),
            (
                "AccessDeniedException",
                "not authorized to perform iam:PassRole",
            ),
        ] {
            let mut calls = 0;
            let result: Result<(), _> = until_role_assumable(&retry, || {
                calls += 1;
                async { Err(failure(code, message)) }
            })
            .await;
            assert_eq!(calls, 1, "{code}");
            assert!(matches!(result, Err(e) if !e.error.is_transient()));
        }
    }
}
