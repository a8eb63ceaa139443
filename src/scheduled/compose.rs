//! From what was learnt of a scheduled deletion to the alert: the document, the subject, the
//! email text, the message attributes and the `Publish` message.

use std::collections::BTreeMap;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::document::{
    DeletionPart, OutcomePart, ReaderPart, SCHEDULED_SCHEMA, ScheduledDocument, SecretPart,
    UsagePart, WindowPart, WorkloadPart,
};
use super::{Confirmation, Guard, LookBack, ScheduledSeverity, is_deleter};
use crate::alert::{MAX_SUBJECT_CHARS, MessageAttribute};
use crate::deletion::DeletionSeen;
use crate::region::RegionName;
use crate::restore::{DELETION_INTENDED_TAG, SecretState};
use crate::sanitize::{clean_ascii, clean_text, shell_quote};

/// The `kind` of a scheduled alert, in its document and its message attribute.
pub const SCHEDULED_KIND: &str = "deletion_scheduled";
/// Readers the document lists; the rest are counted (SNS takes 256 KB).
pub const READERS_IN_DOCUMENT: usize = 50;
/// Readers the email lists.
pub const READERS_IN_EMAIL: usize = 20;
const FIELD_CHARS: usize = 256;
const ID_CHARS: usize = 2048;

/// Everything the alert says, learnt by the handler's side.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledFacts<'a> {
    pub seen: &'a DeletionSeen,
    pub confirmation: &'a Confirmation,
    pub look_back: &'a LookBack,
    /// `DescribeSecret`'s answer, where it was asked.
    pub state: &'a SecretState,
    pub guard: &'a Guard,
    /// What went wrong on the way, a sentence each.
    pub notes: &'a [String],
    pub now: SystemTime,
}

/// One alert for one scheduled deletion.
#[derive(Debug, Clone)]
pub struct ScheduledAlert {
    pub subject: String,
    pub text: String,
    pub document: ScheduledDocument,
    pub attributes: BTreeMap<&'static str, MessageAttribute>,
    /// The `Publish` message (`MessageStructure=json`): the text for email, the document for
    /// every other protocol.
    pub sns_message: String,
}

impl ScheduledAlert {
    pub fn dedup_key(&self) -> &str {
        &self.document.dedup_key
    }

    pub fn document_json(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_default()
    }
}

/// The alert for `facts`.
pub fn compose_scheduled(facts: &ScheduledFacts<'_>) -> ScheduledAlert {
    let severity = ScheduledSeverity::of(facts.seen, facts.look_back);
    let summary = summary(facts, severity);
    let document = document(facts, severity, &summary);
    let subject = clean_ascii(&summary, MAX_SUBJECT_CHARS);
    let text = super::email::text(facts, &document, severity);
    let attributes = attributes(&document);
    let document_json = serde_json::to_string(&document).unwrap_or_default();
    let sns_message = serde_json::json!({ "default": document_json, "email": text }).to_string();
    ScheduledAlert {
        subject,
        text,
        document,
        attributes,
        sns_message,
    }
}

