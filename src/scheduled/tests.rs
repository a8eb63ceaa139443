//! The scheduled deletion's rules, on records: what confirms a deletion, how loud the alert
//! is, and when the guard cancels.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::record_reading::read_record;
use crate::usage::ReaderKey;
use crate::workload::{Confidence, WorkloadKind};

fn record() -> Value {
    json!({
        "eventTime": "2026-11-20T10:02:00Z",
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "DeleteSecret",
        "awsRegion": "us-east-1",
        "eventID": "5d1e8a2b-0000-4000-8000-000000000001",
        "recipientAccountId": "123456789012",
        "requestParameters": { "secretId": "prod/db", "recoveryWindowInDays": 7 },
        "responseElements": {
            "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
            "name": "prod/db",
            "deletionDate": "Nov 27, 2026, 10:02:00 AM"
        },
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/bob",
            "accountId": "123456789012",
            "userName": "bob"
        }
    })
}

fn seen(value: &Value) -> DeletionSeen {
    let text = value.to_string();
    seen_in(&read_record(&text).unwrap().record, &text).unwrap()
}

fn reader(
    caller: &str,
    expected: Option<&str>,
    reads: u64,
) -> (ReaderKey, crate::usage::ReaderReads) {
    (
        ReaderKey {
            kind: if caller.contains(":user/") {
                WorkloadKind::IamUser
            } else {
                WorkloadKind::Lambda
            },
            name: caller.rsplit('/').next().unwrap().to_owned(),
            confidence: Confidence::Certain,
            caller: caller.to_owned(),
            expected: expected.map(str::to_owned),
        },
        crate::usage::ReaderReads {
            reads,
            ..Default::default()
        },
    )
}

fn look_back(readers: &[(ReaderKey, crate::usage::ReaderReads)], complete: bool) -> LookBack {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    LookBack {
        from: now - Duration::from_secs(7 * 86_400),
        to: now,
        reads: SecretReads {
            readers: readers.iter().cloned().collect(),
        },
        records: 100,
        complete,
        reached: None,
        stopped: None,
    }
}

fn pending() -> SecretState {
    SecretState::PendingDeletion {
        arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
        name: "prod/db".into(),
        deletion_date: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000),
        tags: vec![],
    }
}

const OTHER: &str = "arn:aws:iam::123456789012:role/orders-api-role";
const BOB: &str = "arn:aws:iam::123456789012:user/bob";

#[test]
fn only_a_successful_delete_secret_from_secrets_manager_is_a_deletion() {
    let deletion = seen(&record());
    assert_eq!(deletion.deleter.as_str(), BOB);
    assert_eq!(deletion.name.as_deref(), Some("prod/db"));
    assert_eq!(deletion.deletion.recovery_window_days, Some(7));
    assert!(deletion.deletion.deletion_date.is_some());
    for bend in [
        json!({"errorCode": "AccessDenied"}),
        json!({"errorMessage": "denied"}),
        json!({"eventSource": "kms.amazonaws.com"}),
        json!({"eventName": "DeleteResourcePolicy"}),
    ] {
        let mut other = record();
        for (k, v) in bend.as_object().unwrap() {
            other[k] = v.clone();
        }
        let text = other.to_string();
        assert!(
            seen_in(&read_record(&text).unwrap().record, &text).is_none(),
            "{bend}"
        );
    }
}

#[test]
fn event_history_confirms_only_the_same_deletion() {
    let deletion = seen(&record());
    assert_eq!(confirms(&deletion, &record().to_string()), Ok(()));
    for (field, value) in [
        ("eventID", json!("another")),
        ("recipientAccountId", json!("210987654321")),
        ("eventTime", json!("2026-11-20T10:03:00Z")),
        ("errorCode", json!("AccessDenied")),
    ] {
        let mut held = record();
        held[field] = value;
        assert!(confirms(&deletion, &held.to_string()).is_err(), "{field}");
    }
    let mut other_caller = record();
    other_caller["userIdentity"]["arn"] = json!("arn:aws:iam::123456789012:user/mallory");
    let why = confirms(&deletion, &other_caller.to_string()).unwrap_err();
    assert!(why.contains("caller"), "{why}");
}

