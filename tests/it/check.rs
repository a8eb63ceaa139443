//! `check` as a person and a pipeline meet it: before a deletion, whether anything still reads
//! a secret, and who. Local trees built here (offline), and against moto's Secrets Manager and
//! S3 with a fake CloudTrail on 127.0.0.1 (moto has no LookupEvents). Every JSON document is
//! checked against docs/check-v1.schema.json.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use common::fake_cloudtrail::{FakeCloudTrail, HistoryEvent};
use common::fake_sts::FakeSts;
use common::moto::{emulator, in_account, unique};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

fn days_ago(days: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(days * 86_400))
        .to_string()
}

/// A `GetSecretValue` record of `secret_id` by the role `role`, `days` ago; refused with
/// `error` when given.
fn read(secret_id: &str, event_id: &str, days: u64, role: &str, error: Option<&str>) -> Value {
    let mut record = json!({
        "eventVersion": "1.09",
        "eventTime": days_ago(days),
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "sourceIPAddress": "10.0.0.7",
        "userAgent": "aws-sdk-java/2.25",
        "eventID": event_id,
        "requestParameters": { "secretId": secret_id },
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{role}"),
            "accountId": ACCOUNT,
            "sessionContext": { "sessionIssuer": {
                "type": "Role",
                "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                "userName": role
            }}
        }
    });
    if let Some(error) = error {
        record["errorCode"] = "AccessDeniedException".into();
        record["errorMessage"] = error.into();
    }
    record
}

fn write_gzip(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(content).unwrap();
    std::fs::write(path, gzip.finish().unwrap()).unwrap();
}

