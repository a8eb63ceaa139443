//! CloudTrail Event history as the function uses it, through the real SDK against a fake
//! CloudTrail on 127.0.0.1 (moto has no `LookupEvents`): who scheduled the deletion, and the
//! read confirmed before anything is restored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
use common::moto::fake_endpoint;
use common::{FakeSecrets, RecordingPublisher, events_dir, options, pending};
use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::encode_records;
use secret_deletion_alerts::ports::NoAccountNames;
use secret_deletion_alerts::ports::NoWindows;
use secret_deletion_alerts::ports::{NoCopies, NoKeys};
use secret_deletion_alerts::restore::RestorePolicy;
use secret_deletion_alerts::verification::VerifyReads;

/// The IAM-user sample's read of prod/db, as the log group and Event history both hold it.
fn the_read() -> serde_json::Value {
    let text = std::fs::read_to_string(events_dir().join("records/iam-user-pending-deletion.json"))
        .unwrap();
    let records: serde_json::Value = serde_json::from_str(&text).unwrap();
    records["Records"][0].clone()
}

fn delete_secret(time: &str, response: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "eventTime": time,
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "DeleteSecret",
        "awsRegion": "us-east-1",
        "eventID": format!("delete-{time}"),
        "recipientAccountId": "123456789012",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "123456789012",
                         "arn": "arn:aws:iam::123456789012:user/alice"},
        "requestParameters": {"secretId": "prod/db", "recoveryWindowInDays": 7},
        "responseElements": response,
    })
}

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

/// One invocation of the batch holding `read`, with Event history from `fake`.
async fn invoke(
    fake: &FakeCloudTrail,
    read: &serde_json::Value,
    policy: &RestorePolicy,
    change: impl FnOnce(&mut BatchOptions<'_>),
) -> (BatchSummary, Alert, FakeSecrets) {
    invoke_reads(fake, std::slice::from_ref(read), policy, change).await
}

/// One invocation of the batch holding `reads`, with Event history from `fake`.
async fn invoke_reads(
    fake: &FakeCloudTrail,
    reads: &[serde_json::Value],
    policy: &RestorePolicy,
    change: impl FnOnce(&mut BatchOptions<'_>),
) -> (BatchSummary, Alert, FakeSecrets) {
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let publisher = RecordingPublisher::default();
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let ports = Adapters {
        publisher: &publisher,
        inspector: &secrets,
        restorer: &secrets,
        windows: &NoWindows,
        history: &history,
        accounts: &NoAccountNames,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let mut options = options(policy);
    options.verify_reads = VerifyReads::Restore;
    options.verify_wait = Duration::from_secs(1);
    options.verify_retry = Duration::from_millis(100);
    change(&mut options);
    let records = serde_json::json!({ "Records": reads }).to_string();
    let data = encode_records(&records, "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data;
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    let alert = publisher.alerts().remove(0);
    (summary, alert, secrets)
}

#[tokio::test]
async fn the_alert_says_who_scheduled_the_deletion() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"arn": ARN, "name": "prod/db", "deletionDate": 1_795_255_320.0}),
    ))]);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    let deletion = &alert.document.deletion_scheduled;
    assert_eq!(deletion.status, "found");
    assert_eq!(deletion.recovery_window_days, Some(7));
    assert_eq!(deletion.at.as_deref(), Some("2026-11-14T10:02:00Z"));
    assert!(
        alert.text.contains(
            "Scheduled:      Deletion scheduled by IAM user alice (arn:aws:iam::123456789012:user/alice) \
             on 2026-11-14T10:02:00Z with a 7-day recovery window; purge on 2026-11-21T10:02:00Z."
        ),
        "{}",
        alert.text
    );
    // One lookup attribute per call, within the recovery windows before the purge: by the
    // secret's ARN first, then every DeleteSecret.
    let requests = fake.requests();
    assert_eq!(
        requests[0]["LookupAttributes"][0]["AttributeKey"],
        "ResourceName"
    );
    assert_eq!(requests[0]["LookupAttributes"][0]["AttributeValue"], ARN);
    assert_eq!(
        requests[1]["LookupAttributes"][0]["AttributeKey"],
        "EventName"
    );
    assert_eq!(
        requests[1]["LookupAttributes"][0]["AttributeValue"],
        "DeleteSecret"
    );
    assert!(requests[1]["StartTime"].as_f64().is_some());
}

