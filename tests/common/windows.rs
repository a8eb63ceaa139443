//! The quiet window's behaviours as scenarios over any store: the same specification runs on
//! memory (`tests/it/quiet_window.rs`) and on DynamoDB in moto (`tests/it/emulator.rs`). Each
//! scenario takes a fresh store and sets the clock itself (`BatchOptions::now`): nothing
//! waits, and nothing depends on the store expiring items.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use secret_deletion_alerts::error::HandlerError;
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{Base64Text, encode_records};
use secret_deletion_alerts::ports::AlertWindows;
use secret_deletion_alerts::ports::NoAccountNames;
use secret_deletion_alerts::ports::NoEventHistory;
use secret_deletion_alerts::ports::{NoCopies, NoKeys};
use secret_deletion_alerts::restore::RestorePolicy;

use super::{FakeSecrets, RecordingPublisher, events_dir, now, options, pending};

pub const HOUR: Duration = Duration::from_secs(3600);

/// A batch of reads of `secret_id` by IAM user `user`, one per event id.
pub fn reads_by(user: &str, secret_id: &str, event_ids: &[&str]) -> Base64Text {
    let records = records_by(user, secret_id, event_ids);
    encode_records(&records.to_string(), "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data
}

/// The IAM-user sample record, once per event id, as `user` reading `secret_id`.
pub fn records_by(user: &str, secret_id: &str, event_ids: &[&str]) -> serde_json::Value {
    let sample =
        std::fs::read_to_string(events_dir().join("records/iam-user-pending-deletion.json"))
            .unwrap();
    let sample: serde_json::Value = serde_json::from_str(&sample).unwrap();
    let records: Vec<serde_json::Value> = event_ids
        .iter()
        .map(|id| {
            let mut record = sample["Records"][0].clone();
            record["requestParameters"]["secretId"] = secret_id.into();
            record["eventID"] = (*id).into();
            record["userIdentity"]["userName"] = user.into();
            record["userIdentity"]["arn"] = format!("arn:aws:iam::123456789012:user/{user}").into();
            record
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// One invocation at `now() + at` under a window of `window`.
pub async fn invoke<W: AlertWindows + Sync>(
    data: Base64Text,
    publisher: &RecordingPublisher,
    secrets: &FakeSecrets,
    windows: &W,
    window: Duration,
    at: Duration,
) -> Result<BatchSummary, HandlerError> {
    let ports = Adapters {
        publisher,
        inspector: secrets,
        restorer: secrets,
        windows,
        history: &NoEventHistory,
        accounts: &NoAccountNames,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    options.now = now() + at;
    options.alert_window = Some(window);
    handle_batch(&data, &ports, &options).await
}

fn prod_db() -> FakeSecrets {
    FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))])
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// Two invocations by the same caller inside the window: one alert.
pub async fn same_caller_inside_the_window_alerts_once<W: AlertWindows + Sync>(windows: &W) {
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    let first = invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(0),
    );
    let first = first.await.unwrap();
    assert_eq!((first.alerts_published, first.alerts_suppressed), (1, 0));
    let second = invoke(
        reads_by("alice", "prod/db", &["e2", "e3"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(10),
    );
    let second = second.await.unwrap();
    assert_eq!((second.alerts_published, second.alerts_suppressed), (0, 1));
    assert_eq!(second.alert_state_unavailable, None);
    let alerts = publisher.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .text
            .contains("further reads by this caller are counted, not emailed, until"),
        "{}",
        alerts[0].text
    );
}

/// A read, then `plant` rewrites its window as an insider would, then a second read by the
/// same caller inside the window: it alerts all the same. The count of corrupt windows.
pub async fn after_a_planted_window<W, P, F>(windows: &W, plant: P) -> usize
where
    W: AlertWindows + Sync,
    P: FnOnce() -> F,
    F: std::future::Future<Output = ()>,
{
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    let first = invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(0),
    );
    assert_eq!(first.await.unwrap().alerts_published, 1);
    plant().await;
    let second = invoke(
        reads_by("alice", "prod/db", &["e2"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(10),
    );
    let second = second.await.unwrap();
    assert_eq!((second.alerts_published, second.alerts_suppressed), (1, 0));
    let alerts = publisher.alerts();
    assert_eq!(
        alerts[1]
            .document
            .alert_window
            .as_ref()
            .unwrap()
            .opened_because,
        "corrupt_state",
        "{:?}",
        second.alert_state_unavailable
    );
    second.window_items_corrupt
}

/// A second caller inside the first caller's window: a second alert at once.
pub async fn a_second_caller_alerts_at_once<W: AlertWindows + Sync>(windows: &W) {
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(0),
    )
    .await
    .unwrap();
    let bob = invoke(
        reads_by("bob", "prod/db", &["e2"]),
        &publisher,
        &secrets,
        windows,
        HOUR,
        minutes(1),
    );
    assert_eq!(bob.await.unwrap().alerts_published, 1);
    let callers: Vec<String> = publisher
        .alerts()
        .iter()
        .map(|a| a.document.callers[0].caller.clone())
        .collect();
    assert_eq!(
        callers,
        [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/bob"
        ]
    );
}

/// A window of 2 s, reads held back inside it, then a later read: an alert that counts them.
pub async fn after_the_window_the_alert_counts_what_was_held_back<W: AlertWindows + Sync>(
    windows: &W,
) {
    let window = Duration::from_secs(2);
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    let at = Duration::from_millis;
    invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &secrets,
        windows,
        window,
        at(0),
    )
    .await
    .unwrap();
    let held = invoke(
        reads_by("alice", "prod/db", &["e2", "e3"]),
        &publisher,
        &secrets,
        windows,
        window,
        at(500),
    );
    assert_eq!(held.await.unwrap().alerts_suppressed, 1);
    // The same read delivered again (CloudWatch Logs is at least once) counts once.
    let again = invoke(
        reads_by("alice", "prod/db", &["e3", "e4"]),
        &publisher,
        &secrets,
        windows,
        window,
        at(1500),
    );
    assert_eq!(again.await.unwrap().alerts_suppressed, 1);
    let later = invoke(
        reads_by("alice", "prod/db", &["e5"]),
        &publisher,
        &secrets,
        windows,
        window,
        at(3000),
    );
    assert_eq!(later.await.unwrap().alerts_published, 1);
    let alerts = publisher.alerts();
    assert_eq!(alerts.len(), 2);
    let document = &alerts[1].document;
    assert_eq!(document.suppressed_since_last_alert, 3);
    assert_eq!(
        document.last_alert_at.as_deref(),
        Some(
            humantime::format_rfc3339_seconds(now())
                .to_string()
                .as_str()
        )
    );
    assert_eq!(
        document.alert_window.as_ref().unwrap().opened_because,
        "window_ended"
    );
    assert!(alerts[1].subject.contains("(+3)"), "{}", alerts[1].subject);
    assert!(
        alerts[1].text.contains("3 more reads since"),
        "{}",
        alerts[1].text
    );
}

/// A publish that fails after the claim, then Lambda's retry of the same batch: the alert
/// goes out.
pub async fn a_failed_publish_then_its_retry_delivers<W: AlertWindows + Sync>(windows: &W) {
    let secrets = prod_db();
    let batch = reads_by("alice", "prod/db", &["e1"]);
    let down = RecordingPublisher::failing_for(&["prod/db"]);
    let failed = invoke(batch.clone(), &down, &secrets, windows, HOUR, minutes(0)).await;
    assert!(
        matches!(failed, Err(HandlerError::Undelivered { .. })),
        "{failed:?}"
    );
    let up = RecordingPublisher::default();
    let retried = invoke(batch.clone(), &up, &secrets, windows, HOUR, minutes(1))
        .await
        .unwrap();
    assert_eq!(retried.alerts_published, 1);
    let retry_key = up.alerts()[0].dedup_key().to_owned();
    // The same batch once more: its alert was delivered, so it is not sent again.
    let again = invoke(batch.clone(), &up, &secrets, windows, HOUR, minutes(2))
        .await
        .unwrap();
    assert_eq!(
        (again.alerts_published, again.alerts_already_delivered),
        (0, 1)
    );
    assert_eq!(again.delivered, [retry_key]);
    assert_eq!(up.alerts().len(), 1);
    // Now delivered, the window holds.
    let other = invoke(
        reads_by("alice", "prod/db", &["e9"]),
        &up,
        &secrets,
        windows,
        HOUR,
        minutes(3),
    );
    assert_eq!(other.await.unwrap().alerts_suppressed, 1);
}

/// A batch of two secrets whose publish fails for one: Lambda's retry sends that one, and
/// not the other, which was delivered.
pub async fn a_retry_resends_only_what_was_not_delivered<W: AlertWindows + Sync>(windows: &W) {
    let secrets = FakeSecrets::with(&[
        ("prod/db", pending("prod/db", 6, &[])),
        ("prod/api", pending("prod/api", 6, &[])),
    ]);
    let mut records = records_by("alice", "prod/db", &["e1"]);
    let others = records_by("alice", "prod/api", &["e2"]);
    records["Records"]
        .as_array_mut()
        .unwrap()
        .extend(others["Records"].as_array().unwrap().iter().cloned());
    let batch = encode_records(&records.to_string(), "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data;
    let down = RecordingPublisher::failing_for(&["prod/api"]);
    let failed = invoke(batch.clone(), &down, &secrets, windows, HOUR, minutes(0)).await;
    assert!(
        matches!(failed, Err(HandlerError::Undelivered { failed: 1, .. })),
        "{failed:?}"
    );
    assert_eq!(down.alerts().len(), 1, "prod/db went out");
    let up = RecordingPublisher::default();
    let retried = invoke(batch, &up, &secrets, windows, HOUR, minutes(1))
        .await
        .unwrap();
    assert_eq!(
        (retried.alerts_published, retried.alerts_already_delivered),
        (1, 1)
    );
    let sent: Vec<String> = up
        .alerts()
        .iter()
        .map(|a| a.document.secret.display_name.clone())
        .collect();
    assert_eq!(sent, ["prod/api"]);
}

/// A store that cannot be used: alerts go out as without one, and the summary says why.
pub async fn an_unusable_store_alerts_as_without_one<W: AlertWindows + Sync>(windows: &W) {
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    let mut records = records_by("alice", "prod/db", &["e1"]);
    let other = records_by("alice", "prod/api", &["e2"]);
    records["Records"]
        .as_array_mut()
        .unwrap()
        .push(other["Records"][0].clone());
    let batch = encode_records(&records.to_string(), "g")
        .unwrap()
        .awslogs
        .data;
    for at in [minutes(0), minutes(1)] {
        let summary = invoke(batch.clone(), &publisher, &secrets, windows, HOUR, at)
            .await
            .unwrap();
        assert_eq!(summary.alerts_published, 2);
        assert_eq!(summary.alerts_suppressed, 0);
        // Not asked again once it failed: at most the secrets already in flight fail too.
        assert!((1..=2).contains(&summary.alert_state_errors), "{summary:?}");
        let why = summary.alert_state_unavailable.unwrap();
        assert!(!why.is_empty());
    }
    let alerts = publisher.alerts();
    assert_eq!(alerts.len(), 4);
    for alert in &alerts {
        let window = alert.document.alert_window.as_ref().unwrap();
        assert_eq!(window.opened_because, "state_unavailable");
        assert!(alert.text.contains("could not be used"), "{}", alert.text);
    }
}

/// The purge comes within 48 hours inside the window: an alert at once, saying why.
pub async fn escalation_to_critical_breaks_the_window<W: AlertWindows + Sync>(windows: &W) {
    let publisher = RecordingPublisher::default();
    let high = prod_db();
    invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &high,
        windows,
        HOUR,
        minutes(0),
    )
    .await
    .unwrap();
    let critical = FakeSecrets::with(&[("prod/db", pending("prod/db", 1, &[]))]);
    let summary = invoke(
        reads_by("alice", "prod/db", &["e2"]),
        &publisher,
        &critical,
        windows,
        HOUR,
        minutes(5),
    );
    assert_eq!(summary.await.unwrap().alerts_published, 1);
    let alerts = publisher.alerts();
    assert_eq!(alerts[1].document.severity.as_str(), "critical");
    assert_eq!(
        alerts[1]
            .document
            .alert_window
            .as_ref()
            .unwrap()
            .opened_because,
        "severity_rose"
    );
    // Still critical, still inside the window: held.
    let summary = invoke(
        reads_by("alice", "prod/db", &["e3"]),
        &publisher,
        &critical,
        windows,
        HOUR,
        minutes(6),
    );
    assert_eq!(summary.await.unwrap().alerts_suppressed, 1);
}

/// Scheduled for deletion again after a restore (a new deletion date): an alert at once.
pub async fn a_new_deletion_breaks_the_window<W: AlertWindows + Sync>(windows: &W) {
    let publisher = RecordingPublisher::default();
    invoke(
        reads_by("alice", "prod/db", &["e1"]),
        &publisher,
        &prod_db(),
        windows,
        HOUR,
        minutes(0),
    )
    .await
    .unwrap();
    let rescheduled = FakeSecrets::with(&[("prod/db", pending("prod/db", 20, &[]))]);
    let summary = invoke(
        reads_by("alice", "prod/db", &["e2"]),
        &publisher,
        &rescheduled,
        windows,
        HOUR,
        minutes(5),
    );
    assert_eq!(summary.await.unwrap().alerts_published, 1);
    assert_eq!(
        publisher.alerts()[1]
            .document
            .alert_window
            .as_ref()
            .unwrap()
            .opened_because,
        "rescheduled"
    );
}

/// Two concurrent invocations racing for one window: exactly one alert.
pub async fn a_race_for_one_window_has_one_winner<W: AlertWindows + Sync>(windows: &W) {
    let (publisher, secrets) = (RecordingPublisher::default(), prod_db());
    let a = reads_by("alice", "prod/db", &["e1"]);
    let b = reads_by("alice", "prod/db", &["e2"]);
    let (first, second) = tokio::join!(
        invoke(a.clone(), &publisher, &secrets, windows, HOUR, minutes(0)),
        invoke(b.clone(), &publisher, &secrets, windows, HOUR, minutes(0)),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.alerts_published + second.alerts_published, 1);
    assert_eq!(first.alerts_suppressed + second.alerts_suppressed, 1);
}

/// The time of the batch, for scenarios that check it.
pub fn at(offset: Duration) -> SystemTime {
    now() + offset
}
