//! The capabilities the handler needs from the outside world, one small trait each, so the
//! handler can be tested with plain fakes and the AWS adapters stay thin. The handler takes
//! them as one [`Adapters`] value of shared trait objects: a call of 10 to 100 ms does not
//! notice dynamic dispatch, and a new adapter is one trait, one field and one line of wiring.
//!
//! A region reaches an adapter only as a [`RegionName`]: an endpoint is never built from an
//! unchecked string out of a record. An account reaches it only as the member account the
//! handler decided to act in ([`SecretAt::member_account`]).

use std::future::Future;
use std::time::SystemTime;

/// The attribute every adapter's `impl` of a port carries (re-exported, so that a crate that
/// implements a port needs no dependency of its own).
pub use async_trait::async_trait;

use crate::alert::Alert;
use crate::canary::{CanaryState, CanaryStep};
use crate::deletion::ScheduledDeletion;
use crate::error::CanaryError;
use crate::error::{EventHistoryError, PublishError, RestoreError, WindowStateError};
use crate::ids::AccountId;
use crate::key_alert::KeyAlert;
use crate::key_state::{KeyDescription, KeyLookup, ListedSecret};
use crate::region::RegionName;
use crate::restore::SecretState;
use crate::scheduled::ScheduledAlert;
use crate::window::{Carried, Opened, WindowClaim, WindowKey, WindowVerdict};

/// Delivers one alert (SNS in production).
#[async_trait]
pub trait AlertPublisher: Send + Sync {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError>;

    /// Delivers the alert of a deletion being scheduled, through the same topic.
    async fn publish_scheduled(&self, alert: &ScheduledAlert) -> Result<(), PublishError>;

    /// Delivers the alert of uses of a KMS key pending deletion, through the same topic.
    async fn publish_key_use(&self, alert: &KeyAlert) -> Result<(), PublishError>;
}

/// Copies of the delivered alerts where the team already works: Security Hub findings, chat.
/// The email is the alert of record, so a copy that cannot be delivered is retried within
/// the invocation and counted (`FindingsUndelivered`, `ChatUndelivered`), and never fails the
/// batch: a retried batch would send every email again for a copy.
#[async_trait]
pub trait AlertCopies: Send + Sync {
    /// Copies of the batch's delivered `alerts`.
    async fn deliver(&self, alerts: &[Alert]) -> CopiesReport;

    /// What a delivery of `alerts` cut off by the deadline left undelivered.
    fn undelivered(&self, alerts: usize) -> CopiesReport;

    /// Copies of the batch's delivered alerts of scheduled deletions: a finding each, and chat.
    async fn deliver_scheduled(&self, alerts: &[ScheduledAlert]) -> CopiesReport;

    /// Copies of the batch's delivered alerts of KMS keys used while pending deletion.
    async fn deliver_keys(&self, alerts: &[KeyAlert]) -> CopiesReport;
}

/// What the copies of a batch's alerts did not deliver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopiesReport {
    pub findings_undelivered: usize,
    pub chat_undelivered: usize,
}

/// No copies (neither `SECURITY_HUB` nor `CHAT_TOPIC_ARN` set): the email alone.
pub struct NoCopies;

#[async_trait]
impl AlertCopies for NoCopies {
    async fn deliver(&self, _alerts: &[Alert]) -> CopiesReport {
        CopiesReport::default()
    }

    fn undelivered(&self, _alerts: usize) -> CopiesReport {
        CopiesReport::default()
    }

    async fn deliver_scheduled(&self, _alerts: &[ScheduledAlert]) -> CopiesReport {
        CopiesReport::default()
    }

    async fn deliver_keys(&self, _alerts: &[KeyAlert]) -> CopiesReport {
        CopiesReport::default()
    }
}

/// Where a secret's calls go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretAt<'a> {
    /// The secret's region; `None`: the client's own.
    pub region: Option<&'a RegionName>,
    /// The member account to act in through `MEMBER_ROLE_NAME`; `None`: the function's own.
    pub member_account: Option<&'a AccountId>,
}

impl<'a> SecretAt<'a> {
    /// In the function's own account.
    pub fn own(region: Option<&'a RegionName>) -> Self {
        SecretAt {
            region,
            member_account: None,
        }
    }
}

