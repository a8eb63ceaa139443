//! Copies of delivered alerts where the team works: Security Hub findings (ASFF) and chat
//! messages in AWS Chatbot's custom-notification format. Offline: what the handler copies and
//! what the copies say. Against moto (`#[ignore]`d; `scripts/test` runs them): a second alert
//! of one secret and caller updates one finding, a restore archives it, and the chat topic's
//! raw body is Chatbot's format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use common::hostile::{payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, now, options, pending};
use secret_deletion_alerts::alert::Alert;
use secret_deletion_alerts::alert::finding::{FindingPlace, calls_of, findings_of};
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::ports::{
    AlertCopies, CopiesReport, NoAccountNames, NoEventHistory, NoKeys, NoWindows,
};
use secret_deletion_alerts::restore::RestorePolicy;

/// Keeps the alerts it is given; reports `undelivered` of each kind.
#[derive(Default)]
struct RecordingCopies {
    copied: Mutex<Vec<Alert>>,
    undelivered: CopiesReport,
}

#[async_trait::async_trait]
impl AlertCopies for RecordingCopies {
    async fn deliver(&self, alerts: &[Alert]) -> CopiesReport {
        self.copied.lock().unwrap().extend(alerts.iter().cloned());
        self.undelivered
    }

    async fn deliver_scheduled(
        &self,
        _alerts: &[secret_deletion_alerts::scheduled::ScheduledAlert],
    ) -> CopiesReport {
        CopiesReport::default()
    }

    async fn deliver_keys(
        &self,
        _alerts: &[secret_deletion_alerts::key_alert::KeyAlert],
    ) -> CopiesReport {
        CopiesReport::default()
    }

    fn undelivered(&self, alerts: usize) -> CopiesReport {
        CopiesReport {
            findings_undelivered: alerts,
            chat_undelivered: alerts,
        }
    }
}

fn read(secret: &str, session: &str, event_id: &str) -> String {
    let mut record = pending_deletion_read(secret, "Boto3/1.34.84 <!here> `x`", session);
    record["eventID"] = event_id.into();
    record.to_string()
}

/// One batch through the handler, its delivered alerts copied to `copies`.
async fn run_with<C: AlertCopies + Sync>(
    data: &str,
    publisher: &RecordingPublisher,
    secrets: &FakeSecrets,
    copies: &C,
    policy: &RestorePolicy,
) -> BatchSummary {
    let ports = Adapters {
        publisher,
        inspector: secrets,
        restorer: secrets,
        windows: &NoWindows,
        history: &NoEventHistory,
        accounts: &NoAccountNames,
        copies,
        keys: &NoKeys,
        key_restorer: &NoKeys,
        key_secrets: &NoKeys,
    };
    match handle_batch(data, &ports, &options(policy)).await {
        Ok(summary) => summary,
        Err(error) => error.summary().cloned().unwrap(),
    }
}

/// Where findings are imported: `account` in `region`.
fn place_in(account: &str, region: &str) -> FindingPlace {
    FindingPlace {
        partition: "aws".into(),
        account_id: account.into(),
        region: region.into(),
    }
}

fn secrets() -> FakeSecrets {
    FakeSecrets::with(&[
        ("prod/db", pending("prod/db", 6, &[])),
        ("prod/api", pending("prod/api", 1, &[])),
    ])
}

#[tokio::test]
async fn only_delivered_alerts_are_copied_and_a_failed_copy_fails_nothing() {
    let data = payload(&[
        read("prod/db", "s1", "22222222-0000-4000-8000-000000000001"),
        read("prod/api", "s1", "22222222-0000-4000-8000-000000000002"),
    ]);
    let publisher = RecordingPublisher::failing_for(&["prod/api"]);
    let copies = RecordingCopies {
        undelivered: CopiesReport {
            findings_undelivered: 1,
            chat_undelivered: 1,
        },
        ..RecordingCopies::default()
    };
    let summary = run_with(&data, &publisher, &secrets(), &copies, &RestorePolicy::Off).await;
    let copied = copies.copied.lock().unwrap().clone();
    assert_eq!(copied.len(), 1, "the undelivered alert is not copied");
    assert_eq!(copied[0].document.secret.display_name, "prod/db");
    assert_eq!(
        (summary.findings_undelivered, summary.chat_undelivered),
        (1, 1)
    );

    let publisher = RecordingPublisher::default();
    let copies = RecordingCopies {
        undelivered: CopiesReport {
            findings_undelivered: 2,
            chat_undelivered: 0,
        },
        ..RecordingCopies::default()
    };
    let summary = run_with(&data, &publisher, &secrets(), &copies, &RestorePolicy::Off).await;
    assert_eq!(summary.alerts_published, 2, "failed copies fail no alert");
    assert_eq!(summary.alerts_undelivered, 0);
    assert_eq!(summary.findings_undelivered, 2);
}

