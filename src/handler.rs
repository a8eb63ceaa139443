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
//! - Findings are grouped per secret: each secret is looked up (and restored) once per batch.
//!   A read whose record names no secret is grouped with the other unnamed reads of its
//!   account and region; it is never looked up, restored, or called purged.
//! - Without a quiet window (`ALERT_STATE_TABLE` unset, or `ALERT_WINDOW=0`), one alert per
//!   secret per batch. With one, one alert per secret and caller per window
//!   ([`crate::window`]): each caller's reads are claimed in the store; a claim that is
//!   refused is counted, not sent. A claim is confirmed after its publish, and released
//!   after a failed one, so suppression never hides an alert that was not delivered. A store
//!   that fails (missing table, throttling, unreachable) is not asked again in the batch, and
//!   every alert goes out as if there were no store: a louder inbox beats a silent one.
//! - The secrets of a batch are handled concurrently, at most `concurrency` at a time: each
//!   one's lookup, restore and publish take up to the SDK's operation timeout, and one after
//!   another they could outlive the function's timeout.
//! - The invocation's deadline is watched: no secret is started with less than
//!   `deadline_reserve` left, and whatever is still in flight just before the deadline is
//!   cut off. Both count as undelivered, so the invocation fails naming them rather than be
//!   killed mid-publish with nothing said.
//! - A failed lookup or restore never fails the invocation; the alert says what went wrong.
//! - Nothing is restored on the log group's word: unless `VERIFY_READS=off`, a restore waits
//!   for CloudTrail Event history to confirm a read ([`crate::assess`]).
//! - A failed publish fails the invocation, after every other alert of the batch has been
//!   tried, with an error naming the undelivered secrets and events, and carrying the
//!   summary (the metric line is written for failed batches too). Lambda then retries the
//!   whole batch, so delivery is at least once. With a quiet window's table, an alert the
//!   table recorded as delivered is not sent again on the retry (it is counted as
//!   `alerts_already_delivered`); without one, the retry sends the batch's delivered alerts
//!   again: those duplicates are inherent, and receivers drop them by the alert's
//!   de-duplication key (a hash of the secret and its CloudTrail event ids, the same on every
//!   try). Each try reports what it saw, so a retried batch is counted again in the metric.
//! - Restores are idempotent across tries: a secret restored by the first try is no longer
//!   pending deletion on the second, so it is not restored again, and the retry's alert says
//!   `no_longer_pending` rather than "not restored".

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::alert::{
    Alert, AlertContext, ExpectedLeftOut, UNNAMED_SECRET, compose, dedup_key_of, event_id_list,
};
use crate::assess::{Assessment, LookupSkips, assess, look_up};
use crate::batch_options::under_deadline;
pub use crate::batch_options::{BatchOptions, secret_reserve};
pub use crate::batch_summary::BatchSummary;
use crate::caller::CallerKey;
use crate::detection::{PendingDeletionAccess, SecretTarget, scan_log_events};
use crate::error::{
    Chain, DecodeError, HandlerError, PublishError, PublishFailure, WindowStateError,
};
use crate::expected::SecretNames;
use crate::key_check::handle_key_uses;
use crate::key_schedule_check::handle_key_deletions;
use crate::logs::{Inflater, LogBatch, read_up_to_cap};
pub use crate::ports::Adapters;
use crate::ports::{AlertPublisher, CopiesReport};
use crate::restore::{LookupFailure, RestoreOutcome, SecretState, Severity};
use crate::schedule_check::handle_deletions;
use crate::window::{Opened, ReadId, WindowClaim, WindowKey, WindowNote, WindowVerdict};

/// Malformed log events named in the logs per batch; the summary line counts them all.
const MAX_LOGGED_MALFORMED: usize = 20;
/// Reads named one log line each per batch; the alerts list them, the summary counts them all.
const MAX_LOGGED_READS: usize = 100;
/// Undelivered secrets named in the invocation's error; the count names them all.
const MAX_NAMED_UNDELIVERED: usize = 20;