/// Tells what state a secret is in (`DescribeSecret` in production). Never fails: a failed
/// lookup is a state the alert reports.
#[async_trait]
pub trait SecretInspector: Send + Sync {
    async fn inspect(&self, secret_id: &str, at: SecretAt<'_>) -> SecretState;
}

/// Tells what a KMS key is (`DescribeKey` and `ListAliases` in production). Never fails: a
/// failed lookup is a state the alert reports.
#[async_trait]
pub trait KeyInspector: Send + Sync {
    /// `key`: the key's ARN, or what a caller passed (an id, `alias/...`, an alias ARN).
    async fn describe_key(&self, key: &str, at: SecretAt<'_>) -> KeyLookup;
}

/// The secrets encrypted under a key (`ListSecrets` in production): those whose `KmsKeyId`
/// is the key, by id, ARN or one of its aliases. `Err`: why they could not be listed.
#[async_trait]
pub trait KeySecrets: Send + Sync {
    async fn secrets_under_key(
        &self,
        key: &KeyDescription,
        at: SecretAt<'_>,
    ) -> Result<Vec<ListedSecret>, String>;
}

/// Cancels a KMS key's deletion (`CancelKeyDeletion`, which leaves the key disabled) and
/// enables it (`EnableKey`), in the key's account and region.
#[async_trait]
pub trait KeyRestorer: Send + Sync {
    async fn cancel_key_deletion(&self, key_id: &str, at: SecretAt<'_>)
    -> Result<(), RestoreError>;

    async fn enable_key(&self, key_id: &str, at: SecretAt<'_>) -> Result<(), RestoreError>;
}

/// No KMS client here (dry runs, most tests): keys are not looked up, and the alert says so.
pub struct NoKeys;

#[async_trait]
impl KeyInspector for NoKeys {
    async fn describe_key(&self, _key: &str, _at: SecretAt<'_>) -> KeyLookup {
        KeyLookup::NotLookedUp("no KMS client is configured here".to_owned())
    }
}

#[async_trait]
impl KeyRestorer for NoKeys {
    async fn cancel_key_deletion(
        &self,
        _key_id: &str,
        _at: SecretAt<'_>,
    ) -> Result<(), RestoreError> {
        Err(RestoreError::NotAttempted(
            "no KMS client is configured here",
        ))
    }

    async fn enable_key(&self, _key_id: &str, _at: SecretAt<'_>) -> Result<(), RestoreError> {
        Err(RestoreError::NotAttempted(
            "no KMS client is configured here",
        ))
    }
}

#[async_trait]
impl KeySecrets for NoKeys {
    async fn secrets_under_key(
        &self,
        _key: &KeyDescription,
        _at: SecretAt<'_>,
    ) -> Result<Vec<ListedSecret>, String> {
        Err("no Secrets Manager client is configured here".to_owned())
    }
}

/// Cancels a scheduled deletion (`RestoreSecret` in production).
#[async_trait]
pub trait SecretRestorer: Send + Sync {
    async fn restore(&self, arn: &str, at: SecretAt<'_>) -> Result<(), RestoreError>;
}

/// The canary secret, in the function's own account and region (Secrets Manager in
/// production).
pub trait CanaryVault {
    fn state(&self) -> impl Future<Output = Result<CanaryState, CanaryError>> + Send;

    fn apply(&self, step: CanaryStep) -> impl Future<Output = Result<(), CanaryError>> + Send;
}

/// What CloudTrail Event history holds (`LookupEvents` in production), in the secret's account
/// and region.
#[async_trait]
pub trait EventHistory: Send + Sync {
    /// The record of event `event_id`; `Ok(None)` when Event history does not have it (yet).
    async fn event(
        &self,
        event_id: &str,
        at: SecretAt<'_>,
    ) -> Result<Option<String>, EventHistoryError>;

    /// The `DeleteSecret` that scheduled the deletion of `arn` (named `name`) for
    /// `deletion_date`, looked for in the recovery windows before it, until `now`.
    async fn scheduled_deletion(
        &self,
        arn: &str,
        name: &str,
        deletion_date: SystemTime,
        now: SystemTime,
        at: SecretAt<'_>,
    ) -> Result<Option<ScheduledDeletion>, EventHistoryError>;

    /// Every event `events` names in `range`, newest first, a page of records at a time to
    /// `each_page`: `Ok(true)` when the pages ran out (the range was read whole), `Ok(false)`
    /// when `budget` did first.
    async fn each_page(
        &self,
        events: HistoryEvents<'_>,
        range: (SystemTime, SystemTime),
        budget: PageBudget,
        at: SecretAt<'_>,
        each_page: &mut (dyn FnMut(Vec<String>) + Send),
    ) -> Result<bool, EventHistoryError>;
}

/// Which events of Event history a look-back reads (one lookup attribute per call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryEvents<'a> {
    /// Every event of this name (`GetSecretValue`, `ScheduleKeyDeletion`).
    Named(&'a str),
    /// Every event on this resource (a KMS key's calls, by its ARN).
    On(&'a str),
}

/// How much of Event history one look-back may read: pages, and time.
#[derive(Debug, Clone, Copy)]
pub struct PageBudget {
    pub max_pages: usize,
    /// No page is asked for after this.
    pub until: tokio::time::Instant,
}

/// No Event history: nothing is confirmed, no deletion is found (dry runs, most tests).
pub struct NoEventHistory;

#[async_trait]
impl EventHistory for NoEventHistory {
    async fn event(
        &self,
        _event_id: &str,
        _at: SecretAt<'_>,
    ) -> Result<Option<String>, EventHistoryError> {
        Err(EventHistoryError::NotConfigured)
    }

    async fn scheduled_deletion(
        &self,
        _arn: &str,
        _name: &str,
        _deletion_date: SystemTime,
        _now: SystemTime,
        _at: SecretAt<'_>,
    ) -> Result<Option<ScheduledDeletion>, EventHistoryError> {
        Err(EventHistoryError::NotConfigured)
    }

    async fn each_page(
        &self,
        _events: HistoryEvents<'_>,
        _range: (SystemTime, SystemTime),
        _budget: PageBudget,
        _at: SecretAt<'_>,
        _each_page: &mut (dyn FnMut(Vec<String>) + Send),
    ) -> Result<bool, EventHistoryError> {
        Err(EventHistoryError::NotConfigured)
    }
}

/// Names an account of the organization (`organizations:DescribeAccount` in production).
/// Optional: `None` when it cannot tell, and the alert gives the id alone.
#[async_trait]
pub trait AccountNames: Send + Sync {
    async fn name(&self, account: &AccountId) -> Option<String>;
}

/// No account names: the alert gives account ids only.
pub struct NoAccountNames;

#[async_trait]
impl AccountNames for NoAccountNames {
    async fn name(&self, _account: &AccountId) -> Option<String> {
        None
    }
}

/// Keeps the quiet windows ([`crate::window`]): applies the rule to a claim atomically, so two
/// invocations racing for one window never both win it (DynamoDB in production).
#[async_trait]
pub trait AlertWindows: Send + Sync {
    /// Claims the window for the alert, or counts its reads into the window another alert
    /// holds.
    async fn claim(&self, claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError>;

    /// The claiming alert was delivered at `at`.
    async fn confirm(
        &self,
        key: &WindowKey,
        claim_key: &str,
        at: SystemTime,
    ) -> Result<(), WindowStateError>;

    /// The claiming alert was not delivered: the window is free at once.
    async fn release(&self, key: &WindowKey, claim_key: &str) -> Result<(), WindowStateError>;
}

/// No store (`ALERT_STATE_TABLE` unset): every alert goes out. The handler does not ask it
/// when the window is off; if asked, it sends.
pub struct NoWindows;

#[async_trait]
impl AlertWindows for NoWindows {
    async fn claim(&self, _claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError> {
        Ok(WindowVerdict::Send {
            opened: Opened::First,
            carried: Carried::default(),
        })
    }

    async fn confirm(
        &self,
        _key: &WindowKey,
        _claim_key: &str,
        _at: SystemTime,
    ) -> Result<(), WindowStateError> {
        Ok(())
    }

    async fn release(&self, _key: &WindowKey, _claim_key: &str) -> Result<(), WindowStateError> {
        Ok(())
    }
}

/// Every adapter one batch talks to, each a shared trait object. The Lambda function,
/// `invoke` and `scan` get theirs from one wiring (`crate::aws::Wiring`); tests lend fakes.
#[derive(Clone, Copy)]
pub struct Adapters<'a> {
    pub publisher: &'a dyn AlertPublisher,
    pub inspector: &'a dyn SecretInspector,
    pub restorer: &'a dyn SecretRestorer,
    /// The quiet windows; asked only when the batch has a window.
    pub windows: &'a dyn AlertWindows,
    /// CloudTrail Event history: reads confirmed, deletions found.
    pub history: &'a dyn EventHistory,
    /// The organization's account names, for member accounts' alerts.
    pub accounts: &'a dyn AccountNames,
    /// Where delivered alerts are copied: Security Hub, chat.
    pub copies: &'a dyn AlertCopies,
    /// KMS keys pending deletion: what they are, and the secrets they encrypt.
    pub keys: &'a dyn KeyInspector,
    pub key_restorer: &'a dyn KeyRestorer,
    pub key_secrets: &'a dyn KeySecrets,
}

impl<'a> Adapters<'a> {
    /// `publisher` and the secrets' `inspector` and `restorer`, with nothing else: no quiet
    /// windows, no Event history, no account names, no copies, no KMS.
    pub fn new<S: SecretInspector + SecretRestorer>(
        publisher: &'a dyn AlertPublisher,
        secrets: &'a S,
    ) -> Self {
        Adapters {
            publisher,
            inspector: secrets,
            restorer: secrets,
            windows: &NoWindows,
            history: &NoEventHistory,
            accounts: &NoAccountNames,
            copies: &NoCopies,
            keys: &NoKeys,
            key_restorer: &NoKeys,
            key_secrets: &NoKeys,
        }
    }
}
