//! The Lambda function: its cold start (configuration, the AWS clients built once) and the
//! runtime loop. Both binaries run it: `bootstrap`, the one Lambda starts, and the command
//! line when it finds itself in Lambda. The wiring lives here, outside the core, so neither
//! binary owns it twice.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tokio::sync::OnceCell;

use crate::aws::Wiring;
use crate::config::Config;
use crate::error::{Chain, HandlerError};
use crate::handler::{BatchOptions, handle_batch};
use crate::logs::SubscriptionEvent;
use crate::metrics::{canary_line, emf_line};

/// Whether the clients may be built while the first event is fetched: on an on-demand cold
/// start the event is already waiting, so the build overlaps its fetch and no alert waits
/// longer. Provisioned concurrency and SnapStart initialise ahead of any event, and the
/// sandbox is frozen while it waits for one: there everything is built before the first
/// poll, as the initialisation those modes pay for.
fn builds_clients_while_fetching(initialization_type: Option<&str>) -> bool {
    matches!(initialization_type, None | Some("on-demand"))
}

/// The function as a process: Lambda's log format, then [`run`]; a function that cannot
/// start says why in its log and exits with a failure, which Lambda reports as an init error.
pub async fn run_in_lambda() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the function cannot start");
            ExitCode::FAILURE
        }
    }
}

/// Builds everything once and answers invocations until the sandbox ends.
///
/// Loading the SDK configuration is most of a cold start (about 6 to 9 ms here, most of it
/// reading the system's root certificates), against about 2 ms for a bare `lambda_runtime`
/// function. The configuration is read and checked first, so a bad value still stops the
/// function at start; the clients are then built on a blocking thread while the runtime
/// polls for the first event, and the first event waits for them only if they are not ready.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_lookup(|k| std::env::var(k).ok())?;
    let topic = config.require_topic()?.to_owned();
    log_expected_readers(&config);
    let clients = OnceCell::new();
    let initialization_type = std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").ok();
    let building = if builds_clients_while_fetching(initialization_type.as_deref()) {
        let (config, topic) = (config.clone(), topic.clone());
        let runtime = tokio::runtime::Handle::current();
        Some(tokio::task::spawn_blocking(move || {
            runtime.block_on(Wiring::build(&config, &topic))
        }))
    } else {
        clients.get_or_init(|| Wiring::build(&config, &topic)).await;
        None
    };
    let building = std::sync::Mutex::new(building);
    let (config, topic, clients, building) = (&config, topic.as_str(), &clients, &building);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SubscriptionEvent>| async move {
            let clients = clients
                .get_or_init(|| async {
                    let started = building
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .take();
                    match started {
                        Some(handle) => match handle.await {
                            Ok(built) => built,
                            // The build panicked: build again here, where it is reported.
                            Err(_) => Wiring::build(config, topic).await,
                        },
                        None => Wiring::build(config, topic).await,
                    }
                })
                .await;
            let ports = clients.adapters();
            // arn:aws:lambda:REGION:ACCOUNT:function:NAME
            let own_account = event.context.invoked_function_arn.split(':').nth(4);
            let now = SystemTime::now();
            let mut options = BatchOptions::from_config(config, now);
            options.account_id = options.account_id.or(own_account);
            options.deadline = Some(deadline_instant(event.context.deadline, now));
            let result = handle_batch(&event.payload.awslogs.data, &ports, &options).await;
            // Embedded Metric Format is read from the function's stdout; a failed batch is
            // measured too (its undelivered alerts are what the metric is for).
            let summary = match &result {
                Ok(summary) => Some(summary),
                Err(error) => error.summary(),
            };
            if let Some(summary) = summary {
                let millis = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                println!("{}", emf_line(summary, millis));
                if let (Some(stack), Some(_)) = (&config.stack_name, &config.canary_secret_name) {
                    println!("{}", canary_line(stack, summary.canary_reads, millis));
                }
            }
            result.map_err(invocation_error)
        },
    ))
    .await
}

/// The rules of `EXPECTED_READERS`, once at cold start: how many, and each one already past
/// its `until` (the handler tells of a rule that expires later, once, when it does).
fn log_expected_readers(config: &Config) {
    let rules = &config.expected_readers;
    if rules.is_empty() {
        return;
    }
    tracing::info!(
        rules = rules.rules().len(),
        "EXPECTED_READERS: readers these rules mark are counted, not alerted"
    );
    for rule in rules.newly_expired(SystemTime::now()) {
        tracing::warn!(
            rule = rule.number,
            reason = %rule.reason,
            "an EXPECTED_READERS rule is past its until: it marks nothing any more"
        );
    }
}

/// What Lambda reports of a failed invocation (and the on-failure destination keeps): the
/// error with its causes, each once.
fn invocation_error(error: HandlerError) -> Diagnostic {
    let error_type = match error {
        HandlerError::Decode(_) => "UndecodablePayload",
        HandlerError::Undelivered { .. } => "AlertsUndelivered",
        HandlerError::Unread { .. } => "RecordsUnread",
    };
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: Chain(&error).to_string(),
    }
}

/// The Lambda context's deadline (milliseconds since the epoch) as a monotonic instant.
fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Instant {
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline.duration_since(now).unwrap_or(Duration::ZERO);
    Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_built_ahead_only_where_initialisation_is_paid_ahead() {
        assert!(builds_clients_while_fetching(None));
        assert!(builds_clients_while_fetching(Some("on-demand")));
        assert!(!builds_clients_while_fetching(Some(
            "provisioned-concurrency"
        )));
        assert!(!builds_clients_while_fetching(Some("snap-start")));
    }
}
