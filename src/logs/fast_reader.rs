//! The fast reader: a batch laid out exactly as CloudWatch Logs writes it (no white space,
//! header strings without escapes, every log event exactly
//! `{"id":"...","timestamp":N,"message":"..."}`) read without reading every byte of every
//! message, and the pre-check's needles found in the same pass.
//!
//! # Contract
//!
//! [`LogBatch::parse_general`] (serde_json) is the reference. For any input bytes:
//!
//! 1. **Same reading or decline.** [`read`] returns either `None` (declined: the caller runs
//!    the reference) or a batch equal to the reference's reading of the same bytes: the same
//!    header, the same log events with the same ids, timestamps and raw messages
//!    (`LogBatch: PartialEq`), and the same [`RawLogEvent::holds_needle`] marks.
//! 2. **One exception, inside messages only.** The fast reader does not read a message's text
//!    (that is what makes it fast), so it does not check it: a message with an invalid
//!    escape, a raw control character or invalid UTF-8 inside its quotes is taken as it is,
//!    where the reference refuses the whole batch. Such a message then fails
//!    [`RawLogEvent::message`], and if it can match the rule it is counted as malformed and
//!    skipped, like any other broken record; the rest of the batch still runs. Everything
//!    outside message text (the header, the event structure, ids, timestamps, where each
//!    message ends, that header strings and ids hold no escape and no raw control
//!    character, and that no header key comes twice) is checked, and any difference makes
//!    the reader decline.
//! 3. **Why a message cannot run on.** `{"` never occurs inside a JSON string (there every
//!    `"` is escaped), so its first occurrence after a message's opening quote follows that
//!    message's closing quote and `},`.
//! 4. **Why a message cannot end early or late.** A quote after a comma or white space
//!    (`,"` ` "` ...) cannot occur inside a string either. Found inside a message's span it
//!    means the message ended earlier (another key after it, or an event in another layout),
//!    and the reader declines, unless it is the message's own last character and closing
//!    quote, told apart by what follows (`},{"id":"` or `}]}`).
//! 5. **Needles** contain no `"`, `{` or `}` ([`NeedleSearch::new`] refuses them), so no
//!    needle can overlap an event boundary, and every needle found between a message's
//!    opening quote and the next event start is inside that message.
//! 6. **Numbers** are read exactly as JSON allows them or declined: 13-digit timestamps eight
//!    digits at a time, other integers digit by digit; leading zeros, overflow and anything
//!    else are declined.
//!
//! The proof: `tests/properties.rs` checks 1 on generated batches (random messages, white
//! space, timestamps); the fuzz target (`tests/common/whole_path.rs`) checks 1 and 2 on every
//! input the fuzzer makes.

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, Span};
use memchr::memmem::Finder;

use super::envelope::{LogBatch, LogEventId, RawLogEvent};
#[cfg(target_arch = "x86_64")]
use super::pair_search::PairSearch;

/// Byte strings to find in every log event's raw message while the batch is read, so that a
/// caller's pre-check costs no pass of its own over the batch.
///
/// Why: each separate SIMD pass over a 1 MB batch costs 15 to 40 µs, up to a tenth of
/// inflating it, and stopping a search at every message costs more again; one multi-pattern
/// search over the whole batch finds the event boundaries and the needles together.
pub struct NeedleSearch {
    /// The needles, with what marks the log events' boundaries, in one search.
    over_batch: BatchSearch,
    /// One finder per needle, for a message read any other way.
    finders: Vec<Finder<'static>>,
}

