//! One alert for uses of one KMS key pending deletion (#45): the key (its ARN, id, aliases,
//! state and purge date as `DescribeKey` and `ListAliases` answered), the operations refused,
//! who made them and which workload that is, the secrets the key encrypts, who scheduled its
//! deletion, and what to do. Pure: the facts the handler's side learnt in, the alert out
//! ([`crate::key_check`] learns them).
//!
//! Whether the key's deletion was cancelled is decided beside ([`crate::key_restore`]); the
//! alert says what became of it, and gives the commands that remain. A fact that could not be learnt (a lookup refused, an account the function may not act
//! in, Event history unread) is a line of the alert, never a reason to drop it.

mod chat;
mod document;
mod email;
mod finding;

pub use chat::KEY_CHAT_EVENT_TYPE;
pub use document::{
    EncryptedSecretPart, KEY_ALERT_SCHEMA, KeyAlertDocument, KeyPart, LookupPart, ReaderPart,
    ScheduledByPart,
};
pub use finding::{KEY_FINDING_TYPE, KEY_GENERATOR_ID};

use std::collections::BTreeMap;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::alert::{MAX_SUBJECT_CHARS, MessageAttribute};
use crate::detection::{Origin, SecretTarget};
use crate::ids::AccountId;
pub use crate::key_access::access_of;
use crate::key_restore::KeyRestoreOutcome;
use crate::key_state::{EncryptedSecrets, KeyLookup, ScheduledBy};
use crate::key_use::{KeyNamed, KeyUse, key_use_documents};
use crate::restore::{CRITICAL_WITHIN, DELETION_INTENDED_TAG, Severity};
use crate::sanitize::{clean_ascii, clean_text, shell_quote};
use crate::usage::{SecretReads, SourceCoverage, SourceKind, Verdict};
use crate::window::WindowNote;
use crate::workload::classify;

/// The `kind` of a key alert, in its document and its message attribute.
pub const KEY_ALERT_KIND: &str = "pending_deletion_key_use";
/// The `kind` of the alert of a key's deletion being scheduled (`ON_SCHEDULE`).
pub const KEY_SCHEDULED_KIND: &str = "key_deletion_scheduled";
/// Uses the document lists one by one; the rest are counted (SNS takes 256 KB).
pub const USES_IN_DOCUMENT: usize = 50;
/// Callers the document lists; the rest are counted.
pub const READERS_IN_DOCUMENT: usize = 50;
/// Secrets the document lists; the rest are counted.
pub const SECRETS_IN_DOCUMENT: usize = 100;
const FIELD_CHARS: usize = 256;
const ID_CHARS: usize = 2048;

/// Where the key lives: its ARN's account and region, else the record's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyPlace {
    pub account_id: Option<String>,
    pub region: Option<String>,
}

impl KeyPlace {
    /// The key's place: the ARN's, else where the use was logged.
    pub fn of(key_use: &KeyUse) -> Self {
        match &key_use.key {
            KeyNamed::Arn { arn, .. } => {
                let parts = crate::cloudtrail::arn_parts(arn);
                KeyPlace {
                    account_id: parts.as_ref().map(|p| p.account.to_owned()),
                    region: parts.as_ref().map(|p| p.region.to_owned()),
                }
            }
            _ => KeyPlace {
                account_id: key_use.recipient_account_id.clone(),
                region: key_use.aws_region.clone(),
            },
        }
    }

    /// As a secret's target, for the checks a place goes through (the member account, the
    /// region's name).
    pub fn as_target(&self) -> SecretTarget {
        SecretTarget {
            account_id: self.account_id.as_deref().map(AccountId::from),
            region: self.region.clone(),
            secret_id: None,
        }
    }
}

/// The name a key's uses are grouped under, and its window kept by: its ARN, else what the
/// caller passed (or nothing) in its account and region.
pub fn key_identity(key: &KeyNamed, place: &KeyPlace) -> String {
    match key {
        KeyNamed::Arn { arn, .. } => arn.clone(),
        KeyNamed::AsPassed(passed) => format!(
            "{}/{}/{passed}",
            place.account_id.as_deref().unwrap_or("-"),
            place.region.as_deref().unwrap_or("-")
        ),
        KeyNamed::Unknown => format!(
            "(not named)/{}/{}",
            place.account_id.as_deref().unwrap_or("-"),
            place.region.as_deref().unwrap_or("-")
        ),
    }
}

