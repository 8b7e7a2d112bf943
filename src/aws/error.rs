//! AWS errors told in words: one place that turns an SDK error of a named operation into
//! what went wrong, what to do about it, and whether retrying can help.
//!
//! Never the SDK's `Debug` output (nor `DisplayErrorContext`, which appends it): service
//! errors are AWS's code and message; transport errors are the distinct messages of their
//! cause chain.

use std::error::Error;
use std::fmt;

use aws_sdk_apigateway::config::http::HttpResponse;
use aws_sdk_apigateway::error::{ConnectorError, ErrorMetadata, ProvideErrorMetadata, SdkError};

/// A failed AWS call, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    /// The AWS operation, e.g. `CreateRestApi`.
    pub operation: &'static str,
    /// AWS's error code, e.g. `AccessDeniedException`.
    pub code: Option<String>,
    /// AWS's message, or the transport cause in words.
    pub message: String,
    /// What to do about it, one sentence.
    pub hint: String,
    /// Throttling, a 5xx, a timeout, an unreachable endpoint: worth retrying.
    pub transient: bool,
    /// AWS said the resource does not exist.
    pub not_found: bool,
    /// AWS throttled the call.
    pub throttled: bool,
}

impl AwsFailure {
    /// Describes `error`, the failure of the AWS call `operation`.
    pub fn from_sdk<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        match error {
            SdkError::ServiceError(e) => service(operation, e.err(), e.raw().status().as_u16()),
            SdkError::TimeoutError(_) => {
                let mut message = "timed out after the configured aws_call_timeout_secs".to_owned();
                append_causes(&mut message, error.source());
                transport(
                    operation,
                    message,
                    "fedgate retries it; if it keeps happening, check that the endpoint answers or raise aws_call_timeout_secs",
                    true,
                )
            }
            SdkError::DispatchFailure(failure) => {
                let connector = failure.as_connector_error();
                let causes = causes(error.source());
                let about_credentials = causes.contains("credentials");
                if connector.is_some_and(ConnectorError::is_user) {
                    transport(
                        operation,
                        with_causes("the request could not be sent", &causes),
                        "fedgate could not send this request; check the environment's configuration",
                        false,
                    )
                } else if connector.is_some_and(|c| c.is_io() || c.is_timeout()) {
                    transport(
                        operation,
                        with_causes("could not reach the endpoint", &causes),
                        "check the environment's endpointUrl and that fedgate can reach it",
                        true,
                    )
                } else if about_credentials {
                    transport(
                        operation,
                        with_causes("the request was not sent", &causes),
                        "check the environment's credentials",
                        true,
                    )
                } else {
                    transport(
                        operation,
                        with_causes("the request was not sent", &causes),
                        "check the environment's endpointUrl and that fedgate can reach it",
                        true,
                    )
                }
            }
            SdkError::ResponseError(e) => {
                let status = e.raw().status().as_u16();
                transport(
                    operation,
                    with_causes(
                        &format!(
                            "the endpoint answered HTTP {status} but the answer could not be read"
                        ),
                        &causes(error.source()),
                    ),
                    "fedgate retries it; if it keeps happening, check that endpointUrl is an API Gateway endpoint",
                    true,
                )
            }
            SdkError::ConstructionFailure(_) => transport(
                operation,
                with_causes("the request could not be built", &causes(error.source())),
                "check the environment's region, endpointUrl and credentials",
                false,
            ),
            // `SdkError` is non-exhaustive: a future kind is still told in words.
            _ => transport(
                operation,
                with_causes("the call failed", &causes(error.source())),
                "check the environment's endpointUrl and credentials",
                false,
            ),
        }
    }

    /// The failure without the operation's name, for reports that already name the call:
    /// "AccessDeniedException: User … is not authorized … — <hint>".
    pub fn detail(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {} — {}", self.message, self.hint),
            None => format!("{} — {}", self.message, self.hint),
        }
    }
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.operation, self.detail())
    }
}

impl std::error::Error for AwsFailure {}

