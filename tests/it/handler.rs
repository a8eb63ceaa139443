//! The handler as a specification: every sample in `events/` through the public API, with
//! plain fakes for SNS and Secrets Manager.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{FakeSecrets, RecordingPublisher, events_dir, now, options, pending, sample};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::{DecodeError, HandlerError, RestoreError};
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{LogBatch, encode_records, gzip_base64, inflate_payload};
use secret_deletion_alerts::ports::NoAccountNames;
use secret_deletion_alerts::ports::NoEventHistory;
use secret_deletion_alerts::ports::NoWindows;
use secret_deletion_alerts::ports::{NoCopies, NoKeys};
use secret_deletion_alerts::restore::LookupFailure;
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};

async fn run(
    data: &(impl AsRef<[u8]> + ?Sized),
    publisher: &RecordingPublisher,
    secrets: &FakeSecrets,
    policy: &RestorePolicy,
) -> Result<BatchSummary, HandlerError> {
    let ports = Adapters::new(publisher, secrets);
    handle_batch(data, &ports, &options(policy)).await
}

#[test]
fn every_sample_event_carries_exactly_its_readable_records() {
    let mut checked = 0;
    for entry in std::fs::read_dir(events_dir().join("records")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let readable: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let bytes = inflate_payload(&sample(&name), 1 << 23).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        let carried: Vec<serde_json::Value> = batch
            .events()
            .iter()
            .map(|e| serde_json::from_str(&e.message().unwrap()).unwrap())
            .collect();
        assert_eq!(
            serde_json::Value::Array(carried),
            readable["Records"],
            "events/{name} is stale: run scripts/make-events"
        );
        checked += 1;
    }
    assert!(checked >= 5);
}

#[tokio::test]
async fn iam_user_sample_alerts_once_naming_user_key_and_secret() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let summary = run(
        &sample("iam-user-pending-deletion.json"),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    assert_eq!(
        (summary.records, summary.matched, summary.alerts_published),
        (Some(1), 1, 1)
    );
    let alerts = publisher.alerts();
    let alert = &alerts[0];
    assert_eq!(
        alert.subject,
        "HIGH: pending-deletion secret prod/db read by alice; not restored (123456789012, us-east-1)"
    );
    let attempt = &alert.document.attempts[0];
    assert_eq!(attempt.identity.principal_type, "iam_user");
    assert_eq!(
        attempt.identity.access_key_id.as_deref(),
        Some("AKIAEXAMPLEALICE0001")
    );
    assert_eq!(attempt.source_ip_address.as_deref(), Some("203.0.113.10"));
    assert!(
        alert
            .text
            .contains("scheduled for deletion on 2026-11-27T00:00:00Z (in 6 days 0 hours)")
    );
    assert!(alert.text.contains("aws secretsmanager restore-secret --secret-id=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf --region us-east-1"));
    assert_eq!(secrets.restores(), Vec::<String>::new());
}

