//! The JSON document every alert carries, and its SNS message attributes: the contract SQS,
//! Lambda and HTTPS subscribers (and filter policies) code against. The schema is checked in
//! as `docs/alert-v1.schema.json`; a test validates every sample's document against it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use super::{
    MAX_ERROR_CHARS, MAX_FIELD_CHARS, MAX_NAME_CHARS, MAX_SECRET_ID_CHARS, MAX_USER_AGENT_CHARS,
    UNNAMED_SECRET,
};
use crate::caller::CallerKey;
use crate::cloudtrail::{AccessKeyKind, Attribution, Principal};
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::restore::{SecretState, Severity};
use crate::sanitize::clean_text;
use crate::window::WindowNote;
use crate::workload::{Confidence, Workload, WorkloadKind};

#[derive(Debug, Clone, Serialize)]
pub struct AlertDocument {
    pub schema: &'static str,
    pub dedup_key: String,
    pub severity: Severity,
    pub subject: String,
    pub secret: SecretDocument,
    pub restore: RestoreDocument,
    pub attempts_total: usize,
    pub attempts_listed: usize,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub attempts: Vec<AttemptDocument>,
    /// The attempts per caller (the role, not the session), in order of first read.
    pub callers: Vec<CallerDocument>,
    /// CloudTrail event ids of every attempt (the de-duplication key is built from them).
    pub event_ids: Vec<String>,
    /// Reads of this caller held back by the quiet window since its last alert; 0 without
    /// a window.
    pub suppressed_since_last_alert: u64,
    /// This caller's last alert about this secret (RFC 3339); `null` without a window, or
    /// when there was none.
    pub last_alert_at: Option<String>,
    /// The quiet window this alert opened; `null` without one.
    pub alert_window: Option<AlertWindowDocument>,
    /// Whether CloudTrail Event history confirmed the reads (`VERIFY_READS`).
    pub verification: super::VerificationDocument,
    /// Who scheduled the deletion, from Event history.
    pub deletion_scheduled: super::DeletionDocument,
    pub log_group: String,
    pub next_steps: NextSteps,
    /// Reads of this secret in the batch that `EXPECTED_READERS` marked, left out of this
    /// alert (schema v2); absent, and the document v1, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_reads: Option<super::ExpectedReadsDocument>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretDocument {
    /// `null` when the records do not name the secret.
    pub id_as_named: Option<String>,
    pub display_name: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub account_id: Option<String>,
    /// The account's name in the organization (`organizations:DescribeAccount`), when known.
    pub account_name: Option<String>,
    pub region: Option<String>,
    pub state: &'static str,
    pub state_detail: String,
    pub deletion_date: Option<String>,
    pub seconds_until_deletion: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreDocument {
    pub policy: &'static str,
    pub outcome: &'static str,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptDocument {
    pub event_time: Option<String>,
    pub event_id: Option<String>,
    pub request_id: Option<String>,
    /// Where the record was found: its log event id, or `path#index` of a file of history.
    pub log_event_id: String,
    pub identity: IdentityDocument,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: String,
    /// Which workload made the read ([`crate::workload`]).
    pub workload: WorkloadDocument,
    /// Fields of the record that were not of the type CloudTrail documents, so not read
    /// (dotted paths); left out of the document when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable_fields: Vec<String>,
    /// The read happened more than a day before the alert: a late delivery, or a replay of
    /// an old record; left out of the document when it is not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub old: bool,
}

/// `workload` in the JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadDocument {
    pub kind: WorkloadKind,
    pub name: String,
    pub confidence: Confidence,
    pub evidence: Vec<String>,
    pub role: Option<String>,
    /// For a person: "Lambda function `orders-api`".
    pub description: String,
    /// For a subject line ("Lambda orders-api"), when the workload says more than the
    /// principal; not in the document.
    #[serde(skip)]
    pub short: Option<String>,
    /// For a subject line after the principal ("likely Lambda"), when the workload is named
    /// on the caller's word only; not in the document.
    #[serde(skip)]
    pub likely: Option<&'static str>,
}

