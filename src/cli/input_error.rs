//! Why the command line could not read what it was given: a file, standard input, or the
//! sources of a look-back. Said with their causes ([`secret_deletion_alerts::error::Chain`]).

use secret_deletion_alerts::trail_layout::LocationError;

/// A file (or standard input) that could not be read as asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("cannot read standard input")]
    Stdin(#[source] std::io::Error),
    #[error("cannot read {path}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8")]
    NotUtf8 { path: String },
}

/// Sources and filters that cannot make a `scan` or a `check`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SourcesError {
    #[error(transparent)]
    Location(#[from] LocationError),
    /// A path that is not there is a scan that cannot run (exit 1), not a file the scan could
    /// not read (exit 2).
    #[error(
        "{0:?}: no such file or directory (sources: event-history, s3://BUCKET[/PREFIX], \
         athena:DATABASE.TABLE, a file or a directory)"
    )]
    NoSuchPath(String),
    #[error("{0}: give athena:DATABASE.TABLE (letters, digits, _ and -)")]
    AthenaTable(String),
    #[error(
        "--account and --region choose the subtrees of s3:// locations (--region also the \
         regions of the event-history source)"
    )]
    FilterWithoutS3,
    #[error("--account {0:?} is not a 12-digit account id")]
    Account(String),
    #[error("--region {0:?} is not a region name (`all` is for the event-history source)")]
    Region(String),
}