/// An insider's own secret `name`, created and deleted after the real deletion.
fn decoy_deletion(time: &str, secret_id: &str) -> serde_json::Value {
    let mut record = delete_secret(
        time,
        serde_json::json!({
            "arn": format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret_id}-Zz9Zz9"),
        }),
    );
    record["eventID"] = format!("decoy-{secret_id}-{time}").into();
    record["requestParameters"]["secretId"] = secret_id.into();
    record["userIdentity"]["userName"] = "mallory".into();
    record["userIdentity"]["arn"] = "arn:aws:iam::123456789012:user/mallory".into();
    record
}

#[tokio::test]
async fn a_decoy_deletion_of_a_prefix_of_the_arn_does_not_become_the_deleter() {
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(delete_secret(
            "2026-11-14T10:02:00Z",
            serde_json::json!({"arn": ARN, "name": "prod/db"}),
        )),
        HistoryEvent::of(decoy_deletion("2026-11-14T11:00:00Z", "a")),
        HistoryEvent::of(decoy_deletion("2026-11-14T11:01:00Z", "prod")),
    ]);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    let deletion = &alert.document.deletion_scheduled;
    assert_eq!(deletion.status, "found");
    assert_eq!(deletion.at.as_deref(), Some("2026-11-14T10:02:00Z"));
    assert!(!alert.text.contains("mallory"), "{}", alert.text);
}

#[tokio::test]
async fn a_flood_of_later_deletions_does_not_push_the_real_one_out() {
    let mut events = vec![HistoryEvent::of(delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"arn": ARN, "name": "prod/db"}),
    ))];
    // Three pages of other secrets' deletions, all newer than the real one.
    events.extend((0..120).map(|i| {
        HistoryEvent::of(decoy_deletion(
            &format!("2026-11-15T10:{:02}:{:02}Z", i / 60, i % 60),
            &format!("junk-{i}"),
        ))
    }));
    let fake = FakeCloudTrail::start(events);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    let deletion = &alert.document.deletion_scheduled;
    assert_eq!(deletion.status, "found", "{}", alert.text);
    assert_eq!(deletion.at.as_deref(), Some("2026-11-14T10:02:00Z"));
}

#[tokio::test]
async fn a_deletion_event_history_indexes_under_the_arn_is_found_in_one_call() {
    let mut record = delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"arn": ARN, "name": "prod/db"}),
    );
    record["resources"] = serde_json::json!([{"ARN": ARN, "type": "AWS::SecretsManager::Secret"}]);
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(record)]);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    assert_eq!(alert.document.deletion_scheduled.status, "found");
    let lookups: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r["LookupAttributes"][0]["AttributeKey"] != "EventId")
        .collect();
    assert_eq!(lookups.len(), 1, "{lookups:?}");
}

#[tokio::test]
async fn the_older_record_with_arn_spelt_arn_and_a_human_date_is_read_too() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"aRN": ARN, "name": "prod/db", "deletionDate": "Nov 21, 2026 10:02:00 AM"}),
    ))]);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    let deletion = &alert.document.deletion_scheduled;
    assert_eq!(deletion.status, "found");
    assert_eq!(
        deletion.deletion_date.as_deref(),
        Some("2026-11-21T10:02:00Z")
    );
}

#[tokio::test]
async fn a_deletion_not_in_event_history_is_a_line_in_the_alert() {
    let fake = FakeCloudTrail::start(vec![]);
    let (summary, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |_| {}).await;
    assert_eq!(summary.alerts_published, 1);
    assert_eq!(alert.document.deletion_scheduled.status, "not_found");
    assert!(
        alert
            .text
            .contains("Scheduled:      not found in Event history"),
        "{}",
        alert.text
    );
}

