//! What a look-back asks of each record it reads. `scan` asks for reads of secrets pending
//! deletion ([`PendingReads`], the function's rule); `check` asks for every read of the
//! secrets it was given (`crate::usage`). The readers of every format ([`super::scan_content`],
//! [`super::scan_stream`], [`super::HistoryReader`]) are the same for both.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::detection::{
    Findings, KEY_PRECHECK_WORDING, Origin, PRECHECK_WORDING, UNICODE_ESCAPE, may_match,
    may_use_key, scan_log_events,
};
use crate::logs::LogBatch;

use super::{FileAnswer, TimeRange, keep_time_range};

/// A question put to every record of a look-back, with what it keeps for one file.
pub trait Question: Sync {
    /// What one file (and, merged, the whole look-back) holds for the question.
    type Answer: Default + Send;

    /// A cheap test on raw text: `false` only when no record the question keeps can be in
    /// it, nor the raw text of such a record escaped once more inside a JSON string. A file
    /// it turns away is passed over unparsed.
    fn may_concern(&self, raw: &[u8]) -> bool;

    /// The `index`th record of the file `name`.
    fn examine(&self, answer: &mut Self::Answer, record: &str, name: &str, index: usize);

    /// Where in `raw` the records the question keeps may be: every place one of them must
    /// show (the text a matching record holds literally, or an escape that could spell it),
    /// ascending. `None`: the question cannot say, and every file it may concern is parsed
    /// whole. A trail file is then read by these places alone (`trail_file`), and one with
    /// none is passed over as [`Question::may_concern`] would pass it over: so no anchor
    /// must mean that `may_concern` is `false`.
    fn anchors(&self, _raw: &[u8]) -> Option<Vec<usize>> {
        None
    }

    /// Records of a file counted but never examined: they hold no anchor.
    fn passed_over(&self, _answer: &mut Self::Answer, _records: usize) {}

    /// A record that could not be read as text.
    fn unreadable(&self, answer: &mut Self::Answer, name: &str, index: usize, why: &'static str);

    /// The log events of a subscription batch found among the files.
    fn examine_batch(&self, answer: &mut Self::Answer, batch: &LogBatch<'_>, name: &str) {
        for (index, event) in batch.events().iter().enumerate() {
            if !self.may_concern(event.raw_message()) {
                continue;
            }
            match event.message() {
                Ok(message) => self.examine(answer, &message, name, index),
                Err(_) => {
                    self.unreadable(answer, name, index, "the message is not valid JSON text")
                }
            }
        }
    }

    /// What is done with a file's answer once the file is read.
    fn finish_file(&self, _part: &mut FileAnswer<Self::Answer>) {}

    /// Adds one file's answer to the look-back's.
    fn merge(into: &mut Self::Answer, part: Self::Answer);

    /// How many records the answer keeps, for the progress bar.
    fn kept(answer: &Self::Answer) -> usize;
}

/// `scan`'s question: the reads of secrets pending deletion (the function's rule), and the
/// uses of KMS keys pending deletion ([`crate::key_use`]), in `range`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PendingReads {
    pub range: TimeRange,
}

/// Every place of `finders`' needles in `raw`, ascending.
/// The places of the escapes `\` + one of `escaped` in `raw` (`b"u/"`: `\u` and `\/`), in one
/// pass over its backslashes rather than one search per escape.
pub fn escape_places(raw: &[u8], escaped: &[u8]) -> impl Iterator<Item = usize> {
    memchr::memchr_iter(b'\\', raw)
        .filter(move |&at| raw.get(at + 1).is_some_and(|next| escaped.contains(next)))
}

pub fn places_of(finders: &[Finder<'_>], raw: &[u8]) -> Vec<usize> {
    let mut places: Vec<usize> = finders.iter().flat_map(|f| f.find_iter(raw)).collect();
    places.sort_unstable();
    places
}

/// What [`may_match`] and [`may_use_key`] look for: the wording every pending-deletion
/// message holds (a secret's, a key's), and `\u`.
static PENDING_ANCHORS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| {
    [
        Finder::new(PRECHECK_WORDING.as_bytes()),
        Finder::new(KEY_PRECHECK_WORDING.as_bytes()),
        Finder::new(UNICODE_ESCAPE.as_bytes()),
    ]
});

impl Question for PendingReads {
    type Answer = Findings;

    fn may_concern(&self, raw: &[u8]) -> bool {
        may_match(raw) || may_use_key(raw)
    }

    /// A record the rules accept holds [`PRECHECK_WORDING`], [`KEY_PRECHECK_WORDING`] or a
    /// `\u` ([`may_match`]'s argument), so the places of those are where it can be.
    fn anchors(&self, raw: &[u8]) -> Option<Vec<usize>> {
        Some(places_of(&*PENDING_ANCHORS, raw))
    }

    fn passed_over(&self, findings: &mut Findings, records: usize) {
        findings.records += records;
    }

    fn examine(&self, findings: &mut Findings, record: &str, name: &str, index: usize) {
        let origin = || Origin::File {
            path: name.to_owned(),
            index,
        };
        findings.examine(record, origin);
    }

    fn unreadable(&self, findings: &mut Findings, name: &str, index: usize, why: &'static str) {
        findings.records += 1;
        findings.malformed.push((format!("{name}#{index}"), why));
    }

    fn examine_batch(&self, findings: &mut Findings, batch: &LogBatch<'_>, _name: &str) {
        findings.merge(scan_log_events(batch));
    }

    fn finish_file(&self, part: &mut FileAnswer<Findings>) {
        keep_time_range(part, &self.range);
    }

    fn merge(into: &mut Findings, part: Findings) {
        into.merge(part);
    }

    fn kept(findings: &Findings) -> usize {
        findings.matched
    }
}
