//! The canary: a secret the stack keeps pending deletion and reads every hour, so that the
//! whole path (trail, log group, subscription filter, the rule, the function) is shown to
//! work. Its alert goes to no person: the function counts it (`CanaryReadsSeen`), and an alarm
//! on the operations topic fires when the count stops. That catches a trail that no longer
//! logs reads, a stopped or deleted trail, a deleted or changed subscription filter, and an
//! error message AWS reworded. Pure: this module decides what the canary function does;
//! [`crate::canary_run`] does it through the port ([`crate::ports::CanaryVault`]).

use std::time::{Duration, SystemTime};

/// The tag the canary secret carries (and how a person recognises it).
pub const CANARY_TAG: &str = "secret-deletion-alerts:canary";
/// The recovery window the canary is scheduled with: the longest there is.
pub const RECOVERY_WINDOW_DAYS: i64 = 30;
/// The canary is scheduled for deletion anew when its purge is nearer than this.
pub const RESCHEDULE_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// What Secrets Manager says of the canary secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanaryState {
    /// No such secret (never made, or purged).
    Missing,
    /// There, and not scheduled for deletion (someone restored it).
    NotPending,
    /// Scheduled for deletion on `deletion_date`.
    Pending { deletion_date: SystemTime },
}

/// One thing the canary function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryStep {
    /// `CreateSecret`, tagged [`CANARY_TAG`].
    Create,
    /// `RestoreSecret`: only to schedule the deletion anew.
    Restore,
    /// `DeleteSecret` with [`RECOVERY_WINDOW_DAYS`].
    ScheduleDeletion,
    /// `GetSecretValue`, which Secrets Manager refuses (the read the function must see).
    Read,
}

/// What to do for the canary in `state` at `now`: bring it to "pending deletion, purge more
/// than a week away", then read it.
pub fn plan(state: &CanaryState, now: SystemTime) -> Vec<CanaryStep> {
    use CanaryStep::*;
    match state {
        CanaryState::Missing => vec![Create, ScheduleDeletion, Read],
        CanaryState::NotPending => vec![ScheduleDeletion, Read],
        CanaryState::Pending { deletion_date }
            if deletion_date
                .duration_since(now)
                .map_or(true, |left| left < RESCHEDULE_WITHIN) =>
        {
            vec![Restore, ScheduleDeletion, Read]
        }
        CanaryState::Pending { .. } => vec![Read],
    }
}

/// Whether a read names the canary: its name in the function's own account and region. A
/// secret of the same name in another region or account (anyone may make one) is any other
/// secret, and a read whose account or region is unknown is not the canary's: a canary read
/// is counted, never alerted, so it must be exactly the stack's own.
pub fn is_canary(
    (name_held, account, region): (Option<&str>, Option<&str>, Option<&str>),
    canary: &str,
    (own_account, own_region): (Option<&str>, Option<&str>),
) -> bool {
    name_held == Some(canary)
        && account.is_some()
        && account == own_account
        && region.is_some()
        && region == own_region
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(days * 86_400)
    }

    #[test]
    fn the_canary_is_made_scheduled_and_read_and_kept_pending() {
        use CanaryStep::*;
        assert_eq!(
            plan(&CanaryState::Missing, at(100)),
            [Create, ScheduleDeletion, Read]
        );
        assert_eq!(
            plan(&CanaryState::NotPending, at(100)),
            [ScheduleDeletion, Read]
        );
        let pending = |days| CanaryState::Pending {
            deletion_date: at(days),
        };
        assert_eq!(plan(&pending(120), at(100)), [Read]);
        assert_eq!(
            plan(&pending(106), at(100)),
            [Restore, ScheduleDeletion, Read]
        );
        assert_eq!(
            plan(&pending(99), at(100)),
            [Restore, ScheduleDeletion, Read]
        );
    }

    #[test]
    fn only_the_canary_of_this_account_and_region_is_the_canary() {
        let own = (Some("123456789012"), Some("us-east-1"));
        let read =
            |name, account, region| is_canary((Some(name), account, region), "sda-canary", own);
        assert!(read("sda-canary", own.0, own.1));
        assert!(!read("sda-canary", None, own.1), "an unknown account");
        assert!(!read("sda-canary", own.0, None), "an unknown region");
        assert!(!read("sda-canary", Some("210987654321"), own.1));
        assert!(!read("sda-canary", own.0, Some("eu-west-1")));
        assert!(!read("prod/db", own.0, own.1));
    }
}
