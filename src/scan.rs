//! The look-back: CloudTrail history as it is kept, read with the function's own detection.
//!
//! Reads, in any mix and in whole directory trees (as `aws s3 sync` lays a trail's bucket
//! out): the trail's S3 log files (`{"Records":[...]}`, usually gzipped), Event history
//! exports (`{"Records":[...]}` or a JSON array), `aws cloudtrail lookup-events` output
//! (`{"Events":[{"CloudTrailEvent":"..."}]}`), JSON lines, and CloudWatch Logs subscription
//! events (the files in `events/`). Files are read in parallel, each on its own; a file that
//! cannot be read is skipped with a warning and the scan goes on.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::detection::{
    EVENT_NAME, EVENT_SOURCE, Findings, PENDING_DELETION_WORDINGS, parse_batch, scan_log_events,
};
use crate::logs::{SubscriptionEvent, inflate_payload};

/// One file's decompressed content is held while it is read; larger files are skipped.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Keep reads at or after this time (by `eventTime`; reads with an unreadable time are kept).
    pub since: Option<SystemTime>,
    /// Keep reads before this time.
    pub until: Option<SystemTime>,
    /// Show a progress bar (files, bytes, findings, rate) on standard error.
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct ScanReport {
    pub findings: Findings,
    pub files_read: usize,
    /// Files that could not be read, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Bytes of the files as stored (compressed where they are).
    pub bytes_read: u64,
    /// Reads found but outside `--since`/`--until`.
    pub outside_time_range: usize,
    /// The log group named by subscription events among the inputs, if any.
    pub log_group: Option<String>,
    pub elapsed: Duration,
}

/// Scans files and directory trees.
pub fn scan_paths(paths: &[PathBuf], options: &ScanOptions) -> ScanReport {
    let started = std::time::Instant::now();
    let mut report = ScanReport::default();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
                    Ok(_) => {}
                    Err(error) => report.skipped.push((path.clone(), error.to_string())),
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

/// What one file held.
#[derive(Debug, Default)]
pub struct FileFindings {
    pub findings: Findings,
    pub outside_time_range: usize,
    pub log_group: Option<String>,
}

/// Reads one file of history, whatever its format, gzipped or not.
pub fn scan_file(path: &Path, options: &ScanOptions) -> Result<FileFindings, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| e.to_string())?;
    if head.is_empty() {
        return Ok(FileFindings::default());
    }
    let mut content = Vec::new();
    let limited = |r: &mut dyn Read, into: &mut Vec<u8>| -> Result<(), String> {
        r.take(MAX_FILE_BYTES + 1)
            .read_to_end(into)
            .map_err(|e| e.to_string())?;
        if into.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "larger than {} MiB decompressed; split it",
                MAX_FILE_BYTES >> 20
            ));
        }
        Ok(())
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut gzip = flate2::bufread::MultiGzDecoder::new(reader);
        limited(&mut gzip, &mut content).map_err(|e| format!("not a readable gzip file: {e}"))?;
    } else {
        limited(&mut reader, &mut content)?;
    }
    let name = path.display().to_string();
    let mut part = scan_content(&content, &name)?;
    keep_time_range(&mut part, options);
    Ok(part)
}

/// Reads history from memory; `name` says where it came from in findings and errors.
pub fn scan_content(content: &[u8], name: &str) -> Result<FileFindings, String> {
    let text = content.trim_ascii_start();
    let mut part = FileFindings::default();
    if text.is_empty() {
        return Ok(part);
    }
    let findings = &mut part.findings;
    match first_key(text) {
        Some("Records") => {
            #[derive(Deserialize)]
            struct TrailFile<'a> {
                #[serde(borrow, rename = "Records")]
                records: Vec<&'a RawValue>,
            }
            let file: TrailFile<'_> = serde_json::from_slice(text)
                .map_err(|e| format!("not a CloudTrail log file: {e}"))?;
            examine_all(findings, file.records.iter().map(|r| r.get()), name);
        }
        Some("Events") => {
            // `aws cloudtrail lookup-events`: each event carries the record as a string.
            #[derive(Deserialize)]
            struct LookupEvents {
                #[serde(rename = "Events")]
                events: Vec<LookupEvent>,
            }
            #[derive(Deserialize)]
            struct LookupEvent {
                #[serde(rename = "CloudTrailEvent")]
                cloudtrail_event: String,
            }
            let file: LookupEvents = serde_json::from_slice(text)
                .map_err(|e| format!("not lookup-events output: {e}"))?;
            examine_all(
                findings,
                file.events.iter().map(|e| e.cloudtrail_event.as_str()),
                name,
            );
        }
        Some("awslogs") => {
            let event = SubscriptionEvent::from_json(text).map_err(|e| e.to_string())?;
            let decoded = inflate_payload(&event.awslogs.data, MAX_FILE_BYTES as usize)
                .map_err(|e| e.to_string())?;
            scan_envelope(&decoded, &mut part)?;
        }
        Some("messageType") => scan_envelope(text, &mut part)?,
        _ if text.starts_with(b"[") => {
            let records: Vec<&RawValue> = serde_json::from_slice(text)
                .map_err(|e| format!("not a JSON array of records: {e}"))?;
            examine_all(findings, records.iter().map(|r| r.get()), name);
        }
        _ => {
            // JSON lines: one record a line.
            let text = std::str::from_utf8(text).map_err(|e| format!("not UTF-8 text: {e}"))?;
            examine_all(
                findings,
                text.lines().filter(|line| !line.trim().is_empty()),
                name,
            );
        }
    }
    Ok(part)
}

