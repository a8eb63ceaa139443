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

use crate::batch_options::{BatchOptions, under_deadline};
use crate::caller::CallerKey;
use crate::error::{Chain, PublishError, PublishFailure, RestoreError};
use crate::history_budget::{confirm_any, read_back};
use crate::key_alert::{KeyAlert, KeyFacts, KeyPlace, KeyScheduling, compose_key_alert};
use crate::key_check::{Place, at, look_up_key, place_of};
use crate::key_restore::{KeyDecision, KeyRestoreOutcome, decide_key};
use crate::key_state::{EncryptedSecrets, KeyLookup, KeyScheduled, ScheduledBy, key_scheduled_in};
use crate::key_use::KeyNamed;
use crate::ports::{Adapters, HistoryEvents};
use crate::publish_once::{Published, publish_once};
use crate::restore::{RestorePolicy, Severity};
use crate::schedule_check::MAX_LOOK_BACK_PAGES;
use crate::scheduled::{OnSchedule, window_before_time};
use crate::usage::{ReadsOfSecrets, SecretQuery};
use crate::window::{WindowClaim, WindowKey};

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
    let lookup = look_up_key(&scheduled.key, &place, ports).await;
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
    // Without DescribeKey's date, the one KMS answered the scheduling with (its own format).
    if lookup.deletion_date().is_none()
        && let Some(date) = &scheduled.deletion_date_text
    {
        notes.push(format!(
            "KMS answered the scheduling with the deletion date {date:?}."
        ));
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

/// Event history's word on the scheduling: its event id asked until it holds the same
/// scheduling (the same key, deleter and event) or the wait is over.
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
    confirm_any(&[event_id], at(place), (ports, options), |_, record| {
        same_scheduling(scheduled, record)
    })
    .await
}

/// Whether Event history's record is the batch's scheduling: the same key and deleter.
fn same_scheduling(scheduled: &KeyScheduled, history_record: &str) -> Result<(), String> {
    let record: crate::cloudtrail::CloudTrailRecord = serde_json::from_str(history_record)
        .map_err(|e| format!("its record is not a CloudTrail record: {e}"))?;
    let Some(held) = key_scheduled_in(&record, history_record) else {
        return Err("not a scheduling of a key's deletion".to_owned());
    };
    if held.key != scheduled.key
        || held.seen.by_arn != scheduled.seen.by_arn
        || held.seen.event_id != scheduled.seen.event_id
    {
        return Err("another key or deleter".to_owned());
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
    let (from, to) = window_before_time(
        scheduled.seen.at.as_deref(),
        options.schedule_check_days,
        options.clock(),
    );
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
    let read = read_back(
        HistoryEvents::On(arn),
        (from, to),
        at(place),
        MAX_LOOK_BACK_PAGES,
        (ports, options),
        &mut each_page,
    )
    .await;
    let (complete, stopped) = match read {
        Ok(()) => (true, None),
        Err(why) => (false, Some(why)),
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