#[tokio::test]
async fn assumed_role_sample_names_role_instance_and_vpc_endpoint() {
    let publisher = RecordingPublisher::default();
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/payments/api-key-Xy12Ab";
    let secrets = FakeSecrets::with(&[(arn, pending("prod/payments/api-key", 1, &[]))]);
    run(
        &sample("assumed-role-ec2-pending-deletion.json"),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    let alert = &publisher.alerts()[0];
    assert_eq!(alert.document.severity.as_str(), "critical");
    let who = &alert.document.attempts[0].identity;
    assert_eq!(who.role_name.as_deref(), Some("app-server-role"));
    assert_eq!(who.session_name.as_deref(), Some("i-0abc123def4567890"));
    assert!(
        alert
            .text
            .contains("EC2 instance i-0abc123def4567890 through role app-server-role")
    );
    assert!(
        alert
            .text
            .contains("access key ASIAEXAMPLEAPPSRV001 (temporary), MFA: no")
    );
    assert!(
        alert
            .text
            .contains("through VPC endpoint vpce-0a1b2c3d4e5f67890")
    );
    assert!(alert.subject.starts_with("CRITICAL: "));
}

#[tokio::test]
async fn identity_center_sample_names_the_person() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    run(
        &sample("identity-center-pending-deletion.json"),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    let alert = &publisher.alerts()[0];
    // The workload leads: here the person, whom Identity Center names for certain.
    assert_eq!(
        alert.subject,
        "CRITICAL: jane.doe@example.com read staging/reporting/db-readonly, pending deletion; already purged"
    );
    assert!(
        alert
            .text
            .contains("workload: person `jane.doe@example.com` via IAM Identity Center (certain:"),
        "{}",
        alert.text
    );
    assert!(alert.text.contains("IAM Identity Center user jane.doe@example.com through role AWSReservedSSO_AdministratorAccess_0123456789abcdef"));
    assert_eq!(alert.document.secret.region.as_deref(), Some("eu-west-1"));
}

#[tokio::test]
async fn mixed_batch_makes_one_alert_per_secret() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let summary = run(
        &sample("mixed-batch.json"),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    assert_eq!(summary.records, Some(7));
    assert_eq!(summary.matched, 4);
    assert_eq!(summary.secrets, 2);
    assert_eq!(summary.malformed, 0);
    assert!(
        Some(summary.parsed) < summary.records,
        "the pre-check must skip unrelated records"
    );
    let alerts = publisher.alerts();
    let per_secret: Vec<(String, usize)> = alerts
        .iter()
        .map(|a| {
            (
                a.document.secret.display_name.clone(),
                a.document.attempts_total,
            )
        })
        .collect();
    assert_eq!(
        per_secret,
        [
            ("legacy/ldap-bind".to_owned(), 1),
            ("prod/db".to_owned(), 3)
        ]
    );
    let prod = &alerts[1].document;
    assert_eq!(prod.first_seen.as_deref(), Some("2026-11-20T16:00:01Z"));
    assert_eq!(prod.last_seen.as_deref(), Some("2026-11-20T16:01:01Z"));
    assert_eq!(summary.delivered.len(), 2);
}

#[tokio::test]
async fn near_misses_and_control_messages_publish_nothing() {
    for name in ["near-misses.json", "control-message.json"] {
        let publisher = RecordingPublisher::default();
        let secrets = FakeSecrets::default();
        let summary = run(&sample(name), &publisher, &secrets, &RestorePolicy::All)
            .await
            .unwrap();
        assert_eq!(summary.matched, 0, "{name}");
        assert!(publisher.alerts().is_empty(), "{name}");
        assert!(secrets.lookups().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_and_names_the_events() {
    let publisher = RecordingPublisher::failing_for(&["prod/db"]);
    let secrets = FakeSecrets::default();
    let error = run(
        &sample("mixed-batch.json"),
        &publisher,
        &secrets,
        &RestorePolicy::Off,
    )
    .await
    .unwrap_err();
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        message
            .starts_with("1 of 2 alerts were not delivered (not delivered: prod/db; delivered: "),
        "{message}"
    );
    assert!(message.contains("secret prod/db (events 22222222-0000-4000-8000-000000000010,22222222-0000-4000-8000-000000000011,22222222-0000-4000-8000-000000000012)"), "{message}");
    // The other secret's alert still went out, and the error says which one it was.
    let delivered = publisher.alerts();
    assert_eq!(delivered.len(), 1);
    assert!(message.contains(delivered[0].dedup_key()), "{message}");
}

#[tokio::test]
async fn malformed_records_are_counted_and_skipped_and_the_rest_goes_on() {
    let good = std::fs::read_to_string(events_dir().join("records/iam-user-pending-deletion.json"))
        .unwrap();
    let good: serde_json::Value = serde_json::from_str(&good).unwrap();
    let record = good["Records"][0].to_string();
    // eventName of the wrong type: it passes the pre-check, then fails the model, and read
    // loosely it is no read of a secret either.
    let wrong_shape = record.replace("\"GetSecretValue\"", "7");
    let envelope = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "trail",
        "logStream": "s", "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": "1", "timestamp": 1, "message": "this is not JSON"},
            {"id": "2", "timestamp": 2, "message": "{\"truncated\": "},
            {"id": "3", "timestamp": 3, "message": wrong_shape},
            {"id": "4", "timestamp": 4, "message": record},
        ]
    });
    let data = gzip_base64(envelope.to_string().as_bytes()).unwrap();
    let publisher = RecordingPublisher::default();
    let summary = run(
        &data,
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    assert_eq!(summary.records, Some(4));
    assert_eq!(
        summary.malformed, 2,
        "the non-JSON one and the wrongly shaped match"
    );
    assert_eq!(summary.matched, 1);
    assert_eq!(publisher.alerts().len(), 1);
}

