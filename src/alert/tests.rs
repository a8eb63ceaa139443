#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Composition end to end: the subject, the text, the document and the size cap together.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::cloudtrail::CloudTrailRecord;
use crate::detection::PendingDeletionAccess;
use crate::detection::{Origin, detect};
use crate::restore::NotRestoredReason;
use crate::restore::{RestoreOutcome, RestorePolicy, SecretState, Severity};
use crate::window::{Carried, Opened, WindowNote};

const NOW: u64 = 1_800_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn access(event_id: &str, user_agent: &str, secret_id: &str) -> PendingDeletionAccess {
    let record: CloudTrailRecord = serde_json::from_value(serde_json::json!({
        "eventTime": "2026-11-20T14:03:12Z",
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": user_agent,
        "errorCode": "InvalidRequestException",
        "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
        "requestParameters": {"secretId": secret_id},
        "eventID": event_id,
        "requestID": "req-1",
        "userIdentity": {"type": "IAMUser", "userName": "alice",
                         "arn": "arn:aws:iam::123456789012:user/alice",
                         "accessKeyId": "AKIAEXAMPLE"}
    }))
    .unwrap();
    detect(
        &record,
        Origin::LogEvent {
            id: format!("log-{event_id}"),
            timestamp_ms: None,
        },
    )
    .unwrap()
}

fn pending(hours: u64) -> SecretState {
    SecretState::PendingDeletion {
        arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
        name: "prod/db".into(),
        deletion_date: now() + Duration::from_secs(hours * 3600),
        tags: vec![],
    }
}

fn context(policy: &RestorePolicy, max_listed_attempts: usize) -> AlertContext<'_> {
    AlertContext {
        log_group: "aws-cloudtrail-logs",
        athena_table: "cloudtrail_logs",
        restore_policy: policy,
        max_listed_attempts,
        now: now(),
    }
}

fn compose_with(attempts: &[PendingDeletionAccess], state: &SecretState, max: usize) -> Alert {
    compose(
        attempts,
        state,
        &RestoreOutcome::NotRestored(NotRestoredReason::PolicyOff),
        &Evidence::not_asked("a test"),
        None,
        &context(&RestorePolicy::Off, max),
    )
}

fn assert_valid_subject(subject: &str) {
    assert!(subject.len() < 100, "{} chars: {subject}", subject.len());
    assert!(
        subject.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
        "{subject:?}"
    );
    assert!(subject.as_bytes()[0].is_ascii_alphanumeric());
}

#[test]
fn subject_names_secret_caller_outcome_account_and_region() {
    let alert = compose_with(
        &[access("e1", "aws-cli/2", "prod/db")],
        &pending(24 * 6),
        50,
    );
    assert_eq!(
        alert.subject,
        "HIGH: pending-deletion secret prod/db read by alice; not restored (123456789012, us-east-1)"
    );
    assert_valid_subject(&alert.subject);
}

#[test]
fn subject_obeys_sns_rules_whatever_the_input() {
    let hostile = "prod/\r\nBcc: victim@example.com\u{202E}\u{1b}[31m".repeat(40);
    // The secret's own name is an insider's to choose too.
    let mut state = pending(1);
    if let SecretState::PendingDeletion { name, .. } = &mut state {
        *name = hostile.clone();
    }
    let alert = compose_with(&[access("e1", "ua", &hostile)], &state, 50);
    assert_valid_subject(&alert.subject);
    assert!(alert.subject.starts_with("CRITICAL: secret prod/??Bcc:"));
    assert!(alert.subject.contains(" read by alice; not restored"));
}

#[test]
fn a_user_agent_with_a_link_is_said_to_be_disarmed_not_as_sent() {
    let agent = "Boto3/1.34 see https://evil.example/login";
    let alert = compose_with(&[access("e1", agent, "prod/db")], &pending(100), 50);
    let line = alert
        .text
        .lines()
        .find(|l| l.contains("user agent"))
        .unwrap();
    assert!(!line.contains("https://evil.example"), "{line}");
    assert!(
        line.ends_with("(as the caller sent it, links disarmed)"),
        "{line}"
    );
}

