//! The key alert's JSON document: what machines read (`docs/key-alert-v1.schema.json`; a
//! test validates composed documents against it). Every string a caller chose has crossed
//! [`crate::sanitize`] on its way in.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    FIELD_CHARS, ID_CHARS, KEY_ALERT_KIND, KEY_SCHEDULED_KIND, KeyFacts, KeyScheduling,
    READERS_IN_DOCUMENT, SECRETS_IN_DOCUMENT, USES_IN_DOCUMENT, access_of, key_dedup_key,
    key_identity, next_steps, rfc3339, scheduled_summary, summary, use_documents,
};
use crate::caller::CallerKey;
use crate::key_state::{EncryptedSecrets, KeyLookup, ScheduledBy};
use crate::key_use::{KeyNamed, UseDocument};
use crate::restore::time_left;
use crate::sanitize::clean_text;
pub use crate::usage::WorkloadPart;
use crate::usage::{Verdict, WindowPart};
use crate::workload::classify;

pub const KEY_ALERT_SCHEMA: &str = "secret-deletion-alerts/key-alert/v1";

#[derive(Debug, Clone, Serialize)]
pub struct KeyAlertDocument {
    pub schema: &'static str,
    /// `pending_deletion_key_use` (a use refused), or `key_deletion_scheduled` (the deletion
    /// being scheduled, with who used the key in the days before: `usage`).
    pub kind: &'static str,
    /// A use: `high`, or `critical` when the key is gone within 48 hours. A scheduling: `high`
    /// (used by someone but the deleter), `medium` (not known), `low` (nobody).
    pub severity: &'static str,
    /// The subject's sentence, whole.
    pub summary: String,
    /// The same on every try of the same batch: a digest of the key and its uses' event ids.
    pub dedup_key: String,
    pub key: KeyPart,
    /// The operations refused, each once.
    pub operations: Vec<String>,
    /// Who made the calls, by caller, most uses first.
    pub readers: Vec<ReaderPart>,
    pub readers_left_out: usize,
    pub use_count: usize,
    /// The uses, oldest first, at most [`USES_IN_DOCUMENT`].
    pub uses: Vec<UseDocument>,
    pub uses_left_out: usize,
    pub encrypted_secrets: Vec<EncryptedSecretPart>,
    pub encrypted_secrets_left_out: usize,
    /// Whether `ListSecrets` in the key's account and region was read: without it, the list
    /// holds only the secrets the uses name, and more may be encrypted under the key.
    pub encrypted_secrets_listed: bool,
    pub encrypted_secrets_detail: String,
    pub scheduled_by: Option<ScheduledByPart>,
    /// For a scheduling: the look-back over Event history.
    pub usage: Option<UsagePart>,
    pub scheduled_by_detail: String,
    pub lookup: LookupPart,
    /// What became of the key's deletion ([`crate::key_restore::KeyRestoreOutcome::kind`]).
    pub restore_outcome: LookupPart,
    /// What went wrong on the way (a lookup that failed), one sentence each.
    pub notes: Vec<String>,
    pub next_steps: Vec<String>,
}

/// The key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPart {
    /// Always `kms_key`.
    pub kind: &'static str,
    /// How a person names it: its first alias, else its id or ARN, else what was passed.
    pub name: String,
    pub arn: Option<String>,
    pub key_id: Option<String>,
    /// What the caller passed, when no record or lookup gave the key's ARN.
    pub as_passed: Option<String>,
    pub aliases: Vec<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// `DescribeKey`'s `KeyState`, when it was asked.
    pub state: Option<String>,
    /// When KMS deletes the key (`DescribeKey`'s `DeletionDate`).
    pub deletion_date: Option<String>,
    pub time_left: Option<String>,
    pub multi_region: Option<bool>,
}

/// One caller's uses.
#[derive(Debug, Clone, Serialize)]
pub struct ReaderPart {
    pub workload: WorkloadPart,
    pub caller: String,
    pub uses: usize,
    pub operations: Vec<String>,
    pub first_use: Option<String>,
    pub last_use: Option<String>,
    /// Distinct source addresses, at most five.
    pub source_ips: Vec<String>,
    /// Secrets Manager made the calls for this caller (reads or writes of a secret).
    pub through_secrets_manager: bool,
    /// This caller scheduled the key's deletion.
    pub deleter: bool,
}

