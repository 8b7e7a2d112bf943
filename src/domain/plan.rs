//! The difference between two gateway states as a list of changes with a fixed shape, and
//! its rendering for people in the style of a Terraform plan:
//!
//! ```text
//! + POST /pets
//! ~ GET /pets/{id}: authorizer none → fedgate-authA
//! - DELETE /legacy
//! Plan: 1 to add, 1 to change, 1 to remove.
//! ```
//!
//! A deploy's plan compares what was last pushed with what would be pushed; a drift check
//! compares what was pushed with what the gateway holds. Both use `diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::gateway_state::{AuthorizerState, GatewayState, MethodState, StageState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Add,
    Change,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A method of a resource (`GET /pets`); a resource is there while it has methods.
    Method,
    /// A Lambda authorizer (an OpenAPI security scheme).
    Authorizer,
    Stage,
    /// The Lambda function of a managed authorizer (with its two roles), which fedgate
    /// provisions beside the REST API.
    Function,
}

/// One change. Every key is always present (`null` where it does not apply): `method` and
/// `path` for methods, `name` for authorizers and the stage, `field` for a change of one
/// property, `before`/`after` the values (the whole object for an add or a remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanChange {
    pub op: ChangeOp,
    pub kind: ChangeKind,
    #[schema(example = "GET")]
    pub method: Option<String>,
    #[schema(example = "/pets/{id}")]
    pub path: Option<String>,
    #[schema(example = "fedgate-authA")]
    pub name: Option<String>,
    #[schema(example = "authorizer")]
    pub field: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

impl PlanChange {
    fn new(op: ChangeOp, kind: ChangeKind) -> Self {
        Self {
            op,
            kind,
            method: None,
            path: None,
            name: None,
            field: None,
            before: None,
            after: None,
        }
    }

    fn method(mut self, path: &str, method: &str) -> Self {
        self.path = Some(path.to_owned());
        self.method = Some(method.to_owned());
        self
    }

    fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    fn values(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        self.before = before;
        self.after = after;
        self
    }

    /// What the change is about: `GET /pets`, `authorizer fedgate-a`, `stage prod`.
    fn subject(&self) -> String {
        let name = self.name.as_deref().unwrap_or_default();
        match self.kind {
            ChangeKind::Method => format!(
                "{} {}",
                self.method.as_deref().unwrap_or_default(),
                self.path.as_deref().unwrap_or_default()
            ),
            ChangeKind::Authorizer => format!("authorizer {name}"),
            ChangeKind::Stage => format!("stage {name}"),
            ChangeKind::Function => format!("authorizer function {name}"),
        }
    }

    /// A change of a managed authorizer's function.
    pub fn function(
        op: ChangeOp,
        name: &str,
        field: Option<&str>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self {
            name: Some(name.to_owned()),
            field: field.map(str::to_owned),
            before,
            after,
            ..Self::new(op, ChangeKind::Function)
        }
    }
}

/// How many things a plan adds, changes (with one or more fields) and removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanSummary {
    pub add: usize,
    pub change: usize,
    pub remove: usize,
}

impl PlanSummary {
    pub fn of(changes: &[PlanChange]) -> Self {
        let mut summary = PlanSummary::default();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for change in changes {
            match change.op {
                ChangeOp::Add => summary.add += 1,
                ChangeOp::Remove => summary.remove += 1,
                ChangeOp::Change => {
                    if changed.insert(change.subject()) {
                        summary.change += 1;
                    }
                }
            }
        }
        summary
    }

    pub fn is_empty(&self) -> bool {
        self.add + self.change + self.remove == 0
    }
}

/// A plan as every front end shows it: the changes, how many, and the text for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Plan {
    /// One entry per method, authorizer or stage property (`op` add/change/remove).
    pub changes: Vec<PlanChange>,
    pub summary: PlanSummary,
    /// The changes for people, in the style of a Terraform plan.
    #[schema(
        example = "+ POST /pets\n~ GET /pets/{id}: authorizer none → fedgate-authA\nPlan: 1 to add, 1 to change, 0 to remove.\n"
    )]
    pub plan: String,
}