/// What became of one secret: its restore, and each of its alerts (one, or one per caller).
struct SecretResult {
    /// What became of the deletion (`None`: the secret was not started).
    outcome: Option<RestoreOutcome>,
    /// Why its lookup failed, if it did.
    lookup_failure: Option<LookupFailure>,
    alerts: Vec<AlertResult>,
    /// Reads a rule of `EXPECTED_READERS` marked: counted, not alerted.
    expected: usize,
}

impl SecretResult {
    fn not_started(failure: PublishError) -> Self {
        SecretResult {
            outcome: None,
            lookup_failure: None,
            alerts: vec![AlertResult::Undelivered(failure)],
            expected: 0,
        }
    }
}

/// What became of one alert.
enum AlertResult {
    /// Published: the alert, for its copies ([`crate::ports::AlertCopies`]).
    Delivered(Box<Alert>),
    /// Delivered by an earlier try of this batch (the quiet window's store says so): not
    /// sent again; its de-duplication key.
    AlreadyDelivered(String),
    /// Held back by the quiet window.
    Held,
    Undelivered(PublishError),
}

/// What the secrets of one batch share while they run concurrently.
#[derive(Default)]
struct BatchState {
    lookups: LookupSkips,
    /// The window store failed once: it is not asked again in this batch.
    windows_failed: AtomicBool,
    window_errors: AtomicUsize,
    first_window_error: Mutex<Option<String>>,
    /// Stored windows that held what this function never writes: claimed over, counted.
    corrupt_windows: AtomicUsize,
}

impl BatchState {
    fn window_failed(&self, error: &WindowStateError) {
        tracing::error!(%error, "the alert state table failed: alerting as if there were none");
        self.windows_failed.store(true, Ordering::Relaxed);
        self.window_errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_window_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        first.get_or_insert_with(|| error.to_string());
    }
}

