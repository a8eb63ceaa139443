//! The quiet window's rule, with the clock injected: what a store holding one window does
//! with each alert.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::caller::CallerKey;
use crate::cloudtrail::CloudTrailRecord;
use crate::detection::{Origin, detect};

const HOUR: Duration = Duration::from_secs(3600);
const GRACE: Duration = Duration::from_secs(30);

fn at(minutes: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_secs(minutes * 60)
}

fn reads(ids: &[&str]) -> BTreeSet<ReadId> {
    ids.iter().map(|id| ReadId::from_stored(id)).collect()
}

fn claim(key: &str, minutes: u64, ids: &[&str]) -> WindowClaim {
    WindowClaim {
        key: WindowKey {
            secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf".into(),
            caller: CallerKey::of(&crate::cloudtrail::Attribution {
                principal: crate::cloudtrail::Principal::Unknown,
                access_key_id: None,
                access_key_kind: None,
                mfa_authenticated: None,
                invoked_by: None,
                account_id: None,
                ec2_role_delivery: None,
            }),
        },
        claim_key: key.into(),
        now: at(minutes),
        window: HOUR,
        grace: GRACE,
        severity: Severity::High,
        deletion_date: Some(at(7 * 24 * 60)),
        outcome: "not_restored",
        reads: reads(ids),
    }
}

/// One window as a store keeps it, applying the rule the way the table's writes do.
#[derive(Default)]
struct Store(Option<WindowRecord>);

impl Store {
    fn offer(&mut self, claim: &WindowClaim) -> WindowVerdict {
        let decision = decide(self.0.as_ref(), claim);
        let verdict = WindowVerdict::of(decision, self.0.as_ref(), claim);
        self.0 = match decision {
            Decision::Claim(_) => Some(claimed(self.0.take(), claim)),
            Decision::Retry | Decision::Delivered => self.0.take(),
            Decision::Hold => self.0.take().map(|stored| held(stored, &claim.reads)),
        };
        verdict
    }

    fn confirm(&mut self, claim: &WindowClaim) {
        confirmed(self.0.as_mut().unwrap(), &claim.claim_key, claim.now);
    }

    /// Offers, and confirms the delivery when the verdict is to send.
    fn deliver(&mut self, claim: &WindowClaim) -> WindowVerdict {
        let verdict = self.offer(claim);
        if matches!(verdict, WindowVerdict::Send { .. }) {
            self.confirm(claim);
        }
        verdict
    }
}

fn sent(opened: Opened, suppressed: u64, last_alert_at: Option<SystemTime>) -> WindowVerdict {
    WindowVerdict::Send {
        opened,
        carried: Carried {
            suppressed,
            last_alert_at,
        },
    }
}

fn is_held(verdict: &WindowVerdict) -> bool {
    matches!(verdict, WindowVerdict::Held { .. })
}

#[test]
fn the_first_read_alerts_and_repeats_inside_the_window_are_held() {
    let mut store = Store::default();
    assert_eq!(
        store.deliver(&claim("a", 0, &["r1"])),
        sent(Opened::First, 0, None)
    );
    let verdict = store.deliver(&claim("b", 10, &["r2"]));
    assert_eq!(
        verdict,
        WindowVerdict::Held {
            claimed_by: "a".into(),
            until: at(60)
        }
    );
}

#[test]
fn the_first_alert_after_the_window_counts_what_was_held_back() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    assert!(is_held(&store.deliver(&claim("b", 10, &["r2", "r3"]))));
    assert!(is_held(&store.deliver(&claim("c", 50, &["r4"]))));
    assert_eq!(
        store.deliver(&claim("d", 61, &["r5"])),
        sent(Opened::WindowEnded, 3, Some(at(0)))
    );
    // The new window starts from nothing.
    assert!(is_held(&store.deliver(&claim("e", 70, &["r6"]))));
    assert_eq!(
        store.deliver(&claim("f", 122, &["r7"])),
        sent(Opened::WindowEnded, 1, Some(at(61)))
    );
}

