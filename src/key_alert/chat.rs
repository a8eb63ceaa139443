//! The key alert as a chat message: the custom-notification JSON AWS Chatbot reads for the
//! other alerts ([`crate::alert::chat`]), one thread per key and callers ([`KeyAlert::thread`]).
//! Every string from the records crosses [`for_chat`] (a session named `<!channel>` never
//! pings a channel).

use super::KeyAlert;
use crate::alert::chat::{AdditionalContext, ChatContent, ChatMetadata, ChatNotification};
use crate::sanitize::{for_chat, for_chat_code};
use crate::usage::report::label;

/// Chatbot's event type for these messages (`metadata.eventType`).
pub const KEY_CHAT_EVENT_TYPE: &str = "KmsKeyPendingDeletionUsed";
const MAX_TITLE_CHARS: usize = 250;
const MAX_LINE_CHARS: usize = 400;
const CALLERS_TOLD: usize = 3;
const SECRETS_TOLD: usize = 3;

impl KeyAlert {
    /// This alert as a chat message.
    pub fn chat_notification(&self) -> ChatNotification {
        let document = &self.document;
        let emoji = if document.severity == "critical" {
            ":rotating_light:"
        } else {
            ":warning:"
        };
        let title = for_chat(&format!("{emoji} {}", document.summary), MAX_TITLE_CHARS);
        let key = &document.key;
        let mut lines = vec![format!(
            "*Key:* {} in account {} ({})",
            for_chat(key.arn.as_deref().unwrap_or(&key.name), MAX_LINE_CHARS),
            for_chat(key.account_id.as_deref().unwrap_or("unknown"), 64),
            for_chat(key.region.as_deref().unwrap_or("region unknown"), 64)
        )];
        if let (Some(date), Some(left)) = (&key.deletion_date, &key.time_left) {
            lines.push(format!("*Deleted:* {date} ({left})"));
        }
        for reader in document.readers.iter().take(CALLERS_TOLD) {
            lines.push(format!(
                "*Caller:* {} ({}), {} call{} ({}), last {}",
                for_chat(&reader.workload.name, MAX_LINE_CHARS),
                label(reader.workload.kind),
                reader.uses,
                if reader.uses == 1 { "" } else { "s" },
                for_chat(&reader.operations.join(", "), MAX_LINE_CHARS),
                for_chat(reader.last_use.as_deref().unwrap_or("unknown"), 64),
            ));
        }
        let more = document.readers.len().saturating_sub(CALLERS_TOLD) + document.readers_left_out;
        if more > 0 {
            lines.push(format!("… and {more} more callers (in the email)"));
        }
        let secrets: Vec<String> = document
            .encrypted_secrets
            .iter()
            .take(SECRETS_TOLD)
            .map(|s| for_chat(s.name.as_deref().unwrap_or(&s.arn), MAX_LINE_CHARS))
            .collect();
        if !secrets.is_empty() {
            let more = document
                .encrypted_secrets
                .len()
                .saturating_sub(SECRETS_TOLD)
                + document.encrypted_secrets_left_out;
            lines.push(format!(
                "*Secrets under it:* {}{}",
                secrets.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if let Some(by) = &document.scheduled_by {
            lines.push(format!(
                "*Scheduled by:* {}",
                for_chat(by.by_arn.as_deref().unwrap_or(&by.by), MAX_LINE_CHARS)
            ));
        }
        lines.push(format!(
            "*Deletion:* {}",
            for_chat(&document.restore_outcome.detail, MAX_LINE_CHARS)
        ));
        let next_steps = document
            .next_steps
            .iter()
            .map(|step| match step.split_once(": aws ") {
                // A code span of our own around a command that can hold no backtick: up to the
                // command's end (its sentence goes on after ". ").
                Some((what, rest)) => {
                    let (command, after) = rest.split_once(". ").unwrap_or((rest, ""));
                    format!(
                        "{}: `aws {}`{}",
                        for_chat(what, MAX_LINE_CHARS),
                        for_chat_code(command.trim_end_matches('.'), MAX_LINE_CHARS),
                        if after.is_empty() {
                            String::new()
                        } else {
                            format!(". {}", for_chat(after, MAX_LINE_CHARS))
                        }
                    )
                }
                None => for_chat(step, MAX_LINE_CHARS),
            })
            .collect();
        let mut keywords = vec![
            document.severity.to_uppercase(),
            document.kind.to_owned(),
            document.restore_outcome.kind.to_owned(),
        ];
        if let Some(account) = &key.account_id {
            keywords.push(for_chat(account, 64));
        }
        ChatNotification {
            version: "1.0",
            source: "custom",
            id: document.dedup_key.clone(),
            content: ChatContent {
                text_type: "client-markdown",
                title,
                description: lines.join("\n"),
                next_steps,
                keywords,
            },
            metadata: ChatMetadata {
                thread_id: self.thread(),
                summary: for_chat(&document.summary, MAX_LINE_CHARS),
                event_type: KEY_CHAT_EVENT_TYPE,
                related_resources: key.arn.iter().map(|a| for_chat(a, 2048)).collect(),
                additional_context: AdditionalContext {
                    dedup_key: document.dedup_key.clone(),
                    severity: document.severity,
                    restore_outcome: document.restore_outcome.kind,
                },
            },
        }
    }
}
