//! The README's sample email is what the command line prints for its sample event.
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
