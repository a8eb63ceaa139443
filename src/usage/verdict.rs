//! What `check` says of one secret, and what the command exits with.

use std::time::SystemTime;

use serde::Serialize;

use super::reads::SecretReads;
use super::secret_query::SecretQuery;

/// A source's kind, as the answer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    EventHistory,
    S3,
    Local,
    Athena,
}

/// How much of the window one source covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCoverage {
    pub kind: SourceKind,
    /// Where: `us-east-1` (and the account), `s3://bucket/prefix`, a path, a table.
    pub location: String,
    /// Read in full over the whole window: nothing refused, cut short, or unreadable.
    pub complete: bool,
    /// What it read, and when incomplete, what it missed and why.
    pub detail: String,
}

/// The answer to "can I delete this secret?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Reads were seen in the window.
    InUse,
    /// Every source covered the whole window, and none holds a read.
    NoReadsSeen,
    /// A source could not be read in full, and no read was seen.
    Unknown,
}

impl Verdict {
    pub fn of(reads: &SecretReads, sources: &[SourceCoverage]) -> Self {
        if reads.reads() > 0 {
            Verdict::InUse
        } else if !sources.is_empty() && sources.iter().all(|s| s.complete) {
            Verdict::NoReadsSeen
        } else {
            Verdict::Unknown
        }
    }
}

/// Everything `check` learnt of one secret.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub secret: SecretQuery,
    pub from: SystemTime,
    pub to: SystemTime,
    pub sources: Vec<SourceCoverage>,
    pub reads: SecretReads,
}

impl CheckOutcome {
    /// The verdict, never more than was seen: no reads in sources that covered the window
    /// prove nothing of a secret that was asked for and not found (a wrong region or
    /// account reads the history of nothing).
    pub fn verdict(&self) -> Verdict {
        match Verdict::of(&self.reads, &self.sources) {
            Verdict::NoReadsSeen if self.secret.lookup_note.is_some() => Verdict::Unknown,
            verdict => verdict,
        }
    }

    /// Why the verdict is `unknown`, for a person: the secret not found, or a source short.
    pub fn unknown_because(&self) -> &'static str {
        if self.secret.lookup_note.is_some() {
            "the secret was not found where it was looked for"
        } else {
            "not every source could be read in full"
        }
    }

    /// When DescribeSecret's `LastAccessedDate` (a day) is later than the day of every read
    /// the sources hold, they miss reads: another region, another account, or a trail that
    /// does not log them.
    pub fn sources_miss_reads(&self) -> bool {
        let Some(accessed) = self.secret.last_accessed_date else {
            return false;
        };
        let day = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() / 86_400)
        };
        // Within the window only: an access before it is no sign of anything missed.
        if accessed < self.from - std::time::Duration::from_secs(86_400) {
            return false;
        }
        self.reads
            .last_read()
            .is_none_or(|last| day(accessed) > day(last))
    }
}

/// The exit status of a check: 3 when any secret is in use, else 2 when any is unknown,
/// else 0 (every one `no_reads_seen`). 1 is for a check that could not run at all.
pub fn exit_status(verdicts: impl IntoIterator<Item = Verdict>) -> u8 {
    let verdicts: Vec<Verdict> = verdicts.into_iter().collect();
    if verdicts.contains(&Verdict::InUse) {
        3
    } else if verdicts.contains(&Verdict::Unknown) {
        2
    } else {
        0
    }
}
