//! Configuration, parsed once at cold start from an injected lookup so tests never touch the
//! process environment. A bad value stops the function with a message naming the variable.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::ConfigError;
use crate::expected::ExpectedReaders;
use crate::logs::DEFAULT_MAX_DECODED_BYTES;
use crate::restore::RestorePolicy;
use crate::scheduled::{DEFAULT_CHECK_DAYS, MAX_CHECK_DAYS, OnSchedule};
use crate::verification::VerifyReads;

pub const DEFAULT_RESTORE_TAG_KEY: &str = "secret-deletion-alerts:restore-on-access";
pub const DEFAULT_ATHENA_TABLE: &str = "cloudtrail_logs";
pub const DEFAULT_MAX_LISTED_ATTEMPTS: usize = 50;
/// Enough to overlap the round trips of a many-secret batch, few enough to stay well under
/// Secrets Manager's and SNS's request rates.
pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_ALERT_WINDOW: Duration = Duration::from_secs(3600);
pub const DEFAULT_VERIFY_WAIT: Duration = Duration::from_secs(20);
/// What one SDK call may take (`SDK_OPERATION_TIMEOUT_MS`), retries included.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Event history is asked who scheduled a deletion for at most this long: it never holds an
/// alert up for more.
pub const DEFAULT_DELETION_LOOKUP_LIMIT: Duration = Duration::from_secs(8);
/// Inside the function's timeout, with the lookups, restores and publishes of a batch.
pub const MAX_VERIFY_WAIT: Duration = Duration::from_secs(60);
/// A window longer than this would hide a week of a broken consumer behind one email.
pub const MAX_ALERT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `ALERT_TOPIC_ARN`: where alerts go. Only a dry run may leave it unset.
    pub alert_topic_arn: Option<String>,
    /// `RESTORE_MODE` and `RESTORE_TAG_KEY`.
    pub restore_policy: RestorePolicy,
    /// `ACCOUNT_ID`: the account whose secrets the function can look up and restore. In Lambda
    /// it defaults to the account in the function's own ARN.
    pub account_id: Option<String>,
    /// `STACK_NAME`: the stack's name, the dimension of its `CanaryReadsSeen`.
    pub stack_name: Option<String>,
    /// `AWS_REGION`: the function's own region (Lambda sets it), where its canary lives.
    pub region: Option<String>,
    /// `ATHENA_TABLE`: the CloudTrail table named in the Athena query of each alert.
    pub athena_table: String,
    /// `MAX_LISTED_ATTEMPTS`: attempts listed one by one in an alert; the rest are counted.
    pub max_listed_attempts: usize,
    /// `MAX_BATCH_BYTES`: the cap on a decompressed batch.
    pub max_decoded_bytes: usize,
    /// `SDK_CONNECT_TIMEOUT_MS` and `SDK_OPERATION_TIMEOUT_MS`: kept well under the function's
    /// timeout so a hung dependency fails the invocation cleanly instead of having it killed.
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
    /// `MAX_CONCURRENT_SECRETS`: secrets of one batch handled at once.
    pub concurrency: usize,
    /// `ALERT_STATE_TABLE`: the DynamoDB table of quiet windows. Unset: one alert per secret
    /// per batch, nothing remembered between invocations.
    pub alert_state_table: Option<String>,
    /// `ALERT_WINDOW`: one alert per secret and caller per this long (humantime: `1h`,
    /// `15m`, `30s`); zero (`0`) turns the window off.
    pub alert_window: Duration,
    /// `MEMBER_ROLE_NAME`: the role the function assumes in a secret's account when it is
    /// not its own (an organization's member accounts). Unset: its own account only.
    pub member_role_name: Option<String>,
    /// `ACCOUNTS`: the member accounts the function may act in (comma or space separated);
    /// unset: every account.
    pub accounts: Option<BTreeSet<String>>,
    /// `VERIFY_READS`: when reads are confirmed with CloudTrail Event history.
    pub verify_reads: VerifyReads,
    /// `VERIFY_WAIT`: how long to wait for Event history to have a read before giving up on
    /// confirming it (it can lag the log group); bounded by the invocation's deadline too.
    pub verify_wait: Duration,
    /// `ON_SCHEDULE`: what a scheduled deletion (a `DeleteSecret` in a batch) gets: nothing,
    /// an alert naming who read the secret, or that and a guard that cancels it.
    pub on_schedule: OnSchedule,
    /// `SCHEDULE_CHECK_DAYS`: how many days before a scheduled deletion are looked back on.
    pub schedule_check_days: u64,
    /// `INTENDED_DELETERS`: principal ARN globs (`*` any run of characters) whose deletions
    /// are meant to stick: no read cancels them, whatever `RESTORE_MODE` says.
    /// `KMS_KEYS`: whether KMS keys pending deletion are watched (their uses alerted, their
    /// scheduled deletions under `ON_SCHEDULE`). Default on.
    pub kms_keys: bool,
    /// `KMS_ENABLE_AFTER_CANCEL`: enable a key whose deletion this function cancelled
    /// (`CancelKeyDeletion` leaves it disabled). Default false.
    pub kms_enable_after_cancel: bool,
    pub intended_deleters: Vec<glob::Pattern>,
    /// `CANARY_SECRET_NAME`: the stack's canary secret (`src/canary.rs`): its reads are
    /// counted as `CanaryReadsSeen`, never alerted on or restored.
    pub canary_secret_name: Option<String>,
    /// `EXPECTED_READERS`: a JSON list of rules marking readers as expected
    /// ([`crate::expected`]): counted and logged, never alerted.
    pub expected_readers: ExpectedReaders,
    /// `SECURITY_HUB`: where each delivered alert also becomes Security Hub findings.
    pub security_hub: SecurityHubMode,
    /// `CHAT_TOPIC_ARN`: the SNS topic AWS Chatbot reads; each delivered alert is also
    /// published there in Chatbot's custom-notification format.
    pub chat_topic_arn: Option<String>,
}

