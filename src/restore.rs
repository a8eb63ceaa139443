//! What Secrets Manager says about a secret that was read, whether to cancel its deletion, and
//! how urgent the alert is. Pure: the adapters fetch the state, this module decides.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Below this much time before the purge an alert is `critical`.
pub const CRITICAL_WITHIN: Duration = Duration::from_secs(48 * 3600);

/// `RESTORE_MODE`: the operator's policy for cancelling a scheduled deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Never restore; the alert carries the ready `restore-secret` command.
    Off,
    /// Restore only secrets tagged `tag_key` = `true`.
    Tagged { tag_key: String },
    /// Restore every secret pending deletion that is read.
    All,
}

impl RestorePolicy {
    pub fn name(&self) -> &'static str {
        match self {
            RestorePolicy::Off => "off",
            RestorePolicy::Tagged { .. } => "tagged",
            RestorePolicy::All => "all",
        }
    }
}

/// What `DescribeSecret` told us, or why we could not ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    PendingDeletion {
        arn: String,
        name: String,
        deletion_date: SystemTime,
        tags: Vec<(String, String)>,
    },
    /// Described, but not scheduled for deletion: restored since (perhaps by an earlier try
    /// of this same batch).
    NotPendingDeletion {
        arn: String,
        name: String,
        tags: Vec<(String, String)>,
    },
    /// `ResourceNotFoundException`: the recovery window is over (or it was force-deleted).
    Purged,
    /// The secret is in another account than the function's, and the function may not act
    /// there (`why`).
    OtherAccount {
        secret_account: String,
        function_account: String,
        why: OtherAccountReason,
    },
    LookupFailed {
        reason: String,
        cause: LookupFailure,
    },
    /// Not asked: a region that is not a region name, another reason given.
    NotLookedUp { reason: String },
    /// A dry run's adapter looked nothing up ([`crate::dry_run`]).
    DryRun,
    /// The CloudTrail record names no secret, so there is nothing to look up or restore,
    /// and nothing may be called purged.
    NotNamed,
}

/// Why a secret of another account was not looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherAccountReason {
    /// `MEMBER_ROLE_NAME` is not set: the function acts in its own account only.
    NoMemberRole,
    /// The account is not in `ACCOUNTS`.
    NotInAccounts,
    /// The record's account id is not the 12 digits AWS writes.
    Unreadable,
}

impl OtherAccountReason {
    pub fn describe(self) -> &'static str {
        match self {
            OtherAccountReason::NoMemberRole => {
                "set MEMBER_ROLE_NAME (and deploy member-role.yaml) to look up and restore across an organization"
            }
            OtherAccountReason::NotInAccounts => {
                "the account is not in ACCOUNTS, the accounts this function may act in"
            }
            OtherAccountReason::Unreadable => {
                "the account id is not the 12 digits AWS writes: nothing is looked up, restored or sent there"
            }
        }
    }
}

/// Why a lookup failed, which decides what the rest of the batch skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFailure {
    /// Secrets Manager answered with an error (no permission, throttling after retries).
    Refused,
    /// Secrets Manager could not be reached at all (timeout, connection refused): later
    /// lookups in the batch are skipped.
    Unreachable,
    /// The member role of the secret's account could not be assumed: later lookups in that
    /// account are skipped.
    MemberRole,
}

