//! History as CloudTrail keeps it, read from bytes with the function's own detection. Pure: the
//! command line reads the files (and walks the trees) and hands each one's bytes here.
//!
//! The formats, told apart by their first key: the trail's S3 log files and Event history
//! exports (`{"Records":[...]}`), `aws cloudtrail lookup-events` output
//! (`{"Events":[{"CloudTrailEvent":"..."}]}`), a JSON array of records, CloudWatch Logs
//! subscription events and envelopes (the files in `events/`), and JSON lines.
//!
//! [`HistoryReader`] takes a file's bytes (inflating them in one call when they fit);
//! [`scan_stream`] reads the same formats from a stream, for what does not fit. Both put a
//! [`Question`] to every record: `scan`'s ([`PendingReads`]) or `check`'s.

mod escapes;
mod question;
mod reader;
mod stream;
mod trail_file;

pub use question::{PendingReads, Question, escape_places, places_of};
pub use reader::{HistoryReader, ONE_SHOT_MAX_BYTES, is_gzip};
pub use stream::{Encoding, MAX_LINE_BYTES, scan_stream};

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::detection::Findings;
use crate::error::HistoryError;
use crate::logs::{LogBatch, SubscriptionEvent, inflate_payload};

/// A subscription event found among history files is inflated whole, up to this size.
pub const MAX_SUBSCRIPTION_BYTES: usize = 1 << 30;

/// `--since` and `--until`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    /// Keep reads at or after this time.
    pub since: Option<SystemTime>,
    /// Keep reads before this time.
    pub until: Option<SystemTime>,
}

impl TimeRange {
    /// Whether a record written at `event_time` (as CloudTrail wrote it) is in the range. A
    /// time that cannot be read keeps the record: nothing is dropped for an odd field.
    pub fn holds(&self, event_time: Option<&str>) -> bool {
        event_time
            .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok())
            .is_none_or(|time| {
                self.since.is_none_or(|since| time >= since)
                    && self.until.is_none_or(|until| time < until)
            })
    }
}

/// What one file held for a question.
#[derive(Debug, Default)]
pub struct FileAnswer<A> {
    pub answer: A,
    /// Records the question kept but that fell outside its time range, dropped.
    pub outside_time_range: usize,
    pub log_group: Option<String>,
    /// The pre-check found no possible read anywhere in the file's text, so it was not
    /// parsed, and its records are not counted.
    pub no_candidates: bool,
}

/// What one file held for `scan`: its reads of secrets pending deletion.
pub type FileFindings = FileAnswer<Findings>;

/// The formats, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `{"Records":[...]}`: the trail's S3 log files, Event history exports.
    TrailFile,
    /// `{"Events":[{"CloudTrailEvent":"..."}]}`: `aws cloudtrail lookup-events`.
    LookupEvents,
    /// `{"awslogs":{"data":"..."}}`: a Lambda event, its records base64 and gzip.
    Subscription,
    /// `{"messageType":...}`: a decoded subscription envelope.
    Envelope,
    /// `[...]`: records in an array.
    RecordArray,
    /// Anything else: one record a line.
    JsonLines,
}

impl Format {
    /// `text` starts at the first byte that is not white space.
    pub(crate) fn of(text: &[u8]) -> Self {
        match first_key(text) {
            Some("Records") => Self::TrailFile,
            Some("Events") => Self::LookupEvents,
            Some("awslogs") => Self::Subscription,
            Some("messageType") => Self::Envelope,
            _ if text.starts_with(b"[") => Self::RecordArray,
            _ => Self::JsonLines,
        }
    }
}

