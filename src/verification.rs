//! Proof that a read happened. The trail's log group is an input anyone with
//! `logs:PutLogEvents` on it can write to, so before the function cancels a deletion it asks
//! CloudTrail's own Event history for the event by its id, in the record's account and
//! region, and compares. Pure: this module says what a confirmation is and what the alert
//! says about it; the adapter asks (`crate::ports::EventHistory`).

use std::time::Duration;

use serde::Serialize;

use crate::cloudtrail::CloudTrailRecord;
use crate::detection::{PendingDeletionAccess, is_pending_deletion_read};

/// `VERIFY_READS`: when reads are confirmed with CloudTrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyReads {
    /// Before a restore only (the default): nothing is cancelled on an unconfirmed read.
    Restore,
    /// For every alert, restore or not.
    Always,
    /// Never: a forged record in the log group can make the function restore (the README
    /// warns).
    Off,
}

impl VerifyReads {
    pub fn name(self) -> &'static str {
        match self {
            VerifyReads::Restore => "restore",
            VerifyReads::Always => "always",
            VerifyReads::Off => "off",
        }
    }
}

/// What CloudTrail said about the reads of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Event history holds this read, as the log group gave it.
    Confirmed { event_id: String },
    /// Not in Event history within the time allowed (it can lag the log group).
    NotFound { waited: Duration },
    /// In Event history, but not the read the log group says it is.
    Mismatch { event_id: String, what: String },
    /// Event history could not be asked (no permission, throttled past the retries).
    LookupFailed { reason: String },
    /// Not asked: `why`.
    NotChecked { why: &'static str },
}

impl Verification {
    pub fn is_confirmed(&self) -> bool {
        matches!(self, Verification::Confirmed { .. })
    }

    /// `confirmed`, `not_confirmed`, or `not_checked`, for the JSON document.
    pub fn status(&self) -> &'static str {
        match self {
            Verification::Confirmed { .. } => "confirmed",
            Verification::NotChecked { .. } => "not_checked",
            _ => "not_confirmed",
        }
    }

    /// A sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            Verification::Confirmed { event_id } => {
                format!("confirmed by CloudTrail Event history (event {event_id})")
            }
            Verification::NotFound { waited } => format!(
                "not confirmed: CloudTrail Event history did not have the event after {}",
                humantime::format_duration(*waited)
            ),
            Verification::Mismatch { event_id, what } => format!(
                "not confirmed: CloudTrail Event history's event {event_id} is not this read ({what})"
            ),
            Verification::LookupFailed { reason } => {
                format!("not confirmed: CloudTrail Event history could not be asked: {reason}")
            }
            Verification::NotChecked { why } => format!("not checked: {why}"),
        }
    }
}

/// Whether the record Event history holds for `read`'s event id is that read: the rule's
/// event, the same id, the same secret. `Err` says what differs.
pub fn matches(read: &PendingDeletionAccess, history_record: &str) -> Result<(), String> {
    let record: CloudTrailRecord = serde_json::from_str(history_record)
        .map_err(|e| format!("its record is not a CloudTrail record: {e}"))?;
    if record.event_id.as_deref() != read.event_id.as_deref() {
        return Err(format!(
            "event id {}",
            record.event_id.as_deref().unwrap_or("(none)")
        ));
    }
    if !is_pending_deletion_read(&record) {
        return Err(format!(
            "{} from {}, {}",
            record.event_name.as_deref().unwrap_or("(no event name)"),
            record.event_source.as_deref().unwrap_or("(no source)"),
            record
                .error_message
                .as_deref()
                .map_or("no pending-deletion error".to_owned(), |m| format!(
                    "error {m:?}"
                ))
        ));
    }
    if record.secret_id() != read.target.secret_id.as_deref() {
        return Err(format!(
            "secret {}",
            record.secret_id().unwrap_or("(not named)")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::detection::{Origin, detect};

    fn record(event_id: &str, name: &str, secret: &str) -> serde_json::Value {
        serde_json::json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
            "requestParameters": {"secretId": secret},
            "eventID": event_id,
        })
    }

    fn read_of(value: &serde_json::Value) -> PendingDeletionAccess {
        detect(
            &serde_json::from_value(value.clone()).unwrap(),
            Origin::LogEvent {
                id: "1".into(),
                timestamp_ms: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn the_same_event_confirms_the_read() {
        let logged = record("e1", "GetSecretValue", "prod/db");
        assert_eq!(matches(&read_of(&logged), &logged.to_string()), Ok(()));
    }

    #[test]
    fn another_event_name_or_secret_does_not() {
        let read = read_of(&record("e1", "GetSecretValue", "prod/db"));
        let other_name = record("e1", "DescribeSecret", "prod/db").to_string();
        assert!(
            matches(&read, &other_name)
                .unwrap_err()
                .starts_with("DescribeSecret")
        );
        let other_secret = record("e1", "GetSecretValue", "prod/other").to_string();
        assert_eq!(
            matches(&read, &other_secret).unwrap_err(),
            "secret prod/other"
        );
        let other_id = record("e2", "GetSecretValue", "prod/db").to_string();
        assert_eq!(matches(&read, &other_id).unwrap_err(), "event id e2");
        assert!(matches(&read, "not json").is_err());
    }

    #[test]
    fn an_alert_says_which_it_was() {
        assert_eq!(
            Verification::NotFound {
                waited: Duration::from_secs(20)
            }
            .describe(),
            "not confirmed: CloudTrail Event history did not have the event after 20s"
        );
        assert_eq!(
            Verification::NotChecked {
                why: "VERIFY_READS=off"
            }
            .status(),
            "not_checked"
        );
    }
}
