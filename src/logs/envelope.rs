//! The envelope of a batch, read by serde_json and borrowing from the inflated bytes:
//! [`LogBatch`] with its [`RawLogEvent`]s, and [`BatchHeader`], the header alone.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::{CONTROL_MESSAGE, DATA_MESSAGE};
use crate::error::DecodeError;

/// The decoded envelope, borrowing from the inflated bytes.
#[derive(Debug, PartialEq)]
pub struct LogBatch<'a> {
    pub header: BatchHeader<'a>,
    pub log_events: Option<Vec<RawLogEvent<'a>>>,
}

/// What a batch says about itself: everything but its log events.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchHeader<'a> {
    pub message_type: Cow<'a, str>,
    pub owner: Cow<'a, str>,
    pub log_group: Cow<'a, str>,
    pub log_stream: Cow<'a, str>,
    pub subscription_filters: Vec<Cow<'a, str>>,
}

/// One log event with its message left as raw JSON string text (quotes and escapes included).
#[derive(Debug, PartialEq, Eq)]
pub struct RawLogEvent<'a> {
    /// Opaque: CloudWatch Logs documents it as a string of digits; nothing does arithmetic
    /// on it.
    pub id: Cow<'a, str>,
    pub timestamp: Option<i64>,
    raw_message: &'a [u8],
}

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

impl<'a> LogBatch<'a> {
    /// Reads the inflated envelope. A data batch without `logEvents` is an error: it would
    /// otherwise look like an empty batch and hide a broken producer. Messages are kept as
    /// raw JSON text: only those that may match the rule are ever unescaped.
    pub fn parse(decoded: &'a [u8]) -> Result<Self, DecodeError> {
        let envelope: Envelope<'a> =
            serde_json::from_slice(decoded).map_err(DecodeError::Envelope)?;
        if let Some(events) = &envelope.log_events
            && let Some(event) = events.iter().find(|e| !e.message.get().starts_with('"'))
        {
            return Err(DecodeError::Envelope(de::Error::custom(format!(
                "the message of log event {} is not a string",
                event.id
            ))));
        }
        let batch = LogBatch {
            header: BatchHeader {
                message_type: envelope.message_type,
                owner: envelope.owner,
                log_group: envelope.log_group,
                log_stream: envelope.log_stream,
                subscription_filters: envelope.subscription_filters,
            },
            log_events: envelope.log_events.map(|events| {
                events
                    .into_iter()
                    .map(|e| RawLogEvent {
                        id: e.id,
                        timestamp: e.timestamp,
                        raw_message: e.message.get().as_bytes(),
                    })
                    .collect()
            }),
        };
        if batch.header.is_data() && batch.log_events.is_none() {
            return Err(DecodeError::MissingLogEvents);
        }
        Ok(batch)
    }

    pub fn events(&self) -> &[RawLogEvent<'a>] {
        self.log_events.as_deref().unwrap_or_default()
    }
}

impl<'a> BatchHeader<'a> {
    /// Reads the header of an envelope and stops at `logEvents`, which CloudWatch Logs writes
    /// last: the cheap read for a batch whose log events need not be read (no message in it
    /// can match). A key written after `logEvents` (another layout) is not read; a batch that
    /// is not a JSON object, or whose header is broken, is an error as in [`LogBatch::parse`].
    pub fn read(decoded: &'a [u8]) -> Result<Self, DecodeError> {
        let mut header = BatchHeader::default();
        let mut deserializer = serde_json::Deserializer::from_slice(decoded);
        let mut reached_events = false;
        let read = HeaderSeed {
            header: &mut header,
            reached_events: &mut reached_events,
        }
        .deserialize(&mut deserializer);
        match read {
            // The seed stops the read with an error once it has what it needs.
            Err(_) if reached_events => {}
            Err(error) => return Err(DecodeError::Envelope(error)),
            Ok(()) => deserializer.end().map_err(DecodeError::Envelope)?,
        }
        if header.message_type.is_empty() && !reached_events {
            return Err(DecodeError::Envelope(de::Error::missing_field(
                "messageType",
            )));
        }
        if header.is_data() && !reached_events {
            return Err(DecodeError::MissingLogEvents);
        }
        Ok(header)
    }

    pub fn is_control(&self) -> bool {
        self.message_type == CONTROL_MESSAGE
    }

    pub fn is_data(&self) -> bool {
        self.message_type == DATA_MESSAGE
    }
}

/// Fills a [`BatchHeader`] key by key and stops at `logEvents`.
struct HeaderSeed<'h, 'a> {
    header: &'h mut BatchHeader<'a>,
    reached_events: &'h mut bool,
}

impl<'de, 'h> DeserializeSeed<'de> for HeaderSeed<'h, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 'h> Visitor<'de> for HeaderSeed<'h, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudWatch Logs envelope")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "messageType" => self.header.message_type = map.next_value()?,
                "owner" => self.header.owner = map.next_value()?,
                "logGroup" => self.header.log_group = map.next_value()?,
                "logStream" => self.header.log_stream = map.next_value()?,
                "subscriptionFilters" => self.header.subscription_filters = map.next_value()?,
                "logEvents" => {
                    *self.reached_events = true;
                    return Err(de::Error::custom("the header ends here"));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'a> RawLogEvent<'a> {
    /// The message as JSON string text, quotes and escapes included. Cheap: no copy, and not
    /// checked: only what [`crate::detection::may_match`] lets through is ever decoded.
    pub fn raw_message(&self) -> &[u8] {
        self.raw_message
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
