//! What the function says when it meets records, retries and outages that the samples do not
//! have: every behaviour here once made it say something false, or nothing at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

// The batch's deadline is on tokio's clock, which these tests pause: no margin races real time.
use tokio::time::Instant;

use common::hostile::{payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, options, pending};
use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::error::{HandlerError, PublishError, PublishFailure, RestoreError};
use secret_deletion_alerts::handler::{Adapters, BatchOptions, BatchSummary, handle_batch};
use secret_deletion_alerts::metrics::emf_line;
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::ports::NoAccountNames;
use secret_deletion_alerts::ports::{NoCopies, NoKeys};
use secret_deletion_alerts::restore::RestorePolicy;

const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

async fn run(
    data: &str,
    secrets: &FakeSecrets,
    policy: &RestorePolicy,
) -> (Result<BatchSummary, HandlerError>, Vec<Alert>) {
    let publisher = RecordingPublisher::default();
    let ports = Adapters::new(&publisher, secrets);
    let result = handle_batch(data, &ports, &options(policy)).await;
    (result, publisher.alerts())
}

/// A read whose record names the secret only as CloudTrail's recent records do, or not at all.
fn read_with(
    request_parameters: serde_json::Value,
    resources: Option<serde_json::Value>,
) -> String {
    let mut record = pending_deletion_read("unused", "aws-sdk-java/2.25", "worker");
    record["requestParameters"] = request_parameters;
    if let Some(resources) = resources {
        record["resources"] = resources;
    }
    record.to_string()
}

#[tokio::test]
async fn a_record_with_null_request_parameters_takes_the_secret_from_resources() {
    let resources = serde_json::json!([{
        "accountId": "123456789012", "type": "AWS::SecretsManager::Secret", "ARN": SECRET_ARN
    }]);
    let secrets = FakeSecrets::with(&[(SECRET_ARN, pending("prod/db", 6, &[]))]);
    for parameters in [serde_json::Value::Null, serde_json::json!({})] {
        let data = payload(&[read_with(parameters, Some(resources.clone()))]);
        let (result, alerts) = run(&data, &secrets, &RestorePolicy::Off).await;
        result.unwrap();
        assert_eq!(alerts[0].document.secret.display_name, "prod/db");
        assert_eq!(alerts[0].attributes["secret"], "prod/db");
        assert_eq!(alerts[0].document.secret.state, "pending_deletion");
    }
    assert_eq!(secrets.lookups(), [SECRET_ARN, SECRET_ARN]);
}

#[tokio::test]
async fn a_record_that_names_no_secret_is_never_looked_up_restored_or_called_purged() {
    // An unknown secret id would come back "purged" from this fake, as from DescribeSecret.
    let secrets = FakeSecrets::default();
    let data = payload(&[read_with(serde_json::Value::Null, None)]);
    let (result, alerts) = run(&data, &secrets, &RestorePolicy::All).await;
    assert_eq!(result.unwrap().alerts_published, 1);
    assert!(secrets.lookups().is_empty());
    assert!(secrets.restores().is_empty());
    let alert = &alerts[0];
    let document = &alert.document;
    assert_eq!(document.secret.state, "not_named");
    assert_eq!(document.secret.id_as_named, None);
    assert_eq!(document.severity.as_str(), "high");
    assert_eq!(document.restore.outcome, "not_restored");
    assert_eq!(
        document.restore.summary,
        "not restored (the record does not name the secret)"
    );
    assert_eq!(document.next_steps.restore_command, None);
    assert!(
        document.next_steps.find_the_secret[0]
            .contains("AttributeKey=EventId,AttributeValue=0a5c2b4e-1d3f-4e6a-8b7c-9d0e1f2a3b99"),
        "{:?}",
        document.next_steps.find_the_secret
    );
    assert!(
        document.next_steps.find_the_secret[1]
            .contains("AttributeKey=AccessKeyId,AttributeValue=ASIAEXAMPLEHOSTILE01")
    );
    assert!(!alert.text.contains("purged"), "{}", alert.text);
    assert!(!alert.text.contains("restore-secret"), "{}", alert.text);
    assert!(alert.subject.starts_with("HIGH: "), "{}", alert.subject);
}

