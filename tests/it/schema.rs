//! `docs/alert-v1.schema.json` is the contract SQS and Lambda subscribers code against: every
//! alert document the function can publish validates against it, for every sample in `events/`
//! and every state a secret can be in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::Path;

use common::hostile::{payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, events_dir, options, pending};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::handler::{Adapters, handle_batch};
use secret_deletion_alerts::logs::Base64Text;
use secret_deletion_alerts::ports::{SecretInspector, SecretRestorer};
use secret_deletion_alerts::restore::LookupFailure;
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/alert-v1.schema.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

async fn documents<S: SecretInspector + SecretRestorer + Sync>(
    data: &(impl AsRef<[u8]> + ?Sized),
    secrets: &S,
    policy: &RestorePolicy,
) -> Vec<serde_json::Value> {
    let publisher = RecordingPublisher::default();
    let ports = Adapters::new(&publisher, secrets);
    handle_batch(data, &ports, &options(policy)).await.unwrap();
    publisher
        .alerts()
        .iter()
        .map(|alert| serde_json::from_str(&alert.document_json()).unwrap())
        .collect()
}

fn samples() -> Vec<Base64Text> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).unwrap();
            let event = secret_deletion_alerts::logs::SubscriptionEvent::from_json(&bytes).unwrap();
            found.push(event.awslogs.data);
        }
    }
    found
}

fn assert_valid(validator: &jsonschema::Validator, documents: &[serde_json::Value]) {
    for document in documents {
        let errors: Vec<String> = validator
            .iter_errors(document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
    }
}

#[tokio::test]
async fn every_sample_alert_validates_against_the_schema_in_every_secret_state() {
    let validator = validator();
    let states = [
        pending("prod/db", 6, &[]),
        pending("prod/db", 1, &[]),
        SecretState::Purged,
        SecretState::LookupFailed {
            reason: "AccessDeniedException: no".into(),
            cause: LookupFailure::Refused,
        },
        SecretState::NotPendingDeletion {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
            name: "prod/db".into(),
            tags: vec![],
        },
    ];
    let mut checked = 0;
    for data in samples() {
        for state in &states {
            let secrets =
                FakeSecrets::with(&[("prod/db", state.clone()), ("ops/api-key", state.clone())]);
            let found = documents(&data, &secrets, &RestorePolicy::All).await;
            assert_valid(&validator, &found);
            checked += found.len();
        }
        let found = documents(&data, &DryRunSecrets::default(), &RestorePolicy::Off).await;
        assert_valid(&validator, &found);
        checked += found.len();
    }
    assert!(checked >= 20, "{checked} documents checked");
}

#[tokio::test]
async fn unnamed_secrets_bad_regions_and_hostile_strings_validate_too() {
    let validator = validator();
    let mut unnamed = pending_deletion_read("x", "ua", "s");
    unnamed["requestParameters"] = serde_json::Value::Null;
    unnamed["eventID"] = "unnamed".into();
    let mut bad_region = pending_deletion_read("prod/db", "ua", "s");
    bad_region["awsRegion"] = "not a region".into();
    bad_region["eventID"] = "bad-region".into();
    let hostile = pending_deletion_read(
        "prod/db\nBcc: x@example.com",
        &"\u{202e}\u{1b}[2J".repeat(200),
        "ops\u{2028}",
    );
    let records = [unnamed, bad_region, hostile].map(|r| r.to_string());
    let found = documents(
        &payload(&records),
        &FakeSecrets::default(),
        &RestorePolicy::All,
    )
    .await;
    assert_eq!(found.len(), 3);
    assert_valid(&validator, &found);
    // The schema is strict: a field it does not name, or a wrong type, fails it.
    let mut extra = found[0].clone();
    extra["unexpected"] = 1.into();
    assert!(!validator.is_valid(&extra));
    let mut wrong = found[0].clone();
    wrong["attempts_total"] = "one".into();
    assert!(!validator.is_valid(&wrong));
}

#[tokio::test]
async fn alerts_under_a_quiet_window_validate_too() {
    use common::windows::{HOUR, invoke, reads_by};
    use secret_deletion_alerts::memory_windows::MemoryWindows;
    use std::time::Duration;

    let validator = validator();
    let store = MemoryWindows::new();
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    for (ids, at) in [
        (&["e1"][..], 0),
        (&["e2", "e3"][..], 60),
        (&["e4"][..], 7200),
    ] {
        invoke(
            reads_by("alice", "prod/db", ids),
            &publisher,
            &secrets,
            &store,
            HOUR,
            Duration::from_secs(at),
        )
        .await
        .unwrap();
    }
    let found: Vec<serde_json::Value> = publisher
        .alerts()
        .iter()
        .map(|alert| serde_json::from_str(&alert.document_json()).unwrap())
        .collect();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1]["suppressed_since_last_alert"], 2);
    assert!(found[1]["last_alert_at"].is_string());
    assert_valid(&validator, &found);
}