/// One batch, read from `data`: the base64 text of `awslogs.data`.
pub async fn handle_batch(
    data: &(impl AsRef<[u8]> + ?Sized),
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Result<BatchSummary, HandlerError> {
    let limit = options.max_decoded_bytes;
    let inflated = Inflater::default().inflate_payload(data, limit);
    let (decoded, cut) = match inflated {
        Ok(decoded) => (decoded, None),
        // Read up to the cap: a batch inflated past it (by anyone who can make large
        // records) must not take every other read in it down with it.
        Err(DecodeError::TooLarge { .. }) => {
            let capped = read_up_to_cap(data, limit)?;
            (
                capped.envelope,
                Some((capped.events_unread, capped.count_is_lower_bound)),
            )
        }
        Err(error) => return Err(error.into()),
    };
    let mut result = handle_envelope(&decoded, ports, options).await;
    if let Some((unread, lower_bound)) = cut {
        past_the_cap(&mut result, limit, unread, lower_bound);
    }
    let summary = match &result {
        Ok(summary) => Some(summary),
        Err(error) => error.summary(),
    };
    if let Some(summary) = summary {
        log_summary(summary);
    }
    result
}

/// One inflated batch.
async fn handle_envelope(
    decoded: &[u8],
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Result<BatchSummary, HandlerError> {
    // CloudWatch Logs delivers UTF-8. Should a batch hold bytes that are not, they are read
    // as U+FFFD rather than let one bad byte keep every other read of the batch from alerting.
    let replaced: String;
    let batch = match LogBatch::parse(decoded) {
        Err(DecodeError::Envelope(_)) if std::str::from_utf8(decoded).is_err() => {
            tracing::warn!(
                "the batch is not valid UTF-8: reading it with the invalid bytes replaced"
            );
            replaced = String::from_utf8_lossy(decoded).into_owned();
            LogBatch::parse(replaced.as_bytes())?
        }
        read => read?,
    };
    let header = &batch.header;
    let mut summary = BatchSummary {
        message_type: header.message_type.to_string(),
        log_group: header.log_group.to_string(),
        records: Some(batch.events().len()),
        ..BatchSummary::default()
    };
    if header.is_control() {
        tracing::info!(log_group = %header.log_group, "control message: the subscription reached the function");
        return Ok(summary);
    }
    if !header.is_data() {
        tracing::warn!(message_type = %header.message_type, "unknown messageType; reading its log events as data");
    }
    let mut findings = scan_log_events(&batch);
    findings.merge_namings();
    // Named one by one up to a point: a broken producer must not flood the function's logs.
    for (log_event_id, reason) in findings.malformed.iter().take(MAX_LOGGED_MALFORMED) {
        tracing::warn!(%log_event_id, reason, "skipped a log event that is not a CloudTrail record");
    }
    for access in findings.by_secret.values().flatten().take(MAX_LOGGED_READS) {
        tracing::warn!(
            event_id = access.event_id.as_deref().unwrap_or(""),
            secret_id = access.target.secret_id.as_deref().unwrap_or("(not named)"),
            principal = access.who.principal.short_name(),
            "read of a secret pending deletion"
        );
    }
    summary.parsed = findings.parsed;
    summary.matched = findings.matched;
    summary.malformed = findings.malformed.len();
    summary.duplicates = findings.duplicates;
    let deletions = std::mem::take(&mut findings.deletions);
    let mut key_uses = std::mem::take(&mut findings.key_uses);
    let mut key_deletions = std::mem::take(&mut findings.key_deletions);
    if !options.kms_keys && (!key_uses.is_empty() || !key_deletions.is_empty()) {
        tracing::info!(
            key_uses = key_uses.len(),
            key_deletions = key_deletions.len(),
            "KMS keys' records in the batch; KMS_KEYS=off"
        );
        summary.key_uses = key_uses.len();
        key_uses.clear();
        key_deletions.clear();
    }
    let (canary, named): (Vec<_>, Vec<_>) = findings
        .by_secret
        .into_iter()
        .partition(|(target, _)| options.is_canary(target));
    summary.canary_reads = canary.iter().map(|(_, reads)| reads.len()).sum();
    if summary.canary_reads > 0 {
        tracing::info!(
            reads = summary.canary_reads,
            "the canary's reads reached the function"
        );
    }

    let context = options.alert_context(&batch.header.log_group);
    let shared = BatchState::default();
    let lookups = named.iter().map(|(target, _)| async {
        if !options.has_room_for_a_secret() {
            return None;
        }
        Some(look_up(target, ports.inspector, options, &shared.lookups).await)
    });
    let (states, lookups_cut_off) = under_deadline(lookups, options).await;
    let secrets = one_per_secret(named, states.into_iter().map(Option::flatten).collect());
    summary.secrets = secrets.len();
    let work = secrets
        .iter()
        .map(|secret| alert_and_publish(secret, ports, options, &context, &shared));
    let (results, cut_off) = under_deadline(work, options).await;
    summary.alert_state_errors = shared.window_errors.load(Ordering::Relaxed);
    summary.window_items_corrupt = shared.corrupt_windows.load(Ordering::Relaxed);
    summary.alert_state_unavailable = shared
        .first_window_error
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if cut_off || lookups_cut_off {
        tracing::error!(
            "the invocation's deadline is near: cutting off the alerts still in flight"
        );
    }

    let mut failures: Vec<PublishError> = Vec::new();
    let mut delivered: Vec<Alert> = Vec::new();
    for (secret, result) in secrets.iter().zip(results) {
        let result = result.unwrap_or_else(|| {
            SecretResult::not_started(not_delivered(
                &secret.target,
                &secret.reads,
                PublishFailure::Deadline("cut off in flight"),
            ))
        });
        match &result.outcome {
            Some(RestoreOutcome::Restored) => summary.restored += 1,
            Some(RestoreOutcome::Unverified(_)) => summary.restores_unverified += 1,
            Some(RestoreOutcome::Failed(_)) => summary.restores_failed += 1,
            _ => {}
        }
        summary.reads_expected += result.expected;
        match result.lookup_failure {
            Some(LookupFailure::MemberRole) => summary.member_role_failures += 1,
            Some(_) => summary.lookup_failures += 1,
            None => {}
        }
        for alert in result.alerts {
            match alert {
                AlertResult::Delivered(alert) => {
                    summary.alerts_published += 1;
                    summary.delivered.push(alert.dedup_key().to_owned());
                    delivered.push(*alert);
                }
                AlertResult::AlreadyDelivered(dedup_key) => {
                    summary.alerts_already_delivered += 1;
                    summary.delivered.push(dedup_key);
                }
                AlertResult::Held => summary.alerts_suppressed += 1,
                AlertResult::Undelivered(error) => {
                    tracing::error!(error = %Chain(&error), "alert not delivered");
                    failures.push(error);
                }
            }
        }
    }
    let scheduled = Box::pin(handle_deletions(deletions, ports, options)).await;
    summary.deletions_scheduled = scheduled.seen;
    summary.scheduled_alerts_published = scheduled.delivered.len();
    summary.deletions_cancelled = scheduled.cancelled;
    summary.alerts_already_delivered += scheduled.already_delivered.len();
    summary.delivered.extend(scheduled.already_delivered);
    summary
        .delivered
        .extend(scheduled.delivered.iter().map(|a| a.dedup_key().to_owned()));
    failures.extend(scheduled.failures);
    let keys = Box::pin(handle_key_uses(key_uses, ports, options)).await;
    summary.key_uses += keys.seen;
    summary.key_alerts_published = keys.delivered.len();
    summary.alerts_suppressed += keys.held;
    summary.alerts_already_delivered += keys.already_delivered.len();
    summary.delivered.extend(keys.already_delivered);
    summary
        .delivered
        .extend(keys.delivered.iter().map(|a| a.dedup_key().to_owned()));
    failures.extend(keys.failures);
    // A key's deletion being scheduled counts with the secrets' (`DeletionsScheduled`).
    let key_scheduled = Box::pin(handle_key_deletions(key_deletions, ports, options)).await;
    summary.deletions_scheduled += key_scheduled.seen;
    summary.scheduled_alerts_published += key_scheduled.delivered.len();
    summary.deletions_cancelled += key_scheduled.cancelled;
    summary.alerts_already_delivered += key_scheduled.already_delivered.len();
    summary.delivered.extend(key_scheduled.already_delivered);
    summary.delivered.extend(
        key_scheduled
            .delivered
            .iter()
            .map(|a| a.dedup_key().to_owned()),
    );
    failures.extend(key_scheduled.failures);
    let mut key_alerts = keys.delivered;
    key_alerts.extend(key_scheduled.delivered);
    if !key_alerts.is_empty() {
        let copies = Box::pin(ports.copies.deliver_keys(&key_alerts));
        let (copied, _) = under_deadline(std::iter::once(copies), options).await;
        let report = copied.into_iter().flatten().next().unwrap_or_else(|| {
            tracing::error!(
                "the invocation's deadline is near: the key alerts' copies were cut off"
            );
            ports.copies.undelivered(key_alerts.len())
        });
        summary.findings_undelivered += report.findings_undelivered;
        summary.chat_undelivered += report.chat_undelivered;
    }
    if !scheduled.delivered.is_empty() {
        let copies = Box::pin(ports.copies.deliver_scheduled(&scheduled.delivered));
        let (copied, _) = under_deadline(std::iter::once(copies), options).await;
        let report = copied.into_iter().flatten().next().unwrap_or_else(|| {
            tracing::error!(
                "the invocation's deadline is near: the scheduled alerts' copies were cut off"
            );
            ports.copies.undelivered(scheduled.delivered.len())
        });
        summary.findings_undelivered += report.findings_undelivered;
        summary.chat_undelivered += report.chat_undelivered;
    }
    summary.alerts_undelivered = failures.len();
    if !delivered.is_empty() {
        // Boxed: the copies' futures (Security Hub, chat) would otherwise nest inside the
        // batch's, past what the compiler lays out by default.
        let copies = Box::pin(ports.copies.deliver(&delivered));
        let (copied, _) = under_deadline(std::iter::once(copies), options).await;
        let report: CopiesReport = copied.into_iter().flatten().next().unwrap_or_else(|| {
            tracing::error!("the invocation's deadline is near: the alerts' copies were cut off");
            ports.copies.undelivered(delivered.len())
        });
        summary.findings_undelivered += report.findings_undelivered;
        summary.chat_undelivered += report.chat_undelivered;
    }

    let failed = failures.len();
    let undelivered = named_list(failures.iter().map(|f| f.secret.as_str()), failed);
    match failures.into_iter().next() {
        None => Ok(summary),
        Some(first) => Err(HandlerError::Undelivered {
            failed,
            total: summary.alerts_published + failed,
            undelivered,
            delivered: if summary.delivered.is_empty() {
                "none".to_owned()
            } else {
                summary.delivered.join(",")
            },
            first,
            summary: Box::new(summary),
        }),
    }
}

/// The result of a batch read up to the cap: its log events beyond were not read, so the
/// invocation fails (after the alerts of what was read went out), and the on-failure
/// destination keeps the batch for a replay through `invoke`.
fn past_the_cap(
    result: &mut Result<BatchSummary, HandlerError>,
    limit: usize,
    unread: u64,
    lower_bound: bool,
) {
    let unread_text = if lower_bound {
        format!("at least {unread}")
    } else {
        unread.to_string()
    };
    tracing::error!(
        limit,
        unread = %unread_text,
        "the batch inflates past the cap: the log events before it were handled, the rest not read"
    );
    match result {
        Ok(summary) => {
            summary.records_unread = unread;
            let summary = std::mem::take(summary);
            *result = Err(HandlerError::Unread {
                limit,
                read: summary.records.unwrap_or_default(),
                unread: unread_text,
                summary: Box::new(summary),
            });
        }
        Err(HandlerError::Undelivered { summary, .. }) => summary.records_unread = unread,
        Err(_) => {}
    }
}

/// The batch's one line in the function's log.
fn log_summary(summary: &BatchSummary) {
    tracing::info!(
        message_type = %summary.message_type,
        log_group = %summary.log_group,
        records = summary.records.unwrap_or_default(),
        records_unread = summary.records_unread,
        parsed = summary.parsed,
        matched = summary.matched,
        malformed = summary.malformed,
        duplicates = summary.duplicates,
        secrets = summary.secrets,
        alerts_published = summary.alerts_published,
        alerts_undelivered = summary.alerts_undelivered,
        alerts_suppressed = summary.alerts_suppressed,
        alerts_already_delivered = summary.alerts_already_delivered,
        alert_state_errors = summary.alert_state_errors,
        alert_state_unavailable = summary.alert_state_unavailable.as_deref().unwrap_or(""),
        restored = summary.restored,
        restores_unverified = summary.restores_unverified,
        restores_failed = summary.restores_failed,
        lookup_failures = summary.lookup_failures,
        member_role_failures = summary.member_role_failures,
        canary_reads = summary.canary_reads,
        deletions_scheduled = summary.deletions_scheduled,
        scheduled_alerts_published = summary.scheduled_alerts_published,
        deletions_cancelled = summary.deletions_cancelled,
        key_uses = summary.key_uses,
        key_alerts_published = summary.key_alerts_published,
        reads_expected = summary.reads_expected,
        findings_undelivered = summary.findings_undelivered,
        chat_undelivered = summary.chat_undelivered,
        delivered = %summary.delivered.join(","),
        "batch done"
    );
}

/// One secret of a batch: its reads, however they named it, and its state as looked up
/// (`None`: not looked up before the deadline).
struct Secret {
    target: SecretTarget,
    reads: Vec<PendingDeletionAccess>,
    state: Option<SecretState>,
}

/// The batch's secrets once looked up: groups whose lookups found one ARN (a name, a partial
/// ARN and a full ARN of one secret) become one, named as precisely as any read named it, so
/// that one secret has one alert and at most one restore.
fn one_per_secret(
    named: Vec<(SecretTarget, Vec<PendingDeletionAccess>)>,
    states: Vec<Option<SecretState>>,
) -> Vec<Secret> {
    let mut secrets: Vec<Secret> = Vec::new();
    let mut by_arn: BTreeMap<String, usize> = BTreeMap::new();
    for ((target, reads), state) in named.into_iter().zip(states) {
        if let Some(arn) = state.as_ref().and_then(SecretState::arn) {
            if let Some(&index) = by_arn.get(arn) {
                let secret = &mut secrets[index];
                secret.reads.extend(reads);
                if target.naming() > secret.target.naming() {
                    secret.target = target;
                }
                continue;
            }
            by_arn.insert(arn.to_owned(), secrets.len());
        }
        secrets.push(Secret {
            target,
            reads,
            state,
        });
    }
    secrets
}

/// One secret, start to end: unless the deadline is too near, the policy applied to its
/// state, then its alert (or, with a quiet window, one per caller) and the publish.
async fn alert_and_publish(
    secret: &Secret,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    shared: &BatchState,
) -> SecretResult {
    let (target, attempts) = (&secret.target, secret.reads.as_slice());
    let state = match &secret.state {
        Some(state) if options.has_room_after_its_lookup() => state.clone(),
        _ => {
            return SecretResult::not_started(not_delivered(
                target,
                attempts,
                PublishFailure::Deadline("not started"),
            ));
        }
    };
    let lookup_failure = match &state {
        SecretState::LookupFailed { cause, .. } => Some(*cause),
        _ => None,
    };
    let (unexpected, left_out) = leave_out_expected(target, &state, attempts, options);
    let expected = left_out.as_ref().map_or(0, |left_out| left_out.reads);
    if unexpected.is_empty() {
        // Every read is expected: no alert, no restore.
        return SecretResult {
            outcome: None,
            lookup_failure,
            alerts: Vec::new(),
            expected,
        };
    }
    let attempts = unexpected.as_slice();
    let mut assessment = assess(target, attempts, state, ports, options).await;
    assessment.evidence.expected_left_out = left_out;
    let outcome = Some(assessment.outcome.clone());
    // A read Event history confirmed is told as Event history has it.
    let reads = assessment.reads(attempts);
    let attempts = reads.as_slice();
    let Some(window) = options.alert_window else {
        let alert = compose_for(attempts, &assessment, None, context);
        return SecretResult {
            outcome,
            lookup_failure,
            alerts: vec![publish(ports.publisher, alert).await],
            expected,
        };
    };
    let mut alerts = Vec::new();
    for (caller, reads) in by_caller(attempts) {
        let found = Found {
            target,
            reads: &reads,
            assessment: &assessment,
        };
        let alert = windowed_alert(found, caller, window, ports, options, context, shared);
        alerts.push(alert.await);
    }
    SecretResult {
        outcome,
        lookup_failure,
        alerts,
        expected,
    }
}

/// The reads of one secret that no rule of `EXPECTED_READERS` marks, and what was left out:
/// each expected read is logged with the rule that marked it.
fn leave_out_expected(
    target: &SecretTarget,
    state: &SecretState,
    attempts: &[PendingDeletionAccess],
    options: &BatchOptions<'_>,
) -> (Vec<PendingDeletionAccess>, Option<ExpectedLeftOut>) {
    let rules = options.expected_readers;
    if rules.is_empty() {
        return (attempts.to_vec(), None);
    }
    for rule in rules.newly_expired(options.now) {
        tracing::warn!(
            rule = rule.number,
            reason = %rule.reason,
            until = %rule.until.map(humantime::format_rfc3339_seconds).map(|t| t.to_string()).unwrap_or_default(),
            "an EXPECTED_READERS rule is past its until: it marks nothing any more"
        );
    }
    let names = SecretNames::of(target, state.name(), state.arn());
    let mut unexpected = Vec::new();
    let mut left_out = ExpectedLeftOut::default();
    for access in attempts {
        match rules.matching(&names, access, options.now) {
            None => unexpected.push(access.clone()),
            Some(rule) => {
                tracing::info!(
                    event_id = access.event_id.as_deref().unwrap_or(""),
                    secret_id = target.display_name().unwrap_or(UNNAMED_SECRET),
                    principal = access.who.principal.short_name(),
                    rule = rule.number,
                    reason = %rule.reason,
                    "expected read of a secret pending deletion: counted, not alerted"
                );
                left_out.reads += 1;
                let described = rule.describe();
                if !left_out.rules.contains(&described) {
                    left_out.rules.push(described);
                }
            }
        }
    }
    (unexpected, (left_out.reads > 0).then_some(left_out))
}

/// What one batch found about one secret, for one alert.
#[derive(Clone, Copy)]
struct Found<'a> {
    target: &'a SecretTarget,
    reads: &'a [PendingDeletionAccess],
    assessment: &'a Assessment,
}

/// The reads of one secret, per caller (the role, not the session), in a stable order.
fn by_caller(
    attempts: &[PendingDeletionAccess],
) -> BTreeMap<CallerKey, Vec<PendingDeletionAccess>> {
    let mut callers: BTreeMap<CallerKey, Vec<PendingDeletionAccess>> = BTreeMap::new();
    for access in attempts {
        callers
            .entry(CallerKey::of(&access.who))
            .or_default()
            .push(access.clone());
    }
    callers
}

/// One caller's alert under the quiet window: claimed, then sent and confirmed; or held back
/// and counted; or, when the store fails, sent as if there were none.
async fn windowed_alert(
    found: Found<'_>,
    caller: CallerKey,
    window: Duration,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    shared: &BatchState,
) -> AlertResult {
    let claim = WindowClaim {
        key: WindowKey::of(found.target, &found.assessment.state, caller),
        claim_key: dedup_key_of(found.reads),
        now: options.clock(),
        window,
        grace: options.claim_grace,
        severity: Severity::of_alert(
            &found.assessment.state,
            &found.assessment.outcome,
            found.reads,
            options.now,
        ),
        deletion_date: found.assessment.state.deletion_date(),
        outcome: found.assessment.outcome.kind(),
        reads: found.reads.iter().map(ReadId::of).collect(),
    };
    let verdict = if shared.windows_failed.load(Ordering::Relaxed) {
        Err(WindowStateError::SkippedAfterFailure)
    } else {
        ports.windows.claim(&claim).await
    };
    let (note, claimed) = match verdict {
        Ok(WindowVerdict::Send { opened, carried }) => {
            if opened == Opened::Corrupt {
                tracing::error!(
                    caller = %claim.key.caller,
                    secret = %claim.key.secret,
                    "the alert state table held a window this function never wrote: alerting, and replacing it"
                );
                shared.corrupt_windows.fetch_add(1, Ordering::Relaxed);
            }
            (WindowNote::sent(window, opened, carried, claim.now), true)
        }
        Ok(WindowVerdict::Held { claimed_by, until }) => {
            tracing::info!(
                caller = %claim.key.caller,
                secret = %claim.key.secret,
                reads = claim.reads.len(),
                held_by = %claimed_by,
                until = %humantime::format_rfc3339_seconds(until),
                "held back by the quiet window: counted for the next alert"
            );
            return AlertResult::Held;
        }
        Ok(WindowVerdict::Delivered { at }) => {
            tracing::info!(
                caller = %claim.key.caller,
                secret = %claim.key.secret,
                dedup_key = %claim.claim_key,
                delivered_at = %at.map(humantime::format_rfc3339_seconds).map(|t| t.to_string()).unwrap_or_default(),
                "delivered by an earlier try of this batch: not sent again"
            );
            return AlertResult::AlreadyDelivered(claim.claim_key);
        }
        Err(error) => {
            if error != WindowStateError::SkippedAfterFailure {
                shared.window_failed(&error);
            }
            (WindowNote::unavailable(window, error.to_string()), false)
        }
    };
    let alert = compose_for(found.reads, found.assessment, Some(&note), context);
    let result = publish(ports.publisher, alert).await;
    if claimed {
        let marked = match &result {
            AlertResult::Delivered(_) => {
                ports
                    .windows
                    .confirm(&claim.key, &claim.claim_key, options.clock())
                    .await
            }
            _ => ports.windows.release(&claim.key, &claim.claim_key).await,
        };
        // The alert's fate is settled; an unmarked claim only makes the next alert come
        // sooner (an unconfirmed claim stops holding after the grace).
        if let Err(error) = marked {
            shared.window_failed(&error);
        }
    }
    result
}

/// The alert for `reads` of an assessed secret.
fn compose_for(
    reads: &[PendingDeletionAccess],
    assessment: &Assessment,
    window: Option<&WindowNote>,
    context: &AlertContext<'_>,
) -> Alert {
    compose(
        reads,
        &assessment.state,
        &assessment.outcome,
        &assessment.evidence,
        window,
        context,
    )
}

async fn publish(publisher: &dyn AlertPublisher, alert: Alert) -> AlertResult {
    match publisher.publish(&alert).await {
        Ok(()) => AlertResult::Delivered(Box::new(alert)),
        Err(error) => {
            tracing::error!(dedup_key = alert.dedup_key(), error = %Chain(&error), "alert not delivered");
            AlertResult::Undelivered(error)
        }
    }
}

fn not_delivered(
    target: &SecretTarget,
    attempts: &[PendingDeletionAccess],
    cause: PublishFailure,
) -> PublishError {
    let ids: Vec<String> = attempts
        .iter()
        .map(|a| {
            a.event_id
                .as_deref()
                .map_or_else(|| a.origin.location(), str::to_owned)
        })
        .collect();
    PublishError {
        secret: target.display_name().unwrap_or(UNNAMED_SECRET).to_owned(),
        event_ids: event_id_list(ids.iter().map(String::as_str)),
        cause,
    }
}

/// `a, b, c and 4 more`.
fn named_list<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    let mut text = names
        .take(MAX_NAMED_UNDELIVERED)
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_NAMED_UNDELIVERED {
        text.push_str(&format!(" and {} more", total - MAX_NAMED_UNDELIVERED));
    }
    text
}

/// One secret's alert: look the secret up, apply the restore policy (restoring if it says so
/// and, unless `VERIFY_READS=off`, never: there is no Event history here), and compose. The
/// look-back scan's.
pub async fn alert_for(
    target: &SecretTarget,
    attempts: &[PendingDeletionAccess],
    adapters: &Adapters<'_>,
    options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    skips: &LookupSkips,
) -> (Alert, RestoreOutcome) {
    let state = look_up(target, adapters.inspector, options, skips).await;
    let assessment = assess(target, attempts, state, adapters, options).await;
    let alert = compose_for(attempts, &assessment, None, context);
    (alert, assessment.outcome)
}
