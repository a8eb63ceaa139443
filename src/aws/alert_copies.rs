//! [`AlertCopies`] with the SDK: each delivered alert as Security Hub findings and as a chat
//! message, both at once, each only when configured.

use std::time::SystemTime;

use crate::alert::Alert;
use crate::aws::security_hub::SecurityHubFindings;
use crate::aws::sns::ChatTopic;
use crate::ports::{AlertCopies, CopiesReport};
use crate::scheduled::ScheduledAlert;

pub struct AwsCopies {
    pub findings: Option<SecurityHubFindings>,
    pub chat: Option<ChatTopic>,
}

#[async_trait::async_trait]
impl AlertCopies for AwsCopies {
    async fn deliver(&self, alerts: &[Alert]) -> CopiesReport {
        let findings = async {
            match &self.findings {
                // Boxed, as the SDK's futures are large: on the heap, not the task's stack.
                Some(findings) => Box::pin(findings.import(alerts, SystemTime::now())).await,
                None => 0,
            }
        };
        let chat = async {
            let Some(chat) = &self.chat else {
                return 0;
            };
            let mut undelivered = 0;
            for alert in alerts {
                if !Box::pin(chat.post(alert)).await {
                    undelivered += 1;
                }
            }
            undelivered
        };
        let (findings_undelivered, chat_undelivered) = futures_util::join!(findings, chat);
        CopiesReport {
            findings_undelivered,
            chat_undelivered,
        }
    }

    async fn deliver_scheduled(&self, alerts: &[ScheduledAlert]) -> CopiesReport {
        let findings = async {
            match &self.findings {
                Some(findings) => {
                    Box::pin(findings.import_scheduled(alerts, SystemTime::now())).await
                }
                None => 0,
            }
        };
        let chat = async {
            let Some(chat) = &self.chat else {
                return 0;
            };
            let mut undelivered = 0;
            for alert in alerts {
                if !Box::pin(chat.post_scheduled(alert)).await {
                    undelivered += 1;
                }
            }
            undelivered
        };
        let (findings_undelivered, chat_undelivered) = futures_util::join!(findings, chat);
        CopiesReport {
            findings_undelivered,
            chat_undelivered,
        }
    }

    fn undelivered(&self, alerts: usize) -> CopiesReport {
        CopiesReport {
            findings_undelivered: if self.findings.is_some() { alerts } else { 0 },
            chat_undelivered: if self.chat.is_some() { alerts } else { 0 },
        }
    }
}
