//! Whether a KMS key's deletion is cancelled, and whether Event history's record of a key use
//! is that use (#45). Pure: the key's state, tags and scheduler in, the decision out; the
//! handler's side ([`crate::key_check`]) asks Event history and calls KMS.
//!
//! The same guards as a secret's restore: `RESTORE_MODE` (`off`, `tagged` on the key's own
//! `RESTORE_TAG_KEY=true` tag, `all`); never an intended deletion (the key tagged
//! `secret-deletion-alerts:deletion-intended=true`, or scheduled by one of
//! `INTENDED_DELETERS`, or scheduled by someone unknown while `INTENDED_DELETERS` is set);
//! never on the log group's word (a use Event history confirms, unless `VERIFY_READS=off`).
//! `CancelKeyDeletion` leaves the key disabled; `EnableKey` follows only under
//! `KMS_ENABLE_AFTER_CANCEL=true`.

use std::time::{Duration, SystemTime};

use crate::cloudtrail::CloudTrailRecord;
use crate::key_state::{KeyLookup, ScheduledBy};
use crate::key_use::{KeyNamed, KeyUse, key_use_in};
use crate::restore::{DELETION_INTENDED_TAG, RestorePolicy};
use crate::verification::{MAX_READ_AGE, parse_event_time};

/// The longest waiting period KMS allows: a use older than the deletion date less this is from
/// another scheduling.
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// What became of the key's deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRestoreOutcome {
    /// `CancelKeyDeletion` succeeded; `enabled`: `EnableKey` did too.
    Cancelled {
        enabled: bool,
    },
    /// Cancelled, but `EnableKey` failed: the key is disabled.
    CancelledNotEnabled(String),
    /// Left pending deletion: why (the policy, a tag, a lookup).
    NotCancelled(String),
    /// The policy would cancel, but Event history did not confirm a use: why.
    Unverified(String),
    /// The deletion is meant to stick: why.
    DeletionIntended(String),
    /// The key is no longer pending deletion (cancelled since, perhaps by an earlier try).
    NoLongerPending,
    Failed(String),
}

impl KeyRestoreOutcome {
    /// A stable machine name for the document.
    pub fn kind(&self) -> &'static str {
        match self {
            KeyRestoreOutcome::Cancelled { enabled: true } => "cancelled_and_enabled",
            KeyRestoreOutcome::Cancelled { enabled: false } => "cancelled",
            KeyRestoreOutcome::CancelledNotEnabled(_) => "cancelled_not_enabled",
            KeyRestoreOutcome::NotCancelled(_) => "not_cancelled",
            KeyRestoreOutcome::Unverified(_) => "not_cancelled_unverified",
            KeyRestoreOutcome::DeletionIntended(_) => "deletion_intended",
            KeyRestoreOutcome::NoLongerPending => "no_longer_pending",
            KeyRestoreOutcome::Failed(_) => "failed",
        }
    }

    /// A sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            KeyRestoreOutcome::Cancelled { enabled: true } => {
                "cancelled by this function, and the key enabled again (KMS_ENABLE_AFTER_CANCEL)"
                    .to_owned()
            }
            KeyRestoreOutcome::Cancelled { enabled: false } => {
                "cancelled by this function; the key is now DISABLED: enable it where it is still \
                 needed (KMS_ENABLE_AFTER_CANCEL=true does it)"
                    .to_owned()
            }
            KeyRestoreOutcome::CancelledNotEnabled(why) => {
                format!(
                    "cancelled by this function, but EnableKey failed ({why}): the key is DISABLED"
                )
            }
            KeyRestoreOutcome::NotCancelled(why) => format!("not cancelled ({why})"),
            KeyRestoreOutcome::Unverified(why) => format!("not cancelled: {why}"),
            KeyRestoreOutcome::DeletionIntended(why) => {
                format!("not cancelled: the deletion is intended ({why})")
            }
            KeyRestoreOutcome::NoLongerPending => {
                "no longer pending deletion: cancelled after the use (by an earlier try of this \
                 function, or by someone else)"
                    .to_owned()
            }
            KeyRestoreOutcome::Failed(why) => format!("CancelKeyDeletion failed: {why}"),
        }
    }

    /// Whether the key's deletion was cancelled here.
    pub fn cancelled(&self) -> bool {
        matches!(
            self,
            KeyRestoreOutcome::Cancelled { .. } | KeyRestoreOutcome::CancelledNotEnabled(_)
        )
    }
}

/// The policy's verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// Confirm a use in Event history, then call `CancelKeyDeletion` on this key id.
    Cancel {
        key_id: String,
    },
    Skip(KeyRestoreOutcome),
}

