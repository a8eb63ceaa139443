//! The moment a deletion is scheduled (`ON_SCHEDULE`): a successful `DeleteSecret` in a batch,
//! confirmed by CloudTrail Event history, and `check`'s question asked of Event history for
//! the days before it: who still reads the secret. Pure: the handler's side
//! (`crate::schedule_check`) confirms, looks back, looks up and cancels through the ports;
//! this module says what the answers mean ([`Guard`], [`ScheduledSeverity`]) and writes the
//! alert ([`compose_scheduled`], `docs/scheduled-v1.schema.json`).
//!
//! Nothing a caller chooses decides a cancellation: only a deletion Event history confirms,
//! and reads Event history holds, by a caller that is neither the deleter nor a reader the
//! operator's rules expect (matched on what the caller cannot choose, [`crate::expected`]).

mod chat;
mod compose;
mod document;
mod email;
mod finding;

use std::time::{Duration, SystemTime};

use crate::cloudtrail::CloudTrailRecord;
use crate::deletion::{DeletionSeen, seen_in};
use crate::restore::{Intent, SecretState};
use crate::usage::report::label;
use crate::usage::{ReaderKey, SecretReads, Verdict};
use crate::workload::WorkloadKind;

pub use chat::SCHEDULED_CHAT_EVENT_TYPE;
pub use compose::{ScheduledAlert, ScheduledFacts, compose_scheduled};
pub use document::{SCHEDULED_SCHEMA, ScheduledDocument};
pub use finding::{SCHEDULED_FINDING_TYPE, SCHEDULED_GENERATOR_ID};

/// `SCHEDULE_CHECK_DAYS`: how far back the look-back goes unless told otherwise.
pub const DEFAULT_CHECK_DAYS: u64 = 7;
/// Event history keeps 90 days: a longer look-back could never be complete.
pub const MAX_CHECK_DAYS: u64 = 90;

/// `ON_SCHEDULE`: what the function does when a deletion is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSchedule {
    /// Nothing: `DeleteSecret` records are counted and left.
    Off,
    /// One alert per deletion, naming who read the secret in the window.
    Alert,
    /// The alert, and the deletion cancelled when an unexpected reader read it in the window.
    Guard,
}

impl OnSchedule {
    /// The setting's value, as `ON_SCHEDULE` spells it (case and spaces aside).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(OnSchedule::Off),
            "alert" => Some(OnSchedule::Alert),
            "guard" => Some(OnSchedule::Guard),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OnSchedule::Off => "off",
            OnSchedule::Alert => "alert",
            OnSchedule::Guard => "guard",
        }
    }
}

/// What Event history said of the secret's reads in the window before the deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookBack {
    pub from: SystemTime,
    pub to: SystemTime,
    pub reads: SecretReads,
    /// `GetSecretValue` records read, of any secret.
    pub records: u64,
    /// Every page of the window was read.
    pub complete: bool,
    /// When not complete: the oldest record read (pages come newest first), so the window
    /// from `from` to here was not read.
    pub reached: Option<SystemTime>,
    /// When not complete: why the look-back stopped (the budget, an error).
    pub stopped: Option<String>,
}

impl LookBack {
    /// Nothing could be read (no Event history, a failed lookup): unknown, saying why.
    pub fn unread(from: SystemTime, to: SystemTime, why: String) -> Self {
        LookBack {
            from,
            to,
            reads: SecretReads::default(),
            records: 0,
            complete: false,
            reached: None,
            stopped: Some(why),
        }
    }

    /// `in_use` when any read was seen (however far the pages went), `no_reads_seen` only
    /// when the whole window was read, else `unknown`.
    pub fn verdict(&self) -> Verdict {
        if self.reads.reads() > 0 {
            Verdict::InUse
        } else if self.complete {
            Verdict::NoReadsSeen
        } else {
            Verdict::Unknown
        }
    }

