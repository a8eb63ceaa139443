//! What one batch did: one log line, the metric line, and the invocation's result (or what
//! its error carries).

use serde::Serialize;

/// What one batch did, logged as one line, written as the metric, and returned as the
/// invocation's result (or carried by its error).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub message_type: String,
    pub log_group: String,
    /// Log events in the batch; `None` when they were not read, because no message in the
    /// batch can match the rule ([`crate::detection::may_match`] on the whole batch).
    pub records: Option<usize>,
    /// Log events past the size cap (`MAX_BATCH_BYTES`), not read (`RecordsUnread`,
    /// alarmed): the invocation fails so that the on-failure destination keeps the batch
    /// for a replay through `invoke`, which reads it all.
    pub records_unread: u64,
    /// Records that passed the cheap pre-check and were parsed.
    pub parsed: usize,
    /// Pending-deletion reads found.
    pub matched: usize,
    /// Log events skipped because they are not CloudTrail records.
    pub malformed: usize,
    /// Reads dropped because their CloudTrail event id was already in the batch.
    pub duplicates: usize,
    pub secrets: usize,
    pub alerts_published: usize,
    /// Alerts that did not go out (failed, or not tried before the deadline).
    pub alerts_undelivered: usize,
    /// Alerts held back by a quiet window (their reads counted for the next alert).
    pub alerts_suppressed: usize,
    /// Alerts an earlier try of this batch delivered (the window's store says so), not sent
    /// again on this retry.
    pub alerts_already_delivered: usize,
    /// Calls to the quiet window's store that failed; their alerts went out regardless.
    pub alert_state_errors: usize,
    /// Stored windows holding what this function never writes (a planted claim): treated
    /// as absent, their alerts sent (`WindowItemsCorrupt`, alarmed).
    pub window_items_corrupt: usize,
    /// Why the store was not used for (part of) this batch: the first failure.
    pub alert_state_unavailable: Option<String>,
    pub restored: usize,
    /// Restores the policy asked for that CloudTrail did not confirm, and that failed.
    pub restores_unverified: usize,
    pub restores_failed: usize,
    /// Secrets whose lookup failed: Secrets Manager refused or did not answer, or (counted
    /// apart) the member role could not be assumed.
    pub lookup_failures: usize,
    pub member_role_failures: usize,
    /// Reads of the stack's canary secret: counted (`CanaryReadsSeen`), never alerted.
    pub canary_reads: usize,
    /// Successful `DeleteSecret` (and a KMS key's `ScheduleKeyDeletion`) records: deletions
    /// scheduled (`ON_SCHEDULE`).
    pub deletions_scheduled: usize,
    /// Alerts of scheduled deletions published.
    pub scheduled_alerts_published: usize,
    /// Scheduled deletions the guard cancelled (`ON_SCHEDULE=guard`).
    pub deletions_cancelled: usize,
    /// Uses of KMS keys pending deletion found (`KeyUsesSeen`), and their alerts published
    /// (`KeyAlertsDelivered`).
    pub key_uses: usize,
    pub key_alerts_published: usize,
    /// Reads a rule of `EXPECTED_READERS` marked: counted (`ReadsExpected`), never alerted.
    pub reads_expected: usize,
    /// Security Hub findings and chat messages of delivered alerts that did not go out
    /// (`FindingsUndelivered`, `ChatUndelivered`); the emails went out regardless.
    pub findings_undelivered: usize,
    pub chat_undelivered: usize,
    /// De-duplication keys of the alerts delivered.
    pub delivered: Vec<String>,
}