#[tokio::test]
async fn a_read_with_fields_of_unexpected_types_still_alerts_and_says_what_was_not_read() {
    let good = std::fs::read_to_string(events_dir().join("records/iam-user-pending-deletion.json"))
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut record = record["Records"][0].take();
    record["resources"] = serde_json::json!({"ARN": "not a list"});
    record["userIdentity"]["sessionContext"] =
        serde_json::json!({"attributes": {"mfaAuthenticated": true}});
    let data = gzip_base64(
        serde_json::json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "trail",
            "logStream": "s", "subscriptionFilters": ["f"],
            "logEvents": [{"id": "1", "timestamp": 1, "message": record.to_string()}]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let publisher = RecordingPublisher::default();
    let summary = run(
        &data,
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    assert_eq!((summary.matched, summary.malformed), (1, 0));
    let alerts = publisher.alerts();
    let fields = &alerts[0].document.attempts[0].unreadable_fields;
    assert_eq!(
        fields,
        &[
            "resources",
            "userIdentity.sessionContext.attributes.mfaAuthenticated"
        ]
    );
    assert!(alerts[0].subject.contains("alice"), "{}", alerts[0].subject);
    assert!(
        alerts[0].text.contains(
            "Not read:       resources, userIdentity.sessionContext.attributes.mfaAuthenticated"
        ),
        "{}",
        alerts[0].text
    );
}

#[tokio::test]
async fn an_undecodable_payload_fails_the_invocation_with_a_clear_error() {
    let publisher = RecordingPublisher::default();
    for (data, expected) in [
        ("@@@", "awslogs.data is not valid base64"),
        (
            "aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGd6aXA=",
            "base64 but not gzip",
        ),
    ] {
        let error = run(
            data,
            &publisher,
            &FakeSecrets::default(),
            &RestorePolicy::Off,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, HandlerError::Decode(_)));
        assert!(error.to_string().contains(expected), "{error}");
    }
    let not_envelope = gzip_base64(b"[1,2,3]").unwrap();
    let error = run(
        &not_envelope,
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        error,
        HandlerError::Decode(DecodeError::Envelope(_))
    ));
}

// ---- deletion-aware alerts and the restore policy ----

async fn restore_run(
    policy: &RestorePolicy,
    secrets: &FakeSecrets,
) -> (BatchSummary, secret_deletion_alerts::alert::Alert) {
    let publisher = RecordingPublisher::default();
    let summary = run(
        &sample("iam-user-pending-deletion.json"),
        &publisher,
        secrets,
        policy,
    )
    .await
    .unwrap();
    (summary, publisher.alerts().remove(0))
}

const TAG: &str = "secret-deletion-alerts:restore-on-access";

/// Policy, the secret's tags, the alert's restore summary, restores made.
type RestoreCase<'a> = (&'a RestorePolicy, &'a [(&'a str, &'a str)], &'a str, usize);

