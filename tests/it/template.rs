//! template.yaml as a specification: the subscription can never hide an alert from the code,
//! and the function's role holds no more than the restore policy needs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/filter_pattern.rs"]
mod filter_pattern;

use std::path::Path;

use secret_deletion_alerts::cloudtrail::CloudTrailRecord;
use secret_deletion_alerts::config::DEFAULT_RESTORE_TAG_KEY;
use secret_deletion_alerts::detection::is_pending_deletion_read;
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    load("template.yaml")
}

fn load(name: &str) -> Yaml {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap();
    // CloudFormation's short tags (!Ref, !If, !Sub) load as the plain values they tag.
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// Every statement of a template, with the condition it exists under.
fn all_statements(template: &Yaml) -> Vec<(Option<String>, Yaml)> {
    let mut found = Vec::new();
    statements(
        &template["Resources"],
        None,
        &template["Conditions"],
        &mut found,
    );
    found
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

/// Whether the function acts on the record: a read of a secret pending deletion, a deletion
/// being scheduled, or a use of a KMS key pending deletion.
fn alerts(record: &serde_json::Value) -> bool {
    let parsed: CloudTrailRecord = serde_json::from_value(record.clone()).unwrap();
    let text = record.to_string();
    is_pending_deletion_read(&parsed)
        || secret_deletion_alerts::deletion::seen_in(&parsed, &text).is_some()
        || secret_deletion_alerts::key_use::key_use_in(&parsed, &text).is_some()
        || secret_deletion_alerts::key_state::key_scheduled_in(&parsed, &text).is_some()
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

/// #45: both refusals the KMS key-states table has, whatever the operation and code; and a
/// message that only mentions a key pending deletion further on does not pass.
#[test]
fn the_filter_passes_uses_of_kms_keys_pending_deletion() {
    let template = template();
    let filter = filter_pattern::parse(
        template["Parameters"]["FilterPattern"]["Default"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for (operation, code, message) in [
        (
            "Decrypt",
            "KMSInvalidStateException",
            format!("{key} is pending deletion."),
        ),
        (
            "GenerateDataKey",
            "DisabledException",
            format!("{key} is pending deletion."),
        ),
        (
            "Sign",
            "KMSInvalidStateException",
            format!("{key} is pending replica deletion."),
        ),
    ] {
        let record = serde_json::json!({
            "eventSource": "kms.amazonaws.com",
            "eventName": operation,
            "errorCode": code,
            "errorMessage": message,
        });
        assert!(alerts(&record), "{message}");
        assert!(filter_pattern::matches(&filter, &record), "{message}");
    }
    let elsewhere = serde_json::json!({
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "errorMessage": format!("{key} is pending deletion."),
    });
    assert!(!alerts(&elsewhere));
    assert!(!filter_pattern::matches(&filter, &elsewhere));
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
                    match statement {
                        // !If [Condition, Statement, !Ref AWS::NoValue]: a statement that
                        // exists under its condition.
                        Yaml::Array(branches) => {
                            if let [Yaml::String(name), when_true, when_false] = branches.as_slice()
                            {
                                for branch in [when_true, when_false] {
                                    if branch.as_hash().is_some() {
                                        out.push((Some(name.clone()), branch.clone()));
                                    }
                                }
                            }
                        }
                        _ => out.push((condition.map(str::to_owned), statement.clone())),
                    }
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
        // AWS's default key policy statement hands the key to the account's IAM policies.
        if statement["Sid"].as_str() == Some("EnableIamPolicies") {
            assert_eq!(
                statement["Principal"]["AWS"].as_str(),
                Some("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
            );
            continue;
        }
        if statement["Effect"].as_str() == Some("Allow") {
            for action in actions(statement) {
                // AWS's documented grant for CloudWatch alarms and EventBridge rules
                // publishing to an encrypted topic, in key policies only.
                let services_key = action == "kms:GenerateDataKey*"
                    && !statement["Principal"]["Service"].is_badvalue();
                assert!(
                    !action.contains('*') || services_key,
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
    assert_eq!(restores.len(), 3);
    for (condition, statement) in restores {
        match condition.as_deref() {
            // RestoreMode=all, or OnSchedule=guard.
            Some("RestoreAnySecret") => {}
            Some("RestoreTagged") => {
                let key = format!("secretsmanager:ResourceTag/{DEFAULT_RESTORE_TAG_KEY}");
                assert_eq!(
                    statement["Condition"]["StringEquals"][key.as_str()].as_str(),
                    Some("true"),
                    "{statement:?}"
                );
            }
            // The canary restores its own secret only, to schedule its deletion anew (its role
            // exists under HasCanary).
            None if statement["Resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(":secret:${AWS::StackName}-canary-*")) => {}
            other => panic!("RestoreSecret granted outside the restore policy: {other:?}"),
        }
    }
    let publish: Vec<_> = found
        .iter()
        .filter(|(_, s)| s["Effect"].as_str() == Some("Allow") && s["Principal"].is_badvalue())
        .filter(|(_, s)| actions(s).iter().any(|a| a == "sns:Publish"))
        .collect();
    let conditions: Vec<Option<&str>> = publish.iter().map(|(c, _)| c.as_deref()).collect();
    assert_eq!(
        conditions,
        [None, Some("HasChatTopic")],
        "the alerts, and chat if asked"
    );
    for (_, statement) in publish {
        assert!(
            !statement["Resource"]
                .as_str()
                .is_some_and(|r| r.contains('*'))
        );
    }
}

#[test]
fn security_hub_chat_and_expected_readers_are_off_until_asked_and_grant_only_what_they_use() {
    let template = template();
    let parameters = &template["Parameters"];
    assert_eq!(
        parameters["SecurityHubFindings"]["Default"].as_str(),
        Some("off")
    );
    let modes: Vec<&str> = parameters["SecurityHubFindings"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(modes, ["off", "own", "member"], "what SECURITY_HUB accepts");
    assert_eq!(parameters["ChatTopic"]["Default"].as_str(), Some(""));
    assert_eq!(parameters["ExpectedReaders"]["Default"].as_str(), Some(""));
    let environment =
        &template["Resources"]["AlertFunction"]["Properties"]["Environment"]["Variables"];
    for variable in ["SECURITY_HUB", "CHAT_TOPIC_ARN", "EXPECTED_READERS"] {
        assert!(!environment[variable].is_badvalue(), "{variable}");
    }

    let mut found = Vec::new();
    statements(
        &template["Resources"],
        None,
        &template["Conditions"],
        &mut found,
    );
    let imports: Vec<_> = found
        .iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("securityhub:")))
        .collect();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].0.as_deref(), Some("SecurityHubOwn"));
    assert_eq!(actions(&imports[0].1), ["securityhub:BatchImportFindings"]);
    assert_eq!(
        imports[0].1["Resource"]["Fn::Sub"]
            .as_str()
            .or(imports[0].1["Resource"].as_str()),
        Some(
            "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
        ),
        "this account's own product only"
    );

    let key = &template["Resources"]["ChatTopicKey"];
    assert_eq!(key["Condition"].as_str(), Some("CreateChatTopic"));
    let chatbot = key["Properties"]["KeyPolicy"]["Statement"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("chatbot.amazonaws.com"))
        .expect("Chatbot may read the chat topic");
    assert!(actions(chatbot).contains(&"kms:Decrypt".to_owned()));
    let topic = &template["Resources"]["ChatNotificationTopic"]["Properties"];
    assert_eq!(topic["KmsMasterKeyId"].as_str(), Some("ChatTopicKey"));

    let alarms: Vec<(&str, &Yaml)> = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    for (metric, condition) in [
        ("FindingsUndelivered", "HasSecurityHub"),
        ("ChatUndelivered", "HasChatTopic"),
    ] {
        let (_, alarm) = alarms
            .iter()
            .find(|(_, a)| a["Properties"]["MetricName"].as_str() == Some(metric))
            .unwrap_or_else(|| panic!("no alarm on {metric}"));
        assert_eq!(alarm["Condition"].as_str(), Some(condition));
        assert_eq!(
            alarm["Properties"]["AlarmActions"][0].as_str(),
            Some("OpsTopic")
        );
    }

    let member = load("member-role.yaml");
    let mut granted = Vec::new();
    statements(
        &member["Resources"],
        None,
        &member["Conditions"],
        &mut granted,
    );
    let imports: Vec<_> = granted
        .iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("securityhub:")))
        .collect();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].0.as_deref(), Some("ImportsFindings"));
    assert_eq!(
        member["Parameters"]["SecurityHubFindings"]["Default"].as_str(),
        Some("false")
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
    for metric in [
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
        // Where a batch can vanish without a failed invocation to show for it.
        "DestinationDeliveryFailures",
        "AsyncEventsDropped",
        "DeliveryErrors",
        "DeliveryThrottling",
        // The quiet window's table failing makes alerts louder, never fewer.
        "AlertStateErrors",
        // Something other than CloudTrail writes into the trail's log group.
        "RecordsMalformed",
    ] {
        assert!(alarms.contains(&metric), "no alarm on {metric}");
    }
    let queue = &template["Resources"]["FailedBatchQueue"];
    assert_eq!(queue["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(queue["UpdateReplacePolicy"].as_str(), Some("Retain"));
    assert_eq!(function["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(function["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(
        function["LoggingConfig"]["LogFormat"].as_str(),
        Some("JSON")
    );
}

#[test]
fn the_quiet_window_table_is_on_by_default_retained_and_reachable_only_by_update_item() {
    let template = template();
    let table = &template["Resources"]["AlertStateTable"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        properties["SSESpecification"]["SSEEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        properties["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some("expires_at")
    );
    let variables =
        &template["Resources"]["AlertFunction"]["Properties"]["Environment"]["Variables"];
    // !Ref loads as the plain name.
    assert_eq!(
        variables["ALERT_STATE_TABLE"].as_str(),
        Some("AlertStateTable")
    );
    assert_eq!(variables["ALERT_WINDOW"].as_str(), Some("AlertWindow"));
    let window = template["Parameters"]["AlertWindow"]["Default"]
        .as_str()
        .unwrap();
    let config = secret_deletion_alerts::config::Config::from_lookup(|k| match k {
        "ALERT_STATE_TABLE" => Some("table".to_owned()),
        "ALERT_WINDOW" => Some(window.to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(
        config.quiet_window(),
        Some(std::time::Duration::from_secs(3600))
    );

    let mut found = Vec::new();
    statements(
        &template["Resources"],
        None,
        &template["Conditions"],
        &mut found,
    );
    let granted: Vec<Vec<String>> = found
        .iter()
        .filter(|(_, s)| s["Effect"].as_str() == Some("Allow"))
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .map(|(_, s)| actions(s))
        .collect();
    assert_eq!(granted, [vec!["dynamodb:UpdateItem".to_owned()]]);
}

#[test]
fn only_the_functions_role_may_write_to_the_quiet_window_table() {
    let template = template();
    let policy = &template["Resources"]["AlertStateTable"]["Properties"]["ResourcePolicy"]["PolicyDocument"]
        ["Statement"];
    let statement = &policy[0];
    assert_eq!(statement["Effect"].as_str(), Some("Deny"));
    assert_eq!(statement["Principal"].as_str(), Some("*"));
    let denied = actions(statement);
    for write in [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLDelete",
    ] {
        assert!(denied.iter().any(|a| a == write), "{write} not denied");
    }
    // !GetAtt loads as its plain text: the function's own role.
    assert_eq!(
        statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].as_str(),
        Some("AlertFunctionRole.Arn")
    );
    let alarm = &template["Resources"]["WindowItemsCorruptAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"].as_str(), Some("WindowItemsCorrupt"));
    assert_eq!(alarm["AlarmActions"][0].as_str(), Some("OpsTopic"));
}

#[test]
fn the_function_assumes_only_the_member_role_and_only_inside_its_organization() {
    let template = template();
    let assumes: Vec<(Option<String>, Yaml)> = all_statements(&template)
        .into_iter()
        // Trust policies (a Principal) let a service assume a role; these are grants.
        .filter(|(_, s)| s["Principal"].is_badvalue())
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("sts:")))
        .collect();
    assert_eq!(assumes.len(), 1);
    let (condition, statement) = &assumes[0];
    assert_eq!(
        condition.as_deref(),
        Some("HasMemberRole"),
        "no role, no sts:AssumeRole"
    );
    assert_eq!(actions(statement), ["sts:AssumeRole"]);
    // The one wildcard, in the account field only.
    assert_eq!(
        statement["Resource"].as_str(),
        Some("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}")
    );
    assert_eq!(
        statement["Condition"]["StringEquals"]["aws:ResourceOrgID"].as_str(),
        Some("${aws:PrincipalOrgID}")
    );
    let variables =
        &template["Resources"]["AlertFunction"]["Properties"]["Environment"]["Variables"];
    assert!(!variables["MEMBER_ROLE_NAME"].is_badvalue());
    assert!(!variables["ACCOUNTS"].is_badvalue());
    assert_eq!(
        template["Outputs"]["FunctionRoleArn"]["Value"]
            .as_str()
            .or_else(|| template["Outputs"]["FunctionRoleArn"]["Value"][0].as_str()),
        Some("AlertFunctionRole.Arn")
    );
}

/// The template with one resource kept.
fn only(template: &Yaml, resource: &str) -> Yaml {
    let mut kept = template.clone();
    if let Yaml::Hash(root) = &mut kept
        && let Some(Yaml::Hash(resources)) = root.get_mut(&Yaml::String("Resources".into()))
    {
        resources.retain(|name, _| name.as_str() == Some(resource));
    }
    kept
}

#[test]
fn the_checkers_role_exists_only_when_asked_for_and_can_only_look() {
    let member = load("member-role.yaml");
    let role = &member["Resources"]["CheckerRole"];
    assert_eq!(role["Condition"].as_str(), Some("HasCheckers"));
    let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_vec().unwrap().len(), 1);
    assert_eq!(
        trust[0]["Principal"]["AWS"].as_str(),
        Some("CheckerPrincipalArns")
    );
    let conditions = &trust[0]["Condition"]["StringEquals"];
    assert_eq!(
        conditions["aws:PrincipalOrgID"].as_str(),
        Some("OrganizationId")
    );
    // check acts under the function's session name (`aws::MEMBER_SESSION_NAME`).
    assert_eq!(
        conditions["sts:RoleSessionName"].as_str(),
        Some(secret_deletion_alerts::aws::MEMBER_SESSION_NAME)
    );
    let mut granted: Vec<String> = all_statements(&only(&member, "CheckerRole"))
        .into_iter()
        .filter(|(_, s)| s["Sid"].as_str() != Some("TheCheckersOnly"))
        .flat_map(|(_, s)| actions(&s))
        .collect();
    granted.sort();
    assert_eq!(
        granted,
        [
            "cloudtrail:LookupEvents",
            "secretsmanager:DescribeSecret",
            "secretsmanager:ListSecrets"
        ],
        "no GetSecretValue, no RestoreSecret"
    );
    assert_eq!(
        member["Parameters"]["CheckerPrincipalArns"]["Default"].as_str(),
        Some(""),
        "off unless principals are given"
    );
}

#[test]
fn the_member_role_trusts_the_central_function_in_the_organization_and_restores_only_by_policy() {
    let member = load("member-role.yaml");
    let role = &member["Resources"]["MemberRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_vec().unwrap().len(), 1);
    assert_eq!(
        trust[0]["Principal"]["AWS"].as_str(),
        Some("CentralFunctionRoleArn")
    );
    assert_eq!(trust[0]["Action"].as_str(), Some("sts:AssumeRole"));
    let conditions = &trust[0]["Condition"]["StringEquals"];
    assert_eq!(
        conditions["aws:PrincipalOrgID"].as_str(),
        Some("OrganizationId")
    );
    assert_eq!(
        conditions["sts:RoleSessionName"].as_str(),
        Some("secret-deletion-alerts")
    );

    let found: Vec<(Option<String>, Yaml)> = all_statements(&only(&member, "MemberRole"))
        .into_iter()
        .filter(|(_, s)| s["Sid"].as_str() != Some("TheCentralFunctionOnly"))
        .collect();
    let mut granted: Vec<(Option<String>, String)> = Vec::new();
    for (condition, statement) in &found {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let resource = statement["Resource"].as_str().unwrap();
        let only_star = [
            "cloudtrail:LookupEvents",
            "kms:ListAliases",
            "secretsmanager:ListSecrets",
        ];
        if let [action] = actions(statement).as_slice()
            && only_star.contains(&action.as_str())
        {
            assert_eq!(resource, "*", "{action} takes no other resource");
        } else if actions(statement).iter().all(|a| a.starts_with("kms:")) {
            assert_eq!(
                resource, "arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*",
                "the member's own keys only"
            );
        } else if actions(statement) == ["securityhub:BatchImportFindings"] {
            assert_eq!(
                resource,
                "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default",
                "the member's own product only"
            );
        } else {
            assert_eq!(
                resource, "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:*",
                "the member's own secrets only"
            );
        }
        for action in actions(statement) {
            granted.push((condition.clone(), action));
        }
        let tag_checked = condition.as_deref() == Some("RestoreTagged")
            || statement["Sid"].as_str() == Some("EnableTaggedKeyAfterCancel");
        if tag_checked {
            let prefix = if actions(statement)[0].starts_with("kms:") {
                "aws"
            } else {
                "secretsmanager"
            };
            let key = format!("{prefix}:ResourceTag/{DEFAULT_RESTORE_TAG_KEY}");
            assert_eq!(
                statement["Condition"]["StringEquals"][key.as_str()].as_str(),
                Some("true")
            );
        }
    }
    granted.sort();
    assert_eq!(
        granted,
        [
            (None, "cloudtrail:LookupEvents".to_owned()),
            (None, "kms:DescribeKey".to_owned()),
            (None, "kms:ListAliases".to_owned()),
            (None, "kms:ListResourceTags".to_owned()),
            (None, "secretsmanager:DescribeSecret".to_owned()),
            (None, "secretsmanager:ListSecrets".to_owned()),
            (
                Some("EnablesKeysAfterCancel".to_owned()),
                "kms:EnableKey".to_owned()
            ),
            (
                Some("EnablesKeysAfterCancel".to_owned()),
                "kms:EnableKey".to_owned()
            ),
            (
                Some("ImportsFindings".to_owned()),
                "securityhub:BatchImportFindings".to_owned()
            ),
            (
                Some("RestoreAnySecret".to_owned()),
                "kms:CancelKeyDeletion".to_owned()
            ),
            (
                Some("RestoreAnySecret".to_owned()),
                "secretsmanager:RestoreSecret".to_owned()
            ),
            (
                Some("RestoreTagged".to_owned()),
                "kms:CancelKeyDeletion".to_owned()
            ),
            (
                Some("RestoreTagged".to_owned()),
                "secretsmanager:RestoreSecret".to_owned()
            ),
        ]
    );
    let modes: Vec<&str> = member["Parameters"]["RestoreMode"]["AllowedValues"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(modes, ["off", "tagged", "all"]);
    let default_name = member["Parameters"]["RoleName"]["Default"]
        .as_str()
        .unwrap();
    assert!(
        secret_deletion_alerts::config::Config::from_lookup(|k| {
            (k == "MEMBER_ROLE_NAME").then(|| default_name.to_owned())
        })
        .is_ok()
    );
}

#[test]
fn the_function_may_ask_event_history_and_confirms_every_alerts_reads_by_default() {
    let template = template();
    let lookups: Vec<(Option<String>, Yaml)> = all_statements(&template)
        .into_iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("cloudtrail:")))
        .collect();
    assert_eq!(lookups.len(), 1);
    assert_eq!(actions(&lookups[0].1), ["cloudtrail:LookupEvents"]);
    let variables =
        &template["Resources"]["AlertFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["VERIFY_READS"].as_str(), Some("VerifyReads"));
    let parameter = &template["Parameters"]["VerifyReads"];
    assert_eq!(parameter["Default"].as_str(), Some("always"));
    for value in parameter["AllowedValues"].as_vec().unwrap() {
        let value = value.as_str().unwrap();
        let config = secret_deletion_alerts::config::Config::from_lookup(|k| match k {
            "VERIFY_READS" => Some(value.to_owned()),
            _ => None,
        });
        assert!(config.is_ok(), "{value}");
    }
    let config = secret_deletion_alerts::config::Config::from_lookup(|k| match k {
        "VERIFY_READS" => Some("always".to_owned()),
        "VERIFY_WAIT" => variables[k].as_str().map(str::to_owned),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.verify_wait, std::time::Duration::from_secs(20));
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

#[test]
fn the_kms_parameters_offer_exactly_what_the_function_accepts() {
    let template = template();
    for (parameter, variable, values) in [
        ("KmsKeys", "KMS_KEYS", ["on", "off"]),
        (
            "KmsEnableAfterCancel",
            "KMS_ENABLE_AFTER_CANCEL",
            ["false", "true"],
        ),
    ] {
        let allowed: Vec<&str> = template["Parameters"][parameter]["AllowedValues"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(allowed, values, "{parameter}");
        for value in allowed {
            let config = secret_deletion_alerts::config::Config::from_lookup(|k| {
                (k == variable).then(|| value.to_owned())
            });
            assert!(config.is_ok(), "{variable}={value}");
        }
    }
}

fn resources_of_type<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    template["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(name, r)| (name.as_str().unwrap(), r))
        .collect()
}

#[test]
fn alarms_go_to_their_own_topic_never_into_the_alert_topic() {
    let template = template();
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 7);
    for (name, alarm) in alarms {
        let actions = alarm["Properties"]["AlarmActions"].as_vec().unwrap();
        assert_eq!(actions.len(), 1, "{name}");
        // !Ref OpsTopic loads as the plain name.
        assert_eq!(actions[0].as_str(), Some("OpsTopic"), "{name}");
    }
    let subscription = &template["Resources"]["OpsEmailSubscription"]["Properties"];
    assert_eq!(subscription["TopicArn"].as_str(), Some("OpsTopic"));
    // The ops email defaults to the alert email.
    let endpoint = subscription["Endpoint"].as_vec().unwrap();
    assert_eq!(endpoint[0].as_str(), Some("HasOwnOpsEmail"));
    assert_eq!(endpoint[1].as_str(), Some("OpsEmail"));
    assert_eq!(endpoint[2].as_str(), Some("AlertEmail"));
}

#[test]
fn the_subscription_delivery_alarms_watch_the_filter_the_stack_creates() {
    let template = template();
    let filter = &template["Resources"]["CloudTrailSubscription"]["Properties"];
    let filter_name = filter["FilterName"].as_str().unwrap();
    assert_eq!(filter["FilterPattern"].as_str(), Some("FilterPattern"));
    for alarm in [
        "SubscriptionDeliveryErrorsAlarm",
        "SubscriptionDeliveryThrottlingAlarm",
    ] {
        let properties = &template["Resources"][alarm]["Properties"];
        assert_eq!(properties["Namespace"].as_str(), Some("AWS/Logs"));
        let dimensions: Vec<(&str, &Yaml)> = properties["Dimensions"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|d| (d["Name"].as_str().unwrap(), &d["Value"]))
            .collect();
        let names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["LogGroupName", "DestinationType", "FilterName"]);
        assert_eq!(dimensions[1].1.as_str(), Some("Lambda"));
        assert_eq!(dimensions[2].1.as_str(), Some(filter_name), "{alarm}");
        assert_eq!(dimensions[0].1, &filter["LogGroupName"], "{alarm}");
    }
}

#[test]
fn topics_are_encrypted_with_a_key_cloudwatch_alarms_can_use() {
    let template = template();
    let key = template["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"]
        .as_vec()
        .expect("the alert topic is encrypted");
    assert_eq!(key[0].as_str(), Some("CreateKey"));
    assert_eq!(key[1].as_str(), Some("TopicKey"));
    assert_eq!(key[2].as_str(), Some("TopicKmsKeyArn"));
    // The operations topic has a key of its own: a disabled alert key cannot silence both.
    assert_eq!(
        template["Resources"]["OpsTopic"]["Properties"]["KmsMasterKeyId"].as_str(),
        Some("OpsTopicKey")
    );
    for name in ["TopicKey", "OpsTopicKey"] {
        let key = &template["Resources"][name];
        assert_eq!(key["Properties"]["EnableKeyRotation"].as_bool(), Some(true));
        let statements = key["Properties"]["KeyPolicy"]["Statement"]
            .as_vec()
            .unwrap();
        let cloudwatch = statements
            .iter()
            .find(|s| s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com"))
            .expect("the key lets CloudWatch alarms publish");
        assert_eq!(actions(cloudwatch), ["kms:Decrypt", "kms:GenerateDataKey*"]);
        assert_eq!(
            cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"].as_str(),
            Some("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"),
            "{name}: only this account's alarms"
        );
    }
    // The function uses the alert key through SNS only.
    let through_sns = all_statements(&template)
        .into_iter()
        .find(|(_, s)| s["Sid"].as_str() == Some("EncryptAlertsForTheTopic"))
        .unwrap()
        .1;
    assert_eq!(
        through_sns["Condition"]["StringEquals"]["kms:ViaService"].as_str(),
        Some("sns.${AWS::Region}.amazonaws.com")
    );
}

#[test]
fn the_function_cannot_write_into_the_trails_log_group() {
    let template = template();
    let function = &template["Resources"]["AlertFunction"]["Properties"];
    // Its own role, not SAM's (AWSLambdaBasicExecutionRole grants PutLogEvents on "*").
    assert_eq!(function["Role"].as_str(), Some("AlertFunctionRole.Arn"));
    assert!(function["Policies"].is_badvalue());
    let role = &template["Resources"]["AlertFunctionRole"]["Properties"];
    assert!(role["ManagedPolicyArns"].is_badvalue());
    let logs: Vec<(Option<String>, Yaml)> = all_statements(&template)
        .into_iter()
        .filter(|(_, s)| actions(s).iter().any(|a| a.starts_with("logs:")))
        .collect();
    for (_, statement) in &logs {
        let resource = statement["Resource"].as_str().unwrap_or_default();
        assert!(
            [
                "AlertFunctionLogGroup.Arn",
                "CanaryFunctionLogGroup.Arn",
                "${TrailLogGroup.Arn}"
            ]
            .contains(&resource),
            "logs access beyond a log group of the stack's own: {statement:?}"
        );
    }
    assert_eq!(
        function["ReservedConcurrentExecutions"].as_str(),
        Some("ReservedConcurrency"),
        "a forged storm cannot drain the account's concurrency"
    );
}

#[test]
fn only_the_function_publishes_alerts_and_only_administrators_subscribe() {
    let template = template();
    let policy = &template["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"];
    let statements = policy["Statement"].as_vec().unwrap();
    let publish = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("OnlyTheFunctionPublishes"))
        .unwrap();
    assert_eq!(publish["Effect"].as_str(), Some("Deny"));
    assert_eq!(
        publish["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].as_str(),
        Some("AlertFunctionRole.Arn")
    );
    for topic in ["AlertTopicPolicy", "OpsTopicPolicy"] {
        let statements = template["Resources"][topic]["Properties"]["PolicyDocument"]["Statement"]
            .as_vec()
            .unwrap();
        let subscribe = statements
            .iter()
            .find(|s| s["Sid"].as_str() == Some("OnlyAdministratorsSubscribeOrReconfigure"))
            .unwrap_or_else(|| panic!("{topic}"));
        assert_eq!(subscribe["Effect"].as_str(), Some("Deny"));
        let denied = actions(subscribe);
        for action in [
            "sns:Subscribe",
            "sns:SetTopicAttributes",
            "sns:DeleteTopic",
            "sns:PutDataProtectionPolicy",
        ] {
            assert!(denied.contains(&action.to_owned()), "{topic}: {action}");
        }
        // !Split [",", !Join [",", [administrators, the stack's service role]]]: no
        // aws:CalledVia exemption, which anyone who may create a stack could pass.
        let allowed = format!(
            "{:?}",
            subscribe["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        );
        assert!(allowed.contains("TopicAdministrators"), "{allowed}");
        assert!(allowed.contains("StackServiceRoleArn"), "{allowed}");
        assert!(
            !format!("{:?}", subscribe["Condition"]).contains("CalledVia"),
            "{topic}"
        );
    }
    // The default administrators are this account's, not any account's.
    assert_eq!(
        template["Parameters"]["TopicAdministrators"]["Default"].as_str(),
        Some("")
    );
    let rules = format!(
        "{:?}{:?}",
        template["Resources"]["TopicsChangedRule"]["Properties"]["EventPattern"],
        template["Resources"]["TopicSubscriptionsChangedRule"]["Properties"]["EventPattern"]
    );
    for watched in [
        "Unsubscribe",
        "SetSubscriptionAttributes",
        "DeleteTopic",
        "SetTopicAttributes",
    ] {
        assert!(rules.contains(watched), "{watched}");
    }
    let ops = template["Resources"]["OpsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_vec()
        .unwrap();
    let only = ops
        .iter()
        .find(|s| s["Sid"].as_str() == Some("OnlyAlarmsAndRulesPublish"))
        .unwrap();
    let services: Vec<&str> = only["Condition"]["StringNotEquals"]["aws:PrincipalServiceName"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    );
    // The trail's role trusts CloudTrail for this stack's trail only.
    let trust = &template["Resources"]["TrailToLogsRole"]["Properties"]["AssumeRolePolicyDocument"]
        ["Statement"][0];
    assert!(
        trust["Condition"]["StringEquals"]["aws:SourceArn"]
            .as_str()
            .unwrap()
            .ends_with(":trail/${AWS::StackName}-trail")
    );
}

#[test]
fn it_says_when_it_goes_blind() {
    let template = template();
    let alarms: Vec<&str> = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, r)| r["Properties"]["MetricName"].as_str().unwrap())
        .collect();
    for metric in [
        "LookupFailures",
        "MemberRoleFailures",
        "RestoresUnverified",
        "RestoresFailed",
        "NumberOfNotificationsFailed",
        "ApproximateAgeOfOldestMessage",
        "CanaryReadsSeen",
    ] {
        assert!(alarms.contains(&metric), "no alarm on {metric}");
    }
    let canary = &template["Resources"]["CanaryReadsAlarm"]["Properties"];
    assert_eq!(
        canary["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(
        canary["TreatMissingData"].as_str(),
        Some("breaching"),
        "no canary read at all is the failure it is for"
    );
    assert_eq!(
        template["Parameters"]["Canary"]["Default"].as_str(),
        Some("true")
    );
    let rules: Vec<(&str, &Yaml)> = resources_of_type(&template, "AWS::Events::Rule");
    let watched: Vec<String> = rules
        .iter()
        .flat_map(|(_, rule)| {
            rule["Properties"]["EventPattern"]["detail"]["eventName"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|name| {
                    name.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| name["prefix"].as_str().unwrap().to_owned())
                })
        })
        .collect();
    for event in [
        "DeleteSubscriptionFilter",
        "PutSubscriptionFilter",
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
        "UpdateFunctionConfiguration",
        "UpdateFunctionCode",
        "DisableKey",
        "ScheduleKeyDeletion",
        "PutKeyPolicy",
    ] {
        assert!(watched.contains(&event.to_owned()), "no rule on {event}");
    }
    for (name, rule) in rules {
        let targets = rule["Properties"]["Targets"].as_vec().unwrap();
        assert_eq!(targets[0]["Arn"].as_str(), Some("OpsTopic"), "{name}");
    }
}

#[test]
fn the_canary_may_touch_its_own_secret_only_and_the_function_knows_its_name() {
    let template = template();
    let statements: Vec<Yaml> =
        template["Resources"]["CanaryFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_vec()
            .unwrap()
            .clone();
    let secrets = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("KeepTheCanaryPendingDeletion"))
        .unwrap();
    assert!(
        secrets["Resource"]
            .as_str()
            .unwrap()
            .ends_with(":secret:${AWS::StackName}-canary-*")
    );
    let name = |function: &str| {
        template["Resources"][function]["Properties"]["Environment"]["Variables"]
            ["CANARY_SECRET_NAME"]
            .clone()
    };
    assert_eq!(
        name("CanaryFunction").as_str(),
        Some("${AWS::StackName}-canary")
    );
    assert_eq!(
        name("AlertFunction")[1].as_str(),
        Some("${AWS::StackName}-canary")
    );
    assert_eq!(
        template["Resources"]["CanaryFunction"]["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("canary")
    );
}

#[test]
fn the_timeout_leaves_room_for_the_deadline_reserve() {
    let template = template();
    let function = &template["Resources"]["AlertFunction"]["Properties"];
    let timeout = function["Timeout"].as_i64().unwrap();
    let operation_ms: i64 = function["Environment"]["Variables"]["SDK_OPERATION_TIMEOUT_MS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The handler starts no secret with less than one secret's worst case left; a timeout of
    // less than twice that would leave little time to start any.
    let reserve = secret_deletion_alerts::handler::secret_reserve(
        std::time::Duration::from_millis(operation_ms as u64),
    );
    assert!(
        std::time::Duration::from_secs(timeout as u64) >= 2 * reserve,
        "{timeout} s against a reserve of {reserve:?}"
    );
}
