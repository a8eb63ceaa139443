//! The CloudWatch Logs subscription payload: `{"awslogs":{"data": base64(gzip(JSON))}}`.
//!
//! Decoding is split in two steps so that the hot path never copies a record it cannot use:
//! [`inflate_payload`] turns the base64 text into the decompressed envelope bytes (size-capped),
//! and [`LogBatch::parse`] reads the envelope from those bytes, borrowing each log event's
//! `message` as raw JSON text ([`LogBatch::parse_searching`] also finds a pre-check's needles
//! in the same pass). Only the messages that may match the detection rule are ever
//! unescaped and parsed (see [`crate::detection::may_match`]).
//!
//! [`encode_records`] is the reverse, used by the `encode` command and the tests; it builds the
//! envelope with `aws_lambda_events`' own `LogData` type so our samples have exactly the shape
//! that crate (and CloudWatch Logs) produce.

use std::borrow::Cow;
use std::io::{Read, Write};

use aho_corasick::{AhoCorasick, Input, Span};
use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use memchr::memmem::Finder;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{DecodeError, EncodeError};

/// CloudWatch Logs batches are at most about 1 MB decompressed; 8 MiB is a generous cap that
/// still stops a gzip bomb long before it can exhaust a 128 MB function.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 8 * 1024 * 1024;

/// The `messageType` of a batch that carries log events.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";
/// CloudWatch Logs sends CONTROL_MESSAGE batches to check that the destination is reachable.
pub const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// Standard alphabet, padding optional: CloudWatch Logs pads, but `aws_lambda_events` encodes
/// without padding, and a hand-made sample may do either.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The Lambda event as the subscription delivers it. Only the base64 text is read here; the
/// decoding happens in our own code so that a corrupt payload gets our error, not the runtime's.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct SubscriptionEvent {
    pub awslogs: AwsLogsField,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct AwsLogsField {
    pub data: Base64Text,
}

/// The base64 text of `awslogs.data`, kept as bytes. Base64 is ASCII and its decoder checks
/// every byte, so the JSON parser need not check the text for UTF-8 and control characters
/// first: read as bytes, a 1 MB batch's Lambda event parses in 3 µs instead of 25.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Base64Text(Vec<u8>);

impl Base64Text {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, with anything that is not UTF-8 replaced (for display and the tests).
    pub fn to_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<String> for Base64Text {
    fn from(text: String) -> Self {
        Base64Text(text.into_bytes())
    }
}

impl AsRef<[u8]> for Base64Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Base64Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64Text({} bytes)", self.0.len())
    }
}

impl serde::Serialize for Base64Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&String::from_utf8_lossy(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl serde::de::Visitor<'_> for TextVisitor {
            type Value = Base64Text;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64 string")
            }

            fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Base64Text, E> {
                Ok(Base64Text(bytes.to_vec()))
            }

            fn visit_byte_buf<E>(self, bytes: Vec<u8>) -> Result<Base64Text, E> {
                Ok(Base64Text(bytes))
            }

            fn visit_str<E>(self, text: &str) -> Result<Base64Text, E> {
                Ok(Base64Text(text.as_bytes().to_vec()))
            }

            fn visit_string<E>(self, text: String) -> Result<Base64Text, E> {
                Ok(Base64Text::from(text))
            }
        }
        // serde_json reads a string as bytes without checking it, with a SIMD search for its
        // closing quote (escapes are still resolved).
        deserializer.deserialize_bytes(TextVisitor)
    }
}

impl SubscriptionEvent {
    /// Reads a Lambda event file (as in `events/`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError::LambdaEvent)
    }
}

/// base64 -> gzip -> bytes of the JSON envelope, refusing to inflate past `max_decoded_bytes`.
pub fn inflate_payload(
    data: &(impl AsRef<[u8]> + ?Sized),
    max_decoded_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    let data = data.as_ref();
    // The compressed bytes only live until inflated: decode them into this thread's buffer of
    // the previous batch instead of a new allocation.
    thread_local! {
        static COMPRESSED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut compressed = COMPRESSED.with_borrow_mut(std::mem::take);
    compressed.clear();
    let decoded = match base64_simd::STANDARD.decode_append(data, &mut compressed) {
        Ok(()) => inflate_gzip(&compressed, max_decoded_bytes),
        Err(_) => decode_base64_lenient(data).and_then(|c| inflate_gzip(&c, max_decoded_bytes)),
    };
    if compressed.capacity() <= DEFAULT_MAX_DECODED_BYTES {
        COMPRESSED.with_borrow_mut(|spare| *spare = compressed);
    }
    decoded
}

/// base64 (standard alphabet, padding optional, whitespace ignored) to bytes.
pub fn decode_base64(data: &(impl AsRef<[u8]> + ?Sized)) -> Result<Vec<u8>, DecodeError> {
    let data = data.as_ref();
    // The SIMD decoder reads canonical base64 (what CloudWatch Logs sends) about six times
    // faster; anything it refuses gets the lenient decoder, which also words the error.
    match base64_simd::STANDARD.decode_to_vec(data) {
        Ok(bytes) => Ok(bytes),
        Err(_) => decode_base64_lenient(data),
    }
}

/// The decoder for what the SIMD one refuses: padding optional, white space ignored, and
/// precise errors.
fn decode_base64_lenient(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    // Line-wrapped base64 (as `base64` the tool writes it) is still base64; strip the
    // white space instead of rejecting it.
    if text.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        return LENIENT_BASE64.decode(compact).map_err(DecodeError::Base64);
    }
    LENIENT_BASE64.decode(text).map_err(DecodeError::Base64)
}

