//! The capabilities the handler needs from the outside world, one small trait each, so the
//! handler can be tested with plain fakes and the AWS adapters stay thin.
//!
//! A region reaches an adapter only as a [`RegionName`]: an endpoint is never built from an
//! unchecked string out of a record. An account reaches it only as the member account the
//! handler decided to act in ([`SecretAt::member_account`]).

use std::future::Future;

use std::time::SystemTime;

use crate::alert::Alert;
use crate::canary::{CanaryState, CanaryStep};
use crate::deletion::ScheduledDeletion;
use crate::error::CanaryError;
use crate::error::{EventHistoryError, PublishError, RestoreError, WindowStateError};
use crate::ids::AccountId;
use crate::region::RegionName;
use crate::restore::SecretState;
use crate::window::{Carried, Opened, WindowClaim, WindowKey, WindowVerdict};

/// Delivers one alert (SNS in production).
pub trait AlertPublisher {
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Copies of the delivered alerts where the team already works: Security Hub findings, chat.
/// The email is the alert of record, so a copy that cannot be delivered is retried within
/// the invocation and counted (`FindingsUndelivered`, `ChatUndelivered`), and never fails the
/// batch: a retried batch would send every email again for a copy.
pub trait AlertCopies {
    /// Copies of the batch's delivered `alerts`.
    fn deliver(&self, alerts: &[Alert]) -> impl Future<Output = CopiesReport> + Send;

    /// What a delivery of `alerts` cut off by the deadline left undelivered.
    fn undelivered(&self, alerts: usize) -> CopiesReport;
}

/// What the copies of a batch's alerts did not deliver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopiesReport {
    pub findings_undelivered: usize,
    pub chat_undelivered: usize,
}

/// No copies (neither `SECURITY_HUB` nor `CHAT_TOPIC_ARN` set): the email alone.
pub struct NoCopies;

impl AlertCopies for NoCopies {
    async fn deliver(&self, _alerts: &[Alert]) -> CopiesReport {
        CopiesReport::default()
    }

    fn undelivered(&self, _alerts: usize) -> CopiesReport {
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
pub trait SecretInspector {
    fn inspect(
        &self,
        secret_id: &str,
        at: SecretAt<'_>,
    ) -> impl Future<Output = SecretState> + Send;
}

/// Cancels a scheduled deletion (`RestoreSecret` in production).
pub trait SecretRestorer {
    fn restore(
        &self,
        arn: &str,
        at: SecretAt<'_>,
    ) -> impl Future<Output = Result<(), RestoreError>> + Send;
}

/// The canary secret, in the function's own account and region (Secrets Manager in
/// production).
pub trait CanaryVault {
    fn state(&self) -> impl Future<Output = Result<CanaryState, CanaryError>> + Send;

    fn apply(&self, step: CanaryStep) -> impl Future<Output = Result<(), CanaryError>> + Send;
}

/// What CloudTrail Event history holds (`LookupEvents` in production), in the secret's account
/// and region.
pub trait EventHistory {
    /// The record of event `event_id`; `Ok(None)` when Event history does not have it (yet).
    fn event(
        &self,
        event_id: &str,
        at: SecretAt<'_>,
    ) -> impl Future<Output = Result<Option<String>, EventHistoryError>> + Send;

    /// The `DeleteSecret` that scheduled the deletion of `arn` (named `name`) for
    /// `deletion_date`, looked for from the longest recovery window before it until `now`.
    fn scheduled_deletion(
        &self,
        arn: &str,
        name: &str,
        deletion_date: SystemTime,
        now: SystemTime,
        at: SecretAt<'_>,
    ) -> impl Future<Output = Result<Option<ScheduledDeletion>, EventHistoryError>> + Send;
}

/// No Event history: nothing is confirmed, no deletion is found (dry runs, most tests).
pub struct NoEventHistory;

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
}

/// Names an account of the organization (`organizations:DescribeAccount` in production).
/// Optional: `None` when it cannot tell, and the alert gives the id alone.
pub trait AccountNames {
    fn name(&self, account: &AccountId) -> impl Future<Output = Option<String>> + Send;
}

/// No account names: the alert gives account ids only.
pub struct NoAccountNames;

impl AccountNames for NoAccountNames {
    async fn name(&self, _account: &AccountId) -> Option<String> {
        None
    }
}

/// Account names that may be absent: `None` names nothing.
impl<N: AccountNames + Sync> AccountNames for Option<N> {
    async fn name(&self, account: &AccountId) -> Option<String> {
        match self {
            Some(names) => names.name(account).await,
            None => None,
        }
    }
}

/// Keeps the quiet windows ([`crate::window`]): applies the rule to a claim atomically, so two
/// invocations racing for one window never both win it (DynamoDB in production).
pub trait AlertWindows {
    /// Claims the window for the alert, or counts its reads into the window another alert
    /// holds.
    fn claim(
        &self,
        claim: &WindowClaim,
    ) -> impl Future<Output = Result<WindowVerdict, WindowStateError>> + Send;

    /// The claiming alert was delivered at `at`.
    fn confirm(
        &self,
        key: &WindowKey,
        claim_key: &str,
        at: SystemTime,
    ) -> impl Future<Output = Result<(), WindowStateError>> + Send;