pub(super) fn workload_document(workload: &Workload) -> WorkloadDocument {
    WorkloadDocument {
        kind: workload.kind,
        name: clean_text(&workload.name, MAX_NAME_CHARS),
        confidence: workload.confidence,
        evidence: workload
            .evidence
            .iter()
            .map(|e| clean_text(e, MAX_FIELD_CHARS))
            .collect(),
        role: workload
            .role
            .as_deref()
            .map(|r| clean_text(r, MAX_NAME_CHARS)),
        description: clean_text(&workload.describe(), MAX_FIELD_CHARS * 2),
        short: (workload.is_named() && workload.confidence == Confidence::Certain)
            .then(|| clean_text(&workload.short(), MAX_NAME_CHARS)),
        likely: (workload.is_named() && workload.confidence == Confidence::Likely)
            .then(|| workload.kind_label()),
    }
}

/// One caller's reads, summed up: what the email's caller block says.
#[derive(Debug, Clone, Serialize)]
pub struct CallerDocument {
    /// The key the quiet window counts against: the user, role, federated user, root or
    /// service ARN or name.
    pub caller: String,
    /// The first read's identity, for a person.
    pub description: String,
    /// The first read's workload.
    pub workload: WorkloadDocument,
    pub reads: usize,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Distinct values, at most [`MAX_DISTINCT`] each.
    pub session_names: Vec<String>,
    pub access_keys: Vec<AccessKeyDocument>,
    pub source_ip_addresses: Vec<String>,
    pub user_agents: Vec<String>,
    pub invoked_by: Vec<String>,
    pub vpc_endpoint_ids: Vec<String>,
    /// The first few event ids.
    pub example_event_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKeyDocument {
    pub id: String,
    pub kind: Option<AccessKeyKind>,
    pub mfa_authenticated: Option<bool>,
}

/// Distinct values a caller block lists per field.
pub const MAX_DISTINCT: usize = 5;
/// Event ids a caller block gives as examples.
pub const MAX_EXAMPLE_EVENT_IDS: usize = 3;

/// The quiet window an alert opened.
#[derive(Debug, Clone, Serialize)]
pub struct AlertWindowDocument {
    pub seconds: u64,
    /// `first`, `window_ended`, `retry`, `unconfirmed`, `severity_rose`, `rescheduled`,
    /// `restore_outcome`, or `state_unavailable` (the store failed: no window held).
    pub opened_because: &'static str,
    /// Until when repeats of this caller are counted, not sent; `null` when the store failed.
    pub ends_at: Option<String>,
    /// Why the store could not be used.
    pub state_unavailable: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityDocument {
    #[serde(rename = "type")]
    pub principal_type: &'static str,
    pub name: String,
    pub description: String,
    pub arn: Option<String>,
    pub role_name: Option<String>,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub identity_center: bool,
    pub access_key_id: Option<String>,
    pub access_key_kind: Option<AccessKeyKind>,
    pub mfa_authenticated: Option<bool>,
    pub invoked_by: Option<String>,
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NextSteps {
    /// `null` when the records do not name the secret.
    pub restore_command: Option<String>,
    /// When the records do not name the secret: the CloudTrail searches that find it.
    pub find_the_secret: Vec<String>,
    /// Where to find the workloads that read it (console links, commands).
    pub find_the_workload: Vec<String>,
    pub investigate: Vec<Investigation>,
}

/// How to see everything else one identity did, three ways.
#[derive(Debug, Clone, Serialize)]
pub struct Investigation {
    pub identity: String,
    pub cloudtrail_event_history_url: Option<String>,
    pub logs_insights_query: String,
    pub athena_sql: String,
}

pub(super) fn secret_document(
    target: &SecretTarget,
    state: &SecretState,
    now: SystemTime,
) -> SecretDocument {
    let deletion_date = state.deletion_date();
    SecretDocument {
        id_as_named: target
            .secret_id
            .as_deref()
            .map(|id| clean_text(id, MAX_SECRET_ID_CHARS)),
        // The name Secrets Manager gave, once looked up: a read that named the full ARN
        // (`prod/db-AbCdEf`) is still the secret `prod/db`, and a subscription filter on the
        // `secret` attribute must see it so.
        display_name: match state.name().or(target.display_name()) {
            Some(name) => clean_text(name, MAX_SECRET_ID_CHARS),
            None => UNNAMED_SECRET.to_owned(),
        },
        arn: state.arn().map(|a| clean_text(a, MAX_SECRET_ID_CHARS)),
        name: state.name().map(|n| clean_text(n, MAX_SECRET_ID_CHARS)),
        account_id: target.account_id.as_deref().map(|a| clean_text(a, 32)),
        account_name: None,
        region: target.region.as_deref().map(|r| clean_text(r, 32)),
        state: state.kind(),
        state_detail: clean_text(&state.describe(now), MAX_ERROR_CHARS),
        deletion_date: deletion_date.map(|d| humantime::format_rfc3339_seconds(d).to_string()),
        seconds_until_deletion: deletion_date.map(|d| match d.duration_since(now) {
            Ok(left) => i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            Err(past) => -i64::try_from(past.duration().as_secs()).unwrap_or(i64::MAX),
        }),
    }
}

/// One read's document; `workload` is [`classify`](crate::workload::classify) of it, worked
/// out once per read by the caller.
pub(super) fn attempt_document(
    access: &PendingDeletionAccess,
    workload: &Workload,
    now: SystemTime,
) -> AttemptDocument {
    let field = |value: &Option<String>| value.as_deref().map(|v| clean_text(v, MAX_FIELD_CHARS));
    AttemptDocument {
        event_time: field(&access.event_time),
        event_id: access
            .event_id
            .as_deref()
            .map(|v| clean_text(v, MAX_FIELD_CHARS)),
        request_id: field(&access.request_id),
        // A file location (`path#index`) for a look-back: room for a trail bucket's deep paths.
        log_event_id: clean_text(&access.origin.location(), MAX_FIELD_CHARS),
        identity: identity_document(&access.who),
        source_ip_address: field(&access.source_ip_address),
        user_agent: access
            .user_agent
            .as_deref()
            .map(|v| clean_text(v, MAX_USER_AGENT_CHARS)),
        vpc_endpoint_id: field(&access.vpc_endpoint_id),
        error_code: field(&access.error_code),
        error_message: clean_text(&access.error_message, MAX_ERROR_CHARS),
        workload: workload_document(workload),
        unreadable_fields: access
            .unreadable_fields
            .iter()
            .take(MAX_UNREADABLE_FIELDS)
            .map(|path| clean_text(path, MAX_FIELD_CHARS))
            .collect(),
        old: access
            .event_time
            .as_deref()
            .and_then(crate::verification::parse_event_time)
            .and_then(|at| now.duration_since(at).ok())
            .is_some_and(|age| age > OLD_READ),
    }
}

/// A read older than this when its alert is composed is called old.
const OLD_READ: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Unreadable fields named per read; a record is not expected to have more than a few.
const MAX_UNREADABLE_FIELDS: usize = 10;

/// The per-caller summary of `ordered` (sorted by time), callers in order of first read;
/// `workloads` is [`classify`](crate::workload::classify) of each read, in the same order.
pub(super) fn caller_documents(
    ordered: &[&PendingDeletionAccess],
    workloads: &[Workload],
) -> Vec<CallerDocument> {
    let mut callers: Vec<(CallerKey, CallerDocument)> = Vec::new();
    for (access, workload) in ordered.iter().zip(workloads) {
        let key = CallerKey::of(&access.who);
        let index = match callers.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                callers.push((
                    key.clone(),
                    CallerDocument {
                        caller: clean_text(key.as_str(), MAX_FIELD_CHARS * 2),
                        description: clean_text(
                            &access.who.principal.describe(),
                            MAX_FIELD_CHARS * 2,
                        ),
                        workload: workload_document(workload),
                        reads: 0,
                        first_seen: None,
                        last_seen: None,
                        session_names: Vec::new(),
                        access_keys: Vec::new(),
                        source_ip_addresses: Vec::new(),
                        user_agents: Vec::new(),
                        invoked_by: Vec::new(),
                        vpc_endpoint_ids: Vec::new(),
                        example_event_ids: Vec::new(),
                    },
                ));
                callers.len() - 1
            }
        };
        let caller = &mut callers[index].1;
        caller.reads += 1;
        let time = access.event_time.as_deref().map(|t| clean_text(t, 64));
        if caller.first_seen.is_none() {
            caller.first_seen = time.clone();
        }
        if time.is_some() {
            caller.last_seen = time;
        }
        if let Principal::AssumedRole {
            session_name: Some(session),
            ..
        } = &access.who.principal
        {
            push_distinct(
                &mut caller.session_names,
                clean_text(session, MAX_NAME_CHARS),
            );
        }
        if let Some(id) = &access.who.access_key_id {
            let key = AccessKeyDocument {
                id: clean_text(id, MAX_NAME_CHARS),
                kind: access.who.access_key_kind,
                mfa_authenticated: access.who.mfa_authenticated,
            };
            push_distinct(&mut caller.access_keys, key);
        }
        let field =
            |value: &Option<String>, cap: usize| value.as_deref().map(|v| clean_text(v, cap));
        if let Some(ip) = field(&access.source_ip_address, MAX_FIELD_CHARS) {
            push_distinct(&mut caller.source_ip_addresses, ip);
        }
        if let Some(agent) = field(&access.user_agent, MAX_USER_AGENT_CHARS) {
            push_distinct(&mut caller.user_agents, agent);
        }
        if let Some(service) = field(&access.who.invoked_by, MAX_NAME_CHARS) {
            push_distinct(&mut caller.invoked_by, service);
        }
        if let Some(endpoint) = field(&access.vpc_endpoint_id, MAX_FIELD_CHARS) {
            push_distinct(&mut caller.vpc_endpoint_ids, endpoint);
        }
        if caller.example_event_ids.len() < MAX_EXAMPLE_EVENT_IDS {
            let id = match access.event_id.as_deref() {
                Some(id) => clean_text(id, 64),
                None => clean_text(&access.origin.location(), MAX_FIELD_CHARS),
            };
            caller.example_event_ids.push(id);
        }
    }
    callers.into_iter().map(|(_, caller)| caller).collect()
}

fn push_distinct<T: PartialEq>(values: &mut Vec<T>, value: T) {
    if values.len() < MAX_DISTINCT && !values.contains(&value) {
        values.push(value);
    }
}

/// What the quiet window adds to the document: the two counts, and the window itself.
pub(super) fn window_fields(
    window: Option<&WindowNote>,
) -> (u64, Option<String>, Option<AlertWindowDocument>) {
    let Some(note) = window else {
        return (0, None, None);
    };
    let rfc3339 = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    (
        note.carried.suppressed,
        note.carried.last_alert_at.map(rfc3339),
        Some(AlertWindowDocument {
            seconds: note.window.as_secs(),
            opened_because: note.opened.as_str(),
            ends_at: note.ends_at.map(rfc3339),
            state_unavailable: note
                .unavailable
                .as_deref()
                .map(|reason| clean_text(reason, MAX_ERROR_CHARS)),
        }),
    )
}

fn identity_document(who: &Attribution) -> IdentityDocument {
    let name = |value: &Option<String>| value.as_deref().map(|v| clean_text(v, MAX_NAME_CHARS));
    let arn = |value: &Option<String>| value.as_deref().map(|v| clean_text(v, MAX_FIELD_CHARS));
    let (principal_type, principal_arn, role_name, role_arn, session_name, identity_center) =
        match &who.principal {
            Principal::IamUser { arn: a, .. } => ("iam_user", arn(a), None, None, None, false),
            Principal::AssumedRole {
                role_name,
                role_arn,
                session_name,
                arn: a,
                identity_center,
            } => (
                "assumed_role",
                arn(a),
                name(role_name),
                arn(role_arn),
                name(session_name),
                *identity_center,
            ),
            Principal::FederatedUser { arn: a, .. } => {
                ("federated_user", arn(a), None, None, None, false)
            }
            Principal::Root { arn: a } => ("root", arn(a), None, None, None, false),
            Principal::AwsService { .. } => ("aws_service", None, None, None, None, false),
            Principal::AwsAccount { .. } => ("aws_account", None, None, None, None, false),
            Principal::Other { arn: a, .. } => ("other", arn(a), None, None, None, false),
            Principal::Unknown => ("unknown", None, None, None, None, false),
        };
    IdentityDocument {
        principal_type,
        name: clean_text(who.principal.short_name(), MAX_NAME_CHARS),
        description: clean_text(&who.principal.describe(), MAX_FIELD_CHARS * 2),
        arn: principal_arn,
        role_name,
        role_arn,
        session_name,
        identity_center,
        access_key_id: name(&who.access_key_id),
        access_key_kind: who.access_key_kind,
        mfa_authenticated: who.mfa_authenticated,
        invoked_by: name(&who.invoked_by),
        account_id: name(&who.account_id),
    }
}

/// The `kind` attribute of a read alert.
pub const READ_ALERT_KIND: &str = "pending_deletion_read";

/// An SNS message attribute: its value and the data type it is published with, declared
/// together so a filter policy's numeric match works on the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    pub data_type: AttributeType,
    pub value: String,
}