/// Everything the alert says, learnt by the handler's side.
#[derive(Debug, Clone, Copy)]
pub struct KeyFacts<'a> {
    pub key: &'a KeyNamed,
    pub place: &'a KeyPlace,
    /// The uses this alert reports (one caller's, under a quiet window), with where each
    /// record was found.
    pub uses: &'a [(KeyUse, Origin)],
    pub lookup: &'a KeyLookup,
    pub secrets: &'a EncryptedSecrets,
    pub scheduled_by: &'a ScheduledBy,
    /// What became of the key's deletion.
    pub restore: &'a KeyRestoreOutcome,
    /// Set for the alert of the deletion being scheduled (`ScheduleKeyDeletion` in the batch;
    /// `uses` is then empty): who used the key in the days before.
    pub scheduling: Option<&'a KeyScheduling>,
    pub window: Option<&'a WindowNote>,
    /// What went wrong on the way, a sentence each.
    pub notes: &'a [String],
    pub now: SystemTime,
}

/// What the alert of a key's deletion being scheduled adds: Event history's word on the
/// scheduling, and who used the key in the days before it.
#[derive(Debug, Clone)]
pub struct KeyScheduling {
    /// `Ok`: Event history holds the `ScheduleKeyDeletion` as the batch gave it; `Err`: why it
    /// could not be confirmed.
    pub confirmation: Result<(), String>,
    /// The deleter, as callers are counted (`CallerKey`): their own uses are named so.
    pub deleter: String,
    pub from: SystemTime,
    pub to: SystemTime,
    /// Every call naming the key in the window, per caller.
    pub uses: SecretReads,
    pub records: u64,
    /// Every page of the window was read.
    pub complete: bool,
    /// When not complete: why.
    pub stopped: Option<String>,
}

impl KeyScheduling {
    /// Whether anyone but the deleter (and readers a rule marks as expected) used the key.
    pub fn used_by_others(&self) -> bool {
        self.uses
            .readers
            .keys()
            .any(|reader| reader.caller != self.deleter && reader.expected.is_none())
    }

    pub fn verdict(&self) -> Verdict {
        let coverage = SourceCoverage {
            kind: SourceKind::EventHistory,
            location: String::new(),
            complete: self.complete,
            detail: String::new(),
        };
        Verdict::of(&self.uses, std::slice::from_ref(&coverage))
    }
}

/// One alert for uses of one key.
#[derive(Debug, Clone)]
pub struct KeyAlert {
    pub subject: String,
    pub text: String,
    pub document: KeyAlertDocument,
    pub attributes: BTreeMap<&'static str, MessageAttribute>,
    /// The `Publish` message (`MessageStructure=json`): the text for email, the document for
    /// every other protocol.
    pub sns_message: String,
}

impl KeyAlert {
    pub fn dedup_key(&self) -> &str {
        &self.document.dedup_key
    }

    pub fn document_json(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_default()
    }

