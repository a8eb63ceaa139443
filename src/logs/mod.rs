//! The CloudWatch Logs subscription payload: `{"awslogs":{"data": base64(gzip(JSON))}}`.
//!
//! Decoding is split in two steps so that the hot path never copies a record it cannot use:
//! [`inflate_payload`] turns the base64 text into the decompressed envelope bytes (size-capped),
//! and [`LogBatch::parse`] reads the envelope from those bytes with serde_json, borrowing each
//! log event's `message` as raw JSON text; only the messages that may match
//! ([`crate::detection::may_match`]) are unescaped and parsed.
//!
//! - [`event`]: the Lambda event and [`Base64Text`], read alike by the function and the
//!   command line;
//! - [`inflate`]: base64 and gzip, size-capped;
//! - [`capped`]: a batch past the cap, read up to it (the rest counted);
//! - [`envelope`]: [`LogBatch`] and [`BatchHeader`];
//! - [`encode`]: the reverse, for the `encode` command, samples and tests (no part of decoding).

pub mod capped;
// Writing samples is the command line's and the tests' (feature `cli` or `testing`).
#[cfg(any(feature = "cli", feature = "testing"))]
pub mod encode;
pub mod envelope;
pub mod event;
pub mod inflate;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

pub use capped::{CappedBatch, read_up_to_cap};
#[cfg(any(feature = "cli", feature = "testing"))]
pub use encode::{control_message_event, encode_records, gzip_base64};
pub use envelope::{BatchHeader, LogBatch, RawLogEvent};
pub use event::{AwsLogsField, Base64Text, SubscriptionEvent};
pub use inflate::{Inflater, decode_base64, inflate_gzip, inflate_gzip_streaming, inflate_payload};

/// CloudWatch Logs batches are at most about 1 MB decompressed; 8 MiB is a generous cap that
/// still stops a gzip bomb long before it can exhaust a 128 MB function.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 8 * 1024 * 1024;

/// The `messageType` of a batch that carries log events.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";
/// CloudWatch Logs sends CONTROL_MESSAGE batches to check that the destination is reachable.
pub const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// Standard alphabet, padding optional: CloudWatch Logs pads, but `aws_lambda_events` encodes
/// without padding, and a hand-made sample may do either.
pub(crate) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[cfg(test)]
mod tests;
