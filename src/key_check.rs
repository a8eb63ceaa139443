//! A batch's uses of KMS keys pending deletion (#45), start to end: grouped by key, the key
//! looked up in its account and region (`DescribeKey`, `ListAliases`), the secrets it
//! encrypts listed, Event history asked who scheduled its deletion, and one alert per key
//! (per key and caller under a quiet window) composed and published.
//!
//! Semantics, beside the read alerts' ([`crate::handler`]):
//! - A use the rule accepts always alerts: a key no record names, an account the function may
//!   not act in, a lookup that fails, each is a line of the alert.
//! - With a quiet window, one alert per key and caller per window, claimed, confirmed and
//!   released as the read alerts' are; a store that fails sends the alert.
//! - A failed publish fails the invocation (Lambda retries; the on-failure destination keeps
//!   the batch).
//! - A key's deletion is cancelled only as [`crate::key_restore`] decides, once per key and
//!   batch, and only after Event history confirms one of its uses (unless `VERIFY_READS=off`):
//!   a record in the log group alone never cancels anything. A retried batch finds the key no
//!   longer pending deletion and says so.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::assess::acting_place;
use crate::batch_options::{BatchOptions, under_deadline};
use crate::caller::CallerKey;
use crate::detection::Origin;
use crate::error::{Chain, PublishError, PublishFailure, RestoreError};
use crate::history_budget::{confirm_any, read_back};
use crate::ids::AccountId;
use crate::key_alert::{
    KeyAlert, KeyFacts, KeyPlace, access_of, compose_key_alert, key_dedup_key, key_identity,
    key_severity,
};
use crate::key_restore::{
    KeyDecision, KeyRestoreOutcome, LONGEST_WAIT, confirms_key_use, decide_key, scheduled_after,
};
use crate::key_state::{EncryptedSecrets, KeyDescription, KeyLookup, ScheduledBy, key_deletion_in};
use crate::key_use::{KeyNamed, KeyUse};
use crate::ports::{Adapters, HistoryEvents, SecretAt};
use crate::region::RegionName;
use crate::verification::VerifyReads;
use crate::window::{Opened, ReadId, WindowClaim, WindowKey, WindowNote, WindowVerdict};

/// Pages of Event history read for a key's `ScheduleKeyDeletion` (50 records a page; such
/// calls are rare).
const SCHEDULE_PAGES: usize = 20;
/// How far before the deletion date its scheduling is looked for: the longest waiting period
/// KMS allows, and a day's slack.
const SCHEDULING_LOOKED_FOR: Duration = LONGEST_WAIT.saturating_add(Duration::from_secs(86_400));

/// What the batch's key uses came to.
#[derive(Debug, Default)]
pub struct KeyUsesDone {
    pub seen: usize,
    pub delivered: Vec<KeyAlert>,
    /// De-duplication keys an earlier try delivered: not sent again.
    pub already_delivered: Vec<String>,
    /// Alerts held back by the quiet window.
    pub held: usize,
    pub failures: Vec<PublishError>,
}

/// The uses of one key.
struct KeyGroup {
    key: KeyNamed,
    place: KeyPlace,
    identity: String,
    uses: Vec<(KeyUse, Origin)>,
}

/// Where the key's calls go, once checked: the member account (`None`: the function's own)
/// and the region; or why the function does not act there.
pub(crate) type Place = Result<(Option<AccountId>, Option<RegionName>), String>;

enum Finished {
    Delivered(Box<KeyAlert>),
    AlreadyDelivered(String),
    Held,
    Undelivered(PublishError),
}

