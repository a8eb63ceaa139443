//! Where a CloudTrail trail writes in its bucket, and so what a look-back lists (pure).
//!
//! CloudTrail writes `[KEY_PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE`
//! (the AWS CloudTrail User Guide, "Finding your CloudTrail log files"). A scan walks that
//! layout one level at a time (a delimited listing each) down to the regions, and there lists
//! only the day folders the time range names, so a question about three days lists three
//! folders per region, never the bucket. Beside the logs, the same tree holds
//! `CloudTrail-Digest/` (integrity digests), `CloudTrail-Insight/` and the
//! `ConfigWritabilityCheck` object: none of them holds records.

use std::time::{Duration, SystemTime};

use crate::history::TimeRange;

/// `s3://BUCKET[/PREFIX]` parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Empty, or ends with `/` (a folder), or names a key or part of one.
    pub prefix: String,
}

/// An `s3://` argument that is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocationError {
    #[error("{0:?} is not an s3:// location (expected s3://BUCKET[/PREFIX])")]
    NotS3(String),
    #[error("{0:?} names no bucket (expected s3://BUCKET[/PREFIX])")]
    NoBucket(String),
}

impl S3Location {
    /// Whether an argument means S3 rather than a local path.
    pub fn is_s3(argument: &str) -> bool {
        argument.starts_with("s3://")
    }

    pub fn parse(argument: &str) -> Result<Self, LocationError> {
        let rest = argument
            .strip_prefix("s3://")
            .ok_or_else(|| LocationError::NotS3(argument.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LocationError::NoBucket(argument.to_owned()));
        }
        let mut prefix = prefix.to_owned();
        // `s3://b/AWSLogs/123456789012` means the folder, as `aws s3 ls` takes it; a last
        // name with a dot (`..._a.json.gz`) names an object.
        let last = prefix.rsplit('/').next().unwrap_or_default();
        if !prefix.is_empty() && !last.is_empty() && !last.contains('.') {
            prefix.push('/');
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// The location of a key in this bucket, as the report and the warnings name it.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// `--account`, `--region` and the time range: which subtrees and days a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct ListingFilter {
    /// Account ids; empty: every account in the tree.
    pub accounts: Vec<String>,
    /// Region names; empty: every region in the tree.
    pub regions: Vec<String>,
    pub range: TimeRange,
}

/// A level of the layout: what the folders directly under a prefix are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Above `AWSLogs/`: the trail's key prefix, or the bucket's root. `depth` folders down
    /// from where the scan started.
    AboveAwsLogs { depth: u8 },
    /// Under `AWSLogs/`: accounts, or organization ids.
    AwsLogs,
    /// Under `AWSLogs/o-ORGID/`: accounts.
    Organization,
    /// Under `AWSLogs/[o-ORGID/]ACCOUNT/`: `CloudTrail/`, `CloudTrail-Digest/`, ...
    Account,
    /// Under `.../ACCOUNT/CloudTrail/`: regions.
    Service,
    /// Under `.../CloudTrail/REGION/` or deeper: years, months, days, log files.
    Region,
}

/// How deep above `AWSLogs/` a scan looks for it (a trail's key prefix has a folder or two).
pub const MAX_PREFIX_DEPTH: u8 = 3;

/// What to do with one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// List its folders (a delimited listing) and ask [`child_level`] about each.
    Folders(Level),
    /// List every object under each of these prefixes (no delimiter).
    Objects(Vec<String>),
}

/// Where a scan starts: the level of the user's prefix, parsed by the layout's names.
pub fn start(prefix: &str, filter: &ListingFilter) -> Step {
    let segments: Vec<&str> = prefix.split('/').collect();
    let folder_depth = segments.len() - 1;
    let Some(aws_logs) = segments.iter().position(|s| *s == "AWSLogs") else {
        return Step::Folders(Level::AboveAwsLogs { depth: 0 });
    };
    if aws_logs == folder_depth {
        // `.../AWSLogs` without its slash: one level up, `AWSLogs` is a folder name.
        return Step::Objects(vec![prefix.to_owned()]);
    }
    // The folders after AWSLogs/, as far as the prefix names them whole.
    let after: Vec<&str> = segments[aws_logs + 1..folder_depth].to_vec();
    let mut level = Level::AwsLogs;
    for (index, segment) in after.iter().enumerate() {
        level = match (level, child_level(level, segment, filter)) {
            (_, Some(next)) => next,
            (Level::Region, None) => {
                // Inside a region: years, months, days.
                let named = &segments[aws_logs + 1 + index..];
                return Step::Objects(days_under(prefix, named, filter));
            }
            // A folder the layout does not have, or one the filter leaves out: the user
            // asked for it by name, so read what is there.
            _ => return Step::Objects(vec![prefix.to_owned()]),
        };
        if level == Level::Region && index + 1 == after.len() {
            return Step::Objects(region_days(prefix, filter));
        }
    }
    if segments[folder_depth].is_empty() {
        Step::Folders(level)
    } else {
        // A partial name (`AWSLogs/1234`): every key that starts with it.
        Step::Objects(vec![prefix.to_owned()])
    }
}