#[tokio::test]
async fn a_read_whose_account_id_is_not_12_digits_still_alerts_and_nothing_acts_in_it() {
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    for account in ["XXXXXXXXXXXX", "123", "1234567890123"] {
        let mut record = pending_deletion_read("prod/db", "aws-sdk-java/2.25", "worker");
        record["recipientAccountId"] = account.into();
        record["userIdentity"]["accountId"] = account.into();
        let data = payload(&[record.to_string()]);
        let (result, alerts) = run(&data, &secrets, &RestorePolicy::All).await;
        let summary = result.unwrap();
        assert_eq!(
            (summary.alerts_published, summary.malformed),
            (1, 0),
            "{account}"
        );
        let alert = &alerts[0];
        assert!(
            alert
                .text
                .contains("the secret's account id (not 12 digits)"),
            "{}",
            alert.text
        );
        assert!(
            alert
                .text
                .contains("the account id is not the 12 digits AWS writes"),
            "{}",
            alert.text
        );
        assert_eq!(alert.document.restore.outcome, "not_restored");
    }
    assert!(secrets.lookups().is_empty(), "nothing looked up");
    assert!(secrets.restores().is_empty(), "nothing restored");
}

#[tokio::test]
async fn a_read_with_a_12_digit_account_is_looked_up_as_before() {
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let record = pending_deletion_read("prod/db", "aws-sdk-java/2.25", "worker");
    let data = payload(&[record.to_string()]);
    let (result, alerts) = run(&data, &secrets, &RestorePolicy::Off).await;
    assert_eq!(result.unwrap().alerts_published, 1);
    assert_eq!(secrets.lookups(), ["prod/db"]);
    assert!(
        !alerts[0].text.contains("not 12 digits"),
        "{}",
        alerts[0].text
    );
}

#[tokio::test]
async fn a_restore_refused_as_not_scheduled_reports_no_longer_pending() {
    let mut secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    secrets.restore_error = Some(RestoreError::NotPendingDeletion);
    let data = payload(&[pending_deletion_read("prod/db", "ua", "s").to_string()]);
    let (result, alerts) = run(&data, &secrets, &RestorePolicy::All).await;
    assert_eq!(result.unwrap().restored, 0);
    assert_eq!(alerts[0].document.restore.outcome, "no_longer_pending");
    assert_eq!(alerts[0].attributes["restore_outcome"], "no_longer_pending");
}

#[tokio::test]
async fn a_failed_batch_still_carries_its_summary_for_the_metric_line() {
    let publisher = RecordingPublisher::failing_for(&["prod/db"]);
    let secrets = FakeSecrets::default();
    let ports = Adapters::new(&publisher, &secrets);
    let records = [
        pending_deletion_read("prod/db", "ua", "s").to_string(),
        "not json".to_owned(),
    ];
    let policy = RestorePolicy::Off;
    let error = handle_batch(&payload(&records), &ports, &options(&policy))
        .await
        .unwrap_err();
    let summary = error.summary().expect("a read batch carries its summary");
    assert_eq!(
        (
            summary.matched,
            summary.alerts_published,
            summary.alerts_undelivered,
            summary.malformed
        ),
        (1, 0, 1, 1)
    );
    let line: serde_json::Value = serde_json::from_str(&emf_line(summary, 0)).unwrap();
    assert_eq!(line["AttemptsToAccessDeletedSecrets"], 1);
    assert_eq!(line["AlertsUndelivered"], 1);
    assert_eq!(line["RecordsMalformed"], 1);
}

#[tokio::test]
async fn a_region_that_is_not_a_region_name_never_reaches_a_client() {
    let mut by_region = pending_deletion_read("prod/db", "ua", "s");
    by_region["awsRegion"] = "us-east-1.attacker.example".into();
    let by_arn = pending_deletion_read(
        "arn:aws:secretsmanager:evil.example#:123456789012:secret:other-AbCdEf",
        "ua",
        "s",
    );
    let mut by_arn = by_arn;
    by_arn["eventID"] = "event-by-arn".into();
    let mut good = pending_deletion_read("prod/good", "ua", "s");
    good["awsRegion"] = "eu-west-1".into();
    good["eventID"] = "another-event".into();
    let secrets = FakeSecrets::with(&[("prod/good", pending("prod/good", 6, &[]))]);
    let data = payload(&[by_region.to_string(), by_arn.to_string(), good.to_string()]);
    let (result, alerts) = run(&data, &secrets, &RestorePolicy::All).await;
    assert_eq!(result.unwrap().alerts_published, 3);
    assert_eq!(secrets.lookups(), ["prod/good"]);
    assert_eq!(
        *secrets.regions.lock().unwrap(),
        [Some("eu-west-1".to_owned())]
    );
    let refused: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.document.secret.state == "not_looked_up")
        .collect();
    assert_eq!(refused.len(), 2);
    for alert in refused {
        assert!(
            alert
                .document
                .secret
                .state_detail
                .contains("is not an AWS region name"),
            "{}",
            alert.document.secret.state_detail
        );
        assert_eq!(alert.document.restore.outcome, "not_restored");
        let command = alert
            .document
            .next_steps
            .restore_command
            .as_deref()
            .unwrap();
        assert!(!command.contains("--region"), "{command}");
    }
}

