//! From the findings of one secret to an [`Alert`]: an email subject, a text a person acts on,
//! a JSON document for machines, and SNS message attributes. Pure.
//!
//! Every string a caller controls (user agent, secret id, session and user names, even source
//! "IP" and error text) is cleaned ([`crate::sanitize`]) and length-capped before it reaches the
//! subject, the text or the document, so no input can forge lines, reorder text, or grow the
//! message past SNS's 256 KB limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cloudtrail::{AccessKeyKind, Attribution, Principal};
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::region::RegionName;
use crate::restore::{RestoreOutcome, RestorePolicy, SecretState, Severity};
use crate::sanitize::{clean_ascii, clean_text, shell_quote};

/// SNS takes at most 262,144 bytes of message and attributes; stay clear of it.
pub const MAX_SNS_BYTES: usize = 250_000;
/// SNS: "must be less than 100 characters".
pub const MAX_SUBJECT_CHARS: usize = 99;
pub const SCHEMA: &str = "secret-deletion-alerts/alert/v1";
/// What a person reads for a secret the record does not name (never used in a command).
pub const UNNAMED_SECRET: &str = "(not named in the record)";

const MAX_SECRET_ID_CHARS: usize = 512;
const MAX_USER_AGENT_CHARS: usize = 256;
const MAX_NAME_CHARS: usize = 128;
const MAX_FIELD_CHARS: usize = 256;
const MAX_ERROR_CHARS: usize = 512;
/// Distinct identities for which the alert spells out the investigation queries.
const MAX_INVESTIGATIONS: usize = 3;

/// Everything composition needs besides the findings.
#[derive(Debug, Clone)]
pub struct AlertContext<'a> {
    pub log_group: &'a str,
    pub athena_table: &'a str,
    pub restore_policy: &'a RestorePolicy,
    pub max_listed_attempts: usize,
    pub now: SystemTime,
}

/// One message for SNS.
#[derive(Debug, Clone)]
pub struct Alert {
    pub subject: String,
    pub text: String,
    pub document: AlertDocument,
    /// SNS message attributes, for subscription filter policies.
    pub attributes: BTreeMap<&'static str, String>,
    /// The `Publish` message, built once with the alert.
    sns_message: String,
}

impl Alert {
    pub fn dedup_key(&self) -> &str {
        &self.document.dedup_key
    }

    pub fn document_json(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_else(|e| {
            // Only maps with non-string keys fail to serialise; the document has none.
            format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"{e}\"}}")
        })
    }

    /// The message for `Publish` with `MessageStructure=json`: email subscribers get the
    /// text, every other protocol (SQS, Lambda, HTTPS) the JSON document.
    pub fn sns_message(&self) -> &str {
        &self.sns_message
    }

    /// What SNS counts against its size limit: message plus attribute names and values.
    pub fn sns_size(&self) -> usize {
        self.sns_message().len()
            + self
                .attributes
                .iter()
                .map(|(k, v)| k.len() + v.len() + "String".len())
                .sum::<usize>()
    }

    /// The event ids this alert covers, for error messages and logs.
    pub fn event_ids(&self) -> String {
        event_id_list(self.document.event_ids.iter().map(String::as_str))
    }
}

/// Event ids for an error message or a log line: the first ten, then how many more.
pub fn event_id_list<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = ids.len();
    let mut text = ids.take(10).collect::<Vec<_>>().join(",");
    if total > 10 {
        text.push_str(&format!(" and {} more", total - 10));
    }
    text
}

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

