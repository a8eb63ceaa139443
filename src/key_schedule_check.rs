//! The KMS keys' deletions a batch scheduled (`ScheduleKeyDeletion`, under `ON_SCHEDULE` as a
//! secret's `DeleteSecret` is, #45), start to end: each confirmed by CloudTrail Event history,
//! the key described, Event history read back for every call on the key in the
//! `SCHEDULE_CHECK_DAYS` before (by its ARN), the secrets under it listed, the guard applied,
//! the alert composed and published.
//!
//! Semantics, beside the secrets' ([`crate::schedule_check`]):
//! - One alert per scheduling, keyed by its record: with the alert-state table, a retried
//!   batch does not send a delivered alert again. A failed publish fails the invocation.
//! - The look-back stops at its budget (pages, and the time the deadline leaves); what it did
//!   not read is said, and the verdict is then `in_use` (uses seen) or `unknown`.
//! - `ON_SCHEDULE=guard` cancels the deletion only when Event history confirms the scheduling,
//!   someone other than the deleter (and callers a rule marks as expected) used the key in the
//!   window, and [`crate::key_restore::decide_key`] finds the deletion not intended.
//! - A key in an account the function may not act in is alerted on, never looked up.

use std::time::{Duration, SystemTime};

use crate::batch_options::{BatchOptions, under_deadline};
use crate::caller::CallerKey;
use crate::error::{Chain, EventHistoryError, PublishError, PublishFailure, RestoreError};
use crate::key_alert::{KeyAlert, KeyFacts, KeyPlace, KeyScheduling, compose_key_alert};
use crate::key_check::{Place, at, place_of};
use crate::key_restore::{KeyDecision, KeyRestoreOutcome, decide_key};
use crate::key_state::{EncryptedSecrets, KeyLookup, KeyScheduled, ScheduledBy, key_scheduled_in};
use crate::key_use::KeyNamed;
use crate::ports::{Adapters, HistoryEvents, PageBudget};
use crate::publish_once::{Published, publish_once};
use crate::restore::{RestorePolicy, Severity};
use crate::schedule_check::MAX_LOOK_BACK_PAGES;
use crate::scheduled::OnSchedule;
use crate::usage::{ReadsOfSecrets, SecretQuery};
use crate::verification::parse_event_time;
use crate::window::{WindowClaim, WindowKey};

/// Without a deadline (the command line), how long a look-back may take.
const LOOK_BACK_TIME_WITHOUT_DEADLINE: Duration = Duration::from_secs(120);

/// What the batch's key deletions came to.
#[derive(Debug, Default)]
pub struct KeyDeletionsDone {
    pub seen: usize,
    pub delivered: Vec<KeyAlert>,
    pub already_delivered: Vec<String>,
    pub failures: Vec<PublishError>,
    pub cancelled: usize,
}

enum Finished {
    Delivered(Box<KeyAlert>, bool),
    AlreadyDelivered(String),
    Undelivered(PublishError),
}