    /// The readers a cancellation or a HIGH rests on: neither expected nor the deleter.
    pub fn unexpected_readers<'a>(
        &'a self,
        deleter: &'a str,
    ) -> impl Iterator<Item = (&'a ReaderKey, u64)> + 'a {
        self.reads
            .readers
            .iter()
            .filter(move |(key, _)| key.expected.is_none() && !is_excused_deleter(key, deleter))
            .map(|(key, reads)| (key, reads.reads))
    }

    /// Reads by anyone but the deleter themselves (expected readers included: they break too).
    pub fn reads_by_others(&self, deleter: &str) -> u64 {
        self.reads
            .readers
            .iter()
            .filter(|(key, _)| !is_excused_deleter(key, deleter))
            .map(|(_, reads)| reads.reads)
            .sum()
    }
}

/// Whether `reader` is who scheduled the deletion (by caller key: the role, not the session).
pub fn is_deleter(reader: &ReaderKey, deleter: &str) -> bool {
    !deleter.is_empty() && reader.caller == deleter
}

/// Whether the deleter's reads are left out of what makes the alert loud and the guard act:
/// only a person's (a user, an Identity Center or federated session, the console). A
/// workload's role that deleted its own secret still breaks when it reads it, and someone who
/// deletes through a workload's role must not have that workload's reads excused.
pub fn is_excused_deleter(reader: &ReaderKey, deleter: &str) -> bool {
    is_deleter(reader, deleter)
        && matches!(
            reader.kind,
            WorkloadKind::Person
                | WorkloadKind::Console
                | WorkloadKind::Cloudshell
                | WorkloadKind::IamUser
                | WorkloadKind::Root
        )
}

/// Whether CloudTrail Event history holds the deletion as the batch gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    Confirmed {
        event_id: String,
    },
    /// Asked, and Event history did not hold it, or held something else: why.
    NotConfirmed(String),
    /// Not asked: why (no event id, no Event history here).
    NotChecked(String),
}

impl Confirmation {
    pub fn is_confirmed(&self) -> bool {
        matches!(self, Confirmation::Confirmed { .. })
    }

    /// `confirmed`, `not_confirmed` or `not_checked`, as read alerts say it.
    pub fn status(&self) -> &'static str {
        match self {
            Confirmation::Confirmed { .. } => "confirmed",
            Confirmation::NotConfirmed(_) => "not_confirmed",
            Confirmation::NotChecked(_) => "not_checked",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Confirmation::Confirmed { event_id } => {
                format!("confirmed by CloudTrail Event history (event {event_id})")
            }
            Confirmation::NotConfirmed(why) => format!("not confirmed: {why}"),
            Confirmation::NotChecked(why) => format!("not checked: {why}"),
        }
    }
}

/// Whether `history_record` (Event history's record of the batch's event id) is the deletion
/// `seen`: the same event, a successful `DeleteSecret` of the same secret, by the same
/// caller, in the same account and region. `Err(what differs)`.
pub fn confirms(seen: &DeletionSeen, history_record: &str) -> Result<(), String> {
    let record: CloudTrailRecord = serde_json::from_str(history_record)
        .map_err(|e| format!("its record is not a CloudTrail record: {e}"))?;
    let Some(held) = seen_in(&record, history_record) else {
        return Err(format!(
            "it is {} from {}{}",
            record.event_name.as_deref().unwrap_or("(no event name)"),
            record.event_source.as_deref().unwrap_or("(no source)"),
            record
                .error_code
                .as_deref()
                .map_or(String::new(), |code| format!(", failed ({code})"))
        ));
    };
    let differs = [
        (
            "event id",
            held.event_id.as_deref(),
            seen.event_id.as_deref(),
        ),
        (
            "account",
            held.account_id.as_deref(),
            seen.account_id.as_deref(),
        ),
        ("region", held.region.as_deref(), seen.region.as_deref()),
        (
            "secret",
            held.secret_id.as_deref(),
            seen.secret_id.as_deref(),
        ),
        ("secret ARN", held.arn.as_deref(), seen.arn.as_deref()),
        (
            "caller",
            held.deletion.by_arn.as_deref(),
            seen.deletion.by_arn.as_deref(),
        ),
        (
            "time",
            held.deletion.at.as_deref(),
            seen.deletion.at.as_deref(),
        ),
    ]
    .into_iter()
    .filter(|(_, history, batch)| history != batch)
    .map(|(what, history, _)| format!("{what} {}", history.unwrap_or("(none)")))
    .collect::<Vec<_>>();
    if differs.is_empty() {
        Ok(())
    } else {
        Err(format!("Event history holds {}", differs.join(", ")))
    }
}

