//! [`AlertCopies`] with the SDK: each delivered alert as Security Hub findings and as a chat
//! message, both at once, each only when configured.

use std::time::SystemTime;

use crate::alert::Alert;
use crate::alert::chat::ChatNotification;
use crate::aws::security_hub::SecurityHubFindings;
use crate::aws::sns::ChatTopic;
use crate::key_alert::KeyAlert;
use crate::ports::{AlertCopies, CopiesReport};
use crate::scheduled::ScheduledAlert;

pub struct AwsCopies {
    pub findings: Option<SecurityHubFindings>,
    pub chat: Option<ChatTopic>,
}

#[async_trait::async_trait]
impl AlertCopies for AwsCopies {
    async fn deliver(&self, alerts: &[Alert]) -> CopiesReport {
        let import = async {
            match &self.findings {
                // Boxed, as the SDK's futures are large: on the heap, not the task's stack.
                Some(findings) => Box::pin(findings.import(alerts, SystemTime::now())).await,
                None => 0,
            }
        };
        let messages = self.chat_messages(
            alerts
                .iter()
                .map(|a| (a.chat_notification(), a.dedup_key())),
        );
        self.both(import, messages).await
    }

    async fn deliver_scheduled(&self, alerts: &[ScheduledAlert]) -> CopiesReport {
        let import = async {
            match &self.findings {
                Some(findings) => {
                    Box::pin(findings.import_scheduled(alerts, SystemTime::now())).await
                }
                None => 0,
            }
        };
        let messages = self.chat_messages(
            alerts
                .iter()
                .map(|a| (a.chat_notification(), a.dedup_key())),
        );
        self.both(import, messages).await
    }

    async fn deliver_keys(&self, alerts: &[KeyAlert]) -> CopiesReport {
        let import = async {
            match &self.findings {
                Some(findings) => Box::pin(findings.import_keys(alerts, SystemTime::now())).await,
                None => 0,
            }
        };
        let messages = self.chat_messages(
            alerts
                .iter()
                .map(|a| (a.chat_notification(), a.dedup_key())),
        );
        self.both(import, messages).await
    }

    fn undelivered(&self, alerts: usize) -> CopiesReport {
        CopiesReport {
            findings_undelivered: if self.findings.is_some() { alerts } else { 0 },
            chat_undelivered: if self.chat.is_some() { alerts } else { 0 },
        }
    }
}

/// A chat message's body and its alert's key (for the logs).
type ChatMessage = (String, String);

impl AwsCopies {
    /// The chat messages of a batch's alerts, made only where chat is configured.
    fn chat_messages<'a>(
        &self,
        alerts: impl Iterator<Item = (ChatNotification, &'a str)>,
    ) -> Vec<ChatMessage> {
        if self.chat.is_none() {
            return Vec::new();
        }
        alerts
            .map(|(message, key)| {
                (
                    serde_json::to_string(&message).unwrap_or_default(),
                    key.to_owned(),
                )
            })
            .collect()
    }

    /// The findings' `import` and the chat `messages`, both at once; what did not go out.
    async fn both(
        &self,
        import: impl Future<Output = usize>,
        messages: Vec<ChatMessage>,
    ) -> CopiesReport {
        let chat = async {
            let Some(chat) = &self.chat else {
                return 0;
            };
            let mut undelivered = 0;
            for (body, key) in &messages {
                if !Box::pin(chat.post(body, key)).await {
                    undelivered += 1;
                }
            }
            undelivered
        };
        let (findings_undelivered, chat_undelivered) = futures_util::join!(import, chat);
        CopiesReport {
            findings_undelivered,
            chat_undelivered,
        }
    }
}