/// A publisher that takes `delay` per alert (or never answers) and records how many alerts
/// were in flight at once.
struct SlowPublisher {
    delay: Option<Duration>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    delivered: Mutex<Vec<String>>,
}

impl SlowPublisher {
    fn new(delay: Option<Duration>) -> Self {
        SlowPublisher {
            delay,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            delivered: Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl AlertPublisher for SlowPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        match self.delay {
            Some(delay) => tokio::time::sleep(delay).await,
            None => std::future::pending::<()>().await,
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.delivered
            .lock()
            .unwrap()
            .push(alert.document.secret.display_name.clone());
        Ok(())
    }

    async fn publish_scheduled(
        &self,
        _alert: &secret_deletion_alerts::scheduled::ScheduledAlert,
    ) -> Result<(), PublishError> {
        Ok(())
    }

    async fn publish_key_use(
        &self,
        _alert: &secret_deletion_alerts::key_alert::KeyAlert,
    ) -> Result<(), PublishError> {
        Ok(())
    }
}

fn many_secrets(count: usize) -> String {
    let records: Vec<String> = (0..count)
        .map(|i| {
            let mut record = pending_deletion_read(&format!("app/secret-{i:02}"), "ua", "s");
            record["eventID"] = format!("event-{i:02}").into();
            record.to_string()
        })
        .collect();
    payload(&records)
}

async fn run_slow(
    data: &str,
    publisher: &SlowPublisher,
    change: impl FnOnce(&mut BatchOptions<'_>),
) -> Result<BatchSummary, HandlerError> {
    let secrets = FakeSecrets::default();
    let ports = Adapters::new(publisher, &secrets);
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    change(&mut options);
    handle_batch(data, &ports, &options).await
}

#[tokio::test(start_paused = true)]
async fn the_secrets_of_a_batch_are_handled_concurrently_within_the_bound() {
    let publisher = SlowPublisher::new(Some(Duration::from_millis(20)));
    let summary = run_slow(&many_secrets(12), &publisher, |o| o.concurrency = 4)
        .await
        .unwrap();
    assert_eq!(summary.alerts_published, 12);
    assert_eq!(publisher.most_in_flight.load(Ordering::SeqCst), 4);
    // Delivered in any order; reported in the batch's order.
    assert_eq!(summary.delivered.len(), 12);
}

#[tokio::test(start_paused = true)]
async fn no_secret_is_started_when_the_deadline_is_too_near_and_the_error_names_them() {
    let publisher = SlowPublisher::new(Some(Duration::from_millis(1)));
    let error = run_slow(&many_secrets(3), &publisher, |o| {
        o.deadline = Some(Instant::now() + Duration::from_secs(5));
        o.deadline_reserve = Duration::from_secs(30);
    })
    .await
    .unwrap_err();
    assert!(publisher.delivered.lock().unwrap().is_empty());
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        message.starts_with("3 of 3 alerts were not delivered"),
        "{message}"
    );
    assert!(
        message.contains("not delivered: app/secret-00, app/secret-01, app/secret-02"),
        "{message}"
    );
    assert!(
        message.contains("not started (the invocation's deadline was near)"),
        "{message}"
    );
    assert_eq!(error.summary().unwrap().alerts_undelivered, 3);
}

#[tokio::test(start_paused = true)]
async fn alerts_still_in_flight_at_the_deadline_are_cut_off_and_named() {
    // A publish that never answers; the deadline 0.6 s away (0.5 s of it kept back).
    let publisher = SlowPublisher::new(None);
    let started = Instant::now();
    let error = run_slow(&many_secrets(2), &publisher, |o| {
        o.deadline = Some(Instant::now() + Duration::from_millis(600));
        o.deadline_reserve = Duration::ZERO;
    })
    .await
    .unwrap_err();
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        message.contains("cut off in flight (the invocation's deadline was near)"),
        "{message}"
    );
    let HandlerError::Undelivered { failed, first, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*failed, 2);
    assert_eq!(first.cause, PublishFailure::Deadline("cut off in flight"));
    // The deadline ends the wait (on the paused clock: exactly at it, less the margin).
    assert!(started.elapsed() <= Duration::from_millis(600));
}

/// What one SDK call takes at its worst in the test below: its operation timeout.
const OPERATION: Duration = Duration::from_millis(40);

/// Every adapter at its worst: each call takes the operation timeout, and Event history's
/// deletion lookup would take longer than its limit.
struct AtTheirWorst {
    secrets: FakeSecrets,
    windows: secret_deletion_alerts::memory_windows::MemoryWindows,
}

#[async_trait::async_trait]
impl secret_deletion_alerts::ports::SecretInspector for AtTheirWorst {
    async fn inspect(
        &self,
        secret_id: &str,
        at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> secret_deletion_alerts::restore::SecretState {
        tokio::time::sleep(OPERATION).await;
        self.secrets.inspect(secret_id, at).await
    }
}

#[async_trait::async_trait]
impl secret_deletion_alerts::ports::SecretRestorer for AtTheirWorst {
    async fn restore(
        &self,
        arn: &str,
        at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> Result<(), RestoreError> {
        tokio::time::sleep(OPERATION).await;
        self.secrets.restore(arn, at).await
    }
}

#[async_trait::async_trait]
impl secret_deletion_alerts::ports::EventHistory for AtTheirWorst {
    async fn event(
        &self,
        _event_id: &str,
        _at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> Result<Option<String>, secret_deletion_alerts::error::EventHistoryError> {
        tokio::time::sleep(OPERATION).await;
        Ok(None)
    }

    async fn scheduled_deletion(
        &self,
        _arn: &str,
        _name: &str,
        _deletion_date: std::time::SystemTime,
        _now: std::time::SystemTime,
        _at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> Result<
        Option<secret_deletion_alerts::deletion::ScheduledDeletion>,
        secret_deletion_alerts::error::EventHistoryError,
    > {
        std::future::pending().await
    }

    async fn each_page(
        &self,
        _events: secret_deletion_alerts::ports::HistoryEvents<'_>,
        _range: (std::time::SystemTime, std::time::SystemTime),
        _budget: secret_deletion_alerts::ports::PageBudget,
        _at: secret_deletion_alerts::ports::SecretAt<'_>,
        _each_page: &mut (dyn FnMut(Vec<String>) + Send),
    ) -> Result<bool, secret_deletion_alerts::error::EventHistoryError> {
        std::future::pending().await
    }
}

#[async_trait::async_trait]
impl secret_deletion_alerts::ports::AlertWindows for AtTheirWorst {
    async fn claim(
        &self,
        claim: &secret_deletion_alerts::window::WindowClaim,
    ) -> Result<
        secret_deletion_alerts::window::WindowVerdict,
        secret_deletion_alerts::error::WindowStateError,
    > {
        tokio::time::sleep(OPERATION).await;
        self.windows.claim(claim).await
    }

    async fn confirm(
        &self,
        key: &secret_deletion_alerts::window::WindowKey,
        claim_key: &str,
        at: std::time::SystemTime,
    ) -> Result<(), secret_deletion_alerts::error::WindowStateError> {
        tokio::time::sleep(OPERATION).await;
        self.windows.confirm(key, claim_key, at).await
    }

    async fn release(
        &self,
        key: &secret_deletion_alerts::window::WindowKey,
        claim_key: &str,
    ) -> Result<(), secret_deletion_alerts::error::WindowStateError> {
        tokio::time::sleep(OPERATION).await;
        self.windows.release(key, claim_key).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_secret_started_just_inside_the_reserve_completes_with_every_call_at_its_worst() {
    let worst = AtTheirWorst {
        secrets: FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]),
        windows: secret_deletion_alerts::memory_windows::MemoryWindows::new(),
    };
    let publisher = SlowPublisher::new(Some(OPERATION));
    let ports = Adapters {
        publisher: &publisher,
        inspector: &worst,
        restorer: &worst,
        windows: &worst,
        history: &worst,
        accounts: &NoAccountNames,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let policy = RestorePolicy::All;
    let mut options = options(&policy);
    options.verify_reads = secret_deletion_alerts::verification::VerifyReads::Always;
    options.alert_window = Some(Duration::from_secs(3600));
    options.deletion_lookup_limit = OPERATION;
    options.operation_timeout = OPERATION;
    options.deadline_reserve = secret_deletion_alerts::handler::secret_reserve(OPERATION)
        - secret_deletion_alerts::config::DEFAULT_DELETION_LOOKUP_LIMIT
        + OPERATION;
    // The margin kept back to report (0.5 s), the reserve, and a hair more: the secret starts.
    options.deadline = Some(
        Instant::now() + Duration::from_millis(500) + options.deadline_reserve + OPERATION / 4,
    );
    let data = payload(&[pending_deletion_read("prod/db", "ua", "worker").to_string()]);
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(
        (summary.alerts_published, summary.alerts_undelivered),
        (1, 0)
    );
    assert_eq!(*publisher.delivered.lock().unwrap(), ["prod/db"]);
}