/// What the guard did with the deletion (`ON_SCHEDULE=guard`), or why it left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// `ON_SCHEDULE=alert`: the guard is not on.
    Off,
    /// Cancelled (`RestoreSecret`): who read it.
    Cancelled { because: String },
    /// Left: nobody but expected readers and the deleter read it in the window.
    NotNeeded,
    /// Left: the deletion is not confirmed by Event history.
    Unconfirmed,
    /// Left: the look-back could not tell (`unknown`).
    Unknown,
    /// Left: the deletion is meant to stick (the tag, `INTENDED_DELETERS`).
    Intended(String),
    /// Left: `INTENDED_DELETERS` is set and the deleter has no ARN to match.
    IntentUnknown,
    /// Forced (`ForceDeleteWithoutRecovery`): already gone, nothing to cancel.
    Forced,
    /// Left: the secret is no longer pending deletion (cancelled since, or purged).
    NotPending(&'static str),
    /// Left: the secret could not be looked up (or not here): why.
    NotLookedUp(String),
    /// A dry run: what the guard would do.
    DryRun(String),
    /// `RestoreSecret` failed: why.
    Failed(String),
}

impl Guard {
    /// A stable machine name, for the document's `restore_outcome.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Guard::Off => "guard_off",
            Guard::Cancelled { .. } => "restored",
            Guard::NotNeeded => "not_needed",
            Guard::Unconfirmed => "not_restored_unverified",
            Guard::Unknown => "not_restored_unknown",
            Guard::Intended(_) | Guard::IntentUnknown => "deletion_intended",
            Guard::Forced => "forced_deletion",
            Guard::NotPending(_) => "no_longer_pending",
            Guard::NotLookedUp(_) => "not_looked_up",
            Guard::DryRun(_) => "dry_run",
            Guard::Failed(_) => "failed",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Guard::Off => "not cancelled: the guard is off (ON_SCHEDULE=alert)".to_owned(),
            Guard::Cancelled { because } => format!("deletion CANCELLED: {because}"),
            Guard::NotNeeded => {
                "not cancelled: no reader but expected ones and the deleter".to_owned()
            }
            Guard::Unconfirmed => {
                "not cancelled: CloudTrail Event history did not confirm the deletion".to_owned()
            }
            Guard::Unknown => {
                "not cancelled: the look-back could not tell whether the secret is in use"
                    .to_owned()
            }
            Guard::Intended(why) => format!("not cancelled: the deletion is intended ({why})"),
            Guard::IntentUnknown => "not cancelled: INTENDED_DELETERS is set and the deleter \
                                     has no ARN to match"
                .to_owned(),
            Guard::Forced => "not cancelled: deleted without a recovery window, the secret is \
                              already gone"
                .to_owned(),
            Guard::NotPending(state) => format!("not cancelled: the secret is {state}"),
            Guard::NotLookedUp(why) => format!("not cancelled: {why}"),
            Guard::DryRun(what) => format!("dry run: {what}"),
            Guard::Failed(why) => format!("cancelling FAILED: {why}"),
        }
    }
}

