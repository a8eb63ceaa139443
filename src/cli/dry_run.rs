//! The dry run's publisher: each alert's JSON document as one line on stdout, or the email.
//! (Its Secrets Manager is the library's [`secret_deletion_alerts::dry_run::DryRunSecrets`].)

use std::io::Write;

use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::error::{PublishError, PublishFailure};
use secret_deletion_alerts::ports::AlertPublisher;

use super::Format;

/// Prints each alert instead of publishing it.
pub struct StdoutPublisher(pub Format);

impl AlertPublisher for StdoutPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let mut stdout = std::io::stdout().lock();
        let written = match self.0 {
            Format::Json => writeln!(stdout, "{}", alert.document_json()),
            Format::Email => writeln!(
                stdout,
                "Subject: {}\n\n{}\n{}",
                alert.subject,
                alert.text,
                "-".repeat(72)
            ),
        };
        written.map_err(|e| PublishError {
            secret: alert.document.secret.display_name.clone(),
            event_ids: alert.event_ids(),
            cause: PublishFailure::Invalid(format!("cannot write to stdout: {e}")),
        })
    }
}
