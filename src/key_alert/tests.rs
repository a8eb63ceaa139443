//! The key alert, on records shaped as the KMS Developer Guide shows them ("Create an alarm
//! that detects use of a KMS key pending deletion"; "ScheduleKeyDeletion" in "AWS KMS log
//! entries").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use super::*;
use crate::cloudtrail::CloudTrailRecord;
use crate::key_state::{KeyDeletionSeen, KeyDescription, ListedSecret};
use crate::key_use::key_use_in;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const DAY: Duration = Duration::from_secs(86_400);

fn now() -> SystemTime {
    humantime::parse_rfc3339("2026-11-20T15:00:00Z").unwrap()
}

fn lambda_decrypt() -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/orders-api-role/orders-api",
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {
                "type": "Role",
                "arn": "arn:aws:iam::111122223333:role/orders-api-role",
                "userName": "orders-api-role"
            }}
        },
        "eventTime": "2026-11-20T14:05:40Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-sdk-java/2.25.0 exec-env/AWS_Lambda_java17",
        "errorCode": "KMSInvalidStateException",
        "errorMessage": format!("{KEY} is pending deletion."),
        "eventID": "22222222-0000-4000-8000-000000000001",
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": KEY}],
        "recipientAccountId": "111122223333"
    })
}

fn through_secrets_manager() -> serde_json::Value {
    let mut record = lambda_decrypt();
    record["userIdentity"]["invokedBy"] = "secretsmanager.amazonaws.com".into();
    record["sourceIPAddress"] = "secretsmanager.amazonaws.com".into();
    record["userAgent"] = "secretsmanager.amazonaws.com".into();
    record["eventID"] = "22222222-0000-4000-8000-000000000002".into();
    record["requestParameters"] = serde_json::json!({"encryptionContext": {
        "SecretARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:billing/stripe-Xy12Ab"
    }});
    record
}

fn use_of(record: &serde_json::Value) -> (KeyUse, Origin) {
    let text = record.to_string();
    let parsed: CloudTrailRecord = serde_json::from_str(&text).unwrap();
    let key_use = key_use_in(&parsed, &text).expect("a key use");
    let origin = Origin::LogEvent {
        id: "log-event-1".into(),
        timestamp_ms: None,
    };
    (key_use, origin)
}

fn described(deletion_in: Duration) -> KeyLookup {
    KeyLookup::Described(KeyDescription {
        arn: KEY.into(),
        key_id: KEY_ID.into(),
        state: "PendingDeletion".into(),
        deletion_date: Some(now() + deletion_in),
        multi_region: false,
        aliases: Ok(vec!["alias/orders".into()]),
        tags: Ok(vec![]),
    })
}

fn scheduled_by_bob() -> ScheduledBy {
    ScheduledBy::Found(KeyDeletionSeen {
        by: "IAM user bob (arn:aws:iam::111122223333:user/bob)".into(),
        by_name: "someone".into(),
        by_arn: Some("arn:aws:iam::111122223333:user/bob".into()),
        at: Some("2026-11-13T15:00:00Z".into()),
        pending_window_days: Some(10),
        event_id: Some("3c4226b0-1e81-48a8-a333-7fa5f3cbd118".into()),
    })
}

fn compose(
    uses: &[(KeyUse, Origin)],
    lookup: &KeyLookup,
    secrets: &EncryptedSecrets,
    scheduled_by: &ScheduledBy,
) -> KeyAlert {
    let place = KeyPlace::of(&uses[0].0);
    compose_key_alert(&KeyFacts {
        key: &uses[0].0.key,
        place: &place,
        uses,
        lookup,
        secrets,
        scheduled_by,
        restore: &KeyRestoreOutcome::NotCancelled("policy: off".into()),
        scheduling: None,
        window: None,
        notes: &[],
        now: now(),
    })
}

