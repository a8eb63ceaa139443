//! `scan`: the history's reads of secrets pending deletion, reported (or published) with the
//! function's own detection and alert text. A look-back never restores anything.

use std::io::Write;

use super::input_error::SourcesError;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use aws_config::SdkConfig;

use secret_deletion_alerts::alert::AlertContext;
use secret_deletion_alerts::assess::LookupSkips;
use secret_deletion_alerts::athena::DEFAULT_REGIONS;
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::s3_trail::TrailBucket;
use secret_deletion_alerts::aws::{SecretsManager, Wiring, load_sdk_config};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::detection::Findings;
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::Chain;
use secret_deletion_alerts::error::EventHistoryError;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, alert_for};
use secret_deletion_alerts::history::{PendingReads, examine_one};
use secret_deletion_alerts::ports::{
    AlertPublisher, NoAccountNames, NoEventHistory, SecretAt, SecretInspector,
};
use secret_deletion_alerts::region::RegionName;
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};
use secret_deletion_alerts::trail_layout::{ListingFilter, S3Location};

use super::bucket_walk::{FETCHES_IN_FLIGHT, scan_locations};
use super::dry_run::StdoutPublisher;
use super::scan_report::ScanReport;
use super::walk::{ScanOptions, scan_paths};
use super::{Format, fail};

/// What `scan`'s progress bar counts.
const PENDING_READS: &str = "reads of secrets pending deletion";

/// Secrets Manager when `--publish` asked for AWS, else the dry run's adapter: one mechanism
/// for "look nothing up".
struct LiveOrDryRun<'a>(Option<&'a SecretsManager>, &'a DryRunSecrets);

#[async_trait::async_trait]
impl SecretInspector for LiveOrDryRun<'_> {
    async fn inspect(&self, secret_id: &str, at: SecretAt<'_>) -> SecretState {
        match self.0 {
            Some(live) => live.inspect(secret_id, at).await,
            None => self.1.inspect(secret_id, at).await,
        }
    }
}

/// What `scan` reads: local paths and S3 locations, and how the listing is pruned.
#[derive(Debug, Default)]
pub(super) struct Sources {
    pub paths: Vec<PathBuf>,
    pub locations: Vec<S3Location>,
    pub filter: ListingFilter,
}

impl Sources {
    pub fn parse(
        arguments: &[String],
        accounts: Vec<String>,
        regions: Vec<String>,
        options: &ScanOptions,
    ) -> Result<Self, SourcesError> {
        let mut sources = Sources::default();
        for argument in arguments {
            if S3Location::is_s3(argument) {
                sources.locations.push(S3Location::parse(argument)?);
            } else if std::path::Path::new(argument).exists() {
                sources.paths.push(PathBuf::from(argument));
            } else {
                return Err(SourcesError::NoSuchPath(argument.clone()));
            }
        }
        if sources.locations.is_empty() && !(accounts.is_empty() && regions.is_empty()) {
            return Err(SourcesError::FilterWithoutS3);
        }
        if let Some(account) = accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(SourcesError::Account(account.clone()));
        }
        if let Some(region) = regions.iter().find(|r| RegionName::parse(r).is_none()) {
            return Err(SourcesError::Region(region.clone()));
        }
        sources.filter = ListingFilter {
            accounts,
            regions,
            range: options.range,
        };
        Ok(sources)
    }
}

/// The configuration of a look-back: the function's, with restoring off.
fn look_back_config() -> Result<Config, ExitCode> {
    let mut config = Config::from_lookup(|k| std::env::var(k).ok()).map_err(fail)?;
    // A look-back reports; it never cancels a deletion.
    config.restore_policy = RestorePolicy::Off;
    Ok(config)
}

pub(super) async fn look_back(
    sources: &Sources,
    options: &ScanOptions,
    json: bool,
    publish: bool,
) -> ExitCode {
    let config = match look_back_config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let mut report = ScanReport::default();
    let question = PendingReads {
        range: options.range,
    };
    if !sources.paths.is_empty() {
        scan_paths(
            &question,
            &sources.paths,
            options,
            &mut report,
            PENDING_READS,
        );
    }
    let sdk_config = if publish || !sources.locations.is_empty() {
        Some(load_sdk_config(&config).await)
    } else {
        None
    };
    if let (Some(sdk_config), false) = (&sdk_config, sources.locations.is_empty()) {
        let bucket = TrailBucket::new(sdk_config);
        if let Err(error) = scan_locations(
            &question,
            &bucket,
            &sources.locations,
            &sources.filter,
            options,
            &mut report,
            PENDING_READS,
        )
        .await
        {
            return fail(Chain(&error));
        }
    }
    report.elapsed = started.elapsed();
    report.findings.merge_namings();
    let findings = &report.findings;
    let log_group = report
        .log_group
        .clone()
        .unwrap_or_else(|| "<the trail's log group>".to_owned());
    let batch_options = BatchOptions::from_config(&config, SystemTime::now());
    let context = batch_options.alert_context(&log_group);
    if !json && let Err(error) = print_report(&report) {
        return fail(error);
    }
    let live = sdk_config.as_ref().filter(|_| publish);
    if let Err(code) = alert_all(findings, &config, live, &batch_options, &context, json).await {
        return code;
    }
    if !report.skipped.is_empty() {
        eprintln!(
            "secret-deletion-alerts: {} files could not be read and were skipped (see the warnings above)",
            report.skipped.len()
        );
    }
    exit_status(findings.matched > 0, !report.skipped.is_empty())
}

