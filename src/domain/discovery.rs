//! Discovery: a REST API fedgate did not create, as read back from the gateway, mapped to
//! an API design — and everything fedgate cannot keep, named in warnings.
//!
//! - The endpoint is the backend the most HTTP/HTTP_PROXY methods call: each method's
//!   integration URI with its resource path (`/pets/{id}`) taken off the end. Methods
//!   calling another backend, or whose URI does not end with their path, are left out.
//! - Every HTTP/HTTP_PROXY method becomes a resource; an `OPTIONS` mock answering with
//!   `Access-Control-*` headers becomes the API's CORS settings.
//! - A TOKEN Lambda authorizer with an invoke role becomes an `awsOAuth2` policy on the
//!   resources it secures (at API level when every resource has the same one). Other
//!   authorizers cannot be mapped: the methods they secure are open in the design.
//! - Lambda, AWS-service and other mock integrations, request validators and models are
//!   left out; a later deploy from fedgate removes them, and its plan says so.

use std::collections::{BTreeMap, BTreeSet};

use super::api::HttpMethod;
use super::api::draft::{ApiDraft, CorsDraft, PolicyDraft, PolicyParametersDraft, ResourceDraft};
use super::api::path::PathTemplate;
use super::api::policy::AWS_OAUTH2;
use super::gateway_state::{AuthorizerState, GatewayState, Integration};
use super::openapi::Overrides;
use super::openapi::import::slug;
use super::translate::path_uri;
use super::validation::FieldError;

/// What discovery knows of the REST API besides its state.
#[derive(Debug, Clone, Default)]
pub struct RestApiFacts<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub request_validators: usize,
    /// Models besides API Gateway's default `Empty` and `Error`.
    pub models: usize,
}

/// The design a REST API maps to (not yet validated) and what could not be mapped.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub draft: ApiDraft,
    pub warnings: Vec<FieldError>,
}

const ALLOW_ORIGIN: &str = "Access-Control-Allow-Origin";
const ALLOW_HEADERS: &str = "Access-Control-Allow-Headers";
const ALLOW_METHODS: &str = "Access-Control-Allow-Methods";
const ALLOW_CREDENTIALS: &str = "Access-Control-Allow-Credentials";
const MAX_AGE: &str = "Access-Control-Max-Age";
/// `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{lambda}/invocations`.
const LAMBDA_PATH: &str = ":lambda:path/2015-03-31/functions/";
const INVOCATIONS: &str = "/invocations";

/// A method that can become a resource.
struct Candidate<'a> {
    path: &'a str,
    method: HttpMethod,
    base: String,
    policy: Option<&'a Policy>,
}

/// An `awsOAuth2` policy's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Policy {
    lambda_arn: String,
    invoke_role_arn: String,
}

impl Policy {
    fn draft(&self) -> PolicyDraft {
        PolicyDraft {
            policy_type: Some(AWS_OAUTH2.to_owned()),
            parameters: PolicyParametersDraft {
                lambda_arn: Some(self.lambda_arn.clone()),
                invoke_role_arn: Some(self.invoke_role_arn.clone()),
                ..Default::default()
            },
        }
    }
}