    /// The copies' thread: the key and the callers of this alert, so that the next alert of
    /// the same key and callers joins the same chat thread and updates the same finding.
    pub fn thread(&self) -> String {
        let key = &self.document.key;
        let identity = key
            .arn
            .as_deref()
            .or(key.as_passed.as_deref())
            .unwrap_or(&key.name);
        let mut callers: Vec<&str> = self
            .document
            .readers
            .iter()
            .map(|r| r.caller.as_str())
            .collect();
        callers.sort_unstable();
        let digest = Sha256::digest(format!(
            "kms-key\0{}\0{}\0{identity}\0{}",
            key.account_id.as_deref().unwrap_or("-"),
            key.region.as_deref().unwrap_or("-"),
            callers.join("\0")
        ));
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key, for messages about the alert (an undelivered one).
    pub fn key_name(&self) -> &str {
        &self.document.key.name
    }

    /// The event ids of its uses, comma-separated.
    pub fn event_ids(&self) -> String {
        let ids: Vec<&str> = self
            .document
            .uses
            .iter()
            .filter_map(|u| u.event_id.as_deref())
            .collect();
        crate::alert::event_id_list(ids.into_iter())
    }
}

/// `critical` when the key is gone within 48 hours (or is overdue); `high` otherwise,
/// including when the date is unknown.
pub fn key_severity(deletion_date: Option<SystemTime>, now: SystemTime) -> Severity {
    match deletion_date {
        Some(date)
            if date
                .duration_since(now)
                .map_or(true, |left| left < CRITICAL_WITHIN) =>
        {
            Severity::Critical
        }
        _ => Severity::High,
    }
}

/// A scheduling's severity: `high` when someone but the deleter used the key in the window,
/// `low` when nobody did and the window was read whole, `medium` when that is not known.
pub fn scheduled_severity(scheduling: &KeyScheduling) -> &'static str {
    if scheduling.used_by_others() {
        "high"
    } else if scheduling.complete {
        "low"
    } else {
        "medium"
    }
}