impl SecretState {
    pub fn arn(&self) -> Option<&str> {
        match self {
            SecretState::PendingDeletion { arn, .. }
            | SecretState::NotPendingDeletion { arn, .. } => Some(arn),
            _ => None,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            SecretState::PendingDeletion { name, .. }
            | SecretState::NotPendingDeletion { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn deletion_date(&self) -> Option<SystemTime> {
        match self {
            SecretState::PendingDeletion { deletion_date, .. } => Some(*deletion_date),
            _ => None,
        }
    }

    fn tag(&self, key: &str) -> Option<&str> {
        match self {
            SecretState::PendingDeletion { tags, .. }
            | SecretState::NotPendingDeletion { tags, .. } => {
                tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
            }
            _ => None,
        }
    }

    /// A sentence for a person.
    pub fn describe(&self, now: SystemTime) -> String {
        match self {
            SecretState::PendingDeletion { deletion_date, .. } => format!(
                "scheduled for deletion on {} ({})",
                humantime::format_rfc3339_seconds(*deletion_date),
                time_left(*deletion_date, now)
            ),
            SecretState::NotPendingDeletion { .. } => {
                "no longer scheduled for deletion: the deletion was cancelled after the read \
                 (by this function on an earlier try of this batch, or by someone else)"
                    .to_owned()
            }
            SecretState::Purged => {
                "already purged: Secrets Manager no longer knows it, it cannot be restored"
                    .to_owned()
            }
            SecretState::OtherAccount {
                secret_account,
                function_account,
                why,
            } => format!(
                "not looked up: the secret is in account {secret_account}, this function runs in {function_account}; {}",
                why.describe()
            ),
            SecretState::LookupFailed { reason, .. } => format!("lookup failed: {reason}"),
            SecretState::NotLookedUp { reason } => format!("not looked up: {reason}"),
            SecretState::DryRun => "not looked up: dry run".to_owned(),
            SecretState::NotNamed => "unknown: the CloudTrail record does not name the secret \
                 (no requestParameters.secretId, no secret in resources[])"
                .to_owned(),
        }
    }

    /// A stable machine name for the JSON document.
    pub fn kind(&self) -> &'static str {
        match self {
            SecretState::PendingDeletion { .. } => "pending_deletion",
            SecretState::NotPendingDeletion { .. } => "not_pending_deletion",
            SecretState::Purged => "purged",
            SecretState::OtherAccount { .. } => "other_account",
            SecretState::LookupFailed { .. } => "lookup_failed",
            SecretState::NotLookedUp { .. } | SecretState::DryRun => "not_looked_up",
            SecretState::NotNamed => "not_named",
        }
    }
}

/// How long until `deletion_date`, for a person: "in 6 days 3 hours", "in 47 minutes",
/// "overdue by 2 hours".
pub fn time_left(deletion_date: SystemTime, now: SystemTime) -> String {
    match deletion_date.duration_since(now) {
        Ok(left) => format!("in {}", rough_duration(left)),
        Err(past) => format!("overdue by {}", rough_duration(past.duration())),
    }
}

fn rough_duration(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    let (days, hours, minutes) = (minutes / 1440, (minutes / 60) % 24, minutes % 60);
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, 0) => unit(minutes, "minute"),
        (0, _) => format!("{} {}", unit(hours, "hour"), unit(minutes, "minute")),
        _ => format!("{} {}", unit(days, "day"), unit(hours, "hour")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    High,
    Critical,
}

impl Severity {
    /// `critical` when the purge is less than 48 hours away or has happened; `high` otherwise
    /// (including when the date is unknown).
    pub fn of(state: &SecretState, now: SystemTime) -> Self {
        match state {
            SecretState::Purged => Severity::Critical,
            SecretState::PendingDeletion { deletion_date, .. }
                if deletion_date
                    .duration_since(now)
                    .map_or(true, |left| left < CRITICAL_WITHIN) =>
            {
                Severity::Critical
            }
            _ => Severity::High,
        }
    }

    /// The severity of an alert about `reads` of a secret in `state` with `outcome`: as
    /// [`Severity::of`], and `critical` when a deletion meant to stick is read by someone
    /// other than who scheduled it.
    pub fn of_alert<'r>(
        state: &SecretState,
        outcome: &RestoreOutcome,
        reads: impl IntoIterator<Item = &'r crate::detection::PendingDeletionAccess>,
        now: SystemTime,
    ) -> Self {
        match outcome {
            RestoreOutcome::DeletionIntended { deleter, .. }
                if reads
                    .into_iter()
                    .any(|read| deleter.is_none() || read.who.arn() != deleter.as_deref()) =>
            {
                Severity::Critical
            }
            _ => Severity::of(state, now),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The policy's verdict on one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreDecision {
    /// Call `RestoreSecret` on this ARN.
    Restore {
        arn: String,
    },
    Skip(RestoreOutcome),
}

/// What happened to the scheduled deletion; said plainly in the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreOutcome {
    Restored,
    Failed(String),
    NotRestored(NotRestoredReason),
    /// The secret was pending deletion when it was read, and is not any more: the deletion
    /// was cancelled after the read, by this function on an earlier try of the same batch or
    /// by someone else. Reported as itself so a retry never says the opposite of what the
    /// first try did.
    NoLongerPending,
    AlreadyPurged,
    /// A dry run: what the policy would do.
    DryRun(String),
    /// The policy would restore, but CloudTrail did not confirm the read (`VERIFY_READS`):
    /// a record in the log group alone never cancels a deletion. Why, for a person.
    Unverified(String),
    /// The policy would restore, but the deletion is meant to stick ([`Intent`]): scheduled by
    /// one of `INTENDED_DELETERS`, or the secret is tagged so. `deleter` is who scheduled it,
    /// when known: a read by anyone else is critical (it may be the credentials the deletion
    /// was meant to cut off).
    DeletionIntended {
        why: String,
        deleter: Option<String>,
    },
}

/// Why a deletion was left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRestoredReason {
    PolicyOff,
    NotTagged,
    OtherAccount,
    LookupFailed,
    NotLookedUp,
    SecretNotNamed,
}

impl NotRestoredReason {
    pub fn describe(self) -> &'static str {
        match self {
            NotRestoredReason::PolicyOff => "policy: off",
            NotRestoredReason::NotTagged => "not tagged",
            NotRestoredReason::OtherAccount => "secret in another account",
            NotRestoredReason::LookupFailed => "lookup failed",
            NotRestoredReason::NotLookedUp => "not looked up",
            NotRestoredReason::SecretNotNamed => "the record does not name the secret",
        }
    }
}

