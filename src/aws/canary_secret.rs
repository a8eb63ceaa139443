//! [`CanaryVault`] on Secrets Manager: the canary secret in the function's own account and
//! region.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::Tag;

use crate::canary::{CANARY_TAG, CanaryState, CanaryStep, RECOVERY_WINDOW_DAYS};
use crate::error::{CanaryError, Chain};
use crate::ports::CanaryVault;

/// The canary secret, by name.
pub struct CanarySecret {
    client: aws_sdk_secretsmanager::Client,
    name: String,
}

impl CanarySecret {
    pub fn new(sdk_config: &SdkConfig, name: &str) -> Self {
        CanarySecret {
            client: aws_sdk_secretsmanager::Client::new(sdk_config),
            name: name.to_owned(),
        }
    }
}

/// The error of one step, with the service's code when it answered.
fn failed<E, R>(step: &'static str, error: &SdkError<E, R>) -> CanaryError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => CanaryError::Rejected {
            step,
            code: service.err().code().unwrap_or("error").to_owned(),
            message: service.err().message().unwrap_or("no message").to_owned(),
        },
        other => CanaryError::Unreachable {
            step,
            reason: Chain(other).to_string(),
        },
    }
}

impl CanaryVault for CanarySecret {
    async fn state(&self) -> Result<CanaryState, CanaryError> {
        match self
            .client
            .describe_secret()
            .secret_id(&self.name)
            .send()
            .await
        {
            Ok(output) => Ok(match output.deleted_date() {
                Some(date) => CanaryState::Pending {
                    deletion_date: std::time::SystemTime::try_from(*date)
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH),
                },
                None => CanaryState::NotPending,
            }),
            Err(SdkError::ServiceError(service))
                if service.err().is_resource_not_found_exception() =>
            {
                Ok(CanaryState::Missing)
            }
            Err(error) => Err(failed("DescribeSecret", &error)),
        }
    }

    async fn apply(&self, step: CanaryStep) -> Result<(), CanaryError> {
        match step {
            CanaryStep::Create => self
                .client
                .create_secret()
                .name(&self.name)
                .description(
                    "secret-deletion-alerts' canary: kept pending deletion and read every hour, \
                     to show that reads of such secrets still reach the alert function",
                )
                .secret_string("canary")
                .tags(Tag::builder().key(CANARY_TAG).value("true").build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("CreateSecret", &e)),
            CanaryStep::Restore => self
                .client
                .restore_secret()
                .secret_id(&self.name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("RestoreSecret", &e)),
            CanaryStep::ScheduleDeletion => self
                .client
                .delete_secret()
                .secret_id(&self.name)
                .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed("DeleteSecret", &e)),
            CanaryStep::Read => match self
                .client
                .get_secret_value()
                .secret_id(&self.name)
                .send()
                .await
            {
                Ok(_) => Err(CanaryError::ReadSucceeded),
                // Refused because it is pending deletion: the read CloudTrail logs, the one
                // the alert function must see.
                Err(SdkError::ServiceError(service))
                    if service.err().is_invalid_request_exception() =>
                {
                    Ok(())
                }
                Err(error) => Err(failed("GetSecretValue", &error)),
            },
        }
    }
}