/// Maps `state` to an API draft; `overrides` replace what the REST API says (an
/// `endpointUrl` given makes every HTTP method call it). Refused, naming `endpointUrl`,
/// when no method tells a backend and none is given.
pub fn map(
    api: &RestApiFacts<'_>,
    state: &GatewayState,
    overrides: Overrides,
) -> Result<Discovered, FieldError> {
    let mut warnings = Vec::new();
    let policies = authorizer_policies(state, &mut warnings);
    let mut candidates = Vec::new();
    let mut preflights: Vec<(&str, &Integration)> = Vec::new();
    for (path, methods) in &state.methods {
        for (verb, method) in methods {
            let at = format!("methods.{path}.{verb}");
            let integration = &method.integration;
            match integration.kind.as_str() {
                "HTTP_PROXY" | "HTTP" => {
                    let policy =
                        method
                            .authorizer
                            .as_deref()
                            .and_then(|name| match policies.get(name) {
                                Some(policy) => policy.as_ref(),
                                None => {
                                    warnings.push(FieldError::new(
                                        &at,
                                        format!(
                                            "is secured by `{name}`, which is not among the REST \
                                         API's authorizers; it is open in the design"
                                        ),
                                    ));
                                    None
                                }
                            });
                    if let Some(candidate) =
                        candidate(path, verb, integration, policy, &at, &mut warnings)
                    {
                        candidates.push(candidate);
                    }
                }
                "MOCK" if verb == "OPTIONS" && is_cors(integration) => {
                    preflights.push((path, integration));
                }
                kind => warnings.push(FieldError::new(at, unmapped(kind))),
            }
        }
    }
    let endpoint_url = match overrides.endpoint_url {
        Some(url) => url,
        None => {
            let base = most_common_base(&candidates).ok_or_else(|| {
                FieldError::new(
                    "endpointUrl",
                    "the REST API has no HTTP or HTTP_PROXY integration whose backend fedgate \
                     could take as the API's endpoint; give endpointUrl",
                )
            })?;
            candidates.retain(|c| {
                let same = c.base == base;
                if !same {
                    warnings.push(FieldError::new(
                        format!("methods.{}.{}", c.path, c.method),
                        format!(
                            "calls the backend `{}`, not `{base}` (the endpoint most methods \
                             call); a fedgate API has one endpoint, so it is left out",
                            c.base
                        ),
                    ));
                }
                same
            });
            base
        }
    };
    let shared_policy = shared_policy(&candidates);
    let resources = candidates
        .iter()
        .map(|c| ResourceDraft {
            method: Some(c.method.as_str().to_owned()),
            path: Some(c.path.to_owned()),
            policies: match shared_policy {
                Some(_) => Vec::new(),
                None => c.policy.iter().map(|p| p.draft()).collect(),
            },
            ..Default::default()
        })
        .collect();
    let cors = cors(&preflights, &candidates, &mut warnings);
    let name = overrides.name.unwrap_or_else(|| api.name.trim().to_owned());
    let version = overrides
        .version
        .or_else(|| version_in(&name))
        .unwrap_or_else(|| "1".to_owned());
    let context = overrides
        .context
        .or_else(|| slug(&name))
        .unwrap_or_else(|| format!("/{}", api.id.to_ascii_lowercase()));
    if let Some(stage) = state.stage.as_ref().filter(|stage| stage.blocked) {
        warnings.push(FieldError::new(
            "stage",
            format!(
                "every method of stage `{}` is throttled to zero (blocked); fedgate records \
                 the deployment as not blocked, so drift checks report the throttle: lift it \
                 in AWS, or publish and block the API in fedgate to own it",
                stage.name
            ),
        ));
    }
    if api.request_validators > 0 {
        warnings.push(FieldError::new(
            "requestValidators",
            format!(
                "the REST API has {} request validator(s); fedgate does not validate \
                 requests, and a deploy from fedgate removes them",
                api.request_validators
            ),
        ));
    }
    if api.models > 0 {
        warnings.push(FieldError::new(
            "models",
            format!(
                "the REST API has {} model(s) besides Empty and Error; fedgate keeps no \
                 models, and a deploy from fedgate removes them",
                api.models
            ),
        ));
    }
    Ok(Discovered {
        draft: ApiDraft {
            name: Some(name),
            version: Some(version),
            context: Some(context),
            description: api.description.map(str::to_owned),
            endpoint_url: Some(endpoint_url),
            gateway_type: overrides.gateway_type,
            cors,
            policies: shared_policy.map(|p| p.draft()).into_iter().collect(),
            resources,
            ..Default::default()
        },
        warnings,
    })
}

/// Why a method with an integration of `kind` is left out.
fn unmapped(kind: &str) -> String {
    let what = match kind {
        "AWS_PROXY" => "a Lambda proxy integration".to_owned(),
        "AWS" => "an AWS service integration".to_owned(),
        "MOCK" => {
            "a mock integration (API Gateway answers itself) other than a CORS preflight".to_owned()
        }
        "" => "a method without an integration".to_owned(),
        other => format!("a `{other}` integration"),
    };
    format!(
        "{what}: a fedgate API calls one HTTP backend, so it is left out, and a deploy from \
         fedgate removes it"
    )
}

