//! Who scheduled the deletion, and when: the `DeleteSecret` event in CloudTrail Event history,
//! read from its record. Pure: the adapter fetches the records
//! (`crate::ports::EventHistory`), this module picks the one for the secret and reads it.
//!
//! The record's shape moved over the years: `responseElements` names the secret `arn` (or
//! `aRN` before 2024) and gives `deletionDate` as epoch seconds, as RFC 3339, or as a human
//! date such as `May 3, 2018 5:51:02 PM`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::caller::CallerKey;
use crate::cloudtrail::CloudTrailRecord;
use crate::ids::{AccountId, EventId};

/// What the `DeleteSecret` event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDeletion {
    /// Who called `DeleteSecret`, as the console would name them.
    pub by: String,
    /// Their ARN (`userIdentity.arn`), what `INTENDED_DELETERS` is matched against.
    pub by_arn: Option<String>,
    /// When they called it, as CloudTrail wrote it.
    pub at: Option<String>,
    pub recovery_window_days: Option<u64>,
    pub force: bool,
    pub deletion_date: Option<SystemTime>,
    pub event_id: Option<String>,
}

impl ScheduledDeletion {
    /// "Deletion scheduled by IAM user alice on 2026-11-25T10:02:00Z with a 7-day recovery
    /// window; purge on 2026-12-02T10:02:00Z."
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Deletion scheduled by {} on {}",
            self.by,
            self.at.as_deref().unwrap_or("an unknown date")
        );
        if self.force {
            text.push_str(" without recovery");
        } else if let Some(days) = self.recovery_window_days {
            text.push_str(&format!(" with a {days}-day recovery window"));
        }
        if let Some(date) = self.deletion_date {
            text.push_str(&format!(
                "; purge on {}",
                humantime::format_rfc3339_seconds(date)
            ));
        }
        text.push('.');
        text
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeleteParameters {
    secret_id: Option<String>,
    recovery_window_in_days: Option<serde_json::Value>,
    force_delete_without_recovery: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct DeleteResponse {
    #[serde(alias = "aRN", alias = "ARN")]
    arn: Option<String>,
    name: Option<String>,
    #[serde(rename = "deletionDate")]
    deletion_date: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeleteFields {
    request_parameters: Option<DeleteParameters>,
    response_elements: Option<DeleteResponse>,
}

/// A successful `DeleteSecret` seen in a batch: a deletion being scheduled (or, forced, done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionSeen {
    /// The account and region that logged it: where the secret lives.
    pub account_id: Option<AccountId>,
    pub region: Option<String>,
    /// As the caller named the secret (`requestParameters.secretId`).
    pub secret_id: Option<String>,
    /// As Secrets Manager answered (`responseElements`): the secret's full ARN and name.
    pub arn: Option<String>,
    pub name: Option<String>,
    pub deletion: ScheduledDeletion,
    /// Who scheduled it, short: `bob@example.com`, `deploy-role`.
    pub deleter_name: String,
    /// Who scheduled it, as reads are counted against callers: their own reads are named so.
    pub deleter: CallerKey,
    pub event_id: Option<EventId>,
}

impl DeletionSeen {
    /// The secret as a person knows it: its name, else how the caller named it.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.secret_id.as_deref())
            .unwrap_or("(not named)")
    }
}

/// The `DeleteSecret` that `text` (the record `record` was read from) is, when it is one that
/// Secrets Manager carried out: from its own event source, with no error.
pub fn seen_in(record: &CloudTrailRecord, text: &str) -> Option<DeletionSeen> {
    if record.event_source.as_deref() != Some("secretsmanager.amazonaws.com")
        || record.event_name.as_deref() != Some("DeleteSecret")
        || record.error_code.is_some()
        || record.error_message.is_some()
    {
        return None;
    }
    // Fields of another type than AWS writes are left out, never the record: the deletion is
    // still seen, and confirmed or not by Event history.
    let fields: DeleteFields = serde_json::from_str(text).unwrap_or_default();
    let request = fields.request_parameters.unwrap_or_default();
    let response = fields.response_elements.unwrap_or_default();
    let who = record.attribution();
    Some(DeletionSeen {
        account_id: record
            .recipient_account_id
            .as_deref()
            .or(record.account_id())
            .map(AccountId::from),
        region: record.aws_region.clone(),
        secret_id: request.secret_id.clone(),
        arn: response.arn.clone(),
        name: response.name.clone(),
        deletion: ScheduledDeletion {
            by: who.principal.describe(),
            by_arn: who.arn().map(str::to_owned),
            at: record.event_time.clone(),
            recovery_window_days: request.recovery_window_in_days.as_ref().and_then(whole),
            force: is_forced(&request),
            deletion_date: response.deletion_date.as_ref().and_then(date),
            event_id: record.event_id.clone(),
        },
        deleter_name: who.principal.short_name().to_owned(),
        deleter: CallerKey::of(&who),
        event_id: record.event_id.as_deref().map(EventId::from),
    })
}

