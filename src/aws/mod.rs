//! The adapters that implement the ports with the AWS SDK, one file per service, and the
//! shared pieces: the SDK configuration every client is built from ([`load_sdk_config`]) and
//! the credentials for member accounts ([`clients`]). Thin on purpose: they translate between
//! the SDK and the core's types; nothing outside this folder names an SDK type.

pub mod alert_copies;
pub mod canary_secret;
pub mod clients;
pub mod cloudtrail_history;
pub mod dynamodb_windows;
pub mod kms;
pub mod organizations;
// `check --source athena:...` and `scan s3://...` only: the command line's (feature `cli`),
// never the function's.
#[cfg(feature = "cli")]
pub mod athena_queries;
#[cfg(feature = "cli")]
pub mod s3_trail;
pub mod secrets_manager;
pub mod security_hub;
pub mod sns;
pub mod wiring;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::config::Config;

pub use alert_copies::AwsCopies;
pub use canary_secret::CanarySecret;
pub use clients::{MEMBER_SESSION_NAME, MemberCredentials, MemberRole};
pub use cloudtrail_history::CloudTrailHistory;
pub use dynamodb_windows::AlertStateTable;
pub use kms::KmsKeys;
pub use organizations::OrganizationAccounts;
pub use secrets_manager::{SecretsManager, secrets_manager};
pub use security_hub::SecurityHubFindings;
pub use sns::{ChatTopic, SnsPublisher};
pub use wiring::Wiring;

/// The shared SDK configuration: the default credential and region chain (and
/// `AWS_ENDPOINT_URL`, which points it at an emulator in tests), with timeouts shorter than the
/// function's so a hung dependency fails the invocation cleanly.
pub async fn load_sdk_config(config: &Config) -> SdkConfig {
    sdk_config_loader(config).load().await
}

/// The loader behind [`load_sdk_config`], for callers that set more (an endpoint) first.
pub fn sdk_config_loader(config: &Config) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .operation_attempt_timeout(config.operation_timeout / 2)
                .operation_timeout(config.operation_timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
}