/// Composes the alert for the findings of one secret (`attempts` all name the same target;
/// an empty slice yields an alert with no attempts, which the handler never asks for).
pub fn compose(
    attempts: &[PendingDeletionAccess],
    state: &SecretState,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> Alert {
    let mut ordered: Vec<&PendingDeletionAccess> = attempts.iter().collect();
    ordered.sort_by_key(|a| time_key(a));
    let mut listed = context
        .max_listed_attempts
        .clamp(1, usize::MAX)
        .min(ordered.len());
    loop {
        let alert = compose_listing(&ordered, listed, state, outcome, context);
        // However many attempts a batch holds, the message stays under SNS's limit: list
        // fewer and count the rest.
        if listed <= 1 || alert.sns_size() <= MAX_SNS_BYTES {
            return alert;
        }
        listed /= 2;
    }
}

fn compose_listing(
    ordered: &[&PendingDeletionAccess],
    listed: usize,
    state: &SecretState,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> Alert {
    let target = ordered
        .first()
        .map(|a| a.target.clone())
        .unwrap_or_else(|| SecretTarget {
            account_id: None,
            region: None,
            secret_id: None,
        });
    let severity = Severity::of(state, context.now);
    let event_ids: Vec<String> = ordered
        .iter()
        .map(|a| clean_text(a.event_id.as_deref().unwrap_or(&a.log_event_id), 64))
        .collect();
    let dedup_key = dedup_key(&target, &event_ids);
    let attempts: Vec<AttemptDocument> = ordered
        .iter()
        .take(listed)
        .map(|a| attempt_document(a))
        .collect();
    let secret = secret_document(&target, state, context.now);
    let restore = RestoreDocument {
        policy: context.restore_policy.name(),
        outcome: outcome.kind(),
        summary: clean_text(&outcome.summary(), MAX_ERROR_CHARS),
    };
    let investigate = investigations(ordered, &target, context);
    let next_steps = NextSteps {
        restore_command: restore_command(&secret),
        find_the_secret: find_the_secret(ordered, &target),
        investigate,
    };
    let subject = subject(severity, &secret, &attempts, ordered.len(), outcome);
    let mut document = AlertDocument {
        schema: SCHEMA,
        dedup_key,
        severity,
        subject: subject.clone(),
        secret,
        restore,
        attempts_total: ordered.len(),
        attempts_listed: attempts.len(),
        first_seen: ordered
            .first()
            .and_then(|a| a.event_time.as_deref())
            .map(|t| clean_text(t, 64)),
        last_seen: ordered
            .last()
            .and_then(|a| a.event_time.as_deref())
            .map(|t| clean_text(t, 64)),
        attempts,
        event_ids,
        log_group: clean_text(context.log_group, 512),
        next_steps,
    };
    // The full id list is for machines; past the listing cap it would dominate the message.
    if document.event_ids.len() > listed.max(1) * 4 {
        document.event_ids.truncate(listed.max(1) * 4);
    }
    let text = email_text(&document, outcome, context);
    let attributes = attributes(&document);
    let mut alert = Alert {
        subject,
        text,
        document,
        attributes,
        sns_message: String::new(),
    };
    alert.sns_message =
        serde_json::json!({ "default": alert.document_json(), "email": alert.text }).to_string();
    alert
}

/// Orders attempts by `eventTime` when it parses, else by the log event's timestamp.
fn time_key(access: &PendingDeletionAccess) -> (i128, String) {
    let parsed = access
        .event_time
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i128,
            Err(e) => -(e.duration().as_millis() as i128),
        });
    let millis = parsed
        .or(access.log_timestamp_ms.map(i128::from))
        .unwrap_or(i128::MAX);
    (millis, access.log_event_id.clone())
}