/// Whether the guard cancels the deletion of `state`: `Ok(because)` to cancel, else what it
/// leaves and why. Only a confirmed deletion, only a look-back that saw a reader who is
/// neither expected nor the deleter, never an intended deletion.
pub fn guard_decision(
    on_schedule: OnSchedule,
    seen: &DeletionSeen,
    confirmation: &Confirmation,
    look_back: &LookBack,
    state: &SecretState,
    intended_deleters: &[glob::Pattern],
    now: SystemTime,
) -> Result<String, Guard> {
    if on_schedule != OnSchedule::Guard {
        return Err(Guard::Off);
    }
    if seen.deletion.force {
        return Err(Guard::Forced);
    }
    if !confirmation.is_confirmed() {
        return Err(Guard::Unconfirmed);
    }
    let deleter = seen.deleter.as_str();
    let busiest = look_back
        .unexpected_readers(deleter)
        .max_by_key(|(_, reads)| *reads);
    let Some((reader, reads)) = busiest else {
        return Err(match look_back.verdict() {
            Verdict::Unknown => Guard::Unknown,
            _ => Guard::NotNeeded,
        });
    };
    match state {
        SecretState::PendingDeletion { .. } => {}
        SecretState::NotPendingDeletion { .. } => {
            return Err(Guard::NotPending("no longer pending deletion"));
        }
        SecretState::Purged => return Err(Guard::NotPending("already purged")),
        SecretState::DryRun => {
            return Err(Guard::DryRun(format!(
                "would cancel the deletion: {} read it",
                reader.caller
            )));
        }
        other => return Err(Guard::NotLookedUp(other.describe(now))),
    }
    match crate::restore::intent(state, seen.deletion.by_arn.as_deref(), intended_deleters) {
        Intent::Intended(why) => Err(Guard::Intended(why)),
        Intent::Unknown => Err(Guard::IntentUnknown),
        Intent::NotIntended => Ok(format!(
            "{} ({} {}) read it {reads} time{} in the window, and is neither expected nor \
             the deleter",
            reader.caller,
            label(reader.kind),
            reader.name,
            if reads == 1 { "" } else { "s" }
        )),
    }
}

/// How loud the alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScheduledSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl ScheduledSeverity {
    /// CRITICAL: deleted without recovery while others read it (it is already gone); HIGH:
    /// an unexpected reader in the window; LOW: nobody but expected readers and the deleter,
    /// with the window read whole; MEDIUM: the look-back could not tell.
    pub fn of(seen: &DeletionSeen, look_back: &LookBack) -> Self {
        let deleter = seen.deleter.as_str();
        if seen.deletion.force && look_back.reads_by_others(deleter) > 0 {
            ScheduledSeverity::Critical
        } else if look_back.unexpected_readers(deleter).next().is_some() {
            ScheduledSeverity::High
        } else if look_back.complete {
            ScheduledSeverity::Low
        } else {
            ScheduledSeverity::Medium
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScheduledSeverity::Low => "low",
            ScheduledSeverity::Medium => "medium",
            ScheduledSeverity::High => "high",
            ScheduledSeverity::Critical => "critical",
        }
    }
}

/// The look-back's window: the `days` before the deletion was scheduled (or before `now`,
/// when the record gives no time).
pub fn window_before(seen: &DeletionSeen, days: u64, now: SystemTime) -> (SystemTime, SystemTime) {
    window_before_time(seen.deletion.at.as_deref(), days, now)
}

/// The `days` before a deletion scheduled `at` (as CloudTrail wrote its time; `now` when it
/// cannot be read, or lies in the future), a secret's or a key's.
pub fn window_before_time(
    at: Option<&str>,
    days: u64,
    now: SystemTime,
) -> (SystemTime, SystemTime) {
    let to = at
        .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
        .filter(|at| *at <= now)
        .unwrap_or(now);
    let from = to
        .checked_sub(Duration::from_secs(days.saturating_mul(24 * 3600)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    (from, to)
}

#[cfg(test)]
mod tests;
