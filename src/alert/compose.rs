//! From the findings of one secret to an [`Alert`], listing fewer reads until the message
//! fits SNS's size limit.

use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::document::{
    AlertDocument, AttemptDocument, NextSteps, RestoreDocument, attempt_document, attributes,
    caller_documents, secret_document, window_fields,
};
use super::email::email_text;
use super::evidence::{
    Evidence, deletion_document, expected_reads_document, verification_document,
};
use super::investigate::{find_the_secret, find_the_workload, investigations, restore_command};
use super::subject::subject;
use super::{
    Alert, AlertContext, MAX_ERROR_CHARS, MAX_FIELD_CHARS, MAX_SNS_BYTES, SCHEMA, SCHEMA_V2,
};
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::restore::{RestoreOutcome, SecretState, Severity};
use crate::sanitize::clean_text;
use crate::window::WindowNote;
use crate::workload::classify;

/// Composes the alert for the findings of one secret (`attempts` all name the same target;
/// an empty slice yields an alert with no attempts, which the handler never asks for), under
/// the quiet window `window` when there is one.
pub fn compose(
    attempts: &[PendingDeletionAccess],
    state: &SecretState,
    outcome: &RestoreOutcome,
    evidence: &Evidence,
    window: Option<&WindowNote>,
    context: &AlertContext<'_>,
) -> Alert {
    let mut ordered: Vec<&PendingDeletionAccess> = attempts.iter().collect();
    ordered.sort_by_key(|a| time_key(a));
    let mut listed = context
        .max_listed_attempts
        .clamp(1, usize::MAX)
        .min(ordered.len());
    loop {
        let alert = compose_listing(&ordered, listed, state, outcome, evidence, window, context);
        // However many attempts a batch holds, the message stays under SNS's limit: list
        // fewer and count the rest.
        if listed <= 1 || alert.sns_size() <= MAX_SNS_BYTES {
            return alert;
        }
        listed /= 2;
    }
}

/// The de-duplication key [`compose`] gives the alert for `attempts`: what a quiet window's
/// claim records before the alert is composed.
pub fn dedup_key_of(attempts: &[PendingDeletionAccess]) -> String {
    let ordered: Vec<&PendingDeletionAccess> = attempts.iter().collect();
    match ordered.first() {
        Some(first) => dedup_key(&first.target, &read_keys(&ordered)),
        None => dedup_key(&no_target(), &[]),
    }
}

fn no_target() -> SecretTarget {
    SecretTarget {
        account_id: None,
        region: None,
        secret_id: None,
    }
}

/// What identifies each read for the de-duplication key: its `sharedEventID` when it has one
/// (the same in both accounts' copies of a cross-account read, so that the two are one alert
/// even when they come in different batches), else its event id, else where it was found.
fn read_keys(ordered: &[&PendingDeletionAccess]) -> Vec<String> {
    ordered
        .iter()
        .map(
            |a| match (a.shared_event_id.as_deref(), a.event_id.as_deref()) {
                (Some(shared), _) => format!("shared:{}", clean_text(shared, 64)),
                (None, Some(id)) => clean_text(id, 64),
                (None, None) => clean_text(&a.origin.location(), MAX_FIELD_CHARS),
            },
        )
        .collect()
}

/// Each attempt's CloudTrail event id, else where it was found.
fn event_ids(ordered: &[&PendingDeletionAccess]) -> Vec<String> {
    ordered
        .iter()
        .map(|a| match a.event_id.as_deref() {
            Some(id) => clean_text(id, 64),
            None => clean_text(&a.origin.location(), MAX_FIELD_CHARS),
        })
        .collect()
}

