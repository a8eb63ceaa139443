//! The README's sample email, and docs/copies.md's chat message and Security Hub finding, are
//! what the command line prints for its sample events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_readmes_sample_email_is_what_invoke_dry_run_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(["invoke", "--dry-run", "--format", "email"])
        .arg(root.join("events/iam-user-pending-deletion.json"))
        .env_remove("RESTORE_MODE")
        .env_remove("VERIFY_READS")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("```\nSubject: ")
        .expect("a sample email in the README")
        + 4;
    let end = start + readme[start..].find("\n```").unwrap();
    assert_eq!(&readme[start..end], printed.trim_end_matches('\n'));
}

/// What `invoke --dry-run --format FORMAT` prints for the Lambda sample, as JSON.
fn printed(format: &str) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_secret-deletion-alerts"))
        .args(["invoke", "--dry-run", "--format", format])
        .arg(root.join("events/lambda-pending-deletion.json"))
        .env_remove("RESTORE_MODE")
        .env_remove("VERIFY_READS")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The JSON block of docs/copies.md (where the README sends its readers for the copies'
/// samples) that starts with `opening`.
fn readme_block(opening: &str) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("docs/copies.md")).unwrap();
    let start = readme
        .find(&format!("```json\n{opening}"))
        .expect("the block")
        + 8;
    let end = start + readme[start..].find("\n```").unwrap();
    serde_json::from_str(&readme[start..end]).unwrap()
}

#[test]
fn the_readmes_chat_message_is_what_the_chat_topic_gets() {
    assert_eq!(readme_block("{\n  \"version\": \"1.0\""), printed("chat"));
}

#[test]
fn the_readmes_finding_is_what_security_hub_gets_but_for_when_it_was_made() {
    let mut shown = readme_block("[\n  {\n    \"SchemaVersion\"");
    let made = printed("finding");
    // `UpdatedAt` is the time of the import.
    shown[0]["UpdatedAt"] = made[0]["UpdatedAt"].clone();
    assert_eq!(shown, made);
}

#[test]
fn the_readmes_scheduled_subject_is_the_sample_alerts() {
    // docs/scheduled.md's sample is the code's own output (tests/it/scheduled.rs holds it);
    // the README shows its subject line.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/scheduled.md")).unwrap();
    let subject = docs
        .lines()
        .find(|line| line.starts_with("Subject: "))
        .expect("a subject in docs/scheduled.md");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```\n{subject}\n```")),
        "README.md should show {subject:?}"
    );
}
