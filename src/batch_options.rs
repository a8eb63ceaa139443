//! The settings of one batch run: what the configuration and the invocation give the handler
//! (the deadline and its reserve, the clock, the restore and verification policies).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

// tokio's clock, not std's: tests pause it (`start_paused`), so no test of a deadline waits
// on, or races, real time.
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::alert::AlertContext;
use crate::config::Config;
use crate::detection::SecretTarget;
use crate::expected::{ExpectedReaders, NO_EXPECTED_READERS};
use crate::restore::RestorePolicy;
use crate::scheduled::OnSchedule;
use crate::verification::VerifyReads;

/// What is kept back before the deadline to return the error instead of being killed.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// The SDK calls one secret may make after its lookup's start, each bounded by the SDK's
/// operation timeout: the lookup, the restore, the account's name, the window's claim and the
/// hold that may follow it, the publish, and the confirmation.
const CALLS_PER_SECRET: u32 = 7;

/// One secret's worst case, from its lookup to its window's confirmation: every SDK call at
/// its operation timeout, and Event history's deletion lookup at its limit. The
/// verification's wait is not in it: it only ever takes what is left beyond this reserve.
pub fn secret_reserve(operation_timeout: Duration) -> Duration {
    operation_timeout * CALLS_PER_SECRET + crate::config::DEFAULT_DELETION_LOOKUP_LIMIT
}

/// Settings of one batch run, taken from [`crate::config::Config`] and the invocation.
#[derive(Debug, Clone)]
pub struct BatchOptions<'a> {
    pub restore_policy: &'a RestorePolicy,
    pub athena_table: &'a str,
    pub max_listed_attempts: usize,
    pub max_decoded_bytes: usize,
    /// The account whose secrets can be looked up; a secret elsewhere is reported as such.
    pub account_id: Option<&'a str>,
    /// The function's own region (`AWS_REGION`), where its canary lives.
    pub region: Option<&'a str>,
    /// When the batch arrived (injected by tests); [`BatchOptions::clock`] reads the time
    /// from it at each use.
    pub now: SystemTime,
    /// The monotonic instant that goes with `now`.
    pub started: Instant,
    /// Secrets handled at once.
    pub concurrency: usize,
    /// When the invocation is killed (the Lambda context's deadline), if anything kills it.
    pub deadline: Option<Instant>,
    /// No secret is started with less than this (and the margin kept back to report) left
    /// before `deadline`: one secret's worst case from its lookup to its window's
    /// confirmation ([`secret_reserve`]).
    pub deadline_reserve: Duration,
    /// How long Event history may be asked who scheduled a deletion.
    pub deletion_lookup_limit: Duration,
    /// The SDK's operation timeout: what one call may take. A secret whose lookup is done
    /// needs one less of them to finish.
    pub operation_timeout: Duration,
    /// One alert per secret and caller per this long, kept in the quiet window's store; `None`:
    /// one alert per secret per batch.
    pub alert_window: Option<Duration>,
    /// How long a claimed window whose alert is not confirmed delivered still holds: the time
    /// a publish and its confirmation may take.
    pub claim_grace: Duration,
    /// `MEMBER_ROLE_NAME`: when set, a secret of another account is looked up (and restored)
    /// through this role in its account; unset, it is reported as in another account.
    pub member_role: Option<&'a str>,
    /// `ACCOUNTS`: the member accounts the function may act in; `None`: any.
    pub accounts: Option<&'a BTreeSet<String>>,
    /// `VERIFY_READS`: when reads are confirmed with CloudTrail Event history.
    pub verify_reads: VerifyReads,
    /// `VERIFY_WAIT`: how long Event history may take to have a read.
    pub verify_wait: Duration,
    /// How long between two tries of Event history.
    pub verify_retry: Duration,
    /// `INTENDED_DELETERS`: whose deletions no read cancels.
    pub intended_deleters: &'a [glob::Pattern],
    /// `ON_SCHEDULE` and `SCHEDULE_CHECK_DAYS`: what a scheduled deletion gets.
    pub on_schedule: OnSchedule,
    pub schedule_check_days: u64,
    /// `CANARY_SECRET_NAME`: the stack's canary, whose reads are counted, not alerted.
    pub canary_secret: Option<&'a str>,
    /// `EXPECTED_READERS`: readers counted and logged, never alerted.
    pub expected_readers: &'a ExpectedReaders,
    /// `KMS_ENABLE_AFTER_CANCEL`: a key whose deletion is cancelled (left disabled by KMS) is
    /// enabled too.
    pub kms_enable_after_cancel: bool,
    /// `KMS_KEYS`: keys are watched; off, their records are counted and logged, never alerted.
    pub kms_keys: bool,
}

