//! Properties that must hold for any input, checked with proptest, and the pre-check's
//! soundness on every record we have: the samples and the traffic generator's output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, UNIX_EPOCH};

use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry};
use proptest::prelude::*;
use secret_deletion_alerts::alert::Evidence;
use secret_deletion_alerts::alert::{AlertContext, MAX_SNS_BYTES, compose};
use secret_deletion_alerts::cloudtrail::CloudTrailRecord;
use secret_deletion_alerts::detection::{
    EVENT_NAME, EVENT_SOURCE, Examined, Findings, Origin, PENDING_DELETION_WORDINGS, detect,
    is_pending_deletion_read, may_match, scan_log_events,
};
use secret_deletion_alerts::logs::{LogBatch, encode_records, inflate_payload};
use secret_deletion_alerts::restore::{RestoreOutcome, RestorePolicy, SecretState};
use secret_deletion_alerts::synthetic::{Kind, Traffic};
use serde_json::{Value, json};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\"\\\\{}\\[\\],: \t\n]{0,20}",
        Just(r#""},{"id":""#.to_owned()),
        Just("\\".to_owned()),
        Just(" because it was ".to_owned()),
        Just("\\u0041".to_owned()),
        "\\PC{0,300}",
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Fields of a record other than the three the rule reads, by their dotted path
/// (`recipientAccountId` too: an account id that is not 12 digits is named in the alert and
/// never acted in, but the read still alerts).
const LOOSE_FIELDS: [&str; 16] = [
    "recipientAccountId",
    "eventVersion",
    "eventTime",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "requestParameters",
    "requestParameters.secretId",
    "eventID",
    "sessionCredentialFromConsole",
    "userIdentity",
    "userIdentity.type",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "resources",
    "vpcEndpointId",
];

/// Sets the value at a dotted path, making the objects on the way.
fn set_path(record: &mut Value, path: &str, value: Value) {
    let mut place = record;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if !place.is_object() {
            *place = json!({});
        }
        if keys.peek().is_none() {
            place[key] = value;
            return;
        }
        place = &mut place[key];
    }
}

fn any_record() -> impl Strategy<Value = Value> {
    (any_text(), any_text(), any_text(), any::<bool>()).prop_map(|(agent, secret, other, matching)| {
        let mut record = json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": if matching { "GetSecretValue" } else { "DescribeSecret" },
            "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
            "userAgent": agent,
            "requestParameters": {"secretId": secret},
            "awsRegion": "us-east-1",
        });
        record["additional"] = json!({ "text": other, "list": [other.clone(), 1, null] });
        record
    })
}

