//! Where a cold start's time goes before the first poll: each step of `function::run`'s
//! set-up, timed once (run it a few times; the first run pays the page cache). Prints one
//! line for `scripts/bench`.
#![allow(clippy::unwrap_used)]
use std::time::Instant;

use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::dynamodb_windows::AlertStateTable;
use secret_deletion_alerts::aws::organizations::OrganizationAccounts;
use secret_deletion_alerts::aws::{SnsPublisher, load_sdk_config, secrets_manager};
use secret_deletion_alerts::config::Config;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let started = Instant::now();
    let mut last = started;
    let mut step = |name: &str| {
        let now = Instant::now();
        print!("{name} {:.2} ms, ", (now - last).as_secs_f64() * 1e3);
        last = now;
    };
    lambda_runtime::tracing::init_default_subscriber();
    step("tracing");
    let config = Config::from_lookup(|k| std::env::var(k).ok()).unwrap();
    step("config");
    let sdk_config = load_sdk_config(&config).await;
    step("load_sdk_config");
    let _sns = SnsPublisher::new(&sdk_config, "arn:aws:sns:us-east-1:123456789012:t");
    step("SNS client");
    let secrets = secrets_manager(&sdk_config, &config);
    step("Secrets Manager client");
    let _table = AlertStateTable::new(&sdk_config, "t");
    step("DynamoDB client");
    let _history = CloudTrailHistory::new(&sdk_config, secrets.member_credentials());
    step("CloudTrail client");
    let _accounts = OrganizationAccounts::new(&sdk_config);
    step("Organizations client");
    println!("in all {:.2} ms", started.elapsed().as_secs_f64() * 1e3);
}
