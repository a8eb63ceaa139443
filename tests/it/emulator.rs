//! The adapters against a real local emulator: moto's server on 127.0.0.1, reached by the real
//! SDK through `AWS_ENDPOINT_URL`. Each test is `#[ignore]`d, so a plain `cargo test` reports
//! them as ignored (never as passed); `scripts/test` starts the server, sets `MOTO_ENDPOINT`
//! and runs them with `--include-ignored`. Run without an emulator, they fail saying so.
//!
//! moto words the pending-deletion error differently from AWS, so these tests never rely on
//! it: the handler reads CloudTrail records (made here with AWS's wording), and moto only
//! stands in for SNS, SQS and Secrets Manager.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_secretsmanager::types::Tag;
use common::moto::{dead_endpoint, emulator, unique};
use common::{events_dir, options};
use secret_deletion_alerts::aws::{SecretsManager, SnsPublisher, load_sdk_config};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::error::HandlerError;
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{Base64Text, encode_records};
use secret_deletion_alerts::restore::RestorePolicy;

const ACCOUNT: &str = "123456789012";
const TAG: &str = "secret-deletion-alerts:restore-on-access";

/// A subscription event with the IAM-user sample record, naming `secret_id`.
fn event_naming(secret_id: &str, event_id: &str) -> Base64Text {
    let records =
        std::fs::read_to_string(events_dir().join("records/iam-user-pending-deletion.json"))
            .unwrap();
    let mut records: serde_json::Value = serde_json::from_str(&records).unwrap();
    records["Records"][0]["requestParameters"]["secretId"] = secret_id.into();
    records["Records"][0]["eventID"] = event_id.into();
    encode_records(&records.to_string(), "aws-cloudtrail-logs")
        .unwrap()
        .awslogs
        .data
}

