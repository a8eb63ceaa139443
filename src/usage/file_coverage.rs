//! What a tree of files (on disk or in a bucket) can vouch for about one secret: only the
//! days its files hold, in a trail's layout, for the secret's account and region. Pure: the
//! command line counts what it read ([`FilesRead`]); this says whether that covers the window,
//! and names every gap. `no_reads_seen` is never said of days, accounts or regions no file
//! covered.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::trail_layout::{TrailDay, days_between};

use super::report::counted;
use super::{SecretQuery, SourceCoverage, SourceKind};

/// What reading a tree of files came to, as far as coverage goes.
#[derive(Debug, Clone)]
pub struct FilesRead<'a> {
    pub files_read: usize,
    pub bytes_read: u64,
    /// Files that could not be read, and the first of them with why.
    pub skipped: usize,
    pub first_skipped: Option<String>,
    /// Records examined (those of files the pre-check passed over whole are not counted).
    pub records: u64,
    /// Records that were not JSON: any of them might have been a read.
    pub malformed: u64,
    /// Files passed over whole by the pre-check.
    pub files_without_candidates: usize,
    /// Files read outside a trail's layout: the days they hold cannot be named.
    pub files_outside_layout: usize,
    /// The account, region and day of every file read in a trail's layout.
    pub days: &'a BTreeSet<TrailDay>,
}

/// The coverage of `secret` by the files of `location` over `window`: complete only when
/// every file was read, they held records, none sits outside the layout, and the files hold
/// every day of the window for the secret's account and region (which must be known).
pub fn coverage_of_files(
    kind: SourceKind,
    location: String,
    read: &FilesRead<'_>,
    secret: &SecretQuery,
    window: (SystemTime, SystemTime),
) -> SourceCoverage {
    let mut detail = format!(
        "{} read ({:.1} MB), {} examined",
        counted(read.files_read as u64, "file", "files"),
        read.bytes_read as f64 / 1e6,
        counted(read.records, "record", "records")
    );
    let mut gaps = Vec::new();
    if read.malformed > 0 {
        gaps.push(format!(
            "{} not JSON",
            counted(read.malformed, "record", "records")
        ));
    }
    if read.skipped > 0 {
        gaps.push(format!(
            "{} could not be read (first: {})",
            counted(read.skipped as u64, "file", "files"),
            read.first_skipped.as_deref().unwrap_or("?")
        ));
    }
    if read.files_read == 0 && read.skipped == 0 {
        gaps.push("no files found".to_owned());
    } else if read.records == 0 && read.files_without_candidates == 0 {
        // (A file the pre-check passed over whole is not counted record by record.)
        gaps.push("no records: nothing here can say the secret was not read".to_owned());
    }
    if read.files_outside_layout > 0 {
        gaps.push(format!(
            "{} outside a trail's layout (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/): the \
             days they hold cannot be named",
            counted(read.files_outside_layout as u64, "file is", "files are")
        ));
    }
    match (&secret.account_id, &secret.region) {
        (Some(account), Some(region)) => {
            let missing = missing_days(read.days, account, region, window);
            if !missing.days.is_empty() {
                let shown: Vec<&str> = missing.days.iter().take(3).map(String::as_str).collect();
                gaps.push(format!(
                    "no file of account {account} in {region} for {} of the window's {} ({}{})",
                    missing.days.len(),
                    counted(missing.of as u64, "day", "days"),
                    shown.join(", "),
                    if missing.days.len() > shown.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
        _ => gaps.push(
            "the secret is named without its account and region: give its full ARN, or \
             --account and --region, to know which files must be there"
                .to_owned(),
        ),
    }
    if !gaps.is_empty() {
        detail.push_str("; ");
        detail.push_str(&gaps.join("; "));
    }
    SourceCoverage {
        kind,
        location,
        complete: gaps.is_empty(),
        detail,
    }
}

/// The window's days (`YYYY/MM/DD`) no file of `account` in `region` holds, of how many.
struct MissingDays {
    days: Vec<String>,
    of: usize,
}

fn missing_days(
    held: &BTreeSet<TrailDay>,
    account: &str,
    region: &str,
    window: (SystemTime, SystemTime),
) -> MissingDays {
    let mut days = days_between(window.0, window.1);
    // `days_between` adds the day after the window for late deliveries: not needed here.
    days.pop();
    let of = days.len();
    let days = days
        .into_iter()
        .filter(|day| {
            !held.contains(&TrailDay {
                account: account.to_owned(),
                region: region.to_owned(),
                day: day.clone(),
            })
        })
        .collect();
    MissingDays { days, of }
}