#[test]
fn the_alert_names_the_key_its_alias_the_operation_the_workload_the_purge_and_the_deleter() {
    let uses = [use_of(&lambda_decrypt())];
    let alert = compose(
        &uses,
        &described(3 * DAY),
        &EncryptedSecrets::default(),
        &scheduled_by_bob(),
    );
    let document = &alert.document;
    assert_eq!(document.kind, "pending_deletion_key_use");
    assert_eq!(document.key.kind, "kms_key");
    assert_eq!(document.key.arn.as_deref(), Some(KEY));
    assert_eq!(document.key.key_id.as_deref(), Some(KEY_ID));
    assert_eq!(document.key.aliases, ["alias/orders"]);
    assert_eq!(document.key.name, "alias/orders");
    assert_eq!(
        document.key.deletion_date.as_deref(),
        Some("2026-11-23T15:00:00Z")
    );
    assert_eq!(document.operations, ["Decrypt"]);
    assert_eq!(document.readers.len(), 1);
    assert_eq!(document.readers[0].workload.name, "orders-api");
    assert_eq!(
        document.readers[0].caller,
        "arn:aws:iam::111122223333:role/orders-api-role"
    );
    assert_eq!(
        document.scheduled_by.as_ref().map(|s| s.by_arn.as_deref()),
        Some(Some("arn:aws:iam::111122223333:user/bob"))
    );
    assert_eq!(document.severity, "high");
    assert_eq!(
        alert.subject,
        "HIGH: KMS key alias/orders pending deletion used: Decrypt by Lambda orders-api"
    );
    for line in [
        "Key:          alias/orders",
        &format!("ARN:          {KEY}"),
        "Deleted:      2026-11-23T15:00:00Z (in 3 days 0 hours)",
        "Scheduled:    at 2026-11-13T15:00:00Z by IAM user bob",
        "Deletion:     not cancelled (policy: off)",
        &format!("aws kms cancel-key-deletion --key-id {KEY_ID} --region us-east-1"),
        &format!("aws kms enable-key --key-id {KEY_ID} --region us-east-1"),
    ] {
        assert!(alert.text.contains(line), "{line}\n{}", alert.text);
    }
    assert_eq!(alert.attributes["kind"].value, "pending_deletion_key_use");
}

#[test]
fn a_key_gone_within_two_days_is_critical() {
    let uses = [use_of(&lambda_decrypt())];
    let alert = compose(
        &uses,
        &described(DAY),
        &EncryptedSecrets::default(),
        &scheduled_by_bob(),
    );
    assert_eq!(alert.document.severity, "critical");
    assert!(alert.subject.starts_with("CRITICAL: "), "{}", alert.subject);
}

#[test]
fn a_read_through_secrets_manager_names_the_secret_and_the_caller_not_the_service() {
    let uses = [use_of(&through_secrets_manager())];
    let secrets = EncryptedSecrets {
        from_uses: vec![
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:billing/stripe-Xy12Ab".into(),
        ],
        listed: Some(Ok(vec![ListedSecret {
            arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:orders/db-Ab12Cd".into(),
            name: "orders/db".into(),
            pending_deletion: false,
        }])),
    };
    let alert = compose(&uses, &described(5 * DAY), &secrets, &scheduled_by_bob());
    let document = &alert.document;
    assert!(document.readers[0].through_secrets_manager);
    assert_eq!(document.readers[0].workload.name, "orders-api");
    assert!(document.readers[0].source_ips.is_empty());
    let arns: Vec<&str> = document
        .encrypted_secrets
        .iter()
        .map(|s| s.arn.as_str())
        .collect();
    assert_eq!(
        arns,
        [
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:billing/stripe-Xy12Ab",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:orders/db-Ab12Cd",
        ]
    );
    assert!(document.encrypted_secrets_listed);
    assert!(
        alert.text.contains("through Secrets Manager"),
        "{}",
        alert.text
    );
    assert!(
        alert
            .text
            .contains("Cancel the key's deletion, not the secrets'"),
        "{}",
        alert.text
    );
}

#[test]
fn what_could_not_be_learnt_is_said_and_the_alert_still_goes_out() {
    let uses = [use_of(&lambda_decrypt())];
    let lookup = KeyLookup::NotLookedUp(
        "the key is in account 111122223333, where this function does not act".into(),
    );
    let alert = compose(
        &uses,
        &lookup,
        &EncryptedSecrets::default(),
        &ScheduledBy::Unknown("not looked for: the key was not described".into()),
    );
    let document = &alert.document;
    assert_eq!(document.lookup.kind, "not_looked_up");
    assert!(!document.encrypted_secrets_listed);
    assert!(document.scheduled_by.is_none());
    assert_eq!(document.key.arn.as_deref(), Some(KEY));
    assert!(alert.text.contains("State:        unknown (not looked up"));
    assert!(
        alert
            .text
            .contains("more secrets than these may be encrypted")
    );
    // High, not critical: an unknown purge date is never called far away, nor near.
    assert_eq!(document.severity, "high");
}