fn transport(operation: &'static str, message: String, hint: &str, transient: bool) -> AwsFailure {
    AwsFailure {
        operation,
        code: None,
        message,
        hint: hint.to_owned(),
        transient,
        not_found: false,
        throttled: false,
    }
}

const NOT_FOUND_CODES: [&str; 3] = [
    "NotFoundException",
    "ResourceNotFoundException",
    "NoSuchEntity",
];

/// An answer from the service: AWS's code and message, or — when the answer carries
/// neither — what the endpoint answered instead.
fn service<E>(operation: &'static str, err: &E, status: u16) -> AwsFailure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let code = err.code().filter(|c| !c.is_empty()).map(str::to_owned);
    let aws_message = err.message().filter(|m| !m.trim().is_empty());
    let from_aws = code.is_some() || aws_message.is_some();
    let throttled = code.as_deref() == Some("TooManyRequestsException") || status == 429;
    let not_found = code
        .as_deref()
        .is_some_and(|c| NOT_FOUND_CODES.contains(&c))
        || (status == 404 && from_aws);
    let transient = throttled || status >= 500;
    let message = match aws_message {
        Some(message) => message.trim().to_owned(),
        None if code.is_some() => format!("HTTP {status} without a message"),
        None if (200..300).contains(&status) => {
            with_causes(
                &format!("the endpoint answered HTTP {status} but not with an AWS response"),
                &causes(err.source()),
            ) + "; is endpointUrl an API Gateway endpoint?"
        }
        None if status >= 500 => {
            format!("the endpoint answered HTTP {status} without an AWS error")
        }
        None => format!(
            "the endpoint answered HTTP {status} without an AWS error; is endpointUrl an API Gateway endpoint?"
        ),
    };
    let hint = hint(operation, code.as_deref(), status, throttled, from_aws);
    AwsFailure {
        operation,
        code,
        message,
        hint,
        transient,
        not_found,
        throttled,
    }
}

/// What to do about a service error, one sentence.
fn hint(
    operation: &str,
    code: Option<&str>,
    status: u16,
    throttled: bool,
    from_aws: bool,
) -> String {
    let code = code.unwrap_or_default();
    let permission = match operation {
        "GetCallerIdentity" => None,
        "GetFunction" => Some("lambda:GetFunction on the authorizer functions"),
        "GetRole" => Some("iam:GetRole on the invoke roles"),
        "CreateFunction" | "UpdateFunctionCode" | "DeleteFunction" => Some(
            "lambda:CreateFunction, lambda:UpdateFunctionCode, lambda:DeleteFunction, lambda:TagResource and iam:PassRole on fedgate's managed authorizers (fedgate-authz-*)",
        ),
        "CreateRole" | "PutRolePolicy" | "DeleteRolePolicy" | "DeleteRole" => Some(
            "iam:CreateRole, iam:TagRole, iam:PutRolePolicy, iam:DeleteRolePolicy and iam:DeleteRole on the roles fedgate-authz-*",
        ),
        _ => Some("apigateway:* on the REST APIs"),
    };
    if code.starts_with("AccessDenied")
        || code == "UnauthorizedOperation"
        || code == "UnauthorizedException"
    {
        match permission {
            Some(actions) => {
                format!("give the environment's principal {actions}, or check its credentials")
            }
            None => "check the environment's credentials".to_owned(),
        }
    } else if code.starts_with("ExpiredToken") {
        "the environment's credentials have expired; renew them".to_owned()
    } else if matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "MissingAuthenticationToken"
    ) {
        "AWS did not accept the environment's credentials; check its access key, secret and region"
            .to_owned()
    } else if code.starts_with("LimitExceeded") {
        "an AWS quota or rate limit was reached; if it persists, delete unused REST APIs or ask AWS for a higher quota".to_owned()
    } else if throttled {
        "AWS throttled the call; fedgate retries it".to_owned()
    } else if NOT_FOUND_CODES.contains(&code) {
        "AWS has no such resource in the environment's account and region".to_owned()
    } else if code == "BadRequestException" {
        "AWS refused the definition; see the message".to_owned()
    } else if code == "ConflictException" {
        "another change to the same resource is in progress or conflicts; deploy again once it has finished".to_owned()
    } else if status >= 500 && from_aws {
        "AWS had an internal error; fedgate retries".to_owned()
    } else if status >= 500 {
        "the endpoint had a server error; fedgate retries".to_owned()
    } else if !from_aws {
        "point endpointUrl at API Gateway (or an emulator of it), or leave it unset to call AWS"
            .to_owned()
    } else {
        "AWS refused the call; see the message".to_owned()
    }
}