impl RestoreOutcome {
    /// The plain words for the subject and the text: `restored`, `not restored (policy: off)`,
    /// `not restored (not tagged)`, `failed: ...`, `already purged`.
    pub fn summary(&self) -> String {
        match self {
            RestoreOutcome::Restored => "restored".to_owned(),
            RestoreOutcome::Failed(reason) => format!("failed: {reason}"),
            RestoreOutcome::NotRestored(why) => format!("not restored ({})", why.describe()),
            RestoreOutcome::NoLongerPending => {
                "no longer pending deletion: cancelled after the read (by an earlier try of this \
                 function, or by someone else)"
                    .to_owned()
            }
            RestoreOutcome::AlreadyPurged => "already purged".to_owned(),
            RestoreOutcome::DryRun(what) => format!("dry run: {what}"),
            RestoreOutcome::Unverified(why) => format!("not restored: {why}"),
            RestoreOutcome::DeletionIntended { why, .. } => {
                format!("not restored: the deletion is intended ({why})")
            }
        }
    }

    /// A stable machine name for the JSON document and the message attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            RestoreOutcome::Restored => "restored",
            RestoreOutcome::Failed(_) => "failed",
            RestoreOutcome::NotRestored(_) => "not_restored",
            RestoreOutcome::NoLongerPending => "no_longer_pending",
            RestoreOutcome::AlreadyPurged => "already_purged",
            RestoreOutcome::DryRun(_) => "dry_run",
            RestoreOutcome::Unverified(_) => "not_restored_unverified",
            RestoreOutcome::DeletionIntended { .. } => "deletion_intended",
        }
    }
}

/// The tag that marks a deletion as meant to stick: no read cancels it.
pub const DELETION_INTENDED_TAG: &str = "secret-deletion-alerts:deletion-intended";

/// Whether a deletion is meant to stick, so that no read may cancel it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Why: the tag, or the deleter is one of `INTENDED_DELETERS`.
    Intended(String),
    NotIntended,
    /// `INTENDED_DELETERS` is set and who scheduled the deletion is not known: a restore could
    /// undo an intended deletion, so none is made.
    Unknown,
}

/// The intent of the deletion of `state`, scheduled by `deleter` (its ARN, when found),
/// against `INTENDED_DELETERS` (ARN globs). Pure.
pub fn intent(
    state: &SecretState,
    deleter: Option<&str>,
    intended_deleters: &[glob::Pattern],
) -> Intent {
    if state
        .tag(DELETION_INTENDED_TAG)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
    {
        return Intent::Intended(format!("the secret is tagged {DELETION_INTENDED_TAG}=true"));
    }
    if intended_deleters.is_empty() {
        return Intent::NotIntended;
    }
    match deleter {
        Some(arn) => match intended_deleters.iter().find(|glob| glob.matches(arn)) {
            Some(glob) => Intent::Intended(format!(
                "scheduled by {arn}, which INTENDED_DELETERS names ({})",
                glob.as_str()
            )),
            None => Intent::NotIntended,
        },
        None => Intent::Unknown,
    }
}

/// Decides whether to cancel the deletion. Restores only what `DescribeSecret` showed as still
/// scheduled for deletion, so a retried batch finds the secret restored and does nothing.
pub fn decide(policy: &RestorePolicy, state: &SecretState) -> RestoreDecision {
    use NotRestoredReason as Why;
    let skip = |why: Why| RestoreDecision::Skip(RestoreOutcome::NotRestored(why));
    match (policy, state) {
        (_, SecretState::Purged) => RestoreDecision::Skip(RestoreOutcome::AlreadyPurged),
        // Whatever the policy: a retry after a restore must say what happened, not "not restored".
        (_, SecretState::NotPendingDeletion { .. }) => {
            RestoreDecision::Skip(RestoreOutcome::NoLongerPending)
        }
        (_, SecretState::NotNamed) => skip(Why::SecretNotNamed),
        (policy, SecretState::DryRun) => RestoreDecision::Skip(dry_run_outcome(policy)),
        (RestorePolicy::Off, _) => skip(Why::PolicyOff),
        (_, SecretState::OtherAccount { .. }) => skip(Why::OtherAccount),
        (_, SecretState::LookupFailed { .. }) => skip(Why::LookupFailed),
        (_, SecretState::NotLookedUp { .. }) => skip(Why::NotLookedUp),
        (RestorePolicy::Tagged { tag_key }, SecretState::PendingDeletion { arn, .. }) => {
            if state
                .tag(tag_key)
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"))
            {
                RestoreDecision::Restore { arn: arn.clone() }
            } else {
                skip(Why::NotTagged)
            }
        }
        (RestorePolicy::All, SecretState::PendingDeletion { arn, .. }) => {
            RestoreDecision::Restore { arn: arn.clone() }
        }
    }
}