/// A secret the key encrypts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct EncryptedSecretPart {
    pub arn: String,
    pub name: Option<String>,
    /// `use` (a use through Secrets Manager named it) or `list_secrets`.
    pub found_by: &'static str,
    /// The secret is itself scheduled for deletion (`list_secrets` only).
    pub pending_deletion: Option<bool>,
}

/// Who used the key in the days before its deletion was scheduled.
#[derive(Debug, Clone, Serialize)]
pub struct UsagePart {
    pub verdict: Verdict,
    pub window: WindowPart,
    pub complete: bool,
    pub stopped: Option<String>,
    pub records_read: u64,
    pub uses: u64,
    /// Event history's word on the `ScheduleKeyDeletion` itself.
    pub verification: LookupPart,
}

/// The `ScheduleKeyDeletion` Event history holds for the key.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledByPart {
    pub by: String,
    pub by_arn: Option<String>,
    pub at: Option<String>,
    pub pending_window_days: Option<u64>,
    pub event_id: Option<String>,
}

/// A stable machine name and a sentence for a person: the lookup (`described`,
/// `not_looked_up`, `lookup_failed`), or the restore.
#[derive(Debug, Clone, Serialize)]
pub struct LookupPart {
    pub kind: &'static str,
    pub detail: String,
}

pub(super) fn document(facts: &KeyFacts<'_>, severity: &'static str) -> KeyAlertDocument {
    let key = key_part(facts);
    let summary = match (facts.scheduling, facts.scheduled_by) {
        (Some(scheduling), ScheduledBy::Found(seen)) => {
            scheduled_summary(scheduling, &seen.by_name, &key.name, severity)
        }
        (Some(scheduling), ScheduledBy::Unknown(_)) => {
            scheduled_summary(scheduling, "an unknown caller", &key.name, severity)
        }
        (None, _) => summary(facts, &key.name, severity),
    };
    let mut operations: Vec<String> = facts
        .uses
        .iter()
        .map(|(u, _)| clean_text(&u.operation, FIELD_CHARS))
        .collect();
    operations.sort();
    operations.dedup();
    let mut uses = use_documents(facts.uses);
    let uses_left_out = uses.len().saturating_sub(USES_IN_DOCUMENT);
    uses.truncate(USES_IN_DOCUMENT);
    let (mut encrypted_secrets, listed, detail) = encrypted_secrets(facts.secrets);
    let encrypted_secrets_left_out = encrypted_secrets.len().saturating_sub(SECRETS_IN_DOCUMENT);
    encrypted_secrets.truncate(SECRETS_IN_DOCUMENT);
    let (scheduled_by, scheduled_by_detail) = match facts.scheduled_by {
        ScheduledBy::Found(seen) => (
            Some(ScheduledByPart {
                by: clean_text(&seen.by, FIELD_CHARS),
                by_arn: seen.by_arn.as_deref().map(|a| clean_text(a, ID_CHARS)),
                at: seen.at.as_deref().map(|a| clean_text(a, 64)),
                pending_window_days: seen.pending_window_days,
                event_id: seen.event_id.as_deref().map(|e| clean_text(e, FIELD_CHARS)),
            }),
            "found in CloudTrail Event history".to_owned(),
        ),
        ScheduledBy::Unknown(why) => (None, clean_text(why, 1024)),
    };
    let next_steps = next_steps(&key, facts.secrets, facts.restore);
    let mut readers = match facts.scheduling {
        Some(scheduling) => readers_before(scheduling),
        None => readers(facts),
    };
    let readers_left_out = readers.len().saturating_sub(READERS_IN_DOCUMENT);
    readers.truncate(READERS_IN_DOCUMENT);
    let usage = facts.scheduling.map(|scheduling| UsagePart {
        verdict: scheduling.verdict(),
        window: WindowPart {
            from: rfc3339(scheduling.from),
            to: rfc3339(scheduling.to),
        },
        complete: scheduling.complete,
        stopped: scheduling
            .stopped
            .as_deref()
            .filter(|_| !scheduling.complete)
            .map(|s| clean_text(s, 1024)),
        records_read: scheduling.records,
        uses: scheduling.uses.reads(),
        verification: match &scheduling.confirmation {
            Ok(()) => LookupPart {
                kind: "confirmed",
                detail: "CloudTrail Event history holds the ScheduleKeyDeletion as the batch \
                         gave it"
                    .to_owned(),
            },
            Err(why) => LookupPart {
                kind: "not_confirmed",
                detail: clean_text(why, 1024),
            },
        },
    });
    let use_count = match facts.scheduling {
        Some(scheduling) => scheduling.uses.reads() as usize,
        None => facts.uses.len(),
    };
    KeyAlertDocument {
        schema: KEY_ALERT_SCHEMA,
        kind: if facts.scheduling.is_some() {
            KEY_SCHEDULED_KIND
        } else {
            KEY_ALERT_KIND
        },
        severity,
        summary: clean_text(&summary, 1024),
        dedup_key: dedup_key(facts),
        operations,
        readers,
        readers_left_out,
        use_count,
        uses,
        uses_left_out,
        encrypted_secrets,
        encrypted_secrets_left_out,
        encrypted_secrets_listed: listed,
        encrypted_secrets_detail: detail,
        scheduled_by,
        usage,
        scheduled_by_detail,
        lookup: LookupPart {
            kind: facts.lookup.kind(),
            detail: clean_text(&lookup_detail(facts.lookup), 1024),
        },
        restore_outcome: LookupPart {
            kind: facts.restore.kind(),
            detail: clean_text(&facts.restore.describe(), 1024),
        },
        notes: facts.notes.iter().map(|n| clean_text(n, 1024)).collect(),
        next_steps,
        key,
    }
}

