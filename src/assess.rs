//! One secret, before its alerts are composed: its state (looked up in its account and
//! region), whether CloudTrail confirms its reads, who scheduled the deletion, and the
//! restore policy applied (restoring only a read CloudTrail confirmed, unless
//! `VERIFY_READS=off`). A failure here never fails the batch: it is what the alert says.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::alert::{DeletionFound, Evidence};
use crate::batch_options::BatchOptions;
use crate::caller::CallerKey;
use crate::detection::{PendingDeletionAccess, SecretTarget, detect};
use crate::error::{EventHistoryError, RestoreError};
use crate::ids::AccountId;
use crate::ports::{Adapters, EventHistory, SecretAt, SecretInspector, SecretRestorer};
use crate::region::RegionName;
use crate::restore::{Intent, intent};
use crate::restore::{
    LookupFailure, OtherAccountReason, RestoreDecision, RestoreOutcome, SecretState, decide,
};
use crate::verification::{ReadWindow, Verification, VerifyReads, matches, parse_event_time};

/// What was learnt about one secret.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub state: SecretState,
    pub outcome: RestoreOutcome,
    pub evidence: Evidence,
}

impl Assessment {
    /// `attempts`, with the read that Event history confirmed as Event history has it: the
    /// alert names the reader by CloudTrail's own record, not by the log group's copy.
    pub fn reads(&self, attempts: &[PendingDeletionAccess]) -> Vec<PendingDeletionAccess> {
        let Verification::Confirmed { read, .. } = &self.evidence.verification else {
            return attempts.to_vec();
        };
        attempts
            .iter()
            .map(|attempt| {
                if attempt.event_id == read.event_id {
                    (**read).clone()
                } else {
                    attempt.clone()
                }
            })
            .collect()
    }
}

/// What one lookup's failure makes the rest of a batch skip: the lookups in an (account,
/// region) where Secrets Manager was unreachable, and every lookup in an account whose
/// member role could not be assumed. One bad region or account degrades only itself.
#[derive(Debug, Default)]
pub struct LookupSkips {
    unreachable: Mutex<BTreeSet<(String, String)>>,
    member_role_failed: Mutex<BTreeSet<String>>,
}

/// Where a lookup went: the member account (or the function's own) and the region (or the
/// client's own).
fn place(member_account: Option<&AccountId>, region: Option<&RegionName>) -> (String, String) {
    (
        member_account.map_or_else(|| "own account".to_owned(), AccountId::to_string),
        region.map_or_else(|| "default region".to_owned(), |r| r.as_str().to_owned()),
    )
}

impl LookupSkips {
    fn member_role_failed_in(&self, account: &str) -> bool {
        lock(&self.member_role_failed).contains(account)
    }

    fn unreachable_at(&self, place: &(String, String)) -> bool {
        lock(&self.unreachable).contains(place)
    }

    fn note(
        &self,
        state: &SecretState,
        member_account: Option<&AccountId>,
        region: Option<&RegionName>,
    ) {
        match (state, member_account) {
            (
                SecretState::LookupFailed {
                    cause: LookupFailure::Unreachable,
                    ..
                },
                _,
            ) => {
                lock(&self.unreachable).insert(place(member_account, region));
            }
            (
                SecretState::LookupFailed {
                    cause: LookupFailure::MemberRole,
                    ..
                },
                Some(account),
            ) => {
                lock(&self.member_role_failed).insert(account.to_string());
            }
            _ => {}
        }
    }
}

