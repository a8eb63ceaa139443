//! Writes the benchmark payloads: Lambda events (CloudWatch Logs subscription events) of
//! synthetic CloudTrail traffic, the same files the Rust benchmark and the Python reference read.
//!
//! `cargo run --release --example synthesize -- OUT_DIR`
//! `cargo run --release --example synthesize -- --tree DIR FILES [READS_PER_FILE]`: a trail
//! bucket's tree of gzipped S3 log files (`AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`),
//! about 1 MB of records each, for the look-back benchmarks: one pending-deletion read in
//! every 100 files, or READS_PER_FILE in every file (10 is 1% of its records: a tree where
//! every file holds candidates). Every file also holds reads of `prod/db` that succeed (about
//! 1% of its records), `check`'s candidates.

use std::path::PathBuf;

use secret_deletion_alerts::logs::encode_records;
use secret_deletion_alerts::synthetic::Traffic;

/// (file name, traffic seed, decoded bytes, pending-deletion reads). A batch with matches has
/// the seed of its no-match sibling: the same traffic with records replaced by matches, so
/// the two differ only by those records.
const PAYLOADS: [(&str, u64, usize, usize); 5] = [
    ("typical-no-match", 1, 100_000, 0),
    ("typical-one-match", 1, 100_000, 1),
    ("full-no-match", 3, 910_000, 0),
    ("full-one-match", 3, 910_000, 1),
    ("full-twenty-matches", 3, 910_000, 20),
];

/// The full no-match batch with one `\u` escape in one user agent (a control character, which
/// JSON writes as `\u0001`): no match, but the gate cannot tell (an escape could hide a
/// wording), so the whole batch is read.
const ESCAPE_PAYLOAD: &str = "full-no-match-escape";

fn tree(
    dir: &std::path::Path,
    files: usize,
    reads_per_file: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    let mut traffic = Traffic::new(99);
    let mut bytes = 0;
    for i in 0..files {
        let region = ["us-east-1", "eu-west-1", "us-west-2"][i % 3];
        let day = 1 + (i / 96) % 28;
        let path = dir.join(format!(
            "AWSLogs/123456789012/CloudTrail/{region}/2026/10/{day:02}/123456789012_CloudTrail_{region}_202610{day:02}T{:04}Z_{i:06}.json.gz",
            i % 2400
        ));
        std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
        let reads = reads_per_file.unwrap_or(usize::from(i % 100 == 0));
        let records: Vec<String> = traffic
            .batch(1_000_000, reads)
            .iter()
            .map(|record| version_first(record))
            .collect();
        let json = format!("{{\"Records\":[{}]}}", records.join(","));
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(json.as_bytes())?;
        let compressed = gzip.finish()?;
        bytes += compressed.len();
        std::fs::write(path, compressed)?;
    }
    println!(
        "{}: {files} files, {:.1} MB compressed",
        dir.display(),
        bytes as f64 / 1e6
    );
    Ok(())
}

/// A record with `eventVersion` as its first key, as CloudTrail writes its S3 files (serde_json
/// writes the keys sorted).
fn version_first(record: &str) -> String {
    const VERSION: &str = "\"eventVersion\":\"1.09\"";
    let Some(rest) = record.strip_prefix('{') else {
        return record.to_owned();
    };
    let rest = rest
        .replacen(&format!("{VERSION},"), "", 1)
        .replacen(&format!(",{VERSION}"), "", 1);
    format!("{{{VERSION},{rest}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--tree") {
        let dir = PathBuf::from(args.get(2).ok_or("--tree DIR FILES [READS_PER_FILE]")?);
        let files = args
            .get(3)
            .ok_or("--tree DIR FILES [READS_PER_FILE]")?
            .parse()?;
        let reads_per_file = args.get(4).map(|n| n.parse()).transpose()?;
        return tree(&dir, files, reads_per_file);
    }
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-payloads".into()),
    );
    std::fs::create_dir_all(&out)?;
    let mut runs: Vec<(&str, Vec<String>, usize)> = PAYLOADS
        .iter()
        .map(|(name, seed, bytes, matches)| {
            (*name, Traffic::new(*seed).batch(*bytes, *matches), *matches)
        })
        .collect();
    let mut escaped = Traffic::new(3).batch(910_000, 0);
    let middle = escaped.len() / 2;
    if !escaped[middle].contains("\"userAgent\":\"") {
        return Err("the middle record has no user agent to escape".into());
    }
    escaped[middle] = escaped[middle].replacen("\"userAgent\":\"", "\"userAgent\":\"\\u0001", 1);
    runs.push((ESCAPE_PAYLOAD, escaped, 0));
    for (name, records, matches) in runs {
        let count = records.len();
        let event = encode_records(&records.join("\n"), "aws-cloudtrail-logs-123456789012")?;
        let path = out.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(&event)?)?;
        println!("{}: {count} events, {matches} matching", path.display());
    }
    Ok(())
}