#[test]
fn severity_follows_who_read_it_and_how_much_was_read() {
    let deletion = seen(&record());
    let unexpected = look_back(&[reader(OTHER, None, 3)], true);
    let expected_only = look_back(
        &[reader(OTHER, Some("backup"), 3), reader(BOB, None, 1)],
        true,
    );
    assert_eq!(
        ScheduledSeverity::of(&deletion, &unexpected),
        ScheduledSeverity::High
    );
    assert_eq!(
        ScheduledSeverity::of(&deletion, &expected_only),
        ScheduledSeverity::Low
    );
    assert_eq!(
        ScheduledSeverity::of(&deletion, &look_back(&[], true)),
        ScheduledSeverity::Low
    );
    assert_eq!(
        ScheduledSeverity::of(&deletion, &look_back(&[], false)),
        ScheduledSeverity::Medium
    );
    let mut forced = record();
    forced["requestParameters"]["forceDeleteWithoutRecovery"] = json!(true);
    assert_eq!(
        ScheduledSeverity::of(&seen(&forced), &expected_only),
        ScheduledSeverity::Critical,
        "an expected reader breaks too when the secret is gone"
    );
}

#[test]
fn the_guard_cancels_only_a_confirmed_deletion_read_by_someone_unexpected() {
    let deletion = seen(&record());
    let confirmed = Confirmation::Confirmed {
        event_id: "e".into(),
    };
    let now = SystemTime::UNIX_EPOCH;
    let decide =
        |on, confirmation: &Confirmation, look_back: &LookBack, intended: &[glob::Pattern]| {
            guard_decision(
                on,
                &deletion,
                confirmation,
                look_back,
                &pending(),
                intended,
                now,
            )
        };
    let read = look_back(&[reader(OTHER, None, 3)], true);
    assert!(decide(OnSchedule::Guard, &confirmed, &read, &[]).is_ok());
    assert_eq!(
        decide(OnSchedule::Alert, &confirmed, &read, &[]),
        Err(Guard::Off)
    );
    assert_eq!(
        decide(
            OnSchedule::Guard,
            &Confirmation::NotConfirmed("x".into()),
            &read,
            &[]
        ),
        Err(Guard::Unconfirmed)
    );
    assert_eq!(
        decide(OnSchedule::Guard, &confirmed, &look_back(&[], false), &[]),
        Err(Guard::Unknown)
    );
    assert_eq!(
        decide(
            OnSchedule::Guard,
            &confirmed,
            &look_back(&[reader(BOB, None, 9)], true),
            &[]
        ),
        Err(Guard::NotNeeded),
        "the deleter's own reads never cancel their deletion"
    );
    let intended = [glob::Pattern::new("arn:aws:iam::*:user/bob").unwrap()];
    assert!(matches!(
        decide(OnSchedule::Guard, &confirmed, &read, &intended),
        Err(Guard::Intended(_))
    ));
}

#[test]
fn on_schedule_reads_its_three_values() {
    assert_eq!(OnSchedule::parse("off"), Some(OnSchedule::Off));
    assert_eq!(OnSchedule::parse(" ALERT"), Some(OnSchedule::Alert));
    assert_eq!(OnSchedule::parse("guard"), Some(OnSchedule::Guard));
    assert_eq!(OnSchedule::parse("yes"), None);
}

#[test]
fn a_workload_role_that_deleted_its_secret_is_not_excused_for_its_reads() {
    // Someone who deletes through orders-api's role must not have orders-api's reads excused.
    let mut through_the_role = record();
    through_the_role["userIdentity"] = json!({
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/orders-api-role/orders-api",
        "accountId": "123456789012",
        "sessionContext": { "sessionIssuer": {
            "type": "Role",
            "arn": OTHER,
            "accountId": "123456789012",
            "userName": "orders-api-role"
        }}
    });
    let deletion = seen(&through_the_role);
    assert_eq!(deletion.deleter.as_str(), OTHER);
    let read = look_back(&[reader(OTHER, None, 3)], true);
    assert_eq!(
        ScheduledSeverity::of(&deletion, &read),
        ScheduledSeverity::High
    );
    let confirmed = Confirmation::Confirmed {
        event_id: "e".into(),
    };
    assert!(
        guard_decision(
            OnSchedule::Guard,
            &deletion,
            &confirmed,
            &read,
            &pending(),
            &[],
            SystemTime::UNIX_EPOCH
        )
        .is_ok()
    );
}