/// Every key use of the batch.
pub async fn handle_key_uses(
    uses: Vec<(KeyUse, Origin)>,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> KeyUsesDone {
    let mut done = KeyUsesDone {
        seen: uses.len(),
        ..KeyUsesDone::default()
    };
    if uses.is_empty() {
        return done;
    }
    for (key_use, _) in &uses {
        tracing::warn!(
            event_id = key_use.event_id.as_deref().unwrap_or(""),
            key = key_use.key.arn().unwrap_or(""),
            operation = %key_use.operation,
            principal = key_use.who.principal.short_name(),
            "use of a KMS key pending deletion"
        );
    }
    let groups = by_key(uses);
    let work = groups.iter().map(|group| alert_key(group, ports, options));
    let (results, _) = under_deadline(work, options).await;
    for (group, result) in groups.iter().zip(results) {
        let finished = result.unwrap_or_else(|| {
            vec![Finished::Undelivered(undelivered(
                group,
                &group.uses,
                PublishFailure::Deadline("cut off in flight"),
            ))]
        });
        for one in finished {
            match one {
                Finished::Delivered(alert) => done.delivered.push(*alert),
                Finished::AlreadyDelivered(key) => done.already_delivered.push(key),
                Finished::Held => done.held += 1,
                Finished::Undelivered(error) => done.failures.push(error),
            }
        }
    }
    done
}

/// The uses grouped by key (its ARN, else what was passed, in its account and region), in a
/// stable order.
fn by_key(uses: Vec<(KeyUse, Origin)>) -> Vec<KeyGroup> {
    let mut groups: BTreeMap<String, KeyGroup> = BTreeMap::new();
    for (key_use, origin) in uses {
        let place = KeyPlace::of(&key_use);
        let identity = key_identity(&key_use.key, &place);
        groups
            .entry(identity.clone())
            .or_insert_with(|| KeyGroup {
                key: key_use.key.clone(),
                place,
                identity,
                uses: Vec::new(),
            })
            .uses
            .push((key_use, origin));
    }
    groups.into_values().collect()
}

pub(crate) fn place_of(place: &KeyPlace, options: &BatchOptions<'_>) -> Place {
    acting_place(&place.as_target(), "key", options)
}

pub(crate) fn at(place: &(Option<AccountId>, Option<RegionName>)) -> SecretAt<'_> {
    SecretAt {
        region: place.1.as_ref(),
        member_account: place.0.as_ref(),
    }
}

/// `DescribeKey` of the key as the records name it, where the function may act; else why it
/// was not asked.
pub(crate) async fn look_up_key(key: &KeyNamed, place: &Place, ports: &Adapters<'_>) -> KeyLookup {
    match (place, key) {
        (Err(why), _) => KeyLookup::NotLookedUp(why.clone()),
        (Ok(_), KeyNamed::Unknown) => {
            KeyLookup::NotLookedUp("the records do not name the key".to_owned())
        }
        (Ok(place), KeyNamed::Arn { arn: name, .. } | KeyNamed::AsPassed(name)) => {
            ports.keys.describe_key(name, at(place)).await
        }
    }
}