#[test]
fn hostile_user_agent_cannot_forge_lines_in_the_text_or_break_the_json() {
    let agent = format!("evil\n\nSeverity: LOW\r\n\u{202E}{}", "A".repeat(10_000));
    let alert = compose_with(&[access("e1", &agent, "prod/db")], &pending(100), 50);
    let line = alert
        .text
        .lines()
        .find(|l| l.contains("user agent"))
        .unwrap();
    assert!(line.starts_with(
        "     user agent evil\u{FFFD}\u{FFFD}Severity: LOW\u{FFFD}\u{FFFD}\u{FFFD}AAAA"
    ));
    assert!(line.ends_with("… (as the caller sent it)"), "{line}");
    assert!(line.chars().count() < 330);
    assert!(!alert.text.lines().any(|l| l.starts_with("Severity: LOW")));
    let document: serde_json::Value = serde_json::from_str(&alert.document_json()).unwrap();
    let agent_out = document["attempts"][0]["user_agent"].as_str().unwrap();
    assert_eq!(agent_out.chars().count(), 256);
}

#[test]
fn many_attempts_make_one_alert_with_count_first_and_last() {
    let mut attempts: Vec<PendingDeletionAccess> = (0..5)
        .map(|i| {
            let mut a = access(&format!("e{i}"), "ua", "prod/db");
            a.event_time = Some(format!("2026-11-20T14:0{}:00Z", 5 - i));
            a
        })
        .collect();
    attempts[4].event_time = Some("odd time".into());
    attempts[4].origin = Origin::LogEvent {
        id: "log-e4".into(),
        timestamp_ms: Some(0),
    };
    let alert = compose_with(&attempts, &pending(100), 3);
    let d = &alert.document;
    assert_eq!(d.attempts_total, 5);
    assert_eq!(d.attempts_listed, 3);
    // Unparseable times fall back to the log timestamp (0: first).
    assert_eq!(d.first_seen.as_deref(), Some("odd time"));
    assert_eq!(d.last_seen.as_deref(), Some("2026-11-20T14:05:00Z"));
    // The email groups them: one caller, counted, with the first few event ids.
    assert!(
        alert
            .text
            .contains("     5 reads, odd time to 2026-11-20T14:05:00Z\n"),
        "{}",
        alert.text
    );
    assert!(
        alert.text.contains("event ids e4, e3, e2 and 2 more"),
        "{}",
        alert.text
    );
    assert!(alert.subject.contains("(x5)"));
    assert_eq!(d.event_ids.len(), 5);
}

#[test]
fn fifty_reads_by_one_instance_are_one_caller_block() {
    let attempts: Vec<PendingDeletionAccess> = (0..50)
        .map(|i| {
            let mut a = access(&format!("e{i:02}"), "aws-sdk-java/2.20", "prod/db");
            a.event_time = Some(format!("2026-11-20T14:{i:02}:00Z"));
            a
        })
        .collect();
    let alert = compose_with(&attempts, &pending(100), 50);
    let d = &alert.document;
    assert_eq!(d.callers.len(), 1);
    let caller = &d.callers[0];
    assert_eq!(caller.caller, "arn:aws:iam::123456789012:user/alice");
    assert_eq!(caller.reads, 50);
    assert_eq!(caller.first_seen.as_deref(), Some("2026-11-20T14:00:00Z"));
    assert_eq!(caller.last_seen.as_deref(), Some("2026-11-20T14:49:00Z"));
    assert_eq!(caller.example_event_ids, ["e00", "e01", "e02"]);
    assert_eq!(caller.user_agents, ["aws-sdk-java/2.20"]);
    // The machines keep every read (capped as before).
    assert_eq!(d.attempts.len(), 50);
    assert_eq!(
        alert.text.matches("user agent aws-sdk-java/2.20").count(),
        1
    );
    assert_eq!(alert.text.matches("     access key AKIAEXAMPLE").count(), 1);
    assert!(alert.text.contains("Callers (1):"), "{}", alert.text);
}