fn lock<T>(set: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The secret's evidence, and the restore policy applied to its looked-up `state`
/// ([`look_up`]): restoring if the policy says so and CloudTrail confirmed a read.
pub async fn assess(
    target: &SecretTarget,
    attempts: &[PendingDeletionAccess],
    state: SecretState,
    sources: &Adapters<'_>,
    options: &BatchOptions<'_>,
) -> Assessment {
    let region = target.endpoint_region().ok().flatten();
    let member = member_account(target, options);
    let at = SecretAt {
        region: region.as_ref(),
        member_account: member.ok().flatten(),
    };
    let decision = decide(options.restore_policy, &state);
    let restoring = matches!(decision, RestoreDecision::Restore { .. });
    // Who scheduled the deletion comes first: a confirming read must be later, and an
    // intended deletion is never restored.
    let deletion = scheduled_deletion(&state, sources.history, at, options).await;
    let verification = match (options.verify_reads, restoring) {
        (VerifyReads::Off, _) => Verification::NotChecked {
            why: "VERIFY_READS=off",
        },
        (VerifyReads::Restore, false) => Verification::NotChecked {
            why: "reads are confirmed before a restore (VERIFY_READS=restore), and there is none",
        },
        _ => {
            let window = ReadWindow {
                scheduled_after: scheduled_after(&state, &deletion),
                now: options.clock(),
            };
            verify(attempts, sources.history, target, window, options).await
        }
    };
    let outcome = match decision {
        RestoreDecision::Skip(outcome) => outcome,
        RestoreDecision::Restore { .. }
            if options.verify_reads != VerifyReads::Off && !verification.is_confirmed() =>
        {
            tracing::warn!(
                secret = target.display_name().unwrap_or(""),
                verification = %verification.describe(),
                "not restoring: CloudTrail did not confirm the read"
            );
            RestoreOutcome::Unverified(verification.describe())
        }
        RestoreDecision::Restore { arn } => {
            let deleter = match &deletion {
                DeletionFound::Found(found) => found.by_arn.as_deref(),
                _ => None,
            };
            match intent(&state, deleter, options.intended_deleters) {
                Intent::Intended(why) => {
                    tracing::warn!(secret_arn = %arn, why, "not restoring: the deletion is intended");
                    RestoreOutcome::DeletionIntended {
                        why,
                        deleter: deleter.map(str::to_owned),
                    }
                }
                Intent::Unknown => RestoreOutcome::DeletionIntended {
                    why: "INTENDED_DELETERS is set and who scheduled the deletion is not known"
                        .to_owned(),
                    deleter: None,
                },
                Intent::NotIntended => restore(&arn, sources.restorer, at).await,
            }
        }
    };
    // Member accounts only: the function's own account is the one its readers know.
    let account_name = match at.member_account {
        Some(account) => sources.accounts.name(account).await,
        None => None,
    };
    Assessment {
        state,
        outcome,
        evidence: Evidence {
            verification,
            deletion,
            account_name,
            expected_left_out: None,
        },
    }
}

/// The earliest a read may be to count for the current deletion: when the `DeleteSecret`
/// record says it was scheduled, else the deletion date less the longest recovery window.
fn scheduled_after(state: &SecretState, deletion: &DeletionFound) -> Option<SystemTime> {
    if let DeletionFound::Found(found) = deletion
        && let Some(at) = found.at.as_deref().and_then(parse_event_time)
    {
        return Some(at);
    }
    state
        .deletion_date()
        .and_then(|date| date.checked_sub(LONGEST_RECOVERY_WINDOW))
}

/// Secrets Manager's longest recovery window.
const LONGEST_RECOVERY_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where a copy of a read was logged, so where Event history holds it: the account in its
/// `recipientAccountId` (through the member role when that is not the function's own) and
/// the region in its `awsRegion`; the secret's own when the record gives none. `Err` when
/// the function may not act in that account.
fn logged_at(
    read: &PendingDeletionAccess,
    target: &SecretTarget,
    options: &BatchOptions<'_>,
) -> Result<(Option<RegionName>, Option<AccountId>), OtherAccountReason> {
    let logged = SecretTarget {
        account_id: read
            .recipient_account_id
            .as_deref()
            .map(AccountId::from)
            .or_else(|| target.account_id.clone()),
        region: read.aws_region.clone().or_else(|| target.region.clone()),
        secret_id: None,
    };
    let account = member_account(&logged, options)?.cloned();
    let region = logged.endpoint_region().ok().flatten();
    Ok((region, account))
}

/// Asks Event history for every distinct read of an alert by its event id, until one is the
/// read the log group gave or the wait is over (Event history can lag the log group). A read
/// that Event history does not know, or holds otherwise, is passed over, never the end of
/// the search: forged reads placed ahead of a genuine one must not keep it from confirming.
/// The reads are tried one caller at a time in turn, so one caller's many reads cannot
/// use up the wait before another caller's is tried.
async fn verify(
    attempts: &[PendingDeletionAccess],
    history: &dyn EventHistory,
    target: &SecretTarget,
    window: ReadWindow,
    options: &BatchOptions<'_>,
) -> Verification {
    if attempts.iter().all(|read| read.event_id.is_none()) {
        return Verification::NotChecked {
            why: "the records carry no event id to confirm",
        };
    }
    let candidates = candidates_in_turn(attempts, target, options);
    if candidates.is_empty() {
        // Nothing can confirm these reads: they stay unconfirmed, and say so.
        return Verification::LookupFailed {
            reason: "the reads were logged in an account this function may not act in".to_owned(),
        };
    }
    let mut wait = options.verify_wait;
    if let Some(deadline) = options.deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        wait = wait.min(left.saturating_sub(options.deadline_reserve));
    }
    let started = Instant::now();
    let mut failed = None;
    // What Event history holds for an id will not change: a read it holds otherwise (a
    // forgery, or a record bent on the way) is not asked again, and is what the alert says
    // when nothing else confirms.
    let mut mismatched: Vec<Option<Verification>> = vec![None; candidates.len()];
    // The whole wait is bounded, calls included: a slow Event history never eats into the
    // time the rest of the secret's work is kept.
    let tries = async {
        loop {
            for (index, (read, event_id, region, account)) in candidates.iter().enumerate() {
                if mismatched[index].is_some() {
                    continue;
                }
                let at = SecretAt {
                    region: region.as_ref(),
                    member_account: account.as_ref(),
                };
                match history.event(event_id, at).await {
                    Ok(Some(record)) => match matches(read, &record, window) {
                        Ok(confirmed) => {
                            return Verification::Confirmed {
                                event_id: (*event_id).to_owned(),
                                read: Box::new(
                                    detect(&confirmed, read.origin.clone()).map_or_else(
                                        || (*read).clone(),
                                        |mut from_history| {
                                            from_history.unreadable_fields.clear();
                                            from_history
                                        },
                                    ),
                                ),
                            };
                        }
                        Err(what) => {
                            mismatched[index] = Some(Verification::Mismatch {
                                event_id: (*event_id).to_owned(),
                                what,
                            });
                        }
                    },
                    Ok(None) => {}
                    Err(EventHistoryError::NotConfigured) => {
                        return Verification::NotChecked {
                            why: "no CloudTrail Event history is configured here",
                        };
                    }
                    Err(EventHistoryError::Rejected { code, message })
                        if !code.contains("Throttl") =>
                    {
                        return Verification::LookupFailed {
                            reason: format!("{code}: {message}"),
                        };
                    }
                    Err(error) => failed = Some(error.to_string()),
                }
            }
            if mismatched.iter().all(Option::is_some) {
                break;
            }
            if started.elapsed() + options.verify_retry > wait {
                break;
            }
            tokio::time::sleep(options.verify_retry).await;
        }
        Verification::NotFound { waited: wait }
    };
    let outcome = tokio::time::timeout(wait, tries).await;
    let first_mismatch = || mismatched.iter().flatten().next().cloned();
    match (outcome, failed) {
        (Ok(Verification::NotFound { .. }) | Err(_), _) if first_mismatch().is_some() => {
            first_mismatch().unwrap_or(Verification::NotFound { waited: wait })
        }
        (Ok(Verification::NotFound { .. }) | Err(_), Some(reason)) => {
            Verification::LookupFailed { reason }
        }
        (Ok(Verification::NotFound { .. }) | Err(_), None) => Verification::NotFound {
            waited: Duration::from_secs(started.elapsed().as_secs().max(wait.as_secs())),
        },
        (Ok(verification), _) => verification,
    }
}

