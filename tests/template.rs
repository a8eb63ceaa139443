//! template.yaml as a specification: the subscription can never hide an alert from the code,
//! and the function's role holds no more than the restore policy needs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/filter_pattern.rs"]
mod filter_pattern;

use std::path::Path;

use secret_deletion_alerts::cloudtrail::CloudTrailRecord;
use secret_deletion_alerts::config::DEFAULT_RESTORE_TAG_KEY;
use secret_deletion_alerts::detection::detect;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml"))
        .unwrap();
    // CloudFormation's short tags (!Ref, !If, !Sub) load as the plain values they tag.
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn sample_records() -> Vec<(String, serde_json::Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events/records");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for record in file["Records"].as_array().unwrap() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            records.push((name, record.clone()));
        }
    }
    records
}

fn alerts(record: &serde_json::Value) -> bool {
    let parsed: CloudTrailRecord = serde_json::from_value(record.clone()).unwrap();
    detect(&parsed).is_some()
}

#[test]
fn default_filter_pattern_passes_every_record_that_alerts_and_no_other_sample() {
    let template = template();
    let pattern = template["Parameters"]["FilterPattern"]["Default"]
        .as_str()
        .unwrap();
    let filter = filter_pattern::parse(pattern).unwrap();
    let records = sample_records();
    let alerting = records.iter().filter(|(_, r)| alerts(r)).count();
    assert!(
        alerting >= 6,
        "the samples hold {alerting} alerting records"
    );
    for (file, record) in &records {
        let passes = filter_pattern::matches(&filter, record);
        assert_eq!(
            passes,
            alerts(record),
            "{file}: event {} passes the filter: {passes}",
            record["eventID"]
        );
    }
}

#[test]
fn the_filter_also_passes_the_apostrophe_variants_and_the_older_wording() {
    let template = template();
    let filter = filter_pattern::parse(
        template["Parameters"]["FilterPattern"]["Default"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for message in [
        "You can't perform this operation on the secret because it was marked for deletion.",
        "You can\u{2019}t perform this operation on the secret because it was marked for deletion.",
        "You can't perform this operation on the secret because it was deleted.",
    ] {
        let record = serde_json::json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "GetSecretValue",
            "errorMessage": message,
        });
        assert!(alerts(&record));
        assert!(filter_pattern::matches(&filter, &record), "{message}");
    }
}

/// Every IAM statement in the template, with the condition (if any) under which it exists.
fn statements(
    node: &Yaml,
    condition: Option<&str>,
    conditions: &Yaml,
    out: &mut Vec<(Option<String>, Yaml)>,
) {
    match node {
        Yaml::Hash(hash) => {
            if let Some(Yaml::Array(list)) = hash.get(&Yaml::String("Statement".into())) {
                for statement in list {
                    out.push((condition.map(str::to_owned), statement.clone()));
                }
            }
            for value in hash.values() {
                statements(value, condition, conditions, out);
            }
        }
        Yaml::Array(items) => {
            // !If [Condition, WhenTrue, WhenFalse]
            if let [Yaml::String(name), when_true, when_false] = items.as_slice()
                && !conditions[name.as_str()].is_badvalue()
            {
                statements(when_true, Some(name), conditions, out);
                statements(when_false, condition, conditions, out);
                return;
            }
            for item in items {
                statements(item, condition, conditions, out);
            }
        }
        _ => {}
    }
}

fn actions(statement: &Yaml) -> Vec<String> {
    match &statement["Action"] {
        Yaml::String(action) => vec![action.clone()],
        Yaml::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

#[test]
fn least_privilege_no_wildcard_actions_and_restore_only_under_its_policy() {
    let template = template();
    let mut found = Vec::new();
    statements(
        &template["Resources"],
        None,
        &template["Conditions"],
        &mut found,
    );
    assert!(found.len() >= 6);
    for (_, statement) in &found {
        if statement["Effect"].as_str() == Some("Allow") {
            for action in actions(statement) {
                assert!(
                    !action.contains('*'),
                    "wildcard action {action} in {statement:?}"
                );
            }
        }
    }
    let restores: Vec<&(Option<String>, Yaml)> = found
        .iter()
        .filter(|(_, s)| {
            actions(s)
                .iter()
                .any(|a| a == "secretsmanager:RestoreSecret")
        })
        .collect();
    assert_eq!(restores.len(), 2);
    for (condition, statement) in restores {
        match condition.as_deref() {
            Some("RestoreAll") => {}
            Some("RestoreTagged") => {
                let key = format!("secretsmanager:ResourceTag/{DEFAULT_RESTORE_TAG_KEY}");
                assert_eq!(
                    statement["Condition"]["StringEquals"][key.as_str()].as_str(),
                    Some("true"),
                    "{statement:?}"
                );
            }
            other => panic!("RestoreSecret granted outside the restore policy: {other:?}"),
        }
    }
    let publish: Vec<_> = found
        .iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a == "sns:Publish"))
        .collect();
    assert_eq!(publish.len(), 1);
    assert!(
        !publish[0].1["Resource"]
            .as_str()
            .is_some_and(|r| r.contains('*'))
    );
}

#[test]
fn nothing_is_lost_failed_batches_go_to_a_queue_and_alarms_watch_it() {
    let template = template();
    let function = &template["Resources"]["AlertFunction"]["Properties"];
    let invoke = &function["EventInvokeConfig"];
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"]["Type"].as_str(),
        Some("SQS")
    );
    assert!(invoke["MaximumRetryAttempts"].as_i64().unwrap() >= 1);
    let queue = &template["Resources"]["FailedBatchQueue"]["Properties"];
    assert_eq!(queue["MessageRetentionPeriod"].as_i64(), Some(1_209_600));
    let alarms: Vec<&str> = template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(_, r)| r["Properties"]["MetricName"].as_str().unwrap())
        .collect();
    for metric in ["Errors", "Throttles", "ApproximateNumberOfMessagesVisible"] {
        assert!(alarms.contains(&metric), "no alarm on {metric}");
    }
    assert_eq!(function["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(function["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(
        function["LoggingConfig"]["LogFormat"].as_str(),
        Some("JSON")
    );
}

#[test]
fn restore_mode_parameter_offers_exactly_what_the_function_accepts() {
    let template = template();
    let allowed: Vec<&str> = template["Parameters"]["RestoreMode"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["off", "tagged", "all"]);
    for mode in allowed {
        let config = secret_deletion_alerts::config::Config::from_lookup(|k| {
            (k == "RESTORE_MODE").then(|| mode.to_owned())
        });
        assert!(config.is_ok(), "{mode}");
    }
}
