//! The envelope of a batch, read by serde_json and borrowing from the inflated bytes:
//! [`LogBatch`] with its [`RawLogEvent`]s, and [`BatchHeader`], the header alone.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de;
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

impl BatchHeader<'_> {
    pub fn is_control(&self) -> bool {
        self.message_type == CONTROL_MESSAGE
    }

    pub fn is_data(&self) -> bool {
        self.message_type == DATA_MESSAGE
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
