//! The deletions a batch scheduled (`ON_SCHEDULE`), start to end: each confirmed by CloudTrail
//! Event history in the account and region that logged it, the secret looked up, Event
//! history read back for who read it ([`crate::scheduled::LookBack`]), the guard applied,
//! the alert composed and published.
//!
//! Semantics, beside the read alerts' ([`crate::handler`]):
//! - One look-back per place (account and region) and batch, whatever the number of
//!   deletions there: a script that deletes 200 secrets reads each page of Event history
//!   once, under the deadline, and every secret's alert comes from the same pages.
//! - The look-back stops at its budget (pages, and the time the deadline leaves); what it
//!   did not reach is named, and the verdict is then `in_use` (readers seen) or `unknown`.
//! - One alert per deletion, keyed by its event id: with the alert-state table, a retried
//!   batch does not send a delivered alert again. A failed publish fails the invocation.
//! - A deletion in an account the function may not act in is alerted on, never looked up.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::assess::acting_place;
use crate::batch_options::BatchOptions;
use crate::deletion::DeletionSeen;
use crate::detection::SecretTarget;
use crate::error::{Chain, EventHistoryError, PublishError, PublishFailure, RestoreError};
use crate::history_budget::read_back;
use crate::ids::{AccountId, SecretId};
use crate::ports::{Adapters, HistoryEvents, SecretAt};
use crate::publish_once::{Published, publish_once};
use crate::region::RegionName;
use crate::restore::{SecretState, Severity};
use crate::scheduled::{
    Confirmation, Guard, LookBack, OnSchedule, ScheduledAlert, ScheduledFacts, compose_scheduled,
    confirms, guard_decision, window_before,
};
use crate::usage::{ReadsOfSecrets, SecretDescription, SecretQuery, UsageTally};
use crate::window::{WindowClaim, WindowKey};

/// Pages of Event history one place's look-back reads at most (50 records a page).
pub const MAX_LOOK_BACK_PAGES: usize = 2_000;

/// What the batch's deletions came to.
#[derive(Debug, Default)]
pub struct DeletionsDone {
    /// Deletions seen (successful `DeleteSecret` records).
    pub seen: usize,
    pub delivered: Vec<ScheduledAlert>,
    /// De-duplication keys an earlier try delivered: not sent again.
    pub already_delivered: Vec<String>,
    pub failures: Vec<PublishError>,
    pub cancelled: usize,
}

/// Where a deletion happened, once checked: the account the function acts in there (`None`:
/// its own) and the region's name; or why it does not act there.
type Place = Result<(Option<AccountId>, Option<RegionName>), String>;

fn place_of(seen: &DeletionSeen, options: &BatchOptions<'_>) -> Place {
    acting_place(&target_of(seen), "secret", options)
}

fn target_of(seen: &DeletionSeen) -> SecretTarget {
    SecretTarget {
        account_id: seen.account_id.clone(),
        region: seen.region.clone(),
        secret_id: seen
            .arn
            .as_deref()
            .or(seen.secret_id.as_deref())
            .map(SecretId::from),
    }
}

fn at(place: &(Option<AccountId>, Option<RegionName>)) -> SecretAt<'_> {
    SecretAt {
        region: place.1.as_ref(),
        member_account: place.0.as_ref(),
    }
}