/// The de-duplication key of an alert of `uses`: the same on every try of the same batch.
pub fn key_dedup_key(identity: &str, uses: &[(KeyUse, Origin)]) -> String {
    let mut ids: Vec<String> = uses
        .iter()
        .map(|(key_use, origin)| {
            key_use
                .event_id
                .clone()
                .unwrap_or_else(|| origin.location())
        })
        .collect();
    ids.sort();
    let digest = Sha256::digest(format!("{KEY_ALERT_KIND}\0{identity}\0{}", ids.join("\0")));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The alert for `facts`.
pub fn compose_key_alert(facts: &KeyFacts<'_>) -> KeyAlert {
    let severity = match facts.scheduling {
        None => key_severity(facts.lookup.deletion_date(), facts.now).as_str(),
        Some(scheduling) => scheduled_severity(scheduling),
    };
    let document = document::document(facts, severity);
    let subject = clean_ascii(&document.summary, MAX_SUBJECT_CHARS);
    let text = email::text(facts, &document);
    let attributes = attributes(&document);
    let document_json = serde_json::to_string(&document).unwrap_or_default();
    let sns_message = serde_json::json!({ "default": document_json, "email": text }).to_string();
    KeyAlert {
        subject,
        text,
        document,
        attributes,
        sns_message,
    }
}

/// `HIGH: KMS key alias/orders scheduled for deletion by bob, in use: orders-api used it 4 times`.
fn scheduled_summary(
    scheduling: &KeyScheduling,
    seen_by: &str,
    key_name: &str,
    severity: &str,
) -> String {
    let unverified = if scheduling.confirmation.is_ok() {
        ""
    } else {
        " UNVERIFIED"
    };
    let busiest = scheduling
        .uses
        .readers
        .iter()
        .filter(|(reader, _)| reader.caller != scheduling.deleter && reader.expected.is_none())
        .max_by_key(|(_, uses)| uses.reads);
    let usage = match (busiest, scheduling.verdict()) {
        (Some((reader, uses)), _) => format!(
            "in use: {} used it {} time{}",
            reader.name,
            uses.reads,
            if uses.reads == 1 { "" } else { "s" }
        ),
        (None, Verdict::InUse) => "used only by the deleter or expected callers".to_owned(),
        (None, Verdict::NoReadsSeen) => "no uses seen".to_owned(),
        (None, Verdict::Unknown) => "usage unknown".to_owned(),
    };
    format!(
        "{}{unverified}: KMS key {} scheduled for deletion by {}, {usage}",
        severity.to_ascii_uppercase(),
        clean_text(key_name, 80),
        clean_text(seen_by, 60)
    )
}

/// `HIGH: KMS key alias/orders (1234abcd-...) pending deletion used: Decrypt by orders-api`.
fn summary(facts: &KeyFacts<'_>, key_name: &str, severity: &str) -> String {
    let mut operations: Vec<&str> = facts
        .uses
        .iter()
        .map(|(u, _)| u.operation.as_str())
        .collect();
    operations.sort_unstable();
    operations.dedup();
    let mut workloads: Vec<String> = facts
        .uses
        .iter()
        .map(|(u, origin)| classify(&access_of(u, origin)).short())
        .collect();
    workloads.sort();
    workloads.dedup();
    let by = match workloads.as_slice() {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        [] => "an unknown caller".to_owned(),
    };
    format!(
        "{}: KMS key {} pending deletion used: {} by {}",
        severity.to_ascii_uppercase(),
        clean_text(key_name, 80),
        clean_text(&operations.join(", "), 60),
        clean_text(&by, 60)
    )
}

/// Commands to paste: cancel the key's deletion (unless this function did), enable it, and
/// look for its other users.
fn next_steps(
    key: &KeyPart,
    secrets: &EncryptedSecrets,
    restore: &KeyRestoreOutcome,
) -> Vec<String> {
    let region = key
        .region
        .as_deref()
        .and_then(crate::region::RegionName::parse)
        .map_or(String::new(), |r| format!(" --region {r}"));
    let mut steps = Vec::new();
    match (key.key_id.as_deref().or(key.arn.as_deref()), restore) {
        (Some(_), KeyRestoreOutcome::Cancelled { enabled: true }) => {}
        (Some(id), KeyRestoreOutcome::Cancelled { enabled: false })
        | (Some(id), KeyRestoreOutcome::CancelledNotEnabled(_)) => {
            steps.push(format!(
                "The deletion is cancelled and the key is disabled: where it is still needed, \
                 enable it: aws kms enable-key --key-id {}{region}.",
                shell_quote(id)
            ));
        }
        (Some(id), _) => {
            let id = shell_quote(id);
            steps.push(format!(
                "If the key is still needed, cancel its deletion: aws kms cancel-key-deletion \
                 --key-id {id}{region}. The key is then disabled: aws kms enable-key --key-id \
                 {id}{region}."
            ));
        }
        (None, _) => steps.push(
            "The record does not name the key: find it in the caller's configuration, then \
             cancel its deletion with aws kms cancel-key-deletion."
                .to_owned(),
        ),
    }
    steps.push(format!(
        "To mark a key's deletion intended (never cancelled by this function): tag the key \
         {DELETION_INTENDED_TAG}=true, or add the deleter's ARN to INTENDED_DELETERS."
    ));
    let secrets_named = !secrets.from_uses.is_empty()
        || matches!(&secrets.listed, Some(Ok(listed)) if !listed.is_empty());
    if secrets_named {
        steps.push(
            "The secrets listed are encrypted under this key: once it is deleted their values \
             cannot be read. Cancel the key's deletion, not the secrets'; or re-encrypt each \
             under another key first (aws secretsmanager update-secret --kms-key-id)."
                .to_owned(),
        );
    }
    if let Some(arn) = key.arn.as_deref() {
        steps.push(format!(
            "To see every use of the key over a longer history: secret-deletion-alerts check \
             --key {} --days 365 --source s3://YOUR-TRAIL-BUCKET",
            shell_quote(arn)
        ));
    }
    steps
}

fn attributes(document: &KeyAlertDocument) -> BTreeMap<&'static str, MessageAttribute> {
    let value = |v: &str| {
        let cleaned = clean_text(v, FIELD_CHARS);
        MessageAttribute::string(if cleaned.is_empty() {
            "unknown".to_owned()
        } else {
            cleaned
        })
    };
    BTreeMap::from([
        ("kind", value(document.kind)),
        ("key", value(&document.key.name)),
        (
            "account",
            value(document.key.account_id.as_deref().unwrap_or("")),
        ),
        (
            "region",
            value(document.key.region.as_deref().unwrap_or("")),
        ),
        ("severity", value(document.severity)),
        ("dedup_key", value(&document.dedup_key)),
        ("uses", MessageAttribute::number(document.use_count)),
    ])
}

/// The uses as `scan` documents them (one key: the first document).
fn use_documents(uses: &[(KeyUse, Origin)]) -> Vec<crate::key_use::UseDocument> {
    key_use_documents(uses.iter().map(|(u, origin)| (u, origin.location())))
        .into_iter()
        .flat_map(|document| document.uses)
        .collect()
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests;