/// The level of the folder `name` (without its slash) found under a folder of `parent`
/// level, or `None` when the scan leaves it out.
pub fn child_level(parent: Level, name: &str, filter: &ListingFilter) -> Option<Level> {
    match parent {
        Level::AboveAwsLogs { depth } => {
            if name == "AWSLogs" {
                Some(Level::AwsLogs)
            } else if depth + 1 < MAX_PREFIX_DEPTH {
                Some(Level::AboveAwsLogs { depth: depth + 1 })
            } else {
                None
            }
        }
        Level::AwsLogs if is_organization_id(name) => Some(Level::Organization),
        Level::AwsLogs | Level::Organization => (is_account_id(name)
            && (filter.accounts.is_empty() || filter.accounts.iter().any(|a| a == name)))
        .then_some(Level::Account),
        Level::Account => (name == "CloudTrail").then_some(Level::Service),
        Level::Service => (filter.regions.is_empty() || filter.regions.iter().any(|r| r == name))
            .then_some(Level::Region),
        Level::Region => None,
    }
}

/// The prefixes to list in full under a region's folder (`prefix` ends with `REGION/`).
pub fn region_days(prefix: &str, filter: &ListingFilter) -> Vec<String> {
    days_under(prefix, &[], filter)
}

/// The day folders under a region's folder that the range needs, or the region's whole
/// folder when the range has no start. `named` are the date folders the user's prefix
/// already names (`["2026", "08", ""]`), which the days must start with.
fn days_under(prefix: &str, named: &[&str], filter: &ListingFilter) -> Vec<String> {
    let named_part = named.join("/");
    let region_prefix = &prefix[..prefix.len() - named_part.len()];
    let Some(since) = filter.range.since else {
        return vec![prefix.to_owned()];
    };
    let until = filter.range.until.unwrap_or_else(SystemTime::now);
    days_between(since, until)
        .into_iter()
        .map(|day| format!("{region_prefix}{day}/"))
        .filter(|day| day.starts_with(prefix))
        .collect()
}

/// One day's delivery lag: CloudTrail files a record in the folder of the day it delivers
/// it (within about 15 minutes of the call), so a record of 23:55 can sit in the next day's.
const DELIVERY_LAG: Duration = Duration::from_secs(86_400);

/// `YYYY/MM/DD` of every UTC day from `since`'s through the day after `until`'s.
pub fn days_between(since: SystemTime, until: SystemTime) -> Vec<String> {
    let day = Duration::from_secs(86_400);
    let last = until.max(since) + DELIVERY_LAG;
    let mut days = Vec::new();
    let mut at = start_of_day(since);
    while at <= last {
        days.push(day_folder(at));
        at += day;
    }
    days
}

fn start_of_day(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds - seconds % 86_400)
}

fn day_folder(time: SystemTime) -> String {
    // `2026-08-01T00:00:00Z` -> `2026/08/01`.
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.get(..10).unwrap_or_default().replace('-', "/")
}

/// Whether a listed key holds records: not a folder marker, a digest, an Insights file or
/// CloudTrail's writability check.
pub fn is_log_object(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    !(name.is_empty()
        || name.contains("ConfigWritabilityCheck")
        || key.contains("/CloudTrail-Digest/")
        || key.contains("/CloudTrail-Insight/"))
}

fn is_account_id(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

fn is_organization_id(name: &str) -> bool {
    name.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The account, region and UTC day (`YYYY/MM/DD`) a trail file's path says it holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrailDay {
    pub account: String,
    pub region: String,
    pub day: String,
}

/// Where a file sits in a trail's layout (`.../AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/
/// YYYY/MM/DD/FILE`, a local path or an S3 key); `None` for a file outside it, whose days
/// cannot be named without reading every record.
pub fn trail_day(path: &str) -> Option<TrailDay> {
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let logs = parts.iter().rposition(|p| *p == "AWSLogs")?;
    let mut rest = &parts[logs + 1..];
    if rest.first().is_some_and(|p| p.starts_with("o-")) {
        rest = &rest[1..];
    }
    let [account, "CloudTrail", region, year, month, day, _file, ..] = rest else {
        return None;
    };
    let digits =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(account, 12)
        && crate::region::RegionName::parse(region).is_some()
        && digits(year, 4)
        && digits(month, 2)
        && digits(day, 2);
    well_formed.then(|| TrailDay {
        account: (*account).to_owned(),
        region: (*region).to_owned(),
        day: format!("{year}/{month}/{day}"),
    })
}

#[cfg(test)]
mod tests;
