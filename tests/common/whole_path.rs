//! The whole path from raw bytes to composed alerts, for the fuzzer (`fuzz/`) and for the
//! regression tests that replay what it found. Panics on any broken invariant.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use secret_deletion_alerts::alert::{Alert, MAX_SNS_BYTES};
use secret_deletion_alerts::cli::NoAws;
use secret_deletion_alerts::detection::{parse_batch, scan_log_events};
use secret_deletion_alerts::error::PublishError;
use secret_deletion_alerts::handler::{BatchOptions, Ports, handle_batch};
use secret_deletion_alerts::logs::{LogBatch, SubscriptionEvent};
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::restore::RestorePolicy;

/// Checks what SNS and a reader need of every alert.
struct CheckingPublisher;

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

fn handle(data: &[u8]) {
    let policy = RestorePolicy::All;
    let options = BatchOptions {
        max_decoded_bytes: 1 << 20,
        account_id: Some("123456789012"),
        ..BatchOptions::with_defaults(&policy, UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    };
    let ports = Ports {
        publisher: &CheckingPublisher,
        inspector: &NoAws,
        restorer: &NoAws,
    };
    let _ = run_ready(handle_batch(data, &ports, &options));
}

/// Reads `bytes` every way the function could meet them: as a Lambda event, as the base64
/// text of `awslogs.data`, and as an already inflated envelope.
pub fn whole_path(bytes: &[u8]) {
    if let Ok(event) = SubscriptionEvent::from_json(bytes) {
        handle(event.awslogs.data.as_bytes());
    }
    handle(bytes);
    if let Ok(batch) = parse_batch(bytes) {
        let findings = scan_log_events(&batch);
        assert!(findings.matched <= findings.records);
        assert!(findings.parsed <= findings.records);
        same_as_serde(&batch, bytes);
    }
}

/// A batch the fast path read is read the same by serde_json, whenever serde_json reads it at
/// all (the fast path leaves messages unchecked until they can match, so it accepts some
/// batches serde_json refuses).
fn same_as_serde(batch: &LogBatch<'_>, bytes: &[u8]) {
    if !batch.has_canonical_layout() {
        return;
    }
    if let Ok(general) = LogBatch::parse_general(bytes, None) {
        assert_eq!(*batch, general);
    }
}