#[tokio::test]
async fn throttling_past_the_retries_is_a_line_in_the_alert_never_a_lost_alert() {
    let fake = FakeCloudTrail::start(vec![]);
    fake.throttle_next(100);
    let (summary, alert, secrets) = invoke(&fake, &the_read(), &RestorePolicy::All, |_| {}).await;
    assert_eq!(summary.alerts_published, 1);
    let deletion = alert.document.deletion_scheduled.detail.clone().unwrap();
    assert!(deletion.contains("ThrottlingException"), "{deletion}");
    assert!(
        secrets.restores().is_empty(),
        "nothing restored unconfirmed"
    );
    assert_eq!(alert.document.verification.status, "not_confirmed");
}

#[tokio::test]
async fn a_read_event_history_confirms_is_restored() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
    let (summary, alert, secrets) = invoke(&fake, &the_read(), &RestorePolicy::All, |_| {}).await;
    assert_eq!(summary.restored, 1);
    assert_eq!(secrets.restores(), [ARN]);
    assert_eq!(alert.document.verification.status, "confirmed");
    assert!(
        alert
            .text
            .contains("Reads:          confirmed by CloudTrail Event history"),
        "{}",
        alert.text
    );
    let asked = fake
        .requests()
        .into_iter()
        .find(|r| r["LookupAttributes"][0]["AttributeKey"] == "EventId")
        .unwrap();
    assert_eq!(
        asked["LookupAttributes"][0]["AttributeValue"],
        the_read()["eventID"]
    );
}

#[tokio::test]
async fn event_history_lagging_the_log_group_is_waited_for() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
    fake.lag(3);
    let (summary, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::All, |_| {}).await;
    assert_eq!(summary.restored, 1);
    assert_eq!(alert.document.verification.status, "confirmed");
}

#[tokio::test]
async fn a_read_event_history_does_not_have_is_not_restored_and_the_alert_says_why() {
    let fake = FakeCloudTrail::start(vec![]);
    let (summary, alert, secrets) = invoke(&fake, &the_read(), &RestorePolicy::All, |_| {}).await;
    assert_eq!(summary.restored, 0);
    assert!(secrets.restores().is_empty());
    assert_eq!(alert.document.restore.outcome, "not_restored_unverified");
    assert!(
        alert.document.restore.summary.contains(
            "not restored: not confirmed: CloudTrail Event history did not have the event after 1s"
        ),
        "{}",
        alert.document.restore.summary
    );
    assert!(
        alert.subject.contains("not restored (unverified)"),
        "{}",
        alert.subject
    );
}

#[tokio::test]
async fn an_event_that_is_not_this_read_is_not_restored() {
    for (field, value) in [
        ("eventName", serde_json::json!("DescribeSecret")),
        (
            "requestParameters",
            serde_json::json!({"secretId": "prod/other"}),
        ),
    ] {
        let mut held = the_read();
        held[field] = value;
        let fake = FakeCloudTrail::start(vec![HistoryEvent::of(held)]);
        let (_, alert, secrets) = invoke(&fake, &the_read(), &RestorePolicy::All, |_| {}).await;
        assert!(secrets.restores().is_empty(), "{field}");
        assert_eq!(alert.document.restore.outcome, "not_restored_unverified");
        assert!(
            alert
                .document
                .verification
                .detail
                .contains("is not this read"),
            "{}",
            alert.document.verification.detail
        );
    }
}

/// A read of prod/db that Event history never logged, by whoever writes to the log group.
fn forged_read(n: usize, user: &str) -> serde_json::Value {
    let mut forged = the_read();
    forged["eventID"] = format!("00000000-0000-4000-8000-{n:012}").into();
    forged["userIdentity"]["userName"] = user.into();
    forged["userIdentity"]["arn"] = format!("arn:aws:iam::123456789012:user/{user}").into();
    forged
}