impl Plan {
    pub fn new(changes: Vec<PlanChange>) -> Self {
        Self {
            summary: PlanSummary::of(&changes),
            plan: render(&changes),
            changes,
        }
    }
}

/// What turns `before` into `after`: methods by path and method, then authorizers by
/// name, then the stage; each changed property of a kept one is a change of its own.
pub fn diff(before: &GatewayState, after: &GatewayState) -> Vec<PlanChange> {
    let mut changes = keyed_changes(
        &methods_by_key(before),
        &methods_by_key(after),
        |(path, method), op| PlanChange::new(op, ChangeKind::Method).method(path, method),
        |was, is| method_fields(was, is),
    );
    changes.extend(keyed_changes(
        &before.authorizers,
        &after.authorizers,
        |name, op| PlanChange::new(op, ChangeKind::Authorizer).named(name),
        authorizer_fields,
    ));
    changes.extend(stage_changes(before.stage.as_ref(), after.stage.as_ref()));
    changes
}

/// Every method of a state, keyed by (path, method).
fn methods_by_key(state: &GatewayState) -> BTreeMap<(&str, &str), &MethodState> {
    state
        .methods
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(move |(method, m)| ((path.as_str(), method.as_str()), m))
        })
        .collect()
}

/// The changes between two keyed collections, in key order: a key only `after` has is
/// added, one only `before` has is removed, and each differing field of a key both have
/// is a change of its own.
fn keyed_changes<K: Ord, T: Serialize>(
    before: &BTreeMap<K, T>,
    after: &BTreeMap<K, T>,
    at: impl Fn(&K, ChangeOp) -> PlanChange,
    fields: impl Fn(&T, &T) -> Vec<(&'static str, Value, Value)>,
) -> Vec<PlanChange> {
    let keys: BTreeSet<&K> = before.keys().chain(after.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        match (before.get(key), after.get(key)) {
            (None, Some(added)) => {
                changes.push(at(key, ChangeOp::Add).values(None, Some(to_json(added))))
            }
            (Some(removed), None) => {
                changes.push(at(key, ChangeOp::Remove).values(Some(to_json(removed)), None))
            }
            (Some(was), Some(is)) => {
                changes.extend(fields(was, is).into_iter().map(|(field, before, after)| {
                    at(key, ChangeOp::Change)
                        .field(field)
                        .values(Some(before), Some(after))
                }))
            }
            (None, None) => unreachable!("the key came from one of the maps"),
        }
    }
    changes
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("plain data serialises")
}

/// The properties of a method that differ, as (field, before, after).
fn method_fields(was: &MethodState, is: &MethodState) -> Vec<(&'static str, Value, Value)> {
    let (a, b) = (&was.integration, &is.integration);
    let fields = [
        ("authorizer", json!(was.authorizer), json!(is.authorizer)),
        ("integrationType", json!(a.kind), json!(b.kind)),
        (
            "integrationHttpMethod",
            json!(a.http_method),
            json!(b.http_method),
        ),
        ("integrationUri", json!(a.uri), json!(b.uri)),
        (
            "requestParameters",
            json!(a.request_parameters),
            json!(b.request_parameters),
        ),
        ("cors", json!(a.response_headers), json!(b.response_headers)),
    ];
    fields.into_iter().filter(|(_, x, y)| x != y).collect()
}

fn authorizer_fields(
    was: &AuthorizerState,
    is: &AuthorizerState,
) -> Vec<(&'static str, Value, Value)> {
    let fields = [
        ("type", json!(was.kind), json!(is.kind)),
        ("uri", json!(was.uri), json!(is.uri)),
        ("credentials", json!(was.credentials), json!(is.credentials)),
        (
            "identitySource",
            json!(was.identity_source),
            json!(is.identity_source),
        ),
        ("ttlSecs", json!(was.ttl_secs), json!(is.ttl_secs)),
    ];
    fields.into_iter().filter(|(_, x, y)| x != y).collect()
}

/// A stage's changes; a deployment id that one side does not know is not compared.
fn stage_changes(was: Option<&StageState>, is: Option<&StageState>) -> Vec<PlanChange> {
    let at = |op, name: &str| PlanChange::new(op, ChangeKind::Stage).named(name);
    match (was, is) {
        (None, None) => Vec::new(),
        (None, Some(added)) => {
            vec![at(ChangeOp::Add, &added.name).values(None, Some(to_json(added)))]
        }
        (Some(removed), None) => {
            vec![at(ChangeOp::Remove, &removed.name).values(Some(to_json(removed)), None)]
        }
        (Some(was), Some(is)) => {
            let mut fields = vec![
                ("name", json!(was.name), json!(is.name)),
                ("blocked", json!(was.blocked), json!(is.blocked)),
            ];
            if was.deployment_id.is_some() && is.deployment_id.is_some() {
                fields.push((
                    "deploymentId",
                    json!(was.deployment_id),
                    json!(is.deployment_id),
                ));
            }
            fields
                .into_iter()
                .filter(|(_, x, y)| x != y)
                .map(|(field, before, after)| {
                    at(ChangeOp::Change, &was.name)
                        .field(field)
                        .values(Some(before), Some(after))
                })
                .collect()
        }
    }
}

/// The plan for people: a line per change, then the summary (`No changes.` when empty).
pub fn render(changes: &[PlanChange]) -> String {
    let mut text = String::new();
    for change in changes {
        let subject = change.subject();
        let _ = match change.op {
            ChangeOp::Add => writeln!(text, "+ {subject}"),
            ChangeOp::Remove => writeln!(text, "- {subject}"),
            ChangeOp::Change => writeln!(
                text,
                "~ {subject}: {} {} → {}",
                change.field.as_deref().unwrap_or_default(),
                shown(change.before.as_ref()),
                shown(change.after.as_ref())
            ),
        };
    }
    let summary = PlanSummary::of(changes);
    if summary.is_empty() {
        text.push_str("No changes.\n");
    } else {
        let _ = writeln!(
            text,
            "Plan: {} to add, {} to change, {} to remove.",
            summary.add, summary.change, summary.remove
        );
    }
    text
}

/// A value as a plan shows it: text as it is, nothing as `none`, the rest as JSON.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "none".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) if map.is_empty() => "none".to_owned(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gateway_state::Integration;
    use proptest::prelude::*;

    fn method(uri: &str, authorizer: Option<&str>) -> MethodState {
        MethodState {
            integration: Integration {
                kind: "HTTP_PROXY".into(),
                http_method: Some("GET".into()),
                uri: Some(uri.into()),
                ..Integration::default()
            },
            authorizer: authorizer.map(str::to_owned),
        }
    }

    fn state(methods: &[(&str, &str, MethodState)], authorizers: &[&str]) -> GatewayState {
        let mut state = GatewayState::default();
        for (path, verb, m) in methods {
            state
                .methods
                .entry((*path).to_owned())
                .or_default()
                .insert((*verb).to_owned(), m.clone());
        }
        for name in authorizers {
            state.authorizers.insert(
                (*name).to_owned(),
                AuthorizerState {
                    kind: "TOKEN".into(),
                    uri: Some(format!("arn:{name}")),
                    ttl_secs: Some(300),
                    ..AuthorizerState::default()
                },
            );
        }
        state
    }

    fn stage(blocked: bool) -> Option<StageState> {
        Some(StageState {
            name: "prod".into(),
            blocked,
            deployment_id: None,
        })
    }

    #[test]
    fn golden_plan_text() {
        let mut before = state(
            &[
                ("/pets", "GET", method("https://b/pets", None)),
                ("/pets/{id}", "GET", method("https://b/pets/{id}", None)),
                ("/legacy", "DELETE", method("https://b/legacy", None)),
            ],
            &["fedgate-old"],
        );
        before.stage = stage(false);
        let mut after = state(
            &[
                ("/pets", "GET", method("https://c/pets", None)),
                ("/pets", "POST", method("https://b/pets", None)),
                (
                    "/pets/{id}",
                    "GET",
                    method("https://b/pets/{id}", Some("fedgate-authA")),
                ),
            ],
            &["fedgate-authA"],
        );
        after.stage = stage(true);
        let changes = diff(&before, &after);
        assert_eq!(
            render(&changes),
            "- DELETE /legacy\n\
             ~ GET /pets: integrationUri https://b/pets → https://c/pets\n\
             + POST /pets\n\
             ~ GET /pets/{id}: authorizer none → fedgate-authA\n\
             + authorizer fedgate-authA\n\
             - authorizer fedgate-old\n\
             ~ stage prod: blocked false → true\n\
             Plan: 2 to add, 3 to change, 2 to remove.\n"
        );
        let json = serde_json::to_value(&changes[3]).unwrap();
        assert_eq!(
            json,
            json!({"op": "change", "kind": "method", "method": "GET", "path": "/pets/{id}",
                   "name": null, "field": "authorizer", "before": null, "after": "fedgate-authA"})
        );
    }

    #[test]
    fn a_first_deploy_adds_everything() {
        let after = state(
            &[
                ("/a", "GET", method("u", None)),
                ("/a", "PUT", method("u", None)),
            ],
            &["x"],
        );
        let changes = diff(&GatewayState::default(), &after);
        assert!(changes.iter().all(|c| c.op == ChangeOp::Add));
        assert_eq!(
            PlanSummary::of(&changes),
            PlanSummary {
                add: 3,
                change: 0,
                remove: 0
            }
        );
        assert_eq!(render(&[]), "No changes.\n");
    }

    #[test]
    fn an_unknown_deployment_id_is_not_a_change() {
        let known = Some(StageState {
            name: "prod".into(),
            blocked: false,
            deployment_id: Some("d1".into()),
        });
        assert!(stage_changes(known.as_ref(), stage(false).as_ref()).is_empty());
        let other = Some(StageState {
            deployment_id: Some("d2".into()),
            ..known.clone().unwrap()
        });
        let changes = stage_changes(known.as_ref(), other.as_ref());
        assert_eq!(changes[0].field.as_deref(), Some("deploymentId"));
    }

    fn arbitrary_state() -> impl Strategy<Value = GatewayState> {
        let paths = ["/a", "/a/{id}", "/b"];
        let verbs = ["GET", "POST", "ANY"];
        (
            proptest::collection::btree_map(
                (0..3usize, 0..3usize),
                (0..2usize, any::<bool>()),
                0..9,
            ),
            proptest::collection::btree_set(0..3usize, 0..3),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(move |(methods, authorizers, blocked)| {
                let methods: Vec<(&str, &str, MethodState)> = methods
                    .into_iter()
                    .map(|((p, v), (uri, secured))| {
                        (
                            paths[p],
                            verbs[v],
                            method(&format!("u{uri}"), secured.then_some("x")),
                        )
                    })
                    .collect();
                let names: Vec<String> = authorizers.iter().map(|i| format!("auth{i}")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let mut state = state(&methods, &names);
                state.stage = blocked.and_then(stage);
                state
            })
    }

    proptest! {
        #[test]
        fn a_state_has_no_changes_against_itself(s in arbitrary_state()) {
            prop_assert!(diff(&s, &s).is_empty());
        }

        #[test]
        fn the_reverse_diff_swaps_adds_and_removes(a in arbitrary_state(), b in arbitrary_state()) {
            let forward = PlanSummary::of(&diff(&a, &b));
            let backward = PlanSummary::of(&diff(&b, &a));
            prop_assert_eq!(forward.add, backward.remove);
            prop_assert_eq!(forward.remove, backward.add);
            prop_assert_eq!(forward.change, backward.change);
            prop_assert_eq!(forward.is_empty(), a == b);
        }
    }
}
