//! The heart of fedgate: an API design becomes one AWS-flavoured OpenAPI 3.0 document
//! that API Gateway imports whole (`PutRestApi mode=overwrite`), so a deploy costs the
//! same few calls whatever the number of resources.
//!
//! Pure and deterministic: maps are ordered, so identical designs give identical bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::domain::api::cors::Cors;
use crate::domain::api::path::{PathTemplate, Segment};
use crate::domain::api::policy::{AwsOAuth2, Policy};
use crate::domain::api::{ApiDesign, HttpMethod, Resource};
use crate::domain::managed_authorizer::ManagedArns;
use crate::domain::openapi::operation_key;

/// What the translation needs to know about the target.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub region: &'a str,
    /// Seconds API Gateway caches an authorizer's answer (WSO2 used 0: a Lambda call per
    /// request).
    pub authorizer_ttl_secs: u32,
    /// The managed authorizers provisioned for this environment, by key manager name. A
    /// key manager missing here (a preview before the first deploy) is written as a
    /// placeholder naming it, which a deploy never pushes.
    pub managed: &'a BTreeMap<String, ManagedArns>,
}

/// The headers a managed authorizer's answer sets on the backend request (replacing any
/// the caller sent), from the context it returns: `http_proxy` forwards none by itself.
pub const IDENTITY_HEADERS: [(&str, &str); 3] = [
    ("X-Fedgate-Sub", "sub"),
    ("X-Fedgate-Client-Id", "clientId"),
    ("X-Fedgate-Scope", "scope"),
];

/// The timeout API Gateway allows an integration by default.
const INTEGRATION_TIMEOUT_MS: u32 = 29_000;

pub fn translate(design: &ApiDesign, target: &Target<'_>) -> Value {
    let schemes = SecuritySchemes::collect(design, target);
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for resource in &design.resources {
        let operation = operation(design, resource, &schemes);
        paths
            .entry(resource.path.as_str())
            .or_default()
            .insert(operation_key(resource.method).to_owned(), operation);
    }
    if design.cors.enabled {
        for (path, operations) in paths.iter_mut() {
            if !operations.contains_key("options") {
                let methods = allowed_methods(&design.cors, design, path);
                let mut preflight = cors_preflight(&design.cors, &methods);
                // Every operation declares its path's parameters, the preflight too.
                if let Some(params) = operations.values().find_map(|op| op.get("parameters")) {
                    preflight["parameters"] = params.clone();
                }
                operations.insert("options".into(), preflight);
            }
        }
    }
    let mut document = json!({
        "openapi": "3.0.1",
        "info": {
            "title": design.name.as_str(),
            "version": design.version.as_str(),
            // moto requires a description; AWS shows it on the REST API.
            "description": if design.description.is_empty() {
                format!("{} {} (deployed by fedgate)", design.name.as_str(), design.version.as_str())
            } else {
                design.description.clone()
            },
        },
        "paths": paths.into_iter().map(|(p, ops)| (p.to_owned(), Value::Object(ops))).collect::<Map<_, _>>(),
    });
    if !schemes.by_policy.is_empty() {
        document["components"] = json!({ "securitySchemes": schemes.definitions() });
    }
    if design.cors.enabled {
        // Errors API Gateway answers itself (401 from an authorizer, 403, 429, 5xx) carry
        // CORS headers too, so browsers can read them.
        let headers = cors_static_headers(&design.cors, "*");
        let responses: Map<String, Value> = ["DEFAULT_4XX", "DEFAULT_5XX"]
            .into_iter()
            .map(|kind| (kind.to_owned(), json!({ "responseParameters": headers })))
            .collect();
        document["x-amazon-apigateway-gateway-responses"] = Value::Object(responses);
    }
    document
}