#[tokio::test]
async fn forged_reads_placed_ahead_of_a_genuine_one_do_not_keep_it_from_being_restored() {
    // Event history holds the genuine read, and different records under two forged ids.
    let mut bent = forged_read(2, "mallory");
    bent["sourceIPAddress"] = "198.51.100.7".into();
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read()), HistoryEvent::of(bent)]);
    let mut reads: Vec<serde_json::Value> = (0..6).map(|n| forged_read(n, "mallory")).collect();
    reads.push(the_read());
    let (summary, alert, secrets) = invoke_reads(&fake, &reads, &RestorePolicy::All, |_| {}).await;
    assert_eq!(
        alert.document.verification.status, "confirmed",
        "{}",
        alert.text
    );
    assert_eq!(summary.restored, 1);
    assert_eq!(secrets.restores(), [ARN]);
}

#[tokio::test]
async fn a_read_is_asked_for_once_however_often_the_batch_repeats_it() {
    let fake = FakeCloudTrail::start(vec![]);
    let reads = vec![forged_read(1, "mallory"); 5];
    invoke_reads(&fake, &reads, &RestorePolicy::All, |o| {
        o.verify_wait = Duration::from_millis(50);
    })
    .await;
    let asked: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r["LookupAttributes"][0]["AttributeKey"] == "EventId")
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
}

#[tokio::test]
async fn verify_always_confirms_without_a_restore_and_off_never_asks() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
    let (_, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::Off, |o| {
        o.verify_reads = VerifyReads::Always;
    })
    .await;
    assert_eq!(alert.document.verification.status, "confirmed");

    let fake = FakeCloudTrail::start(vec![]);
    let (summary, alert, _) = invoke(&fake, &the_read(), &RestorePolicy::All, |o| {
        o.verify_reads = VerifyReads::Off;
    })
    .await;
    assert_eq!(
        summary.restored, 1,
        "VERIFY_READS=off restores on the log group's word"
    );
    assert_eq!(alert.document.verification.status, "not_checked");
    assert!(
        fake.requests()
            .iter()
            .all(|r| r["LookupAttributes"][0]["AttributeKey"] != "EventId")
    );
}

#[tokio::test]
async fn a_deletion_is_looked_for_once_however_many_batches_read_the_secret() {
    use secret_deletion_alerts::ports::{EventHistory, SecretAt};
    let fake = FakeCloudTrail::start(vec![]);
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let date = humantime::parse_rfc3339("2026-11-27T00:00:00Z").unwrap();
    let now = humantime::parse_rfc3339("2026-11-21T00:00:00Z").unwrap();
    for _ in 0..3 {
        let found = history
            .scheduled_deletion(ARN, "prod/db", date, now, SecretAt::own(None))
            .await
            .unwrap();
        assert_eq!(found, None);
    }
    // Not found is remembered for a while: a reader polling every few seconds costs one lookup
    // (by the secret's ARN, then by event name).
    assert_eq!(fake.requests().len(), 2);
    fake.add(HistoryEvent::of(delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"arn": ARN, "name": "prod/db"}),
    )));
    let other_date = humantime::parse_rfc3339("2026-11-28T00:00:00Z").unwrap();
    let found = history
        .scheduled_deletion(ARN, "prod/db", other_date, now, SecretAt::own(None))
        .await
        .unwrap();
    assert!(found.is_some(), "another deletion date is another lookup");
    history
        .scheduled_deletion(ARN, "prod/db", other_date, now, SecretAt::own(None))
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 4, "a found deletion is kept");
}

/// The sample's deletion, scheduled by `by` on 2026-11-14 (the read is on 2026-11-20).
fn scheduled_by(by: &str) -> HistoryEvent {
    let mut record = delete_secret(
        "2026-11-14T10:02:00Z",
        serde_json::json!({"arn": ARN, "name": "prod/db", "deletionDate": 1_795_255_320.0}),
    );
    record["userIdentity"] = serde_json::json!({"type": "AssumedRole", "accountId": "123456789012",
        "arn": by});
    HistoryEvent::of(record)
}

