//! Typed errors, one per boundary. Each error's message says what failed, and its cause is
//! its `source()`, never also in its message: [`Chain`] prints an error with its causes,
//! each once.

use std::fmt;

use thiserror::Error;

/// An error and its causes, `error: cause: cause of the cause`: how a person or a log line is
/// shown an error. A cause whose message is the very message before it (the AWS SDK wraps an
/// operation's error in one that says the same) adds nothing and is not repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = self.0.to_string();
        f.write_str(&last)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if text != last {
                write!(f, ": {text}")?;
                last = text;
            }
            next = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The subscription payload could not be decoded. The whole batch is unusable, so the
/// invocation fails and Lambda's retries and on-failure destination keep the payload.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error(
        "the Lambda event is not a CloudWatch Logs subscription event ({{\"awslogs\":{{\"data\":...}}}})"
    )]
    LambdaEvent(#[source] serde_json::Error),
    #[error("awslogs.data is not valid base64")]
    Base64(#[source] base64::DecodeError),
    #[error("awslogs.data is base64 but not gzip (no gzip header)")]
    NotGzip,
    #[error("awslogs.data is not a valid gzip stream")]
    Gzip(#[source] std::io::Error),
    #[error("awslogs.data inflates to more than {limit} bytes; refusing it as a likely gzip bomb")]
    TooLarge { limit: usize },
    #[error("the decompressed batch is not a CloudWatch Logs envelope")]
    Envelope(#[source] serde_json::Error),
    #[error("the decompressed batch is a DATA_MESSAGE without logEvents")]
    MissingLogEvents,
}

/// A file of history could not be read as any of the formats CloudTrail keeps.
#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("not a CloudTrail log file")]
    TrailFile(#[source] serde_json::Error),
    #[error("not lookup-events output")]
    LookupEvents(#[source] serde_json::Error),
    #[error("not a JSON array of records")]
    RecordArray(#[source] serde_json::Error),
    #[error("not UTF-8 text")]
    NotUtf8(#[source] std::str::Utf8Error),
    #[error(transparent)]
    Subscription(#[from] DecodeError),
    #[error("not a readable gzip file")]
    Gzip(#[source] std::io::Error),
    #[error(transparent)]
    Read(std::io::Error),
    /// CloudWatch Logs sends batches of at most 1 MB; a subscription event or envelope
    /// larger than the one-shot size is not one of its.
    #[error("a subscription event or envelope this large is not one CloudWatch Logs sent")]
    TooLargeToStream,
    #[error("a line longer than {} MiB is not a record", limit >> 20)]
    LineTooLong { limit: usize },
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
    #[error("line {line} is not JSON")]
    Line {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not serialise the envelope")]
    Json(#[source] serde_json::Error),
    #[error("could not gzip the envelope")]
    Gzip(#[source] std::io::Error),
}

/// An alert was not delivered (after the SDK's own retries, or not tried before the
/// invocation's deadline).
#[derive(Debug, Error)]
#[error("could not publish the alert for secret {secret} (events {event_ids})")]
pub struct PublishError {
    pub secret: String,
    pub event_ids: String,
    #[source]
    pub cause: PublishFailure,
}

/// Why an alert was not delivered.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// The service answered with an error (after retries, where it was retryable).
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    /// No answer: a timeout, a refused connection, a broken response.
    #[error("{0}")]
    Unreachable(String),
    /// The message could not be built or written.
    #[error("{0}")]
    Invalid(String),
    /// Not tried, or cut off, because the invocation's deadline was near: better to fail
    /// the invocation naming the alert (Lambda retries it) than to be killed mid-publish.
    #[error("{0} (the invocation's deadline was near)")]
    Deadline(&'static str),
}

/// A `RestoreSecret` call failed. Never fails the invocation: the alert reports it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// Secrets Manager says the secret is not scheduled for deletion (any more): someone,
    /// or an earlier try of this batch, cancelled the deletion after the read.
    #[error("the secret is not scheduled for deletion")]
    NotPendingDeletion,
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    #[error("{0}")]
    Unreachable(String),
    /// A dry run, or a caller without AWS access, restores nothing.
    #[error("{0}")]
    NotAttempted(&'static str),
}

/// The quiet window's store could not be used. Never fails the invocation and never holds
/// an alert back: the alert goes out as if there were no store, and the summary says why.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WindowStateError {
    /// The store answered with an error (a missing table, access denied, throttling after
    /// the SDK's retries).
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    /// No answer: a timeout, a refused connection, a broken response.
    #[error("{0}")]
    Unreachable(String),
    /// The stored window is not what this function writes.
    #[error("the stored window is unreadable: {0}")]
    Unreadable(String),
    /// The store refused a claim the rule would grant on what it holds.
    #[error("the store refused a claim the rule grants; sending rather than guessing")]
    Disagrees,
    /// Not asked: an earlier call in this batch failed.
    #[error("skipped: the alert state table failed earlier in this batch")]
    SkippedAfterFailure,
}

/// CloudTrail Event history could not be asked. Never fails the invocation: the alert says
/// the read is not confirmed, or that the deletion was not found.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EventHistoryError {
    /// CloudTrail answered with an error (no permission, throttling after the SDK's retries).
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    #[error("{0}")]
    Unreachable(String),
    /// The member role of the secret's account could not be assumed.
    #[error("{0}")]
    MemberRole(String),
    /// The request could not be built.
    #[error("{0}")]
    Invalid(String),
    /// No Event history is configured (a dry run, a test).
    #[error("Event history is not asked here")]
    NotConfigured,
}

/// The canary function could not keep or read its secret: the run fails (and the canary's
/// alarm fires when no read reaches the alert function).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CanaryError {
    #[error("{step} of the canary secret was refused: {code}: {message}")]
    Rejected {
        step: &'static str,
        code: String,
        message: String,
    },
    #[error("{step} of the canary secret got no answer: {reason}")]
    Unreachable { step: &'static str, reason: String },
    /// The read succeeded: the canary is not pending deletion, so it shows nothing.
    #[error("the canary secret was read without an error: it is not pending deletion")]
    ReadSucceeded,
}

/// What fails an invocation.
#[derive(Debug, Error)]
pub enum HandlerError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(
        "{failed} of {total} alerts were not delivered (not delivered: {undelivered}; delivered: {delivered}); the first failure"
    )]
    Undelivered {
        failed: usize,
        total: usize,
        /// The secrets whose alerts did not go out.
        undelivered: String,
        /// De-duplication keys of the alerts that did go out, so a retry's repeats are known.
        delivered: String,
        #[source]
        first: PublishError,
        /// What the batch did up to the failure: the metric and the summary line are
        /// written for a failed batch too.
        summary: Box<crate::batch_summary::BatchSummary>,
    },
    /// The batch was larger than the cap: what fit was handled (its alerts went out), the
    /// rest was not read. Failing keeps the batch in the on-failure destination, for a
    /// replay through `invoke`, which reads it whole.
    #[error(
        "the batch inflates past {limit} bytes: {unread} log events beyond it were not read (the {read} before it were handled); replay the batch with `invoke`"
    )]
    Unread {
        limit: usize,
        read: usize,
        unread: String,
        summary: Box<crate::batch_summary::BatchSummary>,
    },
}

impl HandlerError {
    /// The batch's summary, when the batch was read before the invocation failed.
    pub fn summary(&self) -> Option<&crate::batch_summary::BatchSummary> {
        match self {
            HandlerError::Decode(_) => None,
            HandlerError::Undelivered { summary, .. } | HandlerError::Unread { summary, .. } => {
                Some(summary)
            }
        }
    }
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
    /// A rule of a list (`EXPECTED_READERS`); number 0: the list itself.
    #[error("{variable}: rule {number} is not valid: {problem}; the rule: {rule}")]
    Rule {
        variable: &'static str,
        number: usize,
        rule: String,
        problem: String,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_cause_is_printed_once() {
        let inner = serde_json::from_str::<u8>("x").unwrap_err();
        let error = DecodeError::Envelope(inner);
        assert_eq!(
            error.to_string(),
            "the decompressed batch is not a CloudWatch Logs envelope"
        );
        assert_eq!(
            Chain(&error).to_string(),
            "the decompressed batch is not a CloudWatch Logs envelope: expected value at line 1 column 1"
        );
        let failure = PublishError {
            secret: "prod/db".into(),
            event_ids: "e1".into(),
            cause: PublishFailure::Unreachable("timed out".into()),
        };
        assert_eq!(
            Chain(&failure).to_string(),
            "could not publish the alert for secret prod/db (events e1): timed out"
        );
    }
}
