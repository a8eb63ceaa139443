//! Cold start: the time from `exec` of a bootstrap to its first
//! `GET /2018-06-01/runtime/invocation/next`, against a fake Runtime API on 127.0.0.1, and the
//! process's peak RSS at that moment (VmHWM). Each binary named on the command line is started
//! `STARTS` times, interleaved so that the machine's drift falls on all alike; prints one JSON
//! line with the minimum and median of each.
//! `cargo bench --bench cold_start -- NAME=PATH...` (scripts/bench builds the binaries).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STARTS: usize = 21;

/// One start: until the first poll for an invocation, and the peak RSS then (KiB).
fn start_once(binary: &str) -> (Duration, u64) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "cold-start")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold-start")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        )
        .env("ALERT_STATE_TABLE", "alert-state")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    let mut request_line = String::new();
    BufReader::new(&mut stream)
        .read_line(&mut request_line)
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        request_line.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{request_line}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    child.kill().unwrap();
    child.wait().unwrap();
    (elapsed, peak_kib)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches`: one start of this build's bootstrap, as a smoke test.
        let (elapsed, peak) = start_once(env!("CARGO_BIN_EXE_bootstrap"));
        eprintln!("smoke run: bootstrap polled after {elapsed:?}, peak RSS {peak} KiB");
        return;
    }
    let binaries: Vec<(String, String)> = std::env::args()
        .skip(1)
        .filter_map(|a| a.split_once('=').map(|(n, p)| (n.to_owned(), p.to_owned())))
        .collect();
    assert!(!binaries.is_empty(), "name binaries as NAME=PATH");
    let mut samples: Vec<Vec<(Duration, u64)>> = vec![Vec::new(); binaries.len()];
    for (_, path) in &binaries {
        start_once(path); // page cache warm for all
    }
    for _ in 0..STARTS {
        for (index, (_, path)) in binaries.iter().enumerate() {
            samples[index].push(start_once(path));
        }
    }
    let lines: Vec<String> = binaries
        .iter()
        .zip(samples)
        .map(|((name, path), mut runs)| {
            runs.sort();
            let millis = |d: Duration| d.as_secs_f64() * 1e3;
            let peak = runs.iter().map(|r| r.1).max().unwrap_or(0);
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            format!(
                "\"{name}\": {{\"min_ms\": {:.2}, \"median_ms\": {:.2}, \"peak_rss_mib\": {:.1}, \"starts\": {STARTS}, \"bytes\": {size}}}",
                millis(runs[0].0),
                millis(runs[runs.len() / 2].0),
                peak as f64 / 1024.0
            )
        })
        .collect();
    println!("{{{}}}", lines.join(", "));
}
