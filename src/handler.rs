//! One batch: decode -> detect -> look up -> maybe restore -> compose -> publish -> summary.
//!
//! Batch semantics:
//! - A payload that cannot be decoded (base64, gzip, size cap, envelope) fails the invocation:
//!   nothing in it can be read, and Lambda's retries and on-failure destination keep it.
//! - A log event whose message is not a CloudTrail record (not a JSON object, or not the shape
//!   we read) is counted as malformed, logged by its log event id, and skipped; the rest of
//!   the batch goes on. Messages that cannot match the rule are never parsed
//!   ([`crate::detection::may_match`]), so a broken message that could not match anyway is
//!   only counted when it does not even start like a JSON object.
//! - Findings are grouped per secret: one alert per secret per batch.
//! - A failed lookup or restore never fails the invocation; the alert says what went wrong.
//! - A failed publish fails the invocation, after every other alert of the batch has been
//!   tried, with an error naming the undelivered secrets and events. Lambda then retries the
//!   whole batch, so delivery is at least once: receivers drop repeats by the alert's
//!   de-duplication key (a hash of the secret and its CloudTrail event ids, the same on every
//!   try). Restores are idempotent across tries: a secret restored by the first try is no
//!   longer pending deletion on the second, so it is not restored again.

use std::time::SystemTime;

use serde::Serialize;

use crate::alert::{Alert, AlertContext, compose};
use crate::config::Config;
use crate::detection::{PendingDeletionAccess, SecretTarget, parse_batch, scan_log_events};
use crate::error::{HandlerError, PublishError};
use crate::logs::{inflate_payload, recycle};
use crate::ports::{AlertPublisher, SecretInspector, SecretRestorer};
use crate::restore::{
    RestoreDecision, RestoreOutcome, RestorePolicy, SecretState, decide, dry_run_outcome,
};

/// Malformed log events named in the logs per batch; the summary line counts them all.
const MAX_LOGGED_MALFORMED: usize = 20;
/// Reads named one log line each per batch; the alerts list them, the summary counts them all.
const MAX_LOGGED_READS: usize = 100;

/// Settings of one batch run, taken from [`crate::config::Config`] and the invocation.
#[derive(Debug, Clone)]
pub struct BatchOptions<'a> {
    pub restore_policy: &'a RestorePolicy,
    pub athena_table: &'a str,
    pub max_listed_attempts: usize,
    pub max_decoded_bytes: usize,
    /// The account whose secrets can be looked up; a secret elsewhere is reported as such.
    pub account_id: Option<&'a str>,
    /// Look nothing up and restore nothing; the alert says what the policy would do.
    pub dry_run: bool,
    pub now: SystemTime,
}

impl<'a> BatchOptions<'a> {
    /// The options the configuration gives, for a batch handled at `now`.
    pub fn from_config(config: &'a Config, dry_run: bool, now: SystemTime) -> Self {
        BatchOptions {
            restore_policy: &config.restore_policy,
            athena_table: &config.athena_table,
            max_listed_attempts: config.max_listed_attempts,
            max_decoded_bytes: config.max_decoded_bytes,
            account_id: config.account_id.as_deref(),
            dry_run,
            now,
        }
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

/// The adapters one batch talks to.
pub struct Ports<'a, P, I, R> {
    pub publisher: &'a P,
    pub inspector: &'a I,
    pub restorer: &'a R,
}

/// What one batch did, logged as one line and returned as the invocation's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub message_type: String,
    pub log_group: String,
    /// Log events in the batch.
    pub records: usize,
    /// Records that passed the cheap pre-check and were parsed.
    pub parsed: usize,
    /// Pending-deletion reads found.
    pub matched: usize,
    /// Log events skipped because they are not CloudTrail records.
    pub malformed: usize,
    /// Reads dropped because their CloudTrail event id was already in the batch.
    pub duplicates: usize,
    pub secrets: usize,
    pub alerts_published: usize,
    pub restored: usize,
    /// De-duplication keys of the alerts delivered.
    pub delivered: Vec<String>,
}

