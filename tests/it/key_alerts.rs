//! #45: a use of a KMS key pending deletion, through the function. The records are shaped as
//! the KMS Developer Guide shows them ("Create an alarm that detects use of a KMS key pending
//! deletion"; "ScheduleKeyDeletion" in "AWS KMS log entries"); `events/kms-key-pending-deletion.json`
//! holds a Lambda function's Decrypt, a Decrypt Secrets Manager made for an ECS task, and one
//! logged with Secrets Manager's own identity. KMS, Secrets Manager and SNS are moto's where a
//! test says so; Event history is the project's fake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use aws_config::SdkConfig;
use common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
use common::moto::{emulator, fake_endpoint, unique};
use common::windows::HOUR;
use common::{FakeSecrets, RecordingPublisher, events_dir, options, sample};
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::{KmsKeys, SecretsManager};
use secret_deletion_alerts::error::HandlerError;
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{Base64Text, encode_records};
use secret_deletion_alerts::memory_windows::MemoryWindows;
use secret_deletion_alerts::restore::RestorePolicy;

const SAMPLE_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The sample's records, with the key's ARN replaced by `key_arn`.
fn sample_records_for(key_arn: &str) -> Base64Text {
    let text = std::fs::read_to_string(events_dir().join("records/kms-key-pending-deletion.json"))
        .unwrap()
        .replace(SAMPLE_KEY, key_arn);
    encode_records(&text, "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data
}

async fn run_with_fakes(
    data: &Base64Text,
    publisher: &RecordingPublisher,
    windows: Option<(&MemoryWindows, Duration)>,
) -> Result<BatchSummary, HandlerError> {
    let secrets = FakeSecrets::default();
    let mut ports = Adapters::new(publisher, &secrets);
    let policy = RestorePolicy::All;
    let mut options = options(&policy);
    if let Some((store, window)) = windows {
        ports.windows = store;
        options.alert_window = Some(window);
    }
    handle_batch(data, &ports, &options).await
}

#[tokio::test]
async fn a_batch_of_uses_of_one_key_is_one_alert_that_names_every_caller_and_secret() {
    let publisher = RecordingPublisher::default();
    let summary = run_with_fakes(&sample("kms-key-pending-deletion.json"), &publisher, None)
        .await
        .unwrap();
    assert_eq!(summary.key_uses, 3);
    assert_eq!(summary.key_alerts_published, 1);
    // Not a read of a secret pending deletion: no secret alert, nothing restored.
    assert_eq!(summary.matched, 0);
    assert!(publisher.alerts().is_empty());
    assert_eq!(summary.restored, 0);
    let alert = &publisher.key_alerts()[0];
    let document = &alert.document;
    assert_eq!(document.key.arn.as_deref(), Some(SAMPLE_KEY));
    assert_eq!(document.operations, ["Decrypt"]);
    let workloads: Vec<&str> = document
        .readers
        .iter()
        .map(|r| r.workload.name.as_str())
        .collect();
    assert!(workloads.contains(&"orders-api"), "{workloads:?}");
    let secrets: Vec<&str> = document
        .encrypted_secrets
        .iter()
        .map(|s| s.arn.as_str())
        .collect();
    assert_eq!(
        secrets,
        [
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/stripe-Xy12Ab",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        ]
    );
    // Nothing looked up here: said, not guessed.
    assert_eq!(document.lookup.kind, "not_looked_up");
    assert!(!document.encrypted_secrets_listed);
    assert_eq!(summary.delivered, [alert.dedup_key().to_owned()]);
}

#[tokio::test]
async fn with_kms_keys_off_key_records_are_counted_never_alerted() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let ports = Adapters::new(&publisher, &secrets);
    let policy = RestorePolicy::All;
    let mut options = options(&policy);
    options.kms_keys = false;
    for sample_name in [
        "kms-key-pending-deletion.json",
        "kms-key-deletion-scheduled.json",
    ] {
        let summary = handle_batch(&sample(sample_name), &ports, &options)
            .await
            .unwrap();
        assert_eq!(summary.key_alerts_published, 0, "{sample_name}");
        assert_eq!(summary.scheduled_alerts_published, 0, "{sample_name}");
    }
    assert!(publisher.key_alerts().is_empty());
}

#[tokio::test]
async fn a_failed_publish_of_a_key_alert_fails_the_invocation() {
    let publisher = RecordingPublisher::failing_for(&["1234abcd-12ab-34cd-56ef-1234567890ab"]);
    let error = run_with_fakes(&sample("kms-key-pending-deletion.json"), &publisher, None)
        .await
        .unwrap_err();
    let HandlerError::Undelivered { failed, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*failed, 1);
    assert!(error.to_string().contains("1234abcd"), "{error}");
}

#[tokio::test]
async fn under_a_quiet_window_a_caller_is_alerted_once_per_key_and_window() {
    let store = MemoryWindows::new();
    let publisher = RecordingPublisher::default();
    let first = run_with_fakes(
        &sample("kms-key-pending-deletion.json"),
        &publisher,
        Some((&store, HOUR)),
    )
    .await
    .unwrap();
    // One alert per caller: the three records are three callers.
    assert_eq!(first.key_alerts_published, 3);
    // The same callers again, new events: held, counted.
    let text = std::fs::read_to_string(events_dir().join("records/kms-key-pending-deletion.json"))
        .unwrap()
        .replace("-0000-4000-8000-", "-1111-4000-8000-");
    let again = encode_records(&text, "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data;
    let second = run_with_fakes(&again, &publisher, Some((&store, HOUR)))
        .await
        .unwrap();
    assert_eq!(second.key_alerts_published, 0);
    assert_eq!(second.alerts_suppressed, 3);
    // A retry of the first batch sends nothing again.
    let retry = run_with_fakes(
        &sample("kms-key-pending-deletion.json"),
        &publisher,
        Some((&store, HOUR)),
    )
    .await
    .unwrap();
    assert_eq!(retry.key_alerts_published, 0);
    assert_eq!(retry.alerts_already_delivered, 3);
}

#[tokio::test]
async fn a_key_no_record_names_still_alerts_and_says_so() {
    let mut records: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(events_dir().join("records/kms-key-pending-deletion.json"))
            .unwrap(),
    )
    .unwrap();
    let record = &mut records["Records"][0];
    record["resources"] = serde_json::Value::Null;
    record["errorMessage"] = "Key is pending deletion.".into();
    let data = encode_records(
        &serde_json::json!({"Records": [record.clone()]}).to_string(),
        "aws-cloudtrail-logs",
    )
    .unwrap()
    .awslogs
    .data;
    let publisher = RecordingPublisher::default();
    let summary = run_with_fakes(&data, &publisher, None).await.unwrap();
    assert_eq!(summary.key_alerts_published, 1);
    let alert = &publisher.key_alerts()[0];
    assert_eq!(alert.document.key.name, "(not named in the record)");
    assert_eq!(alert.document.lookup.kind, "not_looked_up");
    assert!(alert.text.contains("the records do not name the key"));
}

/// moto's KMS for the key, its alias and its deletion date; moto's Secrets Manager for the
/// secrets under it; the fake Event history for who scheduled it.
#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn with_kms_the_alert_gives_aliases_purge_date_secrets_under_the_key_and_who_scheduled_it() {
    let Some(sdk) = emulator().await else { return };
    let kms = aws_sdk_kms::Client::new(&sdk);
    let created = kms.create_key().send().await.unwrap();
    let metadata = created.key_metadata().unwrap();
    let (key_id, key_arn) = (
        metadata.key_id().to_owned(),
        metadata.arn().unwrap().to_owned(),
    );
    let alias = format!("alias/{}", unique("orders"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut under_key = Vec::new();
    for (name, kms_key_id) in [
        (unique("by-id"), key_id.clone()),
        (unique("by-alias"), alias.clone()),
    ] {
        let arn = secrets_manager
            .create_secret()
            .name(&name)
            .kms_key_id(kms_key_id)
            .secret_string("s3cr3t")
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        under_key.push(arn);
    }
    secrets_manager
        .create_secret()
        .name(unique("default-key"))
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap();
    // moto answers 500 to ScheduleKeyDeletion given an ARN (KMS takes either): the id.
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();

    let schedule = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/Alice",
                         "accountId": "123456789012", "userName": "Alice"},
        "eventTime": "2026-11-18T10:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "ScheduleKeyDeletion",
        "awsRegion": "us-east-1",
        "requestParameters": {"pendingWindowInDays": 7, "keyId": key_id},
        "responseElements": {"keyId": key_arn, "keyState": "PendingDeletion"},
        "eventID": unique("schedule"),
        "resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
        "recipientAccountId": "123456789012"
    });
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(schedule)]);
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);

    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(&sdk);
    let keys = KmsKeys::new(&sdk, None);
    let mut ports = Adapters::new(&publisher, &secrets);
    ports.keys = &keys;
    ports.key_secrets = &secrets;
    ports.history = &history;
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    // The key's deletion date is moto's (a week from the real clock): read it from there.
    options.now = std::time::SystemTime::now();
    let summary = handle_batch(&sample_records_for(&key_arn), &ports, &options)
        .await
        .unwrap();
    assert_eq!(summary.key_alerts_published, 1, "{summary:?}");
    let alert = &publisher.key_alerts()[0];
    let document = &alert.document;
    assert_eq!(
        document.lookup.kind, "described",
        "{}",
        document.lookup.detail
    );
    assert_eq!(document.key.aliases, std::slice::from_ref(&alias));
    assert_eq!(document.key.name, alias);
    assert_eq!(document.key.state.as_deref(), Some("PendingDeletion"));
    assert!(document.key.deletion_date.is_some());
    assert!(document.encrypted_secrets_listed, "{document:?}");
    for arn in &under_key {
        assert!(
            document.encrypted_secrets.iter().any(|s| &s.arn == arn),
            "{arn} in {:?}",
            document.encrypted_secrets
        );
    }
    assert!(
        !document.encrypted_secrets.iter().any(|s| s
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("default-key"))),
        "a secret under the default key is not this key's"
    );
    let scheduled = document.scheduled_by.as_ref().expect("who scheduled it");
    assert_eq!(
        scheduled.by_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/Alice")
    );
    assert!(alert.text.contains(&format!("Aliases:      {alias}")));
}