impl std::fmt::Debug for NeedleSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeedleSearch")
            .field(
                "needles",
                &self.finders.iter().map(Finder::needle).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// How a log event starts in CloudWatch's layout.
const EVENT_START: &[u8] = br#"{"id":""#;

/// Where a JSON object starts with a key: every log event starts so. Like the patterns of
/// [`QUOTES_AFTER_STRUCTURE`], it cannot occur inside a JSON string, where every `"` is escaped
/// (`\"`), so the search finds it only between log events.
const OBJECT_START: &[u8] = b"{\"";

/// A quote after a comma or white space: after a message's opening quote these mean that the
/// message ended before the next event start (the event has more keys, or the next event has
/// another layout), or, once, that the message's own text ends in a comma or a space. The
/// search finds them so that the fast path never takes more than one string for a message.
const QUOTES_AFTER_STRUCTURE: [&[u8]; 5] = [b",\"", b" \"", b"\t\"", b"\n\"", b"\r\""];

impl NeedleSearch {
    /// Needles must not contain `"`, `{` or `}` (so no needle can overlap a log event
    /// boundary), and must not be empty.
    pub fn new(needles: &[&'static [u8]]) -> Result<Self, NeedleError> {
        if let Some(bad) = needles
            .iter()
            .find(|n| n.is_empty() || n.iter().any(|b| matches!(b, b'"' | b'{' | b'}')))
        {
            return Err(NeedleError::Unusable(
                String::from_utf8_lossy(bad).into_owned(),
            ));
        }
        Ok(NeedleSearch {
            over_batch: BatchSearch::new(needles, Engine::Widest)?,
            finders: needles.iter().map(|n| Finder::new(*n)).collect(),
        })
    }

    /// The same with a narrower search than the CPU's widest, as on a CPU without AVX-512
    /// (Teddy) or without SIMD (the automaton).
    #[cfg(test)]
    pub(super) fn with_engine(
        needles: &[&'static [u8]],
        engine: Engine,
    ) -> Result<Self, NeedleError> {
        let mut search = Self::new(needles)?;
        search.over_batch = BatchSearch::new(needles, engine)?;
        Ok(search)
    }

    /// Whether `raw` holds one of the needles.
    pub fn found_in(&self, raw: &[u8]) -> bool {
        self.finders.iter().any(|finder| finder.find(raw).is_some())
    }
}

/// Object starts, needles and quotes after structure in one search: [`PairSearch`] where the
/// CPU has AVX-512, else aho-corasick's SIMD searcher (Teddy) where it has AVX2 or NEON, else
/// its automaton (which also has SIMD prefilters). In CloudWatch's layout only the object
/// starts and the needles are ever found, so the search stops once per event and once per
/// needle.
struct BatchSearch {
    engine: SearchEngine,
    needles: usize,
}

/// The search [`BatchSearch::new`] builds: the widest the CPU has, or (for tests) a narrower
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Engine {
    Widest,
    #[cfg(test)]
    Teddy,
    Automaton,
}

#[cfg_attr(
    target_arch = "x86_64",
    expect(
        clippy::large_enum_variant,
        reason = "two live in statics, and every search reads its tables straight from them"
    )
)]
enum SearchEngine {
    #[cfg(target_arch = "x86_64")]
    Pairs(PairSearch),
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

/// What [`BatchSearch::find_from`] found, and where.
#[derive(Debug, Clone, Copy)]
enum Hit {
    /// [`OBJECT_START`] at this offset.
    ObjectStart(usize),
    /// A needle, ending at this offset.
    Needle { end: usize },
    /// One of [`QUOTES_AFTER_STRUCTURE`], whose quote is at this offset.
    QuoteAfterStructure { quote: usize },
}

impl BatchSearch {
    /// Pattern 0 is [`OBJECT_START`], then the needles in order, then the quotes after
    /// structure (no two can match at the same offset, so the order decides nothing else).
    fn new(needles: &[&[u8]], engine: Engine) -> Result<Self, NeedleError> {
        let patterns = || {
            std::iter::once(OBJECT_START)
                .chain(needles.iter().copied())
                .chain(QUOTES_AFTER_STRUCTURE)
        };
        #[cfg(target_arch = "x86_64")]
        if engine == Engine::Widest
            && let Some(pairs) = PairSearch::new(patterns())
        {
            return Ok(BatchSearch {
                engine: SearchEngine::Pairs(pairs),
                needles: needles.len(),
            });
        }
        let packed = (engine != Engine::Automaton)
            .then(|| {
                aho_corasick::packed::Config::new()
                    .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(patterns())
                    .build()
            })
            .flatten();
        let engine = match packed {
            Some(searcher) => SearchEngine::Packed(searcher),
            None => SearchEngine::Automaton(
                AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                    .build(patterns())?,
            ),
        };
        Ok(BatchSearch {
            engine,
            needles: needles.len(),
        })
    }

    /// The first hit in `haystack` at or after `from`.
    fn find_from(&self, haystack: &[u8], from: usize) -> Option<Hit> {
        let (pattern, start, end) = match &self.engine {
            #[cfg(target_arch = "x86_64")]
            SearchEngine::Pairs(pairs) => pairs.find(haystack, from)?,
            SearchEngine::Packed(searcher) => {
                parts(searcher.find_in(haystack, Span::from(from..haystack.len()))?)
            }
            SearchEngine::Automaton(automaton) => {
                parts(automaton.find(Input::new(haystack).range(from..))?)
            }
        };
        Some(if pattern == 0 {
            Hit::ObjectStart(start)
        } else if pattern <= self.needles {
            Hit::Needle { end }
        } else {
            Hit::QuoteAfterStructure { quote: end - 1 }
        })
    }
}

/// An aho-corasick match as the pair search gives one: pattern index, start, end.
fn parts(found: aho_corasick::Match) -> (usize, usize, usize) {
    (found.pattern().as_usize(), found.start(), found.end())
}

/// A set of needles [`NeedleSearch`] cannot use.
#[derive(Debug, thiserror::Error)]
pub enum NeedleError {
    #[error("needle {0:?} is empty or holds a quote or a brace")]
    Unusable(String),
    #[error("cannot build the search: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

/// The search for event boundaries alone, when the caller has no needles.
#[allow(clippy::expect_used, reason = "built from constants, not from input")]
static BOUNDARIES_ONLY: LazyLock<NeedleSearch> =
    LazyLock::new(|| NeedleSearch::new(&[]).expect("the event-start search builds"));

/// What follows a message's closing quote: the end of its event, then the next event or
/// the end of the batch.
fn closes_message(after_quote: &[u8]) -> bool {
    after_quote.starts_with(br#"},{"id":""#) || after_quote == b"}]}"
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn literal(&mut self, text: &[u8]) -> Option<()> {
        let end = self.at.checked_add(text.len())?;
        (self.bytes.get(self.at..end)? == text).then(|| self.at = end)
    }

    /// A string with no escapes, its opening quote already read.
    fn plain_string(&mut self) -> Option<Cow<'a, str>> {
        let rest = self.bytes.get(self.at..)?;
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        (rest[len] == b'"').then_some(())?;
        // JSON forbids raw control characters in strings; the reference refuses them.
        rest[..len].iter().all(|b| *b >= 0x20).then_some(())?;
        let text = std::str::from_utf8(&rest[..len]).ok()?;
        self.at += len + 1;
        Some(Cow::Borrowed(text))
    }

    /// A log event's id, its opening quote already read. CloudWatch's ids are 56 digits:
    /// checked in place, without the search (it is one per event); any other id is read
    /// by [`Cursor::plain_string`], which gives the same for these.
    fn event_id(&mut self) -> Option<LogEventId<'a>> {
        const DIGITS: usize = 56;
        if let Some(candidate) = self.bytes.get(self.at..self.at + DIGITS + 1)
            && candidate[DIGITS] == b'"'
            && candidate[..DIGITS]
                .iter()
                .fold(true, |all, b| all & b.is_ascii_digit())
        {
            self.at += DIGITS + 1;
            return Some(LogEventId::Digits(&candidate[..DIGITS]));
        }
        self.plain_string().map(LogEventId::Text)
    }

    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        self.literal(b"\"")?;
        self.plain_string()
    }

    /// An integer (a timestamp per event: this is hot). One that does not fit in an i64
    /// (or is i64::MIN), or that JSON does not allow (leading zeros), is left to serde_json.
    fn integer(&mut self) -> Option<i64> {
        // CloudWatch's timestamps are milliseconds since 1970: 13 digits from 2001 to
        // 2286. Those are read eight digits at a time instead of digit by digit.
        const DIGITS: usize = 13;
        if let Some(window) = self.bytes.get(self.at..=self.at + DIGITS)
            && window[0] != b'0'
            && window[..DIGITS]
                .iter()
                .fold(true, |all, b| all & b.is_ascii_digit())
            && !window[DIGITS].is_ascii_digit()
        {
            // Digits 0-7, and 5-12 of which only 8-12 are kept.
            let high = eight_digits(&window[..8])?;
            let low = eight_digits(&window[5..DIGITS])? % 100_000;
            self.at += DIGITS;
            return i64::try_from(high * 100_000 + low).ok();
        }
        let rest = self.bytes.get(self.at..)?;
        let (negative, digits) = match rest.split_first() {
            Some((b'-', tail)) => (true, tail),
            _ => (false, rest),
        };
        let mut value: i64 = 0;
        let mut len = 0;
        for &byte in digits.iter().take_while(|b| b.is_ascii_digit()) {
            value = value.checked_mul(10)?.checked_add(i64::from(byte - b'0'))?;
            len += 1;
        }
        (len == 1 || (len > 1 && digits[0] != b'0')).then_some(())?;
        self.at += usize::from(negative) + len;
        Some(if negative { -value } else { value })
    }
}

/// The number eight ASCII digits write (checked by the caller), in a few word operations:
/// each step adds every digit pair, then pair of pairs, into one lane (no lane can carry
/// into the next: 99, 9999 and 99999999 fit in 8, 16 and 32 bits).
fn eight_digits(digits: &[u8]) -> Option<u64> {
    let word = u64::from_le_bytes(digits.try_into().ok()?).wrapping_sub(0x3030_3030_3030_3030);
    let pairs = (word.wrapping_mul(10) + (word >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs.wrapping_mul(100) + (pairs >> 16)) & 0x0000_ffff_0000_ffff;
    Some((quads.wrapping_mul(10_000) + (quads >> 32)) & 0xffff_ffff)
}

/// Reads a batch laid out exactly as CloudWatch Logs writes it, or declines (`None`): see
/// the contract at the top of this module.
pub(super) fn read<'a>(bytes: &'a [u8], needles: Option<&'a NeedleSearch>) -> Option<LogBatch<'a>> {
    let bytes = bytes.trim_ascii_end();
    let mut cursor = Cursor { bytes, at: 0 };
    cursor.literal(b"{")?;
    let (mut message_type, mut owner, mut log_group, mut log_stream) = (None, None, None, None);
    let mut subscription_filters = Vec::new();
    // Each header key once: the reference refuses a repeated one.
    let mut seen = 0u8;
    loop {
        let key = cursor.quoted()?;
        cursor.literal(b":")?;
        let bit = match key.as_ref() {
            "subscriptionFilters" => 1,
            "messageType" => 2,
            "owner" => 4,
            "logGroup" => 8,
            "logStream" => 16,
            _ => 0,
        };
        (seen & bit == 0).then_some(())?;
        seen |= bit;
        match key.as_ref() {
            "logEvents" => break,
            "subscriptionFilters" => {
                cursor.literal(b"[")?;
                if cursor.literal(b"]").is_none() {
                    loop {
                        subscription_filters.push(cursor.quoted()?);
                        if cursor.literal(b"]").is_some() {
                            break;
                        }
                        cursor.literal(b",")?;
                    }
                }
            }
            "messageType" => message_type = Some(cursor.quoted()?),
            "owner" => owner = Some(cursor.quoted()?),
            "logGroup" => log_group = Some(cursor.quoted()?),
            "logStream" => log_stream = Some(cursor.quoted()?),
            _ => return None,
        }
        cursor.literal(b",")?;
    }
    // logEvents comes last and the batch ends with it.
    cursor.literal(b"[")?;
    // CloudTrail records are 1 KB or more: room for a full batch without regrowing.
    let mut events = Vec::with_capacity(bytes.len().saturating_sub(cursor.at) / 1024);
    if cursor.literal(b"]}").is_none() {
        // One search over the events finds every event start and every needle, in order;
        // it skips each event's header, which the cursor reads.
        let search = &needles.unwrap_or(&BOUNDARIES_ONLY).over_batch;
        let Some(Hit::ObjectStart(mut next_start)) = search.find_from(bytes, cursor.at) else {
            return None;
        };
        loop {
            // Where the cursor stands is the next event start the search found.
            (next_start == cursor.at).then_some(())?;
            cursor.literal(EVENT_START)?;
            let id = cursor.event_id()?;
            cursor.literal(br#","timestamp":"#)?;
            let timestamp = cursor.integer()?;
            cursor.literal(br#","message":"#)?;
            let opening = cursor.at;
            (bytes.get(opening) == Some(&b'"')).then_some(())?;
            // Needles up to the next event start are in this message. A quote after
            // structure is its closing quote, or the message ended earlier.
            // (`{"` and the quotes after structure can also be the message's last
            // character and its closing quote: those are told by what follows.)
            let mut holds_needle = false;
            let mut from = opening + 1;
            let following = loop {
                match search.find_from(bytes, from) {
                    Some(Hit::Needle { end }) => {
                        holds_needle = true;
                        from = end;
                    }
                    Some(Hit::QuoteAfterStructure { quote }) => {
                        closes_message(bytes.get(quote + 1..)?).then_some(())?;
                        from = quote + 1;
                    }
                    // A message whose text ends in `{`, then its closing quote.
                    Some(Hit::ObjectStart(start)) if closes_message(bytes.get(start + 2..)?) => {
                        from = start + 2;
                    }
                    Some(Hit::ObjectStart(start)) => break Some(start),
                    None => break None,
                }
            };
            let closing = match following {
                // `"},` then the next event.
                Some(start) => start.checked_sub(3)?,
                // The last event: the batch ends `"}]}`.
                None => bytes.len().checked_sub(4)?,
            };
            (closing > opening && bytes[closing] == b'"').then_some(())?;
            // The closing quote must not be escaped: an even run of backslashes before it.
            let backslashes = bytes[opening + 1..closing]
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count();
            (backslashes % 2 == 0).then_some(())?;
            events.push(RawLogEvent {
                id,
                timestamp: Some(timestamp),
                raw_message: &bytes[opening..=closing],
                holds_needle,
            });
            cursor.at = closing + 1;
            let Some(start) = following else {
                cursor.literal(b"}]}")?;
                break;
            };
            cursor.literal(b"},")?;
            next_start = start;
        }
    }
    (cursor.at == bytes.len()).then_some(())?;
    Some(LogBatch {
        message_type: message_type?,
        owner: owner.unwrap_or_default(),
        log_group: log_group.unwrap_or_default(),
        log_stream: log_stream.unwrap_or_default(),
        subscription_filters,
        log_events: Some(events),
        canonical_layout: true,
    })
}
