//! The batch's metrics in CloudWatch Embedded Metric Format: a JSON line on stdout that
//! Lambda's log pipeline turns into metrics, no API call needed. Written for every batch the
//! function read, delivered or not: the metric must not vanish exactly when SNS is down.
//!
//! `AttemptsToAccessDeletedSecrets` keeps the namespace and name of the AWS recipe's metric
//! filter, so an alarm built on that recipe keeps working. A batch that Lambda retries is
//! counted again on each try: each try reports what it saw.

use crate::batch_summary::BatchSummary;

pub const NAMESPACE: &str = "CloudTrailLogMetrics";
pub const METRIC_NAME: &str = "AttemptsToAccessDeletedSecrets";
pub const ALERTS_DELIVERED: &str = "AlertsDelivered";
pub const ALERTS_UNDELIVERED: &str = "AlertsUndelivered";
pub const RECORDS_MALFORMED: &str = "RecordsMalformed";
/// Log events of a batch past the size cap, not read.
pub const RECORDS_UNREAD: &str = "RecordsUnread";
pub const SECRETS_RESTORED: &str = "SecretsRestored";
/// Alerts held back by the quiet window (their reads are counted in the next alert).
pub const ALERTS_SUPPRESSED: &str = "AlertsSuppressed";
/// Calls to the alert state table that failed (the alerts went out regardless).
pub const ALERT_STATE_ERRORS: &str = "AlertStateErrors";
/// Stored windows that held what the function never writes (someone wrote to the table).
pub const WINDOW_ITEMS_CORRUPT: &str = "WindowItemsCorrupt";
/// Secrets whose lookup failed (refused or unreachable), and those whose member role could
/// not be assumed.
pub const LOOKUP_FAILURES: &str = "LookupFailures";
pub const MEMBER_ROLE_FAILURES: &str = "MemberRoleFailures";
/// Restores the policy asked for that CloudTrail did not confirm, and that failed.
pub const RESTORES_UNVERIFIED: &str = "RestoresUnverified";
pub const RESTORES_FAILED: &str = "RestoresFailed";
/// Reads of the canary secret that reached the function: its alarm fires when they stop.
pub const CANARY_READS_SEEN: &str = "CanaryReadsSeen";
/// Reads a rule of `EXPECTED_READERS` marked as expected: counted, never alerted.
pub const READS_EXPECTED: &str = "ReadsExpected";
/// Deletions scheduled (`DeleteSecret`, and a KMS key's `ScheduleKeyDeletion`) the function
/// saw, their alerts delivered, and the deletions the guard cancelled (`ON_SCHEDULE`).
pub const DELETIONS_SCHEDULED: &str = "DeletionsScheduled";
pub const SCHEDULED_ALERTS_DELIVERED: &str = "ScheduledAlertsDelivered";
pub const DELETIONS_CANCELLED: &str = "DeletionsCancelled";
/// Uses of KMS keys pending deletion the function saw, and their alerts delivered.
pub const KEY_USES_SEEN: &str = "KeyUsesSeen";
pub const KEY_ALERTS_DELIVERED: &str = "KeyAlertsDelivered";
/// Copies of delivered alerts that did not go out: Security Hub findings, chat messages.
pub const FINDINGS_UNDELIVERED: &str = "FindingsUndelivered";
pub const CHAT_UNDELIVERED: &str = "ChatUndelivered";

/// The EMF document for one batch, as one line.
pub fn emf_line(summary: &BatchSummary, timestamp_ms: u128) -> String {
    let metrics = [
        (METRIC_NAME, summary.matched),
        (ALERTS_DELIVERED, summary.alerts_published),
        (ALERTS_UNDELIVERED, summary.alerts_undelivered),
        (RECORDS_MALFORMED, summary.malformed),
        (RECORDS_UNREAD, summary.records_unread as usize),
        (SECRETS_RESTORED, summary.restored),
        (ALERTS_SUPPRESSED, summary.alerts_suppressed),
        (ALERT_STATE_ERRORS, summary.alert_state_errors),
        (WINDOW_ITEMS_CORRUPT, summary.window_items_corrupt),
        (LOOKUP_FAILURES, summary.lookup_failures),
        (MEMBER_ROLE_FAILURES, summary.member_role_failures),
        (RESTORES_UNVERIFIED, summary.restores_unverified),
        (RESTORES_FAILED, summary.restores_failed),
        (CANARY_READS_SEEN, summary.canary_reads),
        (READS_EXPECTED, summary.reads_expected),
        (FINDINGS_UNDELIVERED, summary.findings_undelivered),
        (CHAT_UNDELIVERED, summary.chat_undelivered),
        (DELETIONS_SCHEDULED, summary.deletions_scheduled),
        (
            SCHEDULED_ALERTS_DELIVERED,
            summary.scheduled_alerts_published,
        ),
        (DELETIONS_CANCELLED, summary.deletions_cancelled),
        (KEY_USES_SEEN, summary.key_uses),
        (KEY_ALERTS_DELIVERED, summary.key_alerts_published),
    ];
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // No dimensions: the recipe's metric filter publishes none either.
                "Dimensions": [[]],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _)| serde_json::json!({ "Name": name, "Unit": "Count" }))
                    .collect::<Vec<_>>()
            }]
        },
    });
    for (name, value) in metrics {
        line[name] = value.into();
    }
    line.to_string()
}

