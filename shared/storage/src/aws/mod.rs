//! AWS adapters: [`DynamoStore`] (templates, challenges, counters on one table) and
//! [`S3ImageStore`] (photos). Clients come from one [`aws_config::SdkConfig`] built by
//! [`load_sdk_config`]: standard retries, bounded timeouts, an optional endpoint
//! override for local emulators (moto).

mod dynamo;
mod s3;

pub use dynamo::DynamoStore;
pub use s3::S3ImageStore;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use faceid_core::ports::StoreError;
use std::time::Duration;

/// How to reach AWS (or an emulator).
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// `None`: the default chain (`AWS_REGION`, profile, Lambda environment).
    pub region: Option<String>,
    /// Endpoint override for local emulators, e.g. `http://127.0.0.1:5000`.
    pub endpoint_url: Option<String>,
    /// Static credentials (tests, emulators); `None`: the default provider chain.
    pub static_credentials: Option<(String, String)>,
    /// Attempts per call including the first (SDK standard retry mode, with backoff).
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    /// Per attempt; a Lambda must answer API Gateway within 29 s.
    pub attempt_timeout: Duration,
    /// All attempts of one call together.
    pub operation_timeout: Duration,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            region: None,
            endpoint_url: None,
            static_credentials: None,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(8),
            operation_timeout: Duration::from_secs(20),
        }
    }
}

/// Builds the shared SDK configuration.
pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(settings.connect_timeout)
                .operation_attempt_timeout(settings.attempt_timeout)
                .operation_timeout(settings.operation_timeout)
                .build(),
        );
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some((id, secret)) = &settings.static_credentials {
        loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "static"));
    }
    loader.load().await
}

/// Error codes that mean "try again later".
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Maps an SDK error: throttling, timeouts, dispatch failures and 5xx answers are
/// `Unavailable` (retryable, HTTP 503); the rest is `Other`.
pub(crate) fn sdk_err<E>(op: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            se.raw().status().is_server_error()
                || se
                    .err()
                    .code()
                    .is_some_and(|c| RETRYABLE_CODES.contains(&c))
        }
        _ => false,
    };
    let msg = format!("{op}: {}", DisplayErrorContext(&e));
    if retryable {
        StoreError::Unavailable(msg)
    } else {
        StoreError::Other(msg)
    }
}