#[test]
fn caller_chosen_text_cannot_forge_lines_in_the_alert() {
    let mut record = lambda_decrypt();
    record["resources"] = serde_json::Value::Null;
    record["errorMessage"] = "Key is pending deletion.".into();
    record["requestParameters"] =
        serde_json::json!({"keyId": "alias/x\nDeletion:     cancelled\u{202e}"});
    record["userIdentity"]["arn"] =
        "arn:aws:sts::111122223333:assumed-role/orders-api-role/x\nSeverity: LOW".into();
    let uses = [use_of(&record)];
    let alert = compose(
        &uses,
        &KeyLookup::Failed("AccessDeniedException: no".into()),
        &EncryptedSecrets::default(),
        &ScheduledBy::Unknown("not looked for".into()),
    );
    assert!(
        !alert
            .text
            .lines()
            .any(|l| l.starts_with("Deletion:     cancelled")),
        "{}",
        alert.text
    );
    assert!(!alert.text.lines().any(|l| l.starts_with("Severity: LOW")));
    assert!(!alert.text.contains('\u{202e}'));
    assert!(
        alert
            .subject
            .bytes()
            .all(|b| b == b' ' || b.is_ascii_graphic())
    );
}

#[test]
fn the_dedup_key_is_the_same_on_every_try_and_differs_with_the_uses() {
    let a = use_of(&lambda_decrypt());
    let b = use_of(&through_secrets_manager());
    let one = key_dedup_key(KEY, &[a.clone(), b.clone()]);
    assert_eq!(one, key_dedup_key(KEY, &[b.clone(), a.clone()]));
    assert_ne!(one, key_dedup_key(KEY, std::slice::from_ref(&a)));
    assert_ne!(one, key_dedup_key("another key", &[a, b]));
}

#[test]
fn the_copies_are_on_the_key_one_thread_per_key_and_callers_and_archived_once_cancelled() {
    let first = [use_of(&lambda_decrypt())];
    let mut later_record = lambda_decrypt();
    later_record["eventID"] = "22222222-0000-4000-8000-000000000099".into();
    let later = [use_of(&later_record)];
    let place = crate::alert::finding::FindingPlace {
        partition: "aws".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
    };
    let (one, two) = (
        compose(
            &first,
            &described(5 * DAY),
            &EncryptedSecrets::default(),
            &scheduled_by_bob(),
        ),
        compose(
            &later,
            &described(5 * DAY),
            &EncryptedSecrets::default(),
            &scheduled_by_bob(),
        ),
    );
    assert_ne!(one.dedup_key(), two.dedup_key());
    assert_eq!(
        one.thread(),
        two.thread(),
        "the same key and caller: one thread"
    );
    let finding = one.finding(&place, now());
    assert_eq!(finding.resources[0].kind, "AwsKmsKey");
    assert_eq!(finding.resources[0].id, KEY);
    assert_eq!(finding.record_state, "ACTIVE");
    assert_eq!(finding.id, two.finding(&place, now()).id);
    let chat = one.chat_notification();
    assert_eq!(chat.metadata.thread_id, one.thread());
    assert_eq!(chat.metadata.event_type, "KmsKeyPendingDeletionUsed");
    assert!(
        chat.content.next_steps[0].contains(&format!(
            "`aws kms cancel-key-deletion --key-id {KEY_ID} --region us-east-1`"
        )),
        "{:?}",
        chat.content.next_steps
    );

    let place_of_key = KeyPlace::of(&first[0].0);
    let cancelled = compose_key_alert(&KeyFacts {
        key: &first[0].0.key,
        place: &place_of_key,
        uses: &first,
        lookup: &described(5 * DAY),
        secrets: &EncryptedSecrets::default(),
        scheduled_by: &scheduled_by_bob(),
        restore: &KeyRestoreOutcome::Cancelled { enabled: false },
        scheduling: None,
        window: None,
        notes: &[],
        now: now(),
    });
    assert_eq!(cancelled.finding(&place, now()).record_state, "ARCHIVED");
    assert!(cancelled.text.contains("the key is now DISABLED"));
    assert!(
        !cancelled.text.contains("cancel-key-deletion"),
        "nothing left to cancel: {}",
        cancelled.text
    );
}

#[test]
fn a_callers_chat_markup_never_reaches_chat() {
    let mut record = lambda_decrypt();
    record["userIdentity"]["arn"] =
        "arn:aws:sts::111122223333:assumed-role/orders-api-role/<!channel>`@here`".into();
    record["userAgent"] = "<!here> `x` @channel".into();
    let uses = [use_of(&record)];
    let alert = compose(
        &uses,
        &described(5 * DAY),
        &EncryptedSecrets::default(),
        &scheduled_by_bob(),
    );
    let chat = alert.chat_notification();
    for text in [&chat.content.title, &chat.content.description] {
        assert!(!text.contains(['<', '>', '@', '`']), "{text}");
    }
}