fn operation(design: &ApiDesign, resource: &Resource, schemes: &SecuritySchemes) -> Value {
    let params = path_params(&resource.path);
    let mut op = json!({
        "responses": { "default": { "description": "The backend's response, passed through" } },
        "x-amazon-apigateway-integration": {
            "type": "http_proxy",
            "httpMethod": resource.method.as_str(),
            "uri": backend_uri(design.endpoint_url.as_str(), resource),
            "passthroughBehavior": "when_no_match",
            "timeoutInMillis": INTEGRATION_TIMEOUT_MS,
        },
    });
    if !resource.description.is_empty() {
        op["description"] = json!(resource.description);
    }
    if !params.is_empty() {
        op["parameters"] = params
            .iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mapped: Vec<(&str, &str)> = match &resource.backend_path {
            Some(backend) => backend.param_map(&resource.path),
            None => params.iter().map(|name| (*name, *name)).collect(),
        };
        op["x-amazon-apigateway-integration"]["requestParameters"] = mapped
            .into_iter()
            .map(|(name, backend_name)| {
                (
                    format!("integration.request.path.{backend_name}"),
                    json!(format!("method.request.path.{name}")),
                )
            })
            .collect::<Map<_, _>>()
            .into();
    }
    if let Some(Policy::AwsOAuth2(policy)) = design.effective_policy(resource).policy {
        op["security"] = json!([{ schemes.name_of(&policy): [] }]);
        if policy.managed().is_some() {
            let integration = &mut op["x-amazon-apigateway-integration"];
            if integration.get("requestParameters").is_none() {
                integration["requestParameters"] = json!({});
            }
            for (header, key) in IDENTITY_HEADERS {
                integration["requestParameters"][format!("integration.request.header.{header}")] =
                    json!(format!("context.authorizer.{key}"));
            }
        }
    }
    op
}

/// Path parameter names as API Gateway declares them (`proxy` for `{proxy+}`).
fn path_params(path: &PathTemplate) -> Vec<&str> {
    path.segments()
        .filter_map(|segment| match segment {
            Segment::Param(name) | Segment::Greedy(name) => Some(name),
            Segment::Literal(_) => None,
        })
        .collect()
}

/// The backend URL of a resource: the endpoint plus its backend path (its own path
/// unless it has one).
fn backend_uri(endpoint: &str, resource: &Resource) -> String {
    match &resource.backend_path {
        Some(backend) => join_uri(endpoint, backend.segments(), backend.has_trailing_slash()),
        None => path_uri(endpoint, &resource.path),
    }
}

/// The backend URL of a path: the endpoint plus the path, with a greedy parameter written
/// as `{name}` (API Gateway substitutes the whole rest of the path into it).
pub(crate) fn path_uri(endpoint: &str, path: &PathTemplate) -> String {
    join_uri(endpoint, path.segments().collect(), path.as_str() == "/")
}

fn join_uri(endpoint: &str, segments: Vec<Segment<'_>>, trailing_slash: bool) -> String {
    let mut uri = endpoint.trim_end_matches('/').to_owned();
    for segment in segments {
        uri.push('/');
        match segment {
            Segment::Literal(s) => uri.push_str(s),
            Segment::Param(name) | Segment::Greedy(name) => {
                uri.push('{');
                uri.push_str(name);
                uri.push('}');
            }
        }
    }
    if trailing_slash {
        uri.push('/');
    }
    uri
}

/// One security scheme per distinct effective policy: per Lambda and role for the
/// publisher's own authorizers, per key manager for managed ones (the function holds
/// every scope; one authorizer lets API Gateway cache one answer per token).
struct SecuritySchemes {
    by_policy: BTreeMap<String, (Invocation, String)>,
    region: String,
    ttl: u32,
}

/// What an authorizer invokes: the function, and the role API Gateway assumes for it.
struct Invocation {
    function_arn: String,
    role_arn: String,
}

impl SecuritySchemes {
    fn collect(design: &ApiDesign, target: &Target<'_>) -> Self {
        let mut by_policy = BTreeMap::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let policies: BTreeMap<String, AwsOAuth2> = design
            .resources
            .iter()
            .filter_map(|r| {
                design
                    .effective_policy(r)
                    .policy
                    .map(|Policy::AwsOAuth2(p)| (scheme_key(&p), p))
            })
            .collect();
        for (key, policy) in policies {
            let base = scheme_base_name(&policy);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            by_policy.insert(key, (invocation(&policy, target), name));
        }
        Self {
            by_policy,
            region: target.region.to_owned(),
            ttl: target.authorizer_ttl_secs,
        }
    }

    fn name_of(&self, policy: &AwsOAuth2) -> &str {
        &self.by_policy[&scheme_key(policy)].1
    }

    fn definitions(&self) -> Map<String, Value> {
        self.by_policy
            .values()
            .map(|(invocation, name)| (name.clone(), self.scheme(invocation)))
            .collect()
    }