/// `scan`'s exit status, `check`'s rule: 3 when reads of secrets pending deletion were found,
/// else 2 when something could not be read, else 0.
fn exit_status(reads_found: bool, something_unread: bool) -> ExitCode {
    ExitCode::from(match (reads_found, something_unread) {
        (true, _) => 3,
        (false, true) => 2,
        (false, false) => 0,
    })
}

fn print_report(report: &ScanReport) -> std::io::Result<()> {
    let findings = &report.findings;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
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
    )?;
    if report.files_without_candidates > 0 {
        writeln!(
            out,
            "{} files held no possible read and were passed over unparsed (their records are not counted).",
            report.files_without_candidates
        )?;
    }
    if let Some(cost) = &report.bucket {
        writeln!(
            out,
            "S3: {} objects listed with {} ListObjectsV2 requests in {:.1} s ({} digests and checks passed over); fetching {:.1} s and scanning {:.1} s, summed over up to {} requests in flight.",
            cost.objects_listed,
            cost.list_requests,
            cost.listing.as_secs_f64(),
            cost.objects_passed_over,
            cost.fetching.as_secs_f64(),
            cost.scanning.as_secs_f64(),
            FETCHES_IN_FLIGHT
        )?;
    }
    if report.outside_time_range > 0 {
        writeln!(
            out,
            "{} reads were outside --since/--until.",
            report.outside_time_range
        )?;
    }
    writeln!(out)
}

/// Composes (and prints, and with `live` AWS sends) the alert of every secret found.
async fn alert_all(
    findings: &Findings,
    config: &Config,
    live: Option<&SdkConfig>,
    batch_options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    json: bool,
) -> Result<(), ExitCode> {
    let format = if json { Format::Json } else { Format::Email };
    let skips = LookupSkips::default();
    let dry_run = DryRunSecrets::default();
    let mut failed = 0;
    // Published through the function's own wiring (its topic and its copies); looked up
    // there too, never restored (a look-back has no restore policy), nothing confirmed.
    let wiring = match live {
        Some(sdk_config) => {
            let topic = config.require_topic().map_err(fail)?;
            Some(Wiring::with_sdk_config(sdk_config, config, topic))
        }
        None => None,
    };
    let inspector = LiveOrDryRun(wiring.as_ref().map(Wiring::secrets), &dry_run);
    let publisher = StdoutPublisher(format);
    let adapters = Adapters {
        inspector: &inspector,
        restorer: &dry_run,
        history: &NoEventHistory,
        accounts: &NoAccountNames,
        ..wiring
            .as_ref()
            .map_or_else(|| Adapters::new(&publisher, &dry_run), Wiring::adapters)
    };
    for (target, attempts) in &findings.by_secret {
        let (alert, _) =
            alert_for(target, attempts, &adapters, batch_options, context, &skips).await;
        if wiring.is_some() {
            match adapters.publisher.publish(&alert).await {
                Ok(()) => {
                    adapters.copies.deliver(std::slice::from_ref(&alert)).await;
                }
                Err(error) => {
                    eprintln!("secret-deletion-alerts: {}", Chain(&error));
                    failed += 1;
                }
            }
        }
        if let Err(error) = publisher.publish(&alert).await {
            return Err(fail(Chain(&error)));
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
    let config = match look_back_config() {
        Ok(config) => config,
        Err(code) => return code,
    };
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
                    examine_one(&mut findings, record, &source, index);
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
    findings.merge_namings();
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
    let live = Some(&sdk_config).filter(|_| publish);
    if let Err(code) = alert_all(&findings, &config, live, &batch_options, &context, json).await {
        return code;
    }
    exit_status(findings.matched > 0, !failed_regions.is_empty())
}