fn scan_envelope(decoded: &[u8], part: &mut FileFindings) -> Result<(), String> {
    let batch = parse_batch(decoded).map_err(|e| e.to_string())?;
    if batch.is_control() {
        return Ok(());
    }
    part.log_group = Some(batch.log_group.to_string()).filter(|g| !g.is_empty());
    part.findings.merge(scan_log_events(&batch));
    Ok(())
}

fn examine_all<'a>(findings: &mut Findings, records: impl Iterator<Item = &'a str>, name: &str) {
    for (index, record) in records.enumerate() {
        let location = || format!("{name}#{index}");
        match findings.examine(record) {
            Ok(Some(mut access)) => {
                access.log_event_id = location();
                findings.add(access);
            }
            Ok(None) => {}
            Err(_) => findings
                .malformed
                .push((location(), "not a CloudTrail record")),
        }
    }
}

/// The first key of a JSON object, read from its first bytes (no escapes expected there).
fn first_key(text: &[u8]) -> Option<&str> {
    let rest = text.strip_prefix(b"{")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"' || *b == b'\\')?;
    std::str::from_utf8(&rest[..end]).ok()
}

fn keep_time_range(part: &mut FileFindings, options: &ScanOptions) {
    if options.since.is_none() && options.until.is_none() {
        return;
    }
    let findings = &mut part.findings;
    let mut outside = 0;
    for accesses in findings.by_secret.values_mut() {
        let before = accesses.len();
        accesses.retain(|access| {
            let Some(time) = access
                .event_time
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
            else {
                return true;
            };
            options.since.is_none_or(|since| time >= since)
                && options.until.is_none_or(|until| time < until)
        });
        outside += before - accesses.len();
    }
    findings
        .by_secret
        .retain(|_, accesses| !accesses.is_empty());
    findings.matched -= outside;
    part.outside_time_range += outside;
}

/// The same search as SQL over a CloudTrail table in Athena, for histories beyond one machine.
/// Built from the detection rule's own constants, so it searches for exactly what the function
/// alerts on.
pub fn athena_sql(table: &str, since: Option<SystemTime>, until: Option<SystemTime>) -> String {
    let wordings: Vec<String> = PENDING_DELETION_WORDINGS
        .iter()
        .map(|w| format!("errormessage LIKE '%{}%'", w.replace('\'', "''")))
        .collect();
    let mut sql = format!(
        "SELECT eventtime, recipientaccountid, awsregion,\n       \
         json_extract_scalar(requestparameters, '$.secretId') AS secret_id,\n       \
         useridentity.type, useridentity.arn, useridentity.accesskeyid,\n       \
         useridentity.sessioncontext.sessionissuer.arn AS role_arn,\n       \
         sourceipaddress, useragent, vpcendpointid, eventid, errormessage\n\
         FROM {table}\n\
         WHERE eventsource = '{EVENT_SOURCE}'\n  \
         AND eventname = '{EVENT_NAME}'\n  \
         AND ({})",
        wordings.join("\n       OR ")
    );
    if let Some(since) = since {
        sql.push_str(&format!(
            "\n  AND eventtime >= '{}'",
            humantime::format_rfc3339_seconds(since)
        ));
    }
    if let Some(until) = until {
        sql.push_str(&format!(
            "\n  AND eventtime < '{}'",
            humantime::format_rfc3339_seconds(until)
        ));
    }
    sql.push_str("\nORDER BY eventtime;");
    sql
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn athena_sql_searches_for_what_the_rule_matches() {
        let since = humantime::parse_rfc3339("2026-08-01T00:00:00Z").unwrap();
        let sql = athena_sql("cloudtrail_logs", Some(since), None);
        assert!(sql.contains("FROM cloudtrail_logs"));
        assert!(sql.contains("eventsource = 'secretsmanager.amazonaws.com'"));
        assert!(sql.contains("eventname = 'GetSecretValue'"));
        assert!(sql.contains("errormessage LIKE '%secret because it was marked for deletion%'"));
        assert!(sql.contains("OR errormessage LIKE '%secret because it was deleted%'"));
        assert!(sql.contains("AND eventtime >= '2026-08-01T00:00:00Z'"));
    }

    #[test]
    fn tells_formats_apart_by_their_first_key() {
        assert_eq!(first_key(b"{\"Records\":[]}"), Some("Records"));
        assert_eq!(first_key(b"{\n  \"Events\": []}"), Some("Events"));
        assert_eq!(first_key(b"[{}]"), None);
    }
}
