//! A deletion being scheduled (`ON_SCHEDULE`): the `DeleteSecret` in a batch, confirmed by
//! Event history, and who read the secret in the days before, told at once; under `guard`,
//! the deletion cancelled for a reader that is neither expected nor the deleter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use secret_deletion_alerts::error::EventHistoryError;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, handle_batch};
use secret_deletion_alerts::memory_windows::MemoryWindows;
use secret_deletion_alerts::ports::{EventHistory, HistoryEvents, PageBudget, SecretAt};
use secret_deletion_alerts::restore::RestorePolicy;
use secret_deletion_alerts::scheduled::{OnSchedule, ScheduledAlert};
use serde_json::{Value, json};

use crate::common::hostile::payload;
use crate::common::{FakeSecrets, RecordingPublisher, events_dir, options, pending};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbCdEf";
const DELETER_ROLE: &str = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PlatformAdmin_0123456789abcdef as bob@example.com";

/// The sample's successful `DeleteSecret` (bob, 2026-11-20T10:02:00Z, 7-day window).
fn deletion() -> Value {
    let text =
        std::fs::read_to_string(events_dir().join("records/deletion-scheduled.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    file["Records"][0].clone()
}

/// A `GetSecretValue` of `secret` by the Lambda function `function` at `time`.
fn lambda_read(function: &str, secret: &str, time: &str, id: usize) -> Value {
    json!({
        "eventVersion": "1.09",
        "eventTime": time,
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "3.250.12.34",
        "userAgent": "aws-sdk-js/3.583.0 exec-env/AWS_Lambda_nodejs20.x",
        "requestParameters": { "secretId": secret },
        "eventID": format!("00000000-0000-4000-8000-{id:012}"),
        "recipientAccountId": "123456789012",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE{id}:{function}"),
            "arn": format!("arn:aws:sts::123456789012:assumed-role/{function}-role/{function}"),
            "accountId": "123456789012",
            "accessKeyId": "ASIAEXAMPLE000000001",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": format!("AROAEXAMPLE{id}"),
                    "arn": format!("arn:aws:iam::123456789012:role/{function}-role"),
                    "accountId": "123456789012",
                    "userName": format!("{function}-role")
                },
                "attributes": { "creationDate": time, "mfaAuthenticated": "false" }
            }
        }
    })
}

/// The deleter reading the secret before deleting it (through the same SSO role).
fn read_by_the_deleter(time: &str) -> Value {
    let mut read = lambda_read("x", "prod/orders/db", time, 900);
    read["userAgent"] = json!("aws-cli/2.22.4");
    read["userIdentity"] = deletion()["userIdentity"].clone();
    read
}

/// Event history in memory: the records given, `page_size` a page, newest first; each page
/// takes `page_time` (paced as CloudTrail is).
struct History {
    records: Vec<Value>,
    page_size: usize,
    page_time: Duration,
    pages_read: AtomicUsize,
}

impl History {
    fn of(records: Vec<Value>) -> Self {
        History {
            records,
            page_size: 50,
            page_time: Duration::from_millis(500),
            pages_read: AtomicUsize::new(0),
        }
    }
}

fn time_of(record: &Value) -> SystemTime {
    humantime::parse_rfc3339(record["eventTime"].as_str().unwrap()).unwrap()
}

#[async_trait::async_trait]
impl EventHistory for History {
    async fn event(
        &self,
        event_id: &str,
        _at: SecretAt<'_>,
    ) -> Result<Option<String>, EventHistoryError> {
        Ok(self
            .records
            .iter()
            .find(|r| r["eventID"] == event_id)
            .map(Value::to_string))
    }

    async fn scheduled_deletion(
        &self,
        _arn: &str,
        _name: &str,
        _deletion_date: SystemTime,
        _now: SystemTime,
        _at: SecretAt<'_>,
    ) -> Result<Option<secret_deletion_alerts::deletion::ScheduledDeletion>, EventHistoryError>
    {
        Ok(None)
    }