/// Stable across retries of the same batch: the same secret and the same CloudTrail events
/// give the same key, whichever invocation publishes it.
fn dedup_key(target: &SecretTarget, event_ids: &[String]) -> String {
    let mut sorted: Vec<&str> = event_ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut hasher = Sha256::new();
    for part in [
        target.account_id.as_deref().unwrap_or(""),
        target.region.as_deref().unwrap_or(""),
        target.secret_id.as_deref().unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for id in sorted {
        hasher.update(id.as_bytes());
        hasher.update([b'\n']);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn secret_document(target: &SecretTarget, state: &SecretState, now: SystemTime) -> SecretDocument {
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

fn attempt_document(access: &PendingDeletionAccess) -> AttemptDocument {
    let field = |value: &Option<String>| value.as_deref().map(|v| clean_text(v, MAX_FIELD_CHARS));
    AttemptDocument {
        event_time: field(&access.event_time),
        event_id: field(&access.event_id),
        request_id: field(&access.request_id),
        log_event_id: clean_text(&access.log_event_id, 64),
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

/// `HIGH: pending-deletion secret prod/db read by alice; not restored (123456789012, us-east-1)`:
/// printable ASCII, one line, under 100 characters. Secret, caller and outcome always fit;
/// account and region follow when there is room (mail clients cut long subjects at the end).
fn subject(
    severity: Severity,
    secret: &SecretDocument,
    listed: &[AttemptDocument],
    total: usize,
    outcome: &RestoreOutcome,
) -> String {
    let who = listed
        .first()
        .map(|a| a.identity.name.as_str())
        .unwrap_or("unknown caller");
    let outcome = match outcome {
        RestoreOutcome::Restored => "restored",
        RestoreOutcome::Failed(_) => "restore failed",
        RestoreOutcome::NotRestored(_) => "not restored",
        RestoreOutcome::NoLongerPending => "no longer pending",
        RestoreOutcome::AlreadyPurged => "already purged",
        RestoreOutcome::DryRun(_) => "dry run",
    };
    let more = if total > 1 {
        format!(" (x{total})")
    } else {
        String::new()
    };
    let secret_name = match secret.id_as_named {
        Some(_) => clean_ascii(&secret.display_name, usize::MAX),
        None => "(unnamed)".to_owned(),
    };
    let who = clean_ascii(who, usize::MAX);
    // The long wording when everything fits; the short one before cutting names.
    let severity = severity.as_str().to_uppercase();
    let heads = [
        format!("{severity}: pending-deletion secret "),
        format!("{severity}: secret "),
    ];
    let fixed =
        |head: &str| head.len() + " read by ".len() + more.len() + "; ".len() + outcome.len();
    let head = heads
        .iter()
        .find(|head| fixed(head) + secret_name.len() + who.len() <= MAX_SUBJECT_CHARS)
        .unwrap_or(&heads[1]);
    let room = MAX_SUBJECT_CHARS.saturating_sub(fixed(head));
    let who_room = (room * 2 / 5).max(room.saturating_sub(secret_name.len()));
    let who = clean_ascii(&who, who_room);
    let secret_name = clean_ascii(&secret_name, room.saturating_sub(who.len()));
    let mut subject = format!("{head}{secret_name} read by {who}{more}; {outcome}");
    let account = clean_ascii(secret.account_id.as_deref().unwrap_or("?"), 12);
    let region = clean_ascii(secret.region.as_deref().unwrap_or("?"), 16);
    for place in [format!(" ({account}, {region})"), format!(" ({region})")] {
        if subject.len() + place.len() <= MAX_SUBJECT_CHARS {
            subject.push_str(&place);
            break;
        }
    }
    clean_ascii(&subject, MAX_SUBJECT_CHARS)
}

/// The command that cancels the deletion, for a secret the record names; none otherwise (a
/// command never carries a placeholder).
fn restore_command(secret: &SecretDocument) -> Option<String> {
    let id = secret.arn.as_deref().or(secret.id_as_named.as_deref())?;
    let mut command = format!(
        "aws secretsmanager restore-secret --secret-id {}",
        shell_quote(id)
    );
    if let Some(region) = secret.region.as_deref().and_then(RegionName::parse) {
        command.push_str(&format!(" --region {region}"));
    }
    Some(command)
}

/// For reads whose records name no secret: the Event history searches that find the same
/// calls (by event id, and by the caller's access key).
fn find_the_secret(ordered: &[&PendingDeletionAccess], target: &SecretTarget) -> Vec<String> {
    if target.secret_id.is_some() {
        return Vec::new();
    }
    let region = target
        .region
        .as_deref()
        .and_then(RegionName::parse)
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    let lookup = |key: &str, value: &str| {
        format!(
            "aws cloudtrail lookup-events --lookup-attributes {}{region}",
            shell_quote(&format!("AttributeKey={key},AttributeValue={value}"))
        )
    };
    let mut commands: Vec<String> = Vec::new();
    let mut add = |command: String| {
        if !commands.contains(&command) && commands.len() < MAX_INVESTIGATIONS * 2 {
            commands.push(command);
        }
    };
    for access in ordered.iter().take(MAX_INVESTIGATIONS) {
        if let Some(id) = access.event_id.as_deref() {
            add(lookup("EventId", &clean_text(id, 64)));
        }
    }
    for access in ordered {
        if let Some(key) = access.who.access_key_id.as_deref() {
            add(lookup("AccessKeyId", &clean_text(key, 64)));
        }
    }
    commands
}

fn investigations(
    ordered: &[&PendingDeletionAccess],
    target: &SecretTarget,
    context: &AlertContext<'_>,
) -> Vec<Investigation> {
    let mut seen: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for access in ordered {
        let who = &access.who;
        let key = who
            .access_key_id
            .clone()
            .or_else(|| principal_arn(&who.principal));
        let Some(key) = key else { continue };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        found.push(investigation(who, target, context));
        if found.len() == MAX_INVESTIGATIONS {
            break;
        }
    }
    found
}

fn principal_arn(principal: &Principal) -> Option<String> {
    match principal {
        Principal::IamUser { arn, .. }
        | Principal::AssumedRole { arn, .. }
        | Principal::FederatedUser { arn, .. }
        | Principal::Root { arn }
        | Principal::Other { arn, .. } => arn.clone(),
        _ => None,
    }
}

fn investigation(
    who: &Attribution,
    target: &SecretTarget,
    context: &AlertContext<'_>,
) -> Investigation {
    let region = target.region.as_deref().filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let access_key = who
        .access_key_id
        .as_deref()
        .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    let (identity, insights_filter, athena_filter, console_filter) = match access_key {
        Some(key) => (
            format!("access key {key}"),
            format!("userIdentity.accessKeyId = \"{key}\""),
            format!("useridentity.accesskeyid = '{key}'"),
            Some(format!("AccessKeyId={key}")),
        ),
        None => {
            let arn = principal_arn(&who.principal).unwrap_or_default();
            let arn = clean_text(&arn, MAX_FIELD_CHARS);
            let user_name = match &who.principal {
                Principal::IamUser {
                    user_name: Some(name),
                    ..
                } if name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)) =>
                {
                    Some(format!("Username={name}"))
                }
                _ => None,
            };
            (
                format!("identity {arn}"),
                format!(
                    "userIdentity.arn = \"{}\"",
                    arn.replace('\\', "\\\\").replace('"', "\\\"")
                ),
                format!("useridentity.arn = '{}'", arn.replace('\'', "''")),
                user_name,
            )
        }
    };
    let cloudtrail_event_history_url = match (region, console_filter) {
        (Some(region), Some(filter)) => Some(format!(
            "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events?{filter}"
        )),
        _ => None,
    };
    Investigation {
        identity,
        cloudtrail_event_history_url,
        logs_insights_query: format!(
            "fields @timestamp, eventSource, eventName, errorCode, sourceIPAddress, userAgent\n| filter {insights_filter}\n| sort @timestamp desc\n| limit 500"
        ),
        athena_sql: format!(
            "SELECT eventtime, eventsource, eventname, errorcode, sourceipaddress, useragent\nFROM {}\nWHERE {athena_filter}\nORDER BY eventtime DESC\nLIMIT 500;",
            context.athena_table
        ),
    }
}

fn email_text(
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> String {
    let mut text = String::with_capacity(4096);
    match write_email(&mut text, document, outcome, context) {
        Ok(()) => text,
        // Writing to a String cannot fail; if it ever did, the document still carries it all.
        Err(std::fmt::Error) => format!("{}\n(the text could not be written)", document.subject),
    }
}

fn write_email(
    text: &mut String,
    document: &AlertDocument,
    outcome: &RestoreOutcome,
    context: &AlertContext<'_>,
) -> std::fmt::Result {
    let secret = &document.secret;
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_owned());
    let times = match document.attempts_total {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    };
    writeln!(
        text,
        "A secret that is scheduled for deletion was read {times}.\n\n\
         Something still uses this secret. Secrets Manager refused the reads because the secret is\n\
         pending deletion; once the recovery window ends the secret is gone for good and whatever\n\
         reads it breaks. Decide now whether the deletion is a mistake.\n"
    )?;
    writeln!(
        text,
        "Severity:       {}",
        document.severity.as_str().to_uppercase()
    )?;
    writeln!(text, "Secret:         {}", secret.display_name)?;
    if let Some(named) = &secret.id_as_named
        && *named != secret.display_name
    {
        writeln!(text, "Named as:       {named}")?;
    }
    if let Some(arn) = &secret.arn {
        writeln!(text, "ARN:            {arn}")?;
    }
    writeln!(text, "Account:        {}", or_unknown(&secret.account_id))?;
    writeln!(text, "Region:         {}", or_unknown(&secret.region))?;
    writeln!(text, "State:          {}", secret.state_detail)?;
    writeln!(text, "Deletion:       {}", document.restore.summary)?;
    if let (Some(first), Some(last)) = (&document.first_seen, &document.last_seen) {
        if first == last {
            writeln!(text, "When:           {first}")?;
        } else {
            writeln!(text, "When:           {first} to {last}")?;
        }
    }
    writeln!(text)?;
    writeln!(text, "Attempts ({}):", document.attempts_total)?;
    for (number, attempt) in document.attempts.iter().enumerate() {
        let identity = &attempt.identity;
        writeln!(
            text,
            "{:>3}. {}  {}",
            number + 1,
            or_unknown(&attempt.event_time),
            identity.description
        )?;
        if let Some(key) = &identity.access_key_id {
            let kind = identity
                .access_key_kind
                .map_or("unrecognised kind", AccessKeyKind::describe);
            let mfa = match identity.mfa_authenticated {
                Some(true) => ", MFA: yes",
                Some(false) => ", MFA: no",
                None => "",
            };
            writeln!(text, "     access key {key} ({kind}){mfa}")?;
        }
        if let Some(service) = &identity.invoked_by {
            writeln!(text, "     invoked by {service}")?;
        }
        writeln!(text, "     from {}", or_unknown(&attempt.source_ip_address))?;
        if let Some(endpoint) = &attempt.vpc_endpoint_id {
            writeln!(text, "     through VPC endpoint {endpoint}")?;
        }
        writeln!(text, "     user agent {}", or_unknown(&attempt.user_agent))?;
        writeln!(
            text,
            "     event id {}, request id {}",
            or_unknown(&attempt.event_id),
            or_unknown(&attempt.request_id)
        )?;
    }
    let unlisted = document.attempts_total - document.attempts_listed;
    if unlisted > 0 {
        writeln!(
            text,
            "     ... and {unlisted} more attempt{} not listed here.",
            if unlisted == 1 { "" } else { "s" }
        )?;
    }
    writeln!(text)?;
    writeln!(text, "What to do next")?;
    let mut step = 0;
    let mut next = || {
        step += 1;
        step
    };
    writeln!(
        text,
        "{}. Find the reader: the identity, address and user agent above name the application,\n   \
         host or person that still uses the secret. Point it at the replacement secret, or keep this one.",
        next()
    )?;
    if !document.next_steps.find_the_secret.is_empty() {
        writeln!(
            text,
            "{}. Find which secret was read. CloudTrail recorded these reads without naming the secret\n   \
             (no requestParameters.secretId, no secret in resources[]), so it was not looked up and\n   \
             nothing was restored. Search CloudTrail for the same calls, by event id or by the caller's key:",
            next()
        )?;
        for command in &document.next_steps.find_the_secret {
            writeln!(text, "   {command}")?;
        }
    }
    match (outcome, &document.next_steps.restore_command) {
        (RestoreOutcome::Restored, _) => writeln!(
            text,
            "{}. The deletion was cancelled for you (restore policy: {}). If the deletion was\n   \
             intended, fix the reader first, then schedule it again with\n   \
             aws secretsmanager delete-secret --secret-id {} --recovery-window-in-days 7",
            next(),
            context.restore_policy.name(),
            shell_quote(
                secret
                    .arn
                    .as_deref()
                    .or(secret.id_as_named.as_deref())
                    .unwrap_or_default()
            )
        )?,
        (RestoreOutcome::NoLongerPending, _) => writeln!(
            text,
            "{}. The secret is no longer scheduled for deletion: the deletion was cancelled after these\n   \
             reads, by an earlier try of this function or by someone else. If that was not you, see\n   \
             who called RestoreSecret in CloudTrail. Fix the reader before scheduling the deletion again.",
            next()
        )?,
        (RestoreOutcome::AlreadyPurged, _) => writeln!(
            text,
            "{}. The secret is already purged and cannot be restored. Create a new secret for the\n   \
             reader, or retire the reader.",
            next()
        )?,
        (_, Some(command)) => writeln!(
            text,
            "{}. If the secret is still needed, cancel the deletion before it completes:\n   {command}",
            next()
        )?,
        (_, None) => {}
    }
    for investigation in &document.next_steps.investigate {
        writeln!(
            text,
            "{}. See everything else {} did:",
            next(),
            investigation.identity
        )?;
        if let Some(url) = &investigation.cloudtrail_event_history_url {
            writeln!(
                text,
                "   CloudTrail Event history (last 90 days):\n   {url}"
            )?;
        }
        writeln!(
            text,
            "   CloudWatch Logs Insights on log group {}:\n{}",
            document.log_group,
            indent(&investigation.logs_insights_query, "     ")
        )?;
        writeln!(
            text,
            "   Athena, over your CloudTrail table:\n{}",
            indent(&investigation.athena_sql, "     ")
        )?;
    }
    writeln!(text)?;
    writeln!(
        text,
        "Alert {} (de-duplication key; a retried delivery repeats it). Sent by secret-deletion-alerts.",
        document.dedup_key
    )
}

fn attributes(document: &AlertDocument) -> BTreeMap<&'static str, String> {
    let value = |v: &str| {
        let cleaned = clean_text(v, MAX_FIELD_CHARS);
        if cleaned.is_empty() {
            "unknown".to_owned()
        } else {
            cleaned
        }
    };
    BTreeMap::from([
        (
            "secret",
            value(
                document
                    .secret
                    .id_as_named
                    .as_ref()
                    .map_or("", |_| &document.secret.display_name),
            ),
        ),
        (
            "account",
            value(document.secret.account_id.as_deref().unwrap_or("")),
        ),
        (
            "region",
            value(document.secret.region.as_deref().unwrap_or("")),
        ),
        ("severity", document.severity.as_str().to_owned()),
        ("restore_outcome", document.restore.outcome.to_owned()),
        ("dedup_key", document.dedup_key.clone()),
        ("attempts", document.attempts_total.to_string()),
    ])
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::time::Duration;

    use super::*;
    use crate::cloudtrail::CloudTrailRecord;
    use crate::detection::detect;
    use crate::restore::NotRestoredReason;

    const NOW: u64 = 1_800_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn access(event_id: &str, user_agent: &str, secret_id: &str) -> PendingDeletionAccess {
        let record: CloudTrailRecord = serde_json::from_value(serde_json::json!({
            "eventTime": "2026-11-20T14:03:12Z",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "GetSecretValue",
            "awsRegion": "us-east-1",
            "recipientAccountId": "123456789012",
            "sourceIPAddress": "203.0.113.10",
            "userAgent": user_agent,
            "errorCode": "InvalidRequestException",
            "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
            "requestParameters": {"secretId": secret_id},
            "eventID": event_id,
            "requestID": "req-1",
            "userIdentity": {"type": "IAMUser", "userName": "alice",
                             "arn": "arn:aws:iam::123456789012:user/alice",
                             "accessKeyId": "AKIAEXAMPLE"}
        }))
        .unwrap();
        detect(&record).unwrap()
    }

    fn pending(hours: u64) -> SecretState {
        SecretState::PendingDeletion {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
            name: "prod/db".into(),
            deletion_date: now() + Duration::from_secs(hours * 3600),
            tags: vec![],
        }
    }

    fn context(policy: &RestorePolicy, max_listed_attempts: usize) -> AlertContext<'_> {
        AlertContext {
            log_group: "aws-cloudtrail-logs",
            athena_table: "cloudtrail_logs",
            restore_policy: policy,
            max_listed_attempts,
            now: now(),
        }
    }

    fn compose_with(attempts: &[PendingDeletionAccess], state: &SecretState, max: usize) -> Alert {
        compose(
            attempts,
            state,
            &RestoreOutcome::NotRestored(NotRestoredReason::PolicyOff),
            &context(&RestorePolicy::Off, max),
        )
    }

    fn assert_valid_subject(subject: &str) {
        assert!(subject.len() < 100, "{} chars: {subject}", subject.len());
        assert!(
            subject.bytes().all(|b| b == b' ' || b.is_ascii_graphic()),
            "{subject:?}"
        );
        assert!(subject.as_bytes()[0].is_ascii_alphanumeric());
    }

    #[test]
    fn subject_names_secret_caller_outcome_account_and_region() {
        let alert = compose_with(
            &[access("e1", "aws-cli/2", "prod/db")],
            &pending(24 * 6),
            50,
        );
        assert_eq!(
            alert.subject,
            "HIGH: pending-deletion secret prod/db read by alice; not restored (123456789012, us-east-1)"
        );
        assert_valid_subject(&alert.subject);
    }

    #[test]
    fn subject_obeys_sns_rules_whatever_the_input() {
        let hostile = "prod/\r\nBcc: victim@example.com\u{202E}\u{1b}[31m".repeat(40);
        let alert = compose_with(&[access("e1", "ua", &hostile)], &pending(1), 50);
        assert_valid_subject(&alert.subject);
        assert!(alert.subject.starts_with("CRITICAL: secret prod/??Bcc:"));
        assert!(alert.subject.contains(" read by alice; not restored"));
    }

    #[test]
    fn hostile_user_agent_cannot_forge_lines_in_the_text_or_break_the_json() {
        let agent = format!("evil\n\nSeverity: LOW\r\n\u{202E}{}", "A".repeat(10_000));
        let alert = compose_with(&[access("e1", &agent, "prod/db")], &pending(100), 50);
        let line = alert
            .text
            .lines()
            .find(|l| l.contains("user agent"))
            .unwrap();
        assert!(line.starts_with(
            "     user agent evil\u{FFFD}\u{FFFD}Severity: LOW\u{FFFD}\u{FFFD}\u{FFFD}AAAA"
        ));
        assert!(line.ends_with('…'));
        assert!(line.chars().count() < 300);
        assert!(!alert.text.lines().any(|l| l.starts_with("Severity: LOW")));
        let document: serde_json::Value = serde_json::from_str(&alert.document_json()).unwrap();
        let agent_out = document["attempts"][0]["user_agent"].as_str().unwrap();
        assert_eq!(agent_out.chars().count(), 256);
    }

    #[test]
    fn many_attempts_make_one_alert_with_count_first_and_last() {
        let mut attempts: Vec<PendingDeletionAccess> = (0..5)
            .map(|i| {
                let mut a = access(&format!("e{i}"), "ua", "prod/db");
                a.event_time = Some(format!("2026-11-20T14:0{}:00Z", 5 - i));
                a
            })
            .collect();
        attempts[4].event_time = Some("odd time".into());
        attempts[4].log_timestamp_ms = Some(0);
        let alert = compose_with(&attempts, &pending(100), 3);
        let d = &alert.document;
        assert_eq!(d.attempts_total, 5);
        assert_eq!(d.attempts_listed, 3);
        // Unparseable times fall back to the log timestamp (0: first).
        assert_eq!(d.first_seen.as_deref(), Some("odd time"));
        assert_eq!(d.last_seen.as_deref(), Some("2026-11-20T14:05:00Z"));
        assert!(
            alert
                .text
                .contains("... and 2 more attempts not listed here.")
        );
        assert!(alert.subject.contains("(x5)"));
        assert_eq!(d.event_ids.len(), 5);
    }

    #[test]
    fn dedup_key_depends_on_secret_and_events_not_order() {
        let a = access("e1", "ua", "prod/db");
        let b = access("e2", "ua", "prod/db");
        let key = |attempts: &[PendingDeletionAccess]| {
            compose_with(attempts, &pending(100), 50)
                .dedup_key()
                .to_owned()
        };
        assert_eq!(key(&[a.clone(), b.clone()]), key(&[b.clone(), a.clone()]));
        assert_ne!(key(std::slice::from_ref(&a)), key(&[a.clone(), b]));
        assert_ne!(key(&[a]), key(&[access("e1", "ua", "prod/other")]));
    }

    #[test]
    fn message_stays_under_the_sns_limit_however_many_attempts() {
        let agent = "U".repeat(5_000);
        let attempts: Vec<PendingDeletionAccess> = (0..10_000)
            .map(|i| access(&format!("{i:036}"), &agent, "prod/db"))
            .collect();
        let alert = compose_with(&attempts, &pending(100), 500);
        assert!(alert.sns_size() <= MAX_SNS_BYTES, "{}", alert.sns_size());
        assert_eq!(alert.document.attempts_total, 10_000);
        assert!(alert.document.attempts_listed < 500);
        let message: serde_json::Value = serde_json::from_str(alert.sns_message()).unwrap();
        assert!(message["default"].is_string() && message["email"].is_string());
    }

    #[test]
    fn text_says_what_to_do_next() {
        let alert = compose_with(
            &[access("e1", "aws-cli/2", "prod/db")],
            &pending(24 * 6 + 3),
            50,
        );
        let text = &alert.text;
        for expected in [
            "Secret:         prod/db",
            "ARN:            arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
            "State:          scheduled for deletion on 2027-01-21T11:00:00Z (in 6 days 3 hours)",
            "Deletion:       not restored (policy: off)",
            "IAM user alice (arn:aws:iam::123456789012:user/alice)",
            "access key AKIAEXAMPLE (long-term)",
            "aws secretsmanager restore-secret --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf --region us-east-1",
            "https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events?AccessKeyId=AKIAEXAMPLE",
            "| filter userIdentity.accessKeyId = \"AKIAEXAMPLE\"",
            "WHERE useridentity.accesskeyid = 'AKIAEXAMPLE'",
            "CloudWatch Logs Insights on log group aws-cloudtrail-logs",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert_eq!(alert.attributes["secret"], "prod/db");
        assert_eq!(alert.attributes["account"], "123456789012");
        assert_eq!(alert.attributes["region"], "us-east-1");
        assert_eq!(alert.attributes["dedup_key"], alert.dedup_key());
    }

    fn unnamed(event_id: &str) -> PendingDeletionAccess {
        let mut read = access(event_id, "aws-sdk-go/1.44", "prod/db");
        read.target.secret_id = None;
        read
    }

    #[test]
    fn an_unnamed_secret_says_so_and_no_command_holds_a_placeholder() {
        let alert = compose(
            &[unnamed("ev-1")],
            &SecretState::NotNamed,
            &RestoreOutcome::NotRestored(NotRestoredReason::SecretNotNamed),
            &context(&RestorePolicy::All, 50),
        );
        let d = &alert.document;
        assert_eq!(d.secret.id_as_named, None);
        assert_eq!(d.secret.state, "not_named");
        assert_eq!(d.next_steps.restore_command, None);
        assert_eq!(
            d.next_steps.find_the_secret,
            [
                "aws cloudtrail lookup-events --lookup-attributes 'AttributeKey=EventId,AttributeValue=ev-1' --region us-east-1",
                "aws cloudtrail lookup-events --lookup-attributes 'AttributeKey=AccessKeyId,AttributeValue=AKIAEXAMPLE' --region us-east-1",
            ]
        );
        assert_eq!(alert.attributes["secret"], "unknown");
        assert!(
            alert.subject.contains("secret (unnamed) read by alice"),
            "{}",
            alert.subject
        );
        assert!(!alert.text.contains("restore-secret"), "{}", alert.text);
        assert!(
            alert.text.contains("Find which secret was read"),
            "{}",
            alert.text
        );
        assert!(
            alert.text.contains(
                "State:          unknown: the CloudTrail record does not name the secret"
            ),
            "{}",
            alert.text
        );
        // No placeholder anywhere a person could paste from.
        for line in alert.text.lines().filter(|l| l.contains("aws ")) {
            assert!(!line.contains(UNNAMED_SECRET), "{line}");
        }
        assert_eq!(Severity::of(&SecretState::NotNamed, now()), Severity::High);
    }

    #[test]
    fn a_secret_restored_before_this_alert_says_no_longer_pending() {
        let state = SecretState::NotPendingDeletion {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
            name: "prod/db".into(),
            tags: vec![],
        };
        let alert_retry = compose(
            &[access("e1", "ua", "prod/db")],
            &state,
            &RestoreOutcome::NoLongerPending,
            &context(&RestorePolicy::All, 50),
        );
        assert_eq!(alert_retry.document.restore.outcome, "no_longer_pending");
        assert_eq!(
            alert_retry.attributes["restore_outcome"],
            "no_longer_pending"
        );
        assert_eq!(alert_retry.document.severity, Severity::High);
        assert!(
            alert_retry.subject.contains("; no longer pending"),
            "{}",
            alert_retry.subject
        );
        assert!(
            alert_retry
                .text
                .contains("the deletion was cancelled after these\n   reads"),
            "{}",
            alert_retry.text
        );
    }
}
