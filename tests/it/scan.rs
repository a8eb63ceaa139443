//! The look-back scan over a directory tree of CloudTrail history built here: gzipped S3 log
//! files as `aws s3 sync` lays them out, with matches, near misses, a corrupt file and an
//! empty one, plus the other formats it reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::events_dir;
use common::hostile::pending_deletion_read;
use serde_json::{Value, json};

fn write_gzip(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(content).unwrap();
    std::fs::write(path, gzip.finish().unwrap()).unwrap();
}

fn read_with(secret: &str, event_id: &str, time: &str) -> Value {
    let mut record = pending_deletion_read(secret, "aws-cli/2", "ci");
    record["eventID"] = event_id.into();
    record["eventTime"] = time.into();
    record
}

/// A trail bucket's tree with 5 reads of 3 secrets (one read twice, in two files), near
/// misses, a corrupt file and an empty file.
fn history() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("AWSLogs/123456789012/CloudTrail");
    let near_misses: Value = serde_json::from_slice(
        &std::fs::read(events_dir().join("records/near-misses.json")).unwrap(),
    )
    .unwrap();
    let mut records = near_misses["Records"].as_array().unwrap().clone();
    records.push(read_with("prod/db", "e-1", "2026-08-01T10:00:00Z"));
    records.push(read_with("prod/db", "e-2", "2026-09-01T10:00:00Z"));
    write_gzip(
        &root.join(
            "us-east-1/2026/08/01/123456789012_CloudTrail_us-east-1_20260801T1000Z_a.json.gz",
        ),
        json!({ "Records": records }).to_string().as_bytes(),
    );
    write_gzip(
        &root.join(
            "eu-west-1/2026/09/01/123456789012_CloudTrail_eu-west-1_20260901T1000Z_b.json.gz",
        ),
        json!({ "Records": [read_with("legacy/ldap", "e-3", "2026-09-01T11:00:00Z"),
                            read_with("prod/db", "e-2", "2026-09-01T10:00:00Z")] })
        .to_string()
        .as_bytes(),
    );
    let corrupt = root.join("us-east-1/2026/09/02/corrupt.json.gz");
    std::fs::create_dir_all(corrupt.parent().unwrap()).unwrap();
    std::fs::write(
        &corrupt,
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap();
    std::fs::write(root.join("us-east-1/2026/09/02/empty.json.gz"), b"").unwrap();
    // An Event history lookup and JSON lines, outside the tree layout.
    let lookup = json!({"Events": [{"EventId": "e-4", "CloudTrailEvent": read_with("ops/key", "e-4", "2026-10-01T00:00:00Z").to_string()}]});
    std::fs::write(dir.path().join("lookup-events.json"), lookup.to_string()).unwrap();
    let lines = format!(
        "{}\n\n{}\n",
        read_with("ops/key", "e-5", "2026-10-02T00:00:00Z"),
        json!({"eventName": "AssumeRole"})
    );
    std::fs::write(dir.path().join("export.jsonl"), lines).unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// (secret, reads) of each alert document `scan --json` printed, in the secrets' order.
fn reads_per_secret(documents: &[Value]) -> Vec<(String, u64)> {
    let mut reads: Vec<(String, u64)> = documents
        .iter()
        // The alerts of reads; a KMS key use would have its own document.
        .filter(|d| d["schema"] != "secret-deletion-alerts/key-use/v1")
        .map(|d| {
            (
                d["secret"]["id_as_named"].as_str().unwrap().to_owned(),
                d["attempts_total"].as_u64().unwrap(),
            )
        })
        .collect();
    reads.sort();
    reads
}

fn documents(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn finds_every_read_in_a_tree_and_skips_what_it_cannot_read() {
    let (_dir, root) = history();
    let root = root.to_str().unwrap();
    let output = cli(&["scan", "--json", root]);
    // Reads were found (3), which a skipped file (2) does not hide.
    assert_eq!(output.status.code(), Some(3), "reads found, a file skipped");
    let found = documents(&output.stdout);
    assert_eq!(
        reads_per_secret(&found),
        [
            ("legacy/ldap".into(), 1),
            ("ops/key".into(), 2),
            ("prod/db".into(), 2)
        ]
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("corrupt.json.gz: not a readable gzip file"),
        "{stderr}"
    );
    let located = found
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap())
        .map(|a| a["log_event_id"].as_str().unwrap())
        .find(|id| id.contains("_b.json.gz#"))
        .expect("reads are located by file and index");
    assert!(located.ends_with("_b.json.gz#0"), "{located}");
    let report = String::from_utf8(cli(&["scan", root]).stdout).unwrap();
    assert!(
        report.starts_with("Scanned 5 files"),
        "the empty file is read, as empty: {report}"
    );
    assert!(
        report.contains("(1 seen twice)"),
        "e-2 is in two files: {report}"
    );
    assert!(report.contains(", 1 file skipped."), "{report}");
}

#[test]
fn since_and_until_limit_the_time_range() {
    let (_dir, root) = history();
    let root = root.to_str().unwrap();
    let range = [
        "--since",
        "2026-09-01T00:00:00Z",
        "--until",
        "2026-10-01T00:00:00Z",
    ];
    let json: Vec<&str> = ["scan", "--json"]
        .into_iter()
        .chain(range)
        .chain([root])
        .collect();
    assert_eq!(
        reads_per_secret(&documents(&cli(&json).stdout)),
        [("legacy/ldap".into(), 1), ("prod/db".into(), 1)]
    );
    let text: Vec<&str> = ["scan"].into_iter().chain(range).chain([root]).collect();
    let report = String::from_utf8(cli(&text).stdout).unwrap();
    assert!(
        report.contains("3 finds were outside --since/--until."),
        "{report}"
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RESTORE_MODE")
        .env_remove("ALERT_TOPIC_ARN")
        .output()
        .unwrap()
}

#[test]
fn the_exit_status_says_files_were_skipped_and_the_report_reads_like_the_email() {
    let (_dir, root) = history();
    let output = cli(&["scan", root.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "reads found, a file skipped");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("Scanned 5 files"), "{stdout}");
    assert!(
        stdout.contains("Subject: HIGH: pending-deletion secret prod/db read by ci (x2)"),
        "{stdout}"
    );
    assert!(stdout.contains("What to do next"));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("warning: skipped") && stderr.contains("corrupt.json.gz"),
        "{stderr}"
    );
}

#[test]
fn json_output_is_the_functions_alert_documents_for_the_same_records() {
    let sample = events_dir().join("mixed-batch.json");
    let sample = sample.to_str().unwrap();
    let scanned = cli(&["scan", "--json", sample]);
    let invoked = cli(&["invoke", "--dry-run", sample]);
    assert_eq!(scanned.status.code(), Some(3), "reads found");
    assert_eq!(invoked.status.code(), Some(0));
    let documents = |out: &[u8]| -> Vec<Value> {
        let mut docs: Vec<Value> = String::from_utf8_lossy(out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        docs.sort_by_key(|d| d["dedup_key"].as_str().unwrap().to_owned());
        docs
    };
    let (scanned, invoked) = (documents(&scanned.stdout), documents(&invoked.stdout));
    assert_eq!(scanned.len(), 2);
    assert_eq!(scanned, invoked);
}

#[test]
fn print_sql_prints_the_athena_sources_sql_and_scans_nothing() {
    let output = cli(&[
        "scan",
        "--print-sql",
        "--source",
        "athena:my_db.cloudtrail",
        "--since",
        "2026-08-01T00:00:00Z",
    ]);
    assert_eq!(output.status.code(), Some(0));
    let sql = String::from_utf8(output.stdout).unwrap();
    assert!(sql.contains("FROM my_db.cloudtrail"));
    assert!(sql.contains("AND eventtime >= '2026-08-01T00:00:00Z'"));
}

/// Runs the command under a pseudo-terminal (util-linux `script`), as a person would.
fn on_a_terminal(command: &str, no_color: bool) -> String {
    let binary = env!("CARGO_BIN_EXE_secret-deletion-alerts");
    let mut script = Command::new("script");
    script
        .args(["-qec", &format!("{binary} {command}"), "/dev/null"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env("RUST_LOG", "warn");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let output = script
        .output()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_dry_run_prints_the_email_on_a_terminal_and_json_in_a_pipe() {
    let sample = events_dir().join("iam-user-pending-deletion.json");
    let sample = sample.to_str().unwrap();
    let screen = on_a_terminal(&format!("invoke --dry-run {sample}"), false);
    assert!(
        screen.contains("Subject: HIGH: pending-deletion secret prod/db read by alice"),
        "{screen}"
    );
    assert!(screen.contains("What to do next"), "{screen}");
    // Log lines are coloured on a terminal, unless NO_COLOR says otherwise.
    assert!(screen.contains('\u{1b}'), "{screen:?}");
    let plain = on_a_terminal(&format!("invoke --dry-run {sample}"), true);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    let forced = on_a_terminal(&format!("invoke --dry-run --format json {sample}"), true);
    assert!(
        forced.lines().any(|l| l.starts_with("{\"schema\"")) && !forced.contains("Subject:"),
        "{forced}"
    );

    let piped = cli(&["invoke", "--dry-run", sample]);
    let stdout = String::from_utf8(piped.stdout).unwrap();
    let document: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(document["schema"], "secret-deletion-alerts/alert/v1");
    // A log file gets no escape codes.
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'));
}

#[test]
fn a_decode_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, r#"{"awslogs":{"data":"not base64!"}}"#).unwrap();
    let output = cli(&["invoke", "--dry-run", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.matches("awslogs.data is not valid base64").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn athena_table_ddl_prints_the_projected_table_of_a_trail_bucket() {
    let output = cli(&[
        "scan",
        "--athena-table-ddl",
        "s3://trail-bucket/AWSLogs/o-abcdefghij/123456789012/",
    ]);
    assert!(output.status.success());
    let ddl = String::from_utf8(output.stdout).unwrap();
    assert!(
        ddl.starts_with("CREATE EXTERNAL TABLE cloudtrail_logs ("),
        "{ddl}"
    );
    assert!(ddl.contains("PARTITIONED BY (region STRING, `timestamp` STRING)"));
    // The projected table's search prunes the days of the range.
    let output = cli(&[
        "scan",
        "--print-sql",
        "--athena-partitioned",
        "--since",
        "2026-08-01T00:00:00Z",
        "--until",
        "2026-08-08T00:00:00Z",
    ]);
    let sql = String::from_utf8(output.stdout).unwrap();
    assert!(
        sql.contains("\"timestamp\" BETWEEN '2026/08/01' AND '2026/08/08'"),
        "{sql}"
    );
    // A location that is not a trail's account prefix is refused, naming what is accepted.
    let output = cli(&["scan", "--athena-table-ddl", "s3://bucket/logs/"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("s3://BUCKET/[PREFIX/]AWSLogs/"));
}

#[test]
fn event_history_gives_the_alerts_the_same_records_on_disk_give() {
    use common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
    // One read pending deletion among 60 GetSecretValue events: two pages of 50.
    let mut records = vec![pending_deletion_read("prod/db", "aws-sdk-go/1.55", "app")];
    for n in 0..59 {
        let mut ok = pending_deletion_read("prod/other", "aws-sdk-go/1.55", "app");
        ok.as_object_mut().unwrap().remove("errorMessage");
        ok.as_object_mut().unwrap().remove("errorCode");
        ok["eventID"] = format!("ok-{n}").into();
        records.push(ok);
    }
    let fake = FakeCloudTrail::start(records.iter().cloned().map(HistoryEvent::of).collect());
    fake.throttle_next(1);
    let output = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args([
            "scan",
            "--json",
            "--source",
            "event-history",
            "--region",
            "us-east-1",
            "--since",
            "2026-11-01T00:00:00Z",
            "--until",
            "2026-11-30T00:00:00Z",
        ])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &fake.endpoint)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "reads found: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let from_history = documents(&output.stdout);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    std::fs::write(&file, json!({ "Records": records }).to_string()).unwrap();
    let on_disk = cli(&["scan", "--json", file.to_str().unwrap()]);
    let on_disk = documents(&on_disk.stdout);
    let essence = |d: &Value| {
        (
            d["secret"]["display_name"].clone(),
            d["event_ids"].clone(),
            d["attempts_total"].clone(),
            d["dedup_key"].clone(),
        )
    };
    assert_eq!(from_history.len(), 1);
    assert_eq!(
        from_history.iter().map(essence).collect::<Vec<_>>(),
        on_disk.iter().map(essence).collect::<Vec<_>>()
    );
    // Every page, one lookup attribute, the time range; the throttled call retried.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r["LookupAttributes"][0]["AttributeValue"] == "GetSecretValue")
    );
    assert_eq!(requests[2]["NextToken"], "50");
    assert!(requests[0]["StartTime"].as_f64().unwrap() > 1.7e9);
}

#[test]
fn a_file_larger_than_a_worker_holds_is_streamed_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    // Over 16 MiB: more than a worker reads whole (plain) or inflates in one call (gzip).
    let mut records: Vec<Value> = (0..17_000)
        .map(|n| json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                        "eventID": format!("noise-{n}"), "requestParameters": {"key": "k".repeat(1000)}}))
        .collect();
    records.push(read_with("ops/late", "e-late", "2026-08-01T10:00:00Z"));
    let content = json!({ "Records": records }).to_string();
    assert!(content.len() > 16 << 20);
    std::fs::write(dir.path().join("big.json"), &content).unwrap();
    write_gzip(&dir.path().join("big.json.gz"), content.as_bytes());
    let mut concatenated = Vec::new();
    for half in [&records[..8500], &records[8500..]] {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for record in half {
            gzip.write_all(format!("{record}\n").as_bytes()).unwrap();
        }
        concatenated.extend(gzip.finish().unwrap());
    }
    std::fs::write(dir.path().join("two-members.jsonl.gz"), concatenated).unwrap();
    for name in ["big.json", "big.json.gz", "two-members.jsonl.gz"] {
        let output = cli(&["scan", "--json", dir.path().join(name).to_str().unwrap()]);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{name}, reads found: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            reads_per_secret(&documents(&output.stdout)),
            [("ops/late".into(), 1)],
            "{name}"
        );
    }
}

#[test]
fn scan_exits_as_check_does_2_when_something_unread_hides_nothing_found_and_1_when_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corrupt.json.gz"), [0x1f, 0x8b, 0, 1, 2]).unwrap();
    let unread = cli(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(
        unread.status.code(),
        Some(2),
        "nothing found, a file unread"
    );
    let missing = dir.path().join("no-such-tree");
    let output = cli(&["scan", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "a path that does not exist");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no such file or directory"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_empty_tree_is_not_a_clean_answer_and_a_closed_stdout_ends_quietly_with_the_answers_status() {
    let dir = tempfile::tempdir().unwrap();
    let empty = cli(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(
        empty.status.code(),
        Some(2),
        "nothing read is not nothing found"
    );
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("not read: no history file"),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );

    // `scan ... | head`: the reader is gone before the first line.
    let (_tree, root) = history();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(["scan", root.to_str().unwrap()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "reads found, as with a reader"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn an_athena_source_runs_the_query_and_its_rows_are_put_to_the_rule_as_records() {
    use common::fake_athena::{FakeAthena, athena_row, record_columns};
    let read = read_with("prod/db", "e-athena", "2026-08-01T10:00:00Z");
    let athena = FakeAthena::start(record_columns(), vec![athena_row(&read)]);
    let scan = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
            .args([
                "scan",
                "--json",
                "--source",
                "athena:trail_db.cloudtrail_logs",
            ])
            .args(extra)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("ALERT_TOPIC_ARN")
            .env("AWS_ENDPOINT_URL_ATHENA", &athena.endpoint)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    let output = scan(&["--athena-output", "s3://athena-results/scan/"]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        reads_per_secret(&documents(&output.stdout)),
        [("prod/db".into(), 1)]
    );
    let sql = &athena.queries()[0];
    assert!(sql.contains("FROM trail_db.cloudtrail_logs"), "{sql}");
    assert!(sql.contains("AS \"userIdentity.arn\""), "{sql}");

    // A query that fails is a source not read: nothing found is then not a clean answer.
    athena.fail_with("HIVE_BAD_DATA: malformed JSON");
    let output = scan(&[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not read: athena:trail_db.cloudtrail_logs")
            && stderr.contains("HIVE_BAD_DATA"),
        "{stderr}"
    );
}

/// #45, the look-back's part: a cryptographic operation KMS refused because its key is
/// pending deletion (the KMS guide's message), directly and through Secrets Manager.
#[test]
fn uses_of_a_kms_key_pending_deletion_are_reported_per_key_and_validate_against_their_schema() {
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let direct = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "userName": "alice"},
        "eventTime": "2026-12-01T10:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2 <!channel> http://evil.example",
        "errorCode": "KMSInvalidStateException",
        "errorMessage": format!("{key} is pending deletion."),
        "eventID": "e-direct",
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": key}],
        "recipientAccountId": "111122223333"
    });
    let mut through = direct.clone();
    through["eventID"] = "e-through".into();
    through["eventTime"] = "2026-12-01T09:00:00Z".into();
    through["userIdentity"]["invokedBy"] = "secretsmanager.amazonaws.com".into();
    through["sourceIPAddress"] = "secretsmanager.amazonaws.com".into();
    through["requestParameters"] = json!({"encryptionContext": {
        "SecretARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"}});
    // A refusal for another reason is no use of a key pending deletion.
    let mut disabled = direct.clone();
    disabled["eventID"] = "e-disabled".into();
    disabled["errorMessage"] = format!("{key} is disabled.").into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kms.json");
    std::fs::write(
        &file,
        json!({"Records": [direct, through, disabled, direct]}).to_string(),
    )
    .unwrap();

    let output = cli(&["scan", "--json", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "a use found");
    let found = documents(&output.stdout);
    assert_eq!(found.len(), 1, "one document for the key");
    let schema: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/key-use-v1.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&found[0]), "{}", found[0]);
    assert_eq!(found[0]["resource"]["arn"], key);
    let ids: Vec<&str> = found[0]["uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["e-through", "e-direct"],
        "in time order, the copy once"
    );
    assert_eq!(
        found[0]["uses"][0]["secret_arn"],
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"
    );
    assert!(
        !found[0].to_string().contains("http://evil"),
        "links in user agents are disarmed"
    );

    let report = String::from_utf8(cli(&["scan", file.to_str().unwrap()]).stdout).unwrap();
    assert!(
        report.contains("Uses of KMS keys pending deletion: 2 of 1 key."),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "aws kms cancel-key-deletion --key-id {key} --region us-east-1"
        )),
        "{report}"
    );
}