/// Reads history from memory; `name` says where it came from in findings and errors.
pub fn scan_content<Q: Question>(
    question: &Q,
    content: &[u8],
    name: &str,
) -> Result<FileAnswer<Q::Answer>, HistoryError> {
    let text = content.trim_ascii_start();
    let mut part = FileAnswer::default();
    if text.is_empty() {
        return Ok(part);
    }
    let format = Format::of(text);
    if format == Format::TrailFile {
        // Read by its candidates alone when it can be (a file without any is passed over
        // then and there, its text searched once); else whole (a half-read answer is
        // dropped).
        let mut by_candidates = Q::Answer::default();
        match trail_file::scan_candidates(question, text, name, &mut by_candidates) {
            Some(trail_file::Cut::NoCandidates) => {
                part.no_candidates = true;
                return Ok(part);
            }
            Some(trail_file::Cut::Examined) => {
                part.answer = by_candidates;
                return Ok(part);
            }
            None => {}
        }
    }
    if holds_no_candidate(question, text, format) {
        part.no_candidates = true;
        return Ok(part);
    }
    let answer = &mut part.answer;
    match format {
        Format::TrailFile => {
            #[derive(Deserialize)]
            struct TrailFile<'a> {
                #[serde(borrow, rename = "Records")]
                records: Vec<&'a RawValue>,
            }
            let file: TrailFile<'_> =
                serde_json::from_slice(text).map_err(HistoryError::TrailFile)?;
            examine_all(question, answer, file.records.iter().map(|r| r.get()), name);
        }
        Format::LookupEvents => {
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
            let file: LookupEvents =
                serde_json::from_slice(text).map_err(HistoryError::LookupEvents)?;
            examine_all(
                question,
                answer,
                file.events.iter().map(|e| e.cloudtrail_event.as_str()),
                name,
            );
        }
        Format::Subscription => {
            let event = SubscriptionEvent::from_json(text)?;
            let decoded = inflate_payload(&event.awslogs.data, MAX_SUBSCRIPTION_BYTES)?;
            scan_envelope(question, &decoded, &mut part, name)?;
        }
        Format::Envelope => scan_envelope(question, text, &mut part, name)?,
        Format::RecordArray => {
            let records: Vec<&RawValue> =
                serde_json::from_slice(text).map_err(HistoryError::RecordArray)?;
            examine_all(question, answer, records.iter().map(|r| r.get()), name);
        }
        Format::JsonLines => {
            let text = std::str::from_utf8(text).map_err(HistoryError::NotUtf8)?;
            examine_all(
                question,
                answer,
                text.lines().filter(|line| !line.trim().is_empty()),
                name,
            );
        }
    }
    Ok(part)
}

/// Whether a whole file can be passed over unparsed: it is shaped like its format (so a
/// truncated or foreign file still gets its parse error), and the question's pre-check
/// ([`Question::may_concern`]) finds nothing in it. That is sound on a whole file as on one
/// record: a record's text, or its text escaped once more inside a JSON string
/// (lookup-events, envelopes), is in the file's. A subscription event's records are base64,
/// so it is always parsed.
fn holds_no_candidate<Q: Question>(question: &Q, text: &[u8], format: Format) -> bool {
    let last = text.trim_ascii_end().last().copied();
    let shaped = match format {
        Format::TrailFile | Format::LookupEvents | Format::Envelope => last == Some(b'}'),
        Format::RecordArray => last == Some(b']'),
        Format::JsonLines => text.starts_with(b"{"),
        Format::Subscription => false,
    };
    shaped && !question.may_concern(text)
}

fn scan_envelope<Q: Question>(
    question: &Q,
    decoded: &[u8],
    part: &mut FileAnswer<Q::Answer>,
    name: &str,
) -> Result<(), HistoryError> {
    let batch = LogBatch::parse(decoded)?;
    if batch.header.is_control() {
        return Ok(());
    }
    part.log_group = Some(batch.header.log_group.to_string()).filter(|g| !g.is_empty());
    question.examine_batch(&mut part.answer, &batch, name);
    Ok(())
}

fn examine_all<'a, Q: Question>(
    question: &Q,
    answer: &mut Q::Answer,
    records: impl Iterator<Item = &'a str>,
    name: &str,
) {
    for (index, record) in records.enumerate() {
        question.examine(answer, record, name, index);
    }
}

/// Runs the `index`th record of the file `name` through the function's rule, and keeps a
/// match (Event history's records, read one by one).
pub fn examine_one(findings: &mut Findings, record: &str, name: &str, index: usize) {
    PendingReads::default().examine(findings, record, name, index);
}

/// The first key of a JSON object, read from its first bytes (no escapes expected there).
fn first_key(text: &[u8]) -> Option<&str> {
    let rest = text.strip_prefix(b"{")?.trim_ascii_start();
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"' || *b == b'\\')?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// Drops the reads outside `range` (by `eventTime`; a read whose time cannot be read is kept),
/// and counts them.
pub fn keep_time_range(part: &mut FileFindings, range: &TimeRange) {
    if range.since.is_none() && range.until.is_none() {
        return;
    }
    let findings = &mut part.answer;
    let mut outside = 0;
    for accesses in findings.by_secret.values_mut() {
        let before = accesses.len();
        accesses.retain(|access| range.holds(access.event_time.as_deref()));
        outside += before - accesses.len();
    }
    findings
        .by_secret
        .retain(|_, accesses| !accesses.is_empty());
    findings.matched -= outside;
    let uses = findings.key_uses.len();
    findings
        .key_uses
        .retain(|(key_use, _)| range.holds(key_use.event_time.as_deref()));
    outside += uses - findings.key_uses.len();
    part.outside_time_range += outside;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tells_formats_apart_by_their_first_key() {
        assert_eq!(first_key(b"{\"Records\":[]}"), Some("Records"));
        assert_eq!(first_key(b"{\n  \"Events\": []}"), Some("Events"));
        assert_eq!(first_key(b"[{}]"), None);
    }
}
