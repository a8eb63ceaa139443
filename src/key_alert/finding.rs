//! The key alert as a Security Hub finding (ASFF): on the key (`AwsKmsKey`), one per key and
//! callers ([`KeyAlert::thread`]), so the next alert of the same callers updates it; archived
//! once this function cancelled the key's deletion.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::KeyAlert;
use crate::alert::finding::{
    Finding, FindingNote, FindingPlace, FindingResource, FindingSeverity, Recommendation,
    Remediation, ResourceDetails, SCHEMA_VERSION,
};
use crate::sanitize::clean_text;

/// The generator of these findings, beside the read alerts' `pending-deletion-read`.
pub const KEY_GENERATOR_ID: &str = "secret-deletion-alerts/pending-deletion-key-use";
/// ASFF's type: a key in use whose deletion destroys what it encrypted.
pub const KEY_FINDING_TYPE: &str = "Effects/Data Destruction";
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 1024;
const RECOMMENDATION_CHARS: usize = 512;
const FIELD_CHARS: usize = 2048;

impl KeyAlert {
    /// This alert as a finding imported at `place`.
    pub fn finding(&self, place: &FindingPlace, now: SystemTime) -> Finding {
        let document = &self.document;
        let key = &document.key;
        let now_text = humantime::format_rfc3339_millis(now).to_string();
        let times: Vec<SystemTime> = document
            .uses
            .iter()
            .filter_map(|u| u.event_time.as_deref())
            .filter_map(|t| humantime::parse_rfc3339_weak(t.trim().trim_end_matches('Z')).ok())
            .collect();
        let stamp = |time: Option<&SystemTime>| {
            time.map_or_else(
                || now_text.clone(),
                |t| humantime::format_rfc3339_millis(*t).to_string(),
            )
        };
        let (first, last) = (stamp(times.iter().min()), stamp(times.iter().max()));
        let callers: Vec<String> = document
            .readers
            .iter()
            .take(5)
            .map(|r| format!("{} ({} calls)", r.workload.name, r.uses))
            .collect();
        let secrets: Vec<&str> = document
            .encrypted_secrets
            .iter()
            .take(5)
            .map(|s| s.name.as_deref().unwrap_or(&s.arn))
            .collect();
        let description = format!(
            "{} Callers: {}. Secrets under the key: {}. Deletion: {}.",
            document.summary,
            callers.join(", "),
            if secrets.is_empty() {
                "none found".to_owned()
            } else {
                secrets.join(", ")
            },
            document.restore_outcome.detail
        );
        let mut fields = BTreeMap::new();
        let mut put = |name: &str, value: &str| {
            if !value.is_empty() {
                fields.insert(
                    format!("secret-deletion-alerts/{name}"),
                    clean_text(value, FIELD_CHARS),
                );
            }
        };
        put("Kind", document.kind);
        put("Operations", &document.operations.join(", "));
        put("Callers", &callers.join(", "));
        put("Uses", &document.use_count.to_string());
        put("Aliases", &key.aliases.join(", "));
        put("EncryptedSecrets", &secrets.join(", "));
        put(
            "ScheduledByArn",
            document
                .scheduled_by
                .as_ref()
                .and_then(|s| s.by_arn.as_deref())
                .unwrap_or(""),
        );
        put("RestoreOutcome", document.restore_outcome.kind);
        put("DedupKey", &document.dedup_key);
        let mut details = BTreeMap::new();
        for (name, value) in [
            ("KeyId", key.key_id.as_deref().unwrap_or("")),
            ("KeyState", key.state.as_deref().unwrap_or("")),
            ("DeletionDate", key.deletion_date.as_deref().unwrap_or("")),
        ] {
            if !value.is_empty() {
                details.insert(name.to_owned(), clean_text(value, FIELD_CHARS));
            }
        }
        let cancelled = matches!(
            document.restore_outcome.kind,
            "cancelled" | "cancelled_and_enabled" | "cancelled_not_enabled"
        );
        let recommendation = document
            .next_steps
            .first()
            .cloned()
            .unwrap_or_else(|| "See the alert email.".to_owned());
        Finding {
            schema_version: SCHEMA_VERSION,
            id: format!("{KEY_GENERATOR_ID}/{}", self.thread()),
            product_arn: place.product_arn(),
            generator_id: KEY_GENERATOR_ID,
            aws_account_id: place.account_id.clone(),
            types: vec![KEY_FINDING_TYPE],
            created_at: first.clone(),
            updated_at: now_text.clone(),
            first_observed_at: first,
            last_observed_at: last,
            severity: FindingSeverity {
                label: if document.severity == "critical" {
                    "CRITICAL"
                } else {
                    "HIGH"
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
                kind: "AwsKmsKey",
                id: clean_text(
                    key.arn
                        .as_deref()
                        .or(key.as_passed.as_deref())
                        .unwrap_or(&key.name),
                    FIELD_CHARS,
                ),
                partition: place.partition.clone(),
                region: key.region.clone().unwrap_or_else(|| place.region.clone()),
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