/// The digest of the deletion's event id and what its record says: the same on every try, so
/// a delivered alert is not sent again.
pub fn scheduled_dedup_key(seen: &DeletionSeen) -> String {
    // The event id with what the record says of the deletion: a record forged under a genuine
    // deletion's event id has another key, so it can never claim the genuine one's alert.
    let identity = [
        seen.event_id.as_deref(),
        seen.account_id.as_deref(),
        seen.region.as_deref(),
        seen.arn.as_deref(),
        seen.secret_id.as_deref(),
        Some(seen.deleter.as_str()),
        seen.deletion.at.as_deref(),
    ]
    .map(|part| part.unwrap_or("-"))
    .join("\0");
    let digest = Sha256::digest(format!("{SCHEDULED_KIND}\0{identity}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `HIGH: prod/db scheduled for deletion by bob, in use: orders-api read it 4120 times`.
fn summary(facts: &ScheduledFacts<'_>, severity: ScheduledSeverity) -> String {
    let seen = facts.seen;
    let unverified = if facts.confirmation.is_confirmed() {
        ""
    } else {
        " UNVERIFIED"
    };
    let secret = clean_text(seen.display_name(), 80);
    let by = clean_text(&seen.deleter_name, 60);
    let verb = if seen.deletion.force {
        "deleted without recovery"
    } else {
        "scheduled for deletion"
    };
    let deleter = seen.deleter.as_str();
    let busiest = facts
        .look_back
        .unexpected_readers(deleter)
        .max_by_key(|(_, reads)| *reads);
    let usage = match (busiest, facts.look_back.verdict()) {
        (Some((reader, reads)), _) => format!(
            "in use: {} read it {reads} time{}",
            reader.name,
            plural(reads)
        ),
        (None, crate::usage::Verdict::InUse) => {
            "read only by expected readers or the deleter".to_owned()
        }
        (None, crate::usage::Verdict::NoReadsSeen) => "no reads seen".to_owned(),
        (None, crate::usage::Verdict::Unknown) => "usage unknown".to_owned(),
    };
    format!(
        "{}{unverified}: {secret} {verb} by {by}, {usage}",
        severity.as_str().to_ascii_uppercase()
    )
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn document(
    facts: &ScheduledFacts<'_>,
    severity: ScheduledSeverity,
    summary: &str,
) -> ScheduledDocument {
    let seen = facts.seen;
    let look_back = facts.look_back;
    let deleter = seen.deleter.as_str();
    let mut readers: Vec<ReaderPart> = look_back
        .reads
        .readers
        .iter()
        .map(|(key, reads)| ReaderPart {
            workload: WorkloadPart {
                kind: key.kind,
                name: key.name.clone(),
                confidence: key.confidence,
            },
            caller: key.caller.clone(),
            reads: reads.reads,
            refused_reads: reads.refused_reads,
            first_read: reads.first_read.map(rfc3339),
            last_read: reads.last_read.map(rfc3339),
            expected: key.expected.clone(),
            deleter: is_deleter(key, deleter),
        })
        .collect();
    readers.sort_by_key(|r| std::cmp::Reverse(r.reads));
    let readers_left_out = readers.len().saturating_sub(READERS_IN_DOCUMENT);
    readers.truncate(READERS_IN_DOCUMENT);
    let arn = seen
        .arn
        .as_deref()
        .or(facts.state.arn())
        .map(|a| clean_text(a, ID_CHARS));
    let purge_date = seen.deletion.deletion_date.or(facts.state.deletion_date());
    let secret = SecretPart {
        arn,
        name: clean_text(
            facts.state.name().unwrap_or(seen.display_name()),
            FIELD_CHARS,
        ),
        id_as_named: seen.secret_id.as_deref().map(|s| clean_text(s, ID_CHARS)),
        account_id: seen
            .account_id
            .as_deref()
            .map(|a| clean_text(a, FIELD_CHARS)),
        region: seen.region.as_deref().map(|r| clean_text(r, FIELD_CHARS)),
        state: facts.state.kind(),
    };
    let next_steps = next_steps(facts, &secret);
    ScheduledDocument {
        schema: SCHEDULED_SCHEMA,
        kind: SCHEDULED_KIND,
        severity: severity.as_str(),
        summary: clean_text(summary, 1024),
        dedup_key: scheduled_dedup_key(seen),
        secret,
        deletion: DeletionPart {
            scheduled_by: clean_text(&seen.deletion.by, FIELD_CHARS),
            scheduled_by_arn: seen
                .deletion
                .by_arn
                .as_deref()
                .map(|a| clean_text(a, ID_CHARS)),
            scheduled_at: seen.deletion.at.as_deref().map(|a| clean_text(a, 64)),
            purge_date: purge_date.map(rfc3339),
            recovery_window_days: seen.deletion.recovery_window_days,
            force: seen.deletion.force,
            event_id: seen.event_id.as_deref().map(|e| clean_text(e, FIELD_CHARS)),
        },
        usage: UsagePart {
            verdict: look_back.verdict(),
            window: WindowPart {
                from: rfc3339(look_back.from),
                to: rfc3339(look_back.to),
            },
            complete: look_back.complete,
            not_read: (!look_back.complete).then(|| WindowPart {
                from: rfc3339(look_back.from),
                to: rfc3339(look_back.reached.unwrap_or(look_back.to)),
            }),
            stopped: look_back
                .stopped
                .as_deref()
                .filter(|_| !look_back.complete)
                .map(|s| clean_text(s, 1024)),
            records_read: look_back.records,
            reads: look_back.reads.reads(),
            readers,
            readers_left_out,
        },
        restore_outcome: OutcomePart {
            kind: facts.guard.kind(),
            detail: clean_text(&facts.guard.describe(), 1024),
        },
        verification: OutcomePart {
            kind: facts.confirmation.status(),
            detail: clean_text(&facts.confirmation.describe(), 1024),
        },
        notes: facts.notes.iter().map(|n| clean_text(n, 1024)).collect(),
        next_steps,
    }
}

/// Commands to paste: cancel the deletion, and how to say it is intended.
fn next_steps(facts: &ScheduledFacts<'_>, secret: &SecretPart) -> Vec<String> {
    let mut steps = Vec::new();
    let region = secret
        .region
        .as_deref()
        .and_then(RegionName::parse)
        .map_or(String::new(), |r| format!(" --region {r}"));
    let id = secret.arn.as_deref().or(secret.id_as_named.as_deref());
    if facts.seen.deletion.force {
        steps.push(
            "The secret was deleted without a recovery window: it cannot be restored. Create it \
             again under the same name with the value from its source (or rotate the \
             credential it held), and update every reader listed."
                .to_owned(),
        );
    } else if let Some(id) = id {
        steps.push(format!(
            "To cancel the deletion: aws secretsmanager restore-secret --secret-id={}{region}",
            shell_quote(id)
        ));
    }
    steps.push(format!(
        "To mark a deletion intended: tag the secret {DELETION_INTENDED_TAG}=true before \
         scheduling its deletion, or add the deleter's ARN to INTENDED_DELETERS."
    ));
    steps
}

fn attributes(document: &ScheduledDocument) -> BTreeMap<&'static str, MessageAttribute> {
    let value = |v: &str| {
        let cleaned = clean_text(v, FIELD_CHARS);
        MessageAttribute::string(if cleaned.is_empty() {
            "unknown".to_owned()
        } else {
            cleaned
        })
    };
    BTreeMap::from([
        ("kind", value(SCHEDULED_KIND)),
        ("secret", value(&document.secret.name)),
        (
            "account",
            value(document.secret.account_id.as_deref().unwrap_or("")),
        ),
        (
            "region",
            value(document.secret.region.as_deref().unwrap_or("")),
        ),
        ("severity", value(document.severity)),
        ("restore_outcome", value(document.restore_outcome.kind)),
        ("verification", value(document.verification.kind)),
        ("dedup_key", value(&document.dedup_key)),
        (
            "readers",
            MessageAttribute::number(
                document.usage.readers.len() + document.usage.readers_left_out,
            ),
        ),
    ])
}