/// The policy of each authorizer that maps to one (`None`: it cannot be mapped, said in
/// a warning).
fn authorizer_policies(
    state: &GatewayState,
    warnings: &mut Vec<FieldError>,
) -> BTreeMap<String, Option<Policy>> {
    let used: BTreeSet<&str> = state
        .methods
        .values()
        .flat_map(|methods| methods.values())
        .filter_map(|m| m.authorizer.as_deref())
        .collect();
    let mut policies = BTreeMap::new();
    for (name, authorizer) in &state.authorizers {
        let at = format!("authorizers.{name}");
        if !used.contains(name.as_str()) {
            warnings.push(FieldError::new(
                at,
                "secures no method; a deploy from fedgate removes it",
            ));
            continue;
        }
        let policy = match policy_of(authorizer) {
            Ok(policy) => {
                if let Some(source) = authorizer
                    .identity_source
                    .as_deref()
                    .filter(|s| !s.eq_ignore_ascii_case("method.request.header.Authorization"))
                {
                    warnings.push(FieldError::new(
                        &at,
                        format!(
                            "reads the token from `{source}`; fedgate's authorizers read the \
                             Authorization header"
                        ),
                    ));
                }
                Some(policy)
            }
            Err(reason) => {
                warnings.push(FieldError::new(
                    at,
                    format!(
                        "{reason}; the methods it secures are open in the design, and a deploy \
                         from fedgate would leave them unsecured"
                    ),
                ));
                None
            }
        };
        policies.insert(name.clone(), policy);
    }
    policies
}

/// The `awsOAuth2` policy a TOKEN Lambda authorizer with an invoke role stands for.
fn policy_of(authorizer: &AuthorizerState) -> Result<Policy, String> {
    if authorizer.kind != "TOKEN" {
        return Err(format!(
            "a {} authorizer cannot be mapped (fedgate's awsOAuth2 policy is a TOKEN Lambda \
             authorizer)",
            authorizer.kind
        ));
    }
    let lambda_arn = authorizer
        .uri
        .as_deref()
        .and_then(|uri| uri.split_once(LAMBDA_PATH))
        .and_then(|(_, rest)| rest.strip_suffix(INVOCATIONS))
        .filter(|arn| !arn.is_empty())
        .ok_or("its authorizerUri does not name a Lambda function")?;
    let invoke_role_arn = authorizer
        .credentials
        .as_deref()
        .ok_or("it has no invoke role (authorizerCredentials), which awsOAuth2 needs")?;
    Ok(Policy {
        lambda_arn: lambda_arn.to_owned(),
        invoke_role_arn: invoke_role_arn.to_owned(),
    })
}

/// An HTTP method as a resource, with its backend; `None` (and a warning) when fedgate
/// cannot express it.
fn candidate<'a>(
    path: &'a str,
    verb: &str,
    integration: &Integration,
    policy: Option<&'a Policy>,
    at: &str,
    warnings: &mut Vec<FieldError>,
) -> Option<Candidate<'a>> {
    let parsed = PathTemplate::parse(path).and_then(|p| Ok((p, HttpMethod::parse(verb)?)));
    let (template, method) = match parsed {
        Ok(parsed) => parsed,
        Err(reason) => {
            warnings.push(FieldError::new(at, format!("{reason}; it is left out")));
            return None;
        }
    };
    let uri = integration.uri.as_deref().unwrap_or_default();
    let Some(base) = base_of(uri, &template) else {
        warnings.push(FieldError::new(
            at,
            format!(
                "its backend URI `{uri}` does not end with the resource path; fedgate calls \
                 endpointUrl + path, so it is left out"
            ),
        ));
        return None;
    };
    if integration.kind == "HTTP" {
        warnings.push(FieldError::new(
            at,
            "an HTTP integration with mappings: fedgate deploys it as HTTP_PROXY, passing \
             requests and responses through unchanged",
        ));
    }
    if let Some(backend_method) = integration
        .http_method
        .as_deref()
        .filter(|m| !m.eq_ignore_ascii_case(verb) && !m.eq_ignore_ascii_case("ANY"))
    {
        warnings.push(FieldError::new(
            at,
            format!("calls the backend with {backend_method}; fedgate calls it with {verb}"),
        ));
    }
    Some(Candidate {
        path,
        method,
        base,
        policy,
    })
}

