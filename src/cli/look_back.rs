//! `scan`: the history's reads of secrets pending deletion, reported (or published) with the
//! function's own detection and alert text. A look-back never restores anything.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use secret_deletion_alerts::assess::LookupSkips;
use secret_deletion_alerts::aws::{SecretsManager, SnsPublisher, load_sdk_config, secrets_manager};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::handler::{BatchOptions, alert_for};
use secret_deletion_alerts::ports::{AlertPublisher, SecretAt, SecretInspector};
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};

use super::dry_run::StdoutPublisher;
use super::walk::{ScanOptions, scan_paths};
use super::{Format, fail};

/// Secrets Manager when `--publish` asked for AWS, else the dry run's adapter: one mechanism
/// for "look nothing up".
struct LiveOrDryRun<'a>(Option<&'a SecretsManager>, &'a DryRunSecrets);

impl SecretInspector for LiveOrDryRun<'_> {
    async fn inspect(&self, secret_id: &str, at: SecretAt<'_>) -> SecretState {
        match self.0 {
            Some(live) => live.inspect(secret_id, at).await,
            None => self.1.inspect(secret_id, at).await,
        }
    }
}

pub(super) async fn look_back(
    paths: &[PathBuf],
    options: &ScanOptions,
    json: bool,
    publish: bool,
) -> ExitCode {
    let mut config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    // A look-back reports; it never cancels a deletion.
    config.restore_policy = RestorePolicy::Off;
    let report = scan_paths(paths, options);
    let findings = &report.findings;
    let log_group = report
        .log_group
        .clone()
        .unwrap_or_else(|| "<the trail's log group>".to_owned());
    let batch_options = BatchOptions::from_config(&config, SystemTime::now());
    let context = batch_options.alert_context(&log_group);
    if !json {
        println!(
            "Scanned {} files ({:.1} MB) in {:.1} s: {} records, {} parsed, {} reads of secrets pending deletion in {} secrets ({} seen twice), {} malformed, {} skipped files.",
            report.files_read,
            report.bytes_read as f64 / 1e6,
            report.elapsed.as_secs_f64(),
            findings.records,
            findings.parsed,
            findings.matched,
            findings.by_secret.len(),
            findings.duplicates,
            findings.malformed.len(),
            report.skipped.len()
        );
        if report.outside_time_range > 0 {
            println!(
                "{} reads were outside --since/--until.",
                report.outside_time_range
            );
        }
        println!();
    }
    let format = if json { Format::Json } else { Format::Email };
    let skips = LookupSkips::default();
    let dry_run = DryRunSecrets::default();
    let mut failed = 0;
    let live = if publish {
        let topic = match config.require_topic() {
            Ok(topic) => topic,
            Err(e) => return fail(e),
        };
        let sdk_config = load_sdk_config(&config).await;
        Some((
            SnsPublisher::new(&sdk_config, topic),
            secrets_manager(&sdk_config, &config),
        ))
    } else {
        None
    };
    for (target, attempts) in &findings.by_secret {
        let (alert, _) = alert_for(
            target,
            attempts,
            &LiveOrDryRun(live.as_ref().map(|(_, secrets)| secrets), &dry_run),
            &dry_run,
            &batch_options,
            &context,
            &skips,
        )
        .await;
        if let Some((sns, _)) = &live
            && let Err(error) = sns.publish(&alert).await
        {
            eprintln!("secret-deletion-alerts: {error}");
            failed += 1;
        }
        if let Err(error) = StdoutPublisher(format).publish(&alert).await {
            return fail(error);
        }
    }
    if failed > 0 {
        return fail(format!("{failed} alerts were not published"));
    }
    if report.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "secret-deletion-alerts: {} files could not be read and were skipped (see the warnings above)",
            report.skipped.len()
        );
        ExitCode::from(2)
    }
}
