//! The reads of each secret, tallied per workload and caller, in bounded memory: counts,
//! first and last, and a few examples of each detail, whatever the number of reads.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use crate::caller::CallerKey;
use crate::detection::PendingDeletionAccess;
use crate::sanitize::clean_text;
use crate::workload::{Confidence, WorkloadKind, classify};

/// Source addresses and user agents kept per reader.
pub const DETAILS_KEPT: usize = 5;
/// Example event ids kept per reader.
pub const EXAMPLES_KEPT: usize = 3;
/// A caller-controlled detail is cut to this many characters (user agents run long).
const DETAIL_CHARS: usize = 200;

/// Who read: the workload (as the alert classifies it) and the caller it counts against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReaderKey {
    pub kind: WorkloadKind,
    pub name: String,
    pub confidence: Confidence,
    pub caller: String,
    /// The rule of `EXPECTED_READERS` that marks this reader as expected, if one does.
    pub expected: Option<String>,
}

/// What one reader did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderReads {
    pub reads: u64,
    /// Of those, the ones Secrets Manager refused (any error).
    pub refused_reads: u64,
    pub first_read: Option<SystemTime>,
    pub last_read: Option<SystemTime>,
    /// The first few in order (sorted), so the answer does not depend on reading order.
    pub source_ips: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    /// The earliest few reads' event ids, with their times.
    pub examples: BTreeSet<(Option<SystemTime>, String)>,
}

impl ReaderReads {
    fn add(&mut self, access: &PendingDeletionAccess, time: Option<SystemTime>) {
        self.reads += 1;
        self.refused_reads +=
            u64::from(access.error_code.is_some() || !access.error_message.is_empty());
        if let Some(time) = time {
            self.first_read = Some(self.first_read.map_or(time, |t| t.min(time)));
            self.last_read = Some(self.last_read.map_or(time, |t| t.max(time)));
        }
        keep_few(
            &mut self.source_ips,
            access.source_ip_address.as_deref(),
            DETAILS_KEPT,
        );
        keep_few(
            &mut self.user_agents,
            access.user_agent.as_deref(),
            DETAILS_KEPT,
        );
        if let Some(id) = &access.event_id {
            self.examples.insert((time, clean_text(id, DETAIL_CHARS)));
            while self.examples.len() > EXAMPLES_KEPT {
                self.examples.pop_last();
            }
        }
    }

    fn merge(&mut self, other: ReaderReads) {
        self.reads += other.reads;
        self.refused_reads += other.refused_reads;
        self.first_read = min_some(self.first_read, other.first_read);
        self.last_read = self.last_read.max(other.last_read);
        for ip in other.source_ips {
            keep_few(&mut self.source_ips, Some(&ip), DETAILS_KEPT);
        }
        for agent in other.user_agents {
            keep_few(&mut self.user_agents, Some(&agent), DETAILS_KEPT);
        }
        self.examples.extend(other.examples);
        while self.examples.len() > EXAMPLES_KEPT {
            self.examples.pop_last();
        }
    }
}

fn min_some(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Keeps the `limit` smallest distinct values (cleaned: they are the caller's text).
fn keep_few(set: &mut BTreeSet<String>, value: Option<&str>, limit: usize) {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return;
    };
    set.insert(clean_text(value, DETAIL_CHARS));
    while set.len() > limit {
        set.pop_last();
    }
}

/// Every read of one secret, per reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretReads {
    pub readers: BTreeMap<ReaderKey, ReaderReads>,
}

impl SecretReads {
    /// One read; `expected`: the rule that marks it as expected, if one does.
    pub fn add(
        &mut self,
        access: &PendingDeletionAccess,
        time: Option<SystemTime>,
        expected: Option<String>,
    ) {
        let workload = classify(access);
        let key = ReaderKey {
            kind: workload.kind,
            name: clean_text(&workload.name, DETAIL_CHARS),
            confidence: workload.confidence,
            caller: clean_text(CallerKey::of(&access.who).as_str(), DETAIL_CHARS),
            expected: expected.map(|rule| clean_text(&rule, DETAIL_CHARS)),
        };
        self.readers.entry(key).or_default().add(access, time);
    }

    pub fn merge(&mut self, other: SecretReads) {
        for (key, reads) in other.readers {
            self.readers.entry(key).or_default().merge(reads);
        }
    }

    pub fn reads(&self) -> u64 {
        self.readers.values().map(|r| r.reads).sum()
    }

    pub fn refused_reads(&self) -> u64 {
        self.readers.values().map(|r| r.refused_reads).sum()
    }

    pub fn last_read(&self) -> Option<SystemTime> {
        self.readers.values().filter_map(|r| r.last_read).max()
    }
}

/// What a look-back found for every secret asked (in the order asked), and what it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageTally {
    pub secrets: Vec<SecretReads>,
    /// Records examined (after the pre-check: a file it passed over is not counted).
    pub records: u64,
    /// Records that were not a JSON object, or not text.
    pub malformed: u64,
    /// Reads of a secret asked about, outside the window.
    pub outside_window: u64,
}

impl UsageTally {
    pub fn merge(&mut self, other: UsageTally) {
        if self.secrets.len() < other.secrets.len() {
            self.secrets
                .resize_with(other.secrets.len(), SecretReads::default);
        }
        for (mine, theirs) in self.secrets.iter_mut().zip(other.secrets) {
            mine.merge(theirs);
        }
        self.records += other.records;
        self.malformed += other.malformed;
        self.outside_window += other.outside_window;
    }

    /// Reads of every secret asked.
    pub fn reads(&self) -> u64 {
        self.secrets.iter().map(SecretReads::reads).sum()
    }
}
