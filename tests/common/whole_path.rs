//! The whole path from raw bytes to composed alerts, for the fuzzer (`fuzz/`) and for the
//! regression tests that replay what it found. Panics on any broken invariant.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use secret_deletion_alerts::alert::{Alert, MAX_SNS_BYTES};
use secret_deletion_alerts::detection::{may_match, parse_batch, scan_log_events};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::PublishError;
use secret_deletion_alerts::handler::{BatchOptions, Ports, handle_batch};
use secret_deletion_alerts::logs::{
    BatchPayload, DecodedSubscriptionEvent, Inflater, LogBatch, SubscriptionEvent,
};
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::ports::NoAccountNames;
use secret_deletion_alerts::ports::NoEventHistory;
use secret_deletion_alerts::ports::NoWindows;
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

fn handle(data: &(impl BatchPayload + ?Sized)) {
    let policy = RestorePolicy::All;
    let options = BatchOptions {
        max_decoded_bytes: 1 << 20,
        account_id: Some("123456789012"),
        ..BatchOptions::with_defaults(&policy, UNIX_EPOCH + Duration::from_secs(1_800_000_000))
    };
    let secrets = DryRunSecrets::default();
    let ports = Ports {
        publisher: &CheckingPublisher,
        inspector: &secrets,
        restorer: &secrets,
        windows: &NoWindows,
        history: &NoEventHistory,
        accounts: &NoAccountNames,
    };
    let _ = run_ready(handle_batch(data, &ports, &options));
}

/// Reads `bytes` every way the function could meet them: as a Lambda event (as the function
/// reads it, and as the command line does), as the base64 text of `awslogs.data`, and as an
/// already inflated envelope.
pub fn whole_path(bytes: &[u8]) {
    match (
        SubscriptionEvent::from_json(bytes),
        DecodedSubscriptionEvent::from_json(bytes),
    ) {
        (Ok(text), Ok(decoded)) => {
            let mut inflater = Inflater::default();
            let by_text = text.awslogs.data.inflate(&mut inflater, 1 << 20);
            let by_function = decoded.awslogs.data.inflate(&mut inflater, 1 << 20);
            assert_eq!(
                by_text.map_err(|e| e.to_string()),
                by_function.map_err(|e| e.to_string()),
                "the function and the command line read the payload differently"
            );
            // The text's reading is the same bytes (checked above): the handler runs once,
            // on the function's reading; `handle(bytes)` below runs the text path too.
            handle(&decoded.awslogs.data);
        }
        (Err(_), Err(_)) => {}
        (text, decoded) => panic!(
            "one reading of the Lambda event refused it: text {:?}, function {:?}",
            text.err(),
            decoded.err()
        ),
    }
    handle(bytes);
    if let Ok(batch) = parse_batch(bytes) {
        let findings = scan_log_events(&batch);
        assert!(findings.matched <= findings.records);
        assert!(findings.parsed <= findings.records);
        same_as_serde(&batch, bytes);
        for event in batch.events() {
            assert_eq!(event.holds_needle(), may_match(event.raw_message()));
        }
    }
}

/// The fast reader's contract (`src/logs/fast_reader.rs`): a batch it read is the batch the
/// reference (serde_json) reads, needle marks included; where the reference refuses the bytes,
/// the only difference allowed is inside message text, so some message must then fail to
/// decode on its own.
fn same_as_serde(batch: &LogBatch<'_>, bytes: &[u8]) {
    if !batch.has_canonical_layout() {
        return;
    }
    match LogBatch::parse_general(bytes, None) {
        Ok(general) => assert_eq!(*batch, general),
        Err(error) => assert!(
            batch.events().iter().any(|event| event.message().is_err()),
            "the fast reader read a batch the reference refuses ({error}) outside message text"
        ),
    }
}
