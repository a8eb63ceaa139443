//! `check`: before a deletion, whether anything still reads a secret (or uses a KMS key), and
//! who. The secrets are looked up (DescribeSecret, or ListSecrets for `--pending`) and the
//! keys resolved (DescribeKey, and ListSecrets for the secrets under each) unless
//! `--offline`; every source is read with the same question ([`ReadsOfSecrets`]); the answer
//! is one block (or one JSON document) per secret or key, and the exit status says in one
//! number whether any is in use (3), unknown (2), or unread everywhere (0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use secret_deletion_alerts::athena::check_sql;
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::s3_trail::TrailBucket;
use secret_deletion_alerts::aws::{KmsKeys, MemberCredentials, SecretsManager};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::detection::Origin;
use secret_deletion_alerts::error::Chain;
use secret_deletion_alerts::expected::ExpectedReaders;
use secret_deletion_alerts::history::TimeRange;
use secret_deletion_alerts::ids::AccountId;
use secret_deletion_alerts::key_state::KeyLookup;
use secret_deletion_alerts::ports::{HistoryEvents, SecretAt};
use secret_deletion_alerts::ports::{KeyInspector, KeySecrets};
use secret_deletion_alerts::region::RegionName;
use secret_deletion_alerts::trail_layout::ListingFilter;
use secret_deletion_alerts::usage::{
    CheckOutcome, FilesRead, ReadsOfSecrets, SecretQuery, SourceCoverage, SourceKind, Subject,
    UsageTally, check_document, coverage_of_files, exit_status, report,
};

use secret_deletion_alerts::error::ConfigError;
use secret_deletion_alerts::usage::QueryError;

use super::bucket_walk::scan_locations;
use super::fail;
use super::input_error::SourcesError;
use super::scan_report::ScanReport;
use super::sources::{
    AwsUnreachable, EVENT_HISTORY_DAYS, Source, SourceArgs, connected, read_athena,
    read_event_history,
};
use super::stdout::print_line;
use super::walk::{ScanOptions, scan_paths};

/// What the progress bar counts.
const READS_ASKED: &str = "reads of the secrets asked";
/// CloudTrail's launch (2013-11-13), in seconds since the epoch: the oldest a window starts.
const CLOUDTRAIL_LAUNCH_SECONDS: u64 = 1_384_300_800;

/// `check`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// A name, a partial ARN or a full ARN (as many as you like); a KMS key's ARN checks the
    /// key.
    #[arg(value_name = "SECRET", required_unless_present_any = ["pending", "keys"])]
    pub secrets: Vec<String>,
    /// A KMS key (repeatable): its ARN, id or alias/NAME. Every KMS call naming it is a use;
    /// online, an id or alias is resolved with DescribeKey; offline, only its ARN names it.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// Check every secret already scheduled for deletion (ListSecrets with
    /// IncludePlannedDeletion) in every region asked, and in each of ACCOUNTS through
    /// MEMBER_ROLE_NAME.
    #[arg(long)]
    pub pending: bool,
    /// The window to look back over, in days (Event history keeps 90).
    #[arg(long, default_value_t = 90)]
    pub days: u64,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// A region to check names in and to list (repeatable); default: the configured
    /// region. An ARN is checked in its own region.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Offline: the account a secret named by name lives in (an ARN names its own). Without
    /// it, a name matches reads in any account, and no source can vouch it was not read.
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub account: Option<String>,
    /// One JSON document per secret (docs/check-v1.schema.json) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Make no AWS call: no lookup, local sources only.
    #[arg(long)]
    pub offline: bool,
    /// A file of EXPECTED_READERS rules (the function's JSON list): the readers they mark
    /// are told as expected (still counted: they still read the secret). Default: the
    /// EXPECTED_READERS variable, if set.
    #[arg(long, value_name = "FILE")]
    pub expected_readers: Option<PathBuf>,
    /// Show progress on standard error (set when it is a terminal).
    #[arg(skip)]
    pub progress: bool,
}