/// A trail's tree: reads of prod/db by name, partial ARN and full ARN (one refused), a read
/// of another secret, a read of prod/db older than any window here, and other traffic.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir
        .path()
        .join(format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1"));
    write_gzip(
        &root.join("2026/11/01/a.json.gz"),
        json!({ "Records": [
            read("prod/db", "e-1", 3, "orders-api", None),
            read(&format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db"), "e-2", 2, "orders-api", None),
            { "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": "x-1" },
        ]})
        .to_string()
        .as_bytes(),
    );
    write_gzip(
        &root.join("2026/11/02/b.json.gz"),
        json!({ "Records": [
            read(&format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-AbCdEf"), "e-3", 1, "batch", Some("User is not authorized")),
            read("staging/db", "e-4", 1, "orders-api", None),
            read("prod/db", "e-0", 400, "orders-api", None),
        ]})
        .to_string()
        .as_bytes(),
    );
    dir
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env_remove("EXPECTED_READERS")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap()
}

fn validator(version: &str) -> jsonschema::Validator {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/check-{version}.schema.json"));
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// The JSON documents printed, each checked against the schema of its version.
fn documents(output: &Output) -> Vec<Value> {
    let (v1, v2) = (validator("v1"), validator("v2"));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let document: Value = serde_json::from_str(line).unwrap();
            let validator = match document["schema"].as_str() {
                Some("secret-deletion-alerts/check/v2") => &v2,
                _ => &v1,
            };
            let errors: Vec<String> = validator
                .iter_errors(&document)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{errors:?} in {document}");
            document
        })
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_secret_read_by_name_partial_or_full_arn_is_in_use_and_the_exit_status_is_3() {
    let tree = tree();
    let path = tree.path().to_str().unwrap();
    for asked in [
        "prod/db".to_owned(),
        format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db"),
        format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-AbCdEf"),
    ] {
        let output = cli(&["check", &asked, "--offline", "--source", path, "--json"]);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{asked}: {}",
            stderr(&output)
        );
        let documents = documents(&output);
        assert_eq!(documents.len(), 1);
        let document = &documents[0];
        assert_eq!(document["verdict"], "in_use", "{asked}");
        assert_eq!(
            document["reads"], 3,
            "{asked}: the read 400 days ago is outside"
        );
        assert_eq!(document["refused_reads"], 1);
        assert_eq!(document["secret"]["id_as_named"], asked.as_str());
        let readers = document["readers"].as_array().unwrap();
        assert_eq!(readers.len(), 2, "orders-api and batch");
        assert_eq!(readers[0]["workload"]["name"], "orders-api");
        assert_eq!(
            readers[0]["caller"],
            format!("arn:aws:iam::{ACCOUNT}:role/orders-api")
        );
        assert_eq!(readers[0]["reads"], 2);
        assert_eq!(readers[0]["example_event_ids"], json!(["e-1", "e-2"]));
        assert_eq!(readers[0]["source_ips"], json!(["10.0.0.7"]));
        assert_eq!(readers[1]["refused_reads"], 1);
        assert_eq!(document["sources"][0]["kind"], "local");
        // Two days of files cannot vouch for a 90-day window (the reads are in use anyway).
        assert_eq!(document["sources"][0]["complete"], false);
    }
}

#[test]
fn a_reader_that_stops_reading_ends_the_check_quietly_with_its_status() {
    let tree = tree();
    let path = tree.path().to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args([
            "check",
            "prod/db",
            "legacy/ldap",
            "--offline",
            "--source",
            path,
        ])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("EXPECTED_READERS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -0`: the reading end closes before anything is read.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}

#[test]
fn messages_name_sources_as_the_user_types_them() {
    let output = cli(&["check", "prod/db", "--offline"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("and event-history needs AWS"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn offline_the_region_asked_filters_the_reads_as_online() {
    let tree = tree();
    let path = tree.path().to_str().unwrap();
    let ask = |region: &str| {
        let output = cli(&[
            "check",
            "prod/db",
            "--offline",
            "--source",
            path,
            "--region",
            region,
            "--json",
        ]);
        documents(&output)[0].clone()
    };
    assert_eq!(ask("us-east-1")["verdict"], "in_use");
    let elsewhere = ask("eu-west-1");
    assert_eq!(elsewhere["reads"], 0, "{elsewhere}");
    assert_eq!(elsewhere["secret"]["region"], "eu-west-1");
}

/// A trail's tree holding a file for each of the last `days` days and today, in `ACCOUNT`'s
/// us-east-1, each with one read of another secret.
fn tree_of_days(days: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for ago in 0..=days {
        let day = &days_ago(ago)[..10].replace('-', "/");
        write_gzip(
            &dir.path().join(format!(
                "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{day}/f{ago}.json.gz"
            )),
            json!({ "Records": [read("other/secret", &format!("o-{ago}"), ago, "app", None)] })
                .to_string()
                .as_bytes(),
        );
    }
    dir
}

#[test]
fn a_secret_nothing_read_in_a_complete_source_is_no_reads_seen_and_the_exit_status_is_0() {
    let covered = tree_of_days(3);
    let ask = |tree: &tempfile::TempDir, extra: &[&str]| {
        let mut args = vec![
            "check",
            "legacy/ldap",
            "--days",
            "2",
            "--offline",
            "--source",
            tree.path().to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        cli(&args)
    };
    let output = ask(&covered, &["--account", ACCOUNT, "--region", "us-east-1"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stderr(&output),
        String::from_utf8_lossy(&output.stdout)
    );
    let documents = documents(&output);
    assert_eq!(documents[0]["verdict"], "no_reads_seen", "{}", documents[0]);
    assert_eq!(documents[0]["readers"], json!([]));
    assert_eq!(documents[0]["sources"][0]["complete"], true);
    // Named by name alone, it could live in any account: nothing vouches for it.
    let output = ask(&covered, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let detail = documents_of(&output)[0]["sources"][0]["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains("--account and --region"),
        "{detail}"
    );
    // Files for other days, another region, or none at all: unknown, the gap named.
    let output = ask(&tree(), &["--account", ACCOUNT, "--region", "us-east-1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let detail = documents_of(&output)[0]["sources"][0]["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains("no file of account"),
        "{detail}"
    );
    let output = ask(&covered, &["--account", ACCOUNT, "--region", "eu-west-1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let empty = tempfile::tempdir().unwrap();
    let output = ask(&empty, &["--account", ACCOUNT, "--region", "us-east-1"]);
    assert_eq!(output.status.code(), Some(2), "an empty tree is unknown");
    let tree = tree();
    let path = tree.path().to_str().unwrap();
    // A window longer than CloudTrail's life starts at its launch (November 2013).
    let output = cli(&[
        "check",
        "prod/db",
        "--days",
        "99999999999",
        "--offline",
        "--source",
        path,
        "--json",
    ]);
    assert_eq!(
        documents_of(&output)[0]["window"]["from"],
        "2013-11-13T00:00:00Z"
    );
    // The read 400 days ago is inside a window of 500 days.
    let output = cli(&[
        "check",
        "prod/db",
        "--days",
        "500",
        "--offline",
        "--source",
        path,
        "--json",
    ]);
    assert_eq!(documents_of(&output)[0]["reads"], 4);
}

fn documents_of(output: &Output) -> Vec<Value> {
    documents(output)
}

#[test]
fn a_file_that_cannot_be_read_makes_the_source_incomplete_and_the_answer_unknown() {
    let tree = tree();
    let corrupt = tree.path().join(format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/03/c.json.gz"
    ));
    std::fs::create_dir_all(corrupt.parent().unwrap()).unwrap();
    std::fs::write(&corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad]).unwrap();
    let path = tree.path().to_str().unwrap();
    let output = cli(&[
        "check",
        "legacy/ldap",
        "--offline",
        "--source",
        path,
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["verdict"], "unknown");
    assert_eq!(document["sources"][0]["complete"], false);
    let detail = document["sources"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 file could not be read") && detail.contains("c.json.gz"),
        "{detail}"
    );
    // A read seen elsewhere still says in use: 3 beats 2.
    let output = cli(&[
        "check",
        "legacy/ldap",
        "prod/db",
        "--offline",
        "--source",
        path,
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let verdicts: Vec<Value> = documents(&output)
        .iter()
        .map(|d| d["verdict"].clone())
        .collect();
    assert_eq!(verdicts, [json!("unknown"), json!("in_use")]);
    // An empty directory covers nothing.
    let empty = tempfile::tempdir().unwrap();
    let output = cli(&[
        "check",
        "legacy/ldap",
        "--offline",
        "--source",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("UNKNOWN") && text.contains("no files found"),
        "{text}"
    );
}

#[test]
fn the_report_for_a_person_leads_with_the_verdict_and_names_each_reader() {
    let tree = tree();
    let output = cli(&[
        "check",
        "prod/db",
        "--offline",
        "--source",
        tree.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "prod/db");
    assert!(
        lines[1].starts_with("  IN USE: 3 reads by 2 readers in the last 90 days"),
        "{text}"
    );
    assert!(
        text.contains(
            "    orders-api (role, certain) as arn:aws:iam::123456789012:role/orders-api"
        ),
        "{text}"
    );
    assert!(text.contains("      2 reads (0 refused), first "), "{text}");
    assert!(
        text.contains("      user agents: aws-sdk-java/2.25"),
        "{text}"
    );
    assert!(text.contains("  next: Do not delete it yet"), "{text}");
}

#[test]
fn readers_the_rules_mark_are_told_as_expected_and_still_count() {
    let tree = tree();
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rules.path(),
        r#"[{"secret": "prod/*", "caller": "*:role/batch", "reason": "the nightly batch, until the cut-over"}]"#,
    )
    .unwrap();
    let args = [
        "check",
        "prod/db",
        "--offline",
        "--source",
        tree.path().to_str().unwrap(),
        "--expected-readers",
        rules.path().to_str().unwrap(),
    ];
    let output = cli(&args);
    assert_eq!(
        output.status.code(),
        Some(3),
        "expected readers still read it"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("      expected: marked by rule 1 (the nightly batch, until the cut-over)"),
        "{text}"
    );
    let output = cli(&[&args[..], &["--json"]].concat());
    let document = &documents(&output)[0];
    assert_eq!(document["schema"], "secret-deletion-alerts/check/v2");
    let readers = document["readers"].as_array().unwrap();
    let expected: Vec<(&str, &Value)> = readers
        .iter()
        .map(|r| (r["caller"].as_str().unwrap(), &r["expected"]))
        .collect();
    assert_eq!(
        expected,
        [
            ("arn:aws:iam::123456789012:role/orders-api", &Value::Null),
            (
                "arn:aws:iam::123456789012:role/batch",
                &json!("rule 1 (the nightly batch, until the cut-over)")
            ),
        ]
    );
    let without = cli(&[&args[..5], &["--json"]].concat());
    assert_eq!(
        documents(&without)[0]["schema"],
        "secret-deletion-alerts/check/v1"
    );

    std::fs::write(
        rules.path(),
        r#"[{"secret": "prod/*", "reason": "no reader"}]"#,
    )
    .unwrap();
    let output = cli(&args);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("EXPECTED_READERS: rule 1 is not valid"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_check_that_cannot_run_says_why_and_exits_1() {
    let tree = tree();
    let path = tree.path().to_str().unwrap();
    for (args, says) in [
        (vec!["check", "--offline", "--source", path], "SECRET"),
        (
            vec![
                "check",
                "prod/db",
                "--offline",
                "--source",
                "/no/such/place",
            ],
            "no such file or directory",
        ),
        (
            vec!["check", "prod/db", "--offline"],
            "--offline reads local files only",
        ),
        (
            vec!["check", "--pending", "--offline", "--source", path],
            "--pending asks Secrets Manager",
        ),
        (
            vec![
                "check",
                "prod/db",
                "--days",
                "0",
                "--offline",
                "--source",
                path,
            ],
            "--days must be at least 1",
        ),
        (
            vec![
                "check",
                "arn:aws:s3:::bucket",
                "--offline",
                "--source",
                path,
            ],
            "not of a Secrets Manager secret",
        ),
        (
            vec![
                "check",
                "prod/db",
                "--region",
                "not a region",
                "--offline",
                "--source",
                path,
            ],
            "not a region name",
        ),
    ] {
        let output = cli(&args);
        let text = stderr(&output);
        assert!(
            matches!(output.status.code(), Some(1) | Some(2)),
            "{args:?}: {text}"
        );
        assert!(text.contains(says), "{args:?}: {text}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // No credentials where AWS is needed: said, exit 1.
    let output = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(["check", "prod/db", "--region", "us-east-1"])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no AWS credentials"),
        "{}",
        stderr(&output)
    );
}

// ---- against moto ----

fn against_moto(args: &[&str], cloudtrail: &FakeCloudTrail, more: &[(&str, &str)]) -> Output {
    let endpoint = std::env::var("MOTO_ENDPOINT").unwrap();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let mut command = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"));
    command
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &cloudtrail.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ACCOUNT_ID", ACCOUNT);
    for (key, value) in more {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// A secret in `account` (moto's STS credentials for a role there act in it), scheduled for
/// deletion in 7 days when `schedule`; its ARN.
async fn secret_in(account: &str, name: &str, schedule: bool) -> String {
    let sdk = emulator().await.expect("the emulator");
    let sdk = if account == ACCOUNT {
        sdk
    } else {
        in_account(&sdk, account).await
    };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let arn = client
        .create_secret()
        .name(name)
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    if schedule {
        client
            .delete_secret()
            .secret_id(&arn)
            .recovery_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
    arn
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn pending_checks_every_secret_scheduled_for_deletion_in_both_accounts() {
    const MEMBER: &str = "111111111111";
    let read_here = unique("check/read-here");
    let quiet_there = unique("check/quiet-there");
    let not_scheduled = unique("check/kept");
    let read_here_arn = secret_in(ACCOUNT, &read_here, true).await;
    let quiet_there_arn = secret_in(MEMBER, &quiet_there, true).await;
    secret_in(ACCOUNT, &not_scheduled, false).await;
    // Event history: the first secret read by name, and a read in the member account of a
    // secret of the same name as the second, but in the other account (not its read).
    let mut elsewhere = read(&quiet_there, "e-9", 1, "app", None);
    elsewhere["recipientAccountId"] = ACCOUNT.into();
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(read(
            &read_here,
            "e-1",
            1,
            "orders-api",
            Some(
                "You can't perform this operation on the secret because it was marked for deletion.",
            ),
        )),
        HistoryEvent::of(elsewhere),
    ]);
    let output = against_moto(
        &["check", "--pending", "--json", "--days", "30"],
        &fake,
        &[("MEMBER_ROLE_NAME", "sda-member"), ("ACCOUNTS", MEMBER)],
    );
    let documents = documents(&output);
    let of = |name: &str| {
        documents
            .iter()
            .find(|d| d["secret"]["name"] == name)
            .unwrap_or_else(|| panic!("{name} not checked: {documents:?} {}", stderr(&output)))
            .clone()
    };
    assert!(
        documents
            .iter()
            .all(|d| d["secret"]["name"] != not_scheduled.as_str()),
        "a secret not scheduled for deletion is not --pending's"
    );
    let here = of(&read_here);
    assert_eq!(here["verdict"], "in_use");
    assert_eq!(here["secret"]["arn"], read_here_arn.as_str());
    assert_eq!(here["secret"]["account_id"], ACCOUNT);
    assert!(here["secret"]["deletion_date"].is_string());
    assert_eq!(here["readers"][0]["workload"]["name"], "orders-api");
    let there = of(&quiet_there);
    assert_eq!(there["verdict"], "no_reads_seen", "{there}");
    assert_eq!(there["secret"]["arn"], quiet_there_arn.as_str());
    assert_eq!(there["secret"]["account_id"], MEMBER);
    assert_eq!(there["sources"][0]["kind"], "event-history");
    assert_eq!(
        there["sources"][0]["location"],
        format!("us-east-1 (account {MEMBER})")
    );
    // moto never sets LastAccessedDate: the note about sources that miss reads is tested on
    // the core (src/usage/tests.rs).
    assert_eq!(there["secret"]["last_accessed_date"], Value::Null);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    // Event history was asked once per account and region, for GetSecretValue.
    let requests = fake.requests();
    assert!(requests.len() >= 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r["LookupAttributes"][0]["AttributeValue"] == "GetSecretValue")
    );

    // An account whose member role is refused cannot be listed: said, the other accounts
    // checked all the same, and with nothing in use the answer is not clean (2).
    const REFUSED: &str = "222222222222";
    let sts = FakeSts::start(&std::env::var("MOTO_ENDPOINT").unwrap(), &[REFUSED]);
    let quiet = FakeCloudTrail::start(Vec::new());
    let accounts = format!("{MEMBER},{REFUSED}");
    let output = against_moto(
        &["check", "--pending", "--json", "--days", "30"],
        &quiet,
        &[
            ("MEMBER_ROLE_NAME", "sda-member"),
            ("ACCOUNTS", accounts.as_str()),
            ("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str()),
        ],
    );
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "cannot list the secrets of us-east-1 (account {REFUSED})"
        )),
        "{said}"
    );
    let checked = documents_of(&output);
    assert!(
        checked
            .iter()
            .any(|d| d["secret"]["name"] == quiet_there.as_str()),
        "{said}"
    );
    assert!(checked.iter().all(|d| d["verdict"] != "in_use"));
    assert_eq!(output.status.code(), Some(2), "{said}");
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_named_secret_is_looked_up_and_a_throttled_event_history_is_read_to_the_end() {
    let name = unique("check/named");
    let arn = secret_in(ACCOUNT, &name, true).await;
    // Reads by full ARN on two pages; Event history throttles once.
    let mut events: Vec<HistoryEvent> = (0..60)
        .map(|n| HistoryEvent::of(read("other/secret", &format!("o-{n}"), 2, "app", None)))
        .collect();
    events.push(HistoryEvent::of(read(&arn, "e-1", 1, "orders-api", None)));
    let fake = FakeCloudTrail::start(events);
    fake.throttle_next(1);
    let output = against_moto(&["check", &name, "--json"], &fake, &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["secret"]["arn"], arn.as_str());
    assert_eq!(document["reads"], 1);
    assert_eq!(document["sources"][0]["complete"], true);
    // A secret that does not exist: a note, its history read all the same, and no verdict
    // that would let a pipeline delete (the region or account may be the wrong one).
    let output = against_moto(&["check", "no/such/secret", "--json"], &fake, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["verdict"], "unknown");
    assert!(
        document["notes"][0]
            .as_str()
            .unwrap()
            .contains("has no secret"),
        "{document}"
    );
    // More days than Event history keeps: it cannot vouch for the rest.
    let output = against_moto(
        &["check", "no/such/secret", "--json", "--days", "120"],
        &fake,
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let document = &documents(&output)[0];
    assert!(
        document["sources"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("keeps 90")
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_trail_bucket_is_read_in_place_for_the_days_of_the_window() {
    let sdk = emulator().await.expect("the emulator");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique("check-trail").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let name = unique("check/in-bucket");
    let day = |days: u64| {
        humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(days * 86_400))
            .to_string()[..10]
            .replace('-', "/")
    };
    let put = |key: String, records: Vec<Value>| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let mut gzip =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gzip.write_all(json!({ "Records": records }).to_string().as_bytes())
                .unwrap();
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(gzip.finish().unwrap().into())
                .send()
                .await
                .unwrap();
        }
    };
    let prefix = format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1");
    put(
        format!("{prefix}/{}/a.json.gz", day(2)),
        vec![read(&name, "e-1", 2, "orders-api", None)],
    )
    .await;
    // Outside a 30-day window: its day folder is never listed.
    put(
        format!("{prefix}/{}/b.json.gz", day(60)),
        vec![read(&name, "e-2", 60, "old-job", None)],
    )
    .await;
    let fake = FakeCloudTrail::start(Vec::new());
    let location = format!("s3://{bucket}");
    let output = against_moto(
        &[
            "check", &name, "--json", "--days", "30", "--source", &location,
        ],
        &fake,
        &[],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["reads"], 1);
    assert_eq!(document["sources"][0]["kind"], "s3");
    // Files on two days of the thirty (of a secret whose account the lookup did not find):
    // the bucket cannot vouch for the rest.
    assert_eq!(document["sources"][0]["complete"], false);
    let detail = document["sources"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("account"), "{detail}");
    assert!(
        fake.requests().is_empty(),
        "Event history is not asked unless named"
    );
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn athena_rows_are_read_page_by_page_and_matched_as_records_are() {
    use common::fake_athena::{FakeAthena, athena_row, record_columns};
    let columns = record_columns();
    // 2,500 rows: 1,200 reads of prod/db by one role (by name and by ARN), and 1,300 of a
    // secret whose name only contains it (the SQL's strpos lets them through; the match does
    // not).
    let mut rows = Vec::new();
    for n in 0..2500 {
        let record = if n % 25 < 12 {
            let id = if n % 2 == 0 {
                "prod/db".to_owned()
            } else {
                format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-AbCdEf")
            };
            read(
                &id,
                &format!("a-{n}"),
                1 + (n % 20) as u64,
                "reporting",
                None,
            )
        } else {
            read("prod/db-copy", &format!("b-{n}"), 2, "other", None)
        };
        rows.push(athena_row(&record));
    }
    let athena = FakeAthena::start(columns, rows);
    let fake = FakeCloudTrail::start(Vec::new());
    let output = against_moto(
        &[
            "check",
            "prod/db",
            "--json",
            "--days",
            "30",
            "--source",
            "athena:trail_db.cloudtrail_logs",
            "--athena-output",
            "s3://athena-results/check/",
            "--athena-partitioned",
        ],
        &fake,
        &[("AWS_ENDPOINT_URL_ATHENA", athena.endpoint.as_str())],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["reads"], 1200);
    assert_eq!(document["readers"][0]["workload"]["name"], "reporting");
    let source = &document["sources"][0];
    assert_eq!(
        (source["kind"].clone(), source["complete"].clone()),
        (json!("athena"), json!(false)),
        "a table shows reads, and cannot vouch for none"
    );
    assert!(
        source["detail"]
            .as_str()
            .unwrap()
            .starts_with("2500 rows in 3 pages"),
        "{source}"
    );
    assert_eq!(athena.result_pages(), 3);
    let sql = &athena.queries()[0];
    assert!(sql.contains("FROM trail_db.cloudtrail_logs"), "{sql}");
    assert!(
        sql.contains("strpos(requestparameters, 'prod/db') > 0"),
        "{sql}"
    );
    assert!(sql.contains("\"timestamp\" BETWEEN"), "{sql}");
    // A query that fails leaves the source incomplete: with no read seen, unknown.
    let failing = FakeAthena::start(Vec::new(), Vec::new());
    failing.fail_with("HIVE_BAD_DATA: malformed JSON");
    let output = against_moto(
        &[
            "check",
            "legacy/ldap",
            "--json",
            "--source",
            "athena:trail_db.cloudtrail_logs",
        ],
        &fake,
        &[("AWS_ENDPOINT_URL_ATHENA", failing.endpoint.as_str())],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let document = &documents(&output)[0];
    assert_eq!(document["verdict"], "unknown");
    let detail = document["sources"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("FAILED") && detail.contains("HIVE_BAD_DATA"),
        "{detail}"
    );
}

// ---- KMS keys (#45) ----

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_arn() -> String {
    format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}")
}

/// A KMS call on the key `key_arn` by the role `role`, `days` ago, as the KMS guide shows
/// `Decrypt` (the key in `resources[]`); refused as pending deletion when `refused`.
fn key_call(key_arn: &str, event_id: &str, days: u64, role: &str, refused: bool) -> Value {
    let mut record = read("unused", event_id, days, role, None);
    record["eventSource"] = "kms.amazonaws.com".into();
    record["eventName"] = "Decrypt".into();
    record["requestParameters"] = json!({ "encryptionAlgorithm": "SYMMETRIC_DEFAULT" });
    record["resources"] =
        json!([{ "accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn }]);
    if refused {
        record["errorCode"] = "KMSInvalidStateException".into();
        record["errorMessage"] = format!("{key_arn} is pending deletion.").into();
    }
    record
}

#[test]
fn a_key_is_checked_by_its_arn_every_call_naming_it_a_use_by_workload() {
    let dir = tempfile::tempdir().unwrap();
    let other = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/ffffffff-0000-0000-0000-000000000000");
    write_gzip(
        &dir.path().join(format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/01/k.json.gz"
        )),
        json!({ "Records": [
            key_call(&key_arn(), "k-1", 2, "orders-api", false),
            key_call(&key_arn(), "k-2", 1, "orders-api", true),
            key_call(&key_arn(), "k-3", 1, "billing", false),
            key_call(&other, "k-4", 1, "reports", false),
            read("prod/db", "e-1", 1, "orders-api", None),
        ]})
        .to_string()
        .as_bytes(),
    );
    let path = dir.path().to_str().unwrap();
    let arn = key_arn();
    for args in [
        vec!["check", "--key", arn.as_str()],
        // A positional key ARN is a key too.
        vec!["check", arn.as_str()],
    ] {
        let mut args = args;
        args.extend(["--offline", "--days", "30", "--source", path, "--json"]);
        let output = cli(&args);
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        let document = &documents(&output)[0];
        assert_eq!(document["verdict"], "in_use");
        assert_eq!(document["secret"]["arn"], arn.as_str());
        assert_eq!(document["reads"], 3, "{document}");
        assert_eq!(document["refused_reads"], 1);
        let callers: Vec<&str> = document["readers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["caller"].as_str().unwrap())
            .collect();
        assert_eq!(callers.len(), 2, "{callers:?}");
        assert!(!callers.iter().any(|c| c.contains("reports")));
    }
    let output = cli(&[
        "check",
        "--key",
        &arn,
        "--offline",
        "--days",
        "30",
        "--source",
        path,
    ]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("IN USE: 3 uses by 2 callers"), "{report}");
    assert!(report.contains("Do not delete the key yet"), "{report}");
    // Offline, an alias or id cannot be resolved: the check cannot run.
    let output = cli(&[
        "check",
        "--key",
        "alias/orders",
        "--offline",
        "--source",
        path,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("name a key by its ARN"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_key_nothing_used_in_a_complete_source_is_no_uses_seen() {
    let covered = tree_of_days(3);
    let output = cli(&[
        "check",
        "--key",
        &key_arn(),
        "--days",
        "2",
        "--offline",
        "--source",
        covered.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("NO USES SEEN"), "{report}");
}

/// moto's KMS resolves an alias to the key, moto's Secrets Manager lists the secrets under it,
/// and Event history is read by the key's ARN.
#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn online_an_alias_is_resolved_and_event_history_is_read_by_the_keys_arn() {
    let sdk = emulator().await.expect("the emulator");
    let kms = aws_sdk_kms::Client::new(&sdk);
    let created = kms.create_key().send().await.unwrap();
    let metadata = created.key_metadata().unwrap();
    let (key_id, arn) = (
        metadata.key_id().to_owned(),
        metadata.arn().unwrap().to_owned(),
    );
    let alias = format!("alias/{}", unique("check-key"));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let secret = unique("check/under-key");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&secret)
        .kms_key_id(&key_id)
        .secret_string("s3cr3t")
        .send()
        .await
        .unwrap();
    let fake = FakeCloudTrail::start(vec![
        HistoryEvent::of(key_call(&arn, "k-1", 1, "orders-api", false)),
        HistoryEvent::of(read("other/secret", "o-1", 1, "app", None)),
    ]);
    let output = against_moto(&["check", "--key", &alias], &fake, &[]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains(&arn), "{report}");
    assert!(report.contains("IN USE: 1 use by 1 caller"), "{report}");
    assert!(
        report.contains(&format!("secrets under this key (ListSecrets): {secret}")),
        "{report}"
    );
    let lookups = fake.requests();
    assert!(
        lookups.iter().any(
            |r| r["LookupAttributes"][0]["AttributeKey"] == "ResourceName"
                && r["LookupAttributes"][0]["AttributeValue"] == arn.as_str()
        ),
        "{lookups:?}"
    );
}