#[tokio::test]
async fn a_genuine_read_of_an_earlier_deletion_posted_again_restores_nothing() {
    // The read is real, and Event history holds it: from a deletion 30 days ago.
    let mut old = the_read();
    old["eventTime"] = "2026-10-21T14:03:12Z".into();
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(old.clone()),
        scheduled_by("arn:aws:iam::123456789012:user/alice"),
    ]);
    let (summary, alert, secrets) = invoke(&fake, &old, &RestorePolicy::All, |_| {}).await;
    assert_eq!(summary.restored, 0);
    assert!(secrets.restores().is_empty());
    assert_eq!(alert.document.verification.status, "not_confirmed");
    assert!(
        alert.document.verification.detail.ends_with("a replay)"),
        "{}",
        alert.document.verification.detail
    );
    assert!(
        alert.document.attempts[0].old,
        "the alert calls the read old"
    );
    assert!(alert.text.contains("Old reads:"), "{}", alert.text);
}

#[tokio::test]
async fn a_read_from_before_the_current_deletion_was_scheduled_restores_nothing() {
    let mut before = the_read();
    before["eventTime"] = "2026-11-13T14:03:12Z".into();
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(before.clone()),
        scheduled_by("arn:aws:iam::123456789012:user/alice"),
    ]);
    let (_, alert, secrets) = invoke(&fake, &before, &RestorePolicy::All, |_| {}).await;
    assert!(secrets.restores().is_empty());
    assert!(
        alert
            .document
            .verification
            .detail
            .contains("before the current deletion was scheduled (2026-11-14T10:02:00Z)"),
        "{}",
        alert.document.verification.detail
    );
}

#[tokio::test]
async fn a_real_event_id_re_dressed_is_never_called_confirmed_nor_restored() {
    for (field, path, value) in [
        (
            "identity",
            &["userIdentity", "arn"][..],
            "arn:aws:iam::123456789012:user/mallory",
        ),
        ("source address", &["sourceIPAddress"][..], "198.51.100.66"),
        ("region", &["awsRegion"][..], "eu-west-1"),
        ("account", &["recipientAccountId"][..], "210987654321"),
        ("user agent", &["userAgent"][..], "curl/8.5"),
    ] {
        let mut forged = the_read();
        let mut place = &mut forged;
        for key in &path[..path.len() - 1] {
            place = &mut place[*key];
        }
        place[path[path.len() - 1]] = value.into();
        let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
        let (_, alert, secrets) = invoke(&fake, &forged, &RestorePolicy::All, |o| {
            o.verify_reads = VerifyReads::Always;
        })
        .await;
        assert!(secrets.restores().is_empty(), "{field}");
        assert_eq!(
            alert.document.verification.status, "not_confirmed",
            "{field}"
        );
        // A copy said to be logged in another account is asked of no account at all.
        let expected = match field {
            "account" => "logged in an account this function may not act in".to_owned(),
            _ => format!("another {field}"),
        };
        assert!(
            alert.document.verification.detail.contains(&expected),
            "{field}: {}",
            alert.document.verification.detail
        );
        assert!(alert.subject.contains("UNVERIFIED"), "{}", alert.subject);
        assert_eq!(alert.attributes["verification"], "not_confirmed");
    }
}

#[tokio::test]
async fn a_confirmed_read_is_told_as_event_history_has_it() {
    // The fields compared agree; the rest of the copy was bent on the way.
    let mut copy = the_read();
    copy["userIdentity"]["accessKeyId"] = "AKIAFORGEDKEY0000000".into();
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
    let (_, alert, _) = invoke(&fake, &copy, &RestorePolicy::Off, |o| {
        o.verify_reads = VerifyReads::Always;
    })
    .await;
    assert_eq!(alert.document.verification.status, "confirmed");
    assert!(!alert.subject.contains("UNVERIFIED"), "{}", alert.subject);
    let key = alert.document.attempts[0].identity.access_key_id.clone();
    assert_eq!(
        key.as_deref(),
        the_read()["userIdentity"]["accessKeyId"].as_str()
    );
}

