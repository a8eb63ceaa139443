//! Writes the benchmark payloads: Lambda events (CloudWatch Logs subscription events) of
//! synthetic CloudTrail traffic, the same files the Rust benchmark and the Python reference read.
//!
//! `cargo run --release --example synthesize -- OUT_DIR`

use std::path::PathBuf;

use secret_deletion_alerts::logs::encode_records;
use secret_deletion_alerts::synthetic::Traffic;

/// (file name, decoded bytes, pending-deletion reads)
const PAYLOADS: [(&str, usize, usize); 4] = [
    ("typical-no-match", 100_000, 0),
    ("typical-one-match", 100_000, 1),
    ("full-no-match", 910_000, 0),
    ("full-one-match", 910_000, 1),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-payloads".into()),
    );
    std::fs::create_dir_all(&out)?;
    for (seed, (name, bytes, matches)) in PAYLOADS.iter().enumerate() {
        let records = Traffic::new(seed as u64 + 1).batch(*bytes, *matches);
        let count = records.len();
        let event = encode_records(&records.join("\n"), "aws-cloudtrail-logs-123456789012")?;
        let path = out.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(&event)?)?;
        println!("{}: {count} events, {matches} matching", path.display());
    }
    Ok(())
}
