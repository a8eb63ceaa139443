//! The JSON document of one secret's check (`check --json`, one line each), as
//! `docs/check-v1.schema.json` describes it.

use std::time::SystemTime;

use serde::Serialize;

use crate::sanitize::clean_text;
use crate::workload::{Confidence, WorkloadKind};

use super::verdict::{CheckOutcome, SourceCoverage, Verdict};

/// The schema's name, in every document.
pub const CHECK_SCHEMA: &str = "secret-deletion-alerts/check/v1";
/// A check that found readers `EXPECTED_READERS` marks: v1 and each reader's `expected`
/// (`docs/check-v2.schema.json`).
pub const CHECK_SCHEMA_V2: &str = "secret-deletion-alerts/check/v2";

#[derive(Debug, Clone, Serialize)]
pub struct CheckDocument {
    pub schema: &'static str,
    pub secret: SecretPart,
    pub verdict: Verdict,
    pub window: WindowPart,
    pub sources: Vec<SourceCoverage>,
    pub readers: Vec<ReaderPart>,
    /// Reads in all, and refused, over every reader.
    pub reads: u64,
    pub refused_reads: u64,
    /// What the answer should be read with: a lookup that failed, sources that miss reads.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretPart {
    pub id_as_named: String,
    pub arn: Option<String>,
    pub name: String,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub deletion_date: Option<String>,
    pub last_accessed_date: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowPart {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReaderPart {
    pub workload: WorkloadPart,
    pub caller: String,
    pub reads: u64,
    pub refused_reads: u64,
    pub first_read: Option<String>,
    pub last_read: Option<String>,
    pub source_ips: Vec<String>,
    pub user_agents: Vec<String>,
    pub example_event_ids: Vec<String>,
    /// v2 only: the rule that marks this reader as expected, or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkloadPart {
    pub kind: WorkloadKind,
    pub name: String,
    pub confidence: Confidence,
}

pub(super) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// What the answer should be read with, in words (the report prints the same lines).
pub(super) fn notes(outcome: &CheckOutcome) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(note) = &outcome.secret.lookup_note {
        notes.push(clean_text(note, 500));
    }
    if outcome.sources_miss_reads()
        && let Some(accessed) = outcome.secret.last_accessed_date
    {
        let day = &rfc3339(accessed)[..10];
        notes.push(format!(
            "Secrets Manager says the secret was last read on {day}, later than any read these \
             sources hold: they miss reads (another region or account, or a trail that does not \
             log them)."
        ));
    }
    notes
}

/// The document of one secret's check. Readers come most reads first.
pub fn check_document(outcome: &CheckOutcome) -> CheckDocument {
    let secret = &outcome.secret;
    let mut readers: Vec<ReaderPart> = outcome
        .reads
        .readers
        .iter()
        .map(|(key, reads)| ReaderPart {
            workload: WorkloadPart {
                kind: key.kind,
                name: key.name.clone(),
                confidence: key.confidence,
            },
            caller: key.caller.clone(),
            reads: reads.reads,
            refused_reads: reads.refused_reads,
            first_read: reads.first_read.map(rfc3339),
            last_read: reads.last_read.map(rfc3339),
            source_ips: reads.source_ips.iter().cloned().collect(),
            user_agents: reads.user_agents.iter().cloned().collect(),
            example_event_ids: reads.examples.iter().map(|(_, id)| id.clone()).collect(),
            expected: None,
        })
        .collect();
    let with_expected = outcome
        .reads
        .readers
        .keys()
        .any(|key| key.expected.is_some());
    if with_expected {
        for (reader, key) in readers.iter_mut().zip(outcome.reads.readers.keys()) {
            reader.expected = Some(key.expected.clone());
        }
    }
    readers.sort_by_key(|r| std::cmp::Reverse(r.reads));
    CheckDocument {
        schema: if with_expected {
            CHECK_SCHEMA_V2
        } else {
            CHECK_SCHEMA
        },
        secret: SecretPart {
            id_as_named: clean_text(&secret.as_named, 2048),
            arn: secret.arn.clone(),
            name: clean_text(&secret.name, 512),
            account_id: secret.account_id.clone(),
            region: secret.region.clone(),
            deletion_date: secret.deletion_date.map(rfc3339),
            last_accessed_date: secret.last_accessed_date.map(rfc3339),
        },
        verdict: outcome.verdict(),
        window: WindowPart {
            from: rfc3339(outcome.from),
            to: rfc3339(outcome.to),
        },
        sources: outcome.sources.clone(),
        readers,
        reads: outcome.reads.reads(),
        refused_reads: outcome.reads.refused_reads(),
        notes: notes(outcome),
    }
}
