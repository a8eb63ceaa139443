//! The quiet window as a specification, on the in-memory store: one alert per secret and
//! caller per window, nothing lost. The same scenarios run on DynamoDB in moto
//! (`tests/it/emulator.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::windows::{self, HOUR, invoke, reads_by, records_by};
use common::{FakeSecrets, RecordingPublisher, options, pending};
use secret_deletion_alerts::error::WindowStateError;
use secret_deletion_alerts::handler::{Adapters, handle_batch};
use secret_deletion_alerts::logs::encode_records;
use secret_deletion_alerts::memory_windows::MemoryWindows;
use secret_deletion_alerts::ports::AlertWindows;
use secret_deletion_alerts::restore::RestorePolicy;
use secret_deletion_alerts::window::{WindowClaim, WindowKey, WindowVerdict};

#[tokio::test]
async fn same_caller_inside_the_window_alerts_once() {
    windows::same_caller_inside_the_window_alerts_once(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn a_second_caller_alerts_at_once() {
    windows::a_second_caller_alerts_at_once(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn after_the_window_the_alert_counts_what_was_held_back() {
    windows::after_the_window_the_alert_counts_what_was_held_back(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn a_failed_publish_then_its_retry_delivers() {
    windows::a_failed_publish_then_its_retry_delivers(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn a_retry_resends_only_what_was_not_delivered() {
    windows::a_retry_resends_only_what_was_not_delivered(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn escalation_to_critical_breaks_the_window() {
    windows::escalation_to_critical_breaks_the_window(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn a_new_deletion_breaks_the_window() {
    windows::a_new_deletion_breaks_the_window(&MemoryWindows::new()).await;
}

#[tokio::test]
async fn a_race_for_one_window_has_one_winner() {
    windows::a_race_for_one_window_has_one_winner(&MemoryWindows::new()).await;
}

/// A store that always fails, as a missing or throttled table does.
struct FailingWindows;

#[async_trait::async_trait]
impl AlertWindows for FailingWindows {
    async fn claim(&self, _claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError> {
        Err(WindowStateError::Rejected {
            code: "ResourceNotFoundException".into(),
            message: "Requested resource not found".into(),
        })
    }

    async fn confirm(
        &self,
        _key: &WindowKey,
        _claim_key: &str,
        _at: SystemTime,
    ) -> Result<(), WindowStateError> {
        unreachable!("nothing was claimed")
    }

    async fn release(&self, _key: &WindowKey, _claim_key: &str) -> Result<(), WindowStateError> {
        unreachable!("nothing was claimed")
    }
}

#[tokio::test]
async fn an_unusable_store_alerts_as_without_one() {
    windows::an_unusable_store_alerts_as_without_one(&FailingWindows).await;
}

#[tokio::test]
async fn without_a_window_every_batch_alerts_once_per_secret() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let policy = RestorePolicy::Off;
    let ports = Adapters::new(&publisher, &secrets);
    let mut records = records_by("alice", "prod/db", &["e1"]);
    let bob = records_by("bob", "prod/db", &["e2"]);
    records["Records"]
        .as_array_mut()
        .unwrap()
        .push(bob["Records"][0].clone());
    let batch = encode_records(&records.to_string(), "g")
        .unwrap()
        .awslogs
        .data;
    for _ in 0..2 {
        let summary = handle_batch(&batch, &ports, &options(&policy))
            .await
            .unwrap();
        assert_eq!(
            (summary.alerts_published, summary.alerts_suppressed),
            (1, 0)
        );
    }
    let alerts = publisher.alerts();
    assert_eq!(alerts.len(), 2);
    // One alert for the secret, one block per caller in it.
    assert_eq!(alerts[0].document.callers.len(), 2);
    assert_eq!(alerts[0].document.suppressed_since_last_alert, 0);
    assert!(alerts[0].document.alert_window.is_none());
}

#[tokio::test]
async fn with_a_window_each_caller_of_a_batch_gets_its_own_alert() {
    let store = MemoryWindows::new();
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let mut records = records_by("alice", "prod/db", &["e1", "e2"]);
    let bob = records_by("bob", "prod/db", &["e3"]);
    records["Records"]
        .as_array_mut()
        .unwrap()
        .push(bob["Records"][0].clone());
    let batch = encode_records(&records.to_string(), "g")
        .unwrap()
        .awslogs
        .data;
    let summary = invoke(
        batch.clone(),
        &publisher,
        &secrets,
        &store,
        HOUR,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(summary.alerts_published, 2);
    // Looked up once for both callers.
    assert_eq!(secrets.lookups(), ["prod/db"]);
    assert_eq!(store.len(), 2);
    let reads: Vec<usize> = publisher
        .alerts()
        .iter()
        .map(|a| a.document.attempts_total)
        .collect();
    assert_eq!(reads, [2, 1]);
}

#[tokio::test]
async fn both_copies_of_a_cross_account_read_in_one_batch_are_one_read() {
    let store = MemoryWindows::new();
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:shared/db-AbCdEf";
    let mut records = records_by("alice", arn, &["owner-copy", "caller-copy"]);
    for (record, account) in records["Records"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(["111111111111", "123456789012"])
    {
        record["sharedEventID"] = "5f1c7a1e-0000-4000-8000-000000000001".into();
        record["recipientAccountId"] = account.into();
    }
    let batch = encode_records(&records.to_string(), "g")
        .unwrap()
        .awslogs
        .data;
    let summary = invoke(
        batch.clone(),
        &publisher,
        &secrets,
        &store,
        HOUR,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!((summary.matched, summary.duplicates), (1, 1));
    assert_eq!(publisher.alerts()[0].document.attempts_total, 1);
    // Delivered again in a later batch, it is the same alert (its key is the sharedEventID's),
    // which went out: not sent again, and not a new read.
    let again = records_by("alice", arn, &["caller-copy"]);
    let mut again = again;
    again["Records"][0]["sharedEventID"] = "5f1c7a1e-0000-4000-8000-000000000001".into();
    let batch = encode_records(&again.to_string(), "g")
        .unwrap()
        .awslogs
        .data;
    let summary = invoke(
        batch.clone(),
        &publisher,
        &secrets,
        &store,
        HOUR,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.alerts_published, summary.alerts_already_delivered),
        (0, 1)
    );
    let later = reads_by("alice", arn, &["later"]);
    invoke(later.clone(), &publisher, &secrets, &store, HOUR, 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(
        publisher.alerts()[1].document.suppressed_since_last_alert,
        0
    );
}
