//! The binary. Cold start only: tracing, configuration, AWS clients built once, then either
//! the Lambda runtime loop or, outside Lambda, the command line (`cli/`).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod cli;

use clap::Parser;
use cli::Cli;
use lambda_runtime::{LambdaEvent, service_fn};
use secret_deletion_alerts::account_names::OrganizationAccounts;
use secret_deletion_alerts::alert_state_table::AlertStateTable;
use secret_deletion_alerts::aws::{SnsPublisher, load_sdk_config, secrets_manager};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::event_history::CloudTrailHistory;
use secret_deletion_alerts::handler::{BatchOptions, Ports, handle_batch};
use secret_deletion_alerts::logs::{Inflater, SubscriptionEvent};
use secret_deletion_alerts::metrics::emf_line;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // Lambda sets AWS_LAMBDA_RUNTIME_API; anywhere else this is a command-line tool.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        // Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org).
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        tracing_subscriber::fmt()
            .with_ansi(colour)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_writer(std::io::stderr)
            .init();
        return cli::run(Cli::parse()).await;
    }
    lambda_runtime::tracing::init_default_subscriber();
    match run_function().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the function cannot start");
            ExitCode::FAILURE
        }
    }
}

async fn run_function() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_lookup(|k| std::env::var(k).ok())?;
    let sdk_config = load_sdk_config(&config).await;
    let publisher = SnsPublisher::new(&sdk_config, config.require_topic()?);
    let secrets = secrets_manager(&sdk_config, &config);
    // The quiet windows, when ALERT_STATE_TABLE names a table; without one, every batch alerts.
    let windows = config
        .alert_state_table
        .as_deref()
        .map(|table| AlertStateTable::new(&sdk_config, table));
    // CloudTrail Event history, in member accounts through the same member role.
    let history = CloudTrailHistory::new(&sdk_config, secrets.member_credentials());
    // Member accounts' names, across an organization only.
    let accounts = config
        .member_role_name
        .as_ref()
        .map(|_| OrganizationAccounts::new(&sdk_config));
    let ports = Ports {
        publisher: &publisher,
        inspector: &secrets,
        restorer: &secrets,
        windows: &windows,
        history: &history,
        accounts: &accounts,
    };
    // The decode buffers of one batch, kept for the next one in this sandbox.
    let inflater = std::sync::Mutex::new(Inflater::default());
    let config = &config;
    let ports = &ports;
    let inflater = &inflater;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SubscriptionEvent>| async move {
            // arn:aws:lambda:REGION:ACCOUNT:function:NAME
            let own_account = event.context.invoked_function_arn.split(':').nth(4);
            let now = SystemTime::now();
            let mut options = BatchOptions::from_config(config, now);
            options.account_id = options.account_id.or(own_account);
            options.deadline = Some(deadline_instant(event.context.deadline, now));
            options.inflater = Some(inflater);
            let result = handle_batch(&event.payload.awslogs.data, ports, &options).await;
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
            }
            Ok::<_, lambda_runtime::Error>(result?)
        },
    ))
    .await
}

/// The Lambda context's deadline (milliseconds since the epoch) as a monotonic instant.
fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Instant {
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline.duration_since(now).unwrap_or(Duration::ZERO);
    Instant::now() + left
}
