//! secret-deletion-alerts: a Lambda function on a CloudTrail trail's log group that alerts,
//! and optionally cancels the deletion, when a Secrets Manager secret scheduled for deletion
//! is still read.
//!
//! Architecture: a pure core and thin adapters. [`logs`] decodes the subscription payload,
//! [`cloudtrail`] models the records and attributes them to an identity, [`detection`] is the
//! rule, [`restore`] decides what to do about the deletion, [`alert`] composes what people
//! and machines receive, [`sanitize`] is the boundary every caller-controlled string crosses,
//! and [`history`] reads CloudTrail's stored formats from bytes; none of them does I/O or
//! names an AWS SDK type; nor does [`window`], the quiet window's rule (one alert per secret
//! and caller per `ALERT_WINDOW`). [`ports`] names the capabilities the [`handler`] needs
//! (publish, inspect, restore, keep windows, ask Event history); [`aws`] implements them with
//! the SDK, one file per service, [`dry_run`] and [`memory_windows`] with nothing outside the
//! process. The binary (`src/main.rs`, `src/cli/`) builds the clients once
//! and runs either the Lambda runtime loop or the command line. The modules that hold SDK
//! types, and `function` (the Lambda runtime loop), are behind the cargo feature `aws`, on by
//! default; without it the library is the core alone, as the fuzz target builds it. What only
//! the command line needs (`aws::s3_trail` among it) is behind `cli`, also on by default and
//! off in the Lambda build. See `ARCHITECTURE.md`.

pub mod alert;
pub mod assess;
pub mod athena;
#[cfg(feature = "aws")]
pub mod aws;
pub mod batch_options;
pub mod batch_summary;
pub mod caller;
pub mod canary;
pub mod canary_run;
pub mod cloudtrail;
pub mod config;
pub mod deletion;
pub mod detection;
pub mod dry_run;
pub mod error;
pub mod expected;
#[cfg(feature = "aws")]
pub mod function;
pub mod handler;
pub mod history;
pub(crate) mod history_budget;
pub mod ids;
pub mod key_access;
pub mod key_alert;
pub mod key_check;
pub mod key_restore;
pub mod key_schedule_check;
pub mod key_state;
pub mod key_use;
pub mod logs;
pub mod memory_windows;
pub mod metrics;
pub mod ports;
pub(crate) mod publish_once;
pub mod record_reading;
pub mod region;
pub mod restore;
pub mod sanitize;
pub mod schedule_check;
pub mod scheduled;
#[cfg(feature = "testing")]
pub mod synthetic;
pub mod trail_layout;
pub mod usage;
pub mod verification;
pub mod window;
pub mod workload;