fn compose_listing(
    ordered: &[&PendingDeletionAccess],
    listed: usize,
    state: &SecretState,
    outcome: &RestoreOutcome,
    evidence: &Evidence,
    window: Option<&WindowNote>,
    context: &AlertContext<'_>,
) -> Alert {
    let target = ordered
        .first()
        .map(|a| a.target.clone())
        .unwrap_or_else(no_target);
    let severity = Severity::of_alert(state, outcome, ordered.iter().copied(), context.now);
    let event_ids = event_ids(ordered);
    let dedup_key = dedup_key(&target, &read_keys(ordered));
    // Each read's workload, worked out once for its attempt, its caller and the next steps.
    let workloads: Vec<_> = ordered.iter().map(|a| classify(a)).collect();
    let mut callers = caller_documents(ordered, &workloads);
    callers.truncate(listed.max(1));
    let (suppressed_since_last_alert, last_alert_at, alert_window) = window_fields(window);
    let attempts: Vec<AttemptDocument> = ordered
        .iter()
        .zip(&workloads)
        .take(listed)
        .map(|(a, workload)| attempt_document(a, workload, context.now))
        .collect();
    let mut secret = secret_document(&target, state, context.now);
    secret.account_name = evidence
        .account_name
        .as_deref()
        .map(|name| clean_text(name, MAX_FIELD_CHARS));
    let restore = RestoreDocument {
        policy: context.restore_policy.name(),
        outcome: outcome.kind(),
        summary: clean_text(&outcome.summary(), MAX_ERROR_CHARS),
    };
    let investigate = investigations(ordered, &target, context);
    let next_steps = NextSteps {
        restore_command: restore_command(&secret),
        find_the_secret: find_the_secret(ordered, &target),
        find_the_workload: find_the_workload(&workloads, &target),
        investigate,
    };
    let subject = subject(
        severity,
        evidence.verification.status() == "not_confirmed",
        &secret,
        &attempts,
        ordered.len(),
        suppressed_since_last_alert,
        outcome,
    );
    let expected_reads = expected_reads_document(evidence);
    let mut document = AlertDocument {
        schema: if expected_reads.is_some() {
            SCHEMA_V2
        } else {
            SCHEMA
        },
        expected_reads,
        dedup_key,
        severity,
        subject: subject.clone(),
        secret,
        restore,
        attempts_total: ordered.len(),
        attempts_listed: attempts.len(),
        first_seen: ordered
            .first()
            .and_then(|a| a.event_time.as_deref())
            .map(|t| clean_text(t, 64)),
        last_seen: ordered
            .last()
            .and_then(|a| a.event_time.as_deref())
            .map(|t| clean_text(t, 64)),
        attempts,
        callers,
        event_ids,
        suppressed_since_last_alert,
        last_alert_at,
        alert_window,
        verification: verification_document(evidence),
        deletion_scheduled: deletion_document(evidence),
        log_group: clean_text(context.log_group, 512),
        next_steps,
    };
    // The full id list is for machines; past the listing cap it would dominate the message.
    if document.event_ids.len() > listed.max(1) * 4 {
        document.event_ids.truncate(listed.max(1) * 4);
    }
    let text = email_text(&document, outcome, window, context);
    let attributes = attributes(&document);
    let mut alert = Alert {
        subject,
        text,
        document,
        attributes,
        window_secret: crate::window::window_secret(&target, state),
        sns_message: String::new(),
    };
    alert.sns_message =
        serde_json::json!({ "default": alert.document_json(), "email": alert.text }).to_string();
    alert
}

/// Orders attempts by `eventTime` when it parses, else by the log event's timestamp.
fn time_key(access: &PendingDeletionAccess) -> (i128, String) {
    let parsed = access
        .event_time
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i128,
            Err(e) => -(e.duration().as_millis() as i128),
        });
    let millis = parsed
        .or(access.origin.timestamp_ms().map(i128::from))
        .unwrap_or(i128::MAX);
    (millis, access.origin.location())
}

/// Stable across retries of the same batch: the same secret and the same CloudTrail events
/// give the same key, whichever invocation publishes it.
fn dedup_key(target: &SecretTarget, event_ids: &[String]) -> String {
    let mut sorted: Vec<&str> = event_ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for part in [
        target.account_id.as_deref().unwrap_or(""),
        target.region.as_deref().unwrap_or(""),
        target.secret_id.as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for id in sorted {
        hasher.update(id.as_bytes());
        hasher.update([b'\n']);
    }
    short_hex(hasher)
}

/// The first 16 bytes of a SHA-256, as 32 hex digits: the alert's keys.
pub(super) fn short_hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