/// The SNS data types the alert's attributes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Number,
}

impl AttributeType {
    /// The name SNS gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Number => "Number",
        }
    }
}

impl MessageAttribute {
    pub fn string(value: String) -> Self {
        MessageAttribute {
            data_type: AttributeType::String,
            value,
        }
    }

    pub fn number(value: usize) -> Self {
        MessageAttribute {
            data_type: AttributeType::Number,
            value: value.to_string(),
        }
    }
}

impl PartialEq<&str> for MessageAttribute {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

/// The message attributes, for subscription filter policies.
pub(super) fn attributes(document: &AlertDocument) -> BTreeMap<&'static str, MessageAttribute> {
    let value = |v: &str| {
        let cleaned = clean_text(v, MAX_FIELD_CHARS);
        MessageAttribute::string(if cleaned.is_empty() {
            "unknown".to_owned()
        } else {
            cleaned
        })
    };
    let secret = document
        .secret
        .id_as_named
        .as_ref()
        .map_or("", |_| &document.secret.display_name);
    BTreeMap::from([
        // `deletion_scheduled` for the alerts of a deletion being scheduled: a filter policy
        // can route the two apart.
        ("kind", value(READ_ALERT_KIND)),
        ("secret", value(secret)),
        (
            "account",
            value(document.secret.account_id.as_deref().unwrap_or("")),
        ),
        (
            "region",
            value(document.secret.region.as_deref().unwrap_or("")),
        ),
        ("severity", value(document.severity.as_str())),
        ("restore_outcome", value(document.restore.outcome)),
        // confirmed, not_confirmed or not_checked: a filter policy can route what CloudTrail
        // did not confirm.
        ("verification", value(document.verification.status)),
        ("dedup_key", value(&document.dedup_key)),
        (
            "suppressed",
            MessageAttribute::number(
                usize::try_from(document.suppressed_since_last_alert).unwrap_or(usize::MAX),
            ),
        ),
        (
            "attempts",
            MessageAttribute::number(document.attempts_total),
        ),
    ])
}
