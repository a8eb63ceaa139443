//! The dry run's publisher: each alert's JSON document as one line on stdout, or the email,
//! or its copies (the chat message, the Security Hub findings) as they would be sent.
//! (Its Secrets Manager is the library's [`secret_deletion_alerts::dry_run::DryRunSecrets`].)

use std::time::SystemTime;

use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::alert::finding::{FindingPlace, findings_of};
use secret_deletion_alerts::error::{PublishError, PublishFailure};
use secret_deletion_alerts::key_alert::KeyAlert;
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::scheduled::ScheduledAlert;

use super::Format;
use super::stdout::print_line;

/// Prints each alert instead of publishing it.
pub struct StdoutPublisher(pub Format);

#[async_trait::async_trait]
impl AlertPublisher for StdoutPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let written = match self.0 {
            Format::Json => print_line(alert.document_json()),
            Format::Email => print_line(format_args!(
                "Subject: {}\n\n{}\n{}",
                alert.subject,
                alert.text,
                "-".repeat(72)
            )),
            Format::Chat => print_line(pretty(&alert.chat_notification())),
            Format::Finding => {
                let secret = &alert.document.secret;
                let place = place_of(secret.account_id.as_deref(), secret.region.as_deref());
                let findings = findings_of(alert, &place, SystemTime::now());
                print_line(pretty(&findings))
            }
        };
        written.map_err(|e| PublishError {
            secret: alert.document.secret.display_name.clone(),
            event_ids: alert.event_ids(),
            cause: PublishFailure::Invalid(format!("cannot write to stdout: {e}")),
        })
    }

    /// The scheduled alert has no chat or finding form yet: those formats print its document.
    async fn publish_scheduled(&self, alert: &ScheduledAlert) -> Result<(), PublishError> {
        let written = match self.0 {
            Format::Email => print_line(format_args!(
                "Subject: {}\n\n{}\n{}",
                alert.subject,
                alert.text,
                "-".repeat(72)
            )),
            Format::Json | Format::Chat | Format::Finding => print_line(alert.document_json()),
        };
        written.map_err(|e| PublishError {
            secret: alert.document.secret.name.clone(),
            event_ids: alert.document.deletion.event_id.clone().unwrap_or_default(),
            cause: PublishFailure::Invalid(format!("cannot write to stdout: {e}")),
        })
    }

    async fn publish_key_use(&self, alert: &KeyAlert) -> Result<(), PublishError> {
        let written = match self.0 {
            Format::Email => print_line(format_args!(
                "Subject: {}\n\n{}\n{}",
                alert.subject,
                alert.text,
                "-".repeat(72)
            )),
            Format::Json => print_line(alert.document_json()),
            Format::Chat => print_line(pretty(&alert.chat_notification())),
            Format::Finding => {
                let key = &alert.document.key;
                let place = place_of(key.account_id.as_deref(), key.region.as_deref());
                print_line(pretty(&[alert.finding(&place, SystemTime::now())]))
            }
        };
        written.map_err(|e| PublishError {
            secret: format!("KMS key {}", alert.key_name()),
            event_ids: alert.event_ids(),
            cause: PublishFailure::Invalid(format!("cannot write to stdout: {e}")),
        })
    }
}

/// Where a dry run's findings would be imported: the alert's account and region, else a
/// placeholder account in us-east-1.
fn place_of(account: Option<&str>, region: Option<&str>) -> FindingPlace {
    FindingPlace {
        partition: "aws".to_owned(),
        account_id: account.unwrap_or("123456789012").to_owned(),
        region: region.unwrap_or("us-east-1").to_owned(),
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
