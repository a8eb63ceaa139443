//! The answer for a person at a terminal: one block per secret, the verdict first, then
//! who reads it and what to do. Every caller-controlled string was cleaned on its way into
//! the tally.

use std::fmt::Write;

use super::document::{check_document, rfc3339};
use super::secret_query::Subject;
use super::verdict::{CheckOutcome, Verdict};
use crate::sanitize::clean_text;

/// How the JSON document names a value (`event-history`, `lambda`, `likely`).
pub fn label<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Readers listed per secret; the rest are counted in one line.
pub const READERS_LISTED: usize = 20;

/// One secret's block.
pub fn secret_block(outcome: &CheckOutcome, now: std::time::SystemTime) -> String {
    let document = check_document(outcome);
    let secret = &document.secret;
    let mut out = String::new();
    let _ = writeln!(out, "{}", secret.name);
    if let Some(arn) = &secret.arn {
        let _ = writeln!(out, "  {arn}");
    } else if secret.id_as_named != secret.name {
        let _ = writeln!(out, "  as named: {}", secret.id_as_named);
    }
    let days = outcome
        .to
        .duration_since(outcome.from)
        .map_or(0, |d| d.as_secs().div_ceil(86_400));
    let window = format!(
        "{} to {}",
        &document.window.from[..10],
        &document.window.to[..10]
    );
    // A key's calls are uses (any KMS operation naming it), by callers.
    let key = outcome.secret.subject == Subject::KmsKey;
    let (one, many, reader, readers) = if key {
        ("use", "uses", "caller", "callers")
    } else {
        ("read", "reads", "reader", "readers")
    };
    let verdict = match document.verdict {
        Verdict::InUse => format!(
            "IN USE: {} by {} in the last {days} days ({window}), {} refused",
            counted(document.reads, one, many),
            counted(document.readers.len() as u64, reader, readers),
            document.refused_reads
        ),
        Verdict::NoReadsSeen => format!(
            "NO {} SEEN in the last {days} days ({window}), in every source",
            many.to_uppercase()
        ),
        Verdict::Unknown => format!(
            "UNKNOWN: no {many} seen in the last {days} days ({window}), but {}",
            outcome.unknown_because()
        ),
    };
    let _ = writeln!(out, "  {verdict}");
    match outcome.secret.deletion_date {
        Some(date) => {
            let left = date
                .duration_since(now)
                .map(|d| format!("in {} days", d.as_secs() / 86_400))
                .unwrap_or_else(|_| "already due".to_owned());
            let _ = writeln!(
                out,
                "  scheduled for deletion: purge {} ({left})",
                rfc3339(date)
            );
        }
        // Only a secret Secrets Manager described is known not to be scheduled: an offline
        // check states no deletion fact it never looked up.
        None if outcome.secret.looked_up => {
            let _ = writeln!(out, "  not scheduled for deletion");
        }
        None => {}
    }
    match &outcome.secret.secrets_under_key {
        Some(Ok(secrets)) if secrets.is_empty() => {
            let _ = writeln!(out, "  secrets under this key (ListSecrets): none");
        }
        Some(Ok(secrets)) => {
            let names: Vec<String> = secrets.iter().map(|s| clean_text(s, 256)).collect();
            let _ = writeln!(
                out,
                "  secrets under this key (ListSecrets): {}",
                names.join(", ")
            );
        }
        Some(Err(why)) => {
            let _ = writeln!(
                out,
                "  secrets under this key: not listed ({})",
                clean_text(why, 512)
            );
        }
        None => {}
    }
    if let Some(date) = &secret.last_accessed_date {
        let _ = writeln!(
            out,
            "  last accessed (Secrets Manager, by day): {}",
            &date[..10]
        );
    }
    let _ = writeln!(out, "  sources:");
    for source in &document.sources {
        let state = if source.complete {
            "complete"
        } else {
            "INCOMPLETE"
        };
        let _ = writeln!(
            out,
            "    {} {} ({state}): {}",
            label(source.kind),
            source.location,
            source.detail
        );
    }
    if !document.readers.is_empty() {
        let _ = writeln!(out, "  {readers}:");
    }
    for reader in document.readers.iter().take(READERS_LISTED) {
        let confidence = label(reader.workload.confidence);
        let kind = label(reader.workload.kind);
        let _ = writeln!(
            out,
            "    {} ({kind}, {confidence}) as {}",
            reader.workload.name, reader.caller
        );
        let span = match (&reader.first_read, &reader.last_read) {
            (Some(first), Some(last)) => format!(", first {first}, last {last}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "      {} ({} refused){span}",
            counted(reader.reads, one, many),
            reader.refused_reads
        );
        if let Some(Some(rule)) = &reader.expected {
            let _ = writeln!(out, "      expected: marked by {rule}");
        }
        if !reader.source_ips.is_empty() {
            let _ = writeln!(out, "      from {}", reader.source_ips.join(", "));
        }
        if !reader.user_agents.is_empty() {
            let _ = writeln!(out, "      user agents: {}", reader.user_agents.join("; "));
        }
        if !reader.example_event_ids.is_empty() {
            let _ = writeln!(out, "      events: {}", reader.example_event_ids.join(", "));
        }
    }
    if document.readers.len() > READERS_LISTED {
        let _ = writeln!(
            out,
            "    ... and {} more {readers} (--json lists them all)",
            document.readers.len() - READERS_LISTED
        );
    }
    for note in &document.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    let next = match (key, document.verdict) {
        (true, Verdict::InUse) => {
            "Do not delete the key yet: everything it encrypted is lost with it. Move each \
             caller above (and each secret under it) to another key, then check again. A \
             deletion already scheduled can be cancelled with `aws kms cancel-key-deletion` \
             (then `aws kms enable-key`)."
        }
        (true, Verdict::NoReadsSeen) => {
            "Nothing used it in the window. Schedule its deletion with the longest waiting \
             period that suits you (up to 30 days) and keep the alerts running: a use during \
             it alerts and can be undone."
        }
        (true, Verdict::Unknown) => {
            "Not safe to say: resolve the key (its ARN), read the sources marked INCOMPLETE \
             again (or add one that covers the window), then check again."
        }
        (false, Verdict::InUse) => {
            "Do not delete it yet: move each reader above off the secret (or give it the \
             replacement), then check again. A deletion already scheduled can be cancelled \
             with `aws secretsmanager restore-secret`."
        }
        (false, Verdict::NoReadsSeen) => {
            "Nothing read it in the window. Delete it with a recovery window (7 to 30 days) and \
             keep the alerts running: a read during the window alerts and can be undone."
        }
        (false, Verdict::Unknown) => {
            "Not safe to say: find the secret (its region and account, or its full ARN) and \
             read the sources marked INCOMPLETE again (or add one that covers the window), then \
             check again."
        }
    };
    let _ = writeln!(out, "  next: {next}");
    out
}

/// `1 read`, `3 reads`.
pub fn counted(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
