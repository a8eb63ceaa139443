//! The canary function's work against moto's Secrets Manager: the canary secret is made,
//! kept pending deletion, scheduled anew before its purge, and read every run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, SystemTime};

use common::moto::{emulator, unique};
use secret_deletion_alerts::aws::canary_secret::CanarySecret;
use secret_deletion_alerts::canary::{CanaryState, CanaryStep};
use secret_deletion_alerts::canary_run::run;
use secret_deletion_alerts::ports::CanaryVault;

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn the_canary_is_made_pending_deletion_and_read_then_only_read() {
    let Some(sdk) = emulator().await else { return };
    let name = unique("stack-canary");
    let canary = CanarySecret::new(&sdk, &name);
    let now = SystemTime::now();
    assert_eq!(
        run(&canary, now).await.unwrap(),
        [
            CanaryStep::Create,
            CanaryStep::ScheduleDeletion,
            CanaryStep::Read
        ]
    );
    let CanaryState::Pending { deletion_date } = canary.state().await.unwrap() else {
        panic!("the canary is pending deletion")
    };
    assert!(deletion_date > now + Duration::from_secs(29 * 86_400));
    assert_eq!(run(&canary, now).await.unwrap(), [CanaryStep::Read]);
    // Near its purge (here: as seen from 25 days on), it is scheduled anew.
    let later = now + Duration::from_secs(25 * 86_400);
    assert_eq!(
        run(&canary, later).await.unwrap(),
        [
            CanaryStep::Restore,
            CanaryStep::ScheduleDeletion,
            CanaryStep::Read
        ]
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_restored_canary_is_scheduled_for_deletion_again() {
    let Some(sdk) = emulator().await else { return };
    let name = unique("stack-canary");
    let canary = CanarySecret::new(&sdk, &name);
    run(&canary, SystemTime::now()).await.unwrap();
    canary.apply(CanaryStep::Restore).await.unwrap();
    assert_eq!(canary.state().await.unwrap(), CanaryState::NotPending);
    assert_eq!(
        run(&canary, SystemTime::now()).await.unwrap(),
        [CanaryStep::ScheduleDeletion, CanaryStep::Read]
    );
}