fn key_part(facts: &KeyFacts<'_>) -> KeyPart {
    let described = facts.lookup.description();
    let (arn, key_id, as_passed) = match (described, facts.key) {
        (Some(d), _) => (Some(d.arn.clone()), Some(d.key_id.clone()), None),
        (None, KeyNamed::Arn { arn, key_id }) => (Some(arn.clone()), Some(key_id.clone()), None),
        (None, KeyNamed::AsPassed(passed)) => (None, None, Some(passed.clone())),
        (None, KeyNamed::Unknown) => (None, None, None),
    };
    let aliases: Vec<String> = described
        .and_then(|d| d.aliases.as_ref().ok())
        .map(|aliases| aliases.iter().map(|a| clean_text(a, FIELD_CHARS)).collect())
        .unwrap_or_default();
    let name = aliases
        .first()
        .cloned()
        .or_else(|| key_id.as_deref().map(|id| clean_text(id, FIELD_CHARS)))
        .or_else(|| as_passed.as_deref().map(|p| clean_text(p, FIELD_CHARS)))
        .unwrap_or_else(|| "(not named in the record)".to_owned());
    let deletion_date = described.and_then(|d| d.deletion_date);
    KeyPart {
        kind: "kms_key",
        name,
        arn: arn.map(|a| clean_text(&a, ID_CHARS)),
        key_id: key_id.map(|k| clean_text(&k, FIELD_CHARS)),
        as_passed: as_passed.map(|p| clean_text(&p, ID_CHARS)),
        aliases,
        account_id: facts
            .place
            .account_id
            .as_deref()
            .map(|a| clean_text(a, FIELD_CHARS)),
        region: facts
            .place
            .region
            .as_deref()
            .map(|r| clean_text(r, FIELD_CHARS)),
        state: described.map(|d| clean_text(&d.state, FIELD_CHARS)),
        deletion_date: deletion_date.map(rfc3339),
        time_left: deletion_date.map(|date| time_left(date, facts.now)),
        multi_region: described.map(|d| d.multi_region),
    }
}

fn lookup_detail(lookup: &KeyLookup) -> String {
    match lookup {
        KeyLookup::Described(d) => match &d.aliases {
            Ok(_) => "DescribeKey and ListAliases answered".to_owned(),
            Err(why) => format!("DescribeKey answered; ListAliases failed: {why}"),
        },
        KeyLookup::NotLookedUp(why) => format!("not looked up: {why}"),
        KeyLookup::Failed(why) => format!("DescribeKey failed: {why}"),
    }
}

/// The secrets, each once (a listed one with what `ListSecrets` says), whether `ListSecrets`
/// was read, and a sentence on how far the list can be trusted.
fn encrypted_secrets(secrets: &EncryptedSecrets) -> (Vec<EncryptedSecretPart>, bool, String) {
    let mut by_arn: BTreeMap<String, EncryptedSecretPart> = BTreeMap::new();
    for arn in &secrets.from_uses {
        let arn = clean_text(arn, ID_CHARS);
        by_arn.entry(arn.clone()).or_insert(EncryptedSecretPart {
            arn,
            name: None,
            found_by: "use",
            pending_deletion: None,
        });
    }
    let (listed, detail) = match &secrets.listed {
        Some(Ok(listed)) => {
            for secret in listed {
                let arn = clean_text(&secret.arn, ID_CHARS);
                by_arn.insert(
                    arn.clone(),
                    EncryptedSecretPart {
                        arn,
                        name: Some(clean_text(&secret.name, FIELD_CHARS)),
                        found_by: "list_secrets",
                        pending_deletion: Some(secret.pending_deletion),
                    },
                );
            }
            (
                true,
                "ListSecrets in the key's account and region was read whole".to_owned(),
            )
        }
        Some(Err(why)) => (
            false,
            format!(
                "ListSecrets could not be read ({why}): more secrets than these may be \
                 encrypted under the key"
            ),
        ),
        None => (
            false,
            "ListSecrets was not read: more secrets than these may be encrypted under the key"
                .to_owned(),
        ),
    };
    (by_arn.into_values().collect(), listed, detail)
}

