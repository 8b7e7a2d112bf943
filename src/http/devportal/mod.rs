//! The developer portal (`devportal` scope): the catalog of published APIs with their
//! invocation URLs, and the developer's own applications, keys and tokens. Nothing here
//! suggests a subscription: AWS-deployed APIs need none.

mod applications;
mod catalog;
mod keys;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(catalog::router())
        .merge(applications::router())
        .merge(keys::router())
}
