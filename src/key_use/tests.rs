//! The key rule on records shaped as the KMS Developer Guide shows them ("Create an alarm that
//! detects use of a KMS key pending deletion" for the message; "ScheduleKeyDeletion" in
//! "Logging AWS KMS API calls with AWS CloudTrail" for the record's fields and `resources[]`;
//! "How AWS Secrets Manager uses AWS KMS" for the encryption context Secrets Manager passes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::cloudtrail::Principal;
use crate::record_reading::read_record;

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";

/// A `Decrypt` by a role, refused because its key is pending deletion.
fn refused_decrypt() -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:orders-api",
            "arn": "arn:aws:sts::111122223333:assumed-role/orders-api/i-0abc",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/orders-api", "userName": "orders-api"}}
        },
        "eventTime": "2026-12-01T10:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-sdk-java/2.25.0",
        "errorCode": "KMSInvalidStateException",
        "errorMessage": format!("{KEY_ARN} is pending deletion."),
        "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        "responseElements": null,
        "requestID": "8a5e0c1e-0000-4000-8000-000000000001",
        "eventID": "b1c2d3e4-0000-4000-8000-000000000001",
        "readOnly": true,
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": KEY_ARN}],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

fn key_use(record: &Value) -> Option<KeyUse> {
    let text = record.to_string();
    let read = read_record(&text).unwrap();
    key_use_in(&read.record, &text)
}

#[test]
fn a_refused_decrypt_names_the_key_the_operation_and_the_caller() {
    let found = key_use(&refused_decrypt()).expect("a use of a key pending deletion");
    assert_eq!(found.key.arn(), Some(KEY_ARN));
    assert_eq!(
        found.key.key_id(),
        Some("1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    assert_eq!(found.operation, "Decrypt");
    assert_eq!(
        found.error_code.as_deref(),
        Some("KMSInvalidStateException")
    );
    assert_eq!(found.through_secrets_manager, None);
    assert!(
        matches!(found.who.principal, Principal::AssumedRole { .. }),
        "{:?}",
        found.who
    );
    assert_eq!(found.recipient_account_id.as_deref(), Some("111122223333"));
}

#[test]
fn each_error_code_with_the_message_is_a_use_and_the_code_alone_is_not() {
    for code in [
        "KMSInvalidStateException",
        "DisabledException",
        "SomethingNew",
    ] {
        let mut record = refused_decrypt();
        record["errorCode"] = code.into();
        assert!(key_use(&record).is_some(), "{code}");
    }
    let mut disabled = refused_decrypt();
    disabled["errorMessage"] = format!("{KEY_ARN} is disabled.").into();
    assert_eq!(
        key_use(&disabled),
        None,
        "a disabled key is not pending deletion"
    );
    let mut replica = refused_decrypt();
    replica["errorMessage"] = format!("{KEY_ARN} is pending replica deletion.").into();
    assert!(key_use(&replica).is_some());
}

#[test]
fn the_wording_in_another_service_or_in_a_successful_call_is_not_a_use() {
    let mut other = refused_decrypt();
    other["eventSource"] = "secretsmanager.amazonaws.com".into();
    assert_eq!(key_use(&other), None);
    let mut succeeded = refused_decrypt();
    succeeded.as_object_mut().unwrap().remove("errorMessage");
    succeeded.as_object_mut().unwrap().remove("errorCode");
    assert_eq!(key_use(&succeeded), None);
}

#[test]
fn a_key_named_only_in_the_message_or_only_as_passed_is_still_named() {
    let mut message_only = refused_decrypt();
    message_only.as_object_mut().unwrap().remove("resources");
    assert_eq!(key_use(&message_only).unwrap().key.arn(), Some(KEY_ARN));

    let mut passed = refused_decrypt();
    passed.as_object_mut().unwrap().remove("resources");
    passed["eventName"] = "GenerateDataKey".into();
    passed["errorMessage"] = "The key is pending deletion.".into();
    passed["requestParameters"] = json!({"keyId": "alias/orders", "keySpec": "AES_256"});
    let found = key_use(&passed).unwrap();
    assert_eq!(found.key, KeyNamed::AsPassed("alias/orders".into()));
    assert_eq!(found.operation, "GenerateDataKey");

    let mut nothing = passed.clone();
    nothing["requestParameters"] = json!({"keyId": 42});
    assert_eq!(
        key_use(&nothing).unwrap().key,
        KeyNamed::Unknown,
        "an odd keyId is not a name"
    );
}

#[test]
fn a_call_secrets_manager_made_for_a_caller_names_the_secret() {
    let mut record = refused_decrypt();
    record["userIdentity"]["invokedBy"] = "secretsmanager.amazonaws.com".into();
    record["sourceIPAddress"] = "secretsmanager.amazonaws.com".into();
    record["userAgent"] = "secretsmanager.amazonaws.com".into();
    record["requestParameters"] = json!({
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "encryptionContext": {"SecretARN": SECRET_ARN, "SecretVersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"}
    });
    let found = key_use(&record).unwrap();
    assert_eq!(
        found.through_secrets_manager,
        Some(ThroughSecretsManager {
            secret_arn: Some(SECRET_ARN.into())
        })
    );
    assert_eq!(
        found.who.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/orders-api/i-0abc"),
        "the reader is still the caller"
    );
    // A caller cannot pass for Secrets Manager with its own user agent alone.
    let mut posing = refused_decrypt();
    posing["userAgent"] = "secretsmanager.amazonaws.com".into();
    assert_eq!(key_use(&posing).unwrap().through_secrets_manager, None);
}

#[test]
fn an_arn_of_another_kind_is_never_taken_for_the_key() {
    for text in [
        "arn:aws:kms:us-east-1:111122223333:alias/orders",
        "arn:aws:kms::111122223333:key/abc",
        "arn:aws:secretsmanager:us-east-1:111122223333:key/abc",
        "arn:aws:kms:us-east-1:111122223333:key/",
    ] {
        assert_eq!(key_arn(text), None, "{text}");
    }
}

proptest! {
    /// Whatever the caller-chosen and optional fields hold, a refusal with the wording from
    /// KMS is a use: nothing else in the record can drop it.
    #[test]
    fn no_other_field_can_drop_a_use(
        key_id in prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), ".{0,40}".prop_map(Value::from)],
        context in prop_oneof![Just(Value::Null), ".{0,20}".prop_map(Value::from), Just(json!({"SecretARN": 7}))],
        agent in ".{0,40}",
        resources in prop_oneof![Just(Value::Null), Just(json!([])), Just(json!("x")), Just(json!([{"type": 1}]))],
        drop_identity in any::<bool>(),
    ) {
        let mut record = refused_decrypt();
        record["requestParameters"] = json!({"keyId": key_id, "encryptionContext": context});
        record["userAgent"] = agent.into();
        record["resources"] = resources;
        if drop_identity {
            record.as_object_mut().unwrap().remove("userIdentity");
        }
        let found = key_use(&record);
        prop_assert!(found.is_some());
        // The message still names the key when nothing else does.
        let key = found.map(|f| f.key);
        prop_assert_eq!(key.as_ref().and_then(KeyNamed::arn), Some(KEY_ARN));
    }
}