/// Inflates one gzip stream into at most `max_decoded_bytes`.
///
/// libdeflate does it in one call into a buffer of the size the gzip trailer gives, faster
/// than zlib-rs (see the README's benchmark). A stream whose trailer claims more than the cap,
/// or understates its size (the trailer holds it modulo 2^32) and so overflows that buffer, is
/// read by the streaming decoder instead, which stops at the cap.
pub fn inflate_gzip(compressed: &[u8], max_decoded_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    let claimed = gzip_claimed_size(compressed)?;
    if claimed > max_decoded_bytes {
        // A bomb, or a truncated stream whose last bytes are not its trailer: the streaming
        // decoder tells which, and stops at the cap either way.
        return inflate_gzip_streaming(compressed, max_decoded_bytes);
    }
    // The buffer of the previous batch, if it was handed back ([`recycle`]): no allocation
    // and no zeroing of what libdeflate overwrites anyway.
    let mut decoded = SPARE_BUFFER.with_borrow_mut(std::mem::take);
    if decoded.len() < claimed {
        decoded.resize(claimed, 0);
    } else {
        decoded.truncate(claimed);
    }
    // Building the decompressor's tables costs about as much as inflating 20 KB: keep one
    // per thread, for the life of the Lambda sandbox.
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<libdeflater::Decompressor> =
            std::cell::RefCell::new(libdeflater::Decompressor::new());
    }
    let result = DECOMPRESSOR.with_borrow_mut(|d| d.gzip_decompress(compressed, &mut decoded));
    match result {
        Ok(len) => {
            decoded.truncate(len);
            Ok(decoded)
        }
        Err(libdeflater::DecompressionError::InsufficientSpace) => {
            inflate_gzip_streaming(compressed, max_decoded_bytes)
        }
        Err(libdeflater::DecompressionError::BadData) => {
            Err(DecodeError::Gzip(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "corrupt or truncated deflate data",
            )))
        }
    }
}

thread_local! {
    static SPARE_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Hands a decoded batch's buffer back for the next batch on this thread (a Lambda sandbox
/// handles one batch after another). Buffers above the default cap are let go.
pub fn recycle(buffer: Vec<u8>) {
    if buffer.capacity() <= DEFAULT_MAX_DECODED_BYTES {
        SPARE_BUFFER.with_borrow_mut(|spare| *spare = buffer);
    }
}

/// The same with flate2's streaming decoder (zlib-rs), reading at most `max_decoded_bytes + 1`
/// bytes of output whatever the stream says about itself.
pub fn inflate_gzip_streaming(
    compressed: &[u8],
    max_decoded_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    let size_hint = gzip_claimed_size(compressed)?.min(max_decoded_bytes);
    let mut decoded = Vec::with_capacity(size_hint.saturating_add(1));
    let limit = u64::try_from(max_decoded_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::GzDecoder::new(compressed)
        .take(limit)
        .read_to_end(&mut decoded)
        .map_err(DecodeError::Gzip)?;
    if decoded.len() > max_decoded_bytes {
        return Err(DecodeError::TooLarge {
            limit: max_decoded_bytes,
        });
    }
    Ok(decoded)
}

/// The decompressed size a gzip stream's trailer claims (modulo 2^32), after checking the
/// header's magic bytes.
fn gzip_claimed_size(compressed: &[u8]) -> Result<usize, DecodeError> {
    if compressed.len() < 18 || compressed[..2] != [0x1f, 0x8b] {
        return Err(DecodeError::NotGzip);
    }
    let mut trailer = [0u8; 4];
    trailer.copy_from_slice(&compressed[compressed.len() - 4..]);
    Ok(u32::from_le_bytes(trailer) as usize)
}

/// The decoded envelope, borrowing from the inflated bytes.
#[derive(Debug)]
pub struct LogBatch<'a> {
    pub message_type: Cow<'a, str>,
    pub owner: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
    pub subscription_filters: Vec<Cow<'a, str>>,
    pub log_events: Option<Vec<RawLogEvent<'a>>>,
    /// The needles every message was searched for while the batch was read, if any.
    searched_for: Option<&'a NeedleSearch>,
    /// Whether the batch was read by the fast path for CloudWatch's own layout.
    canonical_layout: bool,
}

/// One log event with its message left as raw JSON string text (quotes and escapes included).
#[derive(Debug)]
pub struct RawLogEvent<'a> {
    id: LogEventId<'a>,
    pub timestamp: Option<i64>,
    raw_message: &'a [u8],
    /// Whether `raw_message` holds one of the needles of [`LogBatch::parse_searching`].
    holds_needle: bool,
}