#[tokio::test]
async fn a_deletion_by_an_intended_deleter_is_never_cancelled_and_another_reader_is_critical() {
    let deleter = "arn:aws:sts::123456789012:assumed-role/incident-response/bob";
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read()), scheduled_by(deleter)]);
    static DELETERS: std::sync::LazyLock<Vec<glob::Pattern>> = std::sync::LazyLock::new(|| {
        vec![glob::Pattern::new("arn:aws:sts::123456789012:assumed-role/incident-*").unwrap()]
    });
    let (summary, alert, secrets) = invoke(&fake, &the_read(), &RestorePolicy::All, |o| {
        o.intended_deleters = &DELETERS;
    })
    .await;
    assert_eq!(summary.restored, 0);
    assert!(secrets.restores().is_empty());
    assert_eq!(alert.document.restore.outcome, "deletion_intended");
    assert!(
        alert
            .document
            .restore
            .summary
            .contains(&format!("scheduled by {deleter}")),
        "{}",
        alert.document.restore.summary
    );
    assert_eq!(
        alert.document.severity.as_str(),
        "critical",
        "alice is not the deleter"
    );
    assert!(
        alert.subject.contains("not restored (deletion intended)"),
        "{}",
        alert.subject
    );
}

#[tokio::test]
async fn a_secret_tagged_deletion_intended_is_never_cancelled() {
    let fake = FakeCloudTrail::start(vec![HistoryEvent::of(the_read())]);
    let secrets = FakeSecrets::with(&[(
        "prod/db",
        pending(
            "prod/db",
            6,
            &[("secret-deletion-alerts:deletion-intended", "true")],
        ),
    )]);
    let publisher = RecordingPublisher::default();
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);
    let ports = Adapters {
        publisher: &publisher,
        inspector: &secrets,
        restorer: &secrets,
        windows: &NoWindows,
        history: &history,
        accounts: &NoAccountNames,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let policy = RestorePolicy::All;
    let mut options = options(&policy);
    options.verify_reads = VerifyReads::Restore;
    options.verify_wait = Duration::from_secs(1);
    let records = serde_json::json!({ "Records": [the_read()] }).to_string();
    let data = encode_records(&records, "trail").unwrap().awslogs.data;
    handle_batch(&data, &ports, &options).await.unwrap();
    assert!(secrets.restores().is_empty());
    let alert = &publisher.alerts()[0];
    assert_eq!(alert.document.restore.outcome, "deletion_intended");
    assert!(
        alert
            .document
            .restore
            .summary
            .contains("tagged secret-deletion-alerts:deletion-intended=true"),
        "{}",
        alert.document.restore.summary
    );
}

#[tokio::test]
async fn the_two_copies_of_a_cross_account_read_in_separate_batches_are_one_alert() {
    let mut reader_copy = the_read();
    reader_copy["sharedEventID"] = "5b0b6c3e-1111-4222-8333-944455556666".into();
    reader_copy["requestParameters"]["secretId"] = ARN.into();
    let mut owner_copy = reader_copy.clone();
    reader_copy["recipientAccountId"] = "210987654321".into();
    reader_copy["eventID"] = "copy-in-the-readers-account".into();
    owner_copy["eventID"] = "copy-in-the-owners-account".into();
    let fake = FakeCloudTrail::start(vec![]);
    let (_, first, _) = invoke(&fake, &reader_copy, &RestorePolicy::Off, |_| {}).await;
    let (_, second, _) = invoke(&fake, &owner_copy, &RestorePolicy::Off, |_| {}).await;
    assert_eq!(first.dedup_key(), second.dedup_key());
}