/// `SECURITY_HUB`: whether, and into which account, findings are imported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecurityHubMode {
    /// No findings (the default).
    #[default]
    Off,
    /// Into the function's own account and region (a delegated administrator, or one
    /// account); the secret's account is named in the finding.
    Own,
    /// Into the secret's account and region, through the member role.
    Member,
}

impl Config {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        // Each variable once: its name, what it accepts (said when a value is refused), how it
        // is read, and what it is when unset.
        let text = |name: &str| get(name).map(|v| v.trim().to_owned());
        let var = |name, accepted, parse: &dyn Fn(&str) -> Option<_>| {
            declared(&get, name, accepted, parse)
        };

        let alert_topic_arn = var("ALERT_TOPIC_ARN", TOPIC_ARN, &|v| {
            is_topic_arn(v).then(|| v.to_owned())
        })?;
        let tag_key = text("RESTORE_TAG_KEY").unwrap_or_else(|| DEFAULT_RESTORE_TAG_KEY.to_owned());
        let restore_policy =
            declared(
                &get,
                "RESTORE_MODE",
                "off (default), tagged, all",
                &|v| match v {
                    "off" => Some(RestorePolicy::Off),
                    "tagged" => Some(RestorePolicy::Tagged {
                        tag_key: tag_key.clone(),
                    }),
                    "all" => Some(RestorePolicy::All),
                    _ => None,
                },
            )?
            .unwrap_or(RestorePolicy::Off);
        let on_schedule = declared(
            &get,
            "ON_SCHEDULE",
            "off, alert (default), guard",
            &OnSchedule::parse,
        )?
        .unwrap_or(OnSchedule::Alert);
        let schedule_check_days = declared(
            &get,
            "SCHEDULE_CHECK_DAYS",
            "a whole number of days from 1 to 90 (Event history keeps 90)",
            &|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|days| (1..=MAX_CHECK_DAYS).contains(days))
            },
        )?
        .unwrap_or(DEFAULT_CHECK_DAYS);
        let account_id = var("ACCOUNT_ID", "a 12-digit AWS account id", &|v| {
            is_account_id(v).then(|| v.to_owned())
        })?;
        let athena_table = var(
            "ATHENA_TABLE",
            "a table name of letters, digits, '_' and '.' (database.table)",
            &|v| {
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                    .then(|| v.to_owned())
            },
        )?
        .unwrap_or_else(|| DEFAULT_ATHENA_TABLE.to_owned());
        let alert_state_table = var(
            "ALERT_STATE_TABLE",
            "a DynamoDB table name: 3 to 255 letters, digits, '_', '-' and '.'",
            &|v| is_table_name(v).then(|| v.to_owned()),
        )?;
        let alert_window = declared(
            &get,
            "ALERT_WINDOW",
            "a duration up to 7 days such as 1h (default), 15m or 30s; 0 turns the window off",
            &parse_window,
        )?
        .unwrap_or(DEFAULT_ALERT_WINDOW);
        let member_role_name = var(
            "MEMBER_ROLE_NAME",
            "an IAM role name: 1 to 64 letters, digits and +=,.@_-",
            &|v| is_role_name(v).then(|| v.to_owned()),
        )?;
        let accounts = declared(
            &get,
            "ACCOUNTS",
            "12-digit AWS account ids, separated by commas or spaces",
            &|v| {
                let ids: BTreeSet<String> = list_items(v).map(str::to_owned).collect();
                (!ids.is_empty() && ids.iter().all(|id| is_account_id(id))).then_some(ids)
            },
        )?;
        let intended_deleters = declared(
            &get,
            "INTENDED_DELETERS",
            "principal ARN globs such as arn:aws:iam::123456789012:role/incident-*, separated by commas or spaces",
            &|v| {
                list_items(v)
                    .map(|glob| glob::Pattern::new(glob).ok().filter(|_| glob.starts_with("arn:")))
                    .collect::<Option<Vec<_>>>()
            },
        )?
        .unwrap_or_default();
        let verify_reads = declared(
            &get,
            "VERIFY_READS",
            "restore (default: confirm before a restore), always, off",
            &|v| match v {
                "restore" => Some(VerifyReads::Restore),
                "always" => Some(VerifyReads::Always),
                "off" => Some(VerifyReads::Off),
                _ => None,
            },
        )?
        .unwrap_or(VerifyReads::Restore);
        let verify_wait = declared(
            &get,
            "VERIFY_WAIT",
            "a duration up to 60s such as 20s (default) or 5s",
            &|v| {
                humantime::parse_duration(v)
                    .ok()
                    .filter(|wait| *wait <= MAX_VERIFY_WAIT)
            },
        )?
        .unwrap_or(DEFAULT_VERIFY_WAIT);
        let security_hub = declared(
            &get,
            "SECURITY_HUB",
            "off (default), own (the function's account), member (the secret's account, through MEMBER_ROLE_NAME)",
            &|v| match v {
                "off" => Some(SecurityHubMode::Off),
                "own" => Some(SecurityHubMode::Own),
                "member" => Some(SecurityHubMode::Member),
                _ => None,
            },
        )?
        .unwrap_or(SecurityHubMode::Off);
        if security_hub == SecurityHubMode::Own && account_id.is_none() {
            return Err(ConfigError::Missing {
                variable: "ACCOUNT_ID",
                hint: "SECURITY_HUB=own imports findings into this account: its 12-digit id",
            });
        }
        if security_hub == SecurityHubMode::Member && member_role_name.is_none() {
            return Err(ConfigError::Missing {
                variable: "MEMBER_ROLE_NAME",
                hint: "SECURITY_HUB=member imports findings into each secret's account through this role",
            });
        }
        let kms_keys = declared(&get, "KMS_KEYS", "on (default), off", &|v| match v
            .to_ascii_lowercase()
            .as_str()
        {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        })?
        .unwrap_or(true);
        let kms_enable_after_cancel = declared(
            &get,
            "KMS_ENABLE_AFTER_CANCEL",
            "true, or false (default)",
            &|v| match v.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        )?
        .unwrap_or(false);
        let chat_topic_arn = var("CHAT_TOPIC_ARN", TOPIC_ARN, &|v| {
            is_topic_arn(v).then(|| v.to_owned())
        })?;
        let expected_readers = match get("EXPECTED_READERS") {
            None => ExpectedReaders::default(),
            Some(json) => ExpectedReaders::parse(&json)?,
        };
        let milliseconds =
            |name, default: Duration, range: std::ops::RangeInclusive<usize>, accepted| {
                number(&get, name, default.as_millis() as usize, range, accepted)
                    .map(|ms| Duration::from_millis(ms as u64))
            };

        Ok(Config {
            alert_topic_arn,
            on_schedule,
            schedule_check_days,
            expected_readers,
            security_hub,
            chat_topic_arn,
            verify_reads,
            verify_wait,
            intended_deleters,
            kms_enable_after_cancel,
            kms_keys,
            canary_secret_name: text("CANARY_SECRET_NAME"),
            stack_name: text("STACK_NAME"),
            region: text("AWS_REGION"),
            member_role_name,
            accounts,
            alert_state_table,
            alert_window,
            restore_policy,
            account_id,
            athena_table,
            max_listed_attempts: number(
                &get,
                "MAX_LISTED_ATTEMPTS",
                DEFAULT_MAX_LISTED_ATTEMPTS,
                1..=500,
                "a whole number from 1 to 500",
            )?,
            max_decoded_bytes: number(
                &get,
                "MAX_BATCH_BYTES",
                DEFAULT_MAX_DECODED_BYTES,
                1024 * 1024..=64 * 1024 * 1024,
                "a byte count from 1048576 (1 MiB) to 67108864 (64 MiB)",
            )?,
            connect_timeout: milliseconds(
                "SDK_CONNECT_TIMEOUT_MS",
                Duration::from_secs(3),
                100..=60_000,
                "milliseconds from 100 to 60000",
            )?,
            operation_timeout: milliseconds(
                "SDK_OPERATION_TIMEOUT_MS",
                DEFAULT_OPERATION_TIMEOUT,
                500..=300_000,
                "milliseconds from 500 to 300000",
            )?,
            concurrency: number(
                &get,
                "MAX_CONCURRENT_SECRETS",
                DEFAULT_CONCURRENCY,
                1..=32,
                "a whole number from 1 to 32",
            )?,
        })
    }

    /// The quiet window, when there is one: a table to keep it in and a window that is not
    /// zero.
    pub fn quiet_window(&self) -> Option<Duration> {
        self.alert_state_table
            .as_ref()
            .and((!self.alert_window.is_zero()).then_some(self.alert_window))
    }

    /// The topic, or the error a live (non-dry-run) start must report.
    pub fn require_topic(&self) -> Result<&str, ConfigError> {
        self.alert_topic_arn.as_deref().ok_or(ConfigError::Missing {
            variable: "ALERT_TOPIC_ARN",
            hint: "the ARN of the SNS topic that receives alerts",
        })
    }
}

fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && !parts[5].is_empty()
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// IAM's role name rule (without a path: the function builds `role/NAME`).
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// humantime's durations (`1h`, `15m`, `30s`, `1h 30m`), and a bare `0` for "off".
fn parse_window(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    humantime::parse_duration(text)
        .ok()
        .filter(|window| *window <= MAX_ALERT_WINDOW)
}

/// What `ALERT_TOPIC_ARN` and `CHAT_TOPIC_ARN` accept.
const TOPIC_ARN: &str = "an SNS topic ARN, arn:PARTITION:sns:REGION:ACCOUNT:NAME";

/// The variable `name` read through `parse` (spaces around it ignored); `None` when unset or
/// blank. A value `parse` refuses stops the cold start, naming the variable and what it
/// accepts.
fn declared<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    accepted: &'static str,
    parse: &dyn Fn(&str) -> Option<T>,
) -> Result<Option<T>, ConfigError> {
    match get(variable) {
        None => Ok(None),
        Some(value) => match parse(value.trim()) {
            Some(parsed) => Ok(Some(parsed)),
            None => Err(ConfigError::Invalid {
                variable,
                value,
                accepted,
            }),
        },
    }
}

/// The items of a list written with commas or spaces between them.
fn list_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
    accepted: &'static str,
) -> Result<usize, ConfigError> {
    let Some(value) = get(variable) else {
        return Ok(default);
    };
    match value.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            variable,
            value,
            accepted,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    #[test]
    fn kms_keys_are_watched_unless_turned_off() {
        assert!(config(&[]).unwrap().kms_keys);
        assert!(!config(&[("KMS_KEYS", "OFF")]).unwrap().kms_keys);
        let err = config(&[("KMS_KEYS", "no")]).unwrap_err().to_string();
        assert!(err.contains("KMS_KEYS"), "{err}");
    }

    #[test]
    fn a_cancelled_keys_deletion_leaves_it_disabled_unless_asked() {
        assert!(!config(&[]).unwrap().kms_enable_after_cancel);
        let c = config(&[("KMS_ENABLE_AFTER_CANCEL", " True ")]).unwrap();
        assert!(c.kms_enable_after_cancel);
        let err = config(&[("KMS_ENABLE_AFTER_CANCEL", "yes")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("KMS_ENABLE_AFTER_CANCEL"), "{err}");
    }

    #[test]
    fn on_schedule_alerts_by_default_and_an_invalid_value_stops_the_cold_start_naming_it() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.on_schedule, c.schedule_check_days),
            (OnSchedule::Alert, 7)
        );
        let c = config(&[("ON_SCHEDULE", " Guard "), ("SCHEDULE_CHECK_DAYS", "30")]).unwrap();
        assert_eq!(
            (c.on_schedule, c.schedule_check_days),
            (OnSchedule::Guard, 30)
        );
        let err = config(&[("ON_SCHEDULE", "cancel")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("ON_SCHEDULE=\"cancel\""), "{err}");
        assert!(err.contains("off, alert (default), guard"), "{err}");
        for days in ["0", "91", "a week"] {
            let err = config(&[("SCHEDULE_CHECK_DAYS", days)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("SCHEDULE_CHECK_DAYS"), "{err}");
        }
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(c.restore_policy, RestorePolicy::Off);
        assert_eq!(c.require_topic().unwrap(), TOPIC);
        assert_eq!(c.athena_table, "cloudtrail_logs");
        assert_eq!(c.max_listed_attempts, 50);
        assert_eq!(c.max_decoded_bytes, 8 * 1024 * 1024);
        assert_eq!(c.operation_timeout, Duration::from_secs(10));
        assert_eq!(c.concurrency, 8);
        assert_eq!(c.alert_state_table, None);
        assert_eq!(c.alert_window, Duration::from_secs(3600));
        assert_eq!(c.quiet_window(), None, "no table, no window");
        assert_eq!(
            c.verify_reads,
            VerifyReads::Restore,
            "nothing restored unconfirmed"
        );
        assert_eq!(c.verify_wait, Duration::from_secs(20));
    }

    #[test]
    fn the_window_is_a_humantime_duration_and_zero_turns_it_off() {
        let with = |window: &str| {
            config(&[
                ("ALERT_STATE_TABLE", "alert-state"),
                ("ALERT_WINDOW", window),
            ])
            .unwrap()
        };
        assert_eq!(with("15m").quiet_window(), Some(Duration::from_secs(900)));
        assert_eq!(with("30s").quiet_window(), Some(Duration::from_secs(30)));
        assert_eq!(
            with("1h 30m").quiet_window(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(with("0").quiet_window(), None);
        let table_only = config(&[("ALERT_STATE_TABLE", "alert-state")]).unwrap();
        assert_eq!(table_only.quiet_window(), Some(Duration::from_secs(3600)));
    }

    #[test]
    fn a_missing_topic_is_reported_when_required() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.require_topic().unwrap_err().to_string(),
            "ALERT_TOPIC_ARN must be set: the ARN of the SNS topic that receives alerts"
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_what_is_accepted() {
        let err = config(&[("RESTORE_MODE", "sometimes")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "RESTORE_MODE=\"sometimes\" is not valid; accepted: off (default), tagged, all"
        );
        for (var, value) in [
            ("ALERT_TOPIC_ARN", "alerts"),
            ("ACCOUNT_ID", "12345"),
            ("ATHENA_TABLE", "x; DROP TABLE y"),
            ("MAX_LISTED_ATTEMPTS", "0"),
            ("MAX_BATCH_BYTES", "ten"),
            ("SDK_OPERATION_TIMEOUT_MS", "1"),
            ("MAX_CONCURRENT_SECRETS", "0"),
            ("MAX_CONCURRENT_SECRETS", "many"),
            ("ALERT_WINDOW", "an hour"),
            ("ALERT_WINDOW", "60"),
            ("ALERT_WINDOW", "30d"),
            ("ALERT_STATE_TABLE", "a b"),
            ("MEMBER_ROLE_NAME", "role/with/path"),
            ("ACCOUNTS", "111111111111,12345"),
            ("ACCOUNTS", ","),
            ("VERIFY_READS", "sometimes"),
            ("INTENDED_DELETERS", "role/incident-*"),
            ("INTENDED_DELETERS", "arn:aws:iam::1:role/[x"),
            ("VERIFY_WAIT", "2m"),
            ("SECURITY_HUB", "yes"),
            ("CHAT_TOPIC_ARN", "chat"),
            ("EXPECTED_READERS", "[{}]"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn the_organization_settings_name_a_role_and_an_allow_list() {
        let c = config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!((c.member_role_name, c.accounts), (None, None));
        let c = config(&[
            ("MEMBER_ROLE_NAME", "secret-deletion-alerts-member"),
            ("ACCOUNTS", "111111111111, 222222222222 333333333333"),
        ])
        .unwrap();
        assert_eq!(
            c.member_role_name.as_deref(),
            Some("secret-deletion-alerts-member")
        );
        let accounts: Vec<&str> = c.accounts.iter().flatten().map(String::as_str).collect();
        assert_eq!(accounts, ["111111111111", "222222222222", "333333333333"]);
    }

    #[test]
    fn the_copies_and_the_expected_readers_are_off_until_set() {
        let c = config(&[("ALERT_TOPIC_ARN", TOPIC)]).unwrap();
        assert_eq!(c.security_hub, SecurityHubMode::Off);
        assert_eq!(c.chat_topic_arn, None);
        assert!(c.expected_readers.is_empty());
        let c = config(&[
            ("SECURITY_HUB", "own"),
            ("ACCOUNT_ID", "123456789012"),
            ("CHAT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:chat"),
            (
                "EXPECTED_READERS",
                r#"[{"secret": "prod/*", "caller": "*:role/etl", "reason": "ETL"}]"#,
            ),
        ])
        .unwrap();
        assert_eq!(c.security_hub, SecurityHubMode::Own);
        assert_eq!(
            c.chat_topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:123456789012:chat")
        );
        assert_eq!(c.expected_readers.rules().len(), 1);
        let member = config(&[("SECURITY_HUB", "member"), ("MEMBER_ROLE_NAME", "member")]);
        assert_eq!(member.unwrap().security_hub, SecurityHubMode::Member);
        assert_eq!(
            config(&[("SECURITY_HUB", "own")]).unwrap_err().to_string(),
            "ACCOUNT_ID must be set: SECURITY_HUB=own imports findings into this account: its 12-digit id"
        );
        assert!(
            config(&[("SECURITY_HUB", "member")])
                .unwrap_err()
                .to_string()
                .starts_with("MEMBER_ROLE_NAME must be set")
        );
    }

    #[test]
    fn tagged_mode_carries_the_tag_key() {
        let c = config(&[("RESTORE_MODE", "tagged")]).unwrap();
        assert_eq!(
            c.restore_policy,
            RestorePolicy::Tagged {
                tag_key: DEFAULT_RESTORE_TAG_KEY.into()
            }
        );
        let c = config(&[("RESTORE_MODE", "tagged"), ("RESTORE_TAG_KEY", "keep")]).unwrap();
        assert_eq!(
            c.restore_policy,
            RestorePolicy::Tagged {
                tag_key: "keep".into()
            }
        );
        let c = config(&[("RESTORE_MODE", "all")]).unwrap();
        assert_eq!(c.restore_policy, RestorePolicy::All);
    }
}