/// A log event's id as read. Opaque: CloudWatch Logs documents it as a string of digits, we
/// never do arithmetic on it.
#[derive(Debug)]
enum LogEventId<'a> {
    /// CloudWatch's own ids, checked to be ASCII digits and left as bytes: only the events
    /// that are reported need them as text (it saves a UTF-8 check per event).
    Digits(&'a [u8]),
    Text(Cow<'a, str>),
}

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
            over_batch: BatchSearch::new(needles, true)?,
            finders: needles.iter().map(|n| Finder::new(*n)).collect(),
        })
    }

    /// The same without the SIMD searcher, as on a CPU without one.
    #[cfg(test)]
    fn without_simd(needles: &[&'static [u8]]) -> Result<Self, NeedleError> {
        let mut search = Self::new(needles)?;
        search.over_batch = BatchSearch::new(needles, false)?;
        Ok(search)
    }

    /// Whether `raw` holds one of the needles.
    pub fn found_in(&self, raw: &[u8]) -> bool {
        self.finders.iter().any(|finder| finder.find(raw).is_some())
    }
}

/// Object starts, needles and quotes after structure in one search: aho-corasick's SIMD
/// searcher (Teddy) where the CPU has one (x86_64 and aarch64 do), else its automaton (which
/// also has SIMD prefilters). In CloudWatch's layout only the object starts and the needles
/// are ever found, so the search stops once per event and once per needle.
struct BatchSearch {
    engine: SearchEngine,
    needles: usize,
}

enum SearchEngine {
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
    fn new(needles: &[&[u8]], simd: bool) -> Result<Self, NeedleError> {
        let patterns = || {
            std::iter::once(OBJECT_START)
                .chain(needles.iter().copied())
                .chain(QUOTES_AFTER_STRUCTURE)
        };
        let packed = simd
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
        let found = match &self.engine {
            SearchEngine::Packed(searcher) => {
                searcher.find_in(haystack, Span::from(from..haystack.len()))
            }
            SearchEngine::Automaton(automaton) => {
                automaton.find(Input::new(haystack).range(from..))
            }
        }?;
        let pattern = found.pattern().as_usize();
        Some(if pattern == 0 {
            Hit::ObjectStart(found.start())
        } else if pattern <= self.needles {
            Hit::Needle { end: found.end() }
        } else {
            Hit::QuoteAfterStructure {
                quote: found.end() - 1,
            }
        })
    }
}

/// A set of needles [`NeedleSearch`] cannot use.
#[derive(Debug, thiserror::Error)]
pub enum NeedleError {
    #[error("needle {0:?} is empty or holds a quote or a brace")]
    Unusable(String),
    #[error("cannot build the search: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

impl<'a> LogBatch<'a> {
    /// Parses the inflated envelope. A data batch without `logEvents` is an error: it would
    /// otherwise look like an empty batch and hide a broken producer.
    ///
    /// Batches laid out exactly as CloudWatch Logs writes them take a fast path that finds the
    /// log events without reading every byte of every message; anything else (other key
    /// order, white space, escapes in the header) is read by serde_json. Both give the same
    /// batch.
    pub fn parse(decoded: &'a [u8]) -> Result<Self, DecodeError> {
        Self::parse_inner(decoded, None)
    }

    /// [`LogBatch::parse`], also finding which messages hold one of `needles`
    /// ([`RawLogEvent::holds_needle`]) in the same pass.
    pub fn parse_searching(
        decoded: &'a [u8],
        needles: &'a NeedleSearch,
    ) -> Result<Self, DecodeError> {
        Self::parse_inner(decoded, Some(needles))
    }

    fn parse_inner(
        decoded: &'a [u8],
        needles: Option<&'a NeedleSearch>,
    ) -> Result<Self, DecodeError> {
        let batch = match canonical::parse(decoded, needles) {
            Some(batch) => batch,
            None => Self::parse_general(decoded, needles)?,
        };
        if batch.is_data() && batch.log_events.is_none() {
            return Err(DecodeError::MissingLogEvents);
        }
        Ok(batch)
    }