#[tokio::test]
async fn restores_only_when_policy_allows() {
    let tagged = RestorePolicy::Tagged {
        tag_key: TAG.into(),
    };
    let cases: [RestoreCase; 4] = [
        (
            &RestorePolicy::Off,
            &[(TAG, "true")],
            "not restored (policy: off)",
            0,
        ),
        (&tagged, &[], "not restored (not tagged)", 0),
        (&tagged, &[(TAG, "true")], "restored", 1),
        (&RestorePolicy::All, &[], "restored", 1),
    ];
    for (policy, tags, summary_text, restores) in cases {
        let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, tags))]);
        let (summary, alert) = restore_run(policy, &secrets).await;
        assert_eq!(
            alert.document.restore.summary, summary_text,
            "{policy:?} {tags:?}"
        );
        assert_eq!(secrets.restores().len(), restores, "{policy:?} {tags:?}");
        assert_eq!(summary.restored, restores);
        assert!(
            alert
                .text
                .contains(&format!("Deletion:       {summary_text}"))
        );
    }
}

#[tokio::test]
async fn a_retried_batch_restores_once_and_both_tries_succeed() {
    let secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    let (_, first) = restore_run(&RestorePolicy::All, &secrets).await;
    let (_, second) = restore_run(&RestorePolicy::All, &secrets).await;
    assert_eq!(first.document.restore.summary, "restored");
    // The retry must not say the opposite of what the first try did.
    assert_eq!(second.document.restore.outcome, "no_longer_pending");
    assert_eq!(second.attributes["restore_outcome"], "no_longer_pending");
    assert_ne!(second.document.severity.as_str(), "critical");
    assert!(
        second.text.contains(
            "no longer scheduled for deletion: the deletion was cancelled after the read"
        ),
        "{}",
        second.text
    );
    assert_eq!(secrets.restores().len(), 1);
    assert_eq!(first.dedup_key(), second.dedup_key());
}

#[tokio::test]
async fn a_failed_restore_still_alerts_and_says_what_went_wrong() {
    let mut secrets = FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]);
    secrets.restore_error = Some(RestoreError::Rejected {
        code: "AccessDeniedException".into(),
        message: "not allowed".into(),
    });
    let (_, alert) = restore_run(&RestorePolicy::All, &secrets).await;
    assert_eq!(
        alert.document.restore.summary,
        "failed: AccessDeniedException: not allowed"
    );
    assert!(alert.subject.contains("restore failed"));
}

#[tokio::test]
async fn purged_secret_is_critical_and_the_invocation_succeeds() {
    let secrets = FakeSecrets::with(&[("prod/db", SecretState::Purged)]);
    let (_, alert) = restore_run(&RestorePolicy::All, &secrets).await;
    assert_eq!(alert.document.restore.summary, "already purged");
    assert_eq!(alert.document.severity.as_str(), "critical");
    assert!(alert.text.contains("already purged"));
    assert!(secrets.restores().is_empty());
}

#[tokio::test]
async fn a_secret_in_another_account_is_reported_not_looked_up() {
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let policy = RestorePolicy::All;
    let mut opts = options(&policy);
    opts.account_id = Some("999999999999");
    let ports = Adapters::new(&publisher, &secrets);
    handle_batch(&sample("iam-user-pending-deletion.json"), &ports, &opts)
        .await
        .unwrap();
    let alert = &publisher.alerts()[0];
    assert!(secrets.lookups().is_empty());
    assert_eq!(
        alert.document.secret.state_detail,
        "not looked up: the secret is in account 123456789012, this function runs in 999999999999; \
         set MEMBER_ROLE_NAME (and deploy member-role.yaml) to look up and restore across an organization"
    );
    assert_eq!(
        alert.document.restore.summary,
        "not restored (secret in another account)"
    );
}

#[tokio::test]
async fn lookup_failures_still_alert_and_an_unreachable_service_is_asked_once_per_batch() {
    let unreachable = SecretState::LookupFailed {
        reason: "Secrets Manager unreachable: timeout".into(),
        cause: LookupFailure::Unreachable,
    };
    let secrets = FakeSecrets::with(&[
        ("prod/db", unreachable.clone()),
        ("legacy/ldap-bind", unreachable),
    ]);
    let publisher = RecordingPublisher::default();
    let summary = run(
        &sample("mixed-batch.json"),
        &publisher,
        &secrets,
        &RestorePolicy::All,
    )
    .await
    .unwrap();
    assert_eq!(summary.alerts_published, 2);
    assert_eq!(secrets.lookups().len(), 1, "the second lookup is skipped");
    for alert in publisher.alerts() {
        assert!(
            alert
                .document
                .secret
                .state_detail
                .starts_with("lookup failed: ")
        );
        assert_eq!(
            alert.document.restore.summary,
            "not restored (lookup failed)"
        );
    }
}