/// The backend of `uri`: the URI without the resource path at its end (a greedy
/// `{proxy+}` written either as `{proxy}` or as `{proxy+}`).
fn base_of(uri: &str, path: &PathTemplate) -> Option<String> {
    if path.as_str() == "/" {
        return Some(uri.trim_end_matches('/').to_owned()).filter(|b| !b.is_empty());
    }
    let suffix = path_uri("", path);
    let greedy = format!("{}+}}", suffix.strip_suffix('}').unwrap_or(&suffix));
    [suffix.as_str(), greedy.as_str()]
        .iter()
        .find_map(|s| uri.strip_suffix(s))
        .filter(|base| !base.is_empty())
        .map(str::to_owned)
}

/// The base most candidates call (of equals, the first in order).
fn most_common_base(candidates: &[Candidate<'_>]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in candidates {
        *counts.entry(&c.base).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(base, _)| base.to_owned())
}

/// The policy every resource has, when they all have the same one.
fn shared_policy<'a>(candidates: &[Candidate<'a>]) -> Option<&'a Policy> {
    let first = candidates.first()?.policy?;
    candidates
        .iter()
        .all(|c| c.policy == Some(first))
        .then_some(first)
}

fn is_cors(integration: &Integration) -> bool {
    integration
        .response_headers
        .keys()
        .any(|h| h.to_ascii_lowercase().starts_with("access-control-"))
}

/// A static header value as API Gateway holds it: `'*'` → `*`.
fn unquoted(value: &str) -> &str {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value)
}

