//! The deployment engine: translation (pure), the job queue workers, and the AWS rate
//! limiter they share.

pub mod executor;
pub mod lifecycle;
pub mod limiter;
pub mod translate;
pub mod worker;

/// `https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}`, or the environment's
/// own template (emulators, custom domains).
pub fn invocation_url(
    template: Option<&str>,
    rest_api_id: &str,
    region: &str,
    stage: &str,
) -> String {
    template
        .unwrap_or("https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}")
        .replace("{restApiId}", rest_api_id)
        .replace("{region}", region)
        .replace("{stage}", stage)
}

#[cfg(test)]
mod tests {
    #[test]
    fn invocation_urls() {
        assert_eq!(
            super::invocation_url(None, "a1b2c3", "eu-west-1", "prod"),
            "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/prod"
        );
        assert_eq!(
            super::invocation_url(
                Some("http://127.0.0.1:4566/_aws/execute-api/{restApiId}/{stage}"),
                "a1",
                "us-east-1",
                "dev"
            ),
            "http://127.0.0.1:4566/_aws/execute-api/a1/dev"
        );
    }
}
