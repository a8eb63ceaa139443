//! The canary function's bootstrap: every hour (an EventBridge schedule) it keeps the canary
//! secret pending deletion and reads it, so that the alert function's `CanaryReadsSeen`
//! shows that reads of such secrets still reach it (`src/canary.rs`).

use std::process::ExitCode;
use std::time::SystemTime;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use secret_deletion_alerts::aws::canary_secret::CanarySecret;
use secret_deletion_alerts::aws::load_sdk_config;
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::error::Chain;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    let Some(name) = std::env::var("CANARY_SECRET_NAME")
        .ok()
        .filter(|n| !n.trim().is_empty())
    else {
        tracing::error!("CANARY_SECRET_NAME must be set: the canary secret's name");
        return ExitCode::FAILURE;
    };
    let config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(%error, "the canary cannot start");
            return ExitCode::FAILURE;
        }
    };
    let vault = CanarySecret::new(&load_sdk_config(&config).await, &name);
    let vault = &vault;
    let served = lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            match secret_deletion_alerts::canary_run::run(vault, SystemTime::now()).await {
                Ok(steps) => {
                    let steps: Vec<String> = steps.iter().map(|s| format!("{s:?}")).collect();
                    tracing::info!(steps = %steps.join(","), "canary read");
                    Ok(serde_json::json!({ "steps": steps }))
                }
                Err(error) => Err(Diagnostic {
                    error_type: "CanaryFailed".to_owned(),
                    error_message: Chain(&error).to_string(),
                }),
            }
        },
    ))
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the canary stopped");
            ExitCode::FAILURE
        }
    }
}