fn list(value: &str) -> impl Iterator<Item = String> + '_ {
    unquoted(value)
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The CORS settings the preflights announce, if any path answers one.
fn cors(
    preflights: &[(&str, &Integration)],
    candidates: &[Candidate<'_>],
    warnings: &mut Vec<FieldError>,
) -> Option<CorsDraft> {
    if preflights.is_empty() {
        return None;
    }
    let header = |integration: &'_ Integration, name: &str| -> Option<String> {
        integration
            .response_headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut origins = BTreeSet::new();
    let mut headers = BTreeSet::new();
    let mut methods = BTreeSet::new();
    let mut credentials = false;
    let mut max_age = None;
    let mut methods_as_resources = true;
    for (path, integration) in preflights {
        origins.extend(
            header(integration, ALLOW_ORIGIN)
                .iter()
                .flat_map(|v| list(v)),
        );
        headers.extend(
            header(integration, ALLOW_HEADERS)
                .iter()
                .flat_map(|v| list(v)),
        );
        let announced: BTreeSet<String> = header(integration, ALLOW_METHODS)
            .iter()
            .flat_map(|v| list(v))
            .map(|m| m.to_ascii_uppercase())
            .filter(|m| m != "OPTIONS")
            .collect();
        let served: BTreeSet<String> = candidates
            .iter()
            .filter(|c| c.path == *path)
            .map(|c| c.method.as_str().to_owned())
            .collect();
        methods_as_resources &= announced == served;
        methods.extend(announced);
        credentials |= header(integration, ALLOW_CREDENTIALS)
            .is_some_and(|v| unquoted(&v).eq_ignore_ascii_case("true"));
        max_age = max_age.or_else(|| {
            header(integration, MAX_AGE).and_then(|v| unquoted(&v).parse::<i64>().ok())
        });
    }
    if origins.is_empty() {
        warnings.push(FieldError::new(
            "cors.allowOrigins",
            "the preflights name no fixed origin (a mapping template may choose it, which \
             fedgate cannot read); `*` is assumed",
        ));
        origins.insert("*".to_owned());
    }
    Some(CorsDraft {
        enabled: true,
        allow_origins: Some(origins.into_iter().collect()),
        allow_headers: (!headers.is_empty()).then(|| headers.into_iter().collect()),
        allow_methods: (!methods_as_resources).then(|| methods.into_iter().collect()),
        allow_credentials: Some(credentials),
        max_age,
    })
}

/// The version a name ends with: `Pets API v2` → `2`, `orders-1.4.0` → `1.4.0`.
fn version_in(name: &str) -> Option<String> {
    let last = name.rsplit([' ', '-', '_']).next()?;
    let number = last.strip_prefix(['v', 'V']).unwrap_or(last);
    let valid = number.starts_with(|c: char| c.is_ascii_digit())
        && number
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
        && number.len() <= 30
        && last != name;
    valid.then(|| number.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::ApiDesign;
    use crate::domain::translate::{Target, translate};
    use proptest::prelude::*;
    use serde_json::json;

    const AUTH_URI: &str = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:authA/invocations";
    const ROLE: &str = "arn:aws:iam::123456789012:role/authA-invoke";

    fn facts() -> RestApiFacts<'static> {
        RestApiFacts {
            id: "abc123",
            name: "Legacy Pets v2",
            description: Some("made in the console"),
            ..Default::default()
        }
    }

    fn state(document: serde_json::Value) -> GatewayState {
        GatewayState::from_document(&document, None)
    }

    fn http(uri: &str, verb: &str) -> serde_json::Value {
        json!({"responses": {}, "x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": verb, "uri": uri}})
    }

    fn fields(warnings: &[FieldError]) -> Vec<&str> {
        warnings.iter().map(|w| w.field.as_str()).collect()
    }

    #[test]
    fn a_blocked_stage_is_named() {
        let document =
            json!({"paths": {"/pets": {"get": http("https://b.example.com/pets", "GET")}}});
        let blocked = GatewayState {
            stage: Some(crate::domain::gateway_state::StageState {
                name: "prod".into(),
                blocked: true,
                deployment_id: Some("d1".into()),
            }),
            ..state(document.clone())
        };
        let mapped = map(&facts(), &blocked, Overrides::default()).unwrap();
        assert_eq!(fields(&mapped.warnings), ["stage"]);
        assert!(mapped.warnings[0].reason.contains("`prod`"));
        let open = map(&facts(), &state(document), Overrides::default()).unwrap();
        assert!(open.warnings.is_empty(), "{:?}", open.warnings);
    }

    #[test]
    fn maps_a_console_made_api_and_names_what_it_leaves_out() {
        let mut secured = http("https://b.example.com/v1/pets/{id}", "GET");
        secured["security"] = json!([{"authA": []}]);
        let mut by_request = http("https://b.example.com/v1/pets/{id}", "DELETE");
        by_request["security"] = json!([{"byRequest": []}]);
        let document = json!({
            "paths": {
                "/pets": {
                    "get": http("https://b.example.com/v1/pets", "GET"),
                    "post": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": "arn:lambda"}},
                    "options": {"x-amazon-apigateway-integration": {"type": "mock",
                        "responses": {"default": {"responseParameters": {
                            "method.response.header.Access-Control-Allow-Origin": "'https://shop.example.com'",
                            "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
                            "method.response.header.Access-Control-Allow-Headers": "'Authorization,X-Trace'"}}}}}
                },
                "/pets/{id}": {"get": secured, "delete": by_request},
                "/health": {"get": {"x-amazon-apigateway-integration": {"type": "mock"}}},
                "/other": {"get": http("https://elsewhere.example.com/other", "GET")}
            },
            "components": {"securitySchemes": {
                "authA": {"x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": AUTH_URI,
                    "authorizerCredentials": ROLE, "identitySource": "method.request.header.Authorization"}},
                "byRequest": {"x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": AUTH_URI}}
            }}
        });
        let discovered = map(&facts(), &state(document), Overrides::default()).unwrap();
        let design = ApiDesign::parse(&discovered.draft).unwrap();
        assert_eq!(design.name.as_str(), "Legacy Pets v2");
        assert_eq!(design.version.as_str(), "2");
        assert_eq!(design.context.as_str(), "/legacy-pets-v2");
        assert_eq!(design.endpoint_url.as_str(), "https://b.example.com/v1");
        let resources: Vec<String> = design
            .resources
            .iter()
            .map(|r| format!("{} {}", r.method, r.path.as_str()))
            .collect();
        assert_eq!(
            resources,
            ["GET /pets", "DELETE /pets/{id}", "GET /pets/{id}"]
        );
        assert!(design.policies.is_empty(), "not every resource is secured");
        let secured = &design.resources[2];
        let policy = secured.policies[0].lambda().unwrap();
        assert_eq!(
            policy.lambda_arn.as_str(),
            "arn:aws:lambda:us-east-1:123456789012:function:authA"
        );
        assert_eq!(policy.invoke_role_arn.as_str(), ROLE);
        assert!(
            design.resources[1].policies.is_empty(),
            "a REQUEST authorizer: open"
        );
        assert!(design.cors.enabled);
        assert_eq!(design.cors.allow_origins, ["https://shop.example.com"]);
        assert_eq!(design.cors.allow_headers, ["Authorization", "X-Trace"]);
        assert_eq!(
            design.cors.allow_methods, None,
            "the preflight announces the resources' methods"
        );
        assert_eq!(
            fields(&discovered.warnings),
            [
                "authorizers.byRequest",
                "methods./health.GET",
                "methods./pets.POST",
                "methods./other.GET"
            ]
        );
        assert!(discovered.warnings[2].reason.contains("Lambda proxy"));
        assert!(
            discovered.warnings[3]
                .reason
                .contains("https://elsewhere.example.com")
        );
    }

    #[test]
    fn one_policy_on_every_resource_is_the_apis() {
        let mut a = http("http://127.0.0.1:9/{proxy}", "ANY");
        a["security"] = json!([{"authA": []}]);
        let mut root = http("http://127.0.0.1:9/", "GET");
        root["security"] = json!([{"authA": []}]);
        let document = json!({
            "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": a}, "/": {"get": root}},
            "components": {"securitySchemes": {"authA": {"x-amazon-apigateway-authorizer": {
                "type": "token", "authorizerUri": AUTH_URI, "authorizerCredentials": ROLE}}}}
        });
        let facts = RestApiFacts {
            name: "???",
            request_validators: 2,
            models: 1,
            ..facts()
        };
        let discovered = map(&facts, &state(document), Overrides::default()).unwrap();
        let design = ApiDesign::parse(&discovered.draft).unwrap();
        assert_eq!(design.endpoint_url.as_str(), "http://127.0.0.1:9");
        assert_eq!(design.policies.len(), 1);
        assert!(design.resources.iter().all(|r| r.policies.is_empty()));
        assert_eq!(design.context.as_str(), "/abc123", "no slug in the name");
        assert_eq!(design.version.as_str(), "1");
        assert_eq!(
            fields(&discovered.warnings),
            ["requestValidators", "models"]
        );
    }

    #[test]
    fn without_a_backend_the_endpoint_must_be_given() {
        let document = json!({"paths": {"/f": {"post": {"x-amazon-apigateway-integration": {"type": "aws_proxy"}}}}});
        let error = map(&facts(), &state(document.clone()), Overrides::default()).unwrap_err();
        assert_eq!(error.field, "endpointUrl");
        let overrides = Overrides {
            endpoint_url: Some("https://api.example.com".into()),
            context: Some("/f".into()),
            ..Default::default()
        };
        let discovered = map(&facts(), &state(document), overrides).unwrap();
        assert_eq!(discovered.draft.context.as_deref(), Some("/f"));
        assert_eq!(fields(&discovered.warnings), ["methods./f.POST"]);
    }

    #[test]
    fn versions_in_names() {
        assert_eq!(version_in("Pets API v2").as_deref(), Some("2"));
        assert_eq!(version_in("orders-1.4.0").as_deref(), Some("1.4.0"));
        assert_eq!(version_in("orders_V3").as_deref(), Some("3"));
        for none in ["Pets", "v2", "2", "pets-v", "pets-1.", "pets-1.x"] {
            assert_eq!(version_in(none), None, "{none}");
        }
    }

    fn arbitrary_design() -> impl Strategy<Value = ApiDesign> {
        let segment = prop_oneof![
            Just("pets".to_owned()),
            Just("orders".to_owned()),
            Just("{p}".to_owned())
        ];
        let path = prop::collection::vec(segment, 1..4).prop_map(|segments| {
            // One parameter name per depth, so siblings agree.
            let named: Vec<String> = segments
                .iter()
                .enumerate()
                .map(|(i, s)| s.replace("{p}", &format!("{{p{i}}}")))
                .collect();
            format!("/{}", named.join("/"))
        });
        let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "ANY"]);
        let policy = prop::option::of(prop::sample::select(vec!["authA", "authB"]));
        let resources = prop::collection::vec((method, path, policy), 1..8);
        (
            resources,
            any::<bool>(),
            prop::option::of(prop::sample::select(vec!["authA", "authB"])),
        )
            .prop_map(|(resources, cors, api_policy)| {
                let policy = |f: &str| {
                    json!({"type": "awsOAuth2", "parameters": {
                    "lambdaArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{f}"),
                    "invokeRoleArn": format!("arn:aws:iam::123456789012:role/{f}-invoke")}})
                };
                let mut seen = BTreeSet::new();
                let resources: Vec<_> = resources
                    .into_iter()
                    .filter(|(m, p, _)| seen.insert((*m, p.clone())))
                    .map(|(m, p, pol)| {
                        json!({"method": m, "path": p,
                        "policies": pol.map(policy).into_iter().collect::<Vec<_>>()})
                    })
                    .collect();
                let draft: ApiDraft = serde_json::from_value(json!({
                    "name": "Pets", "version": "1", "context": "/pets",
                    "endpointUrl": "https://backend.example.com/base",
                    "cors": {"enabled": cors, "allowOrigins": ["https://a.example.com"]},
                    "policies": api_policy.map(policy).into_iter().collect::<Vec<_>>(),
                    "resources": resources
                }))
                .unwrap();
                ApiDesign::parse(&draft).unwrap()
            })
    }

    proptest! {
        /// What fedgate deploys, read back, maps to an API that deploys the same:
        /// the same resources, backend, effective policies and CORS origins.
        #[test]
        fn a_deployed_design_maps_back_to_itself(design in arbitrary_design()) {
            let target = Target { region: "us-east-1", authorizer_ttl_secs: 300, managed: &BTreeMap::new() };
            let deployed = GatewayState::from_document(&translate(&design, &target), None);
            let facts = RestApiFacts { id: "x", name: "Pets", ..Default::default() };
            let discovered = map(&facts, &deployed, Overrides::default()).unwrap();
            prop_assert!(discovered.warnings.is_empty(), "{:?}", discovered.warnings);
            let back = ApiDesign::parse(&discovered.draft).unwrap();
            prop_assert_eq!(back.endpoint_url.as_str(), design.endpoint_url.as_str());
            prop_assert_eq!(back.cors.enabled, design.cors.enabled);
            if design.cors.enabled {
                prop_assert_eq!(&back.cors.allow_origins, &design.cors.allow_origins);
            }
            let effective = |d: &ApiDesign| -> BTreeMap<String, Option<String>> {
                d.resources.iter().map(|r| (
                    format!("{} {}", r.method, r.path.as_str()),
                    d.effective_policy(r).policy.and_then(|p| p.lambda().map(|l| l.lambda_arn.as_str().to_owned())),
                )).collect()
            };
            prop_assert_eq!(effective(&back), effective(&design));
            let redeployed = GatewayState::from_document(&translate(&back, &target), None);
            prop_assert_eq!(redeployed.methods.keys().collect::<Vec<_>>(), deployed.methods.keys().collect::<Vec<_>>());
        }
    }
}
