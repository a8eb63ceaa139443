//! Who scheduled a key's deletion: the `ScheduleKeyDeletion` record of exactly this key, as
//! the KMS Developer Guide shows it ("ScheduleKeyDeletion" in "Logging AWS KMS API calls with
//! AWS CloudTrail"): `resources[]` and `responseElements.keyId` hold the key's ARN,
//! `requestParameters` what the caller passed and `pendingWindowInDays`. Pure.
//!
//! Only AWS's fields decide which key it is: the ARN in `resources[]` or the response, else a
//! `keyId` passed as the key's very id or ARN. An alias passed is never enough (an alias can
//! be pointed at another key), so whoever schedules the deletion of a key of their own cannot
//! pass for the one who scheduled this one.

use serde::Deserialize;

use crate::cloudtrail::{Attribution, CloudTrailRecord, arn_parts};
use crate::key_use::{KEY_RESOURCE_TYPE, KMS_EVENT_SOURCE, KeyNamed, key_arn};

/// A successful `ScheduleKeyDeletion` of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDeletionSeen {
    /// Who, in words: `IAM user alice (arn:...)`.
    pub by: String,
    /// Who, short (a subject line's): `alice`, `deploy-role`.
    pub by_name: String,
    pub by_arn: Option<String>,
    /// When, as CloudTrail wrote it.
    pub at: Option<String>,
    pub pending_window_days: Option<u64>,
    pub event_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScheduleFields {
    request_parameters: Option<ScheduleRequest>,
    response_elements: Option<ScheduleResponse>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScheduleRequest {
    key_id: Option<serde_json::Value>,
    pending_window_in_days: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ScheduleResponse {
    key_id: Option<serde_json::Value>,
    deletion_date: Option<serde_json::Value>,
}

/// The latest `ScheduleKeyDeletion` among `records` (JSON texts) of exactly the key `arn`
/// (whose id is `key_id`).
pub fn key_deletion_in(records: &[String], arn: &str, key_id: &str) -> Option<KeyDeletionSeen> {
    records
        .iter()
        .filter_map(|text| read(text, arn, key_id))
        .max_by(|a, b| a.at.cmp(&b.at))
}

fn read(text: &str, arn: &str, key_id: &str) -> Option<KeyDeletionSeen> {
    let record: CloudTrailRecord = serde_json::from_str(text).ok()?;
    let scheduled = key_scheduled_in(&record, text)?;
    // AWS's word first (`resources[]`, the response): a record that names another key is not
    // this key's, whatever the caller passed.
    let this_key = match &scheduled.key {
        KeyNamed::Arn { arn: named, .. } => named == arn,
        KeyNamed::AsPassed(passed) => passed == arn || passed == key_id,
        KeyNamed::Unknown => false,
    };
    this_key.then_some(scheduled.seen)
}

/// A key's deletion being scheduled, as a batch shows it (`ON_SCHEDULE` covers keys too): the
/// key as AWS names it (its ARN from `resources[]` or the response, else what the caller
/// passed), who scheduled it, and where it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScheduled {
    pub key: KeyNamed,
    pub seen: KeyDeletionSeen,
    pub who: Attribution,
    /// `responseElements.deletionDate`, as KMS wrote it (its own date format).
    pub deletion_date_text: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
}

/// The key deletion `record` schedules, if it is a successful `ScheduleKeyDeletion`.
pub fn key_scheduled_in(record: &CloudTrailRecord, json_text: &str) -> Option<KeyScheduled> {
    let is_schedule = record.event_source.as_deref() == Some(KMS_EVENT_SOURCE)
        && record.event_name.as_deref() == Some("ScheduleKeyDeletion")
        && record.error_code.is_none();
    if !is_schedule {
        return None;
    }
    let fields: ScheduleFields = serde_json::from_str(json_text).unwrap_or_default();
    let request = fields.request_parameters.unwrap_or_default();
    let response = fields.response_elements.unwrap_or_default();
    let text_of = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let resource_arn = record
        .resources
        .iter()
        .flatten()
        .filter(|r| r.resource_type.as_deref() == Some(KEY_RESOURCE_TYPE))
        .find_map(|r| r.arn.clone());
    let key = match resource_arn
        .or_else(|| text_of(&response.key_id))
        .and_then(|arn| key_arn(&arn))
    {
        Some(key) => key,
        None => match text_of(&request.key_id) {
            Some(passed) => key_arn(&passed).unwrap_or(KeyNamed::AsPassed(passed)),
            None => KeyNamed::Unknown,
        },
    };
    let who = record.attribution();
    let (account_id, region) = match key.arn().and_then(arn_parts) {
        Some(parts) => (
            Some(parts.account.to_owned()),
            Some(parts.region.to_owned()),
        ),
        None => (
            record.recipient_account_id.clone(),
            record.aws_region.clone(),
        ),
    };
    Some(KeyScheduled {
        seen: KeyDeletionSeen {
            by: who.principal.describe(),
            by_name: who.principal.short_name().to_owned(),
            by_arn: who.arn().map(str::to_owned),
            at: record.event_time.clone(),
            pending_window_days: request.pending_window_in_days.as_ref().and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            }),
            event_id: record.event_id.clone(),
        },
        who,
        key,
        deletion_date_text: text_of(&response.deletion_date),
        account_id,
        region,
    })
}