/// What a dry run reports instead of acting.
fn dry_run_outcome(policy: &RestorePolicy) -> RestoreOutcome {
    RestoreOutcome::DryRun(match policy {
        RestorePolicy::Off => "policy off, would not restore".to_owned(),
        RestorePolicy::Tagged { tag_key } => {
            format!("would restore if still scheduled for deletion and tagged {tag_key}=true")
        }
        RestorePolicy::All => "would restore if still scheduled for deletion".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn at(offset_hours: i64) -> SystemTime {
        let now = SystemTime::UNIX_EPOCH + NOW;
        if offset_hours >= 0 {
            now + Duration::from_secs(offset_hours as u64 * 3600)
        } else {
            now - Duration::from_secs(offset_hours.unsigned_abs() * 3600)
        }
    }

    fn pending(hours: i64, tags: &[(&str, &str)]) -> SecretState {
        SecretState::PendingDeletion {
            arn: "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf".into(),
            name: "db".into(),
            deletion_date: at(hours),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn severity_is_critical_within_48_hours_or_when_purged() {
        assert_eq!(Severity::of(&pending(47, &[]), at(0)), Severity::Critical);
        assert_eq!(Severity::of(&pending(49, &[]), at(0)), Severity::High);
        assert_eq!(Severity::of(&pending(-1, &[]), at(0)), Severity::Critical);
        assert_eq!(
            Severity::of(&SecretState::Purged, at(0)),
            Severity::Critical
        );
        let failed = SecretState::LookupFailed {
            reason: "x".into(),
            cause: LookupFailure::Refused,
        };
        assert_eq!(Severity::of(&failed, at(0)), Severity::High);
    }

    #[test]
    fn restores_only_when_policy_allows() {
        let tagged = RestorePolicy::Tagged {
            tag_key: "keep".into(),
        };
        let restore = RestoreDecision::Restore {
            arn: "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf".into(),
        };
        assert_eq!(decide(&RestorePolicy::All, &pending(100, &[])), restore);
        assert_eq!(decide(&tagged, &pending(100, &[("keep", "true")])), restore);
        assert_eq!(
            decide(&tagged, &pending(100, &[("keep", "TRUE ")])),
            restore
        );
        let summary = |d: RestoreDecision| match d {
            RestoreDecision::Skip(outcome) => outcome.summary(),
            other => panic!("expected a skip, got {other:?}"),
        };
        assert_eq!(
            summary(decide(&tagged, &pending(100, &[("keep", "no")]))),
            "not restored (not tagged)"
        );
        assert_eq!(
            summary(decide(&RestorePolicy::Off, &pending(100, &[]))),
            "not restored (policy: off)"
        );
        assert_eq!(
            summary(decide(&RestorePolicy::All, &SecretState::Purged)),
            "already purged"
        );
        let restored = SecretState::NotPendingDeletion {
            arn: "a".into(),
            name: "db".into(),
            tags: vec![],
        };
        for policy in [RestorePolicy::All, RestorePolicy::Off, tagged.clone()] {
            assert_eq!(
                decide(&policy, &restored),
                RestoreDecision::Skip(RestoreOutcome::NoLongerPending)
            );
        }
        assert_eq!(
            summary(decide(&RestorePolicy::All, &SecretState::NotNamed)),
            "not restored (the record does not name the secret)"
        );
    }

    #[test]
    fn a_secret_no_longer_pending_is_neither_critical_nor_purged() {
        let restored = SecretState::NotPendingDeletion {
            arn: "a".into(),
            name: "db".into(),
            tags: vec![],
        };
        assert_eq!(Severity::of(&restored, at(0)), Severity::High);
        assert!(
            restored
                .describe(at(0))
                .contains("cancelled after the read")
        );
        assert_eq!(RestoreOutcome::NoLongerPending.kind(), "no_longer_pending");
        assert_eq!(Severity::of(&SecretState::NotNamed, at(0)), Severity::High);
    }

    #[test]
    fn time_left_reads_like_a_person_would_say_it() {
        assert_eq!(time_left(at(24 * 6 + 3), at(0)), "in 6 days 3 hours");
        assert_eq!(time_left(at(1), at(0)), "in 1 hour 0 minutes");
        assert_eq!(time_left(at(-2), at(0)), "overdue by 2 hours 0 minutes");
    }
}
