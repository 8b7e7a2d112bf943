//! Discovery: the REST APIs of an account and region, page by page with their stages, what
//! a REST API holds that an API design cannot, and the tags that adopt it.
//!
//! Calls chosen (all through the rate limiter): GetRestApis (one AWS page per fedgate
//! page, tags included; moto and LocalStack ignore its `limit` and `position`, see
//! `PagePosition`) and GetStages per REST API on it; GetRestApi, GetStages,
//! GetRequestValidators and GetModels to describe one; TagResource to adopt it. moto
//! answers all of them but TagResource (404 in server mode); LocalStack answers all.

use std::collections::BTreeMap;
use std::collections::HashMap;

use aws_sdk_apigateway::primitives::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};

use aws_sdk_apigateway::operation::get_rest_api::GetRestApiOutput;

use super::apigateway::{AwsConnector, CallFailure, TAG_API, TAG_ENVIRONMENT};
use super::connector::{
    AdoptionFacts, ConnectorError, Ownership, PagePosition, RestApiPage, RestApiSummary,
    StageSummary,
};
use super::limiter::Operation;
use crate::domain::aws::partition;

/// AWS's largest page for GetRequestValidators and GetModels.
const PAGE: i32 = 500;
/// The models API Gateway makes for every REST API.
const DEFAULT_MODELS: [&str; 2] = ["Empty", "Error"];

impl AwsConnector {
    pub(super) async fn rest_apis(
        &self,
        from: &PagePosition,
        limit: usize,
    ) -> Result<RestApiPage, ConnectorError> {
        let page = self
            .call(Operation::Overall, "GetRestApis", {
                self.clients
                    .apigateway
                    .get_rest_apis()
                    .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                    .set_position(from.position.clone())
                    .send()
            })
            .await?;
        let shown = page.items().iter().skip(from.skip).take(limit);
        let mut items = Vec::with_capacity(limit);
        for api in shown {
            let Some(id) = api.id() else { continue };
            items.push(RestApiSummary {
                id: id.to_owned(),
                name: api.name().unwrap_or_default().to_owned(),
                description: api.description().map(str::to_owned),
                created_date: api.created_date().and_then(chrono_of),
                tags: tags_of(api.tags()),
                // A REST API deleted since the page was read has no stages.
                stages: self.stages(id).await?.unwrap_or_default(),
            });
        }
        let next = if page.items().len() > from.skip + limit {
            // A page larger than asked for (the emulators): the rest of it comes next.
            Some(PagePosition {
                position: from.position.clone(),
                skip: from.skip + limit,
            })
        } else {
            page.position()
                .filter(|_| !page.items().is_empty())
                .map(|position| PagePosition {
                    position: Some(position.to_owned()),
                    skip: 0,
                })
        };
        Ok(RestApiPage { items, next })
    }

    /// The REST API's stages; `None` when the REST API is gone.
    async fn stages(&self, rest_api_id: &str) -> Result<Option<Vec<StageSummary>>, ConnectorError> {
        let stages = match self
            .call(Operation::Overall, "GetStages", {
                self.clients
                    .apigateway
                    .get_stages()
                    .rest_api_id(rest_api_id)
                    .send()
            })
            .await
        {
            Ok(stages) => stages,
            Err(e) => return e.not_found_as_none(),
        };
        let mut stages: Vec<StageSummary> = stages
            .item()
            .iter()
            .filter_map(|stage| {
                Some(StageSummary {
                    name: stage.stage_name()?.to_owned(),
                    deployment_id: stage.deployment_id().map(str::to_owned),
                })
            })
            .collect();
        stages.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(stages))
    }

    /// The REST API; `None` when there is no such REST API.
    pub(super) async fn rest_api(
        &self,
        rest_api_id: &str,
    ) -> Result<Option<GetRestApiOutput>, ConnectorError> {
        self.call(Operation::Overall, "GetRestApi", {
            self.clients
                .apigateway
                .get_rest_api()
                .rest_api_id(rest_api_id)
                .send()
        })
        .await
        .map(Some)
        .or_else(CallFailure::not_found_as_none)
    }

    pub(super) async fn adoption_facts(
        &self,
        rest_api_id: &str,
    ) -> Result<Option<AdoptionFacts>, ConnectorError> {
        let Some(api) = self.rest_api(rest_api_id).await? else {
            return Ok(None);
        };
        let Some(stages) = self.stages(rest_api_id).await? else {
            return Ok(None);
        };
        let validators = self
            .call(Operation::Overall, "GetRequestValidators", {
                self.clients
                    .apigateway
                    .get_request_validators()
                    .rest_api_id(rest_api_id)
                    .limit(PAGE)
                    .send()
            })
            .await?;
        let models = self
            .call(Operation::Overall, "GetModels", {
                self.clients
                    .apigateway
                    .get_models()
                    .rest_api_id(rest_api_id)
                    .limit(PAGE)
                    .send()
            })
            .await?;
        Ok(Some(AdoptionFacts {
            api: RestApiSummary {
                id: rest_api_id.to_owned(),
                name: api.name().unwrap_or_default().to_owned(),
                description: api.description().map(str::to_owned),
                created_date: api.created_date().and_then(chrono_of),
                tags: tags_of(api.tags()),
                stages,
            },
            request_validators: validators.items().len(),
            models: models
                .items()
                .iter()
                .filter(|m| !m.name().is_some_and(|n| DEFAULT_MODELS.contains(&n)))
                .count(),
        }))
    }

    pub(super) async fn tag(
        &self,
        rest_api_id: &str,
        ownership: &Ownership,
    ) -> Result<(), ConnectorError> {
        let region = self
            .clients
            .config
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let arn = format!(
            "arn:{}:apigateway:{region}::/restapis/{rest_api_id}",
            partition(&region)
        );
        self.call(Operation::Overall, "TagResource", {
            self.clients
                .apigateway
                .tag_resource()
                .resource_arn(arn)
                .tags(TAG_API, &ownership.api_id)
                .tags(TAG_ENVIRONMENT, &ownership.environment_id)
                .send()
        })
        .await?;
        Ok(())
    }
}

fn tags_of(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn chrono_of(at: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}
