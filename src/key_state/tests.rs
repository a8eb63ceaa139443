//! Who scheduled a key's deletion, on `ScheduleKeyDeletion` records shaped as the KMS
//! Developer Guide shows them ("ScheduleKeyDeletion" in "AWS KMS log entries").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn schedule_record(key_in_resources: &str, passed: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/Alice",
            "accountId": "111122223333",
            "userName": "Alice"
        },
        "eventTime": "2026-11-13T15:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "ScheduleKeyDeletion",
        "awsRegion": "us-east-1",
        "requestParameters": {"pendingWindowInDays": 20, "keyId": passed},
        "responseElements": {
            "keyId": key_in_resources,
            "keyState": "PendingDeletion",
            "deletionDate": "Dec 3, 2026 15:00:00 PM"
        },
        "eventID": "3c4226b0-1e81-48a8-a333-7fa5f3cbd118",
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": key_in_resources}],
        "recipientAccountId": "111122223333"
    })
    .to_string()
}

#[test]
fn who_scheduled_the_key_is_read_from_its_own_schedule_key_deletion() {
    let found = key_deletion_in(&[schedule_record(KEY, KEY_ID)], KEY, KEY_ID).unwrap();
    assert_eq!(
        found.by_arn.as_deref(),
        Some("arn:aws:iam::111122223333:user/Alice")
    );
    assert_eq!(found.pending_window_days, Some(20));
    assert_eq!(found.at.as_deref(), Some("2026-11-13T15:00:00Z"));
}

#[test]
fn another_keys_deletion_never_passes_for_this_ones_whatever_was_passed() {
    let other = "arn:aws:kms:us-east-1:111122223333:key/ffffffff-0000-0000-0000-000000000000";
    // The caller passed this key's id, but AWS says the deletion was of another key.
    assert!(key_deletion_in(&[schedule_record(other, KEY_ID)], KEY, KEY_ID).is_none());
    // A failed call scheduled nothing.
    let mut failed: serde_json::Value =
        serde_json::from_str(&schedule_record(KEY, KEY_ID)).unwrap();
    failed["errorCode"] = "AccessDeniedException".into();
    assert!(key_deletion_in(&[failed.to_string()], KEY, KEY_ID).is_none());
    // Only an alias, with AWS's fields missing, is not enough: an alias can be re-pointed.
    let mut alias_only: serde_json::Value =
        serde_json::from_str(&schedule_record(KEY, "alias/orders")).unwrap();
    alias_only["resources"] = serde_json::Value::Null;
    alias_only["responseElements"] = serde_json::Value::Null;
    assert!(key_deletion_in(&[alias_only.to_string()], KEY, KEY_ID).is_none());
}

fn scheduled(text: &str) -> Option<KeyScheduled> {
    let record: crate::cloudtrail::CloudTrailRecord = serde_json::from_str(text).unwrap();
    key_scheduled_in(&record, text)
}

#[test]
fn a_scheduling_in_a_batch_names_the_key_as_aws_does_and_its_deleter() {
    let found = scheduled(&schedule_record(KEY, "alias/orders")).unwrap();
    assert_eq!(found.key.arn(), Some(KEY));
    assert_eq!(found.seen.by_name, "Alice");
    assert_eq!(found.seen.pending_window_days, Some(20));
    assert_eq!(found.account_id.as_deref(), Some("111122223333"));
    assert_eq!(found.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        found.deletion_date_text.as_deref(),
        Some("Dec 3, 2026 15:00:00 PM")
    );
    // Without resources[], the response's ARN; without either, what the caller passed.
    let mut record: serde_json::Value =
        serde_json::from_str(&schedule_record(KEY, "alias/orders")).unwrap();
    record["resources"] = serde_json::Value::Null;
    assert_eq!(scheduled(&record.to_string()).unwrap().key.arn(), Some(KEY));
    record["responseElements"] = serde_json::Value::Null;
    assert_eq!(
        scheduled(&record.to_string()).unwrap().key,
        crate::key_use::KeyNamed::AsPassed("alias/orders".into())
    );
    // A refused call scheduled nothing.
    record["errorCode"] = "AccessDeniedException".into();
    assert!(scheduled(&record.to_string()).is_none());
}