#[test]
fn a_read_delivered_twice_is_counted_once() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    store.deliver(&claim("b", 5, &["r2"]));
    store.deliver(&claim("c", 6, &["r2", "r3"]));
    // r1 was in the alert itself: seen again, it is not a held-back read.
    store.deliver(&claim("d", 7, &["r1"]));
    assert_eq!(
        store.deliver(&claim("e", 61, &["r9"])),
        sent(Opened::WindowEnded, 2, Some(at(0)))
    );
}

#[test]
fn a_retry_of_the_same_alert_goes_out_again_with_the_same_report() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    store.deliver(&claim("b", 10, &["r2"]));
    let first_try = claim("c", 61, &["r3"]);
    // Claimed, then the publish failed: no confirmation.
    assert_eq!(
        store.offer(&first_try),
        sent(Opened::WindowEnded, 1, Some(at(0)))
    );
    let retry = claim("c", 62, &["r3"]);
    assert_eq!(store.offer(&retry), sent(Opened::Retry, 1, Some(at(0))));
    assert_eq!(store.deliver(&retry), sent(Opened::Retry, 1, Some(at(0))));
}

#[test]
fn a_retry_of_an_alert_that_was_delivered_is_not_sent_again() {
    let mut store = Store::default();
    let first_try = claim("a", 0, &["r1"]);
    store.deliver(&first_try);
    // Lambda retries the batch for another alert's failed publish.
    let retry = claim("a", 1, &["r1"]);
    assert_eq!(
        store.offer(&retry),
        WindowVerdict::Delivered { at: Some(at(0)) }
    );
    assert_eq!(
        store.offer(&retry),
        WindowVerdict::Delivered { at: Some(at(0)) }
    );
}

#[test]
fn a_released_claim_frees_the_window_at_once_and_its_retry_reopens_it() {
    let mut store = Store::default();
    let failed = claim("a", 0, &["r1"]);
    store.offer(&failed);
    released(store.0.as_mut().unwrap(), "a");
    // Another batch of the same caller alerts at once, counting the undelivered read.
    assert_eq!(
        store.deliver(&claim("b", 0, &["r2"])),
        sent(Opened::Unconfirmed, 1, None)
    );
    // A delivered claim is not released.
    released(store.0.as_mut().unwrap(), "b");
    assert!(is_held(&store.deliver(&claim("c", 1, &["r3"]))));
}

#[test]
fn an_unconfirmed_claim_holds_only_as_long_as_a_publish_takes() {
    let mut store = Store::default();
    let undelivered = claim("a", 0, &["r1"]);
    store.offer(&undelivered);
    // Within the grace a publish needs, a concurrent batch is held back...
    let mut concurrent = claim("b", 0, &["r2"]);
    concurrent.now += GRACE / 2;
    assert!(is_held(&store.offer(&concurrent)));
    // ...after it, the window is not the undelivered alert's to hold: the reads it never
    // delivered count as not emailed.
    assert_eq!(
        store.deliver(&claim("c", 1, &["r3"])),
        sent(Opened::Unconfirmed, 2, None)
    );
}

#[test]
fn escalation_to_critical_breaks_the_window() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    let mut critical = claim("b", 10, &["r2"]);
    critical.severity = Severity::Critical;
    assert_eq!(
        store.deliver(&critical),
        sent(Opened::SeverityRose, 0, Some(at(0)))
    );
    let mut still_critical = claim("c", 20, &["r3"]);
    still_critical.severity = Severity::Critical;
    assert!(is_held(&store.deliver(&still_critical)));
}

#[test]
fn a_new_deletion_date_breaks_the_window() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    let mut unknown = claim("b", 5, &["r2"]);
    unknown.deletion_date = None;
    assert!(is_held(&store.deliver(&unknown)));
    let mut rescheduled = claim("c", 10, &["r3"]);
    rescheduled.deletion_date = Some(at(8 * 24 * 60));
    assert_eq!(
        store.deliver(&rescheduled),
        sent(Opened::Rescheduled, 1, Some(at(0)))
    );
}

