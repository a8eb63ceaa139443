//! `check`: whether anything still reads a secret, and who, before it is deleted. Pure: the
//! command line gathers the records (trail files, a trail's bucket, Event history) and the
//! secrets' descriptions; this module says which records are reads of which secret
//! ([`SecretQuery::names`]), tallies them per workload and caller ([`SecretReads`]), gives the
//! verdict ([`Verdict`]), and writes the answer for people ([`report`]) and machines
//! ([`document`], `docs/check-v1.schema.json`).
//!
//! What counts as a read: every `GetSecretValue` record of the secret, successful or refused
//! (pending deletion, access denied, KMS); `BatchGetSecretValue` writes one such record per
//! secret, so it is counted too.

mod document;
mod file_coverage;
mod question;
mod reads;
pub mod report;
mod secret_query;
mod verdict;

pub use document::{CheckDocument, WindowPart, WorkloadPart, check_document};
pub use file_coverage::{FilesRead, coverage_of_files};
pub use question::ReadsOfSecrets;
pub use reads::{ReaderKey, ReaderReads, SecretReads, UsageTally};
pub use secret_query::{QueryError, SecretDescription, SecretQuery, Subject};
pub use verdict::{CheckOutcome, SourceCoverage, SourceKind, Verdict, exit_status};

#[cfg(test)]
mod tests;
