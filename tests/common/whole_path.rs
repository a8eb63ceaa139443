//! The whole path from raw bytes to composed alerts, for the fuzzer (`fuzz/`) and for the
//! regression tests that replay what it found. Panics on any broken invariant: a panic, an
//! alert SNS would refuse or a person could be misled by, an alert document outside
//! `docs/alert-v1.schema.json`, or a record the pre-checks would turn away that the rules
//! accept.

use std::future::Future;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use secret_deletion_alerts::alert::{Alert, MAX_SNS_BYTES};
use secret_deletion_alerts::detection::{may_match, may_schedule, may_use_key, scan_log_events};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::PublishError;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, handle_batch};
use secret_deletion_alerts::logs::{LogBatch, SubscriptionEvent};
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::restore::RestorePolicy;

/// The machines' contract, every alert document is checked against.
static ALERT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/alert-v1.schema.json")).expect("JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
});

/// The scheduled alerts' contract.
static SCHEDULED_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/scheduled-v1.schema.json")).expect("JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
});

static KEY_ALERT_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/key-alert-v1.schema.json")).expect("JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
});

/// What any caller-controlled text must never carry into chat: a mention, a code span, a tag.
const CHAT_MARKUP: [char; 4] = ['<', '>', '@', '`'];

/// Checks what SNS, a reader and a machine need of every alert.
struct CheckingPublisher;

#[secret_deletion_alerts::ports::async_trait]
impl AlertPublisher for CheckingPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        assert!(alert.subject.len() < 100, "{:?}", alert.subject);
        assert!(
            alert
                .subject
                .bytes()
                .all(|b| b == b' ' || b.is_ascii_graphic())
        );
        assert!(alert.sns_size() <= MAX_SNS_BYTES);
        assert!(alert.text.lines().all(|l| !l.chars().any(char::is_control)));
        let message: serde_json::Value =
            serde_json::from_str(alert.sns_message()).expect("the SNS message is JSON");
        assert!(message["default"].is_string());
        let document: serde_json::Value =
            serde_json::from_str(&alert.document_json()).expect("the document is JSON");
        if let Err(error) = ALERT_SCHEMA.validate(&document) {
            panic!("the alert document breaks the schema: {error}: {document}");
        }
        // The copies: a chat message that pings no one, findings inside Security Hub's limits.
        let chat = alert.chat_notification();
        for text in [&chat.content.title, &chat.content.description] {
            assert!(
                !text.contains(CHAT_MARKUP),
                "chat markup reached chat: {text}"
            );
        }
        for step in &chat.content.next_steps {
            let inside = step
                .strip_prefix("Cancel the deletion: `")
                .and_then(|s| s.strip_suffix('`'));
            assert!(
                !inside.unwrap_or(step).contains(CHAT_MARKUP),
                "chat markup reached chat: {step}"
            );
        }
        assert!(chat.content.title.chars().count() <= 250);
        let place = secret_deletion_alerts::alert::finding::FindingPlace {
            partition: "aws".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let findings = secret_deletion_alerts::alert::finding::findings_of(
            alert,
            &place,
            std::time::SystemTime::UNIX_EPOCH,
        );
        for finding in findings {
            assert!(finding.bytes() < secret_deletion_alerts::alert::finding::MAX_FINDING_BYTES);
            assert!(finding.title.chars().count() <= 256);
            assert!(finding.description.chars().count() <= 1024);
        }
        Ok(())
    }

    async fn publish_scheduled(
        &self,
        alert: &secret_deletion_alerts::scheduled::ScheduledAlert,
    ) -> Result<(), PublishError> {
        assert!(alert.subject.len() < 100, "{:?}", alert.subject);
        assert!(
            alert
                .subject
                .bytes()
                .all(|b| b == b' ' || b.is_ascii_graphic())
        );
        assert!(alert.sns_message.len() <= MAX_SNS_BYTES);
        assert!(alert.text.lines().all(|l| !l.chars().any(char::is_control)));
        let document: serde_json::Value =
            serde_json::from_str(&alert.document_json()).expect("the document is JSON");
        if let Err(error) = SCHEDULED_SCHEMA.validate(&document) {
            panic!("the scheduled document breaks the schema: {error}: {document}");
        }
        let chat = alert.chat_notification();
        for text in [&chat.content.title, &chat.content.description] {
            assert!(
                !text.contains(CHAT_MARKUP),
                "chat markup reached chat: {text}"
            );
        }
        assert!(chat.content.title.chars().count() <= 250);
        Ok(())
    }

    async fn publish_key_use(
        &self,
        alert: &secret_deletion_alerts::key_alert::KeyAlert,
    ) -> Result<(), PublishError> {
        assert!(alert.subject.len() < 100, "{:?}", alert.subject);
        assert!(
            alert
                .subject
                .bytes()
                .all(|b| b == b' ' || b.is_ascii_graphic())
        );
        assert!(alert.sns_message.len() <= MAX_SNS_BYTES);
        assert!(alert.text.lines().all(|l| !l.chars().any(char::is_control)));
        let document: serde_json::Value =
            serde_json::from_str(&alert.document_json()).expect("the document is JSON");
        if let Err(error) = KEY_ALERT_SCHEMA.validate(&document) {
            panic!("the key alert document breaks the schema: {error}: {document}");
        }
        let chat = alert.chat_notification();
        for text in [&chat.content.title, &chat.content.description] {
            assert!(
                !text.contains(CHAT_MARKUP),
                "chat markup reached chat: {text}"
            );
        }
        for step in &chat.content.next_steps {
            // Our own code spans around commands; nothing else of a caller's marks up chat.
            let outside: String = step.split('`').step_by(2).collect();
            assert!(
                !outside.contains(['<', '>', '@']),
                "chat markup reached chat: {step}"
            );
        }
        assert!(chat.content.title.chars().count() <= 250);
        let place = secret_deletion_alerts::alert::finding::FindingPlace {
            partition: "aws".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
        };
        let finding = alert.finding(&place, std::time::SystemTime::UNIX_EPOCH);
        assert!(finding.bytes() < secret_deletion_alerts::alert::finding::MAX_FINDING_BYTES);
        assert!(finding.title.chars().count() <= 256);
        assert!(finding.description.chars().count() <= 1024);
        Ok(())
    }
}

