//! An API updated from a document: what fedgate holds and the document cannot say is
//! kept, and the change is told resource by resource.

use serde::Serialize;
use utoipa::ToSchema;

use super::Declares;
use crate::domain::api::ApiDesign;

/// Keeps in `imported` what fedgate holds for `current` and the document does not
/// state: CORS, key managers and API-level policies unless its `x-fedgate` names them,
/// and the policies of each resource whose method and path still exist unless the
/// document gives that resource its own.
pub fn keep_held(imported: &mut ApiDesign, declares: Declares, current: &ApiDesign) {
    if !declares.cors {
        imported.cors = current.cors.clone();
    }
    if !declares.key_managers {
        imported.key_managers = current.key_managers.clone();
    }
    if !declares.policies {
        imported.policies = current.policies.clone();
    }
    for resource in imported
        .resources
        .iter_mut()
        .filter(|r| r.policies.is_empty())
    {
        if let Some(held) = current
            .resources
            .iter()
            .find(|c| c.method == resource.method && c.path == resource.path)
        {
            resource.policies = held.policies.clone();
        }
    }
}

/// The resources an update adds, removes and changes, as `METHOD /path`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ResourceChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Same method and path, another description, backend path or policies.
    pub changed: Vec<String>,
}

pub fn resource_changes(current: &ApiDesign, updated: &ApiDesign) -> ResourceChanges {
    let mut changes = ResourceChanges::default();
    for resource in &updated.resources {
        match current
            .resources
            .iter()
            .find(|c| c.method == resource.method && c.path == resource.path)
        {
            None => changes.added.push(resource.operation()),
            Some(before) if before != resource => changes.changed.push(resource.operation()),
            Some(_) => {}
        }
    }
    for resource in &current.resources {
        let kept = updated
            .resources
            .iter()
            .any(|u| u.method == resource.method && u.path == resource.path);
        if !kept {
            changes.removed.push(resource.operation());
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::api::draft::ApiDraft;
    use serde_json::{Value, json};

    fn design(resources: Value, policies: Value) -> ApiDesign {
        bare(json!({"cors": {"enabled": true}, "keyManagers": ["idp"],
            "policies": policies, "resources": resources}))
    }

    fn bare(mut body: Value) -> ApiDesign {
        body.as_object_mut().unwrap().extend(
            json!({"name": "A", "version": "1", "context": "/a",
                   "endpointUrl": "https://b.example.com"})
            .as_object()
            .unwrap()
            .clone(),
        );
        let draft: ApiDraft = serde_json::from_value(body).unwrap();
        ApiDesign::parse(&draft).unwrap()
    }

    fn policy(function: &str) -> Value {
        json!({"type": "awsOAuth2", "parameters": {
            "lambdaArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
            "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}})
    }

    #[test]
    fn held_settings_and_resource_policies_are_kept() {
        let current = design(
            json!([{"method": "GET", "path": "/a", "policies": [policy("own")]},
                   {"method": "GET", "path": "/gone", "policies": [policy("gone")]}]),
            json!([policy("api")]),
        );
        let mut imported = bare(json!({"resources": [
            {"method": "GET", "path": "/a", "description": "new words"},
            {"method": "POST", "path": "/a"}]}));
        keep_held(&mut imported, Declares::default(), &current);
        assert_eq!(imported.policies, current.policies);
        assert_eq!(imported.cors, current.cors);
        assert_eq!(imported.key_managers, ["idp"]);
        assert_eq!(
            imported.resources[0].policies,
            current.resources[0].policies
        );
        assert!(imported.resources[1].policies.is_empty());
        assert_eq!(
            resource_changes(&current, &imported),
            ResourceChanges {
                added: vec!["POST /a".into()],
                removed: vec!["GET /gone".into()],
                changed: vec!["GET /a".into()],
            }
        );
        let declared = Declares {
            cors: true,
            key_managers: true,
            policies: true,
        };
        let mut stated = bare(json!({}));
        keep_held(&mut stated, declared, &current);
        assert!(stated.policies.is_empty() && stated.key_managers.is_empty());
        assert!(!stated.cors.enabled);
    }
}
