//! Walking files and directory trees for `scan`, in parallel, with a progress bar: the I/O
//! around the library's [`scan_content`]. A file that cannot be read is skipped with a warning
//! and the scan goes on.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use rayon::prelude::*;
use secret_deletion_alerts::detection::Findings;
use secret_deletion_alerts::error::HistoryError;
use secret_deletion_alerts::history::{
    FileFindings, MAX_FILE_BYTES, TimeRange, keep_time_range, scan_content,
};

#[derive(Debug, Clone, Default)]
pub(super) struct ScanOptions {
    /// `--since` and `--until`.
    pub range: TimeRange,
    /// Show a progress bar (files, bytes, findings, rate) on standard error.
    pub progress: bool,
}

#[derive(Debug, Default)]
pub(super) struct ScanReport {
    pub findings: Findings,
    pub files_read: usize,
    /// Files that could not be read, and why.
    pub skipped: Vec<(PathBuf, FileError)>,
    /// Bytes of the files as stored (compressed where they are).
    pub bytes_read: u64,
    /// Reads found but outside `--since`/`--until`.
    pub outside_time_range: usize,
    /// The log group named by subscription events among the inputs, if any.
    pub log_group: Option<String>,
    pub elapsed: Duration,
}

/// Scans files and directory trees.
pub(super) fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> ScanReport {
    let started = std::time::Instant::now();
    let mut report = ScanReport::default();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
                    Ok(_) => {}
                    Err(error) => report.skipped.push((path.clone(), FileError::Walk(error))),
                }
            }
        } else {
            files.push(path.clone());
        }
    }

    let progress = if options.progress {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} files {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let bytes = AtomicU64::new(0);
    let found = AtomicUsize::new(0);
    let merged = Mutex::new(report);

    files.par_iter().for_each(|path| {
        let result = scan_file(path, options);
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let total_bytes = bytes.fetch_add(size, Ordering::Relaxed) + size;
        let mut report = merged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match result {
            Ok(part) => {
                report.files_read += 1;
                report.outside_time_range += part.outside_time_range;
                if report.log_group.is_none() {
                    report.log_group = part.log_group;
                }
                let total_found = found.fetch_add(part.findings.matched, Ordering::Relaxed)
                    + part.findings.matched;
                report.findings.merge(part.findings);
                let seconds = progress.elapsed().as_secs_f64().max(0.001);
                progress.set_message(format!(
                    "{:.1} MB, {total_found} reads of secrets pending deletion, {:.1} MB/s",
                    total_bytes as f64 / 1e6,
                    total_bytes as f64 / 1e6 / seconds
                ));
            }
            Err(reason) => {
                progress.suspend(|| eprintln!("warning: skipped {}: {reason}", path.display()));
                report.skipped.push((path.clone(), reason));
            }
        }
        report.bytes_read = total_bytes;
        progress.inc(1);
    });
    progress.finish_and_clear();
    let mut report = merged
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    report.elapsed = started.elapsed();
    report
}

/// Why one file of history was skipped.
#[derive(Debug, thiserror::Error)]
pub(super) enum FileError {
    #[error("{0}")]
    Walk(#[source] walkdir::Error),
    #[error("{0}")]
    Read(#[source] std::io::Error),
    #[error("not a readable gzip file: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("larger than {} MiB decompressed; split it", MAX_FILE_BYTES >> 20)]
    TooLarge,
    #[error(transparent)]
    Content(#[from] HistoryError),
}

/// Reads one file of history, whatever its format, gzipped or not, holding at most
/// [`MAX_FILE_BYTES`] of it.
fn scan_file(path: &Path, options: &ScanOptions) -> Result<FileFindings, FileError> {
    let file = std::fs::File::open(path).map_err(FileError::Read)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(FileError::Read)?;
    if head.is_empty() {
        return Ok(FileFindings::default());
    }
    let mut content = Vec::new();
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut gzip = flate2::bufread::MultiGzDecoder::new(reader);
        read_capped(&mut gzip, &mut content).map_err(|e| match e {
            FileError::Read(io) => FileError::Gzip(io),
            other => other,
        })?;
    } else {
        read_capped(&mut reader, &mut content)?;
    }
    let name = path.display().to_string();
    let mut part = scan_content(&content, &name)?;
    keep_time_range(&mut part, &options.range);
    Ok(part)
}

fn read_capped(reader: &mut dyn Read, into: &mut Vec<u8>) -> Result<(), FileError> {
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(into)
        .map_err(FileError::Read)?;
    if into.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    Ok(())
}
