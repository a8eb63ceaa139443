//! Memory stays bounded whatever the payload: every allocation of this test binary is counted
//! (the `cap` allocator), and the hostile payloads run one after the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::alloc::System;

use cap::Cap;
use common::hostile::{gzip_bomb, payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, options};
use secret_deletion_alerts::handler::{Adapters, handle_batch};
use secret_deletion_alerts::restore::RestorePolicy;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// The decode cap is 8 MiB; decoding, the batch and the alerts may hold a few copies' worth.
const BOUND: usize = 48 << 20;

/// A small pending-deletion read, so ten thousand fit under the 8 MiB cap.
fn small_read(i: usize) -> String {
    serde_json::json!({
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
        "requestParameters": {"secretId": format!("secret-{}", i % 50)},
        "eventID": format!("{i}"),
        "awsRegion": "us-east-1",
        "recipientAccountId": "123456789012",
    })
    .to_string()
}

#[tokio::test]
async fn peak_memory_stays_bounded_on_hostile_payloads() {
    let policy = RestorePolicy::Off;
    let publisher = RecordingPublisher::default();
    let secrets = FakeSecrets::default();
    let ports = Adapters::new(&publisher, &secrets);
    // Built first: the inputs themselves are not what is measured.
    let bomb = gzip_bomb(256 << 20);
    let many = payload(&(0..10_000).map(small_read).collect::<Vec<_>>());
    let huge = payload(&[pending_deletion_read("prod/db", &"A".repeat(1 << 20), "ci").to_string()]);
    let baseline = ALLOCATOR.allocated();

    let scenarios = [
        ("gzip bomb (256 MiB of zeros)", &bomb, false),
        ("10,000 matching events, 50 secrets", &many, true),
        ("one 1 MiB record", &huge, true),
    ];
    for (name, data, handled) in scenarios {
        let before = ALLOCATOR.max_allocated();
        let result = handle_batch(data, &ports, &options(&policy)).await;
        assert_eq!(result.is_ok(), handled, "{name}: {result:?}");
        let peak = ALLOCATOR.max_allocated();
        // The peak only grows: a scenario that stays under an earlier peak allocated less.
        assert!(
            peak <= before.max(baseline + BOUND),
            "{name}: peak {} MiB above the {} MiB baseline",
            (peak - baseline) >> 20,
            baseline >> 20
        );
    }
    assert!(ALLOCATOR.max_allocated() < baseline + BOUND);
    assert_eq!(publisher.alerts().len(), 51);
}