/// The handler's futures never wait with these ports: poll once.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the handler waited on a port that never waits"),
    }
}

fn handle(data: &(impl AsRef<[u8]> + ?Sized)) {
    let policy = RestorePolicy::All;
    let options = BatchOptions {
        max_decoded_bytes: 1 << 20,
        account_id: Some("123456789012"),
        ..BatchOptions::with_defaults(&policy, UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    };
    let secrets = DryRunSecrets::default();
    let ports = Adapters::new(&CheckingPublisher, &secrets);
    let _ = run_ready(handle_batch(data, &ports, &options));
}

/// Reads `bytes` every way the function could meet them: as a Lambda event, as the base64
/// text of `awslogs.data`, and as an already inflated envelope.
pub fn whole_path(bytes: &[u8]) {
    if let Ok(event) = SubscriptionEvent::from_json(bytes) {
        handle(&event.awslogs.data);
    }
    handle(bytes);
    if let Ok(batch) = LogBatch::parse(bytes) {
        let findings = scan_log_events(&batch);
        assert!(findings.matched <= findings.records);
        assert!(findings.parsed <= findings.records);
        assert_eq!(findings.records, batch.events().len());
        if findings.matched > 0 || findings.parsed > 0 || !findings.deletions.is_empty() {
            // What holds for each record holds for the text of the whole batch.
            assert!(
                may_match(bytes) || may_schedule(bytes) || may_use_key(bytes),
                "the pre-checks would turn away a batch with candidates"
            );
        }
        if !findings.deletions.is_empty() || !findings.key_deletions.is_empty() {
            assert!(may_schedule(bytes), "a deletion the pre-check turns away");
        }
        if !findings.key_uses.is_empty() {
            assert!(may_use_key(bytes), "a key use the pre-check turns away");
        }
    }
}