#[tokio::test]
async fn dry_run_looks_up_and_restores_nothing_and_says_what_it_would_do() {
    // A dry run is its adapters: nothing is asked of AWS, and they record what would have been.
    let publisher = RecordingPublisher::default();
    let secrets = DryRunSecrets::default();
    let policy = RestorePolicy::All;
    let ports = Adapters::new(&publisher, &secrets);
    handle_batch(
        &sample("iam-user-pending-deletion.json"),
        &ports,
        &options(&policy),
    )
    .await
    .unwrap();
    assert_eq!(secrets.asked(), ["describe prod/db"]);
    assert_eq!(
        publisher.alerts()[0].document.restore.summary,
        "dry run: would restore if still scheduled for deletion"
    );
}

#[test]
fn encode_accepts_a_single_record_and_json_lines() {
    let single = r#"{"eventName":"GetSecretValue"}"#;
    let lines = "{\"a\":1}\n\n{\"b\":2}\n";
    for (input, count) in [(single, 1), (lines, 2)] {
        let event = encode_records(input, "g").unwrap();
        let bytes = inflate_payload(&event.awslogs.data, 1 << 20).unwrap();
        assert_eq!(LogBatch::parse(&bytes).unwrap().events().len(), count);
    }
    let _ = now();
}

#[tokio::test]
async fn the_email_of_every_sample_names_the_workload_or_says_it_cannot() {
    let expected = [
        (
            "lambda-pending-deletion.json",
            "workload: probably Lambda function `orders-api` (likely:",
        ),
        (
            "ecs-task-pending-deletion.json",
            "workload: probably ECS task `3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d` (role `orders-task`) (likely:",
        ),
        (
            "codebuild-pending-deletion.json",
            "workload: probably CodeBuild build `AWSCodeBuild-5f0d3b9e-1c2a-4b7e-9d8f-0a1b2c3d4e5f`",
        ),
        (
            "github-actions-pending-deletion.json",
            "workload: probably GitHub Actions (role `deploy`) (likely:",
        ),
        (
            "assumed-role-ec2-pending-deletion.json",
            "workload: EC2 instance `i-",
        ),
        (
            "identity-center-pending-deletion.json",
            "workload: person `jane.doe@example.com`",
        ),
        (
            "iam-user-pending-deletion.json",
            "workload: IAM user `alice`",
        ),
    ];
    let mut samples = 0;
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") || name == "control-message.json" || name == "near-misses.json"
        {
            continue;
        }
        let publisher = RecordingPublisher::default();
        run(
            &sample(&name),
            &publisher,
            &FakeSecrets::default(),
            &RestorePolicy::Off,
        )
        .await
        .unwrap();
        for alert in publisher.alerts() {
            let lines = alert.text.matches("\n     workload: ").count();
            assert_eq!(
                lines,
                alert.document.callers.len(),
                "{name}: one per caller\n{}",
                alert.text
            );
            for attempt in &alert.document.attempts {
                assert!(!attempt.workload.evidence.is_empty(), "{name}");
            }
        }
        if let Some((_, line)) = expected.iter().find(|(file, _)| *file == name) {
            let alert = &publisher.alerts()[0];
            assert!(
                alert.text.contains(line),
                "{name}: missing {line:?} in\n{}",
                alert.text
            );
        }
        samples += 1;
    }
    assert!(samples >= 8, "{samples}");
}