/// The alert of one batch about `secret`, read by `session`.
async fn alert_of(secret: &str, session: &str, event_id: &str, policy: &RestorePolicy) -> Alert {
    let publisher = RecordingPublisher::default();
    let copies = RecordingCopies::default();
    let data = payload(&[read(secret, session, event_id)]);
    run_with(&data, &publisher, &secrets(), &copies, policy).await;
    publisher.alerts().remove(0)
}

#[tokio::test]
async fn the_chat_message_is_chatbots_format_and_pings_no_one() {
    let alert = alert_of(
        "prod/db",
        "<!channel>@everyone<@U123>`<at>x</at>",
        "22222222-0000-4000-8000-000000000003",
        &RestorePolicy::Off,
    )
    .await;
    let chat = serde_json::to_value(alert.chat_notification()).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(
        chat["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with(":warning: HIGH: prod/db")
    );
    let description = chat["content"]["description"].as_str().unwrap();
    assert!(description.contains("*Caller:*"), "{description}");
    assert!(description.contains("*Time left:*"), "{description}");
    assert!(description.contains("*Deletion:*"), "{description}");
    assert!(
        chat["content"]["nextSteps"][0]
            .as_str()
            .unwrap()
            .starts_with("Cancel the deletion: `aws secretsmanager restore-secret")
    );
    assert_eq!(chat["metadata"]["eventType"], "SecretPendingDeletionRead");
    assert_eq!(
        chat["metadata"]["relatedResources"][0],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    );
    let text = chat.to_string();
    for mention in ["<!channel>", "<!here>", "@everyone", "<@U123>", "<at>"] {
        assert!(!text.contains(mention), "{mention} reached chat: {text}");
    }
    for field in [
        &chat["content"]["title"],
        &chat["content"]["description"],
        &chat["metadata"],
    ] {
        for c in ['<', '>', '@', '`'] {
            assert!(!field.to_string().contains(c), "{c} in {field}");
        }
    }
    let steps = chat["content"]["nextSteps"].to_string();
    assert_eq!(
        steps.matches('`').count(),
        2,
        "only our own code span: {steps}"
    );
}

#[tokio::test]
async fn repeats_of_one_secret_and_caller_share_a_thread_and_a_finding() {
    let policy = RestorePolicy::Off;
    let first = alert_of(
        "prod/db",
        "s1",
        "22222222-0000-4000-8000-000000000004",
        &policy,
    )
    .await;
    let again = alert_of(
        "prod/db",
        "s2",
        "22222222-0000-4000-8000-000000000005",
        &policy,
    )
    .await;
    let other_secret = alert_of(
        "prod/api",
        "s1",
        "22222222-0000-4000-8000-000000000006",
        &policy,
    )
    .await;
    let thread = |alert: &Alert| alert.chat_notification().metadata.thread_id;
    assert_eq!(thread(&first), thread(&again), "a new session of one role");
    assert_ne!(thread(&first), thread(&other_secret));
    assert_ne!(
        first.dedup_key(),
        again.dedup_key(),
        "two alerts all the same"
    );
    let place = place_in("123456789012", "us-east-1");
    let id = |alert: &Alert| findings_of(alert, &place, now())[0].id.clone();
    assert_eq!(id(&first), id(&again));
    assert_ne!(id(&first), id(&other_secret));
}

#[tokio::test]
async fn a_finding_holds_the_fields_security_hub_needs() {
    let alert = alert_of(
        "prod/db",
        "s1",
        "22222222-0000-4000-8000-000000000007",
        &RestorePolicy::Off,
    )
    .await;
    let place = place_in("999999999999", "eu-west-1");
    let findings = findings_of(&alert, &place, now());
    assert_eq!(findings.len(), 1, "one per caller");
    let finding = serde_json::to_value(&findings[0]).unwrap();
    assert_eq!(
        finding["ProductArn"],
        "arn:aws:securityhub:eu-west-1:999999999999:product/999999999999/default"
    );
    assert_eq!(finding["AwsAccountId"], "999999999999");
    assert_eq!(
        finding["GeneratorId"],
        "secret-deletion-alerts/pending-deletion-read"
    );
    assert!(
        finding["Id"]
            .as_str()
            .unwrap()
            .starts_with("secret-deletion-alerts/pending-deletion-read/")
    );
    assert!(
        finding["Types"][0]
            .as_str()
            .unwrap()
            .starts_with("Unusual Behaviors/")
    );
    assert_eq!(finding["Severity"]["Label"], "HIGH");
    assert_eq!(
        finding["CreatedAt"], "2026-11-20T14:03:12.000Z",
        "the first read"
    );
    assert_eq!(finding["FirstObservedAt"], finding["CreatedAt"]);
    assert_eq!(finding["LastObservedAt"], "2026-11-20T14:03:12.000Z");
    assert_eq!(finding["RecordState"], "ACTIVE");
    let resource = &finding["Resources"][0];
    assert_eq!(resource["Type"], "AwsSecretsManagerSecret");
    assert_eq!(
        resource["Id"],
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    );
    assert_eq!(resource["Region"], "us-east-1", "the secret's region");
    assert!(resource["Details"]["Other"]["DeletionDate"].is_string());
    assert_eq!(
        finding["ProductFields"]["secret-deletion-alerts/SecretAccount"],
        "123456789012"
    );
    assert!(
        finding["Remediation"]["Recommendation"]["Text"]
            .as_str()
            .unwrap()
            .contains("aws secretsmanager restore-secret")
    );
    assert!(finding["Title"].as_str().unwrap().chars().count() <= 256);
    assert!(finding["Description"].as_str().unwrap().chars().count() <= 1024);
}

#[tokio::test]
async fn a_restored_secrets_finding_is_archived_with_a_note() {
    let alert = alert_of(
        "prod/db",
        "s1",
        "22222222-0000-4000-8000-000000000008",
        &RestorePolicy::All,
    )
    .await;
    assert_eq!(alert.document.restore.outcome, "restored");
    let place = place_in("123456789012", "us-east-1");
    let finding = &findings_of(&alert, &place, now())[0];
    assert_eq!(finding.record_state, "ARCHIVED");
    assert!(finding.note.as_ref().unwrap().text.contains("cancelled"));

    // A secret Secrets Manager no longer has was purged: its finding is archived too.
    let purged = alert_of(
        "gone/db",
        "s1",
        "22222222-0000-4000-8000-000000000010",
        &RestorePolicy::Off,
    )
    .await;
    assert_eq!(purged.document.secret.state, "purged");
    let finding = &findings_of(&purged, &place, now())[0];
    assert_eq!(finding.record_state, "ARCHIVED");
    assert!(finding.note.as_ref().unwrap().text.contains("purged"));
}

#[tokio::test]
async fn findings_go_in_calls_of_at_most_100() {
    let alert = alert_of(
        "prod/db",
        "s1",
        "22222222-0000-4000-8000-000000000009",
        &RestorePolicy::Off,
    )
    .await;
    let place = place_in("123456789012", "us-east-1");
    let one = findings_of(&alert, &place, now()).remove(0);
    assert!(one.bytes() < 240 * 1024);
    let calls = calls_of(vec![one; 250]);
    let sizes: Vec<usize> = calls.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);
}

