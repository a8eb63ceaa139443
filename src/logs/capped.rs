//! A batch that inflates past the cap, read up to it: every log event that lies whole under
//! the cap is kept, and the ones beyond are counted, never silently dropped.
//!
//! Refusing such a batch whole would let anyone who can make many large records (reads of
//! their own secret with 4 KB user agents) push it past the cap and take every other read in
//! it down with it, on every retry. So the envelope is read as a stream: its header and the
//! log events before the cap are rebuilt into an envelope of their own (the events list is
//! closed after the last whole event), and the stream is then inflated to its end, bounded,
//! only to count the log events that were not read.
//!
//! CloudWatch Logs writes the envelope minified, with `logEvents` last and each event as
//! `{"id":"...`; a message is a JSON string, so `{"id":"` inside one is always escaped. A
//! stream whose prefix holds no `"logEvents":[` (a gzip bomb of zeros) is refused as before.

use std::io::Read;

use memchr::memmem;
use serde::de::IgnoredAny;

use super::decode_base64;
use crate::error::DecodeError;

/// How much of an oversized stream is inflated to count what was not read; past this the
/// count is a lower bound (said as such).
pub const MAX_COUNTED_BYTES: u64 = 1 << 30;

const EVENTS_KEY: &[u8] = b"\"logEvents\":[";
const EVENT_START: &[u8] = b"{\"id\":\"";

/// What of an oversized batch was read.
#[derive(Debug)]
pub struct CappedBatch {
    /// The envelope with the log events that lie whole under the cap.
    pub envelope: Vec<u8>,
    /// Log events beyond the cap, not read.
    pub events_unread: u64,
    /// Whether the count stopped at [`MAX_COUNTED_BYTES`] (then it is a lower bound).
    pub count_is_lower_bound: bool,
}

/// `awslogs.data` (base64 text) read up to `max_decoded_bytes`.
pub fn read_up_to_cap(
    data: &(impl AsRef<[u8]> + ?Sized),
    max_decoded_bytes: usize,
) -> Result<CappedBatch, DecodeError> {
    let compressed = decode_base64(data)?;
    let mut stream = flate2::read::GzDecoder::new(compressed.as_slice());
    // Grown as read: `invoke`'s cap is 1 GiB, and a batch rarely comes near any cap.
    let mut prefix = Vec::with_capacity(max_decoded_bytes.min(super::DEFAULT_MAX_DECODED_BYTES));
    (&mut stream)
        .take(max_decoded_bytes as u64)
        .read_to_end(&mut prefix)
        .map_err(DecodeError::Gzip)?;
    let too_large = DecodeError::TooLarge {
        limit: max_decoded_bytes,
    };
    let events_at = memmem::find(&prefix, EVENTS_KEY).ok_or(too_large)? + EVENTS_KEY.len();
    let (end, read) = whole_events(&prefix, events_at);
    let events_in_prefix = memmem::find_iter(&prefix[events_at..], EVENT_START).count() as u64;
    // An event start cut by the cap is found with the prefix's last bytes.
    let seed = &prefix[prefix.len().saturating_sub(EVENT_START.len() - 1)..];
    let rest = read_rest(&mut stream, seed)?;
    let mut envelope = prefix;
    envelope.truncate(end);
    envelope.push(b']');
    envelope.extend_from_slice(rest.after_events());
    Ok(CappedBatch {
        envelope,
        events_unread: (events_in_prefix + rest.event_starts).saturating_sub(read),
        count_is_lower_bound: rest.cut_short,
    })
}

/// Where the last whole log event after `start` (just inside the list) ends, and how many
/// whole events there are.
fn whole_events(prefix: &[u8], start: usize) -> (usize, u64) {
    let mut end = start;
    let mut count = 0;
    let mut at = start;
    loop {
        at = skip_blanks(prefix, at);
        if count > 0 {
            if prefix.get(at) != Some(&b',') {
                return (end, count);
            }
            at = skip_blanks(prefix, at + 1);
        }
        let mut values =
            serde_json::Deserializer::from_slice(&prefix[at..]).into_iter::<IgnoredAny>();
        match values.next() {
            Some(Ok(_)) if prefix.get(at) == Some(&b'{') => {
                at += values.byte_offset();
                end = at;
                count += 1;
            }
            // Cut by the cap (or not an event): the list ends before it.
            _ => return (end, count),
        }
    }
}

fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// What the rest of an oversized stream holds: its log events (counted) and its end.
struct Rest {
    event_starts: u64,
    /// The last bytes of the stream: where the envelope's keys after `logEvents` are, if
    /// its writer put any there.
    tail: Vec<u8>,
    /// Inflating stopped at [`MAX_COUNTED_BYTES`]: the count is a lower bound, and the tail
    /// is not the stream's.
    cut_short: bool,
}

