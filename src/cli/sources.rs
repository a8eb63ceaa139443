//! Where `scan` and `check` read history: one grammar for both (`--source PATH`,
//! `s3://BUCKET[/PREFIX]`, `event-history`, `athena:DATABASE.TABLE`), and the two readers that
//! are not files (Event history page by page, an Athena query row by row), written once.
//! Each command puts its own question to what they read.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::config::ProvideCredentials;
use secret_deletion_alerts::athena::record_of_row;
use secret_deletion_alerts::aws::athena_queries::{AthenaError, AthenaQueries, QueryRun};
use secret_deletion_alerts::aws::cloudtrail_history::CloudTrailHistory;
use secret_deletion_alerts::aws::load_sdk_config;
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::error::Chain;
use secret_deletion_alerts::error::EventHistoryError;
use secret_deletion_alerts::ports::{HistoryEvents, SecretAt};
use secret_deletion_alerts::trail_layout::S3Location;

use super::input_error::SourcesError;

/// How long an Athena query may run before the command gives up on it.
const ATHENA_WAIT: Duration = Duration::from_secs(30 * 60);
/// How far back CloudTrail Event history reaches.
pub const EVENT_HISTORY_DAYS: u64 = 90;

/// Why a source that needs AWS cannot be asked at all: the command cannot run (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum AwsUnreachable {
    #[error("no AWS credentials ({0}): set them up, or read local files only (check: --offline)")]
    NoCredentials(String),
    #[error("no region: set AWS_REGION, or give --region")]
    NoRegion,
}

/// The SDK's configuration, once it has credentials to give: a command that needs AWS and
/// has none stops before it reads anything, rather than failing every source one by one.
pub async fn connected(config: &Config) -> Result<SdkConfig, AwsUnreachable> {
    let sdk_config = load_sdk_config(config).await;
    let credentials = match sdk_config.credentials_provider() {
        Some(provider) => provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|error| Chain(&error).to_string()),
        None => Err("no credentials provider".to_owned()),
    };
    credentials.map_err(AwsUnreachable::NoCredentials)?;
    Ok(sdk_config)
}

/// The sources' arguments, the same in `scan` and `check`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Where to look (repeatable): event-history (CloudTrail Event history, the last 90
    /// days, paced to 2 calls a second), s3://BUCKET[/PREFIX] (a trail's bucket, listed only
    /// for the days asked), athena:DATABASE.TABLE (a CloudTrail table: the query runs in
    /// Athena), or a file or directory of trail files.
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// With an athena: source, the workgroup the query runs in.
    #[arg(long, default_value = "primary")]
    pub athena_workgroup: String,
    /// With an athena: source, where Athena writes the results (s3://...); default: the
    /// workgroup's own location.
    #[arg(long, value_name = "S3_PREFIX")]
    pub athena_output: Option<String>,
    /// With an athena: source, the table is projected by region and day (the one `scan
    /// --athena-table-ddl` creates): only the days asked are read.
    #[arg(long, alias = "partitioned")]
    pub athena_partitioned: bool,
}

/// One place history is read from, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    EventHistory,
    S3(S3Location),
    Local(PathBuf),
    /// `athena:DATABASE.TABLE`: `table` keeps both parts, as the SQL names it.
    Athena {
        database: String,
        table: String,
    },
}

impl Source {
    pub fn parse(text: &str) -> Result<Self, SourcesError> {
        if text == "event-history" {
            Ok(Source::EventHistory)
        } else if S3Location::is_s3(text) {
            Ok(Source::S3(S3Location::parse(text)?))
        } else if let Some(table) = text.strip_prefix("athena:") {
            let valid = |part: &str| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            match table.split_once('.') {
                Some((database, name)) if valid(database) && valid(name) => Ok(Source::Athena {
                    database: database.to_owned(),
                    table: table.to_owned(),
                }),
                _ => Err(SourcesError::AthenaTable(text.to_owned())),
            }
        } else if std::path::Path::new(text).exists() {
            Ok(Source::Local(PathBuf::from(text)))
        } else {
            Err(SourcesError::NoSuchPath(text.to_owned()))
        }
    }

    pub fn needs_aws(&self) -> bool {
        !matches!(self, Source::Local(_))
    }
}

/// A source as the user types it (`event-history`, `s3://bucket/prefix`, `athena:db.table`,
/// a path): what messages name it by.
impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::EventHistory => f.write_str("event-history"),
            Source::S3(location) => write!(f, "s3://{}/{}", location.bucket, location.prefix),
            Source::Local(path) => write!(f, "{}", path.display()),
            Source::Athena { table, .. } => write!(f, "athena:{table}"),
        }
    }
}

/// The events `wanted` of one account and region in `window`, newest first, a page at a time
/// (paced: Event history answers 2 calls a second). `each` gets every record and its index;
/// the answer is how many were read, or why the pages stopped (after `each` has had what came
/// before).
pub async fn read_event_history(
    history: &CloudTrailHistory,
    at: SecretAt<'_>,
    window: (SystemTime, SystemTime),
    (label, wanted): (&str, HistoryEvents<'_>),
    progress: bool,
    mut each: impl FnMut(&str, usize),
) -> (usize, Result<(), EventHistoryError>) {
    let mut events = 0usize;
    let each_page = |pages: usize, records: Vec<String>| {
        for record in &records {
            each(record, events);
            events += 1;
        }
        if progress {
            eprint!(
                "\revent history {label}: {pages} pages, {events} events (paced: 2 calls a second)   "
            );
        }
    };
    let result = history
        .each_page_of_events(wanted, window, at, None, each_page)
        .await;
    if progress {
        eprintln!();
    }
    (events, result)
}

/// Runs `sql` over an `athena:` source and gives `each` every row as a record, with its
/// index; the answer is how many rows came, and the run or why it stopped.
pub async fn read_athena(
    sdk_config: &SdkConfig,
    (database, table): (&str, &str),
    sql: &str,
    args: &SourceArgs,
    progress: bool,
    mut each: impl FnMut(&str, usize),
) -> (usize, Result<QueryRun, AthenaError>) {
    let queries = AthenaQueries::new(sdk_config);
    let mut index = 0usize;
    let result = queries
        .run(
            sql,
            database,
            &args.athena_workgroup,
            args.athena_output.as_deref(),
            ATHENA_WAIT,
            |columns, rows| {
                for row in rows {
                    each(&record_of_row(columns, &row), index);
                    index += 1;
                }
                if progress {
                    eprint!("\rathena:{table}: {index} rows   ");
                }
            },
        )
        .await;
    if progress {
        eprintln!();
    }
    (index, result)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_source_is_named_back_as_it_was_typed() {
        for text in [
            "event-history",
            "s3://trail-bucket/AWSLogs/",
            "athena:default.cloudtrail_logs",
            ".",
        ] {
            assert_eq!(Source::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn a_source_that_is_none_of_them_stops_the_command_and_says_what_is_accepted() {
        let missing = Source::parse("no/such/dir").unwrap_err().to_string();
        assert!(missing.contains("\"no/such/dir\": no such file or directory"));
        assert!(missing.contains("event-history"), "{missing}");
        let table = Source::parse("athena:no_database").unwrap_err().to_string();
        assert!(table.contains("athena:DATABASE.TABLE"), "{table}");
        assert!(Source::parse("athena:db.t;drop").is_err());
    }
}