impl<'a> BatchOptions<'a> {
    /// The options the configuration gives, for a batch handled at `now`.
    pub fn from_config(config: &'a Config, now: SystemTime) -> Self {
        BatchOptions {
            athena_table: &config.athena_table,
            max_listed_attempts: config.max_listed_attempts,
            max_decoded_bytes: config.max_decoded_bytes,
            account_id: config.account_id.as_deref(),
            region: config.region.as_deref(),
            concurrency: config.concurrency,
            deadline_reserve: secret_reserve(config.operation_timeout),
            operation_timeout: config.operation_timeout,
            alert_window: config.quiet_window(),
            claim_grace: config.operation_timeout * 3,
            member_role: config.member_role_name.as_deref(),
            accounts: config.accounts.as_ref(),
            verify_reads: config.verify_reads,
            verify_wait: config.verify_wait,
            intended_deleters: &config.intended_deleters,
            on_schedule: config.on_schedule,
            schedule_check_days: config.schedule_check_days,
            canary_secret: config.canary_secret_name.as_deref(),
            expected_readers: &config.expected_readers,
            kms_enable_after_cancel: config.kms_enable_after_cancel,
            kms_keys: config.kms_keys,
            ..Self::with_defaults(&config.restore_policy, now)
        }
    }

    /// The defaults of [`Config`] for `policy`, for a batch handled at `now`: what tests,
    /// benchmarks and the fuzz harness start from.
    pub fn with_defaults(restore_policy: &'a RestorePolicy, now: SystemTime) -> Self {
        BatchOptions {
            restore_policy,
            athena_table: crate::config::DEFAULT_ATHENA_TABLE,
            max_listed_attempts: crate::config::DEFAULT_MAX_LISTED_ATTEMPTS,
            max_decoded_bytes: crate::logs::DEFAULT_MAX_DECODED_BYTES,
            account_id: None,
            region: None,
            now,
            started: Instant::now(),
            concurrency: crate::config::DEFAULT_CONCURRENCY,
            deadline: None,
            deadline_reserve: Duration::ZERO,
            deletion_lookup_limit: crate::config::DEFAULT_DELETION_LOOKUP_LIMIT,
            operation_timeout: crate::config::DEFAULT_OPERATION_TIMEOUT,
            alert_window: None,
            claim_grace: Duration::from_secs(30),
            member_role: None,
            accounts: None,
            verify_reads: VerifyReads::Restore,
            verify_wait: crate::config::DEFAULT_VERIFY_WAIT,
            verify_retry: Duration::from_secs(2),
            intended_deleters: &[],
            on_schedule: OnSchedule::Alert,
            schedule_check_days: crate::scheduled::DEFAULT_CHECK_DAYS,
            canary_secret: None,
            expected_readers: &NO_EXPECTED_READERS,
            kms_enable_after_cancel: false,
            kms_keys: true,
        }
    }

    /// The time now: `now` moved on by what has passed since the batch arrived. The quiet
    /// window's claim and confirmation read it when they happen, not once per batch.
    pub fn clock(&self) -> SystemTime {
        self.now + self.started.elapsed()
    }

    /// Whether reads of `target` are the canary's.
    pub(crate) fn is_canary(&self, target: &SecretTarget) -> bool {
        self.canary_secret.is_some_and(|canary| {
            crate::canary::is_canary(
                (
                    target.name_held(),
                    target.account_id.as_deref(),
                    target.region.as_deref(),
                ),
                canary,
                (self.account_id, self.region),
            )
        })
    }

    /// Whether a secret may still be started: its worst case fits before the deadline.
    pub(crate) fn has_room_for_a_secret(&self) -> bool {
        self.has_room_for(self.deadline_reserve)
    }

    /// Whether a secret that was looked up may go on: the rest of its worst case fits.
    pub(crate) fn has_room_after_its_lookup(&self) -> bool {
        self.has_room_for(self.deadline_reserve.saturating_sub(self.operation_timeout))
    }

    fn has_room_for(&self, reserve: Duration) -> bool {
        self.deadline
            .is_none_or(|deadline| Instant::now() + reserve + DEADLINE_MARGIN <= deadline)
    }

    /// What alert composition needs of these options, for alerts about `log_group`.
    pub fn alert_context<'b>(&'b self, log_group: &'b str) -> AlertContext<'b> {
        AlertContext {
            log_group,
            athena_table: self.athena_table,
            restore_policy: self.restore_policy,
            max_listed_attempts: self.max_listed_attempts,
            now: self.now,
        }
    }
}

/// Runs `work`, at most `options.concurrency` at a time, until done or until just before the
/// deadline. `None` marks a piece cut off in flight; the flag says whether any was.
pub(crate) async fn under_deadline<T, F: Future<Output = T>>(
    work: impl Iterator<Item = F>,
    options: &BatchOptions<'_>,
) -> (Vec<Option<T>>, bool) {
    let work: Vec<F> = work.collect();
    let mut results: Vec<Option<T>> = work.iter().map(|_| None).collect();
    let indexed = work
        .into_iter()
        .enumerate()
        .map(|(index, piece)| async move { (index, piece.await) });
    let mut running =
        futures_util::stream::iter(indexed).buffer_unordered(options.concurrency.max(1));
    let collect = async {
        while let Some((index, result)) = running.next().await {
            results[index] = Some(result);
        }
    };
    let cut_off = match options.deadline {
        Some(deadline) => {
            let stop = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
            tokio::time::timeout_at(stop, collect).await.is_err()
        }
        None => {
            collect.await;
            false
        }
    };
    (results, cut_off)
}
