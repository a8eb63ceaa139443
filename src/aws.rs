//! The adapters: SNS for [`AlertPublisher`], Secrets Manager for [`SecretInspector`] and
//! [`SecretRestorer`]. Thin on purpose: they translate between the SDK and the core's types.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::alert::Alert;
use crate::config::Config;
use crate::error::{PublishError, PublishFailure, RestoreError};
use crate::ports::{AlertPublisher, SecretInspector, SecretRestorer};
use crate::region::RegionName;
use crate::restore::SecretState;

/// Clients kept per region. AWS has about 35 regions; past this many a record is making
/// regions up, and the client is built for the one call and dropped.
const MAX_REGION_CLIENTS: usize = 40;

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

/// Publishes alerts to one SNS topic.
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(sdk_config: &SdkConfig, topic_arn: &str) -> Self {
        SnsPublisher {
            client: aws_sdk_sns::Client::new(sdk_config),
            topic_arn: topic_arn.to_owned(),
        }
    }
}

impl AlertPublisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let failure = |cause: PublishFailure| PublishError {
            secret: alert.document.secret.display_name.clone(),
            event_ids: alert.event_ids(),
            cause,
        };
        let mut attributes = HashMap::new();
        for (name, attribute) in &alert.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(attribute.data_type.as_str())
                .string_value(&attribute.value)
                .build()
                .map_err(|e| failure(PublishFailure::Invalid(e.to_string())))?;
            attributes.insert((*name).to_owned(), value);
        }
        let result = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message(alert.sns_message())
            .message_structure("json")
            .set_message_attributes(Some(attributes))
            .send()
            .await;
        match result {
            Ok(output) => {
                tracing::info!(
                    message_id = output.message_id().unwrap_or(""),
                    dedup_key = alert.dedup_key(),
                    "alert published"
                );
                Ok(())
            }
            Err(SdkError::ServiceError(service)) => Err(failure(PublishFailure::Rejected {
                code: service.err().code().unwrap_or("error").to_owned(),
                message: service.err().message().unwrap_or("no message").to_owned(),
            })),
            Err(error) => Err(failure(PublishFailure::Unreachable(
                DisplayErrorContext(&error).to_string(),
            ))),
        }
    }
}

/// Looks up and restores secrets, with one client per region (an alert's secret lives in the
/// region of its event, which need not be the function's).
pub struct SecretsManager {
    sdk_config: SdkConfig,
    clients: Mutex<HashMap<String, aws_sdk_secretsmanager::Client>>,
}

impl SecretsManager {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        SecretsManager {
            sdk_config: sdk_config.clone(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: Option<&RegionName>) -> aws_sdk_secretsmanager::Client {
        let build = || {
            let mut builder = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config);
            if let Some(region) = region {
                builder = builder.region(Region::new(region.as_str().to_owned()));
            }
            aws_sdk_secretsmanager::Client::from_conf(builder.build())
        };
        let key = region.map_or("", RegionName::as_str);
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(key) {
            return client.clone();
        }
        let client = build();
        if clients.len() < MAX_REGION_CLIENTS {
            clients.insert(key.to_owned(), client.clone());
        }
        client
    }

    /// How many regions have a client kept, for the test of the bound.
    #[cfg(test)]
    fn cached_clients(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

impl SecretInspector for SecretsManager {
    async fn inspect(&self, secret_id: &str, region: Option<&RegionName>) -> SecretState {
        let result = self
            .client(region)
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => return state_of_failed_lookup(&error),
        };
        let arn = output.arn().unwrap_or(secret_id).to_owned();
        let name = output.name().unwrap_or(secret_id).to_owned();
        let tags = output
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().unwrap_or("").to_owned())))
            .collect();
        match output.deleted_date() {
            Some(date) => SecretState::PendingDeletion {
                arn,
                name,
                deletion_date: SystemTime::try_from(*date).unwrap_or(SystemTime::UNIX_EPOCH),
                tags,
            },
            None => SecretState::NotPendingDeletion { arn, name, tags },
        }
    }
}

fn state_of_failed_lookup<E, R>(error: &SdkError<E, R>) -> SecretState
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service)
            if service.err().code() == Some("ResourceNotFoundException") =>
        {
            SecretState::Purged
        }
        SdkError::ServiceError(service) => SecretState::LookupFailed {
            reason: format!(
                "{}: {}",
                service.err().code().unwrap_or("error"),
                service.err().message().unwrap_or("no message")
            ),
            unreachable: false,
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => SecretState::LookupFailed {
            reason: format!(
                "Secrets Manager unreachable: {}",
                DisplayErrorContext(error)
            ),
            unreachable: true,
        },
        other => SecretState::LookupFailed {
            reason: DisplayErrorContext(other).to_string(),
            unreachable: false,
        },
    }
}

impl SecretRestorer for SecretsManager {
    async fn restore(&self, arn: &str, region: Option<&RegionName>) -> Result<(), RestoreError> {
        match self
            .client(region)
            .restore_secret()
            .secret_id(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service)) => {
                let code = service.err().code().unwrap_or("error");
                let message = service.err().message().unwrap_or("no message");
                if code == "InvalidRequestException" && says_not_scheduled(message) {
                    return Err(RestoreError::NotPendingDeletion);
                }
                Err(RestoreError::Rejected {
                    code: code.to_owned(),
                    message: message.to_owned(),
                })
            }
            Err(other) => Err(RestoreError::Unreachable(
                DisplayErrorContext(&other).to_string(),
            )),
        }
    }
}

/// Whether a `RestoreSecret` refusal says the secret is not scheduled for deletion (the
/// deletion was cancelled between our lookup and our restore).
fn says_not_scheduled(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    (message.contains("not") || message.contains("n't"))
        && (message.contains("scheduled for deletion") || message.contains("marked for deletion"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_refusal_that_says_not_scheduled_means_no_longer_pending() {
        assert!(says_not_scheduled(
            "You can't restore a secret that isn't scheduled for deletion."
        ));
        assert!(says_not_scheduled("The secret is not marked for deletion"));
        assert!(!says_not_scheduled("Access denied"));
    }

    #[test]
    fn the_region_client_cache_is_bounded_whatever_the_records_name() {
        let sdk_config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let secrets = SecretsManager::new(&sdk_config);
        for n in 0..100 {
            let region = RegionName::parse(&format!("zz-made-up-{n}")).unwrap();
            let _ = secrets.client(Some(&region));
        }
        assert_eq!(secrets.cached_clients(), MAX_REGION_CLIENTS);
    }
}
