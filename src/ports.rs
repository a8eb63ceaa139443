//! The capabilities the handler needs from the outside world, one small trait each, so the
//! handler can be tested with plain fakes and the AWS adapters stay thin.
//!
//! A region reaches an adapter only as a [`RegionName`]: an endpoint is never built from an
//! unchecked string out of a record.

use std::future::Future;

use crate::alert::Alert;
use crate::error::{PublishError, RestoreError};
use crate::region::RegionName;
use crate::restore::SecretState;

/// Delivers one alert (SNS in production).
pub trait AlertPublisher {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Tells what state a secret is in (`DescribeSecret` in production). Never fails: a failed
/// lookup is a state the alert reports.
pub trait SecretInspector {
    fn inspect(
        &self,
        secret_id: &str,
        region: Option<&RegionName>,
    ) -> impl Future<Output = SecretState> + Send;
}

/// Cancels a scheduled deletion (`RestoreSecret` in production).
pub trait SecretRestorer {
    fn restore(
        &self,
        arn: &str,
        region: Option<&RegionName>,
    ) -> impl Future<Output = Result<(), RestoreError>> + Send;
}
