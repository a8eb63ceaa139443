//! The integration tests as one crate, one module per area: the crate and the AWS SDK are
//! linked once for all of them (24 test binaries each linked the whole SDK). The tests
//! against moto's server are `#[ignore]`d so that a plain `cargo test` never counts them as
//! passed; `scripts/test` starts moto and runs them. `tests/memory.rs` stays a binary of its
//! own: it installs a counting global allocator, which other tests running beside it would
//! disturb.

#[path = "../common/mod.rs"]
mod common;

mod alert_state_table;
mod architecture;
mod canary;
mod check;
mod copies;
mod emulator;
mod event_history;
mod expected_readers;
mod fuzz_regressions;
mod handler;
mod hostile;
mod key_alerts;
mod organization;
mod outages;
mod packaging;
mod properties;
mod quiet_window;
mod readme;
mod real_records;
mod runtime;
mod scan;
mod scheduled;
mod schema;
mod template;
mod trail_bucket;
mod trust;
