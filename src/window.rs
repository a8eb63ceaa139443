//! The quiet window: one alert per secret and caller per `ALERT_WINDOW`, further reads
//! counted, not sent. Pure: this module is the rule; a store ([`crate::ports::AlertWindows`])
//! applies it atomically (the DynamoDB table's conditional writes, or memory in tests).
//!
//! The life of a window, for one (secret, caller):
//! - **Claim.** An alert may go out when [`decide`] says so: nothing is stored yet, the
//!   window has ended, the stored claim was never confirmed delivered (and is older than the
//!   grace a publish needs), the severity rose, the deletion was scheduled anew (another
//!   deletion date), or the restore outcome became `restored` or `failed`. Claiming records
//!   the alert's de-duplication key and moves the window's tally to `previous`, which the
//!   alert reports (reads held back, the last alert's time).
//! - **Retry.** The same alert again (the same de-duplication key: Lambda retrying a batch
//!   whose publish failed after the claim) goes out again, with the same report; unless the
//!   claim was confirmed delivered, as the other alerts of a batch retried for one failed
//!   publish were: then it is counted as delivered and not sent again.
//! - **Hold.** Anything else is held back: its reads are added to the window's tally, by
//!   read id, so a read delivered twice (CloudWatch Logs is at least once) or logged twice
//!   (a cross-account read, one `sharedEventID`) counts once.
//! - **Confirm** after the publish marks the claim delivered; **release** after a failed
//!   publish ends the claim at once. A claim that is never confirmed stops holding after the
//!   grace: suppression never hides an alert that was not delivered.
//!
//! Nothing here depends on the store expiring items: expiry (the table's TTL) only cleans up.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::caller::CallerKey;
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::restore::{RestoreOutcome, SecretState, Severity};

/// Distinct held-back reads a window counts one by one; past this, reads are counted per
/// delivery (so a redelivered read may count twice) to keep the stored item small.
pub const MAX_HELD_READS: usize = 1000;
/// How long a stored window outlives its last read, for the table's TTL (clean-up only).
pub const KEEP_AFTER_LAST_READ: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far ahead of this function's clock a stored claim may be and still be one it wrote
/// (another sandbox's clock). Past it, the claim was planted.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Which window: the secret (its full ARN once looked up, else the id the caller used) and
/// the caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowKey {
    pub secret: String,
    pub caller: CallerKey,
}

impl WindowKey {
    /// The window of `caller`'s reads of the secret `target` (in `state`, once looked up).
    pub fn of(target: &SecretTarget, state: &SecretState, caller: CallerKey) -> Self {
        WindowKey {
            secret: window_secret(target, state),
            caller,
        }
    }

    /// The stored key: a digest, since an ARN pair can outgrow a partition key; the table
    /// keeps the readable secret and caller beside it.
    pub fn id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.secret.as_bytes());
        hasher.update([0]);
        hasher.update(self.caller.as_str().as_bytes());
        hex(&hasher.finalize()[..16])
    }
}

/// The secret a window is kept for: its full ARN once looked up, else the id the caller used
/// in its account and region. Computed here once: the handler keys the window by it, and the
/// alert carries it for its copies (a chat thread, a Security Hub finding).
pub fn window_secret(target: &SecretTarget, state: &SecretState) -> String {
    let account = target.account_id.as_deref().unwrap_or("-");
    let region = target.region.as_deref().unwrap_or("-");
    match (state.arn(), target.secret_id.as_deref()) {
        (Some(arn), _) => arn.to_owned(),
        (None, Some(id)) => format!("{account}/{region}/{id}"),
        (None, None) => format!("(not named)/{account}/{region}"),
    }
}

/// One read, as the window counts it: a digest of its `sharedEventID` when it has one (the
/// same in both accounts' copies of a cross-account read), else of its `eventID`, else of
/// where it was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadId(String);

impl ReadId {
    pub fn of(access: &PendingDeletionAccess) -> Self {
        let id = match (&access.shared_event_id, &access.event_id) {
            (Some(shared), _) => format!("shared:{shared}"),
            (None, Some(event)) => format!("event:{event}"),
            (None, None) => format!("at:{}", access.origin.location()),
        };
        ReadId(hex(&Sha256::digest(id.as_bytes())[..8]))
    }

