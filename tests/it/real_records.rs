//! Third-party CloudTrail records (bench/data/: stratus-red-team's detonation logs and
//! panther-analysis's rule tests, Apache-2.0) through `scan` and `check`, against answers
//! worked out by hand from the records themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn extract(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench/data")
        .join(name);
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Both extracts, 741 records, as one export file (`{"Records":[...]}`), in a fresh directory.
fn export(records: &[Value]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, json!({ "Records": records }).to_string()).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

fn all_records() -> Vec<Value> {
    let mut records = extract("stratus-red-team-detonation-logs.jsonl.gz");
    records.extend(extract("panther-analysis-rule-tests.jsonl.gz"));
    assert_eq!(records.len(), 741);
    records
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("ALERT_TOPIC_ARN")
        .env_remove("EXPECTED_READERS")
        .env("RUST_LOG", "off")
        .output()
        .unwrap()
}

fn document(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn no_published_record_is_a_read_of_a_secret_pending_deletion() {
    // 25 of the 741 records are GetSecretValue (20 by stratus, an AccessDenied and a bare one
    // by panther; BatchGetSecretValue's requests are not reads of one secret): none was refused
    // for a deletion.
    let (_dir, path) = export(&all_records());
    let output = cli(&["scan", "--json", &path]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn one_of_them_refused_for_a_deletion_is_found_and_alerted_with_its_reader() {
    let mut records = all_records();
    // stratus's read of secret 18 by the IAM user christophe, as if the secret were pending
    // deletion.
    let read = records
        .iter_mut()
        .find(|r| {
            r["requestParameters"]["secretId"]
                .as_str()
                .is_some_and(|s| s.ends_with("retrieve-secret-18-4Rzn83"))
        })
        .unwrap();
    read["errorCode"] = "InvalidRequestException".into();
    read["errorMessage"] =
        "You can't perform this operation on the secret because it was marked for deletion.".into();
    let (_dir, path) = export(&records);
    let output = cli(&["scan", "--json", &path]);
    assert_eq!(output.status.code(), Some(3));
    let alert = document(&output);
    assert_eq!(
        alert["secret"]["display_name"],
        "stratus-red-team-retrieve-secret-18-4Rzn83"
    );
    assert_eq!(alert["secret"]["account_id"], "903144391865");
    assert_eq!(alert["attempts_total"], 1);
    assert_eq!(
        alert["event_ids"],
        json!(["b9c3d881-1e77-426c-abd3-5ca20d903380"])
    );
    let text = alert.to_string();
    assert!(
        text.contains("arn:aws:iam::903144391865:user/christophe"),
        "{text}"
    );
}

#[test]
fn check_counts_each_secrets_own_reads_by_full_arn_and_by_name_in_its_account_and_region() {
    let (_dir, path) = export(&all_records());
    // By full ARN: one successful read, by christophe.
    let by_arn = cli(&[
        "check",
        "--offline",
        "--json",
        "--days",
        "36500",
        "--source",
        &path,
        "arn:aws:secretsmanager:cn-centraleast-1r:903144391865:secret:stratus-red-team-retrieve-secret-18-4Rzn83",
    ]);
    assert_eq!(by_arn.status.code(), Some(3), "in use");
    let answer = document(&by_arn);
    assert_eq!(
        (answer["verdict"].clone(), answer["reads"].clone()),
        (json!("in_use"), json!(1))
    );
    assert_eq!(
        answer["readers"][0]["caller"], "arn:aws:iam::903144391865:user/christophe",
        "{answer}"
    );

    // By name, in panther's account and region: the AccessDenied read by an Identity Center
    // session (its time written as Athena writes it), not stratus's secret 3 of the same name
    // in another account.
    let by_name = cli(&[
        "check",
        "--offline",
        "--json",
        "--days",
        "36500",
        "--account",
        "123123123123",
        "--region",
        "us-west-2",
        "--source",
        &path,
        "stratus-red-team-retrieve-secret-3",
    ]);
    assert_eq!(by_name.status.code(), Some(3));
    let answer = document(&by_name);
    assert_eq!(
        (answer["reads"].clone(), answer["refused_reads"].clone()),
        (json!(1), json!(1)),
        "{answer}"
    );
    assert_eq!(
        answer["readers"][0]["example_event_ids"],
        json!(["dfd6d93a-2ce6-4dbe-8939-86b8ba67c868"]),
        "{answer}"
    );
}