/// The envelope's tail kept while counting: far more than its header keys take.
const TAIL_KEPT: usize = 64 << 10;

impl Rest {
    /// What closes the rebuilt envelope after its events: the keys that followed
    /// `logEvents` and the closing brace. `}],"` can only be structure (a quote inside a
    /// string is escaped), so the last `}]` ends the events.
    fn after_events(&self) -> &[u8] {
        match memmem::rfind(&self.tail, b"}]") {
            Some(at) if !self.cut_short => &self.tail[at + 2..],
            _ => b"}",
        }
    }
}

/// The `{"id":"` in the rest of the stream after `seed` (the bytes just before it), chunk
/// by chunk (a start cut between two chunks is counted once), up to [`MAX_COUNTED_BYTES`],
/// and its last bytes.
fn read_rest(stream: &mut impl Read, seed: &[u8]) -> Result<Rest, DecodeError> {
    let finder = memmem::Finder::new(EVENT_START);
    let keep = EVENT_START.len() - 1;
    let mut buffer = vec![0u8; 1 << 16];
    let mut rest = Rest {
        event_starts: 0,
        tail: Vec::new(),
        cut_short: false,
    };
    buffer[..seed.len()].copy_from_slice(seed);
    let mut carried = seed.len();
    let mut inflated: u64 = 0;
    loop {
        if inflated >= MAX_COUNTED_BYTES {
            rest.cut_short = true;
            return Ok(rest);
        }
        let n = stream
            .read(&mut buffer[carried..])
            .map_err(DecodeError::Gzip)?;
        if n == 0 {
            return Ok(rest);
        }
        inflated += n as u64;
        let filled = carried + n;
        rest.event_starts += finder.find_iter(&buffer[..filled]).count() as u64;
        rest.tail.extend_from_slice(&buffer[carried..filled]);
        if rest.tail.len() > 2 * TAIL_KEPT {
            rest.tail.drain(..rest.tail.len() - TAIL_KEPT);
        }
        // The last bytes may hold the start of an event start; they are searched again with
        // the next chunk, and cannot hold a whole one (it is longer than they are).
        carried = keep.min(filled);
        buffer.copy_within(filled - carried..filled, 0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::logs::{LogBatch, encode_records};

    /// A subscription event of `n` records, each about `size` bytes.
    fn batch(n: usize, size: usize) -> String {
        let records: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"eventID":"e{i}","userAgent":"{}"}}"#, "x".repeat(size)))
            .collect();
        encode_records(&records.join("\n"), "group")
            .unwrap()
            .awslogs
            .data
            .to_text()
            .into_owned()
    }

    #[test]
    fn the_events_under_the_cap_are_read_and_the_rest_counted() {
        let data = batch(1000, 4000);
        let capped = read_up_to_cap(&data, 1 << 20).unwrap();
        let envelope = LogBatch::parse(&capped.envelope).unwrap();
        let read = envelope.events().len() as u64;
        assert!(read > 200 && read < 300, "{read}");
        assert_eq!(read + capped.events_unread, 1000);
        assert!(!capped.count_is_lower_bound);
        assert!(capped.envelope.len() <= (1 << 20) + 2);
    }

    #[test]
    fn a_cap_that_falls_anywhere_keeps_only_whole_events() {
        let data = batch(50, 100);
        for cap in (300..8000).step_by(97) {
            let Ok(capped) = read_up_to_cap(&data, cap) else {
                continue;
            };
            let envelope = LogBatch::parse(&capped.envelope).unwrap();
            assert_eq!(
                envelope.events().len() as u64 + capped.events_unread,
                50,
                "cap {cap}"
            );
        }
    }

    #[test]
    fn the_keys_after_log_events_are_kept() {
        // serde_json writes keys in order: `logEvents` first, `messageType` after it.
        let events: Vec<serde_json::Value> = (0..400)
            .map(|i| serde_json::json!({"id": format!("{i:056}"), "timestamp": 1, "message": "x".repeat(4000)}))
            .collect();
        let envelope = serde_json::json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "g",
            "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events,
        });
        let data = crate::logs::gzip_base64(envelope.to_string().as_bytes()).unwrap();
        let capped = read_up_to_cap(&data, 1 << 20).unwrap();
        let batch = LogBatch::parse(&capped.envelope).unwrap();
        assert!(batch.header.is_data());
        assert_eq!(batch.header.log_group, "g");
        assert_eq!(batch.events().len() as u64 + capped.events_unread, 400);
    }

    #[test]
    fn a_stream_without_log_events_under_the_cap_is_refused() {
        use base64::Engine;
        use std::io::Write;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&vec![0u8; 4 << 20]).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap());
        assert!(matches!(
            read_up_to_cap(&data, 1 << 20),
            Err(DecodeError::TooLarge { .. })
        ));
    }
}