    /// A stored read id, as [`ReadId::as_str`] wrote it.
    pub fn from_stored(text: &str) -> Self {
        ReadId(text.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an alert asks of its window.
#[derive(Debug, Clone)]
pub struct WindowClaim {
    pub key: WindowKey,
    /// The alert's de-duplication key: the same on every try of the same batch.
    pub claim_key: String,
    pub now: SystemTime,
    pub window: Duration,
    /// How long an unconfirmed claim still holds the window: the time a publish may take.
    pub grace: Duration,
    pub severity: Severity,
    /// From `DescribeSecret`, when it was looked up.
    pub deletion_date: Option<SystemTime>,
    /// [`RestoreOutcome::kind`].
    pub outcome: &'static str,
    pub reads: BTreeSet<ReadId>,
}

impl WindowClaim {
    /// The earliest claim time whose window has ended by `now`.
    pub fn window_start(&self) -> SystemTime {
        self.now
            .checked_sub(self.window)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// The latest claim time this function can have written by `now`.
    pub fn latest_sane_claim(&self) -> SystemTime {
        self.now + MAX_CLOCK_SKEW
    }

    /// The earliest claim time that, unconfirmed, no longer holds the window.
    pub fn grace_start(&self) -> SystemTime {
        self.now
            .checked_sub(self.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Whether this claim's outcome breaks a window held under another outcome.
    pub fn outcome_breaks_window(&self) -> bool {
        breaks_window(self.outcome)
    }

    /// When the store may forget the window (TTL): well after the window and the last read.
    pub fn expires_at(&self) -> SystemTime {
        self.now + self.window + KEEP_AFTER_LAST_READ
    }
}

/// The outcomes that say something new about the deletion.
fn breaks_window(outcome: &str) -> bool {
    outcome == RestoreOutcome::Restored.kind()
        || outcome == RestoreOutcome::Failed(String::new()).kind()
}

/// The reads of one window: those its alert listed, those held back since, and whether its
/// alert was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    pub alerted: BTreeSet<ReadId>,
    pub held: BTreeSet<ReadId>,
    /// Held reads past [`MAX_HELD_READS`], counted per delivery.
    pub overflow: u64,
    pub delivered: bool,
    /// The last alert confirmed delivered, this window's or an earlier one's.
    pub delivered_at: Option<SystemTime>,
}

/// What a store keeps for one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRecord {
    pub claim_key: String,
    pub claimed_at: SystemTime,
    pub severity: Severity,
    pub deletion_date: Option<SystemTime>,
    pub outcome: String,
    pub current: Tally,
    /// The tally of the window before this claim, kept so a retry reports what the first
    /// try did.
    pub previous: Tally,
}

/// Why an alert went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The first read by this caller of this secret that the store knows.
    First,
    WindowEnded,
    /// The same alert again: Lambda retrying the batch.
    Retry,
    /// The window's alert was never confirmed delivered.
    Unconfirmed,
    /// The purge came within 48 hours since the last alert.
    SeverityRose,
    /// The secret was scheduled for deletion again (another deletion date).
    Rescheduled,
    /// The deletion was cancelled by this function, or a restore failed.
    RestoreOutcome,
    /// The store could not be used: every alert goes out, as with no store.
    StateUnavailable,
    /// The stored window held what this function never writes (a claim in the future, a
    /// value it cannot read): someone wrote to the table. It is treated as absent, the
    /// alert goes out, and the item is counted (`WindowItemsCorrupt`, alarmed).
    Corrupt,
}

impl Opened {
    pub fn as_str(self) -> &'static str {
        match self {
            Opened::First => "first",
            Opened::WindowEnded => "window_ended",
            Opened::Retry => "retry",
            Opened::Unconfirmed => "unconfirmed",
            Opened::SeverityRose => "severity_rose",
            Opened::Rescheduled => "rescheduled",
            Opened::RestoreOutcome => "restore_outcome",
            Opened::StateUnavailable => "state_unavailable",
            Opened::Corrupt => "corrupt_state",
        }
    }

    /// Why the window opened before its time, for a person; `None` when it opened in time.
    pub fn early_because(self) -> Option<&'static str> {
        match self {
            Opened::Unconfirmed => Some("the previous alert was not confirmed delivered"),
            Opened::SeverityRose => Some("the purge is now less than 48 hours away"),
            Opened::Rescheduled => Some("the secret was scheduled for deletion again"),
            Opened::RestoreOutcome => Some("the restore outcome changed"),
            Opened::Corrupt => Some(
                "the stored window held values this function never writes (someone wrote to its table)",
            ),
            _ => None,
        }
    }
}

/// The rule's verdict on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send, and make this alert the window's.
    Claim(Opened),
    /// Send again, changing nothing: the same alert as the stored claim, not confirmed
    /// delivered.
    Retry,
    /// Send nothing, change nothing: the same alert as the stored claim, and it was
    /// delivered (Lambda retrying a batch for another alert's failed publish).
    Delivered,
    /// Count the reads, do not send.
    Hold,
}

