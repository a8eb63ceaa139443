//! The Lambda event as the function reads it: `awslogs.data` decoded from base64 while the
//! event is parsed, so the base64 text is read once and never copied.
//!
//! Why a second event type beside [`SubscriptionEvent`](super::SubscriptionEvent): that one
//! keeps the text (the command line prints it, re-encodes it, and names it in errors). In
//! Lambda the text is only ever decoded, and copying 180 KB of it out of the runtime's buffer
//! first costs about 2% of the hot path (see the README's benchmark).

use serde::Deserialize;

use super::event::Base64Text;
use super::inflate::Inflater;
use super::payload_buffer::FUNCTION_PAYLOAD_BUFFER;
use crate::error::DecodeError;

/// The subscription's Lambda event, its payload decoded as it is read.
#[derive(Debug, Deserialize)]
pub struct DecodedSubscriptionEvent {
    pub awslogs: DecodedAwsLogs,
}

#[derive(Debug, Deserialize)]
pub struct DecodedAwsLogs {
    pub data: GzipPayload,
}

/// `awslogs.data`: the gzip bytes, or, where the fast decoder refuses the text, the text
/// itself. A payload is never refused while the event is parsed: that would be the runtime's
/// error, without our wording, and the lenient decoder still reads what the fast one refuses
/// (missing padding, line breaks). So the decoding error, if any, is [`BatchPayload::inflate`]'s.
///
/// The gzip bytes are decoded into the buffer of the previous payload, and handed back to it
/// when the payload is dropped ([`super::payload_buffer`] says why).
#[derive(Clone, PartialEq, Eq)]
pub enum GzipPayload {
    /// Decoded by the SIMD decoder (canonical base64, what CloudWatch Logs sends).
    Gzip(Vec<u8>),
    /// Left for [`Inflater::inflate_payload`], which words what is wrong with it.
    Undecoded(Base64Text),
}

impl std::fmt::Debug for GzipPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GzipPayload::Gzip(bytes) => write!(f, "Gzip({} bytes)", bytes.len()),
            GzipPayload::Undecoded(text) => write!(f, "Undecoded({text:?})"),
        }
    }
}

impl GzipPayload {
    /// The fast decoder's reading of `text`, or the text kept for the lenient one.
    pub fn from_base64(text: &[u8]) -> Self {
        let mut gzip = FUNCTION_PAYLOAD_BUFFER.take();
        match base64_simd::STANDARD.decode_append(text, &mut gzip) {
            Ok(()) => GzipPayload::Gzip(gzip),
            Err(_) => {
                FUNCTION_PAYLOAD_BUFFER.give_back(gzip);
                GzipPayload::Undecoded(Base64Text::from_bytes(text))
            }
        }
    }
}

impl Drop for GzipPayload {
    fn drop(&mut self) {
        if let GzipPayload::Gzip(gzip) = self {
            FUNCTION_PAYLOAD_BUFFER.give_back(std::mem::take(gzip));
        }
    }
}

impl<'de> Deserialize<'de> for GzipPayload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl serde::de::Visitor<'_> for PayloadVisitor {
            type Value = GzipPayload;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64 string")
            }

            // serde_json hands over the string in its input buffer when it holds no escape
            // (base64 never does), so the decoder reads it where the runtime put it.
            fn visit_bytes<E>(self, text: &[u8]) -> Result<GzipPayload, E> {
                Ok(GzipPayload::from_base64(text))
            }

            fn visit_str<E>(self, text: &str) -> Result<GzipPayload, E> {
                Ok(GzipPayload::from_base64(text.as_bytes()))
            }
        }
        deserializer.deserialize_bytes(PayloadVisitor)
    }
}

/// What a batch is read from: the base64 text of `awslogs.data` (any `AsRef<[u8]>`: a
/// [`Base64Text`], a `String`, bytes), or the function's [`GzipPayload`].
pub trait BatchPayload {
    /// The envelope's bytes, never more than `max_decoded_bytes`.
    fn inflate(
        &self,
        inflater: &mut Inflater,
        max_decoded_bytes: usize,
    ) -> Result<Vec<u8>, DecodeError>;
}

impl<T: AsRef<[u8]> + ?Sized> BatchPayload for T {
    fn inflate(
        &self,
        inflater: &mut Inflater,
        max_decoded_bytes: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        inflater.inflate_payload(self, max_decoded_bytes)
    }
}

impl BatchPayload for GzipPayload {
    fn inflate(
        &self,
        inflater: &mut Inflater,
        max_decoded_bytes: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        match self {
            GzipPayload::Gzip(gzip) => inflater.inflate_gzip(gzip, max_decoded_bytes),
            GzipPayload::Undecoded(text) => inflater.inflate_payload(text, max_decoded_bytes),
        }
    }
}

impl DecodedSubscriptionEvent {
    /// Reads a Lambda event as the function does (the tests and the benchmark use it).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError::LambdaEvent)
    }
}