/// Every key deletion of the batch, under `options.on_schedule`.
pub async fn handle_key_deletions(
    deletions: Vec<KeyScheduled>,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> KeyDeletionsDone {
    let mut done = KeyDeletionsDone {
        seen: deletions.len(),
        ..KeyDeletionsDone::default()
    };
    if deletions.is_empty() {
        return done;
    }
    if options.on_schedule == OnSchedule::Off {
        tracing::info!(
            deletions = deletions.len(),
            "KMS key deletions scheduled; ON_SCHEDULE=off"
        );
        return done;
    }
    let work = deletions.iter().map(|one| finish(one, ports, options));
    let (finished, _) = under_deadline(work, options).await;
    for (scheduled, result) in deletions.iter().zip(finished) {
        match result {
            Some(Finished::Delivered(alert, cancelled)) => {
                done.cancelled += usize::from(cancelled);
                done.delivered.push(*alert);
            }
            Some(Finished::AlreadyDelivered(key)) => done.already_delivered.push(key),
            Some(Finished::Undelivered(error)) => done.failures.push(error),
            None => done.failures.push(PublishError {
                secret: format!("KMS key {}", name_of(scheduled)),
                event_ids: scheduled.seen.event_id.clone().unwrap_or_default(),
                cause: PublishFailure::Deadline("cut off in flight"),
            }),
        }
    }
    done
}

fn name_of(scheduled: &KeyScheduled) -> String {
    match &scheduled.key {
        KeyNamed::Arn { arn, .. } => arn.clone(),
        KeyNamed::AsPassed(passed) => passed.clone(),
        KeyNamed::Unknown => "(not named in the record)".to_owned(),
    }
}

/// One scheduling: looked up, confirmed, read back, guarded, alerted.
async fn finish(
    scheduled: &KeyScheduled,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Finished {
    let key_place = KeyPlace {
        account_id: scheduled.account_id.clone(),
        region: scheduled.region.clone(),
    };
    let place = place_of(&key_place, options);
    let lookup = match (&place, &scheduled.key) {
        (Err(why), _) => KeyLookup::NotLookedUp(why.clone()),
        (Ok(_), KeyNamed::Unknown) => {
            KeyLookup::NotLookedUp("the record does not name the key".to_owned())
        }
        (Ok(place), KeyNamed::Arn { arn: name, .. } | KeyNamed::AsPassed(name)) => {
            ports.keys.describe_key(name, at(place)).await
        }
    };
    let arn = lookup
        .description()
        .map(|d| d.arn.clone())
        .or_else(|| scheduled.key.arn().map(str::to_owned));
    let confirmation = confirm(scheduled, &place, ports, options).await;
    let scheduling = look_back(
        scheduled,
        arn.as_deref(),
        confirmation,
        &place,
        ports,
        options,
    )
    .await;
    let listed = match (lookup.description(), &place) {
        (Some(described), Ok(place)) => Some(
            ports
                .key_secrets
                .secrets_under_key(described, at(place))
                .await,
        ),
        _ => None,
    };
    let secrets = EncryptedSecrets {
        from_uses: Vec::new(),
        listed,
    };
    let scheduled_by = ScheduledBy::Found(scheduled.seen.clone());
    let guard = guard(
        scheduled,
        &lookup,
        &scheduling,
        &scheduled_by,
        &place,
        ports,
        options,
    )
    .await;
    let cancelled = guard.cancelled();
    let mut notes = Vec::new();
    match &lookup {
        KeyLookup::Failed(why) => notes.push(format!("DescribeKey failed: {why}")),
        KeyLookup::NotLookedUp(why) => notes.push(format!("The key was not looked up: {why}")),
        KeyLookup::Described(_) => {}
    }
    let alert = compose_key_alert(&KeyFacts {
        key: &scheduled.key,
        place: &key_place,
        uses: &[],
        lookup: &lookup,
        secrets: &secrets,
        scheduled_by: &scheduled_by,
        restore: &guard,
        scheduling: Some(&scheduling),
        window: None,
        notes: &notes,
        now: options.clock(),
    });
    // One alert per scheduling record: its key, event id and deleter.
    let claim_key = alert.dedup_key().to_owned();
    let claim = options.alert_window.map(|window| WindowClaim {
        key: WindowKey {
            secret: format!("kms-key-deletion:{claim_key}"),
            caller: CallerKey::of(&scheduled.who),
        },
        claim_key: claim_key.clone(),
        now: options.clock(),
        window,
        grace: options.claim_grace,
        severity: Severity::High,
        deletion_date: lookup.deletion_date(),
        outcome: guard.kind(),
        reads: Default::default(),
    });
    let publish = ports.publisher.publish_key_use(&alert);
    let result =
        match publish_once(claim.as_ref(), ports.windows, publish, || options.clock()).await {
            Published::AlreadyDelivered => {
                return Finished::AlreadyDelivered(alert.dedup_key().to_owned());
            }
            Published::Sent(result) => result,
        };
    match result {
        Ok(()) => Finished::Delivered(Box::new(alert), cancelled),
        Err(error) => {
            tracing::error!(error = %Chain(&error), "key deletion's alert not delivered");
            Finished::Undelivered(error)
        }
    }
}

/// Asks Event history for the scheduling's event id until it holds the same scheduling (the
/// same key, deleter and event) or the wait is over (it can lag the log group).
async fn confirm(
    scheduled: &KeyScheduled,
    place: &Place,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Result<(), String> {
    let Some(event_id) = scheduled.seen.event_id.as_deref() else {
        return Err("the record carries no event id".to_owned());
    };
    let place = place.as_ref().map_err(Clone::clone)?;
    let mut wait = options.verify_wait;
    if let Some(deadline) = options.deadline {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        wait = wait.min(left.saturating_sub(options.deadline_reserve));
    }
    let started = tokio::time::Instant::now();
    let mut last_failure = None;
    // Asked once before any timer: Event history usually has it, and where none is
    // configured (a dry run, the fuzzer's executor) no timer is ever started.
    let mut first = true;
    loop {
        let asked = ports.history.event(event_id, at(place));
        let answer = if first {
            asked.await
        } else {
            match tokio::time::timeout(wait.saturating_sub(started.elapsed()), asked).await {
                Ok(answer) => answer,
                Err(_) => break,
            }
        };
        first = false;
        match answer {
            Ok(Some(record)) => return same_scheduling(scheduled, &record),
            Ok(None) => {}
            Err(EventHistoryError::NotConfigured) => {
                return Err("no CloudTrail Event history is configured here".to_owned());
            }
            Err(error) => last_failure = Some(Chain(&error).to_string()),
        }
        if started.elapsed() + options.verify_retry > wait {
            break;
        }
        tokio::time::sleep(options.verify_retry).await;
    }
    Err(match last_failure {
        Some(reason) => format!("CloudTrail Event history could not be asked: {reason}"),
        None => format!(
            "CloudTrail Event history did not have the event after {}",
            humantime::format_duration(Duration::from_secs(wait.as_secs()))
        ),
    })
}

/// Whether Event history's record is the batch's scheduling: the same key and deleter.
fn same_scheduling(scheduled: &KeyScheduled, history_record: &str) -> Result<(), String> {
    let record: crate::cloudtrail::CloudTrailRecord = serde_json::from_str(history_record)
        .map_err(|e| format!("its record is not a CloudTrail record: {e}"))?;
    let Some(held) = key_scheduled_in(&record, history_record) else {
        return Err("Event history holds another event under its id".to_owned());
    };
    if held.key != scheduled.key
        || held.seen.by_arn != scheduled.seen.by_arn
        || held.seen.event_id != scheduled.seen.event_id
    {
        return Err(
            "Event history holds another scheduling under its id (another key or deleter)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Every call on the key (by its ARN) in the `SCHEDULE_CHECK_DAYS` before the scheduling.
async fn look_back(
    scheduled: &KeyScheduled,
    arn: Option<&str>,
    confirmation: Result<(), String>,
    place: &Place,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> KeyScheduling {
    let now = options.clock();
    let to = scheduled
        .seen
        .at
        .as_deref()
        .and_then(parse_event_time)
        .filter(|at| *at <= now)
        .unwrap_or(now);
    let from = to
        .checked_sub(Duration::from_secs(
            options.schedule_check_days.saturating_mul(24 * 3600),
        ))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let deleter = CallerKey::of(&scheduled.who).as_str().to_owned();
    let unread = |why: String| KeyScheduling {
        confirmation: confirmation.clone(),
        deleter: deleter.clone(),
        from,
        to,
        uses: Default::default(),
        records: 0,
        complete: false,
        stopped: Some(why),
    };
    let (Ok(place), Some(arn)) = (place, arn) else {
        return unread(match place {
            Err(why) => why.clone(),
            Ok(_) => "the key is not named by its ARN: its calls cannot be looked up".to_owned(),
        });
    };
    let Ok(query) = SecretQuery::key(arn) else {
        return unread(format!("{arn:?} is not a key ARN"));
    };
    let question =
        ReadsOfSecrets::with_expected(vec![query], from, to, options.expected_readers.clone());
    let tally = std::sync::Mutex::new(question.empty_tally());
    let until = match options.deadline {
        Some(deadline) => deadline
            .checked_sub(options.deadline_reserve)
            .unwrap_or(deadline),
        None => tokio::time::Instant::now() + LOOK_BACK_TIME_WITHOUT_DEADLINE,
    };
    let budget = PageBudget {
        max_pages: MAX_LOOK_BACK_PAGES,
        until,
    };
    let mut each_page = |records: Vec<String>| {
        let mut tally = tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for record in &records {
            question.examine_record(&mut tally, record, || crate::detection::Origin::File {
                path: "event-history".into(),
                index: 0,
            });
        }
    };
    let pages = ports.history.each_page(
        HistoryEvents::On(arn),
        (from, to),
        budget,
        at(place),
        &mut each_page,
    );
    let result = match options.deadline {
        Some(_) => tokio::time::timeout_at(until, pages).await,
        None => Ok(pages.await),
    };
    let (complete, stopped) = match result {
        Ok(Ok(true)) => (true, None),
        Ok(Ok(false)) | Err(_) => (
            false,
            Some(format!(
                "the look-back's budget ran out ({MAX_LOOK_BACK_PAGES} pages, or the time the \
                 invocation's deadline leaves)"
            )),
        ),
        Ok(Err(EventHistoryError::NotConfigured)) => (
            false,
            Some("no CloudTrail Event history is configured here".to_owned()),
        ),
        Ok(Err(error)) => (
            false,
            Some(format!(
                "CloudTrail Event history could not be read: {}",
                Chain(&error)
            )),
        ),
    };
    let tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    KeyScheduling {
        confirmation,
        deleter,
        from,
        to,
        records: tally.records,
        uses: tally.secrets.into_iter().next().unwrap_or_default(),
        complete,
        stopped,
    }
}

/// `ON_SCHEDULE=guard`: the deletion is cancelled when Event history confirmed the
/// scheduling, someone other than the deleter used the key in the window, and the deletion is
/// not intended ([`decide_key`] under `all`).
#[allow(clippy::too_many_arguments)]
async fn guard(
    scheduled: &KeyScheduled,
    lookup: &KeyLookup,
    scheduling: &KeyScheduling,
    scheduled_by: &ScheduledBy,
    place: &Place,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> KeyRestoreOutcome {
    let not = |why: &str| KeyRestoreOutcome::NotCancelled(why.to_owned());
    if options.on_schedule != OnSchedule::Guard {
        return not("ON_SCHEDULE=alert: the guard is off");
    }
    if let Err(why) = &scheduling.confirmation {
        return KeyRestoreOutcome::Unverified(format!("the scheduling is not confirmed: {why}"));
    }
    if !scheduling.used_by_others() {
        return not("nobody but the deleter (or an expected caller) used the key in the window");
    }
    let key_id = match decide_key(
        &RestorePolicy::All,
        lookup,
        scheduled_by,
        options.intended_deleters,
    ) {
        KeyDecision::Skip(outcome) => return outcome,
        KeyDecision::Cancel { key_id } => key_id,
    };
    let Ok(place) = place else {
        return not("the key is in an account this function may not act in");
    };
    match ports
        .key_restorer
        .cancel_key_deletion(&key_id, at(place))
        .await
    {
        Ok(()) => tracing::warn!(
            key = %name_of(scheduled),
            "cancelled a KMS key's deletion a caller still used (ON_SCHEDULE=guard)"
        ),
        Err(RestoreError::NotPendingDeletion) => return KeyRestoreOutcome::NoLongerPending,
        Err(error) => return KeyRestoreOutcome::Failed(error.to_string()),
    }
    if !options.kms_enable_after_cancel {
        return KeyRestoreOutcome::Cancelled { enabled: false };
    }
    match ports.key_restorer.enable_key(&key_id, at(place)).await {
        Ok(()) => KeyRestoreOutcome::Cancelled { enabled: true },
        Err(error) => KeyRestoreOutcome::CancelledNotEnabled(error.to_string()),
    }
}