/// Every deletion of the batch, under `options.on_schedule`.
pub async fn handle_deletions(
    deletions: Vec<DeletionSeen>,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> DeletionsDone {
    let mut done = DeletionsDone {
        seen: deletions.len(),
        ..DeletionsDone::default()
    };
    if deletions.is_empty() {
        return done;
    }
    if options.on_schedule == OnSchedule::Off {
        tracing::info!(
            deletions = deletions.len(),
            "deletions scheduled; ON_SCHEDULE=off"
        );
        return done;
    }
    let places: Vec<Place> = deletions.iter().map(|d| place_of(d, options)).collect();

    // Confirmed and looked up, each deletion on its own.
    let checks = deletions
        .iter()
        .zip(&places)
        .map(|(seen, place)| confirm_and_look_up(seen, place, ports, options));
    let (checked, _) = crate::batch_options::under_deadline(checks, options).await;

    // One look-back per place.
    let mut by_place: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, place) in places.iter().enumerate() {
        if let Ok(place) = place {
            let key = format!(
                "{}/{}",
                place.0.as_deref().unwrap_or("own"),
                place.1.as_ref().map_or("own", |r| r.as_str())
            );
            by_place.entry(key).or_default().push(index);
        }
    }
    let look_backs = by_place.values().map(|indices| {
        let place = places[indices[0]].as_ref().ok();
        let secrets: Vec<(&DeletionSeen, Option<&SecretState>)> = indices
            .iter()
            .map(|&i| {
                let state = checked[i].as_ref().map(|c| &c.1);
                (&deletions[i], state)
            })
            .collect();
        look_back(place, secrets, ports, options)
    });
    let (read_back, _) = crate::batch_options::under_deadline(look_backs, options).await;
    let mut look_back_of: Vec<Option<LookBack>> = vec![None; deletions.len()];
    for (indices, result) in by_place.values().zip(read_back) {
        if let Some(results) = result {
            for (&index, one) in indices.iter().zip(results) {
                look_back_of[index] = Some(one);
            }
        }
    }

    // The guard, the alert, the publish.
    let finishing = deletions.iter().enumerate().map(|(index, seen)| {
        let window = window_before(seen, options.schedule_check_days, options.clock());
        let look_back = look_back_of[index].take().unwrap_or_else(|| {
            let why = match &places[index] {
                Err(why) => why.clone(),
                Ok(_) => "the invocation's deadline came before Event history was read".into(),
            };
            LookBack::unread(window.0, window.1, why)
        });
        let (confirmation, state, notes) = checked[index].clone().unwrap_or_else(|| {
            (
                Confirmation::NotChecked("the invocation's deadline came first".into()),
                SecretState::NotLookedUp {
                    reason: "the invocation's deadline came first".into(),
                },
                Vec::new(),
            )
        });
        let place = places[index].as_ref().ok();
        finish(
            seen,
            place,
            confirmation,
            state,
            notes,
            look_back,
            ports,
            options,
        )
    });
    let (finished, _) = crate::batch_options::under_deadline(finishing, options).await;
    for (seen, result) in deletions.iter().zip(finished) {
        match result {
            Some(Finished::Delivered(alert, cancelled)) => {
                done.cancelled += usize::from(cancelled);
                done.delivered.push(*alert);
            }
            Some(Finished::AlreadyDelivered(key)) => done.already_delivered.push(key),
            Some(Finished::Undelivered(error)) => done.failures.push(error),
            None => done.failures.push(PublishError {
                secret: seen.display_name().to_owned(),
                event_ids: seen.event_id.as_deref().unwrap_or("").to_owned(),
                cause: PublishFailure::Deadline("cut off in flight"),
            }),
        }
    }
    done
}

