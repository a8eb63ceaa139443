//! `scan`: the history's reads of secrets pending deletion, reported (or published) with the
//! function's own detection and alert text. A look-back never restores anything.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use secret_deletion_alerts::alert::AlertContext;
use secret_deletion_alerts::assess::LookupSkips;
use secret_deletion_alerts::athena::DEFAULT_REGIONS;
use secret_deletion_alerts::aws::{SecretsManager, SnsPublisher, load_sdk_config, secrets_manager};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::detection::{Findings, Origin};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::EventHistoryError;
use secret_deletion_alerts::event_history::CloudTrailHistory;
use secret_deletion_alerts::handler::{BatchOptions, alert_for};
use secret_deletion_alerts::ports::{AlertPublisher, SecretAt, SecretInspector};
use secret_deletion_alerts::region::RegionName;
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
    if let Err(code) = alert_all(findings, &config, &batch_options, &context, json, publish).await {
        return code;
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

/// Composes (and prints, and with `publish` sends) the alert of every secret found.
async fn alert_all(
    findings: &Findings,
    config: &Config,
    batch_options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    json: bool,
    publish: bool,
) -> Result<(), ExitCode> {
    let format = if json { Format::Json } else { Format::Email };
    let skips = LookupSkips::default();
    let dry_run = DryRunSecrets::default();
    let mut failed = 0;
    let live = if publish {
        let topic = match config.require_topic() {
            Ok(topic) => topic,
            Err(e) => return Err(fail(e)),
        };
        let sdk_config = load_sdk_config(config).await;
        Some((
            SnsPublisher::new(&sdk_config, topic),
            secrets_manager(&sdk_config, config),
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
            batch_options,
            context,
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
            return Err(fail(error));
        }
    }
    if failed > 0 {
        return Err(fail(format!("{failed} alerts were not published")));
    }
    Ok(())
}

/// Look back through CloudTrail Event history: the `GetSecretValue` events of the last 90
/// days (or `--since`/`--until`) in each region asked, through the same detection and alerts.
pub(super) async fn from_event_history(
    regions: &[String],
    options: &ScanOptions,
    json: bool,
    publish: bool,
) -> ExitCode {
    let mut config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => return fail(e),
    };
    config.restore_policy = RestorePolicy::Off;
    let sdk_config = load_sdk_config(&config).await;
    let every_region = regions.iter().any(|r| r == "all");
    let regions: Vec<String> = if every_region {
        DEFAULT_REGIONS.iter().map(|r| (*r).to_owned()).collect()
    } else if regions.is_empty() {
        match sdk_config.region() {
            Some(region) => vec![region.to_string()],
            None => return fail("no region: set AWS_REGION, or give --region"),
        }
    } else {
        regions.to_vec()
    };
    let now = SystemTime::now();
    let range = (
        options
            .range
            .since
            .unwrap_or(now - std::time::Duration::from_secs(90 * 86_400)),
        options.range.until.unwrap_or(now),
    );
    let history = CloudTrailHistory::new(&sdk_config, None);
    let started = std::time::Instant::now();
    let mut findings = Findings::default();
    let mut failed_regions = Vec::new();
    for name in &regions {
        let Some(region) = RegionName::parse(name) else {
            return fail(format!("{name:?} is not a region name"));
        };
        let at = SecretAt::own(Some(&region));
        let progress = options.progress;
        let records = history
            .events_named("GetSecretValue", range, at, None, |pages, records| {
                if progress {
                    eprint!(
                        "\revent history {region}: {pages} pages, {records} events (paced: 2 calls a second)   "
                    );
                }
            })
            .await;
        if progress {
            eprintln!();
        }
        match records {
            Ok(records) => {
                let source = format!("event-history/{region}");
                for (index, record) in records.iter().enumerate() {
                    let origin = || Origin::File {
                        path: source.clone(),
                        index,
                    };
                    match findings.examine(record, origin) {
                        Ok(Some(access)) => findings.add(access),
                        Ok(None) => {}
                        Err(_) => findings
                            .malformed
                            .push((format!("{source}#{index}"), "not a CloudTrail record")),
                    }
                }
            }
            // `all` names regions the account may not have enabled; those refuse the keys.
            Err(EventHistoryError::Rejected { code, .. })
                if every_region
                    && matches!(
                        code.as_str(),
                        "UnrecognizedClientException" | "InvalidClientTokenId" | "AuthFailure"
                    ) =>
            {
                eprintln!(
                    "secret-deletion-alerts: skipped {region}: not enabled for this account ({code})"
                );
            }
            Err(error) => {
                eprintln!("secret-deletion-alerts: event history of {region}: {error}");
                failed_regions.push(region.to_string());
            }
        }
    }
    let batch_options = BatchOptions::from_config(&config, now);
    let context = batch_options.alert_context("<CloudTrail Event history>");
    if !json {
        println!(
            "Asked CloudTrail Event history of {} regions in {:.1} s: {} records, {} reads of secrets pending deletion in {} secrets, {} malformed, {} regions failed.",
            regions.len(),
            started.elapsed().as_secs_f64(),
            findings.records,
            findings.matched,
            findings.by_secret.len(),
            findings.malformed.len(),
            failed_regions.len()
        );
        println!();
    }
    if let Err(code) = alert_all(&findings, &config, &batch_options, &context, json, publish).await
    {
        return code;
    }
    if failed_regions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
