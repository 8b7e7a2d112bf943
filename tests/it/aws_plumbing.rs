//! Proof that the AWS SDK plumbing reaches the moto emulator that scripts/test starts,
//! and that the SDK connects only where the outbound guard allows.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use fedgate::aws::clients::{AwsTarget, AwsTimeouts, EnvironmentClients, ResolvedCredentials};
use fedgate::aws::error::AwsFailure;
use fedgate::outbound::{OutboundGuard, Resolve, Resolving};
use tokio::net::TcpListener;
use url::Url;

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

/// Answers `first` to the guard's check when the clients are built and `then` to every
/// later resolution: a name that rebinds after it was checked.
struct Rebinding {
    calls: AtomicUsize,
    first: IpAddr,
    then: IpAddr,
}

impl Resolve for Rebinding {
    fn resolve<'a>(&'a self, _host: &'a str) -> Resolving<'a> {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let ip = if first { self.first } else { self.then };
        Box::pin(async move { Ok(vec![ip]) })
    }
}

/// A listener on 127.0.0.1 counting the connections it accepts.
async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, accepted)
}

/// Calls GetRestApis as an environment at `http://localhost:PORT` whose name is
/// 127.0.0.2 (on the allow list) when the clients are built and checked, and 127.0.0.1
/// (not on it, where the listener counts) afterwards; asserts the guard's refusal and
/// that 127.0.0.1 saw no connection. `localhost` so that, were the SDK to resolve the
/// name itself, it would reach the listener through the hosts file, not DNS.
async fn assert_rebinding_is_refused(credentials: ResolvedCredentials) {
    let (port, accepted) = counting_listener().await;
    let guard = OutboundGuard::new(&["127.0.0.2".to_owned()])
        .unwrap()
        .with_resolver(Arc::new(Rebinding {
            calls: AtomicUsize::new(0),
            first: "127.0.0.2".parse().unwrap(),
            then: "127.0.0.1".parse().unwrap(),
        }));
    let target = AwsTarget {
        region: "eu-west-1".into(),
        endpoint_url: Some(Url::parse(&format!("http://localhost:{port}")).unwrap()),
        credentials,
    };
    let timeouts = AwsTimeouts {
        connect: Duration::from_secs(2),
        call: Duration::from_secs(10),
    };
    let clients = EnvironmentClients::build(&target, &guard, timeouts)
        .await
        .expect("the name passes the guard when the clients are built");
    let error = clients
        .apigateway
        .get_rest_apis()
        .send()
        .await
        .expect_err("the rebound name is refused");
    let failure = AwsFailure::from_sdk("GetRestApis", &error);
    let refused = "outbound calls to localhost (127.0.0.1) are refused";
    assert!(failure.message.contains(refused), "{}", failure.message);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "127.0.0.1 saw a connection"
    );
}

#[tokio::test]
async fn a_name_rebinding_after_the_check_gets_no_signed_request() {
    assert_rebinding_is_refused(ResolvedCredentials::Static {
        access_key_id: "AKIAFEDGATETESTING00".into(),
        secret_access_key: "testing-secret".to_owned().into(),
        session_token: None,
    })
    .await;
}

/// STS, called to assume the role, is an AWS endpoint like the others. The base
/// identity is the default chain's (the environment's keys in the test run).
#[tokio::test]
async fn assuming_a_role_at_a_rebinding_endpoint_goes_through_the_guard() {
    assert_rebinding_is_refused(ResolvedCredentials::AssumeRole {
        role_arn: "arn:aws:iam::123456789012:role/fedgate".into(),
        external_id: None,
        session_name: None,
    })
    .await;
}
