//! The Security Hub finding of an alert, in the AWS Security Finding Format (ASFF), one per
//! secret and caller: what `BatchImportFindings` takes. Pure.
//!
//! The finding's `Id` is the quiet window's key ([`super::thread::thread_key`]), so the next
//! alert about one secret and caller updates the same finding instead of adding one, and a
//! restore or a purge archives it. Security Hub's limits hold by construction: every field
//! is cut to ASFF's length, the event ids listed are cut to fit (and the finding says so), and
//! a finding stays far under 240 KB.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::thread::thread_key;
use super::{Alert, AlertDocument, CallerDocument};
use crate::restore::Severity;
use crate::sanitize::clean_text;

pub const GENERATOR_ID: &str = "secret-deletion-alerts/pending-deletion-read";
/// "Unusual Behaviors" is one of ASFF's namespaces, "Application" one of its categories.
pub const FINDING_TYPE: &str = "Unusual Behaviors/Application/Read of a secret pending deletion";
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Security Hub's limit on one finding; ours stay far below it.
pub const MAX_FINDING_BYTES: usize = 240 * 1024;
/// What one `BatchImportFindings` call takes.
pub const MAX_FINDINGS_PER_CALL: usize = 100;
pub const MAX_BYTES_PER_CALL: usize = 6 * 1024 * 1024;
const MAX_TITLE_CHARS: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 1024;
const MAX_RECOMMENDATION_CHARS: usize = 512;
const MAX_FIELD_VALUE_CHARS: usize = 2048;

/// The account and region a finding is imported into: the function's own (`SECURITY_HUB=own`)
/// or the secret's (`member`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingPlace {
    pub partition: String,
    pub account_id: String,
    pub region: String,
}

impl FindingPlace {
    /// The account's own product ARN: where custom findings go in.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account_id, self.account_id
        )
    }
}

