//! The chat message of an alert: AWS Chatbot's (Amazon Q Developer in chat applications)
//! custom-notification JSON, the body of a publish to `CHAT_TOPIC_ARN`. Pure.
//!
//! Chatbot renders the content as the chat application's markdown, so every string from the
//! records goes through [`for_chat`]: a session named `<!channel>` never pings a channel.
//! Repeats of one secret and caller thread together (`threadId` is the quiet window's key).

use serde::Serialize;

use super::thread::alert_thread_key;
use super::{Alert, AlertDocument};
use crate::restore::Severity;
use crate::sanitize::{for_chat, for_chat_code};

/// Chatbot's event type for these messages (`metadata.eventType`).
pub const CHAT_EVENT_TYPE: &str = "SecretPendingDeletionRead";
const MAX_TITLE_CHARS: usize = 250;
const MAX_LINE_CHARS: usize = 400;
const MAX_CALLERS_TOLD: usize = 3;

/// The custom notification, field for field as Chatbot's event schema names them.
#[derive(Debug, Clone, Serialize)]
pub struct ChatNotification {
    pub version: &'static str,
    pub source: &'static str,
    pub id: String,
    pub content: ChatContent,
    pub metadata: ChatMetadata,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContent {
    pub text_type: &'static str,
    pub title: String,
    pub description: String,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    pub thread_id: String,
    pub summary: String,
    pub event_type: &'static str,
    pub related_resources: Vec<String>,
    pub additional_context: AdditionalContext,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdditionalContext {
    pub dedup_key: String,
    pub severity: &'static str,
    pub restore_outcome: &'static str,
}

impl Alert {
    /// This alert as a chat message.
    pub fn chat_notification(&self) -> ChatNotification {
        chat_notification(&self.document, alert_thread_key(self))
    }
}

/// The chat message of `document`, threaded on `thread_id` (the alert's window key).
pub fn chat_notification(document: &AlertDocument, thread_id: String) -> ChatNotification {
    let secret = &document.secret;
    let marker = match document.severity {
        Severity::Critical => ":rotating_light: CRITICAL",
        Severity::High => ":warning: HIGH",
    };
    // Our own descriptions mark names as code (`orders-api`); chat shows them plain.
    let reader = document.callers.first().map_or_else(
        || "an unknown caller".to_owned(),
        |caller| unquoted(&caller.workload.description),
    );
    let secret_name = for_chat(&secret.display_name, MAX_LINE_CHARS);
    let title = for_chat(
        &format!(
            "{} read while pending deletion, by {}",
            secret.display_name, reader
        ),
        MAX_TITLE_CHARS - marker.len() - 2,
    );
    let title = format!("{marker}: {title}");

    let mut lines = Vec::new();
    for caller in document.callers.iter().take(MAX_CALLERS_TOLD) {
        let ips = caller.source_ip_addresses.join(", ");
        lines.push(format!(
            "*Caller:* {} ({} {}{})",
            for_chat(&unquoted(&caller.description), MAX_LINE_CHARS),
            caller.reads,
            if caller.reads == 1 { "read" } else { "reads" },
            if ips.is_empty() {
                String::new()
            } else {
                format!(" from {}", for_chat(&ips, MAX_LINE_CHARS))
            }
        ));
    }
    if document.callers.len() > MAX_CALLERS_TOLD {
        lines.push(format!(
            "… and {} more callers (in the email)",
            document.callers.len() - MAX_CALLERS_TOLD
        ));
    }
    let when = match (&document.first_seen, &document.last_seen) {
        (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
        (Some(first), _) => first.clone(),
        _ => "unknown".to_owned(),
    };
    lines.push(format!(
        "*Reads:* {} ({}); {}",
        document.attempts_total,
        for_chat(&when, MAX_LINE_CHARS),
        for_chat(&document.verification.detail, MAX_LINE_CHARS)
    ));
    lines.push(format!(
        "*Secret:* {secret_name} in account {} ({}), {}",
        for_chat(secret.account_id.as_deref().unwrap_or("unknown"), 64),
        for_chat(
            secret.account_name.as_deref().unwrap_or("no name known"),
            128
        ),
        for_chat(secret.region.as_deref().unwrap_or("region unknown"), 64),
    ));
    lines.push(format!(
        "*Time left:* {}",
        for_chat(&secret.state_detail, MAX_LINE_CHARS)
    ));
    lines.push(format!(
        "*Deletion:* {}",
        for_chat(&document.restore.summary, MAX_LINE_CHARS)
    ));
    if let Some(by) = &document.deletion_scheduled.detail {
        lines.push(format!("*Scheduled:* {}", for_chat(by, MAX_LINE_CHARS)));
    }
    if document.suppressed_since_last_alert > 0 {
        lines.push(format!(
            "*Since the last alert:* {} more reads of this caller, held back by the quiet window",
            document.suppressed_since_last_alert
        ));
    }
    if let Some(expected) = &document.expected_reads {
        lines.push(format!(
            "*Expected:* {} more reads left out, marked by {}",
            expected.left_out,
            for_chat(&expected.rules.join(", "), MAX_LINE_CHARS)
        ));
    }

    let mut next_steps = Vec::new();
    if let Some(command) = &document.next_steps.restore_command {
        // A code span of our own around a command that can hold no backtick.
        next_steps.push(format!(
            "Cancel the deletion: `{}`",
            for_chat_code(command, MAX_LINE_CHARS)
        ));
    }
    for step in document.next_steps.find_the_workload.iter().take(2) {
        // "Lambda function orders-api: https://...": the label as text, the link as a link.
        next_steps.push(match step.split_once(": https://") {
            Some((label, rest)) => format!(
                "{}: {}",
                for_chat(&unquoted(label), MAX_LINE_CHARS),
                link_or_text(&format!("https://{rest}"))
            ),
            None => for_chat(&unquoted(step), MAX_LINE_CHARS),
        });
    }
    if let Some(url) = document
        .next_steps
        .investigate
        .iter()
        .find_map(|i| i.cloudtrail_event_history_url.as_deref())
    {
        next_steps.push(format!("What else this caller did: {}", link_or_text(url)));
    }
    next_steps
        .push("The email holds every read, the Logs Insights query and the Athena SQL".into());

    let mut keywords = vec![
        document.severity.as_str().to_uppercase(),
        secret.state.to_owned(),
        document.restore.outcome.to_owned(),
    ];
    if let Some(caller) = document.callers.first() {
        keywords.push(
            serde_json::to_value(caller.workload.kind)
                .ok()
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
    }
    if let Some(account) = &secret.account_id {
        keywords.push(for_chat(account, 64));
    }

    ChatNotification {
        version: "1.0",
        source: "custom",
        id: document.dedup_key.clone(),
        content: ChatContent {
            text_type: "client-markdown",
            title: title.clone(),
            description: lines.join("\n"),
            next_steps,
            keywords,
        },
        metadata: ChatMetadata {
            thread_id,
            summary: for_chat(&document.subject, MAX_TITLE_CHARS),
            event_type: CHAT_EVENT_TYPE,
            related_resources: secret
                .arn
                .iter()
                .chain(secret.id_as_named.iter())
                .take(1)
                .map(|id| for_chat(id, MAX_LINE_CHARS))
                .collect(),
            additional_context: AdditionalContext {
                dedup_key: document.dedup_key.clone(),
                severity: document.severity.as_str(),
                restore_outcome: document.restore.outcome,
            },
        },
    }
}

fn unquoted(text: &str) -> String {
    text.replace('`', "")
}

/// A link the function built (a console address) stays a link when it is made only of the
/// characters an address needs; anything else is shown as text, neutralised.
fn link_or_text(text: &str) -> String {
    let plain_link = text.starts_with("https://")
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:/?#=&%+,;!$()".contains(&b));
    if plain_link {
        text.to_owned()
    } else {
        for_chat(text, MAX_LINE_CHARS)
    }
}