    fn scheme(&self, invocation: &Invocation) -> Value {
        let lambda = invocation.function_arn.as_str();
        let partition = lambda.split(':').nth(1).unwrap_or("aws");
        json!({
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {
                "type": "token",
                "authorizerUri": format!(
                    "arn:{partition}:apigateway:{}:lambda:path/2015-03-31/functions/{lambda}/invocations",
                    self.region
                ),
                "authorizerCredentials": invocation.role_arn,
                "identitySource": "method.request.header.Authorization",
                "authorizerResultTtlInSeconds": self.ttl,
            }
        })
    }
}

fn scheme_key(policy: &AwsOAuth2) -> String {
    match policy {
        AwsOAuth2::Lambda(p) => format!(
            "lambda {} {}",
            p.lambda_arn.as_str(),
            p.invoke_role_arn.as_str()
        ),
        AwsOAuth2::Managed(m) => format!("keyManager {}", m.key_manager),
    }
}

fn invocation(policy: &AwsOAuth2, target: &Target<'_>) -> Invocation {
    match policy {
        AwsOAuth2::Lambda(p) => Invocation {
            function_arn: p.lambda_arn.as_str().to_owned(),
            role_arn: p.invoke_role_arn.as_str().to_owned(),
        },
        AwsOAuth2::Managed(m) => match target.managed.get(&m.key_manager) {
            Some(arns) => Invocation {
                function_arn: arns.function_arn.clone(),
                role_arn: arns.invoke_role_arn.clone(),
            },
            None => Invocation {
                function_arn: format!("(fedgate's authorizer for key manager {})", m.key_manager),
                role_arn: "(its invoke role, made when first deployed)".to_owned(),
            },
        },
    }
}

/// `fedgate-<function name>` for the publisher's own authorizer, `fedgate-km-<key
/// manager>` for a managed one: readable in the AWS console, valid as authorizer names.
fn scheme_base_name(policy: &AwsOAuth2) -> String {
    match policy {
        AwsOAuth2::Lambda(p) => {
            let function = p
                .lambda_arn
                .as_str()
                .split(':')
                .nth(6)
                .unwrap_or("authorizer");
            format!("fedgate-{function}")
        }
        AwsOAuth2::Managed(m) => format!("fedgate-km-{}", m.key_manager),
    }
}

/// The methods a preflight announces on `path`: the configured ones, else those the
/// path's resources serve (ANY means all of them); OPTIONS always.
fn allowed_methods(cors: &Cors, design: &ApiDesign, path: &str) -> Vec<&'static str> {
    let mut methods: BTreeSet<&'static str> = match &cors.allow_methods {
        Some(list) => list.iter().map(|m| m.as_str()).collect(),
        None => design
            .resources
            .iter()
            .filter(|r| r.path.as_str() == path)
            .flat_map(|r| match r.method {
                HttpMethod::Any => HttpMethod::ALL
                    .iter()
                    .filter(|m| **m != HttpMethod::Any)
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>(),
                m => vec![m.as_str()],
            })
            .collect(),
    };
    methods.insert("OPTIONS");
    methods.into_iter().collect()
}

/// Static CORS response headers, as API Gateway's quoted literals.
fn cors_static_headers(cors: &Cors, origin: &str) -> Map<String, Value> {
    let mut headers = Map::new();
    let mut put = |name: &str, value: String| {
        headers.insert(
            format!("gatewayresponse.header.{name}"),
            json!(format!("'{value}'")),
        );
    };
    put("Access-Control-Allow-Origin", origin.to_owned());
    put("Access-Control-Allow-Headers", cors.allow_headers.join(","));
    headers
}

