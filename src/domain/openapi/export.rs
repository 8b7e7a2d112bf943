//! An API design → an OpenAPI 3.0 document that imports back to the same API (with
//! the resources of one path side by side, as OpenAPI groups them).

use serde_json::{Map, Value, json};

use super::{EXTENSION, operation_key};
use crate::domain::api::{ApiDesign, Resource};

pub fn export(design: &ApiDesign) -> Value {
    let mut paths = Map::new();
    for resource in &design.resources {
        let item = paths
            .entry(resource.path.as_str())
            .or_insert_with(|| json!({}));
        item[operation_key(resource.method)] = operation(resource);
    }
    let mut info = json!({"title": design.name.as_str(), "version": design.version.as_str()});
    if !design.description.is_empty() {
        info["description"] = json!(design.description);
    }
    json!({
        "openapi": "3.0.3",
        "info": info,
        "servers": [{"url": design.endpoint_url.as_str()}],
        "paths": paths,
        EXTENSION: {
            "context": design.context.as_str(),
            "gatewayType": design.gateway_type,
            "cors": design.cors,
            "keyManagers": design.key_managers,
            "policies": design.policies,
        },
    })
}

/// What OpenAPI itself says of a resource: description, path parameters, responses.
pub(super) fn plain_operation(resource: &Resource) -> Map<String, Value> {
    let mut operation = Map::new();
    if !resource.description.is_empty() {
        operation.insert("description".into(), json!(resource.description));
    }
    let parameters: Vec<Value> = resource
        .path
        .params()
        .into_iter()
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    // OpenAPI requires responses; the backend's are passed through as they are.
    operation.insert(
        "responses".into(),
        json!({"default": {"description": "The backend's response"}}),
    );
    operation
}

fn operation(resource: &Resource) -> Value {
    let mut operation = plain_operation(resource);
    let mut extension = Map::new();
    if !resource.policies.is_empty() {
        extension.insert("policies".into(), json!(resource.policies));
    }
    if let Some(backend) = &resource.backend_path {
        extension.insert("backendPath".into(), json!(backend.as_str()));
    }
    if !extension.is_empty() {
        operation.insert(EXTENSION.into(), Value::Object(extension));
    }
    Value::Object(operation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::draft::ApiDraft;
    use crate::domain::openapi::{ANY_METHOD, Defaults, Overrides, import};

    fn design(value: Value) -> ApiDesign {
        let draft: ApiDraft = serde_json::from_value(value).unwrap();
        ApiDesign::parse(&draft).unwrap()
    }

    #[test]
    fn export_imports_back_to_the_same_design() {
        let policy = json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:auth",
            "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}});
        let original = design(json!({
            "name": "Shop", "version": "2.1", "context": "/shop", "description": "d",
            "endpointUrl": "https://shop.example.com/api",
            "cors": {"enabled": true, "allowOrigins": ["https://app.example.com"],
                     "allowMethods": ["GET"], "allowCredentials": true, "maxAge": 600},
            "keyManagers": ["auth0"],
            "policies": [policy],
            "resources": [
                {"method": "GET", "path": "/items/{itemId}", "description": "one",
                 "policies": [policy]},
                {"method": "ANY", "path": "/{proxy+}"},
                {"method": "HEAD", "path": "/items/{itemId}"},
                {"method": "GET", "path": "/items", "backendPath": "/items/"},
                {"method": "PUT", "path": "/items/{itemId}", "backendPath": "/items/{item_id}/"},
            ]
        }));
        let document = export(&original);
        assert_eq!(document["openapi"], "3.0.3");
        let item = &document["paths"]["/items/{itemId}"];
        assert_eq!(item["get"]["parameters"][0]["name"], "itemId");
        assert!(item["head"]["responses"].is_object());
        assert!(document["paths"]["/{proxy+}"][ANY_METHOD].is_object());

        let imported = import(&document, Overrides::default(), Defaults::default()).unwrap();
        let mut back = imported.into_design().unwrap().design;
        let by_path = |d: &mut ApiDesign| d.resources.sort_by_key(|r| r.path.as_str().to_owned());
        let mut original = original;
        by_path(&mut original);
        by_path(&mut back);
        assert_eq!(back, original);
    }
}
