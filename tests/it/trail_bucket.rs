//! `scan s3://...` against moto's S3 on 127.0.0.1: an organization trail's bucket laid out as
//! CloudTrail writes it (two accounts, two regions, several days), with reads, near misses, a
//! digest, the writability check, a corrupt object and one too large to fetch whole. The
//! same files on disk are the reference: the bucket scan gives the alerts their local scan
//! gives. `#[ignore]`d like the other emulator tests: `scripts/test` starts moto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use common::events_dir;
use common::hostile::pending_deletion_read;
use common::moto::{emulator, unique};
use serde_json::{Value, json};

const ORG: &str = "AWSLogs/o-exampleorg1";

fn gzip(content: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content).unwrap();
    encoder.finish().unwrap()
}

fn read_of(secret: &str, event_id: &str, time: &str) -> Value {
    let mut record = pending_deletion_read(secret, "aws-cli/2", "ci");
    record["eventID"] = event_id.into();
    record["eventTime"] = time.into();
    record
}

fn trail_file(records: Vec<Value>) -> Vec<u8> {
    gzip(json!({ "Records": records }).to_string().as_bytes())
}

fn log_key(account: &str, region: &str, day: &str, name: &str) -> String {
    format!(
        "{ORG}/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{name}.json.gz"
    )
}

/// Records with random text, so their gzip is larger than an object fetched whole (2 MiB).
fn incompressible_records(count: usize) -> Vec<Value> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..count)
        .map(|n| {
            let noise: String = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    format!("{:016x}", state)
                })
                .collect();
            json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                   "eventID": format!("noise-{n}"), "requestParameters": {"key": noise}})
        })
        .collect()
}

/// The tree: keys and bodies.
fn tree() -> Vec<(String, Vec<u8>)> {
    let near_misses: Value = serde_json::from_slice(
        &std::fs::read(events_dir().join("records/near-misses.json")).unwrap(),
    )
    .unwrap();
    let mut first = near_misses["Records"].as_array().unwrap().clone();
    first.push(read_of("prod/db", "e-1", "2026-08-01T10:00:00Z"));
    let mut big = incompressible_records(5000);
    big.push(read_of("ops/big", "e-6", "2026-08-01T12:00:00Z"));
    let a = "111111111111";
    let b = "222222222222";
    vec![
        (
            log_key(a, "us-east-1", "2026/08/01", "20260801T1000Z_a"),
            trail_file(first),
        ),
        (
            log_key(a, "eu-west-1", "2026/08/02", "20260802T1100Z_b"),
            trail_file(vec![
                read_of("legacy/ldap", "e-3", "2026-08-02T11:00:00Z"),
                read_of("prod/db", "e-1", "2026-08-01T10:00:00Z"),
            ]),
        ),
        (
            log_key(b, "us-east-1", "2026/08/02", "20260802T0005Z_c"),
            trail_file(vec![read_of("ops/key", "e-4", "2026-08-02T00:01:00Z")]),
        ),
        (
            log_key(b, "us-east-1", "2026/09/15", "20260915T0900Z_d"),
            trail_file(vec![read_of("prod/db", "e-5", "2026-09-15T09:00:00Z")]),
        ),
        (
            log_key(b, "eu-west-1", "2026/08/01", "20260801T1200Z_big"),
            trail_file(big),
        ),
        (
            format!("{ORG}/{b}/CloudTrail/us-east-1/2026/08/02/corrupt.json.gz"),
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef],
        ),
        // Neither holds records: were they read, the read in the digest would be an alert.
        (
            format!(
                "{ORG}/{a}/CloudTrail-Digest/us-east-1/2026/08/01/{a}_CloudTrail-Digest_us-east-1_t_us-east-1_20260801T1100Z.json.gz"
            ),
            trail_file(vec![read_of("not/a/log", "e-9", "2026-08-01T10:00:00Z")]),
        ),
        (
            format!("{ORG}/{a}/CloudTrail/ConfigWritabilityCheck"),
            b"Config Writability Check".to_vec(),
        ),
    ]
}

