//! One alert keyed by its record (a deletion being scheduled, a secret's or a key's) under the
//! alert-state table: claimed, published, then the claim confirmed, or released when the
//! publish failed, so a retried batch never sends a delivered alert again and never loses an
//! undelivered one. A store that fails sends the alert: a louder inbox beats a silent one.

use std::future::Future;
use std::time::SystemTime;

use crate::error::PublishError;
use crate::ports::AlertWindows;
use crate::window::{WindowClaim, WindowVerdict};

/// What became of the alert.
pub(crate) enum Published {
    /// An earlier try of this batch delivered it (the store says so): not sent again.
    AlreadyDelivered,
    /// Sent now: the publish's result.
    Sent(Result<(), PublishError>),
}

/// Claims `claim` (when the batch has a quiet window's store), runs `publish` unless an
/// earlier try delivered the alert, and marks the claim; `now` is when the claim is confirmed.
pub(crate) async fn publish_once(
    claim: Option<&WindowClaim>,
    windows: &dyn AlertWindows,
    publish: impl Future<Output = Result<(), PublishError>>,
    now: impl Fn() -> SystemTime,
) -> Published {
    let claimed = match claim {
        None => false,
        Some(claim) => match windows.claim(claim).await {
            Ok(WindowVerdict::Delivered { .. }) => {
                tracing::info!(
                    dedup_key = %claim.claim_key,
                    "alert delivered by an earlier try of this batch: not sent again"
                );
                return Published::AlreadyDelivered;
            }
            Ok(WindowVerdict::Send { .. }) => true,
            // Never for a key of one record; should it come, a louder inbox wins.
            Ok(WindowVerdict::Held { .. }) => false,
            Err(error) => {
                tracing::error!(%error, "the alert state table failed: alerting as if there were none");
                false
            }
        },
    };
    let result = publish.await;
    if claimed && let Some(claim) = claim {
        let marked = match &result {
            Ok(()) => windows.confirm(&claim.key, &claim.claim_key, now()).await,
            Err(_) => windows.release(&claim.key, &claim.claim_key).await,
        };
        if let Err(error) = marked {
            tracing::error!(%error, "the alert state table failed to mark the alert");
        }
    }
    Published::Sent(result)
}
