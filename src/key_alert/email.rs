//! The key alert's email text: the sentence first, then the key and when it is gone, who
//! used it (by workload), the secrets it encrypts, who scheduled its deletion, and what to do.

use std::fmt::Write;

use super::KeyFacts;
use super::document::KeyAlertDocument;
use crate::usage::report::label;

/// Callers the email lists; the rest are in the document.
const READERS_IN_EMAIL: usize = 20;
/// Secrets the email lists.
const SECRETS_IN_EMAIL: usize = 20;

pub(super) fn text(facts: &KeyFacts<'_>, document: &KeyAlertDocument) -> String {
    let mut out = String::new();
    let key = &document.key;
    let _ = writeln!(out, "{}\n", document.summary);
    let opening = if document.usage.is_some() {
        "A KMS key was just scheduled for deletion. When its waiting period ends KMS deletes it, \
         and everything it encrypted (secrets included) can never be decrypted again. Who used \
         it in the days before is below."
    } else {
        "A KMS key scheduled for deletion is still being used. When its waiting period ends KMS \
         deletes it, and everything it encrypted (secrets included) can never be decrypted \
         again."
    };
    let _ = writeln!(out, "{opening}\n");
    let _ = writeln!(out, "Severity:     {}", document.severity.to_uppercase());
    let _ = writeln!(out, "Key:          {}", key.name);
    if let Some(arn) = &key.arn {
        let _ = writeln!(out, "ARN:          {arn}");
    } else if let Some(passed) = &key.as_passed {
        let _ = writeln!(
            out,
            "As passed:    {passed} (no record gives the key's ARN)"
        );
    }
    if !key.aliases.is_empty() {
        let _ = writeln!(out, "Aliases:      {}", key.aliases.join(", "));
    }
    let _ = writeln!(
        out,
        "Account:      {} ({})",
        key.account_id.as_deref().unwrap_or("unknown"),
        key.region.as_deref().unwrap_or("unknown region")
    );
    match (&key.state, &key.deletion_date, &key.time_left) {
        (Some(state), Some(date), Some(left)) => {
            let _ = writeln!(out, "State:        {state}");
            let _ = writeln!(out, "Deleted:      {date} ({left})");
        }
        (Some(state), _, _) => {
            let _ = writeln!(out, "State:        {state}");
        }
        _ => {
            let _ = writeln!(out, "State:        unknown ({})", document.lookup.detail);
        }
    }
    match &document.scheduled_by {
        Some(by) => {
            let _ = writeln!(
                out,
                "Scheduled:    at {} by {}{}",
                by.at.as_deref().unwrap_or("an unknown time"),
                by.by,
                by.pending_window_days
                    .map_or(String::new(), |days| format!(", {days}-day waiting period"))
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Scheduled:    by an unknown caller ({})",
                document.scheduled_by_detail
            );
        }
    }
    let _ = writeln!(out, "Deletion:     {}", document.restore_outcome.detail);

    match &document.usage {
        Some(usage) => {
            let _ = writeln!(out, "Verification: {}", usage.verification.detail);
            let _ = writeln!(
                out,
                "\nUsed from {} to {} (CloudTrail Event history, {} records read, {} uses):",
                usage.window.from, usage.window.to, usage.records_read, usage.uses
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\nUsed by ({} call{} refused):",
                document.use_count,
                if document.use_count == 1 { "" } else { "s" }
            );
        }
    }
    if document.readers.is_empty() {
        let _ = writeln!(out, "  none seen");
    }
    for reader in document.readers.iter().take(READERS_IN_EMAIL) {
        let through = match (reader.through_secrets_manager, reader.deleter) {
            (true, _) => " through Secrets Manager",
            (false, true) => " [the deleter]",
            (false, false) => "",
        };
        let operations = if reader.operations.is_empty() {
            String::new()
        } else {
            format!(" ({})", reader.operations.join(", "))
        };
        let _ = writeln!(
            out,
            "  - {} ({}, {}): {} call{}{operations}{through}, last {}\n    caller {}{}",
            reader.workload.name,
            label(reader.workload.kind),
            label(reader.workload.confidence),
            reader.uses,
            if reader.uses == 1 { "" } else { "s" },
            reader.last_use.as_deref().unwrap_or("at an unknown time"),
            reader.caller,
            if reader.source_ips.is_empty() {
                String::new()
            } else {
                format!(", from {}", reader.source_ips.join(", "))
            }
        );
    }
    let listed = document.readers.len().min(READERS_IN_EMAIL);
    let more = document.readers.len() - listed + document.readers_left_out;
    if more > 0 {
        let _ = writeln!(out, "  ... and {more} more callers (in the JSON document)");
    }
    for key_use in document.uses.iter().take(3) {
        let _ = writeln!(
            out,
            "  event {} at {}: {} ({})",
            key_use.event_id.as_deref().unwrap_or("(no event id)"),
            key_use.event_time.as_deref().unwrap_or("an unknown time"),
            key_use.operation,
            key_use.error_code.as_deref().unwrap_or("no error code")
        );
    }

    if let Some(usage) = &document.usage {
        let verdict = match usage.verdict {
            crate::usage::Verdict::InUse => "IN USE: the callers above used it in the window",
            crate::usage::Verdict::NoReadsSeen => {
                "no uses seen: the whole window was read and nothing used the key"
            }
            crate::usage::Verdict::Unknown => {
                "UNKNOWN: the window was not read whole, and no use was seen"
            }
        };
        let _ = writeln!(out, "\nVerdict:      {verdict}");
        if let Some(stopped) = &usage.stopped {
            let _ = writeln!(out, "Not read:     {stopped}");
        }
    }
    let _ = writeln!(out, "\nSecrets encrypted under this key:");
    if document.encrypted_secrets.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for secret in document.encrypted_secrets.iter().take(SECRETS_IN_EMAIL) {
        let pending = if secret.pending_deletion == Some(true) {
            " [itself pending deletion]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  - {}{pending}",
            secret.name.as_deref().unwrap_or(&secret.arn)
        );
    }
    let more = document
        .encrypted_secrets
        .len()
        .saturating_sub(SECRETS_IN_EMAIL)
        + document.encrypted_secrets_left_out;
    if more > 0 {
        let _ = writeln!(out, "  ... and {more} more (in the JSON document)");
    }
    let _ = writeln!(out, "  ({})", document.encrypted_secrets_detail);

    if let Some(note) = facts.window {
        write_window(&mut out, note);
    }
    for note in &document.notes {
        let _ = writeln!(out, "Note:         {note}");
    }
    let _ = writeln!(out, "\nWhat to do:");
    for step in &document.next_steps {
        let _ = writeln!(out, "  - {step}");
    }
    let _ = writeln!(out, "\nDe-duplication key: {}", document.dedup_key);
    out
}

/// What the quiet window did, in the key's words (uses, not reads).
fn write_window(out: &mut String, note: &crate::window::WindowNote) {
    let window = humantime::format_duration(note.window);
    let _ = writeln!(out);
    if let Some(reason) = &note.unavailable {
        let _ = writeln!(
            out,
            "Quiet window: not applied: the alert state table could not be used ({reason})."
        );
        return;
    }
    if note.carried.suppressed > 0 {
        let _ = writeln!(
            out,
            "Held back:    {} more use{} by this caller since the last alert",
            note.carried.suppressed,
            if note.carried.suppressed == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    if let Some(ends) = note.ends_at {
        let _ = writeln!(
            out,
            "Quiet window: further uses by this caller are counted, not emailed, until {} \
             (ALERT_WINDOW={window})",
            humantime::format_rfc3339_seconds(ends)
        );
    }
}