    /// The envelope read by serde_json alone, whatever its layout, with the needle search of
    /// [`LogBatch::parse_searching`] if `needles` are given.
    pub fn parse_general(
        decoded: &'a [u8],
        needles: Option<&'a NeedleSearch>,
    ) -> Result<Self, DecodeError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Envelope<'a> {
            #[serde(borrow)]
            message_type: Cow<'a, str>,
            #[serde(default, borrow)]
            owner: Cow<'a, str>,
            #[serde(default, borrow)]
            log_group: Cow<'a, str>,
            #[serde(default, borrow)]
            log_stream: Cow<'a, str>,
            #[serde(default, borrow)]
            subscription_filters: Vec<Cow<'a, str>>,
            #[serde(default, borrow)]
            log_events: Option<Vec<Event<'a>>>,
        }
        #[derive(Deserialize)]
        struct Event<'a> {
            #[serde(borrow)]
            id: Cow<'a, str>,
            #[serde(default)]
            timestamp: Option<i64>,
            #[serde(borrow)]
            message: &'a RawValue,
        }
        let envelope: Envelope<'a> =
            serde_json::from_slice(decoded).map_err(DecodeError::Envelope)?;
        if let Some(events) = &envelope.log_events
            && let Some(event) = events.iter().find(|e| !e.message.get().starts_with('"'))
        {
            return Err(DecodeError::Envelope(serde::de::Error::custom(format!(
                "the message of log event {} is not a string",
                event.id
            ))));
        }
        Ok(LogBatch {
            message_type: envelope.message_type,
            owner: envelope.owner,
            log_group: envelope.log_group,
            log_stream: envelope.log_stream,
            subscription_filters: envelope.subscription_filters,
            log_events: envelope.log_events.map(|events| {
                events
                    .into_iter()
                    .map(|e| {
                        let raw_message = e.message.get().as_bytes();
                        RawLogEvent {
                            id: LogEventId::Text(e.id),
                            timestamp: e.timestamp,
                            raw_message,
                            holds_needle: needles.is_some_and(|n| n.found_in(raw_message)),
                        }
                    })
                    .collect()
            }),
            searched_for: needles,
            canonical_layout: false,
        })
    }

    /// Whether the batch was laid out exactly as CloudWatch Logs writes it and so read by the
    /// fast path (else serde_json read it).
    pub fn has_canonical_layout(&self) -> bool {
        self.canonical_layout
    }

    /// Whether every message was searched for `needles` while the batch was read, so that
    /// [`RawLogEvent::holds_needle`] answers for them.
    pub fn searched_for(&self, needles: &NeedleSearch) -> bool {
        self.searched_for
            .is_some_and(|searched| std::ptr::eq(searched, needles))
    }

    pub fn is_control(&self) -> bool {
        self.message_type == CONTROL_MESSAGE
    }

    pub fn is_data(&self) -> bool {
        self.message_type == DATA_MESSAGE
    }

    pub fn events(&self) -> &[RawLogEvent<'a>] {
        self.log_events.as_deref().unwrap_or_default()
    }
}

/// Two batches are equal when they read the same: the same header and the same log events
/// (id, timestamp, raw message), whichever path read them and whatever they were searched for.
impl PartialEq for LogBatch<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.message_type == other.message_type
            && self.owner == other.owner
            && self.log_group == other.log_group
            && self.log_stream == other.log_stream
            && self.subscription_filters == other.subscription_filters
            && self.log_events == other.log_events
    }
}

/// The same reading: id, timestamp and raw message (not the search marks).
impl PartialEq for RawLogEvent<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
            && self.timestamp == other.timestamp
            && self.raw_message == other.raw_message
    }
}

impl<'a> RawLogEvent<'a> {
    /// The log event's id.
    pub fn id(&self) -> Cow<'a, str> {
        match &self.id {
            // ASCII digits are UTF-8: this borrows, it never replaces anything.
            LogEventId::Digits(digits) => String::from_utf8_lossy(digits),
            LogEventId::Text(text) => text.clone(),
        }
    }

    /// The message as JSON string text, quotes and escapes included. Cheap: no copy, and not
    /// checked: only what [`crate::detection::may_match`] lets through is ever decoded.
    pub fn raw_message(&self) -> &[u8] {
        self.raw_message
    }

    /// Whether the raw message holds one of the needles the batch was searched for; always
    /// false if it was not searched ([`LogBatch::searched_for`] tells).
    pub fn holds_needle(&self) -> bool {
        self.holds_needle
    }

    /// The message itself (escapes resolved, UTF-8 checked). Allocates only when the text had
    /// escapes.
    pub fn message(&self) -> Result<Cow<'_, str>, serde_json::Error> {
        serde_json::from_slice(self.raw_message)
    }

    /// Whether the message text starts like a JSON object, read from the raw text without
    /// unescaping it: every CloudTrail record does, so anything else is malformed.
    pub fn looks_like_json_object(&self) -> bool {
        let Some(mut rest) = self.raw_message.strip_prefix(b"\"") else {
            return false;
        };
        loop {
            match rest {
                [b' ' | b'\t', tail @ ..] | [b'\\', b'n' | b'r' | b't', tail @ ..] => rest = tail,
                [b'{', ..] => return true,
                _ => return false,
            }
        }
    }
}