#[tokio::test]
async fn an_instance_profile_reader_certain_by_ec2_role_delivery_leads_the_subject() {
    let publisher = RecordingPublisher::default();
    run(
        &sample("assumed-role-ec2-pending-deletion.json"),
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    let alert = &publisher.alerts()[0];
    assert!(alert.subject.contains(": EC2 i-"), "{}", alert.subject);
}

#[tokio::test]
async fn a_session_named_like_an_instance_without_ec2_role_delivery_does_not_lead() {
    let mut record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            events_dir().join("records/assumed-role-ec2-pending-deletion.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let record = &mut record["Records"][0];
    record["userIdentity"]["sessionContext"]
        .as_object_mut()
        .unwrap()
        .remove("ec2RoleDelivery");
    let data = encode_records(&record.to_string(), "trail")
        .unwrap()
        .awslogs
        .data;
    let publisher = RecordingPublisher::default();
    run(
        &data,
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    let subject = &publisher.alerts()[0].subject;
    assert!(subject.contains(" read by i-"), "{subject}");
    assert!(subject.contains("(likely EC2)"), "{subject}");
}

#[tokio::test]
async fn a_lambda_reader_follows_its_principal_in_the_subject_and_gets_its_console_link() {
    let publisher = RecordingPublisher::default();
    run(
        &sample("lambda-pending-deletion.json"),
        &publisher,
        &FakeSecrets::default(),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    let alert = &publisher.alerts()[0];
    assert_eq!(
        alert.subject,
        "CRITICAL: pending-deletion secret prod/orders/db read by orders-api (likely Lambda); already purged"
    );
    assert_eq!(
        alert.document.next_steps.find_the_workload,
        [
            "Lambda function orders-api: https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/orders-api"
        ]
    );
    assert!(alert.text.contains("Go to the workload:"), "{}", alert.text);
}

/// Secrets Manager unreachable in one region, answering in the others.
struct OneRegionDown<'a> {
    down: &'static str,
    secrets: &'a FakeSecrets,
}

#[async_trait::async_trait]
impl secret_deletion_alerts::ports::SecretInspector for OneRegionDown<'_> {
    async fn inspect(
        &self,
        secret_id: &str,
        at: secret_deletion_alerts::ports::SecretAt<'_>,
    ) -> SecretState {
        if at.region.map(|r| r.as_str()) == Some(self.down) {
            self.secrets
                .lookups
                .lock()
                .unwrap()
                .push(secret_id.to_owned());
            return SecretState::LookupFailed {
                reason: "Secrets Manager unreachable: dispatch failure".to_owned(),
                cause: LookupFailure::Unreachable,
            };
        }
        self.secrets.inspect(secret_id, at).await
    }
}

#[tokio::test]
async fn an_unreachable_region_degrades_only_its_own_secrets() {
    let arn = |region: &str, name: &str| {
        format!("arn:aws:secretsmanager:{region}:123456789012:secret:{name}-AbCdEf")
    };
    let data = reads_of_secrets(&[
        arn("eu-south-9", "far/one"),
        arn("eu-south-9", "far/two"),
        arn("us-east-1", "prod/db"),
    ]);
    let secrets = FakeSecrets::with(&[(&arn("us-east-1", "prod/db"), pending("prod/db", 6, &[]))]);
    let inspector = OneRegionDown {
        down: "eu-south-9",
        secrets: &secrets,
    };
    let publisher = RecordingPublisher::default();
    let ports = Adapters {
        publisher: &publisher,
        inspector: &inspector,
        restorer: &secrets,
        windows: &NoWindows,
        history: &NoEventHistory,
        accounts: &NoAccountNames,
        copies: &NoCopies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    // One at a time, the unreachable region first (secrets are handled in key order).
    options.concurrency = 1;
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(summary.alerts_published, 3);
    assert_eq!(
        secrets.lookups(),
        [arn("eu-south-9", "far/one"), arn("us-east-1", "prod/db")],
        "the second secret of the unreachable region is not looked up again; the other region is"
    );
    let states: Vec<(String, &str)> = publisher
        .alerts()
        .iter()
        .map(|a| {
            (
                a.document.secret.display_name.clone(),
                a.document.secret.state,
            )
        })
        .collect();
    assert!(
        states.contains(&("prod/db".to_owned(), "pending_deletion")),
        "{states:?}"
    );
    let far = publisher
        .alerts()
        .into_iter()
        .find(|a| a.document.secret.display_name.starts_with("far/two"))
        .unwrap();
    assert!(
        far.document
            .secret
            .state_detail
            .contains("unreachable in eu-south-9"),
        "{}",
        far.document.secret.state_detail
    );
}

#[tokio::test]
async fn one_secret_read_by_name_partial_arn_and_full_arn_is_one_alert_and_one_restore() {
    // A name that ends like a full ARN's suffix: only the lookup can tell the partial ARN is
    // this secret.
    let name = "app/key-ab12cd";
    let partial = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}");
    let full = format!("{partial}-XyZ123");
    let data = reads_of_secrets(&[name, partial.as_str(), full.as_str()]);
    let state = SecretState::PendingDeletion {
        arn: full.clone(),
        name: name.to_owned(),
        deletion_date: now() + std::time::Duration::from_secs(6 * 86_400),
        tags: Default::default(),
    };
    let secrets = FakeSecrets::with(&[
        (name, state.clone()),
        (&partial, state.clone()),
        (&full, state),
    ]);
    let publisher = RecordingPublisher::default();
    let summary = run(&data, &publisher, &secrets, &RestorePolicy::All)
        .await
        .unwrap();
    assert_eq!((summary.secrets, summary.alerts_published), (1, 1));
    assert_eq!(secrets.restores(), [full.as_str()]);
    let alerts = publisher.alerts();
    assert_eq!(alerts[0].document.attempts_total, 3);
    assert_eq!(
        alerts[0].document.secret.arn.as_deref(),
        Some(full.as_str())
    );
}

#[tokio::test]
async fn without_a_lookup_a_name_and_the_full_arn_that_holds_it_are_one_alert() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";
    let data = reads_of_secrets(&["prod/db", arn]);
    let secrets = DryRunSecrets::default();
    let publisher = RecordingPublisher::default();
    let ports = Adapters::new(&publisher, &secrets);
    let policy = RestorePolicy::All;
    let summary = handle_batch(&data, &ports, &options(&policy))
        .await
        .unwrap();
    assert_eq!((summary.secrets, summary.alerts_published), (1, 1));
    assert_eq!(publisher.alerts()[0].document.attempts_total, 2);
}

#[tokio::test]
async fn the_canarys_reads_are_counted_and_alert_no_one() {
    let mut records = common::windows::records_by("canary-fn", "stack-canary", &["c1"]);
    let other = common::windows::records_by("alice", "prod/db", &["r1"]);
    records["Records"]
        .as_array_mut()
        .unwrap()
        .extend(other["Records"].as_array().unwrap().iter().cloned());
    let data = encode_records(&records.to_string(), "trail")
        .unwrap()
        .awslogs
        .data;
    let secrets = FakeSecrets::default();
    let publisher = RecordingPublisher::default();
    let ports = Adapters::new(&publisher, &secrets);
    let policy = RestorePolicy::All;
    let mut options = options(&policy);
    options.canary_secret = Some("stack-canary");
    options.account_id = Some("123456789012");
    options.region = Some("us-east-1");
    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!((summary.canary_reads, summary.alerts_published), (1, 1));
    assert_eq!(
        secrets.lookups(),
        ["prod/db"],
        "the canary is not even looked up"
    );
    let line: serde_json::Value =
        serde_json::from_str(&secret_deletion_alerts::metrics::emf_line(&summary, 0)).unwrap();
    assert_eq!(line["CanaryReadsSeen"], 1);
}

/// One batch: alice reads each of `secret_ids` once (event ids e0, e1, ...).
fn reads_of_secrets(secret_ids: &[impl AsRef<str>]) -> secret_deletion_alerts::logs::Base64Text {
    let records: Vec<serde_json::Value> = secret_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut record =
                common::windows::records_by("alice", id.as_ref(), &["e"])["Records"][0].take();
            record["eventID"] = format!("e{i}").into();
            record
        })
        .collect();
    encode_records(
        &serde_json::json!({ "Records": records }).to_string(),
        "trail",
    )
    .unwrap()
    .awslogs
    .data
}