/// A read Event history can be asked for: its event id, and where it was logged.
type Candidate<'r> = (
    &'r PendingDeletionAccess,
    &'r str,
    Option<RegionName>,
    Option<AccountId>,
);

/// The distinct reads (by event id) that Event history can be asked for, one caller at a
/// time in turn: the first read of each caller, then the second of each, and so on.
fn candidates_in_turn<'r>(
    attempts: &'r [PendingDeletionAccess],
    target: &SecretTarget,
    options: &BatchOptions<'_>,
) -> Vec<Candidate<'r>> {
    let mut seen = BTreeSet::new();
    let mut by_caller: BTreeMap<CallerKey, Vec<Candidate<'r>>> = BTreeMap::new();
    for read in attempts {
        let Some(id) = read.event_id.as_deref() else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        let Ok((region, account)) = logged_at(read, target, options) else {
            continue;
        };
        by_caller
            .entry(CallerKey::of(&read.who))
            .or_default()
            .push((read, id, region, account));
    }
    let mut queues: Vec<std::vec::IntoIter<Candidate<'r>>> =
        by_caller.into_values().map(Vec::into_iter).collect();
    let mut in_turn = Vec::new();
    loop {
        let before = in_turn.len();
        in_turn.extend(queues.iter_mut().filter_map(Iterator::next));
        if in_turn.len() == before {
            return in_turn;
        }
    }
}

/// Who scheduled the deletion, from Event history, for a secret pending deletion.
async fn scheduled_deletion(
    state: &SecretState,
    history: &dyn EventHistory,
    at: SecretAt<'_>,
    options: &BatchOptions<'_>,
) -> DeletionFound {
    let SecretState::PendingDeletion {
        arn,
        name,
        deletion_date,
        ..
    } = state
    else {
        return DeletionFound::NotAsked;
    };
    let lookup = history.scheduled_deletion(arn, name, *deletion_date, options.clock(), at);
    let limit = options.deletion_lookup_limit;
    match tokio::time::timeout(limit, lookup).await {
        Ok(Ok(Some(deletion))) => DeletionFound::Found(deletion),
        Ok(Ok(None)) => DeletionFound::NotFound("not found in Event history".to_owned()),
        Ok(Err(EventHistoryError::NotConfigured)) => DeletionFound::NotAsked,
        Ok(Err(error)) => DeletionFound::NotFound(format!("not found in Event history: {error}")),
        Err(_) => DeletionFound::NotFound(format!(
            "not found in Event history within {}",
            humantime::format_duration(limit)
        )),
    }
}

