//! [`AlertPublisher`] on SNS: one topic, `MessageStructure=json`, the alert's message
//! attributes.

use std::collections::{BTreeMap, HashMap};

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::alert::{Alert, MessageAttribute};
use crate::error::{PublishError, PublishFailure};
use crate::key_alert::KeyAlert;
use crate::ports::AlertPublisher;
use crate::scheduled::ScheduledAlert;

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

#[async_trait::async_trait]
impl AlertPublisher for SnsPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let message = Message {
            subject: &alert.subject,
            body: alert.sns_message(),
            attributes: &alert.attributes,
            dedup_key: alert.dedup_key(),
        };
        self.send(message).await.map_err(|cause| PublishError {
            secret: alert.document.secret.display_name.clone(),
            event_ids: alert.event_ids(),
            cause,
        })
    }

    async fn publish_scheduled(&self, alert: &ScheduledAlert) -> Result<(), PublishError> {
        let message = Message {
            subject: &alert.subject,
            body: &alert.sns_message,
            attributes: &alert.attributes,
            dedup_key: alert.dedup_key(),
        };
        self.send(message).await.map_err(|cause| PublishError {
            secret: alert.document.secret.name.clone(),
            event_ids: alert.document.deletion.event_id.clone().unwrap_or_default(),
            cause,
        })
    }

    async fn publish_key_use(&self, alert: &KeyAlert) -> Result<(), PublishError> {
        let message = Message {
            subject: &alert.subject,
            body: &alert.sns_message,
            attributes: &alert.attributes,
            dedup_key: alert.dedup_key(),
        };
        self.send(message).await.map_err(|cause| PublishError {
            secret: format!("KMS key {}", alert.key_name()),
            event_ids: alert.event_ids(),
            cause,
        })
    }
}

/// One `Publish`, whichever alert it carries.
struct Message<'a> {
    subject: &'a str,
    body: &'a str,
    attributes: &'a BTreeMap<&'static str, MessageAttribute>,
    dedup_key: &'a str,
}

impl SnsPublisher {
    async fn send(&self, message: Message<'_>) -> Result<(), PublishFailure> {
        let mut attributes = HashMap::new();
        for (name, attribute) in message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type(attribute.data_type.as_str())
                .string_value(&attribute.value)
                .build()
                .map_err(|e| PublishFailure::Invalid(e.to_string()))?;
            attributes.insert((*name).to_owned(), value);
        }
        let result = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(message.subject)
            .message(message.body)
            .message_structure("json")
            .set_message_attributes(Some(attributes))
            .send()
            .await;
        match result {
            Ok(output) => {
                tracing::info!(
                    message_id = output.message_id().unwrap_or(""),
                    dedup_key = message.dedup_key,
                    "alert published"
                );
                Ok(())
            }
            Err(SdkError::ServiceError(service)) => Err(PublishFailure::Rejected {
                code: service.err().code().unwrap_or("error").to_owned(),
                message: service.err().message().unwrap_or("no message").to_owned(),
            }),
            Err(error) => Err(PublishFailure::Unreachable(
                DisplayErrorContext(&error).to_string(),
            )),
        }
    }
}

/// The chat topic (`CHAT_TOPIC_ARN`) AWS Chatbot reads: each delivered alert, as Chatbot's
/// custom-notification JSON ([`crate::alert::chat`]), the whole message body.
pub struct ChatTopic {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

/// Tries of one chat message: a throttled publish is sent again once.
const CHAT_TRIES: usize = 2;

impl ChatTopic {
    pub fn new(sdk_config: &SdkConfig, topic_arn: &str) -> Self {
        ChatTopic {
            client: aws_sdk_sns::Client::new(sdk_config),
            topic_arn: topic_arn.to_owned(),
        }
    }

    /// Publishes a chat message (Chatbot's JSON, `body`) of the alert keyed `dedup_key`;
    /// whether it went out.
    pub async fn post(&self, body: &str, dedup_key: &str) -> bool {
        for attempt in 1..=CHAT_TRIES {
            match self
                .client
                .publish()
                .topic_arn(&self.topic_arn)
                .message(body)
                .send()
                .await
            {
                Ok(_) => return true,
                Err(error) => tracing::warn!(
                    dedup_key,
                    error = %DisplayErrorContext(&error),
                    attempt,
                    "the chat message was not published"
                ),
            }
        }
        tracing::error!(
            dedup_key,
            "chat message not delivered (ChatUndelivered); the email went out"
        );
        false
    }
}