#[test]
fn a_restore_or_a_failed_restore_breaks_the_window_once() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r1"]));
    let mut failed = claim("b", 5, &["r2"]);
    failed.outcome = "failed";
    assert_eq!(
        store.deliver(&failed),
        sent(Opened::RestoreOutcome, 0, Some(at(0)))
    );
    let mut failed_again = claim("c", 6, &["r3"]);
    failed_again.outcome = "failed";
    assert!(is_held(&store.deliver(&failed_again)));
    let mut restored = claim("d", 7, &["r4"]);
    restored.outcome = "restored";
    assert_eq!(
        store.deliver(&restored),
        sent(Opened::RestoreOutcome, 1, Some(at(5)))
    );
    // A quieter outcome than the stored one never breaks it.
    assert!(is_held(&store.deliver(&claim("e", 8, &["r5"]))));
}

#[test]
fn past_the_cap_held_reads_are_counted_per_delivery() {
    let mut store = Store::default();
    store.deliver(&claim("a", 0, &["r0"]));
    let many: Vec<String> = (0..MAX_HELD_READS + 5).map(|i| format!("h{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    store.deliver(&claim("b", 1, &many));
    let stored = store.0.as_ref().unwrap();
    assert_eq!(stored.current.held.len(), MAX_HELD_READS);
    assert_eq!(stored.current.overflow, 5);
    assert_eq!(
        store.deliver(&claim("c", 61, &["z"])),
        sent(Opened::WindowEnded, MAX_HELD_READS as u64 + 5, Some(at(0)))
    );
}

#[test]
fn a_window_key_is_a_fixed_size_digest_of_secret_and_caller() {
    let a = claim("a", 0, &[]).key;
    let mut b = a.clone();
    b.secret.push('x');
    assert_eq!(a.id().len(), 32);
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id(), claim("z", 9, &[]).key.id());
}

fn read(json: &str) -> PendingDeletionAccess {
    let record: CloudTrailRecord = serde_json::from_str(json).unwrap();
    detect(
        &record,
        Origin::LogEvent {
            id: "1".into(),
            timestamp_ms: None,
        },
    )
    .unwrap()
}

#[test]
fn both_copies_of_a_cross_account_read_are_one_read() {
    let copy = |event_id: &str, account: &str| {
        read(&format!(
            r#"{{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",
                "errorMessage":"You can't perform this operation on the secret because it was marked for deletion.",
                "eventID":"{event_id}","sharedEventID":"5f1c7a1e-0000-4000-8000-000000000001",
                "recipientAccountId":"{account}"}}"#
        ))
    };
    let owner = copy("11111111-0000-4000-8000-000000000001", "111111111111");
    let caller = copy("22222222-0000-4000-8000-000000000002", "222222222222");
    assert_eq!(ReadId::of(&owner), ReadId::of(&caller));
    let plain = read(
        r#"{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",
            "errorMessage":"You can't perform this operation on the secret because it was marked for deletion.",
            "eventID":"33333333-0000-4000-8000-000000000003"}"#,
    );
    assert_ne!(ReadId::of(&plain), ReadId::of(&owner));
    assert_eq!(ReadId::of(&plain).as_str().len(), 16);
}

#[test]
fn a_claim_planted_in_the_future_holds_nothing_back() {
    let mut store = Store::default();
    store.deliver(&claim("k1", 0, &["e1"]));
    // Someone with dynamodb:PutItem moves the claim to the year 3000, delivered.
    let planted = store.0.as_mut().unwrap();
    planted.claimed_at = UNIX_EPOCH + Duration::from_secs(32_503_680_000);
    planted.current.delivered = true;
    planted.current.held = reads(&["forged"]);
    assert_eq!(
        store.deliver(&claim("k2", 10, &["e2"])),
        sent(Opened::Corrupt, 0, None),
        "the read alerts, and the planted tally is not reported"
    );
    // The window is this function's again: a repeat inside it is held.
    assert!(is_held(&store.offer(&claim("k3", 20, &["e3"]))));
}

#[test]
fn a_claim_from_a_clock_a_little_ahead_still_holds() {
    let mut store = Store::default();
    store.deliver(&claim("k1", 0, &["e1"]));
    store.0.as_mut().unwrap().claimed_at = at(4);
    assert!(is_held(&store.offer(&claim("k2", 0, &["e2"]))));
}
