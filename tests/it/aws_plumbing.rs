//! Proof that the AWS SDK plumbing reaches the moto emulator that scripts/test starts.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;

use crate::common::moto_url;

#[tokio::test]
async fn sdk_client_against_moto_creates_and_lists_rest_apis() {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .endpoint_url(moto_url())
        .load()
        .await;
    let client = aws_sdk_apigateway::Client::new(&config);
    let name = format!("plumbing-{}", uuid::Uuid::new_v4());
    let created = client
        .create_rest_api()
        .name(&name)
        .tags("fedgate:api", "plumbing")
        .send()
        .await
        .expect("CreateRestApi against moto");
    let listed = client
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .expect("GetRestApis");
    let found = listed
        .items()
        .iter()
        .find(|api| api.id() == created.id())
        .expect("the created API is listed");
    assert_eq!(found.name(), Some(name.as_str()));
    assert_eq!(
        found
            .tags()
            .and_then(|t| t.get("fedgate:api"))
            .map(String::as_str),
        Some("plumbing")
    );
}