fn is_forced(request: &DeleteParameters) -> bool {
    request
        .force_delete_without_recovery
        .as_ref()
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"))
}

/// The latest `DeleteSecret` among `records` (JSON texts) that names exactly the secret `arn`
/// (named `name`): by its response's ARN, else by how the caller named it.
pub fn find(records: &[String], arn: &str, name: &str) -> Option<ScheduledDeletion> {
    records
        .iter()
        .filter_map(|text| read(text, arn, name))
        .max_by_key(|deletion| deletion.at.clone())
}

fn read(text: &str, arn: &str, name: &str) -> Option<ScheduledDeletion> {
    let record: CloudTrailRecord = serde_json::from_str(text).ok()?;
    if record.event_name.as_deref() != Some("DeleteSecret") || record.error_code.is_some() {
        return None;
    }
    let fields: DeleteFields = serde_json::from_str(text).ok()?;
    let request = fields.request_parameters.unwrap_or_default();
    let response = fields.response_elements.unwrap_or_default();
    if !names_exactly(&request, &response, arn, name) {
        return None;
    }
    Some(ScheduledDeletion {
        by: record.attribution().principal.describe(),
        by_arn: record.attribution().arn().map(str::to_owned),
        at: record.event_time.clone(),
        recovery_window_days: request.recovery_window_in_days.as_ref().and_then(whole),
        force: is_forced(&request),
        deletion_date: response.deletion_date.as_ref().and_then(date),
        event_id: record.event_id,
    })
}

/// Whether a `DeleteSecret` record is the deletion of exactly the secret `arn` (named `name`).
/// The response's ARN decides when the record has one; else the caller's `secretId` must be
/// exactly the name, the full ARN, or the ARN without its six-character suffix. Anything
/// looser lets whoever deletes a secret of their own (named `a`, a prefix of every ARN)
/// pass for the deleter of every secret in the account.
fn names_exactly(
    request: &DeleteParameters,
    response: &DeleteResponse,
    arn: &str,
    name: &str,
) -> bool {
    if let Some(deleted) = response.arn.as_deref() {
        return deleted == arn;
    }
    let partial_arn = arn
        .rsplit_once('-')
        .filter(|(base, suffix)| suffix.len() == 6 && base.ends_with(&format!(":{name}")))
        .map(|(base, _)| base);
    request
        .secret_id
        .as_deref()
        .is_some_and(|id| id == arn || id == name || Some(id) == partial_arn)
}

fn whole(value: &serde_json::Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Epoch seconds, RFC 3339, or `May 3, 2018 5:51:02 PM` (UTC).
pub fn date(value: &serde_json::Value) -> Option<SystemTime> {
    if let Some(seconds) = value.as_f64() {
        return (seconds >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(seconds));
    }
    let text = value.as_str()?.trim();
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Some(time);
    }
    human_date(text)
}

