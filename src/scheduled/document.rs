//! The scheduled alert's JSON document: what machines read (`docs/scheduled-v1.schema.json`;
//! a test validates every composed document against it). Every string a caller chose has
//! crossed [`crate::sanitize`] on its way in.

use serde::Serialize;

use crate::usage::Verdict;
pub use crate::usage::{WindowPart, WorkloadPart};

pub const SCHEDULED_SCHEMA: &str = "secret-deletion-alerts/scheduled/v1";

#[derive(Debug, Clone, Serialize)]
pub struct ScheduledDocument {
    pub schema: &'static str,
    /// Always `deletion_scheduled` (read alerts say `pending_deletion_read`).
    pub kind: &'static str,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
    /// The subject's sentence, whole.
    pub summary: String,
    /// The same on every try of the same batch: a digest of the deletion's event id.
    pub dedup_key: String,
    pub secret: SecretPart,
    pub deletion: DeletionPart,
    pub usage: UsagePart,
    pub restore_outcome: OutcomePart,
    pub verification: OutcomePart,
    /// What went wrong on the way (a lookup that failed), one sentence each.
    pub notes: Vec<String>,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretPart {
    pub arn: Option<String>,
    pub name: String,
    /// As the caller named it in `DeleteSecret`.
    pub id_as_named: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    /// `DescribeSecret`'s answer ([`crate::restore::SecretState::kind`]).
    pub state: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeletionPart {
    pub scheduled_by: String,
    pub scheduled_by_arn: Option<String>,
    pub scheduled_at: Option<String>,
    pub purge_date: Option<String>,
    pub recovery_window_days: Option<u64>,
    /// `ForceDeleteWithoutRecovery`: the secret is gone already.
    pub force: bool,
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsagePart {
    pub verdict: Verdict,
    pub window: WindowPart,
    /// Every page of Event history in the window was read.
    pub complete: bool,
    /// When not complete: the part of the window that was not read.
    pub not_read: Option<WindowPart>,
    /// When not complete: why the look-back stopped.
    pub stopped: Option<String>,
    pub records_read: u64,
    pub reads: u64,
    /// Most reads first, at most [`super::compose::READERS_IN_DOCUMENT`].
    pub readers: Vec<ReaderPart>,
    pub readers_left_out: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReaderPart {
    pub workload: WorkloadPart,
    pub caller: String,
    pub reads: u64,
    pub refused_reads: u64,
    pub first_read: Option<String>,
    pub last_read: Option<String>,
    /// The rule of `EXPECTED_READERS` that marks this reader, or `null`.
    pub expected: Option<String>,
    /// The reader is who scheduled the deletion.
    pub deleter: bool,
}

/// A stable machine name and a sentence for a person.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomePart {
    pub kind: &'static str,
    pub detail: String,
}
