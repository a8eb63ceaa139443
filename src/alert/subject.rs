//! The subject line: what an inbox shows, within SNS's rules for subjects.

use super::MAX_SUBJECT_CHARS;
use super::document::{AttemptDocument, SecretDocument};
use crate::restore::{RestoreOutcome, Severity};
use crate::sanitize::clean_ascii;

/// `HIGH: pending-deletion secret prod/db read by alice (+12); not restored (123456789012, us-east-1)`:
/// printable ASCII, one line, under 100 characters. Secret, caller and outcome always fit;
/// account and region follow when there is room (mail clients cut long subjects at the end).
/// `HIGH UNVERIFIED: ...` when CloudTrail was asked and did not confirm the reads: the alert
/// then rests on the log group's word alone.
pub(super) fn subject(
    severity: Severity,
    unverified: bool,
    secret: &SecretDocument,
    listed: &[AttemptDocument],
    total: usize,
    suppressed: u64,
    outcome: &RestoreOutcome,
) -> String {
    let who = listed
        .first()
        .map(|a| a.identity.name.as_str())
        .unwrap_or("unknown caller");
    let outcome = match outcome {
        RestoreOutcome::Restored => "restored",
        RestoreOutcome::Failed(_) => "restore failed",
        RestoreOutcome::NotRestored(_) => "not restored",
        RestoreOutcome::NoLongerPending => "no longer pending",
        RestoreOutcome::AlreadyPurged => "already purged",
        RestoreOutcome::DryRun(_) => "dry run",
        RestoreOutcome::Unverified(_) => "not restored (unverified)",
        RestoreOutcome::DeletionIntended { .. } => "not restored (deletion intended)",
    };
    // `(x3)`: reads in this alert; `(+12)`: reads held back by the quiet window since the
    // last one.
    let mut more = if total > 1 {
        format!(" (x{total})")
    } else {
        String::new()
    };
    if suppressed > 0 {
        more.push_str(&format!(" (+{suppressed})"));
    }
    let severity = match unverified {
        true => format!("{} UNVERIFIED", severity.as_str().to_uppercase()),
        false => severity.as_str().to_uppercase(),
    };
    if let Some(workload) = listed.first().and_then(|a| a.workload.short.as_deref()) {
        return workload_subject(&severity, workload, secret, &more, outcome);
    }
    let secret_name = match secret.id_as_named {
        Some(_) => clean_ascii(&secret.display_name, usize::MAX),
        None => "(unnamed)".to_owned(),
    };
    let who = clean_ascii(who, usize::MAX);
    // The principal leads; a workload named on the caller's word only follows it, and is
    // kept whole when the names are cut.
    let likely = listed
        .first()
        .and_then(|a| a.workload.likely)
        .map(|kind| format!(" (likely {kind})"))
        .unwrap_or_default();
    // The long wording when everything fits; the short one before cutting names.
    let heads = [
        format!("{severity}: pending-deletion secret "),
        format!("{severity}: secret "),
    ];
    let fixed = |head: &str| {
        head.len() + " read by ".len() + likely.len() + more.len() + "; ".len() + outcome.len()
    };
    let head = heads
        .iter()
        .find(|head| fixed(head) + secret_name.len() + who.len() <= MAX_SUBJECT_CHARS)
        .unwrap_or(&heads[1]);
    let room = MAX_SUBJECT_CHARS.saturating_sub(fixed(head));
    let who_room = (room * 2 / 5).max(room.saturating_sub(secret_name.len()));
    let who = clean_ascii(&who, who_room);
    let secret_name = clean_ascii(&secret_name, room.saturating_sub(who.len()));
    with_place(
        format!("{head}{secret_name} read by {who}{likely}{more}; {outcome}"),
        secret,
    )
}

/// `HIGH: Lambda orders-api read prod/db, pending deletion; not restored (123456789012, eu-west-1)`:
/// the workload first, when the record names it for certain.
fn workload_subject(
    severity: &str,
    workload: &str,
    secret: &SecretDocument,
    more: &str,
    outcome: &str,
) -> String {
    let secret_name = match secret.id_as_named {
        Some(_) => clean_ascii(&secret.display_name, usize::MAX),
        None => "(unnamed)".to_owned(),
    };
    let fixed = severity.len()
        + ": ".len()
        + " read ".len()
        + ", pending deletion".len()
        + more.len()
        + "; ".len()
        + outcome.len();
    let room = MAX_SUBJECT_CHARS.saturating_sub(fixed);
    let workload = clean_ascii(
        workload,
        (room * 2 / 5).max(room.saturating_sub(secret_name.len())),
    );
    let secret_name = clean_ascii(&secret_name, room.saturating_sub(workload.len()));
    let subject =
        format!("{severity}: {workload} read {secret_name}, pending deletion{more}; {outcome}");
    with_place(subject, secret)
}

/// Account and region at the end, when there is room (mail clients cut long subjects there).
fn with_place(mut subject: String, secret: &SecretDocument) -> String {
    let account = clean_ascii(secret.account_id.as_deref().unwrap_or("?"), 12);
    let region = clean_ascii(secret.region.as_deref().unwrap_or("?"), 16);
    for place in [format!(" ({account}, {region})"), format!(" ({region})")] {
        if subject.len() + place.len() <= MAX_SUBJECT_CHARS {
            subject.push_str(&place);
            break;
        }
    }
    clean_ascii(&subject, MAX_SUBJECT_CHARS)
}
