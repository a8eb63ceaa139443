//! The key's restore: the policy, the intent, and Event history's word on a use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::key_state::{KeyDeletionSeen, KeyDescription};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn pending(tags: &[(&str, &str)]) -> KeyLookup {
    KeyLookup::Described(KeyDescription {
        arn: KEY.into(),
        key_id: KEY_ID.into(),
        state: "PendingDeletion".into(),
        deletion_date: None,
        multi_region: false,
        aliases: Ok(vec![]),
        tags: Ok(tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()),
    })
}

fn by(arn: &str) -> ScheduledBy {
    ScheduledBy::Found(KeyDeletionSeen {
        by: "someone".into(),
        by_name: "someone".into(),
        by_arn: Some(arn.into()),
        at: Some("2026-11-13T15:00:00Z".into()),
        pending_window_days: Some(7),
        event_id: None,
    })
}

fn unknown() -> ScheduledBy {
    ScheduledBy::Unknown("not found".into())
}

fn tagged() -> RestorePolicy {
    RestorePolicy::Tagged {
        tag_key: "secret-deletion-alerts:restore-on-access".into(),
    }
}

fn cancel() -> KeyDecision {
    KeyDecision::Cancel {
        key_id: KEY_ID.into(),
    }
}

fn why(decision: KeyDecision) -> String {
    match decision {
        KeyDecision::Skip(outcome) => outcome.describe(),
        other => panic!("expected a skip, got {other:?}"),
    }
}

#[test]
fn a_key_is_cancelled_only_as_the_policy_says() {
    assert_eq!(
        decide_key(&RestorePolicy::All, &pending(&[]), &unknown(), &[]),
        cancel()
    );
    assert_eq!(
        why(decide_key(
            &RestorePolicy::Off,
            &pending(&[]),
            &unknown(),
            &[]
        )),
        "not cancelled (policy: off)"
    );
    assert_eq!(
        decide_key(
            &tagged(),
            &pending(&[("secret-deletion-alerts:restore-on-access", " TRUE")]),
            &unknown(),
            &[]
        ),
        cancel()
    );
    assert_eq!(
        why(decide_key(&tagged(), &pending(&[]), &unknown(), &[])),
        "not cancelled (not tagged)"
    );
}

#[test]
fn an_intended_deletion_is_never_cancelled() {
    let intended = [glob::Pattern::new("arn:aws:iam::111122223333:role/decommission-*").unwrap()];
    let tagged_intended = pending(&[(DELETION_INTENDED_TAG, "true")]);
    assert!(matches!(
        decide_key(&RestorePolicy::All, &tagged_intended, &unknown(), &[]),
        KeyDecision::Skip(KeyRestoreOutcome::DeletionIntended(_))
    ));
    assert!(matches!(
        decide_key(
            &RestorePolicy::All,
            &pending(&[]),
            &by("arn:aws:iam::111122223333:role/decommission-bot"),
            &intended
        ),
        KeyDecision::Skip(KeyRestoreOutcome::DeletionIntended(_))
    ));
    // Who scheduled it unknown while INTENDED_DELETERS is set: it could be one of them.
    assert!(
        why(decide_key(
            &RestorePolicy::All,
            &pending(&[]),
            &unknown(),
            &intended
        ))
        .contains("who scheduled the deletion is not known")
    );
    assert_eq!(
        decide_key(
            &RestorePolicy::All,
            &pending(&[]),
            &by("arn:aws:iam::111122223333:user/mallory"),
            &intended
        ),
        cancel()
    );
}

#[test]
fn a_key_not_described_not_pending_or_with_unread_tags_is_left_alone() {
    assert_eq!(
        why(decide_key(
            &RestorePolicy::All,
            &KeyLookup::Failed("AccessDeniedException".into()),
            &unknown(),
            &[]
        )),
        "not cancelled (the key was not looked up)"
    );
    let KeyLookup::Described(mut enabled) = pending(&[]) else {
        unreachable!()
    };
    enabled.state = "Disabled".into();
    assert_eq!(
        decide_key(
            &RestorePolicy::All,
            &KeyLookup::Described(enabled.clone()),
            &unknown(),
            &[]
        ),
        KeyDecision::Skip(KeyRestoreOutcome::NoLongerPending)
    );
    enabled.state = "PendingDeletion".into();
    enabled.tags = Err("AccessDeniedException: ListResourceTags".into());
    assert!(
        why(decide_key(
            &RestorePolicy::All,
            &KeyLookup::Described(enabled),
            &unknown(),
            &[]
        ))
        .contains("tags could not be read")
    );
}

fn decrypt(event_id: &str, time: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/app",
                         "accountId": "111122223333", "userName": "app"},
        "eventTime": time,
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "errorCode": "KMSInvalidStateException",
        "errorMessage": format!("{KEY} is pending deletion."),
        "eventID": event_id,
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": KEY}],
        "recipientAccountId": "111122223333"
    })
}

fn use_of(record: &serde_json::Value) -> KeyUse {
    let text = record.to_string();
    key_use_in(&serde_json::from_str(&text).unwrap(), &text).unwrap()
}

fn now() -> SystemTime {
    parse_event_time("2026-11-20T15:00:00Z").unwrap()
}

#[test]
fn event_historys_own_record_of_the_use_confirms_it() {
    let record = decrypt("e-1", "2026-11-20T14:00:00Z");
    let key_use = use_of(&record);
    let scheduled = parse_event_time("2026-11-13T15:00:00Z");
    assert_eq!(
        confirms_key_use(&key_use, KEY, &record.to_string(), scheduled, now()),
        Ok(())
    );
}

#[test]
fn a_redressed_replayed_or_other_keys_record_does_not_confirm() {
    let record = decrypt("e-1", "2026-11-20T14:00:00Z");
    let key_use = use_of(&record);
    let scheduled = parse_event_time("2026-11-13T15:00:00Z");
    let mut other_ip = record.clone();
    other_ip["sourceIPAddress"] = "203.0.113.9".into();
    assert!(
        confirms_key_use(&key_use, KEY, &other_ip.to_string(), scheduled, now())
            .unwrap_err()
            .contains("source address")
    );
    let other_key = "arn:aws:kms:us-east-1:111122223333:key/ffffffff-0000-0000-0000-000000000000";
    assert!(
        confirms_key_use(&key_use, other_key, &record.to_string(), scheduled, now())
            .unwrap_err()
            .contains("another key")
    );
    // A use from before the current scheduling (a replay of an earlier pending period).
    let old = decrypt("e-1", "2026-11-10T14:00:00Z");
    assert!(
        confirms_key_use(&use_of(&old), KEY, &old.to_string(), scheduled, now())
            .unwrap_err()
            .contains("a replay")
    );
    // Event history holds a success under that id: not a refusal at all.
    let mut success = record.clone();
    success["errorMessage"] = serde_json::Value::Null;
    success["errorCode"] = serde_json::Value::Null;
    assert!(confirms_key_use(&key_use, KEY, &success.to_string(), scheduled, now()).is_err());
}