#[test]
fn two_callers_are_two_blocks_in_order_of_first_read() {
    let mut bob = access("e2", "boto3/1.34", "prod/db");
    bob.event_time = Some("2026-11-20T14:00:00Z".into());
    bob.who.principal = crate::cloudtrail::Principal::IamUser {
        user_name: Some("bob".into()),
        arn: Some("arn:aws:iam::123456789012:user/bob".into()),
    };
    let alice = access("e1", "aws-cli/2.15", "prod/db");
    let alert = compose_with(&[alice, bob], &pending(100), 50);
    let callers: Vec<&str> = alert
        .document
        .callers
        .iter()
        .map(|c| c.caller.as_str())
        .collect();
    assert_eq!(
        callers,
        [
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:user/alice"
        ]
    );
    assert!(
        alert.text.contains("read 2 times by 2 callers"),
        "{}",
        alert.text
    );
}

fn windowed(note: &WindowNote) -> Alert {
    compose(
        &[access("e1", "ua", "prod/db")],
        &pending(100),
        &RestoreOutcome::NotRestored(NotRestoredReason::PolicyOff),
        &Evidence::not_asked("a test"),
        Some(note),
        &context(&RestorePolicy::Off, 50),
    )
}

#[test]
fn the_first_alert_after_a_window_says_how_many_reads_were_held_back() {
    let last = now() - Duration::from_secs(3 * 3600);
    let note = WindowNote::sent(
        Duration::from_secs(3600),
        Opened::WindowEnded,
        Carried {
            suppressed: 12,
            last_alert_at: Some(last),
        },
        now(),
    );
    let alert = windowed(&note);
    let d = &alert.document;
    assert_eq!(d.suppressed_since_last_alert, 12);
    assert_eq!(d.last_alert_at.as_deref(), Some("2027-01-15T05:00:00Z"));
    let window = d.alert_window.as_ref().unwrap();
    assert_eq!(window.seconds, 3600);
    assert_eq!(window.opened_because, "window_ended");
    assert_eq!(window.ends_at.as_deref(), Some("2027-01-15T09:00:00Z"));
    assert!(alert.subject.contains("(+12)"), "{}", alert.subject);
    assert_eq!(alert.attributes["suppressed"], "12");
    for expected in [
        "12 more reads since 05:00 UTC on 2027-01-15 (not emailed: one alert per caller per ALERT_WINDOW of 1h)",
        "further reads by this caller are counted, not emailed, until 09:00 UTC on 2027-01-15",
    ] {
        assert!(
            alert.text.contains(expected),
            "missing {expected:?} in\n{}",
            alert.text
        );
    }
}

#[test]
fn an_alert_sent_early_says_why() {
    let note = WindowNote::sent(
        Duration::from_secs(3600),
        Opened::SeverityRose,
        Carried::default(),
        now(),
    );
    let alert = windowed(&note);
    assert!(!alert.subject.contains("(+"), "{}", alert.subject);
    assert!(
        alert
            .text
            .contains("before the window ended, because the purge is now less than 48 hours away"),
        "{}",
        alert.text
    );
}

#[test]
fn an_alert_without_its_store_says_repeats_will_be_emailed() {
    let note = WindowNote::unavailable(
        Duration::from_secs(3600),
        "ResourceNotFoundException: Requested resource not found".into(),
    );
    let alert = windowed(&note);
    let window = alert.document.alert_window.as_ref().unwrap();
    assert_eq!(window.opened_because, "state_unavailable");
    assert_eq!(window.ends_at, None);
    assert!(
        alert.text.contains(
            "not applied: the alert state table could not be used (ResourceNotFoundException"
        ),
        "{}",
        alert.text
    );
}