/// `CanaryReadsSeen` once more, with the stack's name as its dimension: what the canary's
/// alarm watches. In the shared namespace a count without a dimension is anyone's to write
/// (`cloudwatch:PutMetricData`), and two stacks' canaries would keep each other green.
pub fn canary_line(stack: &str, canary_reads: usize, timestamp_ms: u128) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stack"]],
                "Metrics": [{ "Name": CANARY_READS_SEEN, "Unit": "Count" }]
            }]
        },
        "Stack": stack,
        (CANARY_READS_SEEN): canary_reads,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_canary_count_carries_the_stacks_name() {
        let line: serde_json::Value = serde_json::from_str(&canary_line("sda-prod", 2, 5)).unwrap();
        assert_eq!(line["CanaryReadsSeen"], 2);
        assert_eq!(line["Stack"], "sda-prod");
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Dimensions"][0][0], "Stack");
        assert_eq!(declared["Metrics"][0]["Name"], "CanaryReadsSeen");
    }

    #[test]
    fn emits_the_recipe_metric_and_what_became_of_the_alerts() {
        let summary = BatchSummary {
            matched: 3,
            alerts_published: 1,
            alerts_undelivered: 2,
            malformed: 4,
            restored: 1,
            alerts_suppressed: 5,
            alert_state_errors: 1,
            lookup_failures: 2,
            canary_reads: 1,
            reads_expected: 6,
            findings_undelivered: 7,
            chat_undelivered: 8,
            deletions_scheduled: 9,
            scheduled_alerts_published: 8,
            deletions_cancelled: 1,
            key_uses: 3,
            key_alerts_published: 2,
            ..BatchSummary::default()
        };
        let line: serde_json::Value =
            serde_json::from_str(&emf_line(&summary, 1_700_000_000_000)).unwrap();
        assert_eq!(line["AttemptsToAccessDeletedSecrets"], 3);
        assert_eq!(line["AlertsDelivered"], 1);
        assert_eq!(line["AlertsUndelivered"], 2);
        assert_eq!(line["RecordsMalformed"], 4);
        assert_eq!(line["SecretsRestored"], 1);
        assert_eq!(line["AlertsSuppressed"], 5);
        assert_eq!(line["AlertStateErrors"], 1);
        assert_eq!(line["LookupFailures"], 2);
        assert_eq!(line["CanaryReadsSeen"], 1);
        assert_eq!(line["ReadsExpected"], 6);
        assert_eq!(line["FindingsUndelivered"], 7);
        assert_eq!(line["ChatUndelivered"], 8);
        assert_eq!(line["DeletionsScheduled"], 9);
        assert_eq!(line["ScheduledAlertsDelivered"], 8);
        assert_eq!(line["DeletionsCancelled"], 1);
        assert_eq!(line["KeyUsesSeen"], 3);
        assert_eq!(line["KeyAlertsDelivered"], 2);
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "CloudTrailLogMetrics");
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "AttemptsToAccessDeletedSecrets",
                "AlertsDelivered",
                "AlertsUndelivered",
                "RecordsMalformed",
                "RecordsUnread",
                "SecretsRestored",
                "AlertsSuppressed",
                "AlertStateErrors",
                "WindowItemsCorrupt",
                "LookupFailures",
                "MemberRoleFailures",
                "RestoresUnverified",
                "RestoresFailed",
                "CanaryReadsSeen",
                "ReadsExpected",
                "FindingsUndelivered",
                "ChatUndelivered",
                "DeletionsScheduled",
                "ScheduledAlertsDelivered",
                "DeletionsCancelled",
                "KeyUsesSeen",
                "KeyAlertsDelivered",
            ]
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
    }
}