/// `May 3, 2018 5:51:02 PM`, or `Dec 2, 2026, 10:02:00 AM`.
fn human_date(text: &str) -> Option<SystemTime> {
    let cleaned = text.replace(',', " ");
    let parts: Vec<&str> = cleaned.split_whitespace().collect();
    let [month, day, year, clock, half] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = month.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| lower.starts_with(m))? + 1;
    let (day, year): (u32, i64) = (day.parse().ok()?, year.parse().ok()?);
    let mut clock = clock.split(':').map(|p| p.parse::<u32>().ok());
    let (hour, minute, second) = (
        clock.next()??,
        clock.next()??,
        clock.next().flatten().unwrap_or(0),
    );
    if !(1..=12).contains(&hour) || minute > 59 || second > 59 || !(1..=31).contains(&day) {
        return None;
    }
    let hour = match (half.to_ascii_uppercase().as_str(), hour) {
        ("AM", 12) => 0,
        ("AM", h) => h,
        ("PM", 12) => 12,
        ("PM", h) => h + 12,
        _ => return None,
    };
    let stamp = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
    humantime::parse_rfc3339(&stamp).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    fn delete_record(time: &str, response: serde_json::Value) -> String {
        serde_json::json!({
            "eventTime": time,
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "DeleteSecret",
            "eventID": format!("del-{time}"),
            "userIdentity": {"type": "IAMUser", "userName": "alice",
                             "arn": "arn:aws:iam::123456789012:user/alice"},
            "requestParameters": {"secretId": "prod/db", "recoveryWindowInDays": 7},
            "responseElements": response,
        })
        .to_string()
    }

    #[test]
    fn todays_record_says_who_when_and_the_purge_date() {
        let records = [delete_record(
            "2026-11-25T10:02:00Z",
            serde_json::json!({"arn": ARN, "name": "prod/db", "deletionDate": 1_796_205_720.0}),
        )];
        let deletion = find(&records, ARN, "prod/db").unwrap();
        assert_eq!(
            deletion.describe(),
            "Deletion scheduled by IAM user alice (arn:aws:iam::123456789012:user/alice) on \
             2026-11-25T10:02:00Z with a 7-day recovery window; purge on 2026-12-02T10:02:00Z."
        );
    }

    #[test]
    fn the_older_record_spells_arn_and_the_date_otherwise() {
        let records = [delete_record(
            "2018-04-26T17:51:02Z",
            serde_json::json!({"aRN": ARN, "name": "prod/db", "deletionDate": "May 3, 2018 5:51:02 PM"}),
        )];
        let deletion = find(&records, ARN, "prod/db").unwrap();
        assert_eq!(
            deletion.deletion_date,
            Some(humantime::parse_rfc3339("2018-05-03T17:51:02Z").unwrap())
        );
        assert_eq!(
            date(&serde_json::json!("Dec 2, 2026, 12:02:00 AM")),
            Some(humantime::parse_rfc3339("2026-12-02T00:02:00Z").unwrap())
        );
        assert_eq!(date(&serde_json::json!("not a date")), None);
    }

    #[test]
    fn the_latest_deletion_of_this_secret_is_the_one() {
        let mut other = delete_record(
            "2026-11-26T09:00:00Z",
            serde_json::json!({"arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ"}),
        );
        other = other.replace("\"secretId\":\"prod/db\"", "\"secretId\":\"other\"");
        let records = [
            delete_record("2026-11-01T10:00:00Z", serde_json::json!({"arn": ARN})),
            delete_record("2026-11-25T10:02:00Z", serde_json::json!({"arn": ARN})),
            other,
        ];
        let deletion = find(&records, ARN, "prod/db").unwrap();
        assert_eq!(deletion.at.as_deref(), Some("2026-11-25T10:02:00Z"));
        assert_eq!(find(&records[2..], ARN, "prod/db"), None);
    }

    /// A record without a response, named only by what the caller passed.
    fn deletion_named(secret_id: &str) -> String {
        delete_record("2026-11-26T09:00:00Z", serde_json::Value::Null).replace(
            "\"secretId\":\"prod/db\"",
            &format!("\"secretId\":\"{secret_id}\""),
        )
    }

    #[test]
    fn a_decoy_deletion_of_a_prefix_of_the_arn_is_not_this_secrets_deletion() {
        for decoy in [
            "a",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/d",
            "prod/db-AbC",
        ] {
            assert_eq!(
                find(&[deletion_named(decoy)], ARN, "prod/db"),
                None,
                "{decoy}"
            );
        }
    }

    #[test]
    fn a_deletion_named_by_name_full_arn_or_partial_arn_is_this_secrets() {
        for exact in [
            "prod/db",
            ARN,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
        ] {
            assert!(
                find(&[deletion_named(exact)], ARN, "prod/db").is_some(),
                "{exact}"
            );
        }
    }

    #[test]
    fn the_responses_arn_decides_over_how_the_caller_named_it() {
        let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-XyZ123";
        let records = [delete_record(
            "2026-11-25T10:02:00Z",
            serde_json::json!({"arn": other}),
        )];
        assert_eq!(find(&records, ARN, "prod/db"), None);
    }
}