#[test]
fn without_a_window_the_counts_are_zero_and_null() {
    let alert = compose_with(&[access("e1", "ua", "prod/db")], &pending(100), 50);
    assert_eq!(alert.document.suppressed_since_last_alert, 0);
    assert_eq!(alert.document.last_alert_at, None);
    assert!(alert.document.alert_window.is_none());
    assert!(!alert.text.contains("Quiet window"), "{}", alert.text);
}

#[test]
fn dedup_key_depends_on_secret_and_events_not_order() {
    let a = access("e1", "ua", "prod/db");
    let b = access("e2", "ua", "prod/db");
    let key = |attempts: &[PendingDeletionAccess]| {
        compose_with(attempts, &pending(100), 50)
            .dedup_key()
            .to_owned()
    };
    assert_eq!(key(&[a.clone(), b.clone()]), key(&[b.clone(), a.clone()]));
    assert_ne!(key(std::slice::from_ref(&a)), key(&[a.clone(), b]));
    assert_ne!(key(&[a]), key(&[access("e1", "ua", "prod/other")]));
}

#[test]
fn message_stays_under_the_sns_limit_however_many_attempts() {
    let agent = "U".repeat(5_000);
    let attempts: Vec<PendingDeletionAccess> = (0..10_000)
        .map(|i| access(&format!("{i:036}"), &agent, "prod/db"))
        .collect();
    let alert = compose_with(&attempts, &pending(100), 500);
    assert!(alert.sns_size() <= MAX_SNS_BYTES, "{}", alert.sns_size());
    assert_eq!(alert.document.attempts_total, 10_000);
    assert!(alert.document.attempts_listed < 500);
    let message: serde_json::Value = serde_json::from_str(alert.sns_message()).unwrap();
    assert!(message["default"].is_string() && message["email"].is_string());
}

