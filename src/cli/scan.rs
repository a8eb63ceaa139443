//! `scan`: the history's reads of secrets pending deletion, reported (or published) with the
//! function's own detection and alert text. A look-back never restores anything.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;

use futures_util::FutureExt;
use rayon::prelude::*;
use secret_deletion_alerts::alert::{Alert, AlertContext};
use secret_deletion_alerts::assess::LookupSkips;
use secret_deletion_alerts::athena::{DEFAULT_REGIONS, NotATrailLocation, athena_sql, table_ddl};
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::s3_trail::TrailBucket;
use secret_deletion_alerts::aws::{SecretsManager, Wiring};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::detection::Findings;
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::{Chain, ConfigError, EventHistoryError, PublishError};
use secret_deletion_alerts::handler::{Adapters, BatchOptions, alert_for};
use secret_deletion_alerts::history::{PendingReads, TimeRange, examine_one};
use secret_deletion_alerts::key_use::{key_use_documents, key_use_report};
use secret_deletion_alerts::ports::{
    AlertPublisher, HistoryEvents, NoAccountNames, NoEventHistory, SecretAt, SecretInspector,
};
use secret_deletion_alerts::region::RegionName;
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};
use secret_deletion_alerts::trail_layout::{ListingFilter, S3Location};
use secret_deletion_alerts::usage::report::counted;

use super::bucket_walk::{BucketScanError, FETCHES_IN_FLIGHT, scan_locations};
use super::dry_run::StdoutPublisher;
use super::input_error::SourcesError;
use super::scan_report::ScanReport;
use super::sources::{
    AwsUnreachable, EVENT_HISTORY_DAYS, Source, SourceArgs, connected, read_athena,
    read_event_history,
};
use super::stdout::print_line;
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

/// `scan`'s arguments: the sources (`check`'s grammar, plus paths and s3:// locations as
/// positional arguments), the time range, and what is done with the alerts.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Print one JSON document per alert (the function's documents) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Only reads at or after this time (RFC 3339, e.g. 2026-08-01T00:00:00Z).
    #[arg(long, value_parser = super::parse_time)]
    pub since: Option<SystemTime>,
    /// Only reads before this time.
    #[arg(long, value_parser = super::parse_time)]
    pub until: Option<SystemTime>,
    /// Send the alerts to ALERT_TOPIC_ARN as the function would (with the Secrets Manager
    /// lookup; a look-back never restores anything).
    #[arg(long)]
    pub publish: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Print the search as Athena SQL over each athena: source's table (default:
    /// cloudtrail_logs), and scan nothing.
    #[arg(long)]
    pub print_sql: bool,
    /// Print the CREATE TABLE, with partition projection, of a trail's logs under this
    /// account prefix (s3://BUCKET/[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/), named as the athena:
    /// source's table (default cloudtrail_logs); scan nothing.
    #[arg(long, value_name = "S3_PREFIX", conflicts_with = "print_sql")]
    pub athena_table_ddl: Option<String>,
    /// The same as --source event-history.
    #[arg(long)]
    pub event_history: bool,
    /// With event-history: a region to ask (repeatable); `all` for every commercial region;
    /// default: the configured region. With s3:// locations: only this region's logs
    /// (repeatable); default: every region in the bucket.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// With s3:// locations: only this account's logs (repeatable); default: every account in
    /// the bucket (an organization trail's bucket holds all of them).
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Files, directories and s3://BUCKET[/PREFIX] locations (a trail's bucket, listed only
    /// where --since, --until, --account and --region point), mixed freely: the same as
    /// --source with each.
    #[arg(value_name = "LOCATION")]
    pub paths: Vec<String>,
    /// Show progress on standard error (set when it is a terminal).
    #[arg(skip)]
    pub progress: bool,
}