    async fn each_page(
        &self,
        events: HistoryEvents<'_>,
        range: (SystemTime, SystemTime),
        budget: PageBudget,
        _at: SecretAt<'_>,
        each_page: &mut (dyn FnMut(Vec<String>) + Send),
    ) -> Result<bool, EventHistoryError> {
        let mut found: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| match events {
                HistoryEvents::Named(name) => r["eventName"] == name,
                HistoryEvents::On(arn) => r["resources"]
                    .as_array()
                    .is_some_and(|resources| resources.iter().any(|x| x["ARN"] == arn)),
            })
            .filter(|r| (range.0..=range.1).contains(&time_of(r)))
            .collect();
        found.sort_by_key(|r| std::cmp::Reverse(time_of(r)));
        for (pages, page) in found.chunks(self.page_size).enumerate() {
            if pages >= budget.max_pages || tokio::time::Instant::now() >= budget.until {
                return Ok(false);
            }
            tokio::time::sleep(self.page_time).await;
            self.pages_read.fetch_add(1, Ordering::SeqCst);
            each_page(page.iter().map(|r| r.to_string()).collect());
        }
        Ok(true)
    }
}

static OFF: RestorePolicy = RestorePolicy::Off;

struct Run {
    publisher: RecordingPublisher,
    secrets: FakeSecrets,
    history: History,
    windows: Option<MemoryWindows>,
}

impl Run {
    fn new(history: Vec<Value>) -> Self {
        Run {
            publisher: RecordingPublisher::default(),
            secrets: FakeSecrets::with(&[(ARN, pending("prod/orders/db", 7, &[]))]),
            history: History::of(history),
            windows: None,
        }
    }

    async fn batch<'a>(
        &self,
        records: &[Value],
        set: impl FnOnce(&mut BatchOptions<'a>),
    ) -> Result<
        secret_deletion_alerts::handler::BatchSummary,
        secret_deletion_alerts::error::HandlerError,
    > {
        let mut ports = Adapters::new(&self.publisher, &self.secrets);
        ports.history = &self.history;
        if let Some(windows) = &self.windows {
            ports.windows = windows;
        }
        let mut options: BatchOptions<'a> = options(&OFF);
        options.verify_wait = Duration::from_secs(4);
        if self.windows.is_some() {
            options.alert_window = Some(Duration::from_secs(3600));
        }
        set(&mut options);
        let data = payload(&records.iter().map(Value::to_string).collect::<Vec<_>>());
        handle_batch(&data, &ports, &options).await
    }

    fn only_alert(&self) -> ScheduledAlert {
        let alerts = self.publisher.scheduled();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = alerts.into_iter().next().unwrap();
        validate(&alert);
        alert
    }
}

fn validate(alert: &ScheduledAlert) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scheduled-v1.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let document: Value = serde_json::from_str(&alert.document_json()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
    assert!(
        alert.subject.len() < 100 && alert.subject.is_ascii(),
        "{}",
        alert.subject
    );
}

/// docs/scheduled.md shows this very alert (the README points there): subject and email.
fn the_docs_sample_is(alert: &ScheduledAlert) {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scheduled.md"))
            .unwrap();
    let start = docs
        .find("```\nSubject: ")
        .expect("a sample email in docs/scheduled.md")
        + 4;
    let end = start + docs[start..].find("\n```").unwrap();
    let produced = format!("Subject: {}\n\n{}", alert.subject, alert.text);
    assert_eq!(
        &docs[start..end],
        produced.trim_end_matches('\n'),
        "docs/scheduled.md's sample is stale; the alert now reads:\n{produced}"
    );
}

fn reads_in_the_window() -> Vec<Value> {
    let mut records = vec![deletion()];
    for (i, hour) in (10..20).enumerate() {
        records.push(lambda_read(
            "orders-api",
            "prod/orders/db",
            &format!("2026-11-19T{hour}:00:00Z"),
            i,
        ));
    }
    records.push(lambda_read(
        "billing",
        "prod/billing/db",
        "2026-11-19T12:00:00Z",
        50,
    ));
    records.push(read_by_the_deleter("2026-11-20T09:58:00Z"));
    records
}

