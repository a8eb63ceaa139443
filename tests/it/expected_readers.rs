//! Readers marked as expected (`EXPECTED_READERS`) through the handler: an expected read is
//! counted, never alerted or restored for; the alert of the other readers says what it left
//! out, as a version 2 document; an expired rule marks nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use common::hostile::{payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, options, pending};
use secret_deletion_alerts::expected::ExpectedReaders;
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::metrics::emf_line;
use secret_deletion_alerts::restore::RestorePolicy;

/// A read of `prod/db` by `role`'s session, with its own event id.
fn read_by(role: &str, event_id: &str) -> String {
    let mut record = pending_deletion_read("prod/db", "Boto3/1.34.84", "session-1");
    record["eventID"] = event_id.into();
    record["userIdentity"]["arn"] =
        format!("arn:aws:sts::123456789012:assumed-role/{role}/session-1").into();
    record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        format!("arn:aws:iam::123456789012:role/{role}").into();
    record["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] = role.into();
    record.to_string()
}

fn batch() -> String {
    payload(&[
        read_by("etl", "11111111-0000-4000-8000-000000000001"),
        read_by("etl", "11111111-0000-4000-8000-000000000002"),
        read_by("orders-api", "11111111-0000-4000-8000-000000000003"),
    ])
}

async fn run(
    data: &str,
    rules: &ExpectedReaders,
    policy: &RestorePolicy,
) -> (BatchSummary, RecordingPublisher, FakeSecrets) {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let ports = Adapters::new(&publisher, &secrets);
    let mut options = options(policy);
    options.expected_readers = rules;
    let summary = handle_batch(data, &ports, &options).await.unwrap();
    (summary, publisher, secrets)
}

fn etl_rule(until: &str) -> ExpectedReaders {
    ExpectedReaders::parse(&format!(
        r#"[{{"secret": "prod/*", "caller": "arn:aws:iam::123456789012:role/etl", "reason": "nightly ETL until the cut-over"{until}}}]"#
    ))
    .unwrap()
}

fn validator(version: &str) -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/alert-{version}.schema.json"));
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[tokio::test]
async fn a_rule_for_one_caller_leaves_its_reads_out_and_the_others_still_alert() {
    let (summary, publisher, _) = run(&batch(), &etl_rule(""), &RestorePolicy::Off).await;
    assert_eq!((summary.matched, summary.reads_expected), (3, 2));
    assert_eq!(summary.alerts_published, 1);
    let alerts = publisher.alerts();
    let alert = &alerts[0];
    assert_eq!(
        alert.document.attempts_total, 1,
        "the expected reads are not in it"
    );
    assert!(
        alert.document.callers[0]
            .caller
            .ends_with("role/orders-api")
    );
    assert!(
        alert.text.contains(
            "Expected:       2 more reads of this secret left out, marked expected by rule 1 (nightly ETL until the cut-over)"
        ),
        "{}",
        alert.text
    );
    let document: serde_json::Value = serde_json::from_str(&alert.document_json()).unwrap();
    assert_eq!(document["schema"], "secret-deletion-alerts/alert/v2");
    assert_eq!(document["expected_reads"]["left_out"], 2);
    assert!(validator("v2").validate(&document).is_ok());
    assert!(
        validator("v1").validate(&document).is_err(),
        "v1 has no such field"
    );
    let metric: serde_json::Value = serde_json::from_str(&emf_line(&summary, 0)).unwrap();
    assert_eq!(metric["ReadsExpected"], 2);
}

#[tokio::test]
async fn reads_that_are_all_expected_send_nothing_and_restore_nothing() {
    let only_etl = payload(&[read_by("etl", "11111111-0000-4000-8000-000000000001")]);
    let (summary, publisher, secrets) = run(&only_etl, &etl_rule(""), &RestorePolicy::All).await;
    assert_eq!((summary.matched, summary.reads_expected), (1, 1));
    assert_eq!((summary.alerts_published, summary.restored), (0, 0));
    assert!(publisher.alerts().is_empty());
    assert!(
        secrets.restores().is_empty(),
        "an expected read triggers no restore"
    );
}

#[tokio::test]
async fn the_unexpected_reader_still_gets_its_restore() {
    let (summary, _, secrets) = run(&batch(), &etl_rule(""), &RestorePolicy::All).await;
    assert_eq!(summary.restored, 1);
    assert_eq!(secrets.restores().len(), 1);
}

#[tokio::test]
async fn an_expired_rule_marks_nothing_and_the_alert_is_version_1() {
    let expired = etl_rule(r#", "until": "2020-01-01T00:00:00Z""#);
    let (summary, publisher, _) = run(&batch(), &expired, &RestorePolicy::Off).await;
    assert_eq!((summary.reads_expected, summary.alerts_published), (0, 1));
    let alert = &publisher.alerts()[0];
    assert_eq!(alert.document.attempts_total, 3);
    let document: serde_json::Value = serde_json::from_str(&alert.document_json()).unwrap();
    assert_eq!(document["schema"], "secret-deletion-alerts/alert/v1");
    assert!(document.get("expected_reads").is_none());
    assert!(validator("v1").validate(&document).is_ok());
}

#[test]
fn version_2_is_version_1_and_expected_reads_alone() {
    let read = |version: &str| -> serde_json::Value {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/alert-{version}.schema.json"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let (v1, mut v2) = (read("v1"), read("v2"));
    let properties = v2["properties"].as_object_mut().unwrap();
    assert!(properties.remove("expected_reads").is_some());
    properties.insert("schema".into(), v1["properties"]["schema"].clone());
    let required = v2["required"].as_array_mut().unwrap();
    required.retain(|field| field != "expected_reads");
    for key in ["$id", "title", "description"] {
        v2[key] = v1[key].clone();
    }
    assert_eq!(v1, v2);
}