/// A fresh bucket holding the tree.
async fn bucket_with_tree() -> String {
    let sdk = emulator().await.expect("the emulator");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("trail").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for (key, body) in tree() {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    bucket
}

fn on_disk(root: &Path) {
    for (key, body) in tree() {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

fn cli(args: &[&str]) -> Output {
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

/// What an alert says, without where it was read from (a key or a path).
fn essence(stdout: &[u8]) -> Vec<(Value, Value, Value, Value)> {
    let mut alerts: Vec<_> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        // The alerts of reads; a KMS key use would have its own document.
        .filter(|d| d["schema"] != "secret-deletion-alerts/key-use/v1")
        .map(|d| {
            (
                d["secret"]["id_as_named"].clone(),
                d["event_ids"].clone(),
                d["attempts_total"].clone(),
                d["dedup_key"].clone(),
            )
        })
        .collect();
    alerts.sort_by_key(|a| a.0.to_string());
    alerts
}

fn list_requests(report: &str) -> usize {
    let (before, _) = report
        .split_once(" ListObjectsV2 requests")
        .unwrap_or_else(|| panic!("{report}"));
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_bucket_scan_gives_the_alerts_the_local_scan_of_the_same_files_gives() {
    let bucket = bucket_with_tree().await;
    let dir = tempfile::tempdir().unwrap();
    on_disk(dir.path());
    let from_bucket = cli(&["scan", "--json", &format!("s3://{bucket}")]);
    let from_disk = cli(&["scan", "--json", dir.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&from_bucket.stderr);
    assert_eq!(
        from_bucket.status.code(),
        Some(3),
        "reads found (a corrupt object unread too): {stderr}"
    );
    assert!(
        stderr.contains(&format!("skipped s3://{bucket}/{ORG}/222222222222/CloudTrail/us-east-1/2026/08/02/corrupt.json.gz: not a readable gzip file")),
        "{stderr}"
    );
    assert_eq!(from_disk.status.code(), Some(3));
    let alerts = essence(&from_bucket.stdout);
    assert_eq!(alerts, essence(&from_disk.stdout));
    let secrets: Vec<&str> = alerts.iter().map(|a| a.0.as_str().unwrap()).collect();
    assert_eq!(
        secrets,
        ["legacy/ldap", "ops/big", "ops/key", "prod/db"],
        "the digest and the check are not logs; the large object is streamed"
    );
    let prod = alerts.iter().find(|a| a.0 == "prod/db").unwrap();
    assert_eq!(prod.2, 2, "e-1 is in two files and counts once: {prod:?}");

    // Mixed with a local file, in one report.
    let sample = events_dir().join("mixed-batch.json");
    let mixed = cli(&[
        "scan",
        "--json",
        &format!("s3://{bucket}/{ORG}/111111111111/"),
        sample.to_str().unwrap(),
    ]);
    assert_eq!(
        mixed.status.code(),
        Some(3),
        "reads found: {}",
        String::from_utf8_lossy(&mixed.stderr)
    );
    let secrets: Vec<Value> = essence(&mixed.stdout).into_iter().map(|a| a.0).collect();
    assert_eq!(
        secrets,
        ["legacy/ldap", "legacy/ldap-bind", "prod/db"],
        "the account's two secrets and the sample's two, prod/db in both"
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_time_range_lists_only_its_days_and_the_filters_only_their_subtrees() {
    let bucket = bucket_with_tree().await;
    let location = format!("s3://{bucket}");
    let range = [
        "--since",
        "2026-08-01T00:00:00Z",
        "--until",
        "2026-08-02T00:00:00Z",
    ];
    let args: Vec<&str> = ["scan"]
        .into_iter()
        .chain(range)
        .chain(["--region", "us-east-1", &location])
        .collect();
    let output = cli(&args);
    let report = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "reads found, and the corrupt object in 08/02 unread: {report}"
    );
    // Folders: the root, AWSLogs/, the organization, two accounts, two CloudTrail/ folders
    // (7); then the days 08/01, 08/02 and 08/03 (one day of delivery lag) of us-east-1 in
    // each account (6). Never 09/15, never eu-west-1.
    assert_eq!(list_requests(&report), 13, "{report}");
    assert!(
        report.contains("Subject: HIGH: pending-deletion secret prod/db"),
        "{report}"
    );
    assert!(
        report.contains("1 find was outside --since/--until."),
        "e-4 (08/02 00:01) was listed for lag, then dropped by its time: {report}"
    );
    assert!(
        !report.contains("ops/big") && !report.contains("legacy/ldap"),
        "{report}"
    );

    let args: Vec<&str> = ["scan", "--json"]
        .into_iter()
        .chain(range)
        .chain(["--account", "111111111111", &location])
        .collect();
    let one_account = cli(&args);
    assert_eq!(
        one_account.status.code(),
        Some(3),
        "reads found, and nothing unread: the corrupt object is in the other account"
    );
    let secrets: Vec<Value> = essence(&one_account.stdout)
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(secrets, ["prod/db"]);
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_missing_bucket_or_no_credentials_stops_the_scan_with_exit_status_1() {
    let missing = cli(&["scan", &format!("s3://{}", unique("absent"))]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");

    let bucket = bucket_with_tree().await;
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap();
    let no_credentials = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(["scan", &format!("s3://{bucket}")])
        .env_clear()
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(no_credentials.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&no_credentials.stderr);
    assert!(stderr.contains("no AWS credentials"), "{stderr}");
}