/// One ASFF finding, field for field as Security Hub names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub schema_version: &'static str,
    pub id: String,
    pub product_arn: String,
    pub generator_id: &'static str,
    pub aws_account_id: String,
    pub types: Vec<&'static str>,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub severity: FindingSeverity,
    pub title: String,
    pub description: String,
    pub remediation: Remediation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<FindingResource>,
    pub record_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<FindingNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingSeverity {
    pub label: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    pub recommendation: Recommendation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingResource {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub id: String,
    pub partition: String,
    pub region: String,
    pub details: ResourceDetails,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceDetails {
    pub other: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingNote {
    pub text: String,
    pub updated_by: &'static str,
    pub updated_at: String,
}

impl Finding {
    /// Its size as Security Hub counts it: the JSON of the finding.
    pub fn bytes(&self) -> usize {
        serde_json::to_vec(self).map_or(MAX_FINDING_BYTES, |json| json.len())
    }
}

/// The findings of one alert: one per caller it speaks of, imported at `place`.
pub fn findings_of(alert: &Alert, place: &FindingPlace, now: SystemTime) -> Vec<Finding> {
    alert
        .document
        .callers
        .iter()
        .map(|caller| finding(alert, caller, place, now))
        .collect()
}

fn finding(
    alert: &Alert,
    caller: &CallerDocument,
    place: &FindingPlace,
    now: SystemTime,
) -> Finding {
    let document = &alert.document;
    let secret = &document.secret;
    let now_text = humantime::format_rfc3339_millis(now).to_string();
    // ASFF wants ISO 8601; a record's time that does not parse is told as now.
    let iso = |time: Option<&String>| {
        time.and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
            .map(|t| humantime::format_rfc3339_millis(t).to_string())
            .unwrap_or_else(|| now_text.clone())
    };
    let first = iso(caller.first_seen.as_ref());
    let last = iso(caller.last_seen.as_ref());
    let resource_id = secret
        .arn
        .clone()
        .or_else(|| secret.id_as_named.clone())
        // Unrelated reads in other accounts and regions must not share one resource.
        .unwrap_or_else(|| {
            format!(
                "{} in account {}, {}",
                super::UNNAMED_SECRET,
                secret.account_id.as_deref().unwrap_or("unknown"),
                secret.region.as_deref().unwrap_or("region unknown")
            )
        });
    let title = clean_text(
        &format!(
            "Secret {} pending deletion read by {}",
            secret.display_name, caller.workload.description
        ),
        MAX_TITLE_CHARS,
    );
    let description = clean_text(
        &format!(
            "{} read the secret {} {} {} while it was scheduled for deletion ({}). Reads: {}. Deletion: {}.",
            caller.description,
            secret.display_name,
            caller.reads,
            if caller.reads == 1 { "time" } else { "times" },
            secret.state_detail,
            document.verification.detail,
            document.restore.summary
        ),
        MAX_DESCRIPTION_CHARS,
    );
    let recommendation = match &document.next_steps.restore_command {
        Some(command) => format!(
            "If the reader ({}) still needs the secret, cancel the deletion ({command}) and move it off the secret before deleting again; otherwise stop its reads. The alert email has every read and the queries.",
            caller.workload.description
        ),
        None => "Find the secret and the reader from the event ids, then cancel the deletion or stop the reads. The alert email has every read and the queries.".to_owned(),
    };

    let mut details = BTreeMap::new();
    let put = |map: &mut BTreeMap<String, String>, key: &str, value: &str| {
        if !value.is_empty() {
            map.insert(key.to_owned(), clean_text(value, MAX_FIELD_VALUE_CHARS));
        }
    };
    put(
        &mut details,
        "DeletionDate",
        secret.deletion_date.as_deref().unwrap_or(""),
    );
    put(&mut details, "State", secret.state);
    put(&mut details, "Name", secret.name.as_deref().unwrap_or(""));
    put(
        &mut details,
        "NamedAs",
        secret.id_as_named.as_deref().unwrap_or(""),
    );

    let mut fields = BTreeMap::new();
    let key = |name: &str| format!("secret-deletion-alerts/{name}");
    put(&mut fields, &key("Caller"), &caller.caller);
    put(&mut fields, &key("Workload"), &caller.workload.description);
    put(&mut fields, &key("Reads"), &caller.reads.to_string());
    put(
        &mut fields,
        &key("SourceIpAddresses"),
        &caller.source_ip_addresses.join(", "),
    );
    put(
        &mut fields,
        &key("UserAgents"),
        &caller.user_agents.join(" | "),
    );
    put(
        &mut fields,
        &key("Verification"),
        document.verification.status,
    );
    put(
        &mut fields,
        &key("RestoreOutcome"),
        document.restore.outcome,
    );
    put(&mut fields, &key("DedupKey"), &document.dedup_key);
    put(
        &mut fields,
        &key("SecretAccount"),
        secret.account_id.as_deref().unwrap_or(""),
    );
    put(
        &mut fields,
        &key("SecretRegion"),
        secret.region.as_deref().unwrap_or(""),
    );
    // An alert of one caller holds its every event id; of several, each caller's examples.
    let ids = match document.callers.len() {
        1 => &document.event_ids,
        _ => &caller.example_event_ids,
    };
    let (event_ids, cut) = listed_event_ids(ids);
    put(&mut fields, &key("EventIds"), &event_ids);
    if let Some(cut) = cut {
        put(&mut fields, &key("EventIdsCut"), &cut);
    }
    if let Some(expected) = &document.expected_reads {
        put(
            &mut fields,
            &key("ExpectedReadsLeftOut"),
            &format!("{} ({})", expected.left_out, expected.rules.join(", ")),
        );
    }

    let (record_state, note) = match archived_because(document) {
        Some(why) => (
            "ARCHIVED",
            Some(FindingNote {
                text: clean_text(why, MAX_RECOMMENDATION_CHARS),
                updated_by: "secret-deletion-alerts",
                updated_at: now_text.clone(),
            }),
        ),
        None => ("ACTIVE", None),
    };
    Finding {
        schema_version: SCHEMA_VERSION,
        id: format!(
            "{GENERATOR_ID}/{}",
            thread_key(&alert.window_secret, Some(&caller.caller))
        ),
        product_arn: place.product_arn(),
        generator_id: GENERATOR_ID,
        aws_account_id: place.account_id.clone(),
        types: vec![FINDING_TYPE],
        created_at: first.clone(),
        updated_at: now_text,
        first_observed_at: first,
        last_observed_at: last,
        severity: FindingSeverity {
            label: match document.severity {
                Severity::Critical => "CRITICAL",
                Severity::High => "HIGH",
            },
        },
        title,
        description,
        remediation: Remediation {
            recommendation: Recommendation {
                text: clean_text(&recommendation, MAX_RECOMMENDATION_CHARS),
            },
        },
        source_url: document
            .next_steps
            .investigate
            .iter()
            .find_map(|i| i.cloudtrail_event_history_url.clone()),
        product_fields: fields,
        resources: vec![FindingResource {
            kind: "AwsSecretsManagerSecret",
            id: clean_text(&resource_id, MAX_FIELD_VALUE_CHARS),
            partition: place.partition.clone(),
            region: secret
                .region
                .clone()
                .unwrap_or_else(|| place.region.clone()),
            details: ResourceDetails { other: details },
        }],
        record_state,
        note,
    }
}

/// Why the finding is archived: the deletion was cancelled, or the secret is gone.
fn archived_because(document: &AlertDocument) -> Option<&'static str> {
    match (document.restore.outcome, document.secret.state) {
        ("restored", _) => {
            Some("The deletion was cancelled (RestoreSecret) by secret-deletion-alerts.")
        }
        ("no_longer_pending", _) | (_, "not_pending_deletion") => {
            Some("The secret is no longer scheduled for deletion.")
        }
        ("already_purged", _) | (_, "purged") => Some("The secret was deleted for good (purged)."),
        _ => None,
    }
}

/// The event ids of a caller's reads, as many as fit one product field: the alert lists every
/// id it holds; when they do not fit, the field says how many were left out.
fn listed_event_ids(ids: &[String]) -> (String, Option<String>) {
    let mut listed = String::new();
    let mut count = 0;
    for id in ids {
        if listed.len() + id.len() + 2 > MAX_FIELD_VALUE_CHARS {
            break;
        }
        if !listed.is_empty() {
            listed.push_str(", ");
        }
        listed.push_str(id);
        count += 1;
    }
    let cut = (count < ids.len()).then(|| {
        format!(
            "{count} of {} event ids listed, cut to fit Security Hub's field limit; the alert email lists them",
            ids.len()
        )
    });
    (listed, cut)
}

/// The findings in calls Security Hub takes: at most 100 findings and 6 MB each.
pub fn calls_of(findings: Vec<Finding>) -> Vec<Vec<Finding>> {
    let mut calls: Vec<Vec<Finding>> = Vec::new();
    let mut bytes = 0;
    for finding in findings {
        let size = finding.bytes();
        let full = calls.last().is_none_or(|call| {
            call.len() >= MAX_FINDINGS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL
        });
        if full {
            calls.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(call) = calls.last_mut() {
            call.push(finding);
        }
    }
    calls
}