/// The record's JSON text with some letters written as `\uXXXX`, as a JSON writer may.
fn escape_some_letters(text: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut after_backslash = false;
    let mut hex_digits_left = 0;
    for (i, c) in text.chars().enumerate() {
        if hex_digits_left > 0 {
            hex_digits_left -= 1;
        } else if after_backslash {
            after_backslash = false;
            if c == 'u' {
                hex_digits_left = 4;
            }
        } else if c == '\\' {
            after_backslash = true;
        } else if c == '"' {
            in_string = !in_string;
        } else if in_string && c.is_ascii_alphabetic() && mask[i % mask.len()] {
            out.push_str(&format!("\\u{:04x}", c as u32));
            continue;
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_what_encode_produced_gives_back_the_records(records in prop::collection::vec(any_record(), 1..20)) {
        let input: String = records.iter().map(|r| format!("{r}\n")).collect();
        let event = encode_records(&input, "group").unwrap();
        let bytes = inflate_payload(&event.awslogs.data, 8 << 20).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        prop_assert_eq!(batch.events().len(), records.len());
        for (event, record) in batch.events().iter().zip(&records) {
            let decoded: Value = serde_json::from_str(&event.message().unwrap()).unwrap();
            prop_assert_eq!(&decoded, record);
        }
    }

    #[test]
    fn the_whole_batch_gate_passes_every_batch_with_a_message_that_may_match(
        messages in prop::collection::vec(any_text(), 0..12),
        timestamps in prop::collection::vec(prop_oneof![1_000_000_000_000i64..10_000_000_000_000, (i64::MIN + 1)..=i64::MAX], 12),
    ) {
        let mut data = LogData::default();
        data.message_type = "DATA_MESSAGE".to_owned();
        data.log_group = "group".to_owned();
        for (index, message) in messages.iter().enumerate() {
            let mut entry = LogEntry::default();
            entry.id = format!("{index:056}");
            entry.timestamp = timestamps[index];
            entry.message = message.clone();
            data.log_events.push(entry);
        }
        let bytes = serde_json::to_vec(&data).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        prop_assert_eq!(batch.events().len(), messages.len());
        for (event, message) in batch.events().iter().zip(&messages) {
            prop_assert_eq!(&event.message().unwrap(), message);
            prop_assert_eq!(event.timestamp, Some(timestamps[event.id.parse::<usize>().unwrap()]));
            if may_match(event.raw_message()) {
                prop_assert!(may_match(&bytes), "the gate let a candidate through unread");
            }
        }
    }

    #[test]
    fn a_read_the_rule_accepts_alerts_whatever_the_types_of_its_other_fields(
        replaced in prop::collection::btree_map(0..LOOSE_FIELDS.len(), any_json(), 1..5),
        wording in 0..PENDING_DELETION_WORDINGS.len(),
    ) {
        let mut record = json!({
            "eventVersion": "1.09",
            "eventTime": "2026-11-03T10:00:00Z",
            "eventSource": EVENT_SOURCE,
            "eventName": EVENT_NAME,
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "203.0.113.9",
            "userAgent": "aws-cli/2",
            "errorCode": "InvalidRequestException",
            "errorMessage": format!("You can't perform this operation on the {}.", PENDING_DELETION_WORDINGS[wording]),
            "requestParameters": {"secretId": "prod/db"},
            "eventID": "e-1",
            "recipientAccountId": "123456789012",
            "userIdentity": {
                "type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/app/s",
                "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}
            },
            "resources": [{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "type": "AWS::SecretsManager::Secret"}],
        });
        for (field, value) in &replaced {
            set_path(&mut record, LOOSE_FIELDS[*field], value.clone());
        }
        let event = encode_records(&format!("{record}\n"), "group").unwrap();
        let bytes = inflate_payload(&event.awslogs.data, 8 << 20).unwrap();
        prop_assert!(may_match(&bytes));
        let findings = scan_log_events(&LogBatch::parse(&bytes).unwrap());
        prop_assert_eq!(findings.matched, 1, "{}", record);
        prop_assert!(findings.malformed.is_empty());
    }

    #[test]
    fn the_pre_check_never_rejects_a_record_the_rule_accepts(record in any_record(), mask in prop::collection::vec(any::<bool>(), 1..7)) {
        let text = escape_some_letters(&record.to_string(), &mask);
        let parsed: CloudTrailRecord = serde_json::from_str(&text).unwrap();
        let literal = serde_json::to_string(&text).unwrap();
        if is_pending_deletion_read(&parsed) {
            prop_assert!(may_match(text.as_bytes()), "{}", text);
            prop_assert!(may_match(literal.as_bytes()), "{}", literal);
        }
    }

    #[test]
    fn any_strings_compose_an_alert_sns_accepts(agent in any_text(), secret in any_text(), session in any_text(), count in 1usize..40) {
        let record = common::hostile::pending_deletion_read(&secret, &agent, &session);
        let parsed: CloudTrailRecord = serde_json::from_value(record).unwrap();
        let origin = Origin::LogEvent { id: "1".into(), timestamp_ms: None };
        let Some(access) = detect(&parsed, origin) else { return Ok(()); };
        let attempts = vec![access; count];
        let policy = RestorePolicy::All;
        let context = AlertContext {
            log_group: "g", athena_table: "t", restore_policy: &policy, max_listed_attempts: 50,
            now: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        };
        let alert = compose(&attempts, &SecretState::Purged, &RestoreOutcome::AlreadyPurged, &Evidence::not_asked("a test"), None, &context);
        prop_assert!(alert.subject.len() < 100);
        prop_assert!(alert.subject.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "{:?}", alert.subject);
        prop_assert!(alert.subject.as_bytes()[0].is_ascii_alphanumeric());
        prop_assert!(alert.sns_size() <= MAX_SNS_BYTES);
        let message: Value = serde_json::from_str(alert.sns_message()).unwrap();
        prop_assert!(message["default"].is_string());
        for line in alert.text.lines() {
            prop_assert!(!line.chars().any(|c| c.is_control()), "{:?}", line);
        }
    }
}

#[test]
fn the_pre_check_keeps_every_alerting_record_of_the_samples_and_the_generator() {
    let mut records: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(common::events_dir().join("records")).unwrap() {
        let file: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        records.extend(
            file["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(Value::to_string),
        );
    }
    let mut traffic = Traffic::new(42);
    for i in 0..5_000 {
        let kind = if i % 50 == 0 {
            Kind::PendingDeletionRead
        } else {
            Kind::Background
        };
        records.push(traffic.record(kind).to_string());
    }
    let mut alerting = 0;
    for text in &records {
        let parsed: CloudTrailRecord = serde_json::from_str(text).unwrap();
        if is_pending_deletion_read(&parsed) {
            alerting += 1;
            assert!(may_match(text.as_bytes()), "{text}");
            assert!(
                may_match(serde_json::to_string(text).unwrap().as_bytes()),
                "{text}"
            );
        }
    }
    assert!(alerting >= 100 + 6, "{alerting}");
    // And the generator's background traffic never alerts.
    let mut findings = Findings::default();
    let mut traffic = Traffic::new(7);
    for _ in 0..2_000 {
        let text = traffic.record(Kind::Background).to_string();
        let examined = findings.examine(&text, || Origin::File {
            path: "generated".into(),
            index: 0,
        });
        assert!(matches!(examined, Examined::Skipped | Examined::NoMatch));
    }
    assert!(
        findings.parsed < findings.records / 5,
        "the pre-check lets few through: {findings:?}"
    );
}