/// Why a check could not run at all (exit 1): its arguments, its configuration, or AWS out
/// of reach. What a check finds it cannot read is never this: it is the answer's `unknown`.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    /// What the arguments ask is not something a check can do.
    #[error("{0}")]
    Arguments(String),
    #[error("--expected-readers {}", path.display())]
    ExpectedReadersFile {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
    #[error(transparent)]
    Configuration(ConfigError),
    #[error(transparent)]
    Secret(#[from] QueryError),
    #[error(transparent)]
    Sources(#[from] SourcesError),
    #[error(transparent)]
    Aws(#[from] AwsUnreachable),
    #[error("cannot write the JSON document")]
    Output(#[source] serde_json::Error),
    #[error("cannot write to standard output")]
    Stdout(#[from] std::io::Error),
}

/// The rules of `--expected-readers FILE`, else of `EXPECTED_READERS`, else none.
fn expected_readers(file: Option<&Path>) -> Result<ExpectedReaders, CheckError> {
    let text = match file {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|cause| CheckError::ExpectedReadersFile {
                path: path.to_owned(),
                cause,
            })?
        }
        None => match std::env::var("EXPECTED_READERS") {
            Ok(text) if !text.trim().is_empty() => text,
            _ => return Ok(ExpectedReaders::default()),
        },
    };
    ExpectedReaders::parse(&text).map_err(CheckError::Configuration)
}

/// Where a secret lives, as far as `check` acts there: its region, and the member account
/// when it is not the caller's own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    region: Option<RegionName>,
    member: Option<AccountId>,
}

impl Place {
    fn at(&self) -> SecretAt<'_> {
        SecretAt {
            region: self.region.as_ref(),
            member_account: self.member.as_ref(),
        }
    }

    fn describe(&self, own: Option<&str>) -> String {
        let region = self
            .region
            .as_ref()
            .map_or("the configured region", |r| r.as_str());
        match (&self.member, own) {
            (Some(account), _) => format!("{region} (account {account})"),
            (None, Some(own)) => format!("{region} (account {own})"),
            (None, None) => region.to_owned(),
        }
    }
}

/// The AWS side of a check: clients, the caller's own account, and the member role.
struct Aws {
    sdk_config: SdkConfig,
    secrets: SecretsManager,
    /// KMS, for the keys asked about.
    keys: KmsKeys,
    member: Option<Arc<MemberCredentials>>,
    config: Config,
    own_account: Option<String>,
}

impl Aws {
    /// Where a secret of `account` (when known) and `region` is acted on.
    fn place(&self, account: Option<&str>, region: Option<&str>) -> Place {
        let member = match (account, self.own_account.as_deref()) {
            (Some(account), Some(own)) if account != own => Some(AccountId::from(account)),
            (Some(account), None) if self.member.is_some() => Some(AccountId::from(account)),
            _ => None,
        };
        Place {
            region: region.and_then(RegionName::parse),
            member,
        }
    }
}

pub(super) async fn check(args: CheckArgs) -> ExitCode {
    match run(args).await {
        Ok(status) => ExitCode::from(status),
        Err(error) => fail(Chain(&error)),
    }
}

async fn run(args: CheckArgs) -> Result<u8, CheckError> {
    let wrong = |message: String| Err(CheckError::Arguments(message));
    if args.secrets.is_empty() && args.keys.is_empty() && !args.pending {
        return wrong("name at least one secret or --key, or give --pending".into());
    }
    if args.days == 0 {
        return wrong("--days must be at least 1".into());
    }
    let source_texts = if args.sources.sources.is_empty() {
        vec!["event-history".to_owned()]
    } else {
        args.sources.sources.clone()
    };
    let sources = source_texts
        .iter()
        .map(|s| Source::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(region) = args.regions.iter().find(|r| RegionName::parse(r).is_none()) {
        return wrong(format!("--region {region:?} is not a region name"));
    }
    if args.offline {
        if args.pending {
            return wrong("--pending asks Secrets Manager: it cannot run --offline".into());
        }
        if let Some(source) = sources.iter().find(|s| s.needs_aws()) {
            return wrong(format!(
                "--offline reads local files only, and {source} needs AWS: give --source \
                 with a file or a directory"
            ));
        }
    }
    let expected = expected_readers(args.expected_readers.as_deref())?;
    let mut queries = Vec::new();
    for text in &args.secrets {
        queries.push(if SecretQuery::is_key_arn(text) {
            SecretQuery::key(text)?
        } else {
            SecretQuery::parse(text)?
        });
    }
    for text in &args.keys {
        let key = SecretQuery::key(text)?;
        if args.offline && key.arn.is_none() {
            return wrong(format!(
                "--key {text:?}: offline, name a key by its ARN (arn:aws:kms:REGION:ACCOUNT:key/ID): \
                 an id or alias can only be resolved with DescribeKey"
            ));
        }
        queries.push(key);
    }

    let now = SystemTime::now();
    // Nothing is older than CloudTrail (November 2013): a longer window starts there.
    let launch = SystemTime::UNIX_EPOCH + Duration::from_secs(CLOUDTRAIL_LAUNCH_SECONDS);
    let from = args
        .days
        .checked_mul(86_400)
        .and_then(|seconds| now.checked_sub(Duration::from_secs(seconds)))
        .map_or(launch, |from| from.max(launch));
    let aws = if args.offline {
        None
    } else {
        Some(connect().await?)
    };
    // Accounts and regions --pending could not list: their secrets are unknown.
    let mut unlisted: Vec<String> = Vec::new();
    if aws.is_none() {
        queries = in_regions(queries, &args.regions);
        if let Some(account) = &args.account {
            if !secret_deletion_alerts::ids::is_account_id(account) {
                return Err(CheckError::Arguments(format!(
                    "--account {account:?} is not a 12-digit account id"
                )));
            }
            for query in &mut queries {
                query.account_id.get_or_insert_with(|| account.clone());
            }
        }
    } else if args.account.is_some() {
        return Err(CheckError::Arguments(
            "--account is for --offline: online, a secret's account is looked up".to_owned(),
        ));
    }
    if let Some(aws) = &aws {
        queries = place_queries(queries, &args.regions, aws)?;
        look_up(&mut queries, aws).await;
        if args.pending {
            let (found, failures) = pending(aws, &args.regions).await?;
            queries.extend(found);
            unlisted = failures;
        }
    }
    for failure in &unlisted {
        eprintln!("secret-deletion-alerts: {failure}");
    }
    // What could not be listed may hold secrets scheduled for deletion: not a clean answer.
    let unlisted_status = if unlisted.is_empty() { 0 } else { 2 };
    if queries.is_empty() {
        if !args.json {
            print_line("No secret is scheduled for deletion in the regions and accounts listed.")?;
        }
        return Ok(unlisted_status);
    }

    let question = ReadsOfSecrets::with_expected(queries.clone(), from, now, expected);
    let mut tally = question.empty_tally();
    let mut shared_sources = Vec::new();
    let mut per_secret_sources: Vec<Vec<SourceCoverage>> = vec![Vec::new(); queries.len()];
    let options = ScanOptions {
        range: TimeRange {
            since: Some(from),
            until: Some(now),
        },
        progress: args.progress,
    };
    for source in &sources {
        match source {
            Source::Local(path) => {
                let mut report = ScanReport::<UsageTally>::default();
                scan_paths(
                    &question,
                    std::slice::from_ref(path),
                    &options,
                    &mut report,
                    READS_ASKED,
                );
                let location = path.display().to_string();
                for (query, own) in queries.iter().zip(per_secret_sources.iter_mut()) {
                    own.push(coverage_of_files(
                        SourceKind::Local,
                        location.clone(),
                        &files_read(&report),
                        query,
                        (from, now),
                    ));
                }
                tally.merge(report.findings);
            }
            Source::S3(location) => {
                let Some(aws) = &aws else { continue };
                let bucket = TrailBucket::new(&aws.sdk_config);
                let mut report = ScanReport::<UsageTally>::default();
                let filter = ListingFilter {
                    accounts: Vec::new(),
                    regions: Vec::new(),
                    range: options.range,
                };
                let listed = scan_locations(
                    &question,
                    &bucket,
                    std::slice::from_ref(location),
                    &filter,
                    &options,
                    &mut report,
                    READS_ASKED,
                )
                .await;
                let url = location.url_of(&location.prefix);
                for (query, own) in queries.iter().zip(per_secret_sources.iter_mut()) {
                    own.push(match &listed {
                        Ok(()) => coverage_of_files(
                            SourceKind::S3,
                            url.clone(),
                            &files_read(&report),
                            query,
                            (from, now),
                        ),
                        Err(error) => SourceCoverage {
                            kind: SourceKind::S3,
                            location: url.clone(),
                            complete: false,
                            detail: Chain(error).to_string(),
                        },
                    });
                }
                tally.merge(report.findings);
            }
            Source::Athena { database, table } => {
                let Some(aws) = &aws else { continue };
                shared_sources.push(
                    athena(
                        &question,
                        aws,
                        database,
                        table,
                        &args,
                        (from, now),
                        &mut tally,
                    )
                    .await,
                );
            }
            Source::EventHistory => {
                let Some(aws) = &aws else { continue };
                event_history(
                    &question,
                    &queries,
                    aws,
                    (from, now),
                    args.days,
                    args.progress,
                    &mut tally,
                    &mut per_secret_sources,
                )
                .await;
            }
        }
    }

    let mut verdicts = Vec::new();
    let mut reads = tally.secrets.into_iter();
    for (secret, own_sources) in queries.into_iter().zip(per_secret_sources) {
        let mut sources = own_sources;
        match secret.subject {
            Subject::Secret => sources.extend(shared_sources.iter().cloned()),
            // The Athena question is the secrets' (GetSecretValue rows): a key is not in it.
            Subject::KmsKey => sources.extend(shared_sources.iter().map(|shared| SourceCoverage {
                complete: false,
                detail: "not asked: an Athena source answers for secrets only".to_owned(),
                ..shared.clone()
            })),
        }
        let outcome = CheckOutcome {
            secret,
            from,
            to: now,
            sources,
            reads: reads.next().unwrap_or_default(),
        };
        verdicts.push(outcome.verdict());
        if args.json {
            let line =
                serde_json::to_string(&check_document(&outcome)).map_err(CheckError::Output)?;
            print_line(line)?;
        } else {
            print_line(report::secret_block(&outcome, now))?;
        }
    }
    Ok(exit_status(verdicts).max(unlisted_status))
}

/// The SDK configuration, the Secrets Manager adapter (with the member role when
/// `MEMBER_ROLE_NAME` is set), and the caller's own account when `ACCOUNT_ID` gives it.
async fn connect() -> Result<Aws, CheckError> {
    let config =
        Config::from_lookup(|k| std::env::var(k).ok()).map_err(CheckError::Configuration)?;
    let sdk_config = connected(&config).await?;
    let secrets = secret_deletion_alerts::aws::secrets_manager(&sdk_config, &config);
    let member = secrets.member_credentials();
    let own_account = config.account_id.clone();
    Ok(Aws {
        keys: KmsKeys::new(&sdk_config, member.clone()),
        sdk_config,
        secrets,
        member,
        config,
        own_account,
    })
}

/// A name (or a partial ARN without a region) is checked in every region asked, one query
/// each; an ARN in its own region. Default: the configured region.
fn place_queries(
    queries: Vec<SecretQuery>,
    regions: &[String],
    aws: &Aws,
) -> Result<Vec<SecretQuery>, CheckError> {
    let regions: Vec<String> = if regions.is_empty() {
        match aws.sdk_config.region() {
            Some(region) => vec![region.to_string()],
            None => return Err(AwsUnreachable::NoRegion.into()),
        }
    } else {
        regions.to_vec()
    };
    Ok(in_regions(queries, &regions))
}

/// Each query without a region of its own, once in each of `regions`: offline as online, a
/// read logged in another region is not a read of the secret asked.
fn in_regions(queries: Vec<SecretQuery>, regions: &[String]) -> Vec<SecretQuery> {
    let mut placed = Vec::new();
    for query in queries {
        if query.region.is_some() || regions.is_empty() {
            placed.push(query);
            continue;
        }
        for region in regions {
            let mut query = query.clone();
            query.region = Some(region.clone());
            placed.push(query);
        }
    }
    placed
}

/// DescribeSecret for every secret asked. A failure is a note in the answer, never the end
/// of the check: the history is read all the same.
async fn look_up(queries: &mut [SecretQuery], aws: &Aws) {
    for query in queries.iter_mut() {
        let place = aws.place(query.account_id.as_deref(), query.region.as_deref());
        if query.subject == Subject::KmsKey {
            look_up_key(query, &place, aws).await;
            continue;
        }
        let id = query.arn.clone().unwrap_or_else(|| query.as_named.clone());
        match aws.secrets.describe(&id, place.at()).await {
            Ok(Some(description)) => query.looked_up(description),
            Ok(None) => {
                query.lookup_note = Some(format!(
                    "Secrets Manager has no secret {id:?} in {}: it was purged, or it lives \
                     in another region or account",
                    place.describe(aws.own_account.as_deref())
                ));
            }
            Err(reason) => {
                query.lookup_note = Some(format!(
                    "the lookup in {} failed: {reason}",
                    place.describe(aws.own_account.as_deref())
                ));
            }
        }
    }
}

/// DescribeKey for a key asked about (which resolves an id or alias to its ARN), and the
/// secrets ListSecrets shows under it. A failure is a note in the answer.
async fn look_up_key(query: &mut SecretQuery, place: &Place, aws: &Aws) {
    let id = query.arn.clone().unwrap_or_else(|| query.as_named.clone());
    let where_ = place.describe(aws.own_account.as_deref());
    match aws.keys.describe_key(&id, place.at()).await {
        KeyLookup::Described(key) => {
            query.key_described(&key.arn, &key.key_id, key.deletion_date);
            query.secrets_under_key = Some(
                aws.secrets
                    .secrets_under_key(&key, place.at())
                    .await
                    .map(|secrets| secrets.into_iter().map(|s| s.name).collect()),
            );
        }
        KeyLookup::NotLookedUp(why) | KeyLookup::Failed(why) => {
            query.lookup_note = Some(format!("DescribeKey of {id:?} in {where_} failed: {why}"));
        }
    }
}

/// Every secret scheduled for deletion in the regions asked, in the caller's account and in
/// each of `ACCOUNTS` through the member role; and, one line each, where listing failed (the
/// rest is checked all the same).
async fn pending(
    aws: &Aws,
    regions: &[String],
) -> Result<(Vec<SecretQuery>, Vec<String>), CheckError> {
    let regions: Vec<String> = if regions.is_empty() {
        aws.sdk_config
            .region()
            .map(|r| vec![r.to_string()])
            .ok_or(AwsUnreachable::NoRegion)?
    } else {
        regions.to_vec()
    };
    let mut accounts: Vec<Option<AccountId>> = vec![None];
    if aws.member.is_some() {
        for account in aws.config.accounts.iter().flatten() {
            if aws.own_account.as_deref() != Some(account.as_str()) {
                accounts.push(Some(AccountId::from(account.as_str())));
            }
        }
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for account in &accounts {
        for region in &regions {
            let place = Place {
                region: RegionName::parse(region),
                member: account.clone(),
            };
            let listed = match aws.secrets.pending_deletion(place.at()).await {
                Ok(listed) => listed,
                Err(reason) => {
                    failures.push(format!(
                        "--pending: cannot list the secrets of {}: {reason}",
                        place.describe(aws.own_account.as_deref())
                    ));
                    continue;
                }
            };
            found.extend(
                listed
                    .into_iter()
                    .map(|description| SecretQuery::listed(description, region)),
            );
        }
    }
    Ok((found, failures))
}

/// CloudTrail Event history of each place a secret lives, once per place: every
/// `GetSecretValue` in the window, a page at a time, paced. A key's calls are read apart, by
/// its ARN (`ResourceName`), in its own account and region.
#[allow(clippy::too_many_arguments)]
async fn event_history(
    question: &ReadsOfSecrets,
    queries: &[SecretQuery],
    aws: &Aws,
    window: (SystemTime, SystemTime),
    days: u64,
    progress: bool,
    tally: &mut UsageTally,
    per_secret: &mut [Vec<SourceCoverage>],
) {
    let mut places: BTreeMap<Place, Vec<usize>> = BTreeMap::new();
    let mut keys: Vec<(usize, Place)> = Vec::new();
    for (index, query) in queries.iter().enumerate() {
        let place = aws.place(query.account_id.as_deref(), query.region.as_deref());
        match query.subject {
            Subject::Secret => places.entry(place).or_default().push(index),
            Subject::KmsKey => keys.push((index, place)),
        }
    }
    let histories: BTreeMap<bool, CloudTrailHistory> = [
        (false, CloudTrailHistory::new(&aws.sdk_config, None)),
        (
            true,
            CloudTrailHistory::new(&aws.sdk_config, aws.member.clone()),
        ),
    ]
    .into_iter()
    .collect();
    for (place, indices) in places {
        let location = place.describe(aws.own_account.as_deref());
        let history = &histories[&place.member.is_some()];
        let name = format!("event-history/{location}");
        let (events, result) = read_event_history(
            history,
            place.at(),
            window,
            (&location, HistoryEvents::Named("GetSecretValue")),
            progress,
            |record, index| {
                question.examine_record(tally, record, || Origin::File {
                    path: name.clone(),
                    index,
                });
            },
        )
        .await;
        let (complete, detail) = match result {
            Ok(()) if days > EVENT_HISTORY_DAYS => (
                false,
                format!(
                    "{events} GetSecretValue events read; Event history keeps {EVENT_HISTORY_DAYS} \
                     days and the window is {days}: add the trail's bucket (s3://...) for the rest"
                ),
            ),
            Ok(()) => (true, format!("{events} GetSecretValue events read")),
            Err(error) => (
                false,
                format!(
                    "{events} GetSecretValue events read, then: {}",
                    Chain(&error)
                ),
            ),
        };
        for index in indices {
            per_secret[index].push(SourceCoverage {
                kind: SourceKind::EventHistory,
                location: location.clone(),
                complete,
                detail: detail.clone(),
            });
        }
    }
    for (index, place) in keys {
        let location = place.describe(aws.own_account.as_deref());
        let Some(arn) = queries[index].arn.clone() else {
            per_secret[index].push(SourceCoverage {
                kind: SourceKind::EventHistory,
                location,
                complete: false,
                detail: "not read: the key was not resolved to its ARN (DescribeKey)".to_owned(),
            });
            continue;
        };
        let history = &histories[&place.member.is_some()];
        let name = format!("event-history/{location}");
        let (events, result) = read_event_history(
            history,
            place.at(),
            window,
            (&location, HistoryEvents::On(&arn)),
            progress,
            |record, event| {
                question.examine_record(tally, record, || Origin::File {
                    path: name.clone(),
                    index: event,
                });
            },
        )
        .await;
        let (complete, detail) = match result {
            Ok(()) if days > EVENT_HISTORY_DAYS => (
                false,
                format!(
                    "{events} events of the key read; Event history keeps {EVENT_HISTORY_DAYS} \
                     days and the window is {days}: add the trail's bucket (s3://...) for the rest"
                ),
            ),
            Ok(()) => (true, format!("{events} events of the key read")),
            Err(error) => (
                false,
                format!("{events} events of the key read, then: {}", Chain(&error)),
            ),
        };
        per_secret[index].push(SourceCoverage {
            kind: SourceKind::EventHistory,
            location,
            complete,
            detail,
        });
    }
}

/// The question as Athena SQL over `table`, its rows read back as records.
async fn athena(
    question: &ReadsOfSecrets,
    aws: &Aws,
    database: &str,
    table: &str,
    args: &CheckArgs,
    (from, to): (SystemTime, SystemTime),
    tally: &mut UsageTally,
) -> SourceCoverage {
    let names: Vec<String> = question
        .secrets()
        .iter()
        .flat_map(SecretQuery::needles)
        .collect();
    let sql = check_sql(table, &names, from, to, args.sources.athena_partitioned);
    let location = format!("athena:{table}");
    let (index, result) = read_athena(
        &aws.sdk_config,
        (database, table),
        &sql,
        &args.sources,
        args.progress,
        |record, index| {
            question.examine_record(tally, record, || Origin::File {
                path: location.clone(),
                index,
            });
        },
    )
    .await;
    match result {
        // A table answers for what its location and partitions hold, which is not checked
        // (one account's prefix, some regions, missing days): its reads count, but it cannot
        // vouch that a secret was not read.
        Ok(run) => SourceCoverage {
            kind: SourceKind::Athena,
            location,
            complete: false,
            detail: format!(
                "{} rows in {} pages, {} scanned (query {}); the table's accounts, regions and \
                 days are not checked, so it shows reads but cannot vouch for none: for that, \
                 ask the trail's bucket (s3://...) instead",
                run.rows,
                run.pages,
                run.bytes_scanned
                    .map_or("? MB".to_owned(), |b| format!("{:.1} MB", b as f64 / 1e6)),
                run.id
            ),
        },
        Err(error) => SourceCoverage {
            kind: SourceKind::Athena,
            location,
            complete: false,
            detail: format!("{index} rows read, then: {}", Chain(&error)),
        },
    }
}

/// What a tree or a bucket read, as [`coverage_of_files`] weighs it.
fn files_read(report: &ScanReport<UsageTally>) -> FilesRead<'_> {
    FilesRead {
        files_read: report.files_read,
        bytes_read: report.bytes_read,
        skipped: report.skipped.len(),
        first_skipped: report
            .skipped
            .first()
            .map(|(name, error)| format!("{name}: {error}")),
        records: report.findings.records,
        malformed: report.findings.malformed,
        files_without_candidates: report.files_without_candidates,
        files_outside_layout: report.files_outside_layout,
        days: &report.days,
    }
}
