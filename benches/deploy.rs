//! Deploy benchmark (not part of CI): AWS calls per deploy for APIs of 1, 50 and 500
//! resources against moto, and the time to translate them. Run with `scripts/bench`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_apigateway::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_apigateway::config::{ConfigBag, Intercept, RuntimeComponents};
use fedgate::aws::apigateway::AwsConnector;
use fedgate::aws::clients::EnvironmentClients;
use fedgate::aws::connector::{DeployRequest, GatewayConnector, Ownership};
use fedgate::aws::limiter::{Limits, RateLimiter};
use fedgate::domain::api::ApiDesign;
use fedgate::domain::api::draft::ApiDraft;
use fedgate::domain::translate::{Target, translate};
use serde_json::json;

/// Counts every request the SDK sends.
#[derive(Debug, Clone, Default)]
struct CallCounter(Arc<AtomicUsize>);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_apigateway::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn design(resources: usize) -> ApiDesign {
    let resources: Vec<_> = (0..resources)
        .map(|i| {
            json!({"method": if i % 2 == 0 { "GET" } else { "POST" }, "path": format!("/r{}/{{id}}/items{}", i / 2, i % 7),
                   "policies": if i % 3 == 0 { json!([{"type": "awsOAuth2", "parameters": {
                       "lambdaArn": format!("arn:aws:lambda:us-east-1:123456789012:function:auth{}", i % 4),
                       "invokeRoleArn": "arn:aws:iam::123456789012:role/invoke"}}]) } else { json!([]) }})
        })
        .collect();
    let draft: ApiDraft = serde_json::from_value(json!({
        "name": format!("Bench{}", resources.len()), "version": "1", "context": "/bench",
        // No CORS: moto cannot import its mock integrations.
        "endpointUrl": "https://backend.example.com", "resources": resources
    }))
    .unwrap();
    ApiDesign::parse(&draft).unwrap()
}

fn time_translation(design: &ApiDesign) -> Duration {
    let target = Target {
        region: "us-east-1",
        authorizer_ttl_secs: 300,
        managed: &BTreeMap::new(),
    };
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(translate(std::hint::black_box(design), &target));
    }
    started.elapsed() / rounds
}

#[tokio::main]
async fn main() {
    println!(
        "| resources | translate (mean of 200) | document bytes | AWS calls, first deploy | AWS calls, redeploy |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let moto = std::env::var("TEST_MOTO_URL").ok();
    for size in [1, 50, 500] {
        let design = design(size);
        let translation = time_translation(&design);
        let bytes = serde_json::to_vec(&translate(
            &design,
            &Target {
                region: "us-east-1",
                authorizer_ttl_secs: 300,
                managed: &BTreeMap::new(),
            },
        ))
        .unwrap()
        .len();
        let (first, again) = match &moto {
            Some(url) => {
                let (a, b) = count_deploy_calls(url, &design).await;
                (a.to_string(), b.to_string())
            }
            None => ("(no moto)".into(), "(no moto)".into()),
        };
        println!("| {size} | {translation:?} | {bytes} | {first} | {again} |");
    }
}

/// AWS requests of a first deploy and of a redeploy of `design` to moto.
async fn count_deploy_calls(moto: &str, design: &ApiDesign) -> (usize, usize) {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "bench", "bench", None, None, "bench",
        ))
        .endpoint_url(moto)
        .load()
        .await;
    let counter = CallCounter::default();
    let apigateway = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&sdk)
            .interceptor(counter.clone())
            .build(),
    );
    let clients = EnvironmentClients {
        provider: "static",
        sts: aws_sdk_sts::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        apigateway,
        config: sdk,
    };
    // Zero spacing: the limiter never touches its (lazy, unused) database.
    let zero = Limits {
        create_rest_api: Duration::ZERO,
        put_rest_api: Duration::ZERO,
        create_deployment: Duration::ZERO,
        delete_rest_api: Duration::ZERO,
        overall: Duration::ZERO,
        max_wait: Duration::ZERO,
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_lazy("postgres://unused@127.0.0.1/unused")
        .unwrap();
    let connector = AwsConnector::new(
        Arc::new(clients),
        RateLimiter::new(pool, zero),
        "bench".into(),
    );
    let document = translate(
        design,
        &Target {
            region: "us-east-1",
            authorizer_ttl_secs: 300,
            managed: &BTreeMap::new(),
        },
    );
    let ownership = Ownership {
        api_id: uuid::Uuid::new_v4().to_string(),
        environment_id: "bench".into(),
    };
    let request = |rest_api_id| DeployRequest {
        rest_api_id,
        name: "bench",
        description: "bench",
        ownership: &ownership,
        document: &document,
        stage: "prod",
        deployment_description: "bench",
        blocked: false,
    };
    let first = connector.deploy(request(None)).await.expect("first deploy");
    let after_first = counter.0.swap(0, Ordering::SeqCst);
    connector
        .deploy(request(Some(&first.rest_api_id)))
        .await
        .expect("redeploy");
    let after_second = counter.0.load(Ordering::SeqCst);
    connector
        .undeploy(Some(&first.rest_api_id), &ownership)
        .await
        .expect("cleanup");
    (after_first, after_second)
}