/// The uses per caller (the role, not the session), most uses first.
fn readers(facts: &KeyFacts<'_>) -> Vec<ReaderPart> {
    let mut by_caller: BTreeMap<CallerKey, ReaderPart> = BTreeMap::new();
    for (key_use, origin) in facts.uses {
        let access = access_of(key_use, origin);
        let workload = classify(&access);
        let caller = CallerKey::of(&access.who);
        let reader = by_caller
            .entry(caller.clone())
            .or_insert_with(|| ReaderPart {
                workload: WorkloadPart {
                    kind: workload.kind,
                    name: clean_text(&workload.name, FIELD_CHARS),
                    confidence: workload.confidence,
                },
                caller: clean_text(caller.as_str(), ID_CHARS),
                uses: 0,
                operations: Vec::new(),
                first_use: None,
                last_use: None,
                source_ips: Vec::new(),
                through_secrets_manager: false,
                deleter: false,
            });
        reader.uses += 1;
        let operation = clean_text(&key_use.operation, FIELD_CHARS);
        if !reader.operations.contains(&operation) {
            reader.operations.push(operation);
        }
        if let Some(time) = key_use.event_time.as_deref().map(|t| clean_text(t, 64)) {
            if reader.first_use.as_ref().is_none_or(|first| &time < first) {
                reader.first_use = Some(time.clone());
            }
            if reader.last_use.as_ref().is_none_or(|last| &time > last) {
                reader.last_use = Some(time);
            }
        }
        // A call Secrets Manager made carries the service's name, not the caller's address.
        if let Some(ip) = access.source_ip_address.as_deref() {
            let ip = clean_text(ip, 64);
            if reader.source_ips.len() < 5 && !reader.source_ips.contains(&ip) {
                reader.source_ips.push(ip);
            }
        }
        reader.through_secrets_manager |= key_use.through_secrets_manager.is_some();
    }
    let mut readers: Vec<ReaderPart> = by_caller.into_values().collect();
    readers.sort_by_key(|r| std::cmp::Reverse(r.uses));
    readers
}

/// The callers of the look-back before a scheduling, most uses first (the deleter named so).
fn readers_before(scheduling: &KeyScheduling) -> Vec<ReaderPart> {
    let mut readers: Vec<ReaderPart> = scheduling
        .uses
        .readers
        .iter()
        .map(|(reader, uses)| ReaderPart {
            workload: WorkloadPart {
                kind: reader.kind,
                name: reader.name.clone(),
                confidence: reader.confidence,
            },
            caller: reader.caller.clone(),
            uses: uses.reads as usize,
            operations: Vec::new(),
            first_use: uses.first_read.map(rfc3339),
            last_use: uses.last_read.map(rfc3339),
            source_ips: uses.source_ips.iter().take(5).cloned().collect(),
            through_secrets_manager: false,
            deleter: reader.caller == scheduling.deleter,
        })
        .collect();
    readers.sort_by_key(|r| std::cmp::Reverse(r.uses));
    readers
}

/// The same on every try of the same batch: the key and its uses' event ids; for a
/// scheduling, the key and the scheduling's record (its event id and deleter).
fn dedup_key(facts: &KeyFacts<'_>) -> String {
    let identity = key_identity(facts.key, facts.place);
    match (facts.scheduling, facts.scheduled_by) {
        (Some(_), ScheduledBy::Found(seen)) => key_dedup_key(
            &format!(
                "{KEY_SCHEDULED_KIND}\0{identity}\0{}\0{}",
                seen.event_id.as_deref().unwrap_or("-"),
                seen.by_arn.as_deref().unwrap_or("-")
            ),
            &[],
        ),
        _ => key_dedup_key(&identity, facts.uses),
    }
}
