//! Raw bytes -> Lambda event / base64 text / envelope -> findings -> composed alerts: no
//! panic, no unbounded allocation, no hang.
#![no_main]

#[path = "../../tests/common/whole_path.rs"]
mod whole_path;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| whole_path::whole_path(bytes));
