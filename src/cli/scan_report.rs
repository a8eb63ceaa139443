//! What a scan found and what it cost, summed over files and objects as they finish, with the
//! progress bar that shows it on a terminal.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use secret_deletion_alerts::aws::s3_trail::TrailBucketError;
use secret_deletion_alerts::detection::Findings;
use secret_deletion_alerts::error::HistoryError;
use secret_deletion_alerts::history::{FileAnswer, Question};
use secret_deletion_alerts::trail_layout::{TrailDay, trail_day};

/// What a look-back read and found: `A` is its question's answer (`scan`'s [`Findings`],
/// `check`'s tally).
#[derive(Debug, Default)]
pub(super) struct ScanReport<A = Findings> {
    pub findings: A,
    /// Files and objects read.
    pub files_read: usize,
    /// Of those, the ones the pre-check passed over unparsed.
    pub files_without_candidates: usize,
    /// Files and objects that could not be read, and why.
    pub skipped: Vec<(String, FileError)>,
    /// Bytes as stored (compressed where they are).
    pub bytes_read: u64,
    /// Reads found but outside `--since`/`--until`.
    pub outside_time_range: usize,
    /// The log group named by subscription events among the inputs, if any.
    pub log_group: Option<String>,
    pub elapsed: Duration,
    /// Set when some inputs were S3 locations.
    pub bucket: Option<BucketCost>,
    /// The account, region and day of every file read that sits in a trail's layout: what
    /// the files can vouch for ([`trail_day`]).
    pub days: BTreeSet<TrailDay>,
    /// Files read outside a trail's layout: the days they hold cannot be named.
    pub files_outside_layout: usize,
}

/// What reading S3 took: requests, and where the time went.
#[derive(Debug, Default, Clone)]
pub(super) struct BucketCost {
    pub list_requests: usize,
    pub objects_listed: usize,
    /// Listed objects that hold no records (digests, the writability check).
    pub objects_passed_over: usize,
    /// Wall time of the listing.
    pub listing: Duration,
    /// Time spent waiting for bodies, summed over the requests in flight.
    pub fetching: Duration,
    /// Time spent inflating and scanning, summed over the workers.
    pub scanning: Duration,
}

/// Why one file or object of history was skipped.
#[derive(Debug, thiserror::Error)]
pub(super) enum FileError {
    #[error(transparent)]
    Walk(walkdir::Error),
    #[error(transparent)]
    Read(std::io::Error),
    #[error(transparent)]
    Content(#[from] HistoryError),
    #[error(transparent)]
    Object(#[from] TrailBucketError),
}

impl<A> ScanReport<A> {
    /// Adds one file's outcome; a skipped file is warned about above the progress bar.
    pub fn add<Q: Question<Answer = A>>(
        &mut self,
        name: String,
        stored_bytes: u64,
        result: Result<FileAnswer<A>, FileError>,
        progress: &Progress,
    ) {
        self.bytes_read += stored_bytes;
        match result {
            Ok(part) => {
                self.files_read += 1;
                match trail_day(&name) {
                    Some(day) => {
                        self.days.insert(day);
                    }
                    None => self.files_outside_layout += 1,
                }
                self.files_without_candidates += usize::from(part.no_candidates);
                self.outside_time_range += part.outside_time_range;
                if self.log_group.is_none() {
                    self.log_group = part.log_group;
                }
                Q::merge(&mut self.findings, part.answer);
            }
            Err(reason) => {
                progress
                    .bar
                    .suspend(|| eprintln!("warning: skipped {name}: {reason}"));
                self.skipped.push((name, reason));
            }
        }
        progress.show(self.bytes_read, Q::kept(&self.findings));
    }
}

/// The progress bar on standard error: files, bytes, findings, rate.
pub(super) struct Progress {
    bar: indicatif::ProgressBar,
    started: Instant,
    /// What the count of kept records is of ("reads of secrets pending deletion").
    kept: &'static str,
}

impl Progress {
    pub fn new(visible: bool, files: usize, unit: &str, kept: &'static str) -> Self {
        let bar = if visible {
            let bar = indicatif::ProgressBar::new(files as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}"
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Self {
            bar,
            started: Instant::now(),
            kept,
        }
    }

    fn show(&self, bytes_read: u64, kept: usize) {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let megabytes = bytes_read as f64 / 1e6;
        self.bar.set_message(format!(
            "{megabytes:.1} MB, {kept} {}, {:.1} MB/s",
            self.kept,
            megabytes / seconds
        ));
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