/// A topic with an SQS queue subscribed to it, as a mail-less stand-in for the email.
struct Inbox {
    topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    async fn new(sdk: &SdkConfig) -> Inbox {
        let sns = aws_sdk_sns::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let topic_arn = sns
            .create_topic()
            .name(unique("alerts"))
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned();
        let queue_url = sqs
            .create_queue()
            .queue_name(unique("inbox"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        Inbox {
            topic_arn,
            queue_url,
            sqs,
        }
    }

    /// The SNS notifications that reached the queue (waits up to about 5 s for `count`).
    async fn notifications(&self, count: usize) -> Vec<serde_json::Value> {
        let mut found = Vec::new();
        for _ in 0..10 {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in output.messages() {
                found.push(serde_json::from_str(message.body().unwrap()).unwrap());
            }
            if found.len() >= count {
                break;
            }
        }
        found
    }
}

/// The alert document carried by a notification (SQS subscribers get the JSON document).
fn document(notification: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(notification["Message"].as_str().unwrap()).unwrap()
}

async fn run(
    sdk: &SdkConfig,
    topic_arn: &str,
    data: &(impl AsRef<[u8]> + ?Sized),
    policy: &RestorePolicy,
) -> Result<BatchSummary, HandlerError> {
    let publisher = SnsPublisher::new(sdk, topic_arn);
    let secrets = SecretsManager::new(sdk);
    let ports = Adapters::new(&publisher, &secrets);
    let options = options(policy);
    handle_batch(data, &ports, &options).await
}

/// Creates a secret and schedules its deletion with a 7-day recovery window; returns its ARN.
async fn secret_pending_deletion(sdk: &SdkConfig, name: &str, tagged: bool) -> String {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut create = client.create_secret().name(name).secret_string("s3cr3t");
    if tagged {
        create = create.tags(Tag::builder().key(TAG).value("true").build());
    }
    let arn = create.send().await.unwrap().arn().unwrap().to_owned();
    client
        .delete_secret()
        .secret_id(&arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    arn
}

async fn is_pending_deletion(sdk: &SdkConfig, arn: &str) -> bool {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let described = client
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .unwrap();
    described.deleted_date().is_some()
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn publishes_the_alert_and_subscribers_get_document_and_attributes() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let data = std::fs::read(events_dir().join("mixed-batch.json")).unwrap();
    let data = secret_deletion_alerts::logs::SubscriptionEvent::from_json(&data)
        .unwrap()
        .awslogs
        .data;
    let summary = run(&sdk, &inbox.topic_arn, &data, &RestorePolicy::Off)
        .await
        .unwrap();
    assert_eq!(summary.alerts_published, 2);
    let notifications = inbox.notifications(2).await;
    assert_eq!(notifications.len(), 2);
    let mut secrets: Vec<String> = Vec::new();
    for notification in &notifications {
        let doc = document(notification);
        assert_eq!(doc["schema"], "secret-deletion-alerts/alert/v1");
        let attributes = &notification["MessageAttributes"];
        assert_eq!(attributes["secret"]["Value"], doc["secret"]["display_name"]);
        assert_eq!(attributes["account"]["Value"], ACCOUNT);
        assert_eq!(attributes["region"]["Value"], "us-east-1");
        assert_eq!(attributes["dedup_key"]["Value"], doc["dedup_key"]);
        assert_eq!(notification["Subject"], doc["subject"]);
        assert!(
            summary
                .delivered
                .contains(&doc["dedup_key"].as_str().unwrap().to_owned())
        );
        secrets.push(doc["secret"]["display_name"].as_str().unwrap().to_owned());
        if doc["secret"]["display_name"] == "prod/db" {
            assert_eq!(doc["attempts_total"], 3);
            assert_eq!(
                doc["attempts"][0]["identity"]["role_name"],
                "app-server-role"
            );
        }
    }
    secrets.sort();
    assert_eq!(secrets, ["legacy/ldap-bind", "prod/db"]);
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn publishing_to_a_topic_that_does_not_exist_fails_the_invocation() {
    let Some(sdk) = emulator().await else { return };
    let data = event_naming("prod/db", &unique("event"));
    let missing = format!(
        "arn:aws:sns:us-east-1:{ACCOUNT}:{}",
        unique("no-such-topic")
    );
    let error = run(&sdk, &missing, &data, &RestorePolicy::Off)
        .await
        .unwrap_err();
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        matches!(error, HandlerError::Undelivered { failed: 1, .. }),
        "{message}"
    );
    assert!(
        message.contains("could not publish the alert for secret prod/db"),
        "{message}"
    );
    assert!(message.contains("NotFound"), "{message}");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn sns_unreachable_fails_cleanly_within_the_timeouts() {
    let Some(sdk) = emulator().await else { return };
    let dead = dead_endpoint().await;
    let _ = &sdk;
    let data = event_naming("prod/db", &unique("event"));
    let started = std::time::Instant::now();
    let error = run(
        &dead,
        &format!("arn:aws:sns:us-east-1:{ACCOUNT}:alerts"),
        &data,
        &RestorePolicy::All,
    )
    .await
    .unwrap_err();
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        matches!(error, HandlerError::Undelivered { failed: 1, .. }),
        "{message}"
    );
    assert!(message.contains("; delivered: none)"), "{message}");
    assert!(
        message.contains("dispatch failure") || message.contains("io error"),
        "{message}"
    );
    // Not a timed assertion of speed: a bound on hanging, far above the expected retries.
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn secrets_manager_unreachable_still_alerts() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let dead = dead_endpoint().await;
    let publisher = SnsPublisher::new(&sdk, &inbox.topic_arn);
    let secrets = SecretsManager::new(&dead);
    let ports = Adapters::new(&publisher, &secrets);
    let policy = RestorePolicy::All;
    let options = options(&policy);
    let summary = handle_batch(&event_naming("prod/db", &unique("event")), &ports, &options)
        .await
        .unwrap();
    assert_eq!(summary.alerts_published, 1);
    let doc = document(&inbox.notifications(1).await[0]);
    assert_eq!(doc["secret"]["state"], "lookup_failed");
    assert!(
        doc["secret"]["state_detail"]
            .as_str()
            .unwrap()
            .starts_with("lookup failed: Secrets Manager unreachable"),
        "{doc}"
    );
    assert_eq!(doc["restore"]["summary"], "not restored (lookup failed)");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn policy_all_restores_the_secret_and_the_alert_says_so() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let name = unique("app/db");
    let arn = secret_pending_deletion(&sdk, &name, false).await;
    let summary = run(
        &sdk,
        &inbox.topic_arn,
        &event_naming(&name, &unique("event")),
        &RestorePolicy::All,
    )
    .await
    .unwrap();
    assert_eq!(summary.restored, 1);
    assert!(!is_pending_deletion(&sdk, &arn).await);
    let value = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(value.secret_string(), Some("s3cr3t"));
    let notification = &inbox.notifications(1).await[0];
    let doc = document(notification);
    assert_eq!(doc["restore"]["summary"], "restored");
    assert_eq!(doc["secret"]["arn"], arn.as_str());
    assert_eq!(
        notification["MessageAttributes"]["restore_outcome"]["Value"],
        "restored"
    );
    assert!(
        notification["Subject"]
            .as_str()
            .unwrap()
            .contains("; restored")
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn policy_off_leaves_it_pending_and_gives_date_and_command() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let name = unique("app/db");
    let arn = secret_pending_deletion(&sdk, &name, true).await;
    run(
        &sdk,
        &inbox.topic_arn,
        &event_naming(&name, &unique("event")),
        &RestorePolicy::Off,
    )
    .await
    .unwrap();
    assert!(is_pending_deletion(&sdk, &arn).await);
    let doc = document(&inbox.notifications(1).await[0]);
    assert_eq!(doc["secret"]["state"], "pending_deletion");
    assert!(doc["secret"]["deletion_date"].is_string(), "{doc}");
    assert_eq!(doc["restore"]["summary"], "not restored (policy: off)");
    assert_eq!(
        doc["next_steps"]["restore_command"],
        format!("aws secretsmanager restore-secret --secret-id={arn} --region us-east-1")
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn tagged_policy_restores_the_tagged_secret_only() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let tagged_name = unique("app/tagged");
    let untagged_name = unique("app/untagged");
    let tagged = secret_pending_deletion(&sdk, &tagged_name, true).await;
    let untagged = secret_pending_deletion(&sdk, &untagged_name, false).await;
    let policy = RestorePolicy::Tagged {
        tag_key: TAG.into(),
    };
    for name in [&tagged_name, &untagged_name] {
        run(
            &sdk,
            &inbox.topic_arn,
            &event_naming(name, &unique("event")),
            &policy,
        )
        .await
        .unwrap();
    }
    assert!(!is_pending_deletion(&sdk, &tagged).await);
    assert!(is_pending_deletion(&sdk, &untagged).await);
    let mut outcomes: Vec<(String, String)> = inbox
        .notifications(2)
        .await
        .iter()
        .map(|n| {
            let doc = document(n);
            (
                doc["secret"]["display_name"].as_str().unwrap().to_owned(),
                doc["restore"]["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (tagged_name.clone(), "restored".to_owned()),
            (
                untagged_name.clone(),
                "not restored (not tagged)".to_owned()
            )
        ]
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn the_same_event_twice_restores_once_and_both_succeed() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let name = unique("app/db");
    let arn = secret_pending_deletion(&sdk, &name, false).await;
    let data = event_naming(&name, &unique("event"));
    let first = run(&sdk, &inbox.topic_arn, &data, &RestorePolicy::All)
        .await
        .unwrap();
    let second = run(&sdk, &inbox.topic_arn, &data, &RestorePolicy::All)
        .await
        .unwrap();
    assert_eq!((first.restored, second.restored), (1, 0));
    assert_eq!(first.delivered, second.delivered, "same de-duplication key");
    assert!(!is_pending_deletion(&sdk, &arn).await);
    let mut summaries: Vec<String> = inbox
        .notifications(2)
        .await
        .iter()
        .map(|n| {
            document(n)["restore"]["outcome"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    summaries.sort();
    assert_eq!(
        summaries,
        // The retry finds the secret restored by the first try, and says so.
        ["no_longer_pending", "restored"]
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn finds_the_secret_by_full_arn_partial_arn_and_name() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let name = unique("app/db");
    let arn = secret_pending_deletion(&sdk, &name, false).await;
    // A full ARN ends in "-" and six random characters; the partial ARN leaves them off.
    let partial = arn[..arn.len() - 7].to_owned();
    assert!(partial.ends_with(&name));
    for secret_id in [&arn, &partial, &name] {
        run(
            &sdk,
            &inbox.topic_arn,
            &event_naming(secret_id, &unique("event")),
            &RestorePolicy::Off,
        )
        .await
        .unwrap();
    }
    let notifications = inbox.notifications(3).await;
    assert_eq!(notifications.len(), 3);
    for notification in &notifications {
        let doc = document(notification);
        assert_eq!(
            doc["secret"]["state"], "pending_deletion",
            "{}",
            doc["secret"]
        );
        assert_eq!(doc["secret"]["arn"], arn.as_str());
    }
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_force_deleted_secret_is_reported_already_purged() {
    let Some(sdk) = emulator().await else { return };
    let inbox = Inbox::new(&sdk).await;
    let name = unique("app/gone");
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    client
        .create_secret()
        .name(&name)
        .secret_string("x")
        .send()
        .await
        .unwrap();
    client
        .delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let summary = run(
        &sdk,
        &inbox.topic_arn,
        &event_naming(&name, &unique("event")),
        &RestorePolicy::All,
    )
    .await
    .unwrap();
    assert_eq!(summary.restored, 0);
    let doc = document(&inbox.notifications(1).await[0]);
    assert_eq!(doc["restore"]["summary"], "already purged");
    assert_eq!(doc["severity"], "critical");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn the_default_configuration_reaches_the_emulator_through_aws_endpoint_url() {
    let Some(_) = emulator().await else { return };
    // load_sdk_config alone, as main.rs uses it: AWS_ENDPOINT_URL is what points it here.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("scripts/test sets AWS_ENDPOINT_URL");
    assert!(endpoint.starts_with("http://127.0.0.1:"));
    let sdk = load_sdk_config(&Config::from_lookup(|_| None).unwrap()).await;
    let topics = aws_sdk_sns::Client::new(&sdk).list_topics().send().await;
    assert!(topics.is_ok(), "{topics:?}");
    let _ = BehaviorVersion::latest();
}

/// A deletion scheduled (ON_SCHEDULE=guard) end to end: moto's Secrets Manager, SNS (an SQS
/// inbox), DynamoDB (the alert-state table), and the fake Event history. The alert arrives
/// with `kind=deletion_scheduled`, the guard cancels the deletion, and a retry sends nothing.
#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_scheduled_deletion_of_a_secret_in_use_alerts_once_and_the_guard_cancels_it() {
    use common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
    use common::moto::fake_endpoint;
    use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
    use secret_deletion_alerts::aws::dynamodb_windows::{AlertStateTable, create_table};
    use secret_deletion_alerts::scheduled::OnSchedule;

    let Some(sdk) = emulator().await else { return };
    let name = unique("scheduled/db");
    let arn = secret_pending_deletion(&sdk, &name, false).await;
    let inbox = Inbox::new(&sdk).await;
    let table = unique("alert-state");
    create_table(&sdk, &table).await.unwrap();
    let windows = AlertStateTable::new(&sdk, &table);

    let records =
        std::fs::read_to_string(events_dir().join("records/deletion-scheduled.json")).unwrap();
    let mut deletion: serde_json::Value = serde_json::from_str(&records).unwrap();
    let mut deletion = deletion["Records"][0].take();
    deletion["eventID"] = unique("deletion").into();
    deletion["requestParameters"]["secretId"] = name.clone().into();
    deletion["responseElements"]["arn"] = arn.clone().into();
    deletion["responseElements"]["name"] = name.clone().into();
    let mut read = deletion.clone();
    read["eventName"] = "GetSecretValue".into();
    read["eventID"] = unique("read").into();
    read["eventTime"] = "2026-11-19T08:00:00Z".into();
    read["requestParameters"] = serde_json::json!({ "secretId": name });
    read["responseElements"] = serde_json::Value::Null;
    read["userIdentity"] = serde_json::json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/orders-api-role/orders-api"),
        "accountId": ACCOUNT,
        "sessionContext": { "sessionIssuer": {
            "type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/orders-api-role"),
            "accountId": ACCOUNT, "userName": "orders-api-role" } }
    });
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(deletion.clone()),
        HistoryEvent::of(read),
    ]);
    let history = CloudTrailHistory::new(&fake_endpoint(&fake.endpoint).await, None);

    let publisher = SnsPublisher::new(&sdk, &inbox.topic_arn);
    let secrets = SecretsManager::new(&sdk);
    let mut ports = Adapters::new(&publisher, &secrets);
    ports.history = &history;
    ports.windows = &windows;
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    options.on_schedule = OnSchedule::Guard;
    options.alert_window = Some(Duration::from_secs(3600));
    options.verify_wait = Duration::from_secs(2);
    let data = encode_records(
        &serde_json::json!({ "Records": [deletion] }).to_string(),
        "aws-cloudtrail-logs",
    )
    .unwrap()
    .awslogs
    .data;

    let summary = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(summary.scheduled_alerts_published, 1, "{summary:?}");
    assert_eq!(summary.deletions_cancelled, 1, "{summary:?}");
    assert!(
        !is_pending_deletion(&sdk, &arn).await,
        "the guard cancelled it"
    );
    let notifications = inbox.notifications(1).await;
    assert_eq!(notifications.len(), 1);
    assert_eq!(
        notifications[0]["MessageAttributes"]["kind"]["Value"],
        "deletion_scheduled"
    );
    let alert = document(&notifications[0]);
    assert_eq!(alert["kind"], "deletion_scheduled");
    assert_eq!(alert["severity"], "high");
    assert_eq!(alert["restore_outcome"]["kind"], "restored");
    assert_eq!(
        alert["usage"]["readers"][0]["workload"]["name"],
        "orders-api"
    );

    // Lambda's retry of the same batch: the table says it was delivered.
    let again = handle_batch(&data, &ports, &options).await.unwrap();
    assert_eq!(again.alerts_already_delivered, 1, "{again:?}");
    assert!(inbox.notifications(1).await.is_empty(), "not sent twice");
}