/// The rule, on what the store holds for the window (`None`: nothing).
pub fn decide(stored: Option<&WindowRecord>, claim: &WindowClaim) -> Decision {
    let Some(stored) = stored else {
        return Decision::Claim(Opened::First);
    };
    // Only this function writes the table, and never a claim ahead of its clock: such an
    // item holds back nothing (an insider with dynamodb:PutItem could otherwise silence a
    // secret and caller for ever).
    if stored.claimed_at > claim.latest_sane_claim() {
        return Decision::Claim(Opened::Corrupt);
    }
    if stored.claim_key == claim.claim_key {
        return if stored.current.delivered {
            Decision::Delivered
        } else {
            Decision::Retry
        };
    }
    if !stored.current.delivered && stored.claimed_at <= claim.grace_start() {
        return Decision::Claim(Opened::Unconfirmed);
    }
    if stored.claimed_at <= claim.window_start() {
        return Decision::Claim(Opened::WindowEnded);
    }
    if claim.severity > stored.severity {
        return Decision::Claim(Opened::SeverityRose);
    }
    if let (Some(stored_date), Some(date)) = (stored.deletion_date, claim.deletion_date)
        && whole_seconds(stored_date) != whole_seconds(date)
    {
        return Decision::Claim(Opened::Rescheduled);
    }
    if claim.outcome_breaks_window() && stored.outcome != claim.outcome {
        return Decision::Claim(Opened::RestoreOutcome);
    }
    Decision::Hold
}

/// What the store holds after `claim` claimed the window over `stored`.
pub fn claimed(stored: Option<WindowRecord>, claim: &WindowClaim) -> WindowRecord {
    let (previous, deletion_date) = match stored {
        Some(stored) => (stored.current, stored.deletion_date),
        None => (
            Tally {
                delivered: true,
                ..Tally::default()
            },
            None,
        ),
    };
    WindowRecord {
        claim_key: claim.claim_key.clone(),
        claimed_at: claim.now,
        severity: claim.severity,
        deletion_date: claim.deletion_date.or(deletion_date),
        outcome: claim.outcome.to_owned(),
        current: Tally {
            alerted: claim.reads.clone(),
            held: BTreeSet::new(),
            overflow: 0,
            delivered: false,
            delivered_at: previous.delivered_at,
        },
        previous,
    }
}

/// The reads of `claim` a held-back alert adds to the window: those not counted yet, as far
/// as [`MAX_HELD_READS`] allows, and how many more are counted per delivery.
pub fn to_hold(stored: &WindowRecord, reads: &BTreeSet<ReadId>) -> (BTreeSet<ReadId>, u64) {
    let new: Vec<&ReadId> = reads
        .iter()
        .filter(|read| {
            !stored.current.alerted.contains(*read) && !stored.current.held.contains(*read)
        })
        .collect();
    let room = MAX_HELD_READS.saturating_sub(stored.current.held.len());
    let kept: BTreeSet<ReadId> = new.iter().take(room).map(|read| (*read).clone()).collect();
    let overflow = (new.len() - kept.len()) as u64;
    (kept, overflow)
}

/// What the store holds after an alert was held back.
pub fn held(mut stored: WindowRecord, reads: &BTreeSet<ReadId>) -> WindowRecord {
    let (kept, overflow) = to_hold(&stored, reads);
    stored.current.held.extend(kept);
    stored.current.overflow += overflow;
    stored
}

