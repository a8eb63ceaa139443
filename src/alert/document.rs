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
use crate::cloudtrail::{AccessKeyKind, Attribution, Principal};
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::restore::{SecretState, Severity};
use crate::sanitize::clean_text;

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
    /// CloudTrail event ids of every attempt (the de-duplication key is built from them).
    pub event_ids: Vec<String>,
    pub log_group: String,
    pub next_steps: NextSteps,
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretDocument {
    /// `null` when the records do not name the secret.
    pub id_as_named: Option<String>,
    pub display_name: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub account_id: Option<String>,
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
        display_name: match target.display_name() {
            Some(name) => clean_text(name, MAX_SECRET_ID_CHARS),
            None => UNNAMED_SECRET.to_owned(),
        },
        arn: state.arn().map(|a| clean_text(a, MAX_SECRET_ID_CHARS)),
        name: state.name().map(|n| clean_text(n, MAX_SECRET_ID_CHARS)),
        account_id: target.account_id.as_deref().map(|a| clean_text(a, 32)),
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

pub(super) fn attempt_document(access: &PendingDeletionAccess) -> AttemptDocument {
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
    }
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
    fn string(value: String) -> Self {
        MessageAttribute {
            data_type: AttributeType::String,
            value,
        }
    }

    fn number(value: usize) -> Self {
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
        ("dedup_key", value(&document.dedup_key)),
        (
            "attempts",
            MessageAttribute::number(document.attempts_total),
        ),
    ])
}
