//! The envelope of a batch, borrowing from the inflated bytes: [`LogBatch`] and its
//! [`RawLogEvent`]s. [`LogBatch::parse_general`] reads it with serde_json and is the reference;
//! [`LogBatch::parse`] first tries the fast reader ([`super::fast_reader`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fast_reader::{self, NeedleSearch};
use super::{CONTROL_MESSAGE, DATA_MESSAGE};
use crate::error::DecodeError;

/// The decoded envelope, borrowing from the inflated bytes.
#[derive(Debug)]
pub struct LogBatch<'a> {
    pub message_type: Cow<'a, str>,
    pub owner: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
    pub subscription_filters: Vec<Cow<'a, str>>,
    pub log_events: Option<Vec<RawLogEvent<'a>>>,
    /// Whether the batch was read by the fast reader for CloudWatch's own layout.
    pub(super) canonical_layout: bool,
}

/// One log event with its message left as raw JSON string text (quotes and escapes included).
#[derive(Debug)]
pub struct RawLogEvent<'a> {
    pub(super) id: LogEventId<'a>,
    pub timestamp: Option<i64>,
    pub(super) raw_message: &'a [u8],
    /// Whether `raw_message` holds one of the needles of [`LogBatch::parse_searching`].
    pub(super) holds_needle: bool,
}

/// A log event's id as read. Opaque: CloudWatch Logs documents it as a string of digits, we
/// never do arithmetic on it.
#[derive(Debug)]
pub(super) enum LogEventId<'a> {
    /// CloudWatch's own ids, checked to be ASCII digits and left as bytes: only the events
    /// that are reported need them as text (it saves a UTF-8 check per event).
    Digits(&'a [u8]),
    Text(Cow<'a, str>),
}

impl<'a> LogBatch<'a> {
    /// Parses the inflated envelope. A data batch without `logEvents` is an error: it would
    /// otherwise look like an empty batch and hide a broken producer.
    ///
    /// Batches laid out exactly as CloudWatch Logs writes them take the fast reader, which
    /// finds the log events without reading every byte of every message; anything else (other
    /// key order, white space, escapes in the header) is read by serde_json, the reference.
    /// See [`super::fast_reader`] for how the two agree.
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
        let batch = match fast_reader::read(decoded, needles) {
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
            canonical_layout: false,
        })
    }

    /// Whether the batch was laid out exactly as CloudWatch Logs writes it and so read by the
    /// fast path (else serde_json read it).
    pub fn has_canonical_layout(&self) -> bool {
        self.canonical_layout
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

    /// Whether the raw message holds one of the needles the batch was searched for
    /// ([`LogBatch::parse_searching`]); always false if it was not searched.
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