/// The layout CloudWatch Logs writes: no white space, header strings without escapes, and
/// every log event exactly `{"id":"...","timestamp":N,"message":"..."}`.
///
/// The end of a message is found by searching for the start of the next event, `{"`, instead
/// of reading the message: in a JSON string every `"` is escaped, so `{"` never occurs there,
/// and its first occurrence after a message's opening quote follows that message's closing
/// quote and `},`. That holds only if the message is the event's last key and the next event
/// starts as CloudWatch writes it; the same search finds a quote after a comma or white space,
/// which also cannot occur inside a string, so a message never runs on past its own closing
/// quote into more keys or an event in another layout (those batches go to serde_json). The
/// same search finds the needles of a [`NeedleSearch`], so the batch is read once.
mod canonical {
    use std::borrow::Cow;
    use std::sync::LazyLock;

    use super::{EVENT_START, Hit, LogBatch, LogEventId, NeedleSearch, RawLogEvent};

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

    pub(super) fn parse<'a>(
        bytes: &'a [u8],
        needles: Option<&'a NeedleSearch>,
    ) -> Option<LogBatch<'a>> {
        let bytes = bytes.trim_ascii_end();
        let mut cursor = Cursor { bytes, at: 0 };
        cursor.literal(b"{")?;
        let (mut message_type, mut owner, mut log_group, mut log_stream) = (None, None, None, None);
        let mut subscription_filters = Vec::new();
        loop {
            let key = cursor.quoted()?;
            cursor.literal(b":")?;
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
                        Some(Hit::ObjectStart(start))
                            if closes_message(bytes.get(start + 2..)?) =>
                        {
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
            searched_for: needles,
            canonical_layout: true,
        })
    }
}

/// Wraps CloudTrail records into a CloudWatch Logs subscription event, as a subscription on
/// the trail's log group would deliver them. `input` is one JSON object, a
/// `{"Records":[...]}` document (the trail's S3 file format), or JSON lines.
pub fn encode_records(input: &str, log_group: &str) -> Result<SubscriptionEvent, EncodeError> {
    let records = split_records(input)?;
    let mut data = LogData::default();
    data.owner = records
        .iter()
        .find_map(|r| r.get("recipientAccountId").and_then(|v| v.as_str()))
        .unwrap_or("123456789012")
        .to_owned();
    data.log_group = log_group.to_owned();
    data.log_stream = format!("{}_CloudTrail_us-east-1", data.owner);
    data.subscription_filters = vec!["secret-deletion-alerts".to_owned()];
    data.message_type = DATA_MESSAGE.to_owned();
    let base_ms = 1_700_000_000_000_i64;
    for (index, record) in records.iter().enumerate() {
        let mut entry = LogEntry::default();
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        // Ids are 56-digit strings in real batches; any unique string will do for samples.
        entry.id = format!("{:056}", 37_000_000_000_i64.saturating_add(index));
        entry.timestamp = base_ms.saturating_add(index);
        entry.message = serde_json::to_string(record).map_err(EncodeError::Json)?;
        data.log_events.push(entry);
    }
    let json = serde_json::to_vec(&data).map_err(EncodeError::Json)?;
    Ok(SubscriptionEvent {
        awslogs: AwsLogsField {
            data: Base64Text::from(gzip_base64(&json)?),
        },
    })
}

/// The control message CloudWatch Logs sends when a subscription is created.
pub fn control_message_event(log_group: &str) -> Result<SubscriptionEvent, EncodeError> {
    let mut data = LogData::default();
    data.owner = "CloudwatchLogs".to_owned();
    data.log_group = log_group.to_owned();
    data.log_stream = String::new();
    data.subscription_filters = vec![];
    data.message_type = CONTROL_MESSAGE.to_owned();
    let mut entry = LogEntry::default();
    entry.id = String::new();
    entry.timestamp = 1_700_000_000_000;
    entry.message = "CWL CONTROL MESSAGE: Checking health of destination Lambda function.".into();
    data.log_events.push(entry);
    let json = serde_json::to_vec(&data).map_err(EncodeError::Json)?;
    Ok(SubscriptionEvent {
        awslogs: AwsLogsField {
            data: Base64Text::from(gzip_base64(&json)?),
        },
    })
}

/// gzip then base64: the encoding CloudWatch Logs applies to a subscription batch.
pub fn gzip_base64(bytes: &[u8]) -> Result<String, EncodeError> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(bytes).map_err(EncodeError::Gzip)?;
    let compressed = gzip.finish().map_err(EncodeError::Gzip)?;
    Ok(LENIENT_BASE64.encode(compressed))
}