#[tokio::test(start_paused = true)]
async fn a_deletion_of_a_secret_read_in_the_window_alerts_high_naming_its_readers() {
    let run = Run::new(reads_in_the_window());
    let summary = run.batch(&[deletion()], |_| {}).await.unwrap();
    assert_eq!(summary.deletions_scheduled, 1);
    assert_eq!(summary.scheduled_alerts_published, 1);
    assert!(run.publisher.alerts().is_empty(), "no read alert");
    let alert = run.only_alert();
    let document = &alert.document;
    assert_eq!(document.severity, "high");
    assert_eq!(
        alert.subject,
        "HIGH: prod/orders/db scheduled for deletion by bob@example.com, in use: orders-api read it 10 times"
    );
    assert_eq!(alert.attributes["kind"], "deletion_scheduled");
    assert_eq!(alert.attributes["severity"], "high");
    assert_eq!(document.verification.kind, "confirmed");
    assert!(document.usage.complete);
    let readers: Vec<(&str, u64, bool)> = document
        .usage
        .readers
        .iter()
        .map(|r| (r.workload.name.as_str(), r.reads, r.deleter))
        .collect();
    assert_eq!(
        readers.len(),
        2,
        "the other secret's reader is not one: {readers:?}"
    );
    assert_eq!(readers[0], ("orders-api", 10, false));
    assert!(
        readers[1].2,
        "the deleter's own read is named so: {readers:?}"
    );
    assert_eq!(document.usage.readers[1].caller, DELETER_ROLE);
    assert_eq!(document.restore_outcome.kind, "guard_off");
    the_docs_sample_is(&alert);
    assert!(
        alert.text.contains("restore-secret --secret-id="),
        "{}",
        alert.text
    );
    assert!(alert.text.contains("INTENDED_DELETERS"));
    assert!(run.secrets.restores().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_deletion_of_a_secret_nobody_read_in_a_window_read_whole_is_low() {
    let run = Run::new(vec![
        deletion(),
        lambda_read("billing", "prod/billing/db", "2026-11-19T12:00:00Z", 1),
    ]);
    run.batch(&[deletion()], |_| {}).await.unwrap();
    let document = run.only_alert().document;
    assert_eq!(document.severity, "low");
    assert_eq!(
        serde_json::to_value(document.usage.verdict).unwrap(),
        "no_reads_seen"
    );
    assert!(document.usage.complete && document.usage.not_read.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_budget_that_runs_out_is_unknown_and_names_what_was_not_read() {
    // 120 reads of another secret, newest first, then this secret's older reads: the
    // deadline leaves time for a few pages only.
    let mut records = vec![deletion()];
    for i in 0..400 {
        let minute = i % 60;
        let hour = 10 + (i / 60) % 10;
        records.push(lambda_read(
            "billing",
            "prod/billing/db",
            &format!("2026-11-19T{hour:02}:{minute:02}:00Z"),
            i,
        ));
    }
    records.push(lambda_read(
        "orders-api",
        "prod/orders/db",
        "2026-11-14T10:00:00Z",
        999,
    ));
    let run = Run::new(records);
    run.batch(&[deletion()], |options| {
        options.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(10));
        options.deadline_reserve = Duration::from_secs(8);
    })
    .await
    .unwrap();
    let document = run.only_alert().document;
    assert_eq!(
        serde_json::to_value(document.usage.verdict).unwrap(),
        "unknown"
    );
    assert_eq!(document.severity, "medium");
    assert!(!document.usage.complete);
    let gap = document.usage.not_read.as_ref().unwrap();
    assert_eq!(gap.from, "2026-11-13T10:02:00Z");
    assert!(gap.to.as_str() > "2026-11-19", "{gap:?}");
    assert!(
        document
            .usage
            .stopped
            .as_deref()
            .unwrap()
            .contains("budget")
    );
    assert!(run.history.pages_read.load(Ordering::SeqCst) < 9);
}

#[tokio::test(start_paused = true)]
async fn readers_seen_before_the_budget_ran_out_are_named_and_the_gap_too() {
    let mut records = reads_in_the_window();
    for i in 0..400 {
        records.push(lambda_read(
            "billing",
            "prod/billing/db",
            &format!("2026-11-15T{:02}:{:02}:00Z", 10 + i / 60, i % 60),
            100 + i,
        ));
    }
    let run = Run::new(records);
    run.batch(&[deletion()], |options| {
        options.deadline = Some(tokio::time::Instant::now() + Duration::from_secs(10));
        options.deadline_reserve = Duration::from_secs(8);
    })
    .await
    .unwrap();
    let document = run.only_alert().document;
    assert_eq!(document.severity, "high");
    assert!(!document.usage.complete && document.usage.not_read.is_some());
    assert_eq!(document.usage.readers[0].workload.name, "orders-api");
}

#[tokio::test(start_paused = true)]
async fn a_forced_deletion_of_a_secret_in_use_is_critical_and_says_it_is_gone() {
    let mut forced = deletion();
    forced["requestParameters"] =
        json!({ "secretId": "prod/orders/db", "forceDeleteWithoutRecovery": true });
    let mut history = reads_in_the_window();
    history[0] = forced.clone();
    let run = Run::new(history);
    run.batch(&[forced], |options| options.on_schedule = OnSchedule::Guard)
        .await
        .unwrap();
    let alert = run.only_alert();
    assert_eq!(alert.document.severity, "critical");
    assert!(
        alert
            .subject
            .starts_with("CRITICAL: prod/orders/db deleted without recovery")
    );
    assert!(alert.text.contains("cannot be restored"), "{}", alert.text);
    assert_eq!(alert.document.restore_outcome.kind, "forced_deletion");
    assert!(run.secrets.restores().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_deletion_event_history_does_not_hold_is_unverified_and_never_guarded() {
    let mut history = reads_in_the_window();
    history.remove(0);
    let run = Run::new(history);
    run.batch(&[deletion()], |options| {
        options.on_schedule = OnSchedule::Guard
    })
    .await
    .unwrap();
    let alert = run.only_alert();
    assert!(
        alert.subject.starts_with("HIGH UNVERIFIED: "),
        "{}",
        alert.subject
    );
    assert_eq!(alert.document.verification.kind, "not_confirmed");
    assert_eq!(
        alert.document.restore_outcome.kind,
        "not_restored_unverified"
    );
    assert!(run.secrets.restores().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_record_bent_on_the_way_is_not_confirmed() {
    // The log group's copy names another caller than Event history's: not this deletion.
    let mut bent = deletion();
    bent["userIdentity"]["arn"] = json!("arn:aws:sts::123456789012:assumed-role/deploy/ci");
    let run = Run::new(reads_in_the_window());
    run.batch(&[bent], |options| options.on_schedule = OnSchedule::Guard)
        .await
        .unwrap();
    let alert = run.only_alert();
    assert_eq!(alert.document.verification.kind, "not_confirmed");
    assert!(alert.document.verification.detail.contains("caller"));
    assert!(run.secrets.restores().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_guard_cancels_a_deletion_an_unexpected_reader_still_reads() {
    let run = Run::new(reads_in_the_window());
    let summary = run
        .batch(&[deletion()], |options| {
            options.on_schedule = OnSchedule::Guard
        })
        .await
        .unwrap();
    assert_eq!(run.secrets.restores(), [ARN]);
    assert_eq!(summary.deletions_cancelled, 1);
    let alert = run.only_alert();
    assert_eq!(alert.document.restore_outcome.kind, "restored");
    assert!(
        alert
            .document
            .restore_outcome
            .detail
            .contains("orders-api-role")
    );
}

#[tokio::test(start_paused = true)]
async fn the_guard_leaves_a_deletion_by_an_intended_deleter() {
    let run = Run::new(reads_in_the_window());
    let intended = [glob::Pattern::new(
        "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_PlatformAdmin_*",
    )
    .unwrap()];
    run.batch(&[deletion()], |options| {
        options.on_schedule = OnSchedule::Guard;
        options.intended_deleters = &intended;
    })
    .await
    .unwrap();
    assert!(run.secrets.restores().is_empty());
    let alert = run.only_alert();
    assert_eq!(alert.document.restore_outcome.kind, "deletion_intended");
    assert_eq!(alert.document.severity, "high", "still told");
}

#[tokio::test(start_paused = true)]
async fn the_guard_leaves_a_deletion_of_a_secret_tagged_intended() {
    let mut run = Run::new(reads_in_the_window());
    run.secrets = FakeSecrets::with(&[(
        ARN,
        pending(
            "prod/orders/db",
            7,
            &[("secret-deletion-alerts:deletion-intended", "true")],
        ),
    )]);
    run.batch(&[deletion()], |options| {
        options.on_schedule = OnSchedule::Guard
    })
    .await
    .unwrap();
    assert!(run.secrets.restores().is_empty());
    assert_eq!(
        run.only_alert().document.restore_outcome.kind,
        "deletion_intended"
    );
}

#[tokio::test(start_paused = true)]
async fn expected_readers_and_the_deleter_alone_leave_the_deletion_and_alert_low() {
    let mut history = vec![deletion(), read_by_the_deleter("2026-11-20T09:58:00Z")];
    history.push(lambda_read(
        "backup",
        "prod/orders/db",
        "2026-11-19T03:00:00Z",
        5,
    ));
    let expected = secret_deletion_alerts::expected::ExpectedReaders::parse(
        r#"[{"secret": "prod/orders/db", "caller": "arn:aws:iam::123456789012:role/backup-role", "reason": "the nightly backup"}]"#,
    )
    .unwrap();
    let run = Run::new(history);
    run.batch(&[deletion()], |options| {
        options.on_schedule = OnSchedule::Guard;
        options.expected_readers = &expected;
    })
    .await
    .unwrap();
    assert!(run.secrets.restores().is_empty());
    let document = run.only_alert().document;
    assert_eq!(document.severity, "low");
    assert_eq!(document.restore_outcome.kind, "not_needed");
    assert!(document.usage.readers.iter().any(|r| r.expected.is_some()));
}

#[tokio::test(start_paused = true)]
async fn a_batch_with_a_deletion_and_a_pending_deletion_read_alerts_both() {
    let mut read = lambda_read("orders-api", "prod/orders/db", "2026-11-20T10:05:00Z", 77);
    read["errorCode"] = json!("InvalidRequestException");
    read["errorMessage"] =
        json!("You can't perform this operation on the secret because it was marked for deletion.");
    let run = Run::new(reads_in_the_window());
    run.batch(&[deletion(), read], |_| {}).await.unwrap();
    assert_eq!(run.publisher.alerts().len(), 1, "the read's alert");
    assert_eq!(run.only_alert().document.severity, "high");
}

#[tokio::test(start_paused = true)]
async fn a_failed_publish_fails_the_invocation_and_the_retry_sends_once() {
    let mut run = Run::new(reads_in_the_window());
    run.windows = Some(MemoryWindows::new());
    run.publisher = RecordingPublisher::failing_for(&["prod/orders/db"]);
    let failed = run.batch(&[deletion()], |_| {}).await;
    assert!(failed.is_err(), "Lambda retries the batch");
    run.publisher = RecordingPublisher::default();
    run.batch(&[deletion()], |_| {}).await.unwrap();
    assert_eq!(run.publisher.scheduled().len(), 1);
    let again = run.batch(&[deletion()], |_| {}).await.unwrap();
    assert_eq!(
        run.publisher.scheduled().len(),
        1,
        "a delivered alert is not sent again"
    );
    assert_eq!(again.alerts_already_delivered, 1);
}

#[tokio::test(start_paused = true)]
async fn off_leaves_deletions_alone() {
    let run = Run::new(reads_in_the_window());
    let summary = run
        .batch(&[deletion()], |options| {
            options.on_schedule = OnSchedule::Off
        })
        .await
        .unwrap();
    assert_eq!(summary.deletions_scheduled, 1);
    assert!(run.publisher.scheduled().is_empty());
}

#[tokio::test(start_paused = true)]
async fn two_hundred_deletions_read_event_history_once_and_alert_each() {
    let mut batch = Vec::new();
    let mut secrets = Vec::new();
    for i in 0..200 {
        let mut one = deletion();
        let name = format!("app/{i}");
        let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf");
        one["eventID"] = json!(format!("5d1e8a2b-7c3f-4e9a-8b6d-{i:012}"));
        one["requestParameters"]["secretId"] = json!(name);
        one["responseElements"]["arn"] = json!(arn);
        one["responseElements"]["name"] = json!(name);
        secrets.push((arn, pending(&name, 7, &[])));
        batch.push(one);
    }
    let mut history = batch.clone();
    history.extend(reads_in_the_window().into_iter().skip(1));
    let mut run = Run::new(history);
    run.secrets = FakeSecrets::with(
        &secrets
            .iter()
            .map(|(arn, state)| (arn.as_str(), state.clone()))
            .collect::<Vec<_>>(),
    );
    let summary = run.batch(&batch, |_| {}).await.unwrap();
    assert_eq!(summary.scheduled_alerts_published, 200);
    assert_eq!(
        run.history.pages_read.load(Ordering::SeqCst),
        1,
        "one look-back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_record_forged_under_a_genuine_event_id_cannot_take_its_alert() {
    // The forgery comes first in the batch, with the genuine deletion's event id.
    let mut forged = deletion();
    forged["userIdentity"]["arn"] = json!("arn:aws:sts::123456789012:assumed-role/deploy/ci");
    let mut run = Run::new(reads_in_the_window());
    run.windows = Some(MemoryWindows::new());
    run.batch(&[forged, deletion()], |options| {
        options.on_schedule = OnSchedule::Guard;
    })
    .await
    .unwrap();
    let alerts = run.publisher.scheduled();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let genuine: Vec<_> = alerts
        .iter()
        .filter(|a| a.document.verification.kind == "confirmed")
        .collect();
    assert_eq!(genuine.len(), 1);
    assert_eq!(genuine[0].document.restore_outcome.kind, "restored");
}

#[tokio::test(start_paused = true)]
async fn the_chat_message_threads_per_deletion_and_pings_no_one() {
    let mut hostile = reads_in_the_window();
    hostile.push(lambda_read(
        "<!channel>",
        "prod/orders/db",
        "2026-11-19T21:00:00Z",
        60,
    ));
    let run = Run::new(hostile);
    run.batch(&[deletion()], |_| {}).await.unwrap();
    let alert = run.only_alert();
    let chat = alert.chat_notification();
    let text = serde_json::to_string(&chat).unwrap();
    assert!(!text.contains("<!channel>"), "{text}");
    assert!(
        chat.content
            .title
            .starts_with(":warning: HIGH: prod/orders/db")
    );
    assert_eq!(chat.metadata.thread_id, alert.dedup_key());
    assert_eq!(chat.metadata.event_type, "SecretDeletionScheduled");
    assert!(
        chat.content.next_steps[0].contains("`aws secretsmanager restore-secret"),
        "{:?}",
        chat.content.next_steps
    );
}

#[tokio::test]
async fn through_the_sdk_event_history_confirms_and_answers_who_read_it() {
    use crate::common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
    use crate::common::moto::fake_endpoint;
    use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;

    let fake = FakeCloudTrail::start(
        reads_in_the_window()
            .into_iter()
            .map(HistoryEvent::of)
            .collect(),
    );
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[(ARN, pending("prod/orders/db", 7, &[]))]);
    let mut ports = Adapters::new(&publisher, &secrets);
    ports.history = &history;
    let mut options = options(&OFF);
    options.verify_wait = Duration::from_secs(2);
    let data = payload(&[deletion().to_string()]);
    handle_batch(&data, &ports, &options).await.unwrap();
    let alerts = publisher.scheduled();
    assert_eq!(alerts.len(), 1);
    let document = &alerts[0].document;
    assert_eq!(document.verification.kind, "confirmed");
    assert_eq!(document.severity, "high");
    assert!(document.usage.complete);
    assert_eq!(document.usage.readers[0].reads, 10);
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| {
            r["LookupAttributes"][0]["AttributeKey"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(asked.contains(&"EventId".to_owned()), "{asked:?}");
    assert!(asked.contains(&"EventName".to_owned()), "{asked:?}");
}
