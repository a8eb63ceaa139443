//! The batch's metric in CloudWatch Embedded Metric Format: a JSON line on stdout that Lambda's
//! log pipeline turns into a metric, no API call needed. Namespace and name are those of the
//! AWS recipe's metric filter, so an alarm built on that recipe keeps working.

use crate::handler::BatchSummary;

pub const NAMESPACE: &str = "CloudTrailLogMetrics";
pub const METRIC_NAME: &str = "AttemptsToAccessDeletedSecrets";

/// The EMF document for one batch, as one line.
pub fn emf_line(summary: &BatchSummary, timestamp_ms: u128) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // No dimensions: the recipe's metric filter publishes none either.
                "Dimensions": [[]],
                "Metrics": [{ "Name": METRIC_NAME, "Unit": "Count" }]
            }]
        },
        METRIC_NAME: summary.matched,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn emits_the_recipe_metric_with_the_match_count() {
        let summary = BatchSummary {
            matched: 3,
            ..BatchSummary::default()
        };
        let line: serde_json::Value =
            serde_json::from_str(&emf_line(&summary, 1_700_000_000_000)).unwrap();
        assert_eq!(line["AttemptsToAccessDeletedSecrets"], 3);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "CloudTrailLogMetrics"
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "AttemptsToAccessDeletedSecrets"
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
    }
}