#[test]
fn text_says_what_to_do_next() {
    let alert = compose_with(
        &[access("e1", "aws-cli/2", "prod/db")],
        &pending(24 * 6 + 3),
        50,
    );
    let text = &alert.text;
    for expected in [
        "Secret:         prod/db",
        "ARN:            arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "State:          scheduled for deletion on 2027-01-21T11:00:00Z (in 6 days 3 hours)",
        "Deletion:       not restored (policy: off)",
        "IAM user alice (arn:aws:iam::123456789012:user/alice)",
        "access key AKIAEXAMPLE (long-term)",
        "aws secretsmanager restore-secret --secret-id=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf --region us-east-1",
        "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?AccessKeyId=AKIAEXAMPLE",
        "| filter userIdentity.accessKeyId = \"AKIAEXAMPLE\"",
        "WHERE useridentity.accesskeyid = 'AKIAEXAMPLE'",
        "CloudWatch Logs Insights on log group aws-cloudtrail-logs",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert_eq!(alert.attributes["secret"], "prod/db");
    assert_eq!(alert.attributes["account"], "123456789012");
    assert_eq!(alert.attributes["region"], "us-east-1");
    assert_eq!(alert.attributes["dedup_key"], alert.dedup_key());
}

fn unnamed(event_id: &str) -> PendingDeletionAccess {
    let mut read = access(event_id, "aws-sdk-go/1.44", "prod/db");
    read.target.secret_id = None;
    read
}

#[test]
fn unnamed_secrets_in_other_accounts_are_other_finding_resources() {
    let place = super::finding::FindingPlace {
        partition: "aws".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let resource_of = |account: &str| {
        let mut read = unnamed("ev-1");
        read.target.account_id = Some(account.into());
        let alert = compose(
            &[read],
            &SecretState::NotNamed,
            &RestoreOutcome::NotRestored(NotRestoredReason::SecretNotNamed),
            &Evidence::not_asked("a test"),
            None,
            &context(&RestorePolicy::All, 50),
        );
        super::finding::findings_of(&alert, &place, now())[0].resources[0]
            .id
            .clone()
    };
    assert_ne!(resource_of("111111111111"), resource_of("222222222222"));
    assert!(resource_of("111111111111").contains("111111111111"));
}

#[test]
fn the_copies_key_on_the_window_the_handler_claims() {
    let read = unnamed("ev-1");
    let key = crate::window::WindowKey::of(
        &read.target,
        &SecretState::NotNamed,
        crate::caller::CallerKey::of(&read.who),
    );
    let alert = compose(
        &[read],
        &SecretState::NotNamed,
        &RestoreOutcome::NotRestored(NotRestoredReason::SecretNotNamed),
        &Evidence::not_asked("a test"),
        None,
        &context(&RestorePolicy::All, 50),
    );
    let expected = super::thread::thread_key(&key.secret, Some(key.caller.as_str()));
    assert_eq!(alert.chat_notification().metadata.thread_id, expected);
    let place = super::finding::FindingPlace {
        partition: "aws".into(),
        account_id: "123456789012".into(),
        region: "us-east-1".into(),
    };
    assert!(
        super::finding::findings_of(&alert, &place, now())[0]
            .id
            .ends_with(&expected)
    );
}

#[test]
fn an_unnamed_secret_says_so_and_no_command_holds_a_placeholder() {
    let alert = compose(
        &[unnamed("ev-1")],
        &SecretState::NotNamed,
        &RestoreOutcome::NotRestored(NotRestoredReason::SecretNotNamed),
        &Evidence::not_asked("a test"),
        None,
        &context(&RestorePolicy::All, 50),
    );
    let d = &alert.document;
    assert_eq!(d.secret.id_as_named, None);
    assert_eq!(d.secret.state, "not_named");
    assert_eq!(d.next_steps.restore_command, None);
    assert_eq!(
        d.next_steps.find_the_secret,
        [
            "aws cloudtrail lookup-events --lookup-attributes 'AttributeKey=EventId,AttributeValue=ev-1' --region us-east-1",
            "aws cloudtrail lookup-events --lookup-attributes 'AttributeKey=AccessKeyId,AttributeValue=AKIAEXAMPLE' --region us-east-1",
        ]
    );
    assert_eq!(alert.attributes["secret"], "unknown");
    assert!(
        alert.subject.contains("secret (unnamed) read by alice"),
        "{}",
        alert.subject
    );
    assert!(!alert.text.contains("restore-secret"), "{}", alert.text);
    assert!(
        alert.text.contains("Find which secret was read"),
        "{}",
        alert.text
    );
    assert!(
        alert
            .text
            .contains("State:          unknown: the CloudTrail record does not name the secret"),
        "{}",
        alert.text
    );
    // No placeholder anywhere a person could paste from.
    for line in alert.text.lines().filter(|l| l.contains("aws ")) {
        assert!(!line.contains(UNNAMED_SECRET), "{line}");
    }
    assert_eq!(Severity::of(&SecretState::NotNamed, now()), Severity::High);
}

#[test]
fn a_secret_restored_before_this_alert_says_no_longer_pending() {
    let state = SecretState::NotPendingDeletion {
        arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
        name: "prod/db".into(),
        tags: vec![],
    };
    let alert_retry = compose(
        &[access("e1", "ua", "prod/db")],
        &state,
        &RestoreOutcome::NoLongerPending,
        &Evidence::not_asked("a test"),
        None,
        &context(&RestorePolicy::All, 50),
    );
    assert_eq!(alert_retry.document.restore.outcome, "no_longer_pending");
    assert_eq!(
        alert_retry.attributes["restore_outcome"],
        "no_longer_pending"
    );
    assert_eq!(alert_retry.document.severity, Severity::High);
    assert!(
        alert_retry.subject.contains("; no longer pending"),
        "{}",
        alert_retry.subject
    );
    assert!(
        alert_retry
            .text
            .contains("the deletion was cancelled after these\n   reads"),
        "{}",
        alert_retry.text
    );
}
