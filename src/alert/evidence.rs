//! What the function learnt besides the records: whether CloudTrail Event history confirmed
//! the reads, who scheduled the deletion, and the member account's name; and how they appear
//! in the document.

use serde::Serialize;

use super::{MAX_ERROR_CHARS, MAX_FIELD_CHARS};
use crate::deletion::ScheduledDeletion;
use crate::sanitize::clean_text;
use crate::verification::Verification;

/// What was learnt about one secret besides its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub verification: Verification,
    pub deletion: DeletionFound,
    /// The secret's account's name in the organization, when it is a member account and the
    /// function may read it.
    pub account_name: Option<String>,
    /// Reads of the secret in this batch that a rule of `EXPECTED_READERS` marked, left out
    /// of the alert.
    pub expected_left_out: Option<ExpectedLeftOut>,
}

/// Reads left out of an alert because a rule marked them as expected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedLeftOut {
    pub reads: usize,
    /// The rules that marked them: "rule 2 (nightly ETL until cut-over)".
    pub rules: Vec<String>,
}

/// `expected_reads` in the document (schema v2; absent, and the document v1, when no read
/// was left out).
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedReadsDocument {
    pub left_out: usize,
    pub rules: Vec<String>,
}

pub(super) fn expected_reads_document(evidence: &Evidence) -> Option<ExpectedReadsDocument> {
    evidence
        .expected_left_out
        .as_ref()
        .map(|left_out| ExpectedReadsDocument {
            left_out: left_out.reads,
            rules: left_out
                .rules
                .iter()
                .map(|rule| clean_text(rule, MAX_FIELD_CHARS))
                .collect(),
        })
}

impl Evidence {
    /// Nothing asked (a look-back scan, a dry run).
    pub fn not_asked(why: &'static str) -> Self {
        Evidence {
            verification: Verification::NotChecked { why },
            deletion: DeletionFound::NotAsked,
            account_name: None,
            expected_left_out: None,
        }
    }
}

/// The `DeleteSecret` that scheduled the deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletionFound {
    Found(ScheduledDeletion),
    /// Looked for and not found (or Event history could not be asked): why.
    NotFound(String),
    /// Not looked for: the secret is not pending deletion, or nothing is configured.
    NotAsked,
}

/// `verification` in the JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationDocument {
    /// `confirmed`, `not_confirmed` or `not_checked`.
    pub status: &'static str,
    pub detail: String,
}

/// `deletion_scheduled` in the JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionDocument {
    /// `found`, `not_found` or `not_asked`.
    pub status: &'static str,
    pub detail: Option<String>,
    pub by: Option<String>,
    pub at: Option<String>,
    pub recovery_window_days: Option<u64>,
    pub force_delete_without_recovery: Option<bool>,
    pub deletion_date: Option<String>,
    pub event_id: Option<String>,
}

pub(super) fn verification_document(evidence: &Evidence) -> VerificationDocument {
    VerificationDocument {
        status: evidence.verification.status(),
        detail: clean_text(&evidence.verification.describe(), MAX_ERROR_CHARS),
    }
}

pub(super) fn deletion_document(evidence: &Evidence) -> DeletionDocument {
    let empty = |status, detail: Option<String>| DeletionDocument {
        status,
        detail,
        by: None,
        at: None,
        recovery_window_days: None,
        force_delete_without_recovery: None,
        deletion_date: None,
        event_id: None,
    };
    match &evidence.deletion {
        DeletionFound::Found(deletion) => DeletionDocument {
            status: "found",
            detail: Some(clean_text(&deletion.describe(), MAX_ERROR_CHARS)),
            by: Some(clean_text(&deletion.by, MAX_FIELD_CHARS * 2)),
            at: deletion.at.as_deref().map(|t| clean_text(t, 64)),
            recovery_window_days: deletion.recovery_window_days,
            force_delete_without_recovery: Some(deletion.force),
            deletion_date: deletion
                .deletion_date
                .map(|d| humantime::format_rfc3339_seconds(d).to_string()),
            event_id: deletion.event_id.as_deref().map(|t| clean_text(t, 64)),
        },
        DeletionFound::NotFound(why) => empty("not_found", Some(clean_text(why, MAX_ERROR_CHARS))),
        DeletionFound::NotAsked => empty("not_asked", None),
    }
}
