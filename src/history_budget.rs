//! CloudTrail Event history asked within a batch's budget, for every look-back the function
//! makes (a scheduled deletion's readers, a key's calls, who scheduled a key's deletion) and
//! every confirmation by event id (a key's use, a key's scheduling): pages read back over a
//! range until they run out or the budget does, and a record asked for by its id until it is
//! the one the batch gave or the wait is over. Where no deadline is set (the command line), no
//! timer is ever started before it is needed.

use std::time::{Duration, SystemTime};

use crate::batch_options::BatchOptions;
use crate::error::{Chain, EventHistoryError};
use crate::ports::{Adapters, HistoryEvents, PageBudget, SecretAt};

/// Without a deadline (the command line), how long a look-back may take.
const LOOK_BACK_TIME_WITHOUT_DEADLINE: Duration = Duration::from_secs(120);

/// Every page of `events` in `range` at `at` to `each_page`, at most `max_pages` and never past
/// the time the invocation's deadline leaves: `Ok` when the range was read whole, `Err` with
/// why it was not (the budget, no Event history, a failure).
pub(crate) async fn read_back(
    events: HistoryEvents<'_>,
    range: (SystemTime, SystemTime),
    at: SecretAt<'_>,
    max_pages: usize,
    (ports, options): (&Adapters<'_>, &BatchOptions<'_>),
    each_page: &mut (dyn FnMut(Vec<String>) + Send),
) -> Result<(), String> {
    let until = match options.deadline {
        Some(deadline) => deadline
            .checked_sub(options.deadline_reserve)
            .unwrap_or(deadline),
        None => tokio::time::Instant::now() + LOOK_BACK_TIME_WITHOUT_DEADLINE,
    };
    let budget = PageBudget { max_pages, until };
    let pages = ports
        .history
        .each_page(events, range, budget, at, each_page);
    // The adapter keeps to the budget between pages; the deadline also bounds a slow page.
    // Without a deadline (the command line) no timer is started.
    let result = match options.deadline {
        Some(_) => tokio::time::timeout_at(until, pages).await,
        None => Ok(pages.await),
    };
    match result {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) | Err(_) => Err(format!(
            "the look-back's budget ran out ({max_pages} pages, or the time the invocation's \
             deadline leaves)"
        )),
        Ok(Err(EventHistoryError::NotConfigured)) => {
            Err("no CloudTrail Event history is configured here".to_owned())
        }
        Ok(Err(error)) => Err(format!(
            "CloudTrail Event history could not be read: {}",
            Chain(&error)
        )),
    }
}

/// Asks Event history for each of `event_ids` in turn until `judge` accepts the record it
/// holds for one (`judge(index, record)`), or the wait (`VERIFY_WAIT`, within the deadline) is
/// over: Event history can lag the log group. A record `judge` refuses is not asked again and
/// is never the end of the search: a forged record placed ahead of a genuine one must not keep
/// it from confirming. `Err` says why nothing was confirmed (the first refusal, else the last
/// failure, else the wait).
pub(crate) async fn confirm_any(
    event_ids: &[&str],
    at: SecretAt<'_>,
    (ports, options): (&Adapters<'_>, &BatchOptions<'_>),
    judge: impl Fn(usize, &str) -> Result<(), String>,
) -> Result<(), String> {
    if event_ids.is_empty() {
        return Err("the records carry no event id to confirm".to_owned());
    }
    let mut wait = options.verify_wait;
    if let Some(deadline) = options.deadline {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        wait = wait.min(left.saturating_sub(options.deadline_reserve));
    }
    let mut refused: Vec<Option<String>> = vec![None; event_ids.len()];
    let mut failed: Option<String> = None;
    let started = tokio::time::Instant::now();
    // Asked once before any timer: Event history usually has them, and where none is
    // configured (a dry run, the fuzzer's executor) no timer is ever started.
    let mut first_round = true;
    loop {
        for (index, event_id) in event_ids.iter().enumerate() {
            if refused[index].is_some() {
                continue;
            }
            let asked = ports.history.event(event_id, at);
            let answer = if first_round {
                asked.await
            } else {
                match tokio::time::timeout(wait.saturating_sub(started.elapsed()), asked).await {
                    Ok(answer) => answer,
                    Err(_) => break,
                }
            };
            match answer {
                Ok(Some(record)) => match judge(index, &record) {
                    Ok(()) => return Ok(()),
                    Err(what) => {
                        refused[index] = Some(format!(
                            "Event history holds event {event_id} otherwise: {what}"
                        ));
                    }
                },
                Ok(None) => {}
                Err(EventHistoryError::NotConfigured) => {
                    return Err("no CloudTrail Event history is configured here".to_owned());
                }
                Err(error) => failed = Some(Chain(&error).to_string()),
            }
        }
        first_round = false;
        if refused.iter().all(Option::is_some) || started.elapsed() + options.verify_retry > wait {
            break;
        }
        tokio::time::sleep(options.verify_retry).await;
    }
    Err(match (refused.into_iter().flatten().next(), failed) {
        (Some(refusal), _) => refusal,
        (None, Some(reason)) => format!("CloudTrail Event history could not be asked: {reason}"),
        (None, None) => format!(
            "CloudTrail Event history did not have the event after {}",
            humantime::format_duration(Duration::from_secs(wait.as_secs()))
        ),
    })
}