/// Why a scan could not run at all (exit 1). What it could not read is not this: that is
/// said, and the scan ends with 2 (or 3, when it found reads all the same).
#[derive(Debug, thiserror::Error)]
enum ScanError {
    #[error(transparent)]
    Sources(#[from] SourcesError),
    #[error("name what to scan: files, directories, s3:// locations, or --source")]
    NothingToScan,
    #[error(transparent)]
    Configuration(#[from] ConfigError),
    #[error(transparent)]
    Location(#[from] NotATrailLocation),
    #[error(transparent)]
    Aws(#[from] AwsUnreachable),
    #[error(transparent)]
    Bucket(BucketScanError),
    #[error(transparent)]
    Print(#[from] PublishError),
    #[error("cannot write a key use's JSON document")]
    Document(#[source] serde_json::Error),
    #[error("{0} alerts were not published")]
    NotPublished(usize),
    #[error("cannot write to standard output")]
    Stdout(#[from] std::io::Error),
}

/// What `scan` reads: local paths, S3 locations and how their listing is pruned, and the
/// sources that are not files.
#[derive(Debug, Default)]
struct Sources {
    paths: Vec<PathBuf>,
    locations: Vec<S3Location>,
    filter: ListingFilter,
    event_history: bool,
    athena: Vec<(String, String)>,
}

impl Sources {
    fn parse(args: &ScanArgs) -> Result<Self, SourcesError> {
        let range = TimeRange {
            since: args.since,
            until: args.until,
        };
        let mut sources = Sources {
            event_history: args.event_history,
            ..Sources::default()
        };
        let positional = args.paths.iter().map(|text| {
            // A positional argument is a place on disk or in S3, never a keyword.
            if S3Location::is_s3(text) || std::path::Path::new(text).exists() {
                Source::parse(text)
            } else {
                Err(SourcesError::NoSuchPath(text.clone()))
            }
        });
        let named = args.sources.sources.iter().map(|text| Source::parse(text));
        for source in positional.chain(named) {
            match source? {
                Source::Local(path) => sources.paths.push(path),
                Source::S3(location) => sources.locations.push(location),
                Source::EventHistory => sources.event_history = true,
                Source::Athena { database, table } => sources.athena.push((database, table)),
            }
        }
        let every_region = args.regions.iter().any(|r| r == "all");
        if sources.locations.is_empty()
            && !sources.event_history
            && !(args.accounts.is_empty() && args.regions.is_empty())
        {
            return Err(SourcesError::FilterWithoutS3);
        }
        if let Some(account) = args
            .accounts
            .iter()
            .find(|a| !secret_deletion_alerts::ids::is_account_id(a))
        {
            return Err(SourcesError::Account(account.clone()));
        }
        if let Some(region) = args
            .regions
            .iter()
            .find(|r| RegionName::parse(r).is_none() && !(*r == "all" && sources.event_history))
        {
            return Err(SourcesError::Region(region.clone()));
        }
        sources.filter = ListingFilter {
            accounts: args.accounts.clone(),
            regions: if every_region {
                Vec::new()
            } else {
                args.regions.clone()
            },
            range,
        };
        Ok(sources)
    }

    fn is_empty(&self) -> bool {
        self.paths.is_empty()
            && self.locations.is_empty()
            && !self.event_history
            && self.athena.is_empty()
    }

    fn needs_aws(&self) -> bool {
        !self.locations.is_empty() || self.event_history || !self.athena.is_empty()
    }
}

/// The configuration of a look-back: the function's, with restoring off.
fn look_back_config() -> Result<Config, ConfigError> {
    let mut config = Config::from_lookup(|k| std::env::var(k).ok())?;
    // A look-back reports; it never cancels a deletion.
    config.restore_policy = RestorePolicy::Off;
    Ok(config)
}

pub(super) async fn scan(args: ScanArgs) -> ExitCode {
    match run(args).await {
        Ok(status) => ExitCode::from(status),
        Err(error) => fail(Chain(&error)),
    }
}

async fn run(args: ScanArgs) -> Result<u8, ScanError> {
    if let Some(location) = &args.athena_table_ddl {
        let table = athena_table_named(&args)?;
        print_line(table_ddl(&table, location, &DEFAULT_REGIONS)?)?;
        return Ok(0);
    }
    if args.print_sql {
        let table = athena_table_named(&args)?;
        let partitioned = args.sources.athena_partitioned;
        print_line(athena_sql(&table, args.since, args.until, partitioned))?;
        return Ok(0);
    }
    let sources = Sources::parse(&args)?;
    if sources.is_empty() {
        return Err(ScanError::NothingToScan);
    }
    let config = look_back_config()?;
    let options = ScanOptions {
        range: TimeRange {
            since: args.since,
            until: args.until,
        },
        progress: args.progress,
    };
    let started = std::time::Instant::now();
    let mut report = ScanReport::default();
    let question = PendingReads {
        range: options.range,
    };
    // Sources that could not be read (a tree without history, a region, a bucket, a
    // query), one line each.
    let mut unread: Vec<String> = Vec::new();
    if !sources.paths.is_empty() {
        scan_paths(
            &question,
            &sources.paths,
            &options,
            &mut report,
            PENDING_READS,
        );
        if report.files_read == 0 && report.skipped.is_empty() {
            // Nothing read is not "nothing found": the tree may be the wrong one.
            unread.push("no history file in the paths given".to_owned());
        }
    }
    let sdk_config = if args.publish || sources.needs_aws() {
        Some(connected(&config).await?)
    } else {
        None
    };
    if let Some(sdk_config) = &sdk_config {
        if !sources.locations.is_empty() {
            let bucket = TrailBucket::new(sdk_config);
            if let Err(error) = scan_locations(
                &question,
                &bucket,
                &sources.locations,
                &sources.filter,
                &options,
                &mut report,
                PENDING_READS,
            )
            .await
            {
                // A location that cannot be listed is one the scan cannot read at all, as a
                // path that does not exist (an object that cannot be read is skipped).
                return Err(ScanError::Bucket(error));
            }
        }
        if sources.event_history {
            let regions = event_history_regions(sdk_config, &args.regions)?;
            let history = CloudTrailHistory::new(sdk_config, None);
            unread.extend(
                from_event_history(&history, &regions, &options, &mut report.findings).await,
            );
        }
        for (database, table) in &sources.athena {
            let sql = athena_sql(
                table,
                args.since,
                args.until,
                args.sources.athena_partitioned,
            );
            let location = format!("athena:{table}");
            let (_, result) = read_athena(
                sdk_config,
                (database, table),
                &sql,
                &args.sources,
                args.progress,
                |record, index| examine_one(&mut report.findings, record, &location, index),
            )
            .await;
            if let Err(error) = result {
                unread.push(format!("{location}: {}", Chain(&error)));
            }
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
    if !args.json {
        print_report(&report)?;
    }
    let live = sdk_config.as_ref().filter(|_| args.publish);
    alert_all(findings, &config, live, &batch_options, &context, args.json).await?;
    print_key_uses(findings, args.json)?;
    if !report.skipped.is_empty() {
        unread.push(format!(
            "{} could not be read and {} skipped (see the warnings above)",
            counted(report.skipped.len() as u64, "file", "files"),
            if report.skipped.len() == 1 {
                "was"
            } else {
                "were"
            }
        ));
    }
    for why in &unread {
        eprintln!("secret-deletion-alerts: not read: {why}");
    }
    let found = findings.matched > 0 || !findings.key_uses.is_empty();
    Ok(exit_status(found, !unread.is_empty()))
}

/// The table `--print-sql` and `--athena-table-ddl` name: the athena: source's, else
/// `cloudtrail_logs`.
fn athena_table_named(args: &ScanArgs) -> Result<String, SourcesError> {
    for text in &args.sources.sources {
        if let Source::Athena { table, .. } = Source::parse(text)? {
            return Ok(table);
        }
    }
    Ok("cloudtrail_logs".to_owned())
}

/// `scan`'s exit status, `check`'s rule: 3 when reads of secrets pending deletion (or uses of
/// keys pending deletion) were found, else 2 when something could not be read, else 0.
fn exit_status(reads_found: bool, something_unread: bool) -> u8 {
    match (reads_found, something_unread) {
        (true, _) => 3,
        (false, true) => 2,
        (false, false) => 0,
    }
}

fn print_report(report: &ScanReport) -> std::io::Result<()> {
    let findings = &report.findings;
    print_line(format_args!(
        "Scanned {} ({:.1} MB) in {:.1} s: {} examined ({} parsed, the rest pre-checked out), {} of secrets pending deletion in {} ({} seen twice), {} not JSON, {} skipped.",
        counted(report.files_read as u64, "file", "files"),
        report.bytes_read as f64 / 1e6,
        report.elapsed.as_secs_f64(),
        counted(findings.records as u64, "record", "records"),
        findings.parsed,
        counted(findings.matched as u64, "read", "reads"),
        counted(findings.by_secret.len() as u64, "secret", "secrets"),
        findings.duplicates,
        counted(findings.malformed.len() as u64, "record", "records"),
        counted(report.skipped.len() as u64, "file", "files"),
    ))?;
    if report.files_without_candidates > 0 {
        print_line(format_args!(
            "{} no possible read and passed over unparsed (their records are not counted).",
            counted(
                report.files_without_candidates as u64,
                "file held",
                "files held"
            )
        ))?;
    }
    if let Some(cost) = &report.bucket {
        print_line(format_args!(
            "S3: {} listed with {} in {:.1} s ({} digests and checks passed over); fetching {:.1} s and scanning {:.1} s, summed over up to {} requests in flight.",
            counted(cost.objects_listed as u64, "object", "objects"),
            counted(
                cost.list_requests as u64,
                "ListObjectsV2 request",
                "ListObjectsV2 requests"
            ),
            cost.listing.as_secs_f64(),
            cost.objects_passed_over,
            cost.fetching.as_secs_f64(),
            cost.scanning.as_secs_f64(),
            FETCHES_IN_FLIGHT
        ))?;
    }
    if report.outside_time_range > 0 {
        print_line(format_args!(
            "{} outside --since/--until.",
            counted(report.outside_time_range as u64, "find was", "finds were")
        ))?;
    }
    print_line("")
}

/// The uses of KMS keys pending deletion found (#45: reported here; not yet published): one
/// block a key, or one JSON document (`secret-deletion-alerts/key-use/v1`) a key.
fn print_key_uses(findings: &Findings, json: bool) -> Result<(), ScanError> {
    if findings.key_uses.is_empty() {
        return Ok(());
    }
    let documents = key_use_documents(
        findings
            .key_uses
            .iter()
            .map(|(key_use, origin)| (key_use, origin.location())),
    );
    if json {
        for document in &documents {
            print_line(serde_json::to_string(document).map_err(ScanError::Document)?)?;
        }
    } else {
        print_line(key_use_report(&documents))?;
    }
    Ok(())
}

/// Composes (and prints, and with `live` AWS sends) the alert of every secret found.
async fn alert_all(
    findings: &Findings,
    config: &Config,
    live: Option<&SdkConfig>,
    batch_options: &BatchOptions<'_>,
    context: &AlertContext<'_>,
    json: bool,
) -> Result<(), ScanError> {
    let format = if json { Format::Json } else { Format::Email };
    let skips = LookupSkips::default();
    let dry_run = DryRunSecrets::default();
    let mut failed = 0;
    // Published through the function's own wiring (its topic and its copies); looked up
    // there too, never restored (a look-back has no restore policy), nothing confirmed.
    let wiring = match live {
        Some(sdk_config) => {
            let topic = config.require_topic()?;
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
    // Without AWS nothing waits: every alert is composed on the cores at once (a scan of many
    // reads spent a third of its time composing them one by one after the files were read).
    // Any that would wait (none, today) is composed below, in turn.
    let composed: Vec<Option<Alert>> = if wiring.is_none() {
        let targets: Vec<_> = findings.by_secret.iter().collect();
        targets
            .par_iter()
            .map(|(target, attempts)| {
                alert_for(target, attempts, &adapters, batch_options, context, &skips)
                    .now_or_never()
                    .map(|(alert, _)| alert)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut composed = composed.into_iter();
    for (target, attempts) in &findings.by_secret {
        let alert = match composed.next().flatten() {
            Some(alert) => alert,
            None => {
                alert_for(target, attempts, &adapters, batch_options, context, &skips)
                    .await
                    .0
            }
        };
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
        publisher.publish(&alert).await?;
    }
    if failed > 0 {
        return Err(ScanError::NotPublished(failed));
    }
    Ok(())
}

/// Look back through CloudTrail Event history: the `GetSecretValue` events of the last 90
/// days (or `--since`/`--until`) in each region asked, put to the function's own rule. The
/// answer is each region that could not be read, and why.
async fn from_event_history(
    history: &CloudTrailHistory,
    regions: &[RegionName],
    options: &ScanOptions,
    findings: &mut Findings,
) -> Vec<String> {
    let now = SystemTime::now();
    let window = (
        options
            .range
            .since
            .unwrap_or(now - Duration::from_secs(EVENT_HISTORY_DAYS * 86_400)),
        options.range.until.unwrap_or(now),
    );
    let every_region = regions.len() == DEFAULT_REGIONS.len();
    let mut unread = Vec::new();
    for region in regions {
        let location = format!("event-history/{region}");
        let (_, result) = read_event_history(
            history,
            SecretAt::own(Some(region)),
            window,
            (region.as_str(), HistoryEvents::Named("GetSecretValue")),
            options.progress,
            |record, index| examine_one(findings, record, &location, index),
        )
        .await;
        match result {
            Ok(()) => {}
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
            Err(error) => unread.push(format!("event-history of {region}: {}", Chain(&error))),
        }
    }
    unread
}

/// The regions `event-history` asks: those given (`all`: every commercial region), else the
/// configured one.
fn event_history_regions(
    sdk_config: &SdkConfig,
    regions: &[String],
) -> Result<Vec<RegionName>, ScanError> {
    let names: Vec<String> = if regions.iter().any(|r| r == "all") {
        DEFAULT_REGIONS.iter().map(|r| (*r).to_owned()).collect()
    } else if regions.is_empty() {
        match sdk_config.region() {
            Some(region) => vec![region.to_string()],
            None => return Err(AwsUnreachable::NoRegion.into()),
        }
    } else {
        regions.to_vec()
    };
    names
        .iter()
        .map(|name| {
            RegionName::parse(name).ok_or_else(|| SourcesError::Region(name.clone()).into())
        })
        .collect()
}