    /// The claiming alert was not delivered: the window is free at once.
    fn release(
        &self,
        key: &WindowKey,
        claim_key: &str,
    ) -> impl Future<Output = Result<(), WindowStateError>> + Send;
}

/// No store (`ALERT_STATE_TABLE` unset): every alert goes out. The handler does not ask it
/// when the window is off; if asked, it sends.
pub struct NoWindows;

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

/// A store that may be absent: `None` behaves as [`NoWindows`].
impl<W: AlertWindows + Sync> AlertWindows for Option<W> {
    async fn claim(&self, claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError> {
        match self {
            Some(windows) => windows.claim(claim).await,
            None => NoWindows.claim(claim).await,
        }
    }

    async fn confirm(
        &self,
        key: &WindowKey,
        claim_key: &str,
        at: SystemTime,
    ) -> Result<(), WindowStateError> {
        match self {
            Some(windows) => windows.confirm(key, claim_key, at).await,
            None => Ok(()),
        }
    }

    async fn release(&self, key: &WindowKey, claim_key: &str) -> Result<(), WindowStateError> {
        match self {
            Some(windows) => windows.release(key, claim_key).await,
            None => Ok(()),
        }
    }
}

/// The adapters that tell about a secret: what [`crate::assess`] asks.
pub struct Sources<'a, I, R, E, N> {
    pub inspector: &'a I,
    pub restorer: &'a R,
    pub history: &'a E,
    pub accounts: &'a N,
}

/// Every adapter one batch talks to, as one bundle: the handler is generic over this alone.
pub trait Adapters: Sync {
    type Publisher: AlertPublisher + Sync;
    type Inspector: SecretInspector + Sync;
    type Restorer: SecretRestorer + Sync;
    type Windows: AlertWindows + Sync;
    type History: EventHistory + Sync;
    type Accounts: AccountNames + Sync;
    type Copies: AlertCopies + Sync;

    fn publisher(&self) -> &Self::Publisher;
    fn inspector(&self) -> &Self::Inspector;
    fn restorer(&self) -> &Self::Restorer;
    /// The quiet windows; asked only when the batch has a window.
    fn windows(&self) -> &Self::Windows;
    /// CloudTrail Event history: reads confirmed, deletions found.
    fn history(&self) -> &Self::History;
    /// The organization's account names, for member accounts' alerts.
    fn accounts(&self) -> &Self::Accounts;
    /// Where delivered alerts are copied: Security Hub, chat.
    fn copies(&self) -> &Self::Copies;

    /// The adapters that tell about a secret, for [`crate::assess`].
    fn sources(
        &self,
    ) -> Sources<'_, Self::Inspector, Self::Restorer, Self::History, Self::Accounts> {
        Sources {
            inspector: self.inspector(),
            restorer: self.restorer(),
            history: self.history(),
            accounts: self.accounts(),
        }
    }
}

/// The bundle as borrowed adapters, one of each.
pub struct Ports<'a, P, I, R, W, E, N> {
    pub publisher: &'a P,
    pub inspector: &'a I,
    pub restorer: &'a R,
    pub windows: &'a W,
    pub history: &'a E,
    pub accounts: &'a N,
}

impl<P, I, R, W, E, N> Adapters for Ports<'_, P, I, R, W, E, N>
where
    P: AlertPublisher + Sync,
    I: SecretInspector + Sync,
    R: SecretRestorer + Sync,
    W: AlertWindows + Sync,
    E: EventHistory + Sync,
    N: AccountNames + Sync,
{
    type Publisher = P;
    type Inspector = I;
    type Restorer = R;
    type Windows = W;
    type History = E;
    type Accounts = N;
    type Copies = NoCopies;

    fn publisher(&self) -> &P {
        self.publisher
    }
    fn inspector(&self) -> &I {
        self.inspector
    }
    fn restorer(&self) -> &R {
        self.restorer
    }
    fn windows(&self) -> &W {
        self.windows
    }
    fn history(&self) -> &E {
        self.history
    }
    fn accounts(&self) -> &N {
        self.accounts
    }
    fn copies(&self) -> &NoCopies {
        &NoCopies
    }
}

impl<'a, P, I, R, W, E, N> Ports<'a, P, I, R, W, E, N> {
    /// These adapters, with delivered alerts copied to `copies`.
    pub fn with_copies<C>(self, copies: &'a C) -> WithCopies<'a, Self, C> {
        WithCopies {
            ports: self,
            copies,
        }
    }
}

/// A bundle of adapters, with delivered alerts copied (the function's, when Security Hub or
/// chat is configured).
pub struct WithCopies<'a, A, C> {
    pub ports: A,
    pub copies: &'a C,
}

impl<A: Adapters, C: AlertCopies + Sync> Adapters for WithCopies<'_, A, C> {
    type Publisher = A::Publisher;
    type Inspector = A::Inspector;
    type Restorer = A::Restorer;
    type Windows = A::Windows;
    type History = A::History;
    type Accounts = A::Accounts;
    type Copies = C;

    fn publisher(&self) -> &A::Publisher {
        self.ports.publisher()
    }
    fn inspector(&self) -> &A::Inspector {
        self.ports.inspector()
    }
    fn restorer(&self) -> &A::Restorer {
        self.ports.restorer()
    }
    fn windows(&self) -> &A::Windows {
        self.ports.windows()
    }
    fn history(&self) -> &A::History {
        self.ports.history()
    }
    fn accounts(&self) -> &A::Accounts {
        self.ports.accounts()
    }
    fn copies(&self) -> &C {
        self.copies
    }
}