/// The account to act in for `target`: `Ok(None)` for the function's own (or when either is
/// unknown), `Ok(Some(account))` for a member account the function may act in, `Err(why)`
/// for one it may not.
pub(crate) fn member_account<'t>(
    target: &'t SecretTarget,
    options: &BatchOptions<'_>,
) -> Result<Option<&'t AccountId>, OtherAccountReason> {
    if target
        .account_id
        .as_ref()
        .is_some_and(|account| !account.is_well_formed())
    {
        return Err(OtherAccountReason::Unreadable);
    }
    let (Some(account), Some(own)) = (&target.account_id, options.account_id) else {
        return Ok(None);
    };
    if account.as_str() == own {
        return Ok(None);
    }
    if options.member_role.is_none() {
        return Err(OtherAccountReason::NoMemberRole);
    }
    match options.accounts {
        Some(allowed) if !allowed.contains(account.as_str()) => {
            Err(OtherAccountReason::NotInAccounts)
        }
        _ => Ok(Some(account)),
    }
}

/// Where the function acts for `target` (a secret, or a key as `what` names it): the member
/// account (`None`: its own) and the region's name; or why it does not act there.
pub(crate) fn acting_place(
    target: &SecretTarget,
    what: &str,
    options: &BatchOptions<'_>,
) -> Result<(Option<AccountId>, Option<RegionName>), String> {
    let member = member_account(target, options)
        .map_err(|why| {
            format!(
                "the {what} is in account {}, where this function does not act: {}",
                target.account_id.as_deref().unwrap_or("(unnamed)"),
                why.describe()
            )
        })?
        .cloned();
    let region = target
        .endpoint_region()
        .map_err(|text| format!("the record's region {text:?} is not a region name"))?;
    Ok((member, region))
}

/// Only a state that was looked up leads here, and a lookup needs a valid region and an
/// account the function may act in: `at` is where it was looked up.
async fn restore(arn: &str, restorer: &dyn SecretRestorer, at: SecretAt<'_>) -> RestoreOutcome {
    match restorer.restore(arn, at).await {
        Ok(()) => {
            tracing::warn!(secret_arn = %arn, "cancelled the scheduled deletion");
            RestoreOutcome::Restored
        }
        Err(RestoreError::NotPendingDeletion) => {
            tracing::info!(secret_arn = %arn, "the deletion was already cancelled");
            RestoreOutcome::NoLongerPending
        }
        Err(error) => {
            tracing::error!(secret_arn = %arn, %error, "could not cancel the scheduled deletion");
            RestoreOutcome::Failed(error.to_string())
        }
    }
}

/// The secret's state, looked up in its account and region where the function may and can;
/// else what kept it from being looked up.
pub async fn look_up(
    target: &SecretTarget,
    inspector: &dyn SecretInspector,
    options: &BatchOptions<'_>,
    skips: &LookupSkips,
) -> SecretState {
    let Some(secret_id) = target.secret_id.as_deref() else {
        return SecretState::NotNamed;
    };
    let member = match member_account(target, options) {
        Ok(member) => member,
        Err(why) => {
            return SecretState::OtherAccount {
                secret_account: target.account_id.as_deref().unwrap_or("").to_owned(),
                function_account: options.account_id.unwrap_or("").to_owned(),
                why,
            };
        }
    };
    let region = match target.endpoint_region() {
        Ok(region) => region,
        Err(text) => {
            return SecretState::NotLookedUp {
                reason: format!(
                    "the record's region {:?} is not an AWS region name",
                    crate::sanitize::clean_text(text, 40)
                ),
            };
        }
    };
    let place = place(member, region.as_ref());
    if skips.unreachable_at(&place) {
        // One timeout per place and batch is enough: the next lookups there would only wait
        // out theirs too.
        return SecretState::LookupFailed {
            reason: format!(
                "skipped: Secrets Manager was unreachable in {} ({}) earlier in this batch",
                place.1, place.0
            ),
            cause: LookupFailure::Unreachable,
        };
    }
    if let Some(account) = member
        && skips.member_role_failed_in(account)
    {
        return SecretState::LookupFailed {
            reason: format!(
                "skipped: the member role of account {account} could not be assumed earlier in this batch"
            ),
            cause: LookupFailure::MemberRole,
        };
    }
    let at = SecretAt {
        region: region.as_ref(),
        member_account: member,
    };
    let state = inspector.inspect(secret_id, at).await;
    skips.note(&state, member, region.as_ref());
    state
}
