//! One run of the canary function: what [`crate::canary::plan`] decides for the canary's
//! state, done through the port. Apart from `canary` so that the pure module names no port
//! (the port names the canary's types).

use std::time::SystemTime;

use crate::canary::{CanaryStep, plan};
use crate::error::CanaryError;
use crate::ports::CanaryVault;

/// The steps [`plan`] gives for the canary's state, in order; the first that fails fails the
/// run.
pub async fn run<V: CanaryVault>(
    vault: &V,
    now: SystemTime,
) -> Result<Vec<CanaryStep>, CanaryError> {
    let steps = plan(&vault.state().await?, now);
    for step in &steps {
        vault.apply(*step).await?;
    }
    Ok(steps)
}
