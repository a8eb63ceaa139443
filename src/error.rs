//! Typed errors, one per boundary.

use thiserror::Error;

/// The subscription payload could not be decoded. The whole batch is unusable, so the
/// invocation fails and Lambda's retries and on-failure destination keep the payload.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error(
        "the Lambda event is not a CloudWatch Logs subscription event ({{\"awslogs\":{{\"data\":...}}}}): {0}"
    )]
    LambdaEvent(#[source] serde_json::Error),
    #[error("awslogs.data is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    #[error("awslogs.data is base64 but not gzip (no gzip header)")]
    NotGzip,
    #[error("awslogs.data is not a valid gzip stream: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("awslogs.data inflates to more than {limit} bytes; refusing it as a likely gzip bomb")]
    TooLarge { limit: usize },
    #[error("the decompressed batch is not a CloudWatch Logs envelope: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("the decompressed batch is a DATA_MESSAGE without logEvents")]
    MissingLogEvents,
}

/// `encode` could not turn its input into a subscription event.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("no CloudTrail records in the input")]
    NoRecords,
    #[error("\"Records\" is not an array")]
    RecordsNotArray,
    #[error("record {line} is not a JSON object")]
    NotAnObject { line: usize },
    #[error("line {line} is not JSON: {source}")]
    Line {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not serialise the envelope: {0}")]
    Json(#[source] serde_json::Error),
    #[error("could not gzip the envelope: {0}")]
    Gzip(#[source] std::io::Error),
}

/// An alert could not be delivered to SNS (after the SDK's own retries).
#[derive(Debug, Error)]
#[error("could not publish the alert for secret {secret} (events {event_ids}): {reason}")]
pub struct PublishError {
    pub secret: String,
    pub event_ids: String,
    pub reason: String,
}

/// A `RestoreSecret` call failed. Never fails the invocation: the alert reports it.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct RestoreError(pub String);

/// What fails an invocation.
#[derive(Debug, Error)]
pub enum HandlerError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "{failed} of {total} alerts were not delivered (delivered: {delivered}); first failure: {first}"
    )]
    Undelivered {
        failed: usize,
        total: usize,
        /// De-duplication keys of the alerts that did go out, so a retry's repeats are known.
        delivered: String,
        #[source]
        first: PublishError,
    },
}

/// A configuration value is missing or invalid; the function refuses to start.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{variable} must be set: {hint}")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("{variable}={value:?} is not valid; accepted: {accepted}")]
    Invalid {
        variable: &'static str,
        value: String,
        accepted: &'static str,
    },
}