/// Event history's word on the deletion, and `DescribeSecret`'s on the secret.
async fn confirm_and_look_up(
    seen: &DeletionSeen,
    place: &Place,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> (Confirmation, SecretState, Vec<String>) {
    let place = match place {
        Ok(place) => place,
        Err(why) => {
            return (
                Confirmation::NotChecked(why.clone()),
                SecretState::NotLookedUp {
                    reason: why.clone(),
                },
                Vec::new(),
            );
        }
    };
    let id = seen.arn.as_deref().or(seen.secret_id.as_deref());
    let look_up = async {
        match id {
            Some(id) => ports.inspector.inspect(id, at(place)).await,
            None => SecretState::NotNamed,
        }
    };
    let (confirmation, state) =
        futures_util::future::join(confirm(seen, place, ports, options), look_up).await;
    let mut notes = Vec::new();
    if let SecretState::LookupFailed { reason, .. } = &state {
        notes.push(format!("DescribeSecret failed: {reason}"));
    }
    (confirmation, state, notes)
}

/// Asks Event history for the deletion's event id until it has it or the wait is over (it
/// can lag the log group).
async fn confirm(
    seen: &DeletionSeen,
    place: &(Option<AccountId>, Option<RegionName>),
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Confirmation {
    let Some(event_id) = seen.event_id.as_deref() else {
        return Confirmation::NotChecked("the record carries no event id".into());
    };
    let mut wait = options.verify_wait;
    if let Some(deadline) = options.deadline {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        wait = wait.min(left.saturating_sub(options.deadline_reserve));
    }
    // Asked once before any timer: Event history usually has it, and where none is
    // configured (a dry run, the fuzzer's executor) no timer is ever started.
    match ports.history.event(event_id, at(place)).await {
        Ok(Some(record)) => return confirmed_by(seen, event_id, &record),
        Err(EventHistoryError::NotConfigured) => {
            return Confirmation::NotChecked(
                "no CloudTrail Event history is configured here".into(),
            );
        }
        _ => {}
    }
    let started = tokio::time::Instant::now();
    let mut last_failure = None;
    let tries = async {
        loop {
            match ports.history.event(event_id, at(place)).await {
                Ok(Some(record)) => return confirmed_by(seen, event_id, &record),
                Ok(None) => {}
                Err(EventHistoryError::NotConfigured) => {
                    return Confirmation::NotChecked(
                        "no CloudTrail Event history is configured here".into(),
                    );
                }
                Err(error) => last_failure = Some(Chain(&error).to_string()),
            }
            if started.elapsed() + options.verify_retry > wait {
                break;
            }
            tokio::time::sleep(options.verify_retry).await;
        }
        Confirmation::NotConfirmed(String::new())
    };
    match tokio::time::timeout(wait, tries).await {
        Ok(Confirmation::NotConfirmed(why)) if why.is_empty() => not_found(last_failure, wait),
        Ok(confirmation) => confirmation,
        Err(_) => not_found(last_failure, wait),
    }
}

fn confirmed_by(seen: &DeletionSeen, event_id: &str, record: &str) -> Confirmation {
    match confirms(seen, record) {
        Ok(()) => Confirmation::Confirmed {
            event_id: event_id.to_owned(),
        },
        Err(what) => Confirmation::NotConfirmed(what),
    }
}

fn not_found(failure: Option<String>, wait: Duration) -> Confirmation {
    Confirmation::NotConfirmed(match failure {
        Some(reason) => format!("CloudTrail Event history could not be asked: {reason}"),
        None => format!(
            "CloudTrail Event history did not have the event after {}",
            humantime::format_duration(Duration::from_secs(wait.as_secs()))
        ),
    })
}

/// Event history's `GetSecretValue` events of one place, read once for every deletion there,
/// over the union of their windows; each deletion's readers come out of the same pages.
async fn look_back(
    place: Option<&(Option<AccountId>, Option<RegionName>)>,
    secrets: Vec<(&DeletionSeen, Option<&SecretState>)>,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Vec<LookBack> {
    let now = options.clock();
    let windows: Vec<(SystemTime, SystemTime)> = secrets
        .iter()
        .map(|(seen, _)| window_before(seen, options.schedule_check_days, now))
        .collect();
    let from = windows.iter().map(|w| w.0).min().unwrap_or(now);
    let to = windows.iter().map(|w| w.1).max().unwrap_or(now);
    let Some(place) = place else {
        return windows
            .iter()
            .map(|w| LookBack::unread(w.0, w.1, "not looked up".into()))
            .collect();
    };
    let queries: Vec<SecretQuery> = secrets
        .iter()
        .map(|(seen, state)| query_of(seen, *state))
        .collect();
    let question =
        ReadsOfSecrets::with_expected(queries, from, to, options.expected_readers.clone());
    let tally = Mutex::new(question.empty_tally());
    let oldest: Mutex<Option<SystemTime>> = Mutex::new(None);
    let mut each_page = |records: Vec<String>| {
        let mut tally = lock(&tally);
        let mut oldest = lock(&oldest);
        for record in &records {
            if let Some(time) = event_time(record) {
                *oldest = Some(oldest.map_or(time, |t: SystemTime| t.min(time)));
            }
            question.examine_record(&mut tally, record, || crate::detection::Origin::File {
                path: "event-history".into(),
                index: 0,
            });
        }
    };
    let read = read_back(
        HistoryEvents::Named("GetSecretValue"),
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
    let tally: UsageTally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    let reached = oldest.into_inner().unwrap_or_else(|p| p.into_inner());
    windows
        .iter()
        .zip(tally.secrets)
        .map(|(window, reads)| LookBack {
            from: window.0,
            to: window.1,
            reads,
            records: tally.records,
            complete,
            reached: if complete { None } else { reached.or(Some(to)) },
            stopped: stopped.clone(),
        })
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn event_time(record: &str) -> Option<SystemTime> {
    #[derive(serde::Deserialize)]
    struct Time {
        #[serde(rename = "eventTime")]
        event_time: Option<String>,
    }
    let time: Time = serde_json::from_str(record).ok()?;
    humantime::parse_rfc3339_weak(time.event_time?.trim()).ok()
}

/// Which records are reads of the deleted secret: by its ARN and name as Secrets Manager
/// answered (the response, else `DescribeSecret`), else as the caller named it.
fn query_of(seen: &DeletionSeen, state: Option<&SecretState>) -> SecretQuery {
    let arn = seen
        .arn
        .clone()
        .or(state.and_then(|s| s.arn()).map(str::to_owned));
    let name = seen
        .name
        .clone()
        .or(state.and_then(|s| s.name()).map(str::to_owned));
    let region = seen.region.clone().unwrap_or_default();
    match (arn, name) {
        (Some(arn), Some(name)) => SecretQuery::listed(
            SecretDescription {
                arn,
                name,
                ..SecretDescription::default()
            },
            &region,
        ),
        _ => {
            let id = seen.secret_id.as_deref().unwrap_or("(not named)");
            let mut query = SecretQuery::parse(id).unwrap_or_else(|_| SecretQuery::named(id, id));
            query.account_id = query
                .account_id
                .or(seen.account_id.as_deref().map(str::to_owned));
            query.region = query.region.or(seen.region.clone());
            query
        }
    }
}

enum Finished {
    Delivered(Box<ScheduledAlert>, bool),
    AlreadyDelivered(String),
    Undelivered(PublishError),
}

/// The guard, then the alert: claimed in the alert-state table (keyed by the deletion), sent,
/// and the claim confirmed, or released when the publish failed.
#[allow(clippy::too_many_arguments)]
async fn finish(
    seen: &DeletionSeen,
    place: Option<&(Option<AccountId>, Option<RegionName>)>,
    confirmation: Confirmation,
    state: SecretState,
    notes: Vec<String>,
    look_back: LookBack,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Finished {
    let decided = guard_decision(
        options.on_schedule,
        seen,
        &confirmation,
        &look_back,
        &state,
        options.intended_deleters,
        options.now,
    );
    let guard = match (decided, place, state.arn()) {
        (Ok(because), Some(place), Some(arn)) => match ports.restorer.restore(arn, at(place)).await
        {
            Ok(()) => {
                tracing::warn!(secret_arn = %arn, %because, "cancelled a scheduled deletion");
                Guard::Cancelled { because }
            }
            Err(RestoreError::NotPendingDeletion) => {
                Guard::NotPending("no longer pending deletion")
            }
            Err(error) => Guard::Failed(error.to_string()),
        },
        (Ok(_), _, _) => Guard::NotLookedUp("the secret was not looked up".into()),
        (Err(guard), _, _) => guard,
    };
    let cancelled = matches!(guard, Guard::Cancelled { .. });
    let alert = compose_scheduled(&ScheduledFacts {
        seen,
        confirmation: &confirmation,
        look_back: &look_back,
        state: &state,
        guard: &guard,
        notes: &notes,
        now: options.clock(),
    });
    let claim = options.alert_window.map(|window| WindowClaim {
        key: WindowKey {
            secret: format!("deletion:{}", alert.dedup_key()),
            caller: seen.deleter.clone(),
        },
        claim_key: alert.dedup_key().to_owned(),
        now: options.clock(),
        window,
        grace: options.claim_grace,
        severity: if alert.document.severity == "critical" {
            Severity::Critical
        } else {
            Severity::High
        },
        deletion_date: state.deletion_date(),
        outcome: guard.kind(),
        reads: Default::default(),
    });
    let publish = ports.publisher.publish_scheduled(&alert);
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
            tracing::error!(error = %Chain(&error), "scheduled deletion's alert not delivered");
            Finished::Undelivered(error)
        }
    }
}