/// One key: looked up, then its alert (or one per caller under a quiet window).
async fn alert_key(
    group: &KeyGroup,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Vec<Finished> {
    if !options.has_room_for_a_secret() {
        return vec![Finished::Undelivered(undelivered(
            group,
            &group.uses,
            PublishFailure::Deadline("not started"),
        ))];
    }
    let place = place_of(&group.place, options);
    let lookup = look_up_key(&group.key, &place, ports).await;
    let mut notes = Vec::new();
    match &lookup {
        KeyLookup::Failed(why) => notes.push(format!("DescribeKey failed: {why}")),
        KeyLookup::Described(KeyDescription {
            aliases: Err(why), ..
        }) => notes.push(format!("ListAliases failed: {why}")),
        _ => {}
    }
    let mut from_uses: Vec<String> = group
        .uses
        .iter()
        .filter_map(|(u, _)| u.through_secrets_manager.as_ref()?.secret_arn.clone())
        .collect();
    from_uses.sort();
    from_uses.dedup();
    let (listed, scheduled_by) = match (lookup.description(), &place) {
        (Some(described), Ok(place)) => {
            let listed = ports.key_secrets.secrets_under_key(described, at(place));
            let scheduled = who_scheduled(described, place, ports, options);
            let (listed, scheduled) = futures_util::future::join(listed, scheduled).await;
            (Some(listed), scheduled)
        }
        _ => (
            None,
            ScheduledBy::Unknown("not looked for: the key was not described".to_owned()),
        ),
    };
    let secrets = EncryptedSecrets { from_uses, listed };
    let restore = restore_key(group, &lookup, &scheduled_by, &place, ports, options).await;
    let facts = KeyFacts {
        key: &group.key,
        place: &group.place,
        uses: &group.uses,
        lookup: &lookup,
        secrets: &secrets,
        scheduled_by: &scheduled_by,
        restore: &restore,
        scheduling: None,
        window: None,
        notes: &notes,
        now: options.clock(),
    };
    let Some(window) = options.alert_window else {
        return vec![publish(ports, compose_key_alert(&facts), group).await];
    };
    let mut callers: BTreeMap<CallerKey, Vec<(KeyUse, Origin)>> = BTreeMap::new();
    for (key_use, origin) in &group.uses {
        let caller = CallerKey::of(&access_of(key_use, origin).who);
        callers
            .entry(caller)
            .or_default()
            .push((key_use.clone(), origin.clone()));
    }
    let mut finished = Vec::new();
    for (caller, uses) in callers {
        let facts = KeyFacts {
            uses: &uses,
            ..facts
        };
        finished.push(windowed(facts, group, caller, window, ports, options).await);
    }
    finished
}

/// One caller's alert under the quiet window: claimed, sent, then confirmed (or released).
async fn windowed(
    facts: KeyFacts<'_>,
    group: &KeyGroup,
    caller: CallerKey,
    window: Duration,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Finished {
    let claim = WindowClaim {
        // Apart from every secret's window: a key's identity is never a secret's ARN.
        key: WindowKey {
            secret: format!("kms-key:{}", group.identity),
            caller,
        },
        claim_key: key_dedup_key(&group.identity, facts.uses),
        now: options.clock(),
        window,
        grace: options.claim_grace,
        severity: key_severity(facts.lookup.deletion_date(), options.now),
        deletion_date: facts.lookup.deletion_date(),
        outcome: facts.restore.kind(),
        reads: facts
            .uses
            .iter()
            .map(|(u, origin)| ReadId::of(&access_of(u, origin)))
            .collect(),
    };
    let (note, claimed) = match ports.windows.claim(&claim).await {
        Ok(WindowVerdict::Send { opened, carried }) => {
            if opened == Opened::Corrupt {
                tracing::error!(
                    caller = %claim.key.caller,
                    key = %claim.key.secret,
                    "the alert state table held a window this function never wrote: alerting, and replacing it"
                );
            }
            (WindowNote::sent(window, opened, carried, claim.now), true)
        }
        Ok(WindowVerdict::Held { claimed_by, .. }) => {
            tracing::info!(
                caller = %claim.key.caller,
                key = %claim.key.secret,
                held_by = %claimed_by,
                "key use held back by the quiet window: counted for the next alert"
            );
            return Finished::Held;
        }
        Ok(WindowVerdict::Delivered { .. }) => {
            tracing::info!(
                dedup_key = %claim.claim_key,
                "key alert delivered by an earlier try of this batch: not sent again"
            );
            return Finished::AlreadyDelivered(claim.claim_key);
        }
        Err(error) => {
            tracing::error!(%error, "the alert state table failed: alerting as if there were none");
            (WindowNote::unavailable(window, error.to_string()), false)
        }
    };
    let alert = compose_key_alert(&KeyFacts {
        window: Some(&note),
        ..facts
    });
    let result = publish(ports, alert, group).await;
    if claimed {
        let marked = match &result {
            Finished::Delivered(_) => {
                ports
                    .windows
                    .confirm(&claim.key, &claim.claim_key, options.clock())
                    .await
            }
            _ => ports.windows.release(&claim.key, &claim.claim_key).await,
        };
        if let Err(error) = marked {
            tracing::error!(%error, "the alert state table failed to mark the key alert");
        }
    }
    result
}

async fn publish(ports: &Adapters<'_>, alert: KeyAlert, group: &KeyGroup) -> Finished {
    match ports.publisher.publish_key_use(&alert).await {
        Ok(()) => Finished::Delivered(Box::new(alert)),
        Err(error) => {
            tracing::error!(
                key = %group.identity,
                error = %Chain(&error),
                "key alert not delivered"
            );
            Finished::Undelivered(error)
        }
    }
}

fn undelivered(group: &KeyGroup, uses: &[(KeyUse, Origin)], cause: PublishFailure) -> PublishError {
    let ids: Vec<String> = uses
        .iter()
        .map(|(u, origin)| u.event_id.clone().unwrap_or_else(|| origin.location()))
        .collect();
    PublishError {
        secret: format!("KMS key {}", group.identity),
        event_ids: crate::alert::event_id_list(ids.iter().map(String::as_str)),
        cause,
    }
}

/// The `ScheduleKeyDeletion` of the key in Event history, in the waiting period before its
/// deletion date.
async fn who_scheduled(
    key: &KeyDescription,
    place: &(Option<AccountId>, Option<RegionName>),
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> ScheduledBy {
    let now = options.clock();
    let to = key.deletion_date.map_or(now, |date| date.min(now));
    let from = to.checked_sub(SCHEDULING_LOOKED_FOR).unwrap_or(to);
    let mut records: Vec<String> = Vec::new();
    let mut each_page = |page: Vec<String>| records.extend(page);
    let read = read_back(
        HistoryEvents::Named("ScheduleKeyDeletion"),
        (from, to),
        at(place),
        SCHEDULE_PAGES,
        (ports, options),
        &mut each_page,
    )
    .await;
    match (key_deletion_in(&records, &key.arn, &key.key_id), read) {
        (Some(seen), _) => ScheduledBy::Found(seen),
        (None, Ok(())) => ScheduledBy::Unknown(format!(
            "no ScheduleKeyDeletion of this key in CloudTrail Event history from {} to {}",
            humantime::format_rfc3339_seconds(from),
            humantime::format_rfc3339_seconds(to)
        )),
        (None, Err(why)) => ScheduledBy::Unknown(format!("not found: {why}")),
    }
}

/// The policy's decision on the key; when it says cancel, Event history's confirmation of a use,
/// then `CancelKeyDeletion`, then `EnableKey` under `KMS_ENABLE_AFTER_CANCEL`.
async fn restore_key(
    group: &KeyGroup,
    lookup: &KeyLookup,
    scheduled_by: &ScheduledBy,
    place: &Place,
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> KeyRestoreOutcome {
    let key_id = match decide_key(
        options.restore_policy,
        lookup,
        scheduled_by,
        options.intended_deleters,
    ) {
        KeyDecision::Skip(outcome) => return outcome,
        KeyDecision::Cancel { key_id } => key_id,
    };
    let (Ok(place), Some(key)) = (place, lookup.description()) else {
        return KeyRestoreOutcome::NotCancelled("the key was not looked up".to_owned());
    };
    if options.verify_reads != VerifyReads::Off {
        let after = scheduled_after(lookup, scheduled_by);
        if let Err(why) = confirm_a_use(group, key, after, place, ports, options).await {
            return KeyRestoreOutcome::Unverified(why);
        }
    }
    match ports
        .key_restorer
        .cancel_key_deletion(&key_id, at(place))
        .await
    {
        Ok(()) => tracing::warn!(key_arn = %key.arn, "cancelled a KMS key's deletion"),
        Err(RestoreError::NotPendingDeletion) => return KeyRestoreOutcome::NoLongerPending,
        Err(error) => {
            tracing::error!(key_arn = %key.arn, %error, "could not cancel a KMS key's deletion");
            return KeyRestoreOutcome::Failed(error.to_string());
        }
    }
    if !options.kms_enable_after_cancel {
        return KeyRestoreOutcome::Cancelled { enabled: false };
    }
    match ports.key_restorer.enable_key(&key_id, at(place)).await {
        Ok(()) => KeyRestoreOutcome::Cancelled { enabled: true },
        Err(error) => KeyRestoreOutcome::CancelledNotEnabled(error.to_string()),
    }
}

/// Event history's word on the key's uses: each distinct event id asked in turn until one is
/// the use the log group gave ([`confirms_key_use`]), or the wait is over.
async fn confirm_a_use(
    group: &KeyGroup,
    key: &KeyDescription,
    scheduled_after: Option<std::time::SystemTime>,
    place: &(Option<AccountId>, Option<RegionName>),
    ports: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Result<(), String> {
    let mut candidates: Vec<(&KeyUse, &str)> = Vec::new();
    for (key_use, _) in &group.uses {
        if let Some(id) = key_use.event_id.as_deref()
            && !candidates.iter().any(|(_, seen)| *seen == id)
        {
            candidates.push((key_use, id));
        }
    }
    let ids: Vec<&str> = candidates.iter().map(|(_, id)| *id).collect();
    confirm_any(&ids, at(place), (ports, options), |index, record| {
        confirms_key_use(
            candidates[index].0,
            &key.arn,
            record,
            scheduled_after,
            options.clock(),
        )
    })
    .await
}