fn split_records(input: &str) -> Result<Vec<serde_json::Value>, EncodeError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(EncodeError::NoRecords);
    }
    let records = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Object(mut object)) => match object.remove("Records") {
            Some(serde_json::Value::Array(records)) => records,
            Some(_) => return Err(EncodeError::RecordsNotArray),
            None => vec![serde_json::Value::Object(object)],
        },
        Ok(serde_json::Value::Array(records)) => records,
        Ok(_) => return Err(EncodeError::NotAnObject { line: 1 }),
        Err(_) => {
            // Not one document: JSON lines.
            let mut records = Vec::new();
            for (number, line) in trimmed.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value =
                    serde_json::from_str(line).map_err(|source| EncodeError::Line {
                        line: number + 1,
                        source,
                    })?;
                records.push(value);
            }
            records
        }
    };
    if let Some(position) = records.iter().position(|r| !r.is_object()) {
        return Err(EncodeError::NotAnObject { line: position + 1 });
    }
    if records.is_empty() {
        return Err(EncodeError::NoRecords);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn encoded(records: &str) -> Base64Text {
        encode_records(records, "CloudTrail/logs")
            .unwrap()
            .awslogs
            .data
    }

    #[test]
    fn finds_needles_in_the_messages_that_hold_them_with_or_without_simd() {
        let data = encoded(
            r#"{"a":"none here"}
{"a":"x because it was y"}
{"a":"\\u0041"}
{"because it was":1,"b":"{\"id\":\""}
{"a":"because it wasn't"}"#,
        );
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let needles: [&'static [u8]; 2] = [b" because it was ", b"\\u"];
        for search in [
            NeedleSearch::new(&needles).unwrap(),
            NeedleSearch::without_simd(&needles).unwrap(),
        ] {
            let batch = LogBatch::parse_searching(&bytes, &search).unwrap();
            assert!(batch.has_canonical_layout());
            assert!(batch.searched_for(&search));
            let found: Vec<bool> = batch.events().iter().map(|e| e.holds_needle()).collect();
            assert_eq!(found, [false, true, true, false, false]);
            let general = LogBatch::parse_general(&bytes, Some(&search)).unwrap();
            let found_general: Vec<bool> =
                general.events().iter().map(|e| e.holds_needle()).collect();
            assert_eq!(found, found_general);
        }
        let unsearched = LogBatch::parse(&bytes).unwrap();
        assert!(unsearched.events().iter().all(|e| !e.holds_needle()));
        assert!(!unsearched.searched_for(&NeedleSearch::new(&needles).unwrap()));
    }

    #[test]
    fn reads_awslogs_data_with_json_escapes_and_refuses_other_types() {
        let data = encoded(r#"{"eventName":"A","path":"/a/b?c=d"}"#);
        let plain = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let text = data.to_text();
        assert!(text.contains('/'), "the sample must exercise the escape");
        // A JSON writer may escape `/`, and base64 may come line-wrapped (`\n` in JSON).
        let escaped = text.replace('/', "\\/");
        let wrapped: String = text
            .as_bytes()
            .chunks(76)
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect::<Vec<_>>()
            .join("\\n");
        for variant in [escaped, wrapped] {
            let event = format!(r#"{{"awslogs":{{"data":"{variant}"}}}}"#);
            let event = SubscriptionEvent::from_json(event.as_bytes()).unwrap();
            let bytes = inflate_payload(&event.awslogs.data, DEFAULT_MAX_DECODED_BYTES).unwrap();
            assert_eq!(bytes, plain);
        }
        for wrong in [
            r#"{"awslogs":{"data":42}}"#,
            r#"{"awslogs":{}}"#,
            r#"{"awslogs":{"data":"#,
        ] {
            assert!(matches!(
                SubscriptionEvent::from_json(wrong.as_bytes()),
                Err(DecodeError::LambdaEvent(_))
            ));
        }
    }

    #[test]
    fn refuses_needles_that_could_overlap_an_event_boundary() {
        for needle in [&b""[..], b"\"x", b"{a", b"a}"] {
            assert!(NeedleSearch::new(&[needle]).is_err(), "{needle:?}");
        }
    }

    #[test]
    fn round_trips_records_through_encode_and_decode() {
        let data = encoded(
            r#"{"eventName":"A"}
{"eventName":"B","userAgent":"x\"y"}"#,
        );
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        assert!(batch.is_data());
        assert_eq!(batch.log_group, "CloudTrail/logs");
        let messages: Vec<String> = batch
            .events()
            .iter()
            .map(|e| e.message().unwrap().into_owned())
            .collect();
        assert_eq!(
            messages,
            [
                r#"{"eventName":"A"}"#,
                r#"{"eventName":"B","userAgent":"x\"y"}"#
            ]
        );
    }

    #[test]
    fn agrees_with_aws_lambda_events_decoder() {
        let data = encoded(r#"{"Records":[{"eventName":"A","n":1},{"eventName":"B"}]}"#);
        let reference: aws_lambda_events::cloudwatch_logs::LogsEvent =
            serde_json::from_str(&serde_json::json!({"awslogs": {"data": data}}).to_string())
                .unwrap();
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let ours = LogBatch::parse(&bytes).unwrap();
        let theirs = reference.aws_logs.data;
        assert_eq!(ours.message_type, theirs.message_type);
        assert_eq!(ours.owner, theirs.owner);
        assert_eq!(ours.log_stream, theirs.log_stream);
        assert_eq!(ours.events().len(), theirs.log_events.len());
        for (a, b) in ours.events().iter().zip(&theirs.log_events) {
            assert_eq!(a.id(), b.id);
            assert_eq!(a.timestamp, Some(b.timestamp));
            assert_eq!(a.message().unwrap(), b.message);
        }
    }

    #[test]
    fn accepts_unpadded_and_line_wrapped_base64() {
        let data = encoded(r#"{"eventName":"A"}"#);
        let text = data.to_text();
        let unpadded = text.trim_end_matches('=');
        let wrapped: String = data
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        for variant in [unpadded, wrapped.as_str()] {
            let bytes = inflate_payload(variant, DEFAULT_MAX_DECODED_BYTES).unwrap();
            assert_eq!(LogBatch::parse(&bytes).unwrap().events().len(), 1);
        }
    }

    #[test]
    fn rejects_corrupt_base64() {
        let err = inflate_payload("not*base64!", DEFAULT_MAX_DECODED_BYTES).unwrap_err();
        assert!(matches!(err, DecodeError::Base64(_)), "{err}");
    }

    #[test]
    fn rejects_base64_of_something_that_is_not_gzip() {
        let data = LENIENT_BASE64.encode(b"{\"plain\": \"json, not gzip\"}");
        let err = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap_err();
        assert!(matches!(err, DecodeError::NotGzip), "{err}");
    }

    #[test]
    fn rejects_corrupt_and_truncated_gzip() {
        let good = LENIENT_BASE64
            .decode(encoded(r#"{"eventName":"A"}"#))
            .unwrap();
        let mut corrupt = good.clone();
        for byte in &mut corrupt[12..20] {
            *byte ^= 0xff;
        }
        let truncated = &good[..good.len() - 6];
        for bad in [&corrupt[..], truncated] {
            let err = inflate_gzip(bad, DEFAULT_MAX_DECODED_BYTES).unwrap_err();
            assert!(matches!(err, DecodeError::Gzip(_)), "{err}");
        }
    }

    #[test]
    fn stops_inflating_at_the_cap() {
        let bomb = gzip_base64(&vec![b' '; 4 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < 16 * 1024, "the sample should be a small bomb");
        let err = inflate_payload(&bomb, 1024 * 1024).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooLarge { limit } if limit == 1024 * 1024),
            "{err}"
        );
    }

    #[test]
    fn reads_a_control_message() {
        let data = control_message_event("CloudTrail/logs")
            .unwrap()
            .awslogs
            .data;
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        assert!(batch.is_control());
        assert!(!batch.events()[0].looks_like_json_object());
    }

    #[test]
    fn a_data_batch_without_log_events_is_an_error() {
        let data = gzip_base64(br#"{"messageType":"DATA_MESSAGE","owner":"1"}"#).unwrap();
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let err = LogBatch::parse(&bytes).unwrap_err();
        assert!(matches!(err, DecodeError::MissingLogEvents), "{err}");
    }

    #[test]
    fn invalid_utf8_in_the_envelope_is_an_error() {
        let mut json =
            br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"x"#.to_vec();
        json.extend_from_slice(&[0xff, 0xfe]);
        json.extend_from_slice(br#""}]}"#);
        let bytes = inflate_payload(&gzip_base64(&json).unwrap(), 1 << 20).unwrap();
        assert!(matches!(
            LogBatch::parse(&bytes).unwrap_err(),
            DecodeError::Envelope(_)
        ));
    }

    #[test]
    fn tells_json_objects_from_other_messages_without_unescaping() {
        let data = encoded(r#"{"a":1}"#);
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let batch = LogBatch::parse(&bytes).unwrap();
        assert!(batch.events()[0].looks_like_json_object());
        let json = br#"{"messageType":"DATA_MESSAGE","logEvents":[
            {"id":"1","message":"plain text"},
            {"id":"2","message":"\n  {\"a\":1}"},
            {"id":"3","message":"[1,2]"}]}"#;
        let batch = LogBatch::parse(json).unwrap();
        let verdicts: Vec<bool> = batch
            .events()
            .iter()
            .map(RawLogEvent::looks_like_json_object)
            .collect();
        assert_eq!(verdicts, [false, true, false]);
    }

    #[test]
    fn the_fast_path_reads_what_serde_reads_even_for_tricky_messages() {
        let tricky = [
            r#"{"a":"ends with a backslash \\"}"#,
            r#"{"text":"\"},{\"id\":\"x"}"#,
            r#"{"nested":[{"a":1},{"b":"}]}"}],"u":"caf\u00e9 \u2019 \ud83d\ude00"}"#,
            r#"{"s":"line\nbreak\ttab \"quoted\" \/ slash"}"#,
        ]
        .join("\n");
        let data = encoded(&tricky);
        let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        let fast = canonical::parse(&bytes, None).expect("our own encoding is canonical");
        let general = LogBatch::parse_general(&bytes, None).unwrap();
        assert_eq!(fast, general);
        assert_eq!(fast.events().len(), 4);
        for event in fast.events() {
            let message = event.message().unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&message).is_ok(),
                "{message}"
            );
        }
    }

    #[test]
    fn reads_timestamps_as_serde_does() {
        let batch_with = |timestamp: &str| {
            format!(
                r#"{{"messageType":"DATA_MESSAGE","logEvents":[{{"id":"1","timestamp":{timestamp},"message":"{{}}"}}]}}"#
            )
        };
        let read_fast = [
            "1700000000000",
            "1000000000000",
            "9999999999999",
            "1234567890123",
            "0",
            "7",
            "-1",
            "123456789012",
            "12345678901234",
            "9223372036854775807",
            "-9223372036854775807",
        ];
        for timestamp in read_fast {
            let json = batch_with(timestamp);
            let fast = canonical::parse(json.as_bytes(), None).expect("canonical layout");
            let general = LogBatch::parse_general(json.as_bytes(), None).unwrap();
            assert_eq!(fast, general);
            assert_eq!(fast.events()[0].timestamp, timestamp.parse().ok());
        }
        // Out of range, i64::MIN, a fraction, leading zeros (not JSON): serde_json decides.
        let left_to_serde = [
            "9223372036854775808",
            "-9223372036854775808",
            "99999999999999999999",
            "1700000000000.5",
            "0170000000000",
            "01",
            "-",
        ];
        for timestamp in left_to_serde {
            let json = batch_with(timestamp);
            assert!(
                canonical::parse(json.as_bytes(), None).is_none(),
                "{timestamp}"
            );
            let read = LogBatch::parse(json.as_bytes()).map(|b| b.events()[0].timestamp);
            match serde_json::from_str::<i64>(timestamp) {
                Ok(value) => assert_eq!(read.unwrap(), Some(value)),
                Err(_) => assert!(read.is_err(), "{timestamp}"),
            }
        }
    }

    #[test]
    fn messages_ending_in_a_space_a_comma_or_a_brace_stay_on_the_fast_path() {
        for text in [
            "ends in a space ",
            "ends in a comma,",
            " ",
            ",",
            "{",
            "ends in {",
        ] {
            let message = serde_json::to_string(text).unwrap();
            for events in [
                format!(r#"[{{"id":"1","timestamp":5,"message":{message}}}]"#),
                format!(
                    r#"[{{"id":"1","timestamp":5,"message":{message}}},{{"id":"2","timestamp":6,"message":{message}}}]"#
                ),
            ] {
                let json = format!(r#"{{"messageType":"DATA_MESSAGE","logEvents":{events}}}"#);
                let fast = canonical::parse(json.as_bytes(), None).expect("canonical layout");
                assert_eq!(
                    fast,
                    LogBatch::parse_general(json.as_bytes(), None).unwrap()
                );
            }
        }
    }

    #[test]
    fn other_layouts_fall_back_to_serde() {
        let pretty = br#"{
            "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
            "subscriptionFilters": ["f"],
            "logEvents": [ {"id": "1", "timestamp": 5, "message": "{\"a\":1}"} ]
        }"#;
        let reordered = br#"{"logEvents":[{"message":"{}","id":"1","timestamp":5}],"messageType":"DATA_MESSAGE"}"#;
        let extra = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}","x":1}]}"#;
        let extra_string = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}","x":"y"}]}"#;
        let extra_spaced = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}" ,"x":"y"}]}"#;
        for json in [
            &pretty[..],
            &reordered[..],
            &extra[..],
            &extra_string[..],
            &extra_spaced[..],
        ] {
            assert!(canonical::parse(json, None).is_none());
            let batch = LogBatch::parse(json).unwrap();
            assert_eq!(batch.events().len(), 1);
            assert!(batch.events()[0].looks_like_json_object());
        }
        let empty = br#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#;
        assert_eq!(canonical::parse(empty, None).unwrap().events().len(), 0);
        let not_string = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":{"a":1}}]}"#;
        assert!(matches!(
            LogBatch::parse(not_string).unwrap_err(),
            DecodeError::Envelope(_)
        ));
    }

    #[test]
    fn encode_rejects_input_without_records() {
        assert!(matches!(
            encode_records("  ", "g").unwrap_err(),
            EncodeError::NoRecords
        ));
        assert!(matches!(
            encode_records("{\"a\":1}\nnot json", "g").unwrap_err(),
            EncodeError::Line { line: 2, .. }
        ));
        assert!(matches!(
            encode_records("[1]", "g").unwrap_err(),
            EncodeError::NotAnObject { line: 1 }
        ));
    }
}
