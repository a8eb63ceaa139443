//! The scheduled alert as a Security Hub finding (ASFF): one per deletion, on the secret,
//! updated in place by a retry (its id is the alert's key) and archived once the guard
//! cancelled the deletion.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::compose::ScheduledAlert;
use crate::alert::finding::{
    Finding, FindingNote, FindingPlace, FindingResource, FindingSeverity, Recommendation,
    Remediation, ResourceDetails, SCHEMA_VERSION,
};
use crate::sanitize::clean_text;
use crate::usage::report::label;

/// The generator of these findings, beside the read alerts' `pending-deletion-read`.
pub const SCHEDULED_GENERATOR_ID: &str = "secret-deletion-alerts/deletion-scheduled";
/// ASFF's type: deleting a credential that is still read destroys what its readers need.
pub const SCHEDULED_FINDING_TYPE: &str = "Effects/Data Destruction";
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 1024;
const RECOMMENDATION_CHARS: usize = 512;
const FIELD_CHARS: usize = 2048;

impl ScheduledAlert {
    /// This alert as a finding imported at `place`.
    pub fn finding(&self, place: &FindingPlace, now: SystemTime) -> Finding {
        let document = &self.document;
        let secret = &document.secret;
        let usage = &document.usage;
        let now_text = humantime::format_rfc3339_millis(now).to_string();
        let scheduled = document
            .deletion
            .scheduled_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
            .map_or_else(
                || now_text.clone(),
                |t| humantime::format_rfc3339_millis(t).to_string(),
            );
        let readers: Vec<String> = usage
            .readers
            .iter()
            .take(5)
            .map(|r| format!("{} ({} reads)", r.workload.name, r.reads))
            .collect();
        let description = format!(
            "{} Verdict: {}{}. Readers: {}. {}. {}.",
            document.summary,
            label(usage.verdict),
            if usage.complete {
                ""
            } else {
                " (the window was not read whole)"
            },
            if readers.is_empty() {
                "none seen".to_owned()
            } else {
                readers.join(", ")
            },
            document.verification.detail,
            document.restore_outcome.detail
        );
        let mut fields = BTreeMap::new();
        let mut put = |key: &str, value: &str| {
            if !value.is_empty() {
                fields.insert(
                    format!("secret-deletion-alerts/{key}"),
                    clean_text(value, FIELD_CHARS),
                );
            }
        };
        put("Kind", document.kind);
        put("ScheduledBy", &document.deletion.scheduled_by);
        put(
            "ScheduledByArn",
            document.deletion.scheduled_by_arn.as_deref().unwrap_or(""),
        );
        put("Verdict", &label(usage.verdict));
        put("Reads", &usage.reads.to_string());
        put("Readers", &readers.join(", "));
        put("Verification", document.verification.kind);
        put("RestoreOutcome", document.restore_outcome.kind);
        put("DedupKey", &document.dedup_key);
        put(
            "EventId",
            document.deletion.event_id.as_deref().unwrap_or(""),
        );
        let mut details = BTreeMap::new();
        for (key, value) in [
            ("Name", secret.name.as_str()),
            ("State", secret.state),
            (
                "DeletionDate",
                document.deletion.purge_date.as_deref().unwrap_or(""),
            ),
        ] {
            if !value.is_empty() {
                details.insert(key.to_owned(), clean_text(value, FIELD_CHARS));
            }
        }
        let cancelled = document.restore_outcome.kind == "restored";
        let recommendation = document
            .next_steps
            .first()
            .cloned()
            .unwrap_or_else(|| "See the alert email.".to_owned());
        Finding {
            schema_version: SCHEMA_VERSION,
            id: format!("{SCHEDULED_GENERATOR_ID}/{}", document.dedup_key),
            product_arn: place.product_arn(),
            generator_id: SCHEDULED_GENERATOR_ID,
            aws_account_id: place.account_id.clone(),
            types: vec![SCHEDULED_FINDING_TYPE],
            created_at: scheduled.clone(),
            updated_at: now_text.clone(),
            first_observed_at: scheduled.clone(),
            last_observed_at: scheduled,
            severity: FindingSeverity {
                label: match document.severity {
                    "critical" => "CRITICAL",
                    "high" => "HIGH",
                    "medium" => "MEDIUM",
                    _ => "LOW",
                },
            },
            title: clean_text(&document.summary, TITLE_CHARS),
            description: clean_text(&description, DESCRIPTION_CHARS),
            remediation: Remediation {
                recommendation: Recommendation {
                    text: clean_text(&recommendation, RECOMMENDATION_CHARS),
                },
            },
            source_url: None,
            product_fields: fields,
            resources: vec![FindingResource {
                kind: "AwsSecretsManagerSecret",
                id: clean_text(
                    secret
                        .arn
                        .as_deref()
                        .or(secret.id_as_named.as_deref())
                        .unwrap_or(&secret.name),
                    FIELD_CHARS,
                ),
                partition: place.partition.clone(),
                region: secret
                    .region
                    .clone()
                    .unwrap_or_else(|| place.region.clone()),
                details: ResourceDetails { other: details },
            }],
            record_state: if cancelled { "ARCHIVED" } else { "ACTIVE" },
            note: cancelled.then(|| FindingNote {
                text: clean_text(&document.restore_outcome.detail, RECOMMENDATION_CHARS),
                updated_by: "secret-deletion-alerts",
                updated_at: now_text,
            }),
        }
    }
}