fn with_causes(what: &str, causes: &str) -> String {
    if causes.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {causes}")
    }
}

fn append_causes(message: &mut String, source: Option<&(dyn Error + 'static)>) {
    let causes = causes(source);
    if !causes.is_empty() {
        message.push_str(": ");
        message.push_str(&causes);
    }
}

/// The distinct messages of an error's cause chain, joined with ": ".
///
/// The SDK repeats one message at several levels and wraps causes in bare labels ("io
/// error", "client error (Connect)"); those are left out, as is a message the previous one
/// already contains. Only `Display` is used, never `Debug`.
fn causes(mut next: Option<&(dyn Error + 'static)>) -> String {
    let mut parts: Vec<String> = Vec::new();
    while let Some(error) = next {
        next = error.source();
        // "io error", "timeout", "other": the kind, not the cause.
        if error.is::<ConnectorError>() || error.is::<ErrorMetadata>() {
            continue;
        }
        let text = error.to_string();
        let text = text.trim();
        if text.is_empty() || (next.is_some() && is_bare_label(text)) {
            continue;
        }
        if parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        match parts.last_mut() {
            // The inner message repeats the outer one and says more.
            Some(last) if text.contains(last.as_str()) => *last = text.to_owned(),
            _ => parts.push(text.to_owned()),
        }
    }
    parts.join(": ")
}

/// Wrappers that name a category and leave the words to their cause, e.g. hyper's
/// "client error (Connect)".
fn is_bare_label(text: &str) -> bool {
    (text.starts_with("client error (") && text.ends_with(')'))
        || matches!(
            text,
            "dispatch failure" | "io error" | "other" | "user error" | "response error"
        )
}

#[cfg(test)]
mod tests {
    use std::io;

    use crate::aws::connector::ConnectorError as GatewayError;

    use aws_sdk_apigateway::operation::create_rest_api::CreateRestApiError;
    use aws_sdk_apigateway::operation::get_rest_apis::GetRestApisError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    type Sdk<E> = SdkError<E, HttpResponse>;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_owned()),
        )
    }

    fn aws_error(status: u16, code: &str, message: &str) -> Sdk<CreateRestApiError> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(
            CreateRestApiError::generic(meta),
            response(status, &format!(r#"{{"message":"{message}"}}"#)),
        )
    }

    /// Told in words: no `Debug` dump of any kind.
    fn assert_words(failure: &AwsFailure) -> String {
        let shown = failure.to_string();
        for debug in [
            "{",
            "}",
            "DispatchFailure(",
            "Some(",
            "ConnectorError",
            "source:",
        ] {
            assert!(!shown.contains(debug), "{debug:?} in {shown}");
        }
        assert!(shown.contains(" — "), "a hint: {shown}");
        shown
    }

    #[test]
    fn access_denied_names_code_message_and_permissions() {
        let e = aws_error(
            403,
            "AccessDeniedException",
            "User arn:aws:iam::123456789012:user/ci is not authorized to perform apigateway:POST",
        );
        let failure = AwsFailure::from_sdk("CreateRestApi", &e);
        assert_eq!(failure.code.as_deref(), Some("AccessDeniedException"));
        assert!(!failure.transient && !failure.not_found && !failure.throttled);
        let shown = assert_words(&failure);
        assert_eq!(
            shown,
            "CreateRestApi failed: AccessDeniedException: User arn:aws:iam::123456789012:user/ci \
             is not authorized to perform apigateway:POST — give the environment's principal \
             apigateway:* on the REST APIs, or check its credentials"
        );
        assert!(failure.detail().starts_with("AccessDeniedException: User"));
    }

    #[test]
    fn permission_hints_name_the_service_of_the_operation() {
        let e = aws_error(403, "AccessDenied", "no");
        assert!(
            AwsFailure::from_sdk("GetRole", &e)
                .hint
                .contains("iam:GetRole")
        );
        assert!(
            AwsFailure::from_sdk("GetFunction", &e)
                .hint
                .contains("lambda:GetFunction")
        );
        let e = aws_error(403, "InvalidClientTokenId", "bad key");
        let failure = AwsFailure::from_sdk("GetCallerIdentity", &e);
        assert!(failure.hint.contains("credentials"), "{failure}");
        assert!(!failure.transient);
    }

    #[test]
    fn connection_refused_is_unreachable_and_transient() {
        let e: Sdk<GetRestApisError> = SdkError::dispatch_failure(ConnectorError::io(Box::new(
            io::Error::new(io::ErrorKind::ConnectionRefused, "Connection refused"),
        )));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert!(failure.transient && !failure.not_found && !failure.throttled);
        assert_eq!(failure.code, None);
        assert_eq!(
            failure.message,
            "could not reach the endpoint: Connection refused"
        );
        assert!(failure.hint.contains("endpointUrl"), "{failure}");
        assert_words(&failure);
    }

    /// An error with a cause, as hyper's connect errors are: "tcp connect error" → io.
    #[derive(Debug)]
    struct Wrapper(&'static str, io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn the_cause_chain_is_deduplicated_and_bare_labels_are_dropped() {
        let refused = || {
            io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)",
            )
        };
        let chain = Wrapper(
            "client error (Connect)",
            io::Error::other(Wrapper("tcp connect error", refused())),
        );
        let e: Sdk<GetRestApisError> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(chain)));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert_eq!(
            failure.message,
            "could not reach the endpoint: tcp connect error: Connection refused (os error 111)"
        );
        // A message the previous one already contains is said once.
        let repeated = Wrapper(
            "error trying to connect: Connection refused (os error 111)",
            refused(),
        );
        let e: Sdk<GetRestApisError> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(repeated)));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert_eq!(
            failure.message,
            "could not reach the endpoint: error trying to connect: Connection refused (os error 111)"
        );
        assert_words(&failure);
    }

    #[test]
    fn timeouts_are_transient_and_name_the_setting() {
        let e: Sdk<GetRestApisError> = SdkError::timeout_error(io::Error::new(
            io::ErrorKind::TimedOut,
            "operation timeout (all attempts including retries) occurred after 5s",
        ));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert!(failure.transient && !failure.not_found);
        assert_eq!(
            failure.message,
            "timed out after the configured aws_call_timeout_secs: operation timeout (all attempts including retries) occurred after 5s"
        );
        assert_words(&failure);

        let e: Sdk<GetRestApisError> = SdkError::dispatch_failure(ConnectorError::timeout(
            "HTTP connect timeout occurred after 3s".into(),
        ));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert!(failure.transient);
        assert!(
            failure
                .message
                .starts_with("could not reach the endpoint: HTTP connect timeout"),
            "{failure}"
        );
        assert_words(&failure);
    }

    #[test]
    fn an_answer_that_is_not_an_aws_error_says_so() {
        let e: Sdk<GetRestApisError> = SdkError::service_error(
            GetRestApisError::generic(ErrorMetadata::builder().build()),
            response(404, "<html>not here</html>"),
        );
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert_eq!(failure.code, None);
        assert_eq!(
            failure.message,
            "the endpoint answered HTTP 404 without an AWS error; is endpointUrl an API Gateway endpoint?"
        );
        // Not AWS saying "no such REST API": nothing may be adopted or counted as deleted.
        assert!(!failure.not_found && !failure.transient && !failure.throttled);
        let shown = assert_words(&failure);
        assert!(!shown.contains("no message"), "{shown}");

        // A 200 whose body is not the AWS answer: the parse error is the cause.
        let parse = io::Error::other("failed to parse JSON: unexpected end of input");
        let e: Sdk<GetRestApisError> =
            SdkError::service_error(GetRestApisError::unhandled(parse), response(200, ""));
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert!(!failure.transient);
        assert_eq!(
            failure.message,
            "the endpoint answered HTTP 200 but not with an AWS response: failed to parse JSON: \
             unexpected end of input; is endpointUrl an API Gateway endpoint?"
        );
        assert_words(&failure);
    }

    #[test]
    fn not_found_from_aws_is_not_found() {
        let e = aws_error(404, "NotFoundException", "Invalid API identifier specified");
        let failure = AwsFailure::from_sdk("PutRestApi", &e);
        assert!(failure.not_found && !failure.transient);
        assert_words(&failure);
    }

    #[test]
    fn server_errors_are_transient() {
        let e = aws_error(500, "InternalFailure", "We encountered an internal error");
        let failure = AwsFailure::from_sdk("PutRestApi", &e);
        assert!(failure.transient && !failure.throttled && !failure.not_found);
        assert_eq!(failure.hint, "AWS had an internal error; fedgate retries");
        assert_words(&failure);

        // A 502 from something in front of AWS, without an AWS error: still worth a retry.
        let e: Sdk<GetRestApisError> = SdkError::service_error(
            GetRestApisError::generic(ErrorMetadata::builder().build()),
            response(502, "Bad Gateway"),
        );
        let failure = AwsFailure::from_sdk("GetRestApis", &e);
        assert!(failure.transient);
        assert_eq!(
            failure.message,
            "the endpoint answered HTTP 502 without an AWS error"
        );
        assert_eq!(
            failure.hint,
            "the endpoint had a server error; fedgate retries"
        );
        assert_words(&failure);
    }

    #[test]
    fn throttling_is_transient_and_flagged() {
        let e = aws_error(429, "TooManyRequestsException", "Too Many Requests");
        let failure = AwsFailure::from_sdk("CreateRestApi", &e);
        assert!(failure.throttled && failure.transient && !failure.not_found);
        assert_eq!(failure.hint, "AWS throttled the call; fedgate retries it");
        assert_words(&failure);

        let e = aws_error(429, "LimitExceededException", "Rate exceeded");
        let failure = AwsFailure::from_sdk("CreateRestApi", &e);
        assert!(failure.throttled && failure.transient);
        assert!(failure.hint.contains("quota"), "{failure}");
    }

    #[test]
    fn refusals_are_not_transient() {
        for (code, hint) in [
            (
                "BadRequestException",
                "AWS refused the definition; see the message",
            ),
            ("ConflictException", "another change"),
            ("LimitExceededException", "quota"),
        ] {
            let e = aws_error(400, code, "refused");
            let failure = AwsFailure::from_sdk("PutRestApi", &e);
            assert!(!failure.transient && !failure.throttled, "{code}");
            assert!(failure.hint.contains(hint), "{failure}");
            assert!(
                failure
                    .to_string()
                    .starts_with(&format!("PutRestApi failed: {code}: refused — ")),
                "{failure}"
            );
        }
    }

    #[test]
    fn the_gateway_error_keeps_the_words_and_the_verdict() {
        let e = aws_error(503, "ServiceUnavailableException", "try later");
        let error: GatewayError = AwsFailure::from_sdk("CreateDeployment", &e).into();
        assert!(error.is_transient());
        assert!(
            error
                .to_string()
                .starts_with("CreateDeployment failed: ServiceUnavailableException: try later — ")
        );
        let e = aws_error(400, "BadRequestException", "bad");
        let error: GatewayError = AwsFailure::from_sdk("PutRestApi", &e).into();
        assert!(!error.is_transient());
    }
}