mod emulated {
    use super::*;
    use common::moto::{emulator, unique};
    use secret_deletion_alerts::aws::{AwsCopies, ChatTopic, SecurityHubFindings};
    use secret_deletion_alerts::config::SecurityHubMode;

    async fn findings_with_id(sdk: &aws_config::SdkConfig, id: &str) -> Vec<serde_json::Value> {
        let client = aws_sdk_securityhub::Client::new(sdk);
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .get_findings()
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            for finding in page.findings() {
                if finding.id() == Some(id) {
                    found.push(serde_json::json!({
                        "UpdatedAt": finding.updated_at(),
                        "RecordState": finding.record_state().map(|s| s.as_str()),
                        "Note": finding.note().and_then(|n| n.text()),
                        "Title": finding.title(),
                        "ResourceType": finding.resources().first().and_then(|r| r.r#type()),
                    }));
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        found
    }

    /// A chat topic with an SQS queue subscribed with raw delivery: the queue receives the
    /// message body exactly as Chatbot would.
    async fn chat_inbox(sdk: &aws_config::SdkConfig) -> (String, String, aws_sdk_sqs::Client) {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic = sns
            .create_topic()
            .name(unique("chat"))
            .send()
            .await
            .unwrap();
        let topic_arn = topic.topic_arn().unwrap().to_owned();
        let queue = sqs
            .create_queue()
            .queue_name(unique("chat"))
            .send()
            .await
            .unwrap();
        let queue_url = queue.queue_url().unwrap().to_owned();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attributes.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        (topic_arn, queue_url, sqs)
    }

    /// Runs `test` on a thread of its own with a large stack: the SDK's reader of a whole
    /// ASFF finding (GetFindings, which only this test calls) takes more than 8 MB of stack
    /// in a debug build.
    fn on_a_large_stack(test: impl std::future::Future<Output = ()> + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(test)
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    #[ignore = "needs moto's server: scripts/test starts it"]
    fn a_second_alert_updates_one_finding_a_restore_archives_it_and_chat_gets_chatbots_format() {
        on_a_large_stack(second_alert_updates_one_finding());
    }

    async fn second_alert_updates_one_finding() {
        let Some(sdk) = emulator().await else { return };
        let (chat_topic, queue_url, sqs) = chat_inbox(&sdk).await;
        let copies = AwsCopies {
            findings: Some(SecurityHubFindings::new(
                &sdk,
                SecurityHubMode::Own,
                "123456789012",
                None,
                None,
            )),
            chat: Some(ChatTopic::new(&sdk, &chat_topic)),
        };
        let secret = unique("prod/db");
        let secrets = FakeSecrets::with(&[(secret.as_str(), pending(&secret, 6, &[]))]);
        let publisher = RecordingPublisher::default();
        let mut ids = Vec::new();
        for (event_id, policy) in [
            ("33333333-0000-4000-8000-000000000001", RestorePolicy::Off),
            ("33333333-0000-4000-8000-000000000002", RestorePolicy::Off),
        ] {
            let data = payload(&[read(&secret, "s1", event_id)]);
            let summary = run_with(&data, &publisher, &secrets, &copies, &policy).await;
            assert_eq!(
                (summary.findings_undelivered, summary.chat_undelivered),
                (0, 0)
            );
            let alert = publisher.alerts().pop().unwrap();
            let place = place_in("123456789012", "us-east-1");
            ids.push(findings_of(&alert, &place, SystemTime::now())[0].id.clone());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(ids[0], ids[1]);
        let after_two = findings_with_id(&sdk, &ids[0]).await;
        assert_eq!(after_two.len(), 1, "one finding for one secret and caller");
        assert_eq!(after_two[0]["RecordState"], "ACTIVE");
        assert_eq!(after_two[0]["ResourceType"], "AwsSecretsManagerSecret");

        // The function restores it: the same finding is archived, with a note.
        let restoring = RestorePolicy::All;
        let data = payload(&[read(&secret, "s1", "33333333-0000-4000-8000-000000000003")]);
        let summary = run_with(&data, &publisher, &secrets, &copies, &restoring).await;
        assert_eq!(summary.restored, 1);
        let archived = findings_with_id(&sdk, &ids[0]).await;
        assert_eq!(archived.len(), 1);
        assert_eq!(archived[0]["RecordState"], "ARCHIVED");
        assert!(archived[0]["Note"].as_str().unwrap().contains("cancelled"));
        assert!(archived[0]["UpdatedAt"].as_str() > after_two[0]["UpdatedAt"].as_str());

        // Chat: three messages, raw bodies in Chatbot's format, threaded on one key.
        let mut bodies = Vec::new();
        for _ in 0..10 {
            let output = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in output.messages() {
                bodies.push(
                    serde_json::from_str::<serde_json::Value>(message.body().unwrap()).unwrap(),
                );
            }
            if bodies.len() >= 3 {
                break;
            }
        }
        assert_eq!(bodies.len(), 3);
        for body in &bodies {
            assert_eq!(body["version"], "1.0");
            assert_eq!(body["source"], "custom");
            assert!(body["content"]["title"].is_string());
            assert!(body["content"]["description"].is_string());
            assert!(body["content"]["nextSteps"].is_array());
            assert!(body["content"]["keywords"].is_array());
            assert_eq!(
                body["metadata"]["threadId"],
                bodies[0]["metadata"]["threadId"]
            );
            assert!(body["metadata"]["summary"].is_string());
            assert_eq!(body["metadata"]["eventType"], "SecretPendingDeletionRead");
            assert!(body["metadata"]["relatedResources"].is_array());
        }
    }

    #[test]
    #[ignore = "needs moto's server: scripts/test starts it"]
    fn the_live_invoke_copies_to_security_hub_and_chat_as_the_function_does() {
        on_a_large_stack(live_invoke_copies());
    }

    /// `invoke` without `--dry-run` takes the function's own wiring: the alert goes to the
    /// topic, and its finding and chat message go out too.
    async fn live_invoke_copies() {
        let Some(sdk) = emulator().await else { return };
        let (chat_topic, queue_url, sqs) = chat_inbox(&sdk).await;
        let alerts = aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name(unique("alerts"))
            .send()
            .await
            .unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
            .arg("invoke")
            .arg(common::events_dir().join("lambda-pending-deletion.json"))
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("ALERT_STATE_TABLE")
            .env("ALERT_TOPIC_ARN", alerts.topic_arn().unwrap())
            .env("CHAT_TOPIC_ARN", &chat_topic)
            .env("SECURITY_HUB", "own")
            .env("ACCOUNT_ID", "123456789012")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let summary: serde_json::Value = stderr
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| panic!("no summary: {stderr}"));
        assert_eq!(summary["alerts_published"], 1, "{summary}");
        assert_eq!(summary["findings_undelivered"], 0, "{summary}");
        assert_eq!(summary["chat_undelivered"], 0, "{summary}");
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        assert_eq!(received.messages().len(), 1, "one chat message");
    }

    /// A scheduled deletion's alert as the core composes it (guard as given).
    fn scheduled_alert(
        guard: secret_deletion_alerts::scheduled::Guard,
    ) -> secret_deletion_alerts::scheduled::ScheduledAlert {
        use secret_deletion_alerts::scheduled::{
            Confirmation, LookBack, ScheduledFacts, compose_scheduled,
        };
        let record = serde_json::json!({
            "eventTime": "2026-11-20T10:02:00Z",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "DeleteSecret",
            "awsRegion": "us-east-1",
            "eventID": unique("deletion"),
            "recipientAccountId": "123456789012",
            "requestParameters": { "secretId": "prod/db" },
            "responseElements": {
                "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
                "name": "prod/db"
            },
            "userIdentity": { "type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob",
                              "accountId": "123456789012", "userName": "bob" }
        })
        .to_string();
        let read = secret_deletion_alerts::record_reading::read_record(&record).unwrap();
        let seen = secret_deletion_alerts::deletion::seen_in(&read.record, &record).unwrap();
        let now = std::time::SystemTime::now();
        compose_scheduled(&ScheduledFacts {
            seen: &seen,
            confirmation: &Confirmation::Confirmed {
                event_id: "e".into(),
            },
            look_back: &LookBack::unread(now, now, "not read".into()),
            state: &secret_deletion_alerts::restore::SecretState::DryRun,
            guard: &guard,
            notes: &[],
            now,
        })
    }

    #[test]
    #[ignore = "needs moto's server: scripts/test starts it"]
    fn a_scheduled_deletion_is_one_finding_archived_once_the_guard_cancelled_it() {
        on_a_large_stack(a_scheduled_deletion_is_one_finding_archived());
    }

    async fn a_scheduled_deletion_is_one_finding_archived() {
        use secret_deletion_alerts::scheduled::Guard;
        let Some(sdk) = emulator().await else { return };
        let copies = AwsCopies {
            findings: Some(SecurityHubFindings::new(
                &sdk,
                SecurityHubMode::Own,
                "123456789012",
                None,
                None,
            )),
            chat: None,
        };
        let alert = scheduled_alert(Guard::Off);
        let report = copies.deliver_scheduled(std::slice::from_ref(&alert)).await;
        assert_eq!(report.findings_undelivered, 0);
        let id = format!(
            "{}/{}",
            secret_deletion_alerts::scheduled::SCHEDULED_GENERATOR_ID,
            alert.dedup_key()
        );
        let found = findings_with_id(&sdk, &id).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["RecordState"], "ACTIVE");
        assert_eq!(found[0]["ResourceType"], "AwsSecretsManagerSecret");
        let cancelled = {
            let mut again = scheduled_alert(Guard::Cancelled {
                because: "orders-api read it".into(),
            });
            again.document.dedup_key = alert.dedup_key().to_owned();
            again
        };
        copies.deliver_scheduled(&[cancelled]).await;
        let found = findings_with_id(&sdk, &id).await;
        assert_eq!(found.len(), 1, "one finding, updated: {found:?}");
        assert_eq!(found[0]["RecordState"], "ARCHIVED");
    }

    #[test]
    #[ignore = "needs moto's server: scripts/test starts it"]
    fn member_mode_imports_into_the_secrets_account_through_the_member_role() {
        on_a_large_stack(member_mode_imports_into_the_secrets_account());
    }

    async fn member_mode_imports_into_the_secrets_account() {
        let Some(sdk) = emulator().await else { return };
        let member = secret_deletion_alerts::aws::MemberCredentials::new("member-role", &sdk, &sdk);
        let copies = AwsCopies {
            findings: Some(SecurityHubFindings::new(
                &sdk,
                SecurityHubMode::Member,
                "123456789012",
                Some(std::sync::Arc::new(member)),
                None,
            )),
            chat: None,
        };
        let secret = unique("member/db");
        let mut record = pending_deletion_read(&secret, "Boto3/1.34.84", "s1");
        record["eventID"] = "44444444-0000-4000-8000-000000000001".into();
        record["recipientAccountId"] = "111111111111".into();
        let secrets = FakeSecrets::with(&[]);
        let publisher = RecordingPublisher::default();
        let data = payload(&[record.to_string()]);
        let summary = run_with(&data, &publisher, &secrets, &copies, &RestorePolicy::Off).await;
        assert_eq!(summary.findings_undelivered, 0);
        let alert = publisher.alerts().pop().unwrap();
        assert_eq!(
            alert.document.secret.account_id.as_deref(),
            Some("111111111111")
        );
        let place = place_in("111111111111", "us-east-1");
        let id = findings_of(&alert, &place, SystemTime::now())[0].id.clone();
        let member_sdk = common::moto::in_account(&sdk, "111111111111").await;
        assert_eq!(
            findings_with_id(&member_sdk, &id).await.len(),
            1,
            "in the member account"
        );
        assert!(
            findings_with_id(&sdk, &id).await.is_empty(),
            "not in the function's"
        );
    }

    #[tokio::test]
    #[ignore = "needs moto's server: scripts/test starts it"]
    async fn an_unreachable_security_hub_is_counted_and_the_email_still_goes() {
        let sdk = common::moto::dead_endpoint().await;
        let copies = AwsCopies {
            findings: Some(SecurityHubFindings::new(
                &sdk,
                SecurityHubMode::Own,
                "123456789012",
                None,
                None,
            )),
            chat: None,
        };
        let secrets = secrets();
        let publisher = RecordingPublisher::default();
        let data = payload(&[read(
            "prod/db",
            "s1",
            "33333333-0000-4000-8000-000000000009",
        )]);
        let summary = run_with(&data, &publisher, &secrets, &copies, &RestorePolicy::Off).await;
        assert_eq!(summary.alerts_published, 1);
        assert_eq!(summary.findings_undelivered, 1);
        assert_eq!(publisher.alerts().len(), 1);
    }
}
