//! The scheduled alert's email text: the sentence first, then the secret and the deletion,
//! who read it in the window (as `check` lists readers), and what to do.

use std::fmt::Write;

use super::ScheduledSeverity;
use super::compose::ScheduledFacts;
use super::document::ScheduledDocument;
use crate::restore::time_left;
use crate::sanitize::shell_quote;
use crate::usage::Verdict;
use crate::usage::report::label;

pub(super) fn text(
    facts: &ScheduledFacts<'_>,
    document: &ScheduledDocument,
    severity: ScheduledSeverity,
) -> String {
    let mut out = String::new();
    let secret = &document.secret;
    let deletion = &document.deletion;
    let usage = &document.usage;
    let _ = writeln!(out, "{}\n", document.summary);
    if deletion.force {
        let _ = writeln!(
            out,
            "The secret was deleted WITHOUT a recovery window: it is already gone and cannot \
             be restored.\n"
        );
    }
    let _ = writeln!(
        out,
        "Severity:     {}",
        severity.as_str().to_ascii_uppercase()
    );
    let _ = writeln!(out, "Secret:       {}", secret.name);
    if let Some(arn) = &secret.arn {
        let _ = writeln!(out, "ARN:          {arn}");
    }
    let _ = writeln!(
        out,
        "Account:      {} ({})",
        secret.account_id.as_deref().unwrap_or("unknown"),
        secret.region.as_deref().unwrap_or("unknown region")
    );
    let _ = writeln!(
        out,
        "Scheduled:    at {} by {}",
        deletion
            .scheduled_at
            .as_deref()
            .unwrap_or("an unknown time"),
        deletion.scheduled_by
    );
    if let Some(arn) = &deletion.scheduled_by_arn {
        let _ = writeln!(out, "Deleter:      {arn}");
    }
    match (deletion.force, deletion.recovery_window_days) {
        (true, _) => {
            let _ = writeln!(out, "Recovery:     none (ForceDeleteWithoutRecovery)");
        }
        (false, Some(days)) => {
            let _ = writeln!(out, "Recovery:     {days} days");
        }
        (false, None) => {}
    }
    if let Some(purge) = facts
        .seen
        .deletion
        .deletion_date
        .or(facts.state.deletion_date())
    {
        let _ = writeln!(
            out,
            "Purge:        {} ({})",
            humantime::format_rfc3339_seconds(purge),
            time_left(purge, facts.now)
        );
    }
    let _ = writeln!(out, "Verification: {}", document.verification.detail);
    let _ = writeln!(out, "Guard:        {}", document.restore_outcome.detail);

    let _ = writeln!(
        out,
        "\nReaders from {} to {} (CloudTrail Event history, {} GetSecretValue records read):",
        &usage.window.from, &usage.window.to, usage.records_read
    );
    if usage.readers.is_empty() {
        let _ = writeln!(out, "  none seen");
    }
    for reader in usage.readers.iter().take(super::compose::READERS_IN_EMAIL) {
        let mut marks = Vec::new();
        if reader.deleter {
            marks.push("the deleter".to_owned());
        }
        if let Some(rule) = &reader.expected {
            marks.push(format!("expected: {rule}"));
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" [{}]", marks.join("; "))
        };
        let refused = if reader.refused_reads > 0 {
            format!(", {} refused", reader.refused_reads)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  - {} ({}, {}): {} read{}{refused}, last {}{marks}\n    caller {}",
            reader.workload.name,
            label(reader.workload.kind),
            label(reader.workload.confidence),
            reader.reads,
            if reader.reads == 1 { "" } else { "s" },
            reader.last_read.as_deref().unwrap_or("at an unknown time"),
            reader.caller
        );
    }
    let listed = usage.readers.len().min(super::compose::READERS_IN_EMAIL);
    let more = usage.readers.len() - listed + usage.readers_left_out;
    if more > 0 {
        let _ = writeln!(out, "  ... and {more} more readers (in the JSON document)");
    }
    let verdict = match usage.verdict {
        Verdict::InUse => "IN USE: the readers above read it in the window",
        Verdict::NoReadsSeen => "no reads seen: the whole window was read and nobody read it",
        Verdict::Unknown => "UNKNOWN: the window was not read whole, and no read was seen",
    };
    let _ = writeln!(out, "\nVerdict:      {verdict}");
    if let (false, Some(gap)) = (usage.complete, &usage.not_read) {
        let _ = writeln!(
            out,
            "Not read:     {} to {}{}",
            gap.from,
            gap.to,
            usage
                .stopped
                .as_deref()
                .map_or(String::new(), |why| format!(" ({why})"))
        );
        let _ = writeln!(
            out,
            "              for the rest, run: secret-deletion-alerts check {}",
            shell_quote(secret.arn.as_deref().unwrap_or(&secret.name))
        );
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