/// An OPTIONS operation answered by API Gateway itself (a mock integration).
fn cors_preflight(cors: &Cors, methods: &[&str]) -> Value {
    let single_origin = match cors.allow_origins.as_slice() {
        [origin] => Some(origin.as_str()),
        _ => None,
    };
    let mut header_values: BTreeMap<&str, String> = BTreeMap::new();
    header_values.insert("Access-Control-Allow-Methods", methods.join(","));
    header_values.insert("Access-Control-Allow-Headers", cors.allow_headers.join(","));
    if let Some(origin) = single_origin {
        header_values.insert("Access-Control-Allow-Origin", origin.to_owned());
    }
    if cors.allow_credentials {
        header_values.insert("Access-Control-Allow-Credentials", "true".to_owned());
    }
    if let Some(max_age) = cors.max_age {
        header_values.insert("Access-Control-Max-Age", max_age.to_string());
    }
    let mut response_headers: Map<String, Value> = header_values
        .keys()
        .map(|name| (name.to_string(), json!({"schema": {"type": "string"}})))
        .collect();
    let response_parameters: Map<String, Value> = header_values
        .iter()
        .map(|(name, value)| {
            (
                format!("method.response.header.{name}"),
                json!(format!("'{value}'")),
            )
        })
        .collect();
    let mut integration_response = json!({
        "statusCode": "200",
        "responseParameters": response_parameters,
    });
    if single_origin.is_none() {
        // Several origins: echo the caller's Origin when it is one of them.
        response_headers.insert(
            "Access-Control-Allow-Origin".into(),
            json!({"schema": {"type": "string"}}),
        );
        let allowed = cors
            .allow_origins
            .iter()
            .map(|o| format!("$origin == \"{o}\""))
            .collect::<Vec<_>>()
            .join(" || ");
        integration_response["responseTemplates"] = json!({
            "application/json": format!(
                "#set($origin = $input.params().header.get(\"Origin\"))\n#if({allowed})\n#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end"
            )
        });
    }
    json!({
        "summary": "CORS preflight, answered by API Gateway",
        "responses": { "200": { "description": "CORS preflight", "headers": response_headers } },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": { "application/json": "{\"statusCode\": 200}" },
            "passthroughBehavior": "when_no_match",
            "responses": { "default": integration_response },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::draft::ApiDraft;
    use proptest::prelude::*;

    const TARGET: Target<'static> = Target {
        region: "us-east-1",
        authorizer_ttl_secs: 300,
        managed: &BTreeMap::new(),
    };

    fn design(value: Value) -> ApiDesign {
        let draft: ApiDraft = serde_json::from_value(value).unwrap();
        ApiDesign::parse(&draft).unwrap()
    }

    fn policy(function: &str) -> Value {
        json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
            "invokeRoleArn": format!("arn:aws:iam::123456789012:role/{function}-invoke")}})
    }

    fn petstore() -> ApiDesign {
        design(json!({
            "name": "Petstore", "version": "1.0.0", "context": "/petstore",
            "endpointUrl": "https://backend.example.com/v1",
            "cors": {"enabled": true, "allowOrigins": ["https://app.example.com"]},
            "policies": [policy("authA")],
            "resources": [
                {"method": "GET", "path": "/pets", "description": "List pets"},
                {"method": "POST", "path": "/pets", "policies": [policy("authB")]},
                {"method": "GET", "path": "/pets/{petId}"},
                {"method": "ANY", "path": "/files/{proxy+}"}
            ]
        }))
    }

    /// The checked-in document: a change to the translation shows up as a diff of it.
    /// Regenerate with `UPDATE_GOLDEN=1 cargo test golden`.
    #[test]
    fn golden_petstore() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/golden/petstore.aws.json"
        );
        let actual = serde_json::to_string_pretty(&translate(&petstore(), &TARGET)).unwrap() + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(path).expect("the golden file exists");
        assert!(
            actual == expected,
            "translation changed; review and regenerate {path}:\n{actual}"
        );
    }

    #[test]
    fn precedence_reaches_the_operations() {
        let doc = translate(&petstore(), &TARGET);
        let security = |path: &str, op: &str| doc["paths"][path][op]["security"].clone();
        assert_eq!(security("/pets", "get"), json!([{"fedgate-authA": []}]));
        assert_eq!(
            security("/pets", "post"),
            json!([{"fedgate-authB": []}]),
            "resource level wins"
        );
        let schemes = &doc["components"]["securitySchemes"];
        let authorizer = &schemes["fedgate-authA"]["x-amazon-apigateway-authorizer"];
        assert_eq!(
            authorizer["authorizerUri"],
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:authA/invocations"
        );
        assert_eq!(authorizer["authorizerResultTtlInSeconds"], 300);
        assert_eq!(
            authorizer["identitySource"],
            "method.request.header.Authorization"
        );
    }

    #[test]
    fn a_managed_policy_uses_the_key_managers_authorizer_and_maps_identity_headers() {
        let managed = |scopes: &[&str]| json!({"type": "awsOAuth2", "parameters": {"keyManager": "okta", "scopes": scopes}});
        let design = design(json!({
            "name": "Petstore", "version": "1.0.0", "context": "/petstore",
            "endpointUrl": "https://backend.example.com/v1",
            "policies": [managed(&["pets:read"])],
            "resources": [
                {"method": "GET", "path": "/pets/{id}"},
                {"method": "POST", "path": "/pets", "policies": [managed(&["pets:write"])]},
                {"method": "GET", "path": "/health", "policies": [policy("own")]}
            ]
        }));
        let arns = ManagedArns {
            function_arn:
                "arn:aws:lambda:us-east-1:123456789012:function:fedgate-authz-okta-0b6f7d1e".into(),
            invoke_role_arn: "arn:aws:iam::123456789012:role/fedgate-authz-okta-0b6f7d1e-invoke"
                .into(),
        };
        let managed = BTreeMap::from([("okta".to_owned(), arns.clone())]);
        let doc = translate(
            &design,
            &Target {
                managed: &managed,
                ..TARGET
            },
        );
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        // One authorizer per key manager whatever the scopes: the function checks them.
        assert_eq!(
            schemes.keys().collect::<Vec<_>>(),
            ["fedgate-km-okta", "fedgate-own"]
        );
        let authorizer = &schemes["fedgate-km-okta"]["x-amazon-apigateway-authorizer"];
        assert_eq!(
            authorizer["authorizerUri"],
            format!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
                arns.function_arn
            )
        );
        assert_eq!(authorizer["authorizerCredentials"], arns.invoke_role_arn);
        for (path, method) in [("/pets/{id}", "get"), ("/pets", "post")] {
            let op = &doc["paths"][path][method];
            assert_eq!(op["security"], json!([{"fedgate-km-okta": []}]));
            let params = &op["x-amazon-apigateway-integration"]["requestParameters"];
            assert_eq!(
                params["integration.request.header.X-Fedgate-Sub"],
                "context.authorizer.sub"
            );
            assert_eq!(
                params["integration.request.header.X-Fedgate-Client-Id"],
                "context.authorizer.clientId"
            );
            assert_eq!(
                params["integration.request.header.X-Fedgate-Scope"],
                "context.authorizer.scope"
            );
        }
        assert_eq!(
            doc["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"]["requestParameters"]
                ["integration.request.path.id"],
            "method.request.path.id"
        );
        // The publisher's own authorizer gets no identity headers: its context is unknown.
        assert!(
            doc["paths"]["/health"]["get"]["x-amazon-apigateway-integration"]
                .get("requestParameters")
                .is_none()
        );
        // Before the first deploy nothing is provisioned: the plan names what will be.
        let preview = translate(&design, &TARGET);
        let uri = preview["components"]["securitySchemes"]["fedgate-km-okta"]["x-amazon-apigateway-authorizer"]["authorizerUri"].as_str().unwrap().to_owned();
        assert!(
            uri.contains("fedgate's authorizer for key manager okta"),
            "{uri}"
        );
    }

    #[test]
    fn no_policy_means_no_security() {
        let doc = translate(
            &design(
                json!({"name": "Open", "version": "1", "context": "/open", "endpointUrl": "https://b.example.com",
                           "resources": [{"method": "GET", "path": "/things"}]}),
            ),
            &TARGET,
        );
        assert!(doc["paths"]["/things"]["get"].get("security").is_none());
        assert!(doc.get("components").is_none());
    }

    #[test]
    fn cors_preflight_lists_the_real_methods() {
        let doc = translate(&petstore(), &TARGET);
        let preflight = &doc["paths"]["/pets"]["options"]["x-amazon-apigateway-integration"];
        assert_eq!(preflight["type"], "mock");
        let headers = &preflight["responses"]["default"]["responseParameters"];
        assert_eq!(
            headers["method.response.header.Access-Control-Allow-Methods"],
            "'GET,OPTIONS,POST'"
        );
        assert_eq!(
            headers["method.response.header.Access-Control-Allow-Origin"],
            "'https://app.example.com'"
        );
    }

    #[test]
    fn a_backend_path_shapes_the_integration() {
        let doc = translate(
            &design(json!({"name": "Django", "version": "1", "context": "/dj",
            "endpointUrl": "https://b.example.com/api/",
            "resources": [
                {"method": "GET", "path": "/items", "backendPath": "/items/"},
                {"method": "GET", "path": "/a/{x}/b/{rest+}", "backendPath": "/a/{y}/b/{tail+}/"},
                {"method": "GET", "path": "/plain/{x}"}
            ]})),
            &TARGET,
        );
        let integration =
            |path: &str| doc["paths"][path]["get"]["x-amazon-apigateway-integration"].clone();
        assert_eq!(
            integration("/items")["uri"],
            "https://b.example.com/api/items/"
        );
        assert!(integration("/items").get("requestParameters").is_none());
        let renamed = integration("/a/{x}/b/{rest+}");
        assert_eq!(renamed["uri"], "https://b.example.com/api/a/{y}/b/{tail}/");
        assert_eq!(
            renamed["requestParameters"],
            json!({"integration.request.path.y": "method.request.path.x",
                   "integration.request.path.tail": "method.request.path.rest"})
        );
        let declared = &doc["paths"]["/a/{x}/b/{rest+}"]["get"]["parameters"];
        assert_eq!(declared[0]["name"], "x");
        assert_eq!(declared[1]["name"], "rest");
        let plain = integration("/plain/{x}");
        assert_eq!(plain["uri"], "https://b.example.com/api/plain/{x}");
        assert_eq!(
            plain["requestParameters"],
            json!({"integration.request.path.x": "method.request.path.x"})
        );
    }

    /// A random valid design: resources over a pool of paths, policies from a pool.
    fn arbitrary_design() -> impl Strategy<Value = ApiDesign> {
        let paths = ["/a", "/a/{id}", "/a/{id}/b", "/c", "/c/{proxy+}", "/d/e"];
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "ANY"];
        (
            proptest::collection::btree_set((0..paths.len(), 0..methods.len()), 1..20),
            proptest::option::of(0..3usize),
            proptest::collection::vec(proptest::option::of(0..3usize), 20),
            any::<bool>(),
        )
            .prop_map(move |(ops, api_policy, resource_policies, cors)| {
                let resources: Vec<Value> = ops
                    .into_iter()
                    .zip(resource_policies)
                    .map(|((p, m), pol)| {
                        let mut r = json!({"method": methods[m], "path": paths[p]});
                        if let Some(i) = pol {
                            r["policies"] = json!([policy(&format!("auth{i}"))]);
                        }
                        r
                    })
                    .collect();
                let mut body = json!({"name": "Prop", "version": "1", "context": "/prop",
                    "endpointUrl": "https://b.example.com", "resources": resources, "cors": {"enabled": cors}});
                if let Some(i) = api_policy {
                    body["policies"] = json!([policy(&format!("auth{i}"))]);
                }
                design(body)
            })
    }

    proptest! {
        #[test]
        fn every_resource_is_present_with_its_integration(design in arbitrary_design()) {
            let doc = translate(&design, &TARGET);
            for resource in &design.resources {
                let op = &doc["paths"][resource.path.as_str()][operation_key(resource.method)];
                prop_assert!(op.is_object(), "{} {} missing", resource.method, resource.path.as_str());
                prop_assert!(op["responses"].is_object());
                let integration = &op["x-amazon-apigateway-integration"];
                prop_assert_eq!(&integration["type"], "http_proxy");
                prop_assert_eq!(&integration["httpMethod"], resource.method.as_str());
            }
        }

        #[test]
        fn every_operation_declares_its_path_parameters(design in arbitrary_design()) {
            let doc = translate(&design, &TARGET);
            for resource in &design.resources {
                let expected = path_params(&resource.path);
                for (key, op) in doc["paths"][resource.path.as_str()].as_object().unwrap() {
                    let declared: Vec<&str> = op["parameters"]
                        .as_array()
                        .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
                        .unwrap_or_default();
                    prop_assert_eq!(&declared, &expected, "{} {}", key, resource.path.as_str());
                }
            }
        }

        #[test]
        fn security_follows_the_effective_policy(design in arbitrary_design()) {
            let doc = translate(&design, &TARGET);
            for resource in &design.resources {
                let op = &doc["paths"][resource.path.as_str()][operation_key(resource.method)];
                match design.effective_policy(resource).policy {
                    None => prop_assert!(op.get("security").is_none()),
                    Some(policy) => {
                        let policy = policy.lambda().expect("arbitrary designs bring their own Lambdas");
                        let scheme = op["security"][0].as_object().unwrap().keys().next().unwrap().clone();
                        let authorizer = &doc["components"]["securitySchemes"][&scheme]["x-amazon-apigateway-authorizer"];
                        prop_assert!(authorizer["authorizerUri"].as_str().unwrap().contains(policy.lambda_arn.as_str()));
                        prop_assert_eq!(&authorizer["authorizerCredentials"], policy.invoke_role_arn.as_str());
                    }
                }
            }
        }

        #[test]
        fn resource_order_does_not_change_the_document(design in arbitrary_design()) {
            let mut reversed = design.clone();
            reversed.resources.reverse();
            prop_assert_eq!(translate(&design, &TARGET), translate(&reversed, &TARGET));
        }
    }
}