pub async fn handle_batch<P, I, R>(
    data: &(impl AsRef<[u8]> + ?Sized),
    ports: &Ports<'_, P, I, R>,
    options: &BatchOptions<'_>,
) -> Result<BatchSummary, HandlerError>
where
    P: AlertPublisher,
    I: SecretInspector,
    R: SecretRestorer,
{
    let decoded = inflate_payload(data, options.max_decoded_bytes).inspect_err(|error| {
        tracing::error!(%error, "cannot decode the subscription payload");
    })?;
    let batch = parse_batch(&decoded).inspect_err(|error| {
        tracing::error!(%error, "cannot decode the subscription payload");
    })?;
    let mut summary = BatchSummary {
        message_type: batch.message_type.to_string(),
        log_group: batch.log_group.to_string(),
        records: batch.events().len(),
        ..BatchSummary::default()
    };
    if batch.is_control() {
        tracing::info!(log_group = %batch.log_group, "control message: the subscription reached the function");
        return Ok(summary);
    }
    if !batch.is_data() {
        tracing::warn!(message_type = %batch.message_type, "unknown messageType; reading its log events as data");
    }

    let findings = scan_log_events(&batch);
    // Named one by one up to a point: a broken producer must not flood the function's logs.
    for (log_event_id, reason) in findings.malformed.iter().take(MAX_LOGGED_MALFORMED) {
        tracing::warn!(%log_event_id, reason, "skipped a log event that is not a CloudTrail record");
    }
    for access in findings.by_secret.values().flatten().take(MAX_LOGGED_READS) {
        tracing::warn!(
            event_id = access.event_id.as_deref().unwrap_or(""),
            secret_id = %access.target.secret_id,
            principal = access.who.principal.short_name(),
            "read of a secret pending deletion"
        );
    }
    summary.parsed = findings.parsed;
    summary.matched = findings.matched;
    summary.malformed = findings.malformed.len();
    summary.duplicates = findings.duplicates;
    let by_secret = findings.by_secret;
    summary.secrets = by_secret.len();

    let context = options.alert_context(&batch.log_group);
    let mut secrets_manager_unreachable = false;
    let mut failures: Vec<PublishError> = Vec::new();
    for (target, attempts) in &by_secret {
        let (alert, outcome) = alert_for(
            target,
            attempts,
            ports.inspector,
            ports.restorer,
            options,
            &context,
            &mut secrets_manager_unreachable,
        )
        .await;
        if outcome == RestoreOutcome::Restored {
            summary.restored += 1;
        }
        match ports.publisher.publish(&alert).await {
            Ok(()) => {
                summary.alerts_published += 1;
                summary.delivered.push(alert.dedup_key().to_owned());
            }
            Err(error) => {
                tracing::error!(dedup_key = alert.dedup_key(), %error, "alert not delivered");
                failures.push(error);
            }
        }
    }

    tracing::info!(
        message_type = %summary.message_type,
        log_group = %summary.log_group,
        records = summary.records,
        parsed = summary.parsed,
        matched = summary.matched,
        malformed = summary.malformed,
        duplicates = summary.duplicates,
        secrets = summary.secrets,
        alerts_published = summary.alerts_published,
        alerts_failed = failures.len(),
        restored = summary.restored,
        delivered = %summary.delivered.join(","),
        "batch done"
    );
    drop(batch);
    recycle(decoded);
    let failed = failures.len();
    match failures.into_iter().next() {
        None => Ok(summary),
        Some(first) => Err(HandlerError::Undelivered {
            failed,
            total: summary.secrets,
            delivered: if summary.delivered.is_empty() {
                "none".to_owned()
            } else {
                summary.delivered.join(",")
            },
            first,
        }),
    }
}

/// One secret's alert: look the secret up (unless a dry run), apply the restore policy
/// (restoring if it says so), and compose. Shared by the function and the look-back scan.
pub async fn alert_for<I, R>(
    target: &SecretTarget,
    attempts: &[PendingDeletionAccess],
    inspector: &I,
    restorer: &R,
    options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    secrets_manager_unreachable: &mut bool,
) -> (Alert, RestoreOutcome)
where
    I: SecretInspector,
    R: SecretRestorer,
{
    let state = secret_state(target, inspector, options, secrets_manager_unreachable).await;
    let outcome = if options.dry_run {
        dry_run_outcome(options.restore_policy)
    } else {
        match decide(options.restore_policy, &state) {
            RestoreDecision::Skip(outcome) => outcome,
            RestoreDecision::Restore { arn } => {
                match restorer.restore(&arn, target.region.as_deref()).await {
                    Ok(()) => {
                        tracing::warn!(secret_arn = %arn, "cancelled the scheduled deletion");
                        RestoreOutcome::Restored
                    }
                    Err(error) => {
                        tracing::error!(secret_arn = %arn, %error, "could not cancel the scheduled deletion");
                        RestoreOutcome::Failed(error.0)
                    }
                }
            }
        }
    };
    (compose(attempts, &state, &outcome, context), outcome)
}

async fn secret_state<I: SecretInspector>(
    target: &SecretTarget,
    inspector: &I,
    options: &BatchOptions<'_>,
    unreachable: &mut bool,
) -> SecretState {
    if options.dry_run {
        return SecretState::NotLookedUp {
            reason: "dry run".to_owned(),
        };
    }
    if let (Some(secret_account), Some(function_account)) = (&target.account_id, options.account_id)
        && secret_account != function_account
    {
        return SecretState::OtherAccount {
            secret_account: secret_account.clone(),
            function_account: function_account.to_owned(),
        };
    }
    if *unreachable {
        // One timeout per batch is enough: the next lookups would only wait out theirs too.
        return SecretState::LookupFailed {
            reason: "skipped: Secrets Manager was unreachable earlier in this batch".to_owned(),
            unreachable: true,
        };
    }
    let state = inspector.inspect(target).await;
    if let SecretState::LookupFailed {
        unreachable: true, ..
    } = &state
    {
        *unreachable = true;
    }
    state
}
