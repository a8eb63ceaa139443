//! From the findings of one secret to an [`Alert`]: an email subject, a text a person acts on,
//! a JSON document for machines, and SNS message attributes. Pure.
//!
//! Every string a caller controls (user agent, secret id, session and user names, even source
//! "IP" and error text) is cleaned ([`crate::sanitize`]) and length-capped before it reaches the
//! subject, the text or the document, so no input can forge lines, reorder text, or grow the
//! message past SNS's 256 KB limit.
//!
//! - [`document`]: the JSON document and the message attributes, the contract machines code
//!   against (`docs/alert-v1.schema.json`);
//! - [`compose`]: from findings to an [`Alert`], fitted under SNS's size limit;
//! - [`subject`]: the one-line subject;
//! - [`email`]: the text a person reads;
//! - [`investigate`]: the commands, links and queries that say what to do next;
//! - [`chat`] and [`finding`]: the alert as a chat message (AWS Chatbot's format) and as
//!   Security Hub findings, keyed by [`thread`] so repeats of one secret and caller join.

pub mod chat;
mod compose;
pub mod document;
mod email;
mod evidence;
pub mod finding;
mod investigate;
mod subject;
pub mod thread;

use std::collections::BTreeMap;
use std::time::SystemTime;

pub use compose::{compose, dedup_key_of};
pub use document::*;
pub use evidence::{
    DeletionDocument, DeletionFound, Evidence, ExpectedLeftOut, ExpectedReadsDocument,
    VerificationDocument,
};

use crate::restore::RestorePolicy;

/// SNS takes at most 262,144 bytes of message and attributes; stay clear of it.
pub const MAX_SNS_BYTES: usize = 250_000;
/// SNS: "must be less than 100 characters".
pub const MAX_SUBJECT_CHARS: usize = 99;
pub const SCHEMA: &str = "secret-deletion-alerts/alert/v1";
/// A document that left expected reads out: v1 and `expected_reads`
/// (`docs/alert-v2.schema.json`).
pub const SCHEMA_V2: &str = "secret-deletion-alerts/alert/v2";
/// What a person reads for a secret the record does not name (never used in a command).
pub const UNNAMED_SECRET: &str = "(not named in the record)";

pub(crate) const MAX_SECRET_ID_CHARS: usize = 512;
pub(crate) const MAX_USER_AGENT_CHARS: usize = 256;
pub(crate) const MAX_NAME_CHARS: usize = 128;
pub(crate) const MAX_FIELD_CHARS: usize = 256;
pub(crate) const MAX_ERROR_CHARS: usize = 512;
/// Distinct identities for which the alert spells out the investigation queries.
pub(crate) const MAX_INVESTIGATIONS: usize = 3;

/// Everything composition needs besides the findings.
#[derive(Debug, Clone)]
pub struct AlertContext<'a> {
    pub log_group: &'a str,
    pub athena_table: &'a str,
    pub restore_policy: &'a RestorePolicy,
    pub max_listed_attempts: usize,
    pub now: SystemTime,
}

/// One message for SNS.
#[derive(Debug, Clone)]
pub struct Alert {
    pub subject: String,
    pub text: String,
    pub document: AlertDocument,
    /// SNS message attributes, for subscription filter policies.
    pub attributes: BTreeMap<&'static str, MessageAttribute>,
    /// The secret its quiet window is kept for ([`crate::window::window_secret`]): the
    /// copies' thread and finding keys derive from it.
    window_secret: String,
    /// The `Publish` message, built once with the alert.
    sns_message: String,
}

impl Alert {
    pub fn dedup_key(&self) -> &str {
        &self.document.dedup_key
    }

    pub fn document_json(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_else(|e| {
            // Only maps with non-string keys fail to serialise; the document has none.
            format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"{e}\"}}")
        })
    }

    /// The message for `Publish` with `MessageStructure=json`: email subscribers get the
    /// text, every other protocol (SQS, Lambda, HTTPS) the JSON document.
    pub fn sns_message(&self) -> &str {
        &self.sns_message
    }

    /// What SNS counts against its size limit: message plus attribute names and values.
    pub fn sns_size(&self) -> usize {
        self.sns_message().len()
            + self
                .attributes
                .iter()
                .map(|(name, attribute)| {
                    name.len() + attribute.value.len() + attribute.data_type.as_str().len()
                })
                .sum::<usize>()
    }

    /// The event ids this alert covers, for error messages and logs.
    pub fn event_ids(&self) -> String {
        event_id_list(self.document.event_ids.iter().map(String::as_str))
    }
}

/// Event ids for an error message or a log line: the first ten, then how many more.
pub fn event_id_list<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = ids.len();
    let mut text = ids.take(10).collect::<Vec<_>>().join(",");
    if total > 10 {
        text.push_str(&format!(" and {} more", total - 10));
    }
    text
}

#[cfg(test)]
mod tests;
