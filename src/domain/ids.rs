//! Newtype ids so one kind of id cannot be passed where another is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Time-ordered (UUIDv7) so ids double as stable pagination keys.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// The record id of an API client (not its OAuth2 `client_id`).
    ClientRecordId
);

uuid_id!(
    /// A gateway environment.
    EnvironmentId
);

uuid_id!(
    /// A key manager (a third-party OAuth2/OIDC identity provider).
    KeyManagerId
);

uuid_id!(
    /// A REST API designed by a publisher.
    ApiId
);

uuid_id!(
    /// An immutable snapshot of an API's design.
    RevisionId
);

uuid_id!(
    /// A developer's application in the developer portal.
    ApplicationId
);

uuid_id!(
    /// A deployment: one API in one environment.
    DeploymentId
);

uuid_id!(
    /// A deploy, undeploy or throttle job in the queue.
    JobId
);
