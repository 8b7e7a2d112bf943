//! The lifecycle of an API: CREATED → PUBLISHED → DEPRECATED → RETIRED, with demotion
//! back to CREATED and blocking of a published API.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deployment::DeploymentStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LifecycleState {
    Created,
    Published,
    Blocked,
    Deprecated,
    Retired,
}

impl LifecycleState {
    pub const ALL: [LifecycleState; 5] = [
        LifecycleState::Created,
        LifecycleState::Published,
        LifecycleState::Blocked,
        LifecycleState::Deprecated,
        LifecycleState::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleState::Created => "CREATED",
            LifecycleState::Published => "PUBLISHED",
            LifecycleState::Blocked => "BLOCKED",
            LifecycleState::Deprecated => "DEPRECATED",
            LifecycleState::Retired => "RETIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// The actions allowed from this state, in a stable order.
    pub fn allowed_actions(self) -> Vec<LifecycleAction> {
        LifecycleAction::ALL
            .into_iter()
            .filter(|action| action.target_from(self).is_some())
            .collect()
    }
}

/// For reading the state back from storage.
impl TryFrom<String> for LifecycleState {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown lifecycle state `{s}`"))
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleAction {
    Publish,
    Deprecate,
    Retire,
    Demote,
    Block,
    Unblock,
}

impl LifecycleAction {
    pub const ALL: [LifecycleAction; 6] = [
        LifecycleAction::Publish,
        LifecycleAction::Deprecate,
        LifecycleAction::Retire,
        LifecycleAction::Demote,
        LifecycleAction::Block,
        LifecycleAction::Unblock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleAction::Publish => "publish",
            LifecycleAction::Deprecate => "deprecate",
            LifecycleAction::Retire => "retire",
            LifecycleAction::Demote => "demote",
            LifecycleAction::Block => "block",
            LifecycleAction::Unblock => "unblock",
        }
    }

    /// The state this action leads to from `from`, if it is allowed there.
    fn target_from(self, from: LifecycleState) -> Option<LifecycleState> {
        use LifecycleAction as A;
        use LifecycleState as S;
        match (from, self) {
            (S::Created, A::Publish) => Some(S::Published),
            (S::Published, A::Deprecate) | (S::Blocked, A::Deprecate) => Some(S::Deprecated),
            (S::Published, A::Block) => Some(S::Blocked),
            (S::Blocked, A::Unblock) => Some(S::Published),
            (S::Published, A::Demote) | (S::Deprecated, A::Demote) => Some(S::Created),
            (S::Deprecated, A::Retire) => Some(S::Retired),
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == s)
    }
}

/// For reading an action back from storage.
impl TryFrom<String> for LifecycleAction {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown lifecycle action `{s}`"))
    }
}

impl fmt::Display for LifecycleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("`{action}` is not allowed from {from}; allowed: {}", names(allowed))]
    NotAllowed {
        action: LifecycleAction,
        from: LifecycleState,
        allowed: Vec<LifecycleAction>,
    },
    #[error("an API needs at least one resource before it can be published")]
    NoResources,
}

fn names(actions: &[LifecycleAction]) -> String {
    if actions.is_empty() {
        return "none (the state is final)".to_owned();
    }
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `action` to an API in state `from` that has `resource_count` resources.
pub fn transition(
    from: LifecycleState,
    action: LifecycleAction,
    resource_count: usize,
) -> Result<LifecycleState, TransitionError> {
    let to = action
        .target_from(from)
        .ok_or_else(|| TransitionError::NotAllowed {
            action,
            from,
            allowed: from.allowed_actions(),
        })?;
    if action == LifecycleAction::Publish && resource_count == 0 {
        return Err(TransitionError::NoResources);
    }
    Ok(to)
}

/// What is worth knowing about an allowed `action`, given the statuses of the API's
/// deployments. Publishing an API deployed nowhere is allowed — a catalog entry may come
/// before the deploy — but developers would find it without an invocation URL.
pub fn warnings(action: LifecycleAction, deployments: &[DeploymentStatus]) -> Vec<String> {
    let deployed = deployments.iter().any(|status| status.serves_or_will());
    if action == LifecycleAction::Publish && !deployed {
        return vec![
            "the API is deployed nowhere: developers see it in the catalog without an \
             invocation URL until it is deployed to an environment"
                .to_owned(),
        ];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use LifecycleAction as A;
    use LifecycleState as S;

    #[test]
    fn publishing_an_api_deployed_nowhere_warns() {
        use DeploymentStatus as D;
        for nowhere in [&[][..], &[D::Failed, D::Undeployed, D::Undeploying]] {
            let warnings = warnings(A::Publish, nowhere);
            assert_eq!(warnings.len(), 1, "{nowhere:?}");
            assert!(warnings[0].contains("deployed nowhere"));
        }
        for somewhere in [D::Pending, D::Deploying, D::Deployed] {
            assert!(warnings(A::Publish, &[D::Failed, somewhere]).is_empty());
        }
        assert!(warnings(A::Block, &[]).is_empty());
    }

    #[test]
    fn the_happy_path() {
        let mut state = S::Created;
        for (action, expected) in [
            (A::Publish, S::Published),
            (A::Block, S::Blocked),
            (A::Unblock, S::Published),
            (A::Deprecate, S::Deprecated),
            (A::Retire, S::Retired),
        ] {
            state = transition(state, action, 1).unwrap();
            assert_eq!(state, expected);
        }
        assert!(S::Retired.allowed_actions().is_empty());
    }

    #[test]
    fn demote_returns_to_created() {
        assert_eq!(transition(S::Published, A::Demote, 1), Ok(S::Created));
        assert_eq!(transition(S::Deprecated, A::Demote, 1), Ok(S::Created));
    }

    #[test]
    fn invalid_transitions_name_the_allowed_ones() {
        let err = transition(S::Created, A::Retire, 1).unwrap_err();
        assert_eq!(
            err,
            TransitionError::NotAllowed {
                action: A::Retire,
                from: S::Created,
                allowed: vec![A::Publish]
            }
        );
        assert!(err.to_string().contains("allowed: publish"));
        let final_state = transition(S::Retired, A::Publish, 1).unwrap_err();
        assert!(final_state.to_string().contains("final"));
        assert_eq!(
            S::Published.allowed_actions(),
            [A::Deprecate, A::Demote, A::Block]
        );
    }

    #[test]
    fn publishing_needs_a_resource() {
        assert_eq!(
            transition(S::Created, A::Publish, 0),
            Err(TransitionError::NoResources)
        );
    }

    #[test]
    fn states_parse_back() {
        for state in S::ALL {
            assert_eq!(S::parse(state.as_str()), Some(state));
        }
    }
}
