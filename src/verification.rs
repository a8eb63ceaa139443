//! Proof that a read happened. The trail's log group is an input anyone with
//! `logs:PutLogEvents` on it can write to (AWS-managed policies such as
//! `AWSLambdaBasicExecutionRole` grant it on `*`), so before the function cancels a deletion it
//! asks CloudTrail's own Event history for the event by its id, in the account and region that
//! logged the copy, and compares. Pure: this module says what a confirmation is and what the
//! alert says about it; the adapter asks (`crate::ports::EventHistory`).
//!
//! Two attacks shape the comparison:
//! - **Replay.** A genuine read from an earlier deletion, re-posted into the log group, is a
//!   real event in Event history (it keeps 90 days). It confirms nothing unless it happened
//!   after the current deletion was scheduled, and within [`MAX_READ_AGE`].
//! - **Re-dressing.** A real event id posted with another identity, address or account. Every
//!   field the alert names the reader by must be Event history's own: the account, the region,
//!   the identity, the source address and the user agent. A confirmed read's alert is then
//!   composed from Event history's record, not from the log group's copy.

use std::time::{Duration, SystemTime};

use crate::cloudtrail::CloudTrailRecord;
use crate::detection::{PendingDeletionAccess, is_pending_deletion_read};

/// `VERIFY_READS`: when reads are confirmed with CloudTrail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Event history holds this read, as the log group gave it, since the deletion was
    /// scheduled; `read` is Event history's record of it, which the alert is composed from.
    Confirmed {
        event_id: String,
        read: Box<PendingDeletionAccess>,
    },
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
            Verification::Confirmed { event_id, .. } => {
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

/// A confirming read may be at most this old: a read from longer ago is no evidence that
/// anything still uses the secret now, and the one kind of record an attacker can fetch from
/// the past.
pub const MAX_READ_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a read is held against besides its own copy.
#[derive(Debug, Clone, Copy)]
pub struct ReadWindow {
    /// When the current deletion was scheduled (the `DeleteSecret` record), or the earliest
    /// it can have been (the deletion date less the longest recovery window).
    pub scheduled_after: Option<SystemTime>,
    pub now: SystemTime,
}

/// Whether the record Event history holds for `read`'s event id is that read, now: the rule's
/// event, the same id, the same secret, the same account, region, identity, address and user
/// agent, and a time after the current deletion was scheduled and within [`MAX_READ_AGE`].
/// `Ok` is Event history's record, to compose the alert from; `Err` says what differs.
pub fn matches(
    read: &PendingDeletionAccess,
    history_record: &str,
    window: ReadWindow,
) -> Result<CloudTrailRecord, String> {
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
    let history_arn = record.user_identity.as_ref().and_then(|i| i.arn.as_deref());
    let same = [
        (
            "account",
            record.recipient_account_id.as_deref(),
            read.recipient_account_id.as_deref(),
        ),
        (
            "region",
            record.aws_region.as_deref(),
            read.aws_region.as_deref(),
        ),
        ("identity", history_arn, read.who.arn()),
        (
            "source address",
            record.source_ip_address.as_deref(),
            read.source_ip_address.as_deref(),
        ),
        (
            "user agent",
            record.user_agent.as_deref(),
            read.user_agent.as_deref(),
        ),
    ];
    if let Some((field, history, copy)) = same.iter().find(|(_, history, copy)| history != copy) {
        return Err(format!(
            "the log group's copy has another {field} ({} in Event history, {} in the copy): re-dressed",
            history.unwrap_or("none"),
            copy.unwrap_or("none")
        ));
    }
    let Some(at) = record.event_time.as_deref().and_then(parse_event_time) else {
        return Err("its eventTime cannot be read".to_owned());
    };
    if let Some(scheduled) = window.scheduled_after
        && at < scheduled
    {
        return Err(format!(
            "the read is from {}, before the current deletion was scheduled ({}): a replay",
            humantime::format_rfc3339_seconds(at),
            humantime::format_rfc3339_seconds(scheduled)
        ));
    }
    if window
        .now
        .duration_since(at)
        .is_ok_and(|age| age > MAX_READ_AGE)
    {
        return Err(format!(
            "the read is from {}, more than {} ago",
            humantime::format_rfc3339_seconds(at),
            humantime::format_duration(MAX_READ_AGE)
        ));
    }
    Ok(record)
}

/// A CloudTrail `eventTime` (`2026-11-20T14:03:12Z`, with or without fractions).
pub fn parse_event_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::detection::{Origin, detect};

    const NOW: u64 = 1_795_132_800; // 2026-11-20T00:00:00Z

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn record(event_id: &str, name: &str, secret: &str) -> serde_json::Value {
        serde_json::json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "eventTime": "2026-11-19T23:00:00Z",
            "awsRegion": "us-east-1",
            "recipientAccountId": "123456789012",
            "sourceIPAddress": "203.0.113.10",
            "userAgent": "aws-cli/2",
            "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
            "requestParameters": {"secretId": secret},
            "eventID": event_id,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "userName": "alice"}
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

    /// The deletion scheduled two hours before now.
    fn window() -> ReadWindow {
        ReadWindow {
            scheduled_after: Some(at(NOW - 7200)),
            now: at(NOW),
        }
    }

    #[test]
    fn the_same_event_since_the_deletion_confirms_the_read() {
        let logged = record("e1", "GetSecretValue", "prod/db");
        assert!(matches(&read_of(&logged), &logged.to_string(), window()).is_ok());
    }

    #[test]
    fn another_event_name_or_secret_does_not() {
        let read = read_of(&record("e1", "GetSecretValue", "prod/db"));
        let other_name = record("e1", "DescribeSecret", "prod/db").to_string();
        assert!(
            matches(&read, &other_name, window())
                .unwrap_err()
                .starts_with("DescribeSecret")
        );
        let other_secret = record("e1", "GetSecretValue", "prod/other").to_string();
        assert_eq!(
            matches(&read, &other_secret, window()).unwrap_err(),
            "secret prod/other"
        );
        let other_id = record("e2", "GetSecretValue", "prod/db").to_string();
        assert_eq!(
            matches(&read, &other_id, window()).unwrap_err(),
            "event id e2"
        );
        assert!(matches(&read, "not json", window()).is_err());
    }

    #[test]
    fn a_genuine_read_of_an_earlier_deletion_replayed_confirms_nothing() {
        let mut old = record("e1", "GetSecretValue", "prod/db");
        old["eventTime"] = "2026-10-21T09:00:00Z".into();
        let error = matches(&read_of(&old), &old.to_string(), window()).unwrap_err();
        assert!(error.ends_with("a replay"), "{error}");
    }

    #[test]
    fn a_read_from_before_the_current_deletion_was_scheduled_confirms_nothing() {
        let mut before = record("e1", "GetSecretValue", "prod/db");
        before["eventTime"] = "2026-11-19T21:00:00Z".into(); // three hours ago
        let error = matches(&read_of(&before), &before.to_string(), window()).unwrap_err();
        assert!(
            error.contains("before the current deletion was scheduled"),
            "{error}"
        );
    }

    #[test]
    fn a_read_older_than_a_day_confirms_nothing_even_without_a_known_schedule() {
        let mut old = record("e1", "GetSecretValue", "prod/db");
        old["eventTime"] = "2026-11-18T12:00:00Z".into();
        let unknown = ReadWindow {
            scheduled_after: None,
            now: at(NOW),
        };
        let error = matches(&read_of(&old), &old.to_string(), unknown).unwrap_err();
        assert!(error.contains("more than 1day ago"), "{error}");
    }

    #[test]
    fn a_real_event_id_re_dressed_with_another_identity_confirms_nothing() {
        let genuine = record("e1", "GetSecretValue", "prod/db");
        let mut forged = genuine.clone();
        forged["userIdentity"]["arn"] = "arn:aws:iam::123456789012:user/mallory".into();
        let error = matches(&read_of(&forged), &genuine.to_string(), window()).unwrap_err();
        assert!(error.contains("another identity"), "{error}");
    }

    #[test]
    fn a_real_event_id_re_dressed_with_another_address_confirms_nothing() {
        let genuine = record("e1", "GetSecretValue", "prod/db");
        let mut forged = genuine.clone();
        forged["sourceIPAddress"] = "198.51.100.7".into();
        let error = matches(&read_of(&forged), &genuine.to_string(), window()).unwrap_err();
        assert!(error.contains("another source address"), "{error}");
    }

    #[test]
    fn a_real_event_id_re_dressed_with_another_region_confirms_nothing() {
        let genuine = record("e1", "GetSecretValue", "prod/db");
        let mut forged = genuine.clone();
        forged["awsRegion"] = "eu-west-1".into();
        let error = matches(&read_of(&forged), &genuine.to_string(), window()).unwrap_err();
        assert!(error.contains("another region"), "{error}");
    }

    #[test]
    fn a_real_event_id_re_dressed_with_another_account_confirms_nothing() {
        let genuine = record("e1", "GetSecretValue", "prod/db");
        let mut forged = genuine.clone();
        forged["recipientAccountId"] = "210987654321".into();
        let error = matches(&read_of(&forged), &genuine.to_string(), window()).unwrap_err();
        assert!(error.contains("another account"), "{error}");
    }

    #[test]
    fn a_real_event_id_re_dressed_with_another_user_agent_confirms_nothing() {
        let genuine = record("e1", "GetSecretValue", "prod/db");
        let mut forged = genuine.clone();
        forged["userAgent"] = "curl/8".into();
        let error = matches(&read_of(&forged), &genuine.to_string(), window()).unwrap_err();
        assert!(error.contains("another user agent"), "{error}");
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