/// Decides whether to cancel the deletion of the key `lookup` describes, scheduled as
/// `scheduled_by` says. Only a key `DescribeKey` showed pending deletion, whose tags were
/// read, is ever cancelled: a tag that could not be read could be the one that says the
/// deletion is intended.
pub fn decide_key(
    policy: &RestorePolicy,
    lookup: &KeyLookup,
    scheduled_by: &ScheduledBy,
    intended_deleters: &[glob::Pattern],
) -> KeyDecision {
    let skip = |why: &str| KeyDecision::Skip(KeyRestoreOutcome::NotCancelled(why.to_owned()));
    if *policy == RestorePolicy::Off {
        return skip("policy: off");
    }
    let Some(key) = lookup.description() else {
        return skip("the key was not looked up");
    };
    if !matches!(
        key.state.as_str(),
        "PendingDeletion" | "PendingReplicaDeletion"
    ) {
        return KeyDecision::Skip(KeyRestoreOutcome::NoLongerPending);
    }
    let tags = match &key.tags {
        Ok(tags) => tags,
        Err(why) => return skip(&format!("the key's tags could not be read: {why}")),
    };
    let tagged = |name: &str| {
        tags.iter()
            .any(|(k, v)| k == name && v.trim().eq_ignore_ascii_case("true"))
    };
    if tagged(DELETION_INTENDED_TAG) {
        return KeyDecision::Skip(KeyRestoreOutcome::DeletionIntended(format!(
            "the key is tagged {DELETION_INTENDED_TAG}=true"
        )));
    }
    if !intended_deleters.is_empty() {
        let deleter = match scheduled_by {
            ScheduledBy::Found(seen) => seen.by_arn.as_deref(),
            ScheduledBy::Unknown(_) => None,
        };
        match deleter {
            None => {
                return skip(
                    "INTENDED_DELETERS is set and who scheduled the deletion is not known",
                );
            }
            Some(arn) => {
                if let Some(glob) = intended_deleters.iter().find(|glob| glob.matches(arn)) {
                    return KeyDecision::Skip(KeyRestoreOutcome::DeletionIntended(format!(
                        "scheduled by {arn}, which INTENDED_DELETERS names ({})",
                        glob.as_str()
                    )));
                }
            }
        }
    }
    if let RestorePolicy::Tagged { tag_key } = policy
        && !tagged(tag_key)
    {
        return skip("not tagged");
    }
    KeyDecision::Cancel {
        key_id: key.key_id.clone(),
    }
}

/// Whether Event history's record (`history_record`) of `key_use`'s event id is that use of
/// the key `key_arn`, now: the rule's refusal, the same id, the same key, account, region,
/// identity, address and user agent, after `scheduled_after` and within
/// [`MAX_READ_AGE`] of `now`. `Err` says what differs.
pub fn confirms_key_use(
    key_use: &KeyUse,
    key_arn: &str,
    history_record: &str,
    scheduled_after: Option<SystemTime>,
    now: SystemTime,
) -> Result<(), String> {
    let record: CloudTrailRecord = serde_json::from_str(history_record)
        .map_err(|e| format!("its record is not a CloudTrail record: {e}"))?;
    if record.event_id.as_deref() != key_use.event_id.as_deref() {
        return Err(format!(
            "event id {}",
            record.event_id.as_deref().unwrap_or("(none)")
        ));
    }
    let Some(held) = key_use_in(&record, history_record) else {
        return Err(format!(
            "{} from {}: not a use of a key pending deletion",
            record.event_name.as_deref().unwrap_or("(no event name)"),
            record.event_source.as_deref().unwrap_or("(no source)")
        ));
    };
    let same_key = match &held.key {
        KeyNamed::Arn { arn, .. } => arn == key_arn,
        _ => false,
    };
    if !same_key {
        return Err(format!(
            "another key ({})",
            held.key.arn().unwrap_or("not named by its ARN")
        ));
    }
    let same = [
        (
            "account",
            held.recipient_account_id.as_deref(),
            key_use.recipient_account_id.as_deref(),
        ),
        (
            "region",
            held.aws_region.as_deref(),
            key_use.aws_region.as_deref(),
        ),
        ("identity", held.who.arn(), key_use.who.arn()),
        (
            "source address",
            held.source_ip_address.as_deref(),
            key_use.source_ip_address.as_deref(),
        ),
        (
            "user agent",
            held.user_agent.as_deref(),
            key_use.user_agent.as_deref(),
        ),
    ];
    if let Some((field, history, copy)) = same.iter().find(|(_, history, copy)| history != copy) {
        return Err(format!(
            "the log group's copy has another {field} ({} in Event history, {} in the copy): re-dressed",
            history.unwrap_or("none"),
            copy.unwrap_or("none")
        ));
    }
    let Some(at) = held.event_time.as_deref().and_then(parse_event_time) else {
        return Err("its eventTime cannot be read".to_owned());
    };
    if let Some(scheduled) = scheduled_after
        && at < scheduled
    {
        return Err(format!(
            "the use is from {}, before the current deletion was scheduled ({}): a replay",
            humantime::format_rfc3339_seconds(at),
            humantime::format_rfc3339_seconds(scheduled)
        ));
    }
    if now.duration_since(at).is_ok_and(|age| age > MAX_READ_AGE) {
        return Err(format!(
            "the use is from {}, more than {} ago",
            humantime::format_rfc3339_seconds(at),
            humantime::format_duration(MAX_READ_AGE)
        ));
    }
    Ok(())
}

/// When the current deletion was scheduled: its `ScheduleKeyDeletion`, else the earliest it
/// can have been (the deletion date less the longest waiting period).
pub fn scheduled_after(lookup: &KeyLookup, scheduled_by: &ScheduledBy) -> Option<SystemTime> {
    let found = match scheduled_by {
        ScheduledBy::Found(seen) => seen.at.as_deref().and_then(parse_event_time),
        ScheduledBy::Unknown(_) => None,
    };
    found.or_else(|| {
        lookup
            .deletion_date()
            .and_then(|date| date.checked_sub(LONGEST_WAIT))
    })
}

#[cfg(test)]
mod tests;
