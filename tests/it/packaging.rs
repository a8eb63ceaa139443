//! The package around the code, as a specification: what the Serverless Application
//! Repository shows is the crate's own version and address, the template it publishes creates
//! only resources that repository takes, and the Lambda artifacts are built without the
//! command line's crates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(project().join("template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn application() -> Yaml {
    template()["Metadata"]["AWS::ServerlessRepo::Application"].clone()
}

fn text(value: &Yaml) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

/// `cargo metadata` of this package alone: its targets, features and [package.metadata].
fn cargo_metadata() -> serde_json::Value {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(project())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"][0].clone()
}

#[test]
fn the_published_version_and_addresses_are_the_crates_own() {
    let application = application();
    assert_eq!(
        text(&application["SemanticVersion"]),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        text(&application["SourceCodeUrl"]),
        env!("CARGO_PKG_REPOSITORY")
    );
    assert_eq!(
        text(&application["HomePageUrl"]),
        env!("CARGO_PKG_REPOSITORY")
    );
    assert_eq!(text(&application["Name"]), env!("CARGO_PKG_NAME"));
}

#[test]
fn the_application_metadata_is_what_the_repository_accepts() {
    let application = application();
    // The repository's own limits (CreateApplication): author lowercase words joined by single
    // hyphens, a description of at most 256 characters, a name of at most 140, at most 10
    // labels of [a-zA-Z0-9+-_:/@], a semantic version, an SPDX identifier it knows.
    let author = text(&application["Author"]);
    assert!(
        !author.is_empty()
            && author.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            }),
        "author {author:?}"
    );
    let description = text(&application["Description"]);
    assert!(!description.is_empty() && description.chars().count() <= 256);
    assert!(text(&application["Name"]).chars().count() <= 140);
    let labels = application["Labels"].as_vec().unwrap();
    assert!(!labels.is_empty() && labels.len() <= 10);
    for label in labels {
        let label = text(label);
        assert!(
            (1..=127).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-_:/@".contains(&b)),
            "label {label:?}"
        );
    }
    let version: Vec<&str> = text(&application["SemanticVersion"]).split('.').collect();
    assert!(version.len() == 3 && version.iter().all(|part| part.parse::<u64>().is_ok()));
    // One identifier from the crate's licence expression, with that licence's own file.
    let spdx = text(&application["SpdxLicenseId"]);
    assert!(env!("CARGO_PKG_LICENSE").split(" OR ").any(|id| id == spdx));
    let licence = text(&application["LicenseUrl"]);
    assert_eq!(
        licence,
        format!("LICENSE-{}", spdx.split('-').next().unwrap().to_uppercase())
    );
    for file in [licence, text(&application["ReadmeUrl"])] {
        assert!(Path::new(&project().join(file)).is_file(), "{file}");
    }
}

/// `sam publish`'s own check of the metadata, and every resource type the expanded template
/// creates against the repository's list of supported resources. Needs the project's .venv
/// (SAM CLI and its translator), which scripts/test installs.
#[test]
#[ignore = "needs .venv (scripts/python-tools); scripts/test runs it"]
fn the_published_template_passes_sam_publish_and_creates_only_supported_resources() {
    let python = project().join(".venv/bin/python");
    assert!(python.is_file(), "run scripts/python-tools first");
    let output = Command::new(python)
        .arg(project().join("scripts/lib/sar_check.py"))
        .arg(project().join("template.yaml"))
        .arg(project().join("docs/sar-supported-resources.txt"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["metadata_errors"], serde_json::json!([]));
    assert_eq!(report["unsupported"], serde_json::json!([]));
    let types = report["resource_types"].as_array().unwrap();
    for expected in [
        "AWS::Lambda::Function",
        "AWS::Logs::SubscriptionFilter",
        "AWS::SNS::Topic",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
}

#[test]
fn the_lambda_artifacts_are_built_without_the_command_line() {
    let template = template();
    for (function, binary) in [("AlertFunction", "bootstrap"), ("CanaryFunction", "canary")] {
        let resource = &template["Resources"][function];
        assert_eq!(
            text(&resource["Metadata"]["BuildMethod"]),
            "rust-cargolambda"
        );
        assert_eq!(
            text(&resource["Metadata"]["BuildProperties"]["Binary"]),
            binary
        );
        assert_eq!(text(&resource["Properties"]["Handler"]), "bootstrap");
    }
    let package = cargo_metadata();
    // What `cargo lambda build` (and so `sam build`) builds with.
    let build = &package["metadata"]["lambda"]["build"];
    assert_eq!(build["no_default_features"], true);
    assert_eq!(build["features"], serde_json::json!(["aws"]));
    let features = &package["features"];
    assert!(
        features["default"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "cli"),
        "`cargo run -- ...` (the README's commands) has the command line"
    );
    let cli: Vec<&str> = features["cli"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for only_the_command_line in [
        "dep:clap",
        "dep:walkdir",
        "dep:indicatif",
        "dep:rayon",
        "dep:aws-sdk-s3",
        "dep:aws-sdk-athena",
        "dep:aws_lambda_events",
    ] {
        assert!(
            cli.contains(&only_the_command_line),
            "{only_the_command_line}"
        );
        assert!(
            !features["aws"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == only_the_command_line),
            "{only_the_command_line} is not in `aws`"
        );
    }
    let targets = package["targets"].as_array().unwrap();
    let required = |name: &str| {
        targets
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["required-features"].clone())
            .unwrap_or_else(|| panic!("no target {name}"))
    };
    assert_eq!(required("bootstrap"), serde_json::json!(["aws"]));
    assert_eq!(required("canary"), serde_json::json!(["aws"]));
    assert_eq!(
        required("secret-deletion-alerts"),
        serde_json::json!(["cli"])
    );
    assert_eq!(
        package["default_run"], "secret-deletion-alerts",
        "`cargo run -- invoke ...` picks the command line"
    );
    // What cargo resolves for the function's build, not what Cargo.toml says it should.
    let tree = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(project())
        .args([
            "tree",
            "--locked",
            "--no-default-features",
            "--features",
            "aws",
        ])
        .args(["--edges", "normal", "--prefix", "none"])
        .output()
        .unwrap();
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let crates: Vec<String> = String::from_utf8_lossy(&tree.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(crates.iter().any(|c| c == "lambda_runtime"), "{crates:?}");
    for only_the_command_line in [
        "clap",
        "walkdir",
        "indicatif",
        "rayon",
        "aws-sdk-s3",
        "aws-sdk-athena",
        "aws_lambda_events",
    ] {
        assert!(
            !crates.iter().any(|c| c == only_the_command_line),
            "the function's build holds {only_the_command_line}"
        );
    }
    for binary in ["src/bin/bootstrap.rs", "src/bin/canary.rs"] {
        let source = std::fs::read_to_string(project().join(binary)).unwrap();
        assert!(
            !source.contains("clap::") && !source.contains("mod cli"),
            "{binary}"
        );
    }
}