/// What the store holds after the claiming alert was delivered at `at`: the window runs from
/// the delivery (after a released claim, from the retry that delivered it).
pub fn confirmed(stored: &mut WindowRecord, claim_key: &str, at: SystemTime) {
    if stored.claim_key == claim_key {
        stored.current.delivered = true;
        stored.current.delivered_at = Some(at);
        stored.claimed_at = at;
    }
}

/// What the store holds after the claiming alert failed to go out: nothing holds the window.
pub fn released(stored: &mut WindowRecord, claim_key: &str) {
    if stored.claim_key == claim_key && !stored.current.delivered {
        stored.claimed_at = SystemTime::UNIX_EPOCH;
    }
}

/// What an alert that goes out reports of the window before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Carried {
    /// Reads of this caller not emailed since the last alert: held back, or in an alert that
    /// was never confirmed delivered.
    pub suppressed: u64,
    /// The last alert confirmed delivered.
    pub last_alert_at: Option<SystemTime>,
}

/// The report of a claim over `previous`, for an alert of `reads` (a read that is in this
/// alert is not counted as held back).
pub fn carried(previous: &Tally, reads: &BTreeSet<ReadId>) -> Carried {
    let held = previous.held.difference(reads).count() as u64;
    let undelivered = if previous.delivered {
        0
    } else {
        previous.alerted.difference(reads).count() as u64
    };
    Carried {
        suppressed: held + undelivered + previous.overflow,
        last_alert_at: previous.delivered_at,
    }
}

/// A store's answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowVerdict {
    /// Send the alert; this is what it reports.
    Send { opened: Opened, carried: Carried },
    /// Held back: another alert of this caller holds the window until `until`.
    Held {
        claimed_by: String,
        until: SystemTime,
    },
    /// This very alert was delivered already: not sent again.
    Delivered { at: Option<SystemTime> },
}

impl WindowVerdict {
    /// The verdict [`decide`] gives on `stored` (the record before the claim).
    pub fn of(decision: Decision, stored: Option<&WindowRecord>, claim: &WindowClaim) -> Self {
        match (decision, stored) {
            // A planted tally reports nothing.
            (Decision::Claim(Opened::Corrupt), _) => WindowVerdict::Send {
                opened: Opened::Corrupt,
                carried: Carried::default(),
            },
            (Decision::Claim(opened), stored) => WindowVerdict::Send {
                opened,
                carried: stored
                    .map(|s| carried(&s.current, &claim.reads))
                    .unwrap_or_default(),
            },
            (Decision::Retry, Some(stored)) => WindowVerdict::Send {
                opened: Opened::Retry,
                carried: carried(&stored.previous, &claim.reads),
            },
            (Decision::Retry | Decision::Delivered, None) => WindowVerdict::Send {
                opened: Opened::First,
                carried: Carried::default(),
            },
            (Decision::Delivered, Some(stored)) => WindowVerdict::Delivered {
                at: stored.current.delivered_at,
            },
            (Decision::Hold, stored) => WindowVerdict::Held {
                claimed_by: stored.map(|s| s.claim_key.clone()).unwrap_or_default(),
                until: stored.map_or(claim.now, |s| s.claimed_at + claim.window),
            },
        }
    }
}

/// What the window adds to an alert that goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowNote {
    pub window: Duration,
    pub opened: Opened,
    pub carried: Carried,
    /// Until when repeats by this caller are held back; `None` when the store was unusable.
    pub ends_at: Option<SystemTime>,
    /// Why the store could not be used.
    pub unavailable: Option<String>,
}

impl WindowNote {
    pub fn sent(window: Duration, opened: Opened, carried: Carried, now: SystemTime) -> Self {
        WindowNote {
            window,
            opened,
            carried,
            ends_at: Some(now + window),
            unavailable: None,
        }
    }

    pub fn unavailable(window: Duration, reason: String) -> Self {
        WindowNote {
            window,
            opened: Opened::StateUnavailable,
            carried: Carried::default(),
            ends_at: None,
            unavailable: Some(reason),
        }
    }
}

fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
