//! The CloudWatch Logs subscription payload: `{"awslogs":{"data": base64(gzip(JSON))}}`.
//!
//! Decoding is split in two steps so that the hot path never copies a record it cannot use:
//! [`inflate_payload`] turns the base64 text into the decompressed envelope bytes (size-capped),
//! and [`LogBatch::parse`] reads the envelope from those bytes, borrowing each log event's
//! `message` as raw JSON text ([`LogBatch::parse_searching`] also finds a pre-check's needles
//! in the same pass). Only the messages that may match the detection rule are ever
//! unescaped and parsed (see [`crate::detection::may_match`]).
//!
//! - [`event`]: the Lambda event and [`Base64Text`];
//! - [`function_event`]: the Lambda event as the function reads it, its payload decoded from
//!   base64 while it is parsed ([`GzipPayload`]), and [`BatchPayload`], what a batch is read
//!   from;
//! - [`payload_buffer`]: the buffer that payload is decoded into, kept from batch to batch;
//! - [`inflate`]: base64 and gzip, size-capped;
//! - [`envelope`]: [`LogBatch`], read by serde_json: the reference reader;
//! - [`fast_reader`]: the reader for CloudWatch's exact layout, behind its numbered contract
//!   (it returns what the reference returns, or declines);
//! - [`pair_search`] (x86_64): its search over the batch where the CPU has AVX-512;
//! - [`encode`]: the reverse, for the `encode` command, samples and tests (no part of decoding).

pub mod encode;
pub mod envelope;
pub mod event;
pub mod fast_reader;
pub mod function_event;
pub mod inflate;
#[cfg(target_arch = "x86_64")]
mod pair_search;
pub mod payload_buffer;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

pub use encode::{control_message_event, encode_records, gzip_base64};
pub use envelope::{LogBatch, RawLogEvent};
pub use event::{AwsLogsField, Base64Text, SubscriptionEvent};
pub use fast_reader::{NeedleError, NeedleSearch};
pub use function_event::{BatchPayload, DecodedAwsLogs, DecodedSubscriptionEvent, GzipPayload};
pub use inflate::{Inflater, decode_base64, inflate_gzip, inflate_gzip_streaming, inflate_payload};
pub use payload_buffer::PayloadBuffer;

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
