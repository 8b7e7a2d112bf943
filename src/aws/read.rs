//! Reads back what a REST API holds as a `GatewayState`, in the fewest calls that work on
//! AWS and on both emulators: GetAuthorizers, GetResources with the methods embedded (a
//! page per 500 resources), and GetStage — three calls for most APIs, whatever their size.
//!
//! GetExport would be one call, but moto exports Swagger 2.0 without the AWS extensions
//! (no integrations, no authorizers), so it could not tell a changed integration.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use aws_sdk_apigateway::operation::get_stage::GetStageOutput;
use aws_sdk_apigateway::types::{Authorizer, Integration as AwsIntegration, Method};

use super::apigateway::{AwsConnector, CallFailure};
use super::connector::ConnectorError;
use super::limiter::Operation;
use crate::domain::gateway_state::{
    AuthorizerState, GatewayState, Integration, MethodState, Methods, StageState,
    response_header_name,
};
use crate::domain::openapi::ANY_METHOD;

/// AWS's largest page for GetResources and GetAuthorizers.
const PAGE: i32 = 500;
/// The method setting that applies to every method of a stage.
const ALL_METHODS: &str = "*/*";

impl AwsConnector {
    /// The REST API's state with `stage`; `None` when the REST API is gone.
    pub(super) async fn read(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GatewayState>, ConnectorError> {
        let Some(authorizers) = self
            .all_pages(|position| async move {
                let page = self
                    .call(Operation::Overall, "GetAuthorizers", {
                        self.clients
                            .apigateway
                            .get_authorizers()
                            .rest_api_id(rest_api_id)
                            .limit(PAGE)
                            .set_position(position)
                            .send()
                    })
                    .await?;
                Ok((page.items().to_vec(), page.position().map(str::to_owned)))
            })
            .await?
        else {
            return Ok(None);
        };
        let Some(resources) = self
            .all_pages(|position| async move {
                let page = self
                    .call(Operation::Overall, "GetResources", {
                        self.clients
                            .apigateway
                            .get_resources()
                            .rest_api_id(rest_api_id)
                            .embed("methods")
                            .limit(PAGE)
                            .set_position(position)
                            .send()
                    })
                    .await?;
                Ok((page.items().to_vec(), page.position().map(str::to_owned)))
            })
            .await?
        else {
            return Ok(None);
        };
        let names: HashMap<&str, &str> = authorizers
            .iter()
            .filter_map(|a| Some((a.id()?, a.name()?)))
            .collect();
        let mut methods = Methods::new();
        for resource in &resources {
            let (Some(path), Some(resource_methods)) =
                (resource.path(), resource.resource_methods())
            else {
                continue;
            };
            for (verb, method) in resource_methods {
                methods
                    .entry(path.to_owned())
                    .or_default()
                    .insert(method_name(verb), method_state(method, &names));
            }
        }
        let stage = self
            .stage(rest_api_id, stage)
            .await?
            .map(|found| stage_state(stage, &found));
        Ok(Some(GatewayState {
            methods,
            authorizers: authorizers.iter().filter_map(authorizer_state).collect(),
            stage,
        }))
    }

    /// The REST API's stage named `stage`; `None` when it (or the REST API) is gone.
    pub(super) async fn stage(
        &self,
        rest_api_id: &str,
        stage: &str,
    ) -> Result<Option<GetStageOutput>, ConnectorError> {
        let found = self
            .call(Operation::Overall, "GetStage", {
                self.clients
                    .apigateway
                    .get_stage()
                    .rest_api_id(rest_api_id)
                    .stage_name(stage)
                    .send()
            })
            .await;
        match found {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.not_found => Ok(None),
            Err(e) => Err(e.error),
        }
    }

    /// Every item of a paged listing, page by page (`fetch` gets the position of the next
    /// page); `None` when AWS says the listed REST API is not found.
    async fn all_pages<T, F, Fut>(&self, mut fetch: F) -> Result<Option<Vec<T>>, ConnectorError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<(Vec<T>, Option<String>), CallFailure>>,
    {
        let mut items = Vec::new();
        let mut position = None;
        loop {
            let (page, next) = match fetch(position).await {
                Ok(page) => page,
                Err(e) if e.not_found => return Ok(None),
                Err(e) => return Err(e.error),
            };
            let last = page.is_empty();
            items.extend(page);
            match next {
                Some(next) if !last => position = Some(next),
                _ => return Ok(Some(items)),
            }
        }
    }
}

fn authorizer_state(authorizer: &Authorizer) -> Option<(String, AuthorizerState)> {
    let state = AuthorizerState {
        kind: authorizer
            .r#type()
            .map(|t| t.as_str().to_ascii_uppercase())
            .unwrap_or_default(),
        uri: authorizer.authorizer_uri().map(str::to_owned),
        credentials: authorizer.authorizer_credentials().map(str::to_owned),
        identity_source: authorizer.identity_source().map(str::to_owned),
        ttl_secs: authorizer.authorizer_result_ttl_in_seconds(),
    };
    Some((authorizer.name()?.to_owned(), state))
}

/// The method as AWS names it: moto keeps the document's `x-amazon-apigateway-any-method`
/// where AWS (and LocalStack) create `ANY`.
fn method_name(verb: &str) -> String {
    if verb.eq_ignore_ascii_case(ANY_METHOD) {
        "ANY".to_owned()
    } else {
        verb.to_ascii_uppercase()
    }
}

fn method_state(method: &Method, authorizer_names: &HashMap<&str, &str>) -> MethodState {
    let custom = method
        .authorization_type()
        .is_some_and(|t| t.eq_ignore_ascii_case("CUSTOM"));
    let authorizer = method.authorizer_id().filter(|_| custom).map(|id| {
        authorizer_names
            .get(id)
            .map_or_else(|| format!("(unknown authorizer {id})"), |n| (*n).to_owned())
    });
    MethodState {
        integration: method
            .method_integration()
            .map(integration)
            .unwrap_or_default(),
        authorizer,
    }
}

fn integration(integration: &AwsIntegration) -> Integration {
    let strings = |map: Option<&HashMap<String, String>>| -> BTreeMap<String, String> {
        map.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let response_headers = integration
        .integration_responses()
        .into_iter()
        .flatten()
        .flat_map(|(_, response)| strings(response.response_parameters()))
        .filter_map(|(k, v)| Some((response_header_name(&k)?.to_owned(), v)))
        .collect();
    Integration {
        // moto answers `http_proxy` where AWS says `HTTP_PROXY`.
        kind: integration
            .r#type()
            .map(|t| t.as_str().to_ascii_uppercase())
            .unwrap_or_default(),
        http_method: integration.http_method().map(str::to_owned),
        uri: integration.uri().map(str::to_owned),
        request_parameters: strings(integration.request_parameters()),
        response_headers,
    }
}

fn stage_state(name: &str, stage: &GetStageOutput) -> StageState {
    let blocked = stage
        .method_settings()
        .and_then(|settings| settings.get(ALL_METHODS))
        .is_some_and(|s| s.throttling_rate_limit() == 0.0 && s.throttling_burst_limit() == 0);
    StageState {
        name: name.to_owned(),
        blocked,
        deployment_id: stage.deployment_id().map(str::to_owned),
    }
}