/// A key's tags, as created.
type Tags<'a> = &'a [(&'a str, &'a str)];

/// A key created in moto and scheduled for deletion (7 days), tagged `tags`: its id and ARN.
async fn key_pending_deletion(sdk: &SdkConfig, tags: &[(&str, &str)]) -> (String, String) {
    let kms = aws_sdk_kms::Client::new(sdk);
    let created = kms.create_key().send().await.unwrap();
    let metadata = created.key_metadata().unwrap();
    let (key_id, key_arn) = (
        metadata.key_id().to_owned(),
        metadata.arn().unwrap().to_owned(),
    );
    for (key, value) in tags {
        kms.tag_resource()
            .key_id(&key_id)
            .tags(
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(*key)
                    .tag_value(*value)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    // moto answers 500 to ScheduleKeyDeletion given an ARN (KMS takes either): the id.
    kms.schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    (key_id, key_arn)
}

async fn key_state(sdk: &SdkConfig, key_id: &str) -> String {
    let kms = aws_sdk_kms::Client::new(sdk);
    let described = kms.describe_key().key_id(key_id).send().await.unwrap();
    described
        .key_metadata()
        .unwrap()
        .key_state()
        .unwrap()
        .as_str()
        .to_owned()
}

/// The sample's Lambda use of `key_arn`, a few minutes ago (a use is confirmed only within a
/// day of now), with a fresh event id.
fn recent_use(key_arn: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(events_dir().join("records/kms-key-pending-deletion.json"))
        .unwrap()
        .replace(SAMPLE_KEY, key_arn);
    let records: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut record = records["Records"][0].clone();
    let minutes_ago = std::time::SystemTime::now() - Duration::from_secs(300);
    record["eventTime"] = humantime::format_rfc3339_seconds(minutes_ago)
        .to_string()
        .into();
    record["eventID"] = unique("use").into();
    record
}

/// One batch holding `record`, with moto's KMS and Secrets Manager, Event history from
/// `history_events`, under `policy`.
async fn run_restore(
    sdk: &SdkConfig,
    record: &serde_json::Value,
    history_events: Vec<serde_json::Value>,
    policy: &RestorePolicy,
    enable_after_cancel: bool,
) -> secret_deletion_alerts::key_alert::KeyAlert {
    let fake = FakeCloudTrail::start(history_events.into_iter().map(HistoryEvent::of).collect());
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(sdk);
    let keys = KmsKeys::new(sdk, None);
    let mut ports = Adapters::new(&publisher, &secrets);
    ports.keys = &keys;
    ports.key_restorer = &keys;
    ports.key_secrets = &secrets;
    ports.history = &history;
    let mut options = options(policy);
    options.now = std::time::SystemTime::now();
    options.verify_reads = secret_deletion_alerts::verification::VerifyReads::Restore;
    options.verify_wait = Duration::from_secs(1);
    options.verify_retry = Duration::from_millis(100);
    options.kms_enable_after_cancel = enable_after_cancel;
    let data = encode_records(
        &serde_json::json!({ "Records": [record] }).to_string(),
        "aws-cloudtrail-logs",
    )
    .unwrap()
    .awslogs
    .data;
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(summary.key_alerts_published, 1, "{summary:?}");
    publisher.key_alerts().remove(0)
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn restore_all_cancels_a_used_keys_deletion_once_event_history_confirms_the_use() {
    let Some(sdk) = emulator().await else { return };
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let record = recent_use(&key_arn);
    let alert = run_restore(
        &sdk,
        &record,
        vec![record.clone()],
        &RestorePolicy::All,
        false,
    )
    .await;
    assert_eq!(
        alert.document.restore_outcome.kind, "cancelled",
        "{}",
        alert.text
    );
    // CancelKeyDeletion leaves the key disabled; the alert says so and gives the command.
    assert_eq!(key_state(&sdk, &key_id).await, "Disabled");
    assert!(alert.text.contains("DISABLED"), "{}", alert.text);
    assert!(
        alert
            .text
            .contains(&format!("aws kms enable-key --key-id {key_id}")),
        "{}",
        alert.text
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn kms_enable_after_cancel_enables_the_key_too() {
    let Some(sdk) = emulator().await else { return };
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let record = recent_use(&key_arn);
    let alert = run_restore(
        &sdk,
        &record,
        vec![record.clone()],
        &RestorePolicy::All,
        true,
    )
    .await;
    assert_eq!(alert.document.restore_outcome.kind, "cancelled_and_enabled");
    assert_eq!(key_state(&sdk, &key_id).await, "Enabled");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_use_event_history_does_not_hold_cancels_nothing() {
    let Some(sdk) = emulator().await else { return };
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let record = recent_use(&key_arn);
    let alert = run_restore(&sdk, &record, vec![], &RestorePolicy::All, true).await;
    assert_eq!(
        alert.document.restore_outcome.kind, "not_cancelled_unverified",
        "{}",
        alert.text
    );
    assert_eq!(key_state(&sdk, &key_id).await, "PendingDeletion");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn an_intended_deletion_an_untagged_key_and_policy_off_cancel_nothing() {
    let Some(sdk) = emulator().await else { return };
    let tag = "secret-deletion-alerts:restore-on-access";
    let cases: [(Tags, RestorePolicy, &str); 3] = [
        (
            &[("secret-deletion-alerts:deletion-intended", "true")],
            RestorePolicy::All,
            "deletion_intended",
        ),
        (
            &[],
            RestorePolicy::Tagged {
                tag_key: tag.into(),
            },
            "not_cancelled",
        ),
        (&[(tag, "true")], RestorePolicy::Off, "not_cancelled"),
    ];
    for (tags, policy, outcome) in cases {
        let (key_id, key_arn) = key_pending_deletion(&sdk, tags).await;
        let record = recent_use(&key_arn);
        let alert = run_restore(&sdk, &record, vec![record.clone()], &policy, true).await;
        assert_eq!(
            alert.document.restore_outcome.kind, outcome,
            "{policy:?} {tags:?}: {}",
            alert.text
        );
        assert_eq!(key_state(&sdk, &key_id).await, "PendingDeletion");
    }
    // The tag the tagged policy looks for, on the key: cancelled.
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[(tag, "true")]).await;
    let record = recent_use(&key_arn);
    let tagged = RestorePolicy::Tagged {
        tag_key: tag.into(),
    };
    let alert = run_restore(&sdk, &record, vec![record.clone()], &tagged, false).await;
    assert_eq!(alert.document.restore_outcome.kind, "cancelled");
    assert_eq!(key_state(&sdk, &key_id).await, "Disabled");
}

/// The sample `ScheduleKeyDeletion` of `key_arn` by alice, a minute ago, with a fresh id.
fn recent_scheduling(key_arn: &str, key_id: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(events_dir().join("records/kms-key-deletion-scheduled.json"))
            .unwrap()
            .replace(SAMPLE_KEY, key_arn)
            .replace("1234abcd-12ab-34cd-56ef-1234567890ab", key_id);
    let records: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut record = records["Records"][0].clone();
    let minute_ago = std::time::SystemTime::now() - Duration::from_secs(60);
    record["eventTime"] = humantime::format_rfc3339_seconds(minute_ago)
        .to_string()
        .into();
    record["eventID"] = unique("schedule").into();
    record
}

/// A successful call on `key_arn` by the Lambda role of the sample, `hours` ago.
fn earlier_use(key_arn: &str, hours: u64) -> serde_json::Value {
    let mut record = recent_use(key_arn);
    record["errorCode"] = serde_json::Value::Null;
    record["errorMessage"] = serde_json::Value::Null;
    let then = std::time::SystemTime::now() - Duration::from_secs(hours * 3600);
    record["eventTime"] = humantime::format_rfc3339_seconds(then).to_string().into();
    record
}

/// One batch holding `scheduling`, with moto's KMS and Secrets Manager and Event history from
/// `history_events`, under `on_schedule`.
async fn run_scheduling(
    sdk: &SdkConfig,
    scheduling: &serde_json::Value,
    history_events: Vec<serde_json::Value>,
    on_schedule: secret_deletion_alerts::scheduled::OnSchedule,
) -> secret_deletion_alerts::key_alert::KeyAlert {
    let fake = FakeCloudTrail::start(history_events.into_iter().map(HistoryEvent::of).collect());
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let publisher = RecordingPublisher::default();
    let secrets = SecretsManager::new(sdk);
    let keys = KmsKeys::new(sdk, None);
    let mut ports = Adapters::new(&publisher, &secrets);
    ports.keys = &keys;
    ports.key_restorer = &keys;
    ports.key_secrets = &secrets;
    ports.history = &history;
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    options.now = std::time::SystemTime::now();
    options.on_schedule = on_schedule;
    options.verify_wait = Duration::from_secs(1);
    options.verify_retry = Duration::from_millis(100);
    let data = encode_records(
        &serde_json::json!({ "Records": [scheduling] }).to_string(),
        "aws-cloudtrail-logs",
    )
    .unwrap()
    .awslogs
    .data;
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(summary.deletions_scheduled, 1, "{summary:?}");
    assert_eq!(summary.scheduled_alerts_published, 1, "{summary:?}");
    publisher.key_alerts().remove(0)
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn scheduling_a_keys_deletion_names_who_used_it_in_the_days_before() {
    use secret_deletion_alerts::scheduled::OnSchedule;
    let Some(sdk) = emulator().await else { return };
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let scheduling = recent_scheduling(&key_arn, &key_id);
    let alert = run_scheduling(
        &sdk,
        &scheduling,
        vec![
            scheduling.clone(),
            earlier_use(&key_arn, 30),
            earlier_use(&key_arn, 5),
        ],
        OnSchedule::Alert,
    )
    .await;
    let document = &alert.document;
    assert_eq!(document.kind, "key_deletion_scheduled");
    assert_eq!(document.severity, "high", "{}", alert.text);
    let usage = document.usage.as_ref().unwrap();
    assert_eq!(usage.verification.kind, "confirmed", "{}", alert.text);
    assert!(usage.complete);
    assert_eq!(usage.uses, 2);
    assert_eq!(document.readers[0].workload.name, "orders-api");
    assert!(
        document
            .summary
            .contains("scheduled for deletion by alice, in use: orders-api used it 2 times"),
        "{}",
        document.summary
    );
    assert_eq!(document.restore_outcome.kind, "not_cancelled");
    assert_eq!(key_state(&sdk, &key_id).await, "PendingDeletion");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn the_guard_cancels_a_confirmed_scheduling_of_a_key_someone_else_uses_and_nothing_else() {
    use secret_deletion_alerts::scheduled::OnSchedule;
    let Some(sdk) = emulator().await else { return };
    // Used by orders-api, the scheduling confirmed: cancelled (the key left disabled).
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let scheduling = recent_scheduling(&key_arn, &key_id);
    let alert = run_scheduling(
        &sdk,
        &scheduling,
        vec![scheduling.clone(), earlier_use(&key_arn, 5)],
        OnSchedule::Guard,
    )
    .await;
    assert_eq!(
        alert.document.restore_outcome.kind, "cancelled",
        "{}",
        alert.text
    );
    assert_eq!(key_state(&sdk, &key_id).await, "Disabled");
    // The same, but Event history does not hold the scheduling: never cancelled.
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let scheduling = recent_scheduling(&key_arn, &key_id);
    let alert = run_scheduling(
        &sdk,
        &scheduling,
        vec![earlier_use(&key_arn, 5)],
        OnSchedule::Guard,
    )
    .await;
    assert_eq!(
        alert.document.restore_outcome.kind,
        "not_cancelled_unverified"
    );
    assert!(alert.subject.contains("UNVERIFIED"), "{}", alert.subject);
    assert_eq!(key_state(&sdk, &key_id).await, "PendingDeletion");
    // Nobody used it: left as it is, and low.
    let (key_id, key_arn) = key_pending_deletion(&sdk, &[]).await;
    let scheduling = recent_scheduling(&key_arn, &key_id);
    let alert = run_scheduling(
        &sdk,
        &scheduling,
        vec![scheduling.clone()],
        OnSchedule::Guard,
    )
    .await;
    assert_eq!(alert.document.restore_outcome.kind, "not_cancelled");
    assert_eq!(alert.document.severity, "low");
    assert_eq!(key_state(&sdk, &key_id).await, "PendingDeletion");
}
