//! The scheduled alert as a chat message: the same custom-notification JSON that AWS Chatbot
//! reads for read alerts ([`crate::alert::chat`]), one thread per deletion. Every string from
//! the records crosses [`for_chat`] (a session named `<!channel>` never pings a channel).

use super::compose::ScheduledAlert;
use crate::alert::chat::{AdditionalContext, ChatContent, ChatMetadata, ChatNotification};
use crate::sanitize::{for_chat, for_chat_code};
use crate::usage::report::label;

/// Chatbot's event type for these messages (`metadata.eventType`).
pub const SCHEDULED_CHAT_EVENT_TYPE: &str = "SecretDeletionScheduled";
const MAX_TITLE_CHARS: usize = 250;
const MAX_LINE_CHARS: usize = 400;
const READERS_TOLD: usize = 3;

impl ScheduledAlert {
    /// This alert as a chat message.
    pub fn chat_notification(&self) -> ChatNotification {
        let document = &self.document;
        let emoji = match document.severity {
            "critical" => ":rotating_light:",
            "high" => ":warning:",
            "medium" => ":grey_question:",
            _ => ":information_source:",
        };
        // The summary leads with its severity (and UNVERIFIED): the emoji goes before it.
        let title = for_chat(&format!("{emoji} {}", document.summary), MAX_TITLE_CHARS);
        let mut lines = Vec::new();
        for reader in document.usage.readers.iter().take(READERS_TOLD) {
            let mut marks = String::new();
            if reader.deleter {
                marks.push_str(" (the deleter)");
            }
            if reader.expected.is_some() {
                marks.push_str(" (expected)");
            }
            lines.push(format!(
                "*Reader:* {} ({}), {} read{}, last {}{marks}",
                for_chat(&reader.workload.name, MAX_LINE_CHARS),
                label(reader.workload.kind),
                reader.reads,
                if reader.reads == 1 { "" } else { "s" },
                for_chat(reader.last_read.as_deref().unwrap_or("unknown"), 64),
            ));
        }
        let more = document.usage.readers.len().saturating_sub(READERS_TOLD)
            + document.usage.readers_left_out;
        if more > 0 {
            lines.push(format!("… and {more} more readers (in the email)"));
        }
        lines.push(format!(
            "*Verdict:* {} ({} to {}{})",
            label(document.usage.verdict),
            document.usage.window.from,
            document.usage.window.to,
            if document.usage.complete {
                ", read whole"
            } else {
                ", NOT read whole"
            }
        ));
        let secret = &document.secret;
        lines.push(format!(
            "*Secret:* {} in account {} ({})",
            for_chat(&secret.name, MAX_LINE_CHARS),
            for_chat(secret.account_id.as_deref().unwrap_or("unknown"), 64),
            for_chat(secret.region.as_deref().unwrap_or("region unknown"), 64)
        ));
        if let Some(purge) = &document.deletion.purge_date {
            lines.push(format!("*Purge:* {purge}"));
        }
        lines.push(format!(
            "*Guard:* {}",
            for_chat(&document.restore_outcome.detail, MAX_LINE_CHARS)
        ));
        lines.push(format!(
            "*Verification:* {}",
            for_chat(&document.verification.detail, MAX_LINE_CHARS)
        ));
        let next_steps = document
            .next_steps
            .iter()
            .map(|step| match step.split_once(": aws ") {
                // A code span of our own around a command that can hold no backtick.
                Some((what, command)) => {
                    format!("{what}: `aws {}`", for_chat_code(command, MAX_LINE_CHARS))
                }
                None => for_chat(step, MAX_LINE_CHARS),
            })
            .collect();
        let mut keywords = vec![
            document.severity.to_uppercase(),
            document.kind.to_owned(),
            document.restore_outcome.kind.to_owned(),
        ];
        if let Some(account) = &secret.account_id {
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
                thread_id: document.dedup_key.clone(),
                summary: for_chat(&document.summary, MAX_LINE_CHARS),
                event_type: SCHEDULED_CHAT_EVENT_TYPE,
                related_resources: secret.arn.iter().map(|a| for_chat(a, 2048)).collect(),
                additional_context: AdditionalContext {
                    dedup_key: document.dedup_key.clone(),
                    severity: document.severity,
                    restore_outcome: document.restore_outcome.kind,
                },
            },
        }
    }
}
