//! The workload table: each kind from a record shaped as AWS writes it (session names and
//! user agents as the services set them), and the near shapes that must stay `role` or
//! `unknown`.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::cloudtrail::CloudTrailRecord;
use crate::detection::{Origin, detect};

fn role_read(role: &str, session: &str, agent: &str) -> serde_json::Value {
    serde_json::json!({
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "eu-west-1",
        "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
        "requestParameters": {"secretId": "prod/db"},
        "eventID": "e1",
        "sourceIPAddress": "10.0.1.7",
        "userAgent": agent,
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROAEXAMPLE:{session}"),
            "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/{session}"),
            "accountId": "123456789012",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role,
                "arn": format!("arn:aws:iam::123456789012:role/{role}")},
                "attributes": {"mfaAuthenticated": "false"}}
        }
    })
}

fn classify_json(record: &serde_json::Value) -> Workload {
    let record: CloudTrailRecord = serde_json::from_value(record.clone()).unwrap();
    let access = detect(
        &record,
        Origin::LogEvent {
            id: "1".into(),
            timestamp_ms: None,
        },
    )
    .unwrap();
    classify(&access)
}

const BOTO: &str = "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.84";
const LAMBDA_NODE: &str = "aws-sdk-js/3.583.0 ua/2.0 os/linux#5.10.216-225.855.amzn2.x86_64 lang/js md/nodejs#20.13.1 api/secrets-manager#3.583.0 exec-env/AWS_Lambda_nodejs20.x";
const FARGATE: &str = "aws-sdk-java/2.25.60 Linux/5.10.217 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy";

/// A record as the service itself would make it: `invokedBy` names it (a field AWS sets).
fn invoked_by(mut record: serde_json::Value, service: &str) -> serde_json::Value {
    record["userIdentity"]["invokedBy"] = service.into();
    record
}

/// An instance profile's record: AWS sets `ec2RoleDelivery` on credentials from the IMDS.
fn from_instance_metadata(mut record: serde_json::Value) -> serde_json::Value {
    record["userIdentity"]["sessionContext"]["ec2RoleDelivery"] = "2.0".into();
    record
}

const CODEBUILD_SESSION: &str = "AWSCodeBuild-5f0d3b9e-1c2a-4b7e-9d8f-0a1b2c3d4e5f";
const POD_SESSION: &str = "eks-prod-orders-7d9f8b6c4-x2x9q-1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081";
const TASK_SESSION: &str = "3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d";

#[test]
fn a_session_name_or_user_agent_alone_makes_a_workload_likely() {
    let table: Vec<(&str, serde_json::Value, WorkloadKind, &str)> = vec![
        (
            "lambda, by its runtime's user agent",
            role_read("orders-api-role-x1y2", "orders-api", LAMBDA_NODE),
            WorkloadKind::Lambda,
            "orders-api",
        ),
        (
            "lambda on a custom runtime: a role that says lambda",
            role_read(
                "orders-lambda-role",
                "orders-api",
                "aws-sdk-rust/1.3.9 os/linux lang/rust#1.80.0",
            ),
            WorkloadKind::Lambda,
            "orders-api",
        ),
        (
            "ecs on fargate",
            role_read("orders-task", TASK_SESSION, FARGATE),
            WorkloadKind::EcsTask,
            TASK_SESSION,
        ),
        (
            "ecs without its exec-env",
            role_read("orders-task", TASK_SESSION, BOTO),
            WorkloadKind::EcsTask,
            TASK_SESSION,
        ),
        (
            "a session named like an instance, without ec2RoleDelivery",
            role_read("app-server-role", "i-0abc1234def567890", BOTO),
            WorkloadKind::Ec2Instance,
            "i-0abc1234def567890",
        ),
        (
            "a session named like CodeBuild's",
            role_read("codebuild-deploy-service-role", CODEBUILD_SESSION, BOTO),
            WorkloadKind::Codebuild,
            CODEBUILD_SESSION,
        ),
        (
            "github actions",
            role_read(
                "deploy",
                "GitHubActions",
                "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1022-azure md/arch#x86_64 lang/python#3.11.9",
            ),
            WorkloadKind::GithubActions,
            "GitHubActions",
        ),
        (
            "a session named like EKS Pod Identity's",
            role_read("orders-pod-role", POD_SESSION, BOTO),
            WorkloadKind::EksPod,
            "prod-orders-7d9f8b6c4-x2x9q",
        ),
        (
            "eks irsa with boto",
            role_read("orders-irsa", "botocore-session-1716912345", BOTO),
            WorkloadKind::EksPod,
            "botocore-session-1716912345",
        ),
        (
            "a session named like Glue's",
            role_read("AWSGlueServiceRole-etl", "GlueJobRunnerSession", BOTO),
            WorkloadKind::GlueJob,
            "GlueJobRunnerSession",
        ),
    ];
    for (case, record, kind, name) in table {
        let workload = classify_json(&record);
        assert_eq!(
            (workload.kind, workload.confidence, workload.name.as_str()),
            (kind, Confidence::Likely, name),
            "{case}: {workload:?}"
        );
        assert!(!workload.evidence.is_empty(), "{case}");
    }
}

#[test]
fn a_field_aws_sets_makes_the_same_workload_certain() {
    let table: Vec<(&str, serde_json::Value, WorkloadKind)> = vec![
        (
            "an instance profile: ec2RoleDelivery",
            from_instance_metadata(role_read("app-server-role", "i-0abc1234def567890", BOTO)),
            WorkloadKind::Ec2Instance,
        ),
        (
            "codebuild, invoked by codebuild.amazonaws.com",
            invoked_by(
                role_read("codebuild-deploy-service-role", CODEBUILD_SESSION, BOTO),
                "codebuild.amazonaws.com",
            ),
            WorkloadKind::Codebuild,
        ),
        (
            "glue, invoked by glue.amazonaws.com",
            invoked_by(
                role_read("AWSGlueServiceRole-etl", "GlueJobRunnerSession", BOTO),
                "glue.amazonaws.com",
            ),
            WorkloadKind::GlueJob,
        ),
        (
            "eks pod identity, invoked by pods.eks.amazonaws.com",
            invoked_by(
                role_read("orders-pod-role", POD_SESSION, BOTO),
                "pods.eks.amazonaws.com",
            ),
            WorkloadKind::EksPod,
        ),
        (
            "an ecs task, from ecs-tasks.amazonaws.com",
            {
                let mut record = role_read("orders-task", TASK_SESSION, FARGATE);
                record["sourceIPAddress"] = "ecs-tasks.amazonaws.com".into();
                record
            },
            WorkloadKind::EcsTask,
        ),
    ];
    for (case, record, kind) in table {
        let workload = classify_json(&record);
        assert_eq!(
            (workload.kind, workload.confidence),
            (kind, Confidence::Certain),
            "{case}: {workload:?}"
        );
        assert!(workload.evidence.len() >= 2, "{case}: {workload:?}");
    }
}

#[test]
fn a_service_that_does_not_match_the_session_name_is_the_reader() {
    // A session named like CodeBuild's, but Glue made the call: Glue is what AWS says.
    let record = invoked_by(
        role_read("deploy", CODEBUILD_SESSION, BOTO),
        "glue.amazonaws.com",
    );
    let workload = classify_json(&record);
    assert_eq!(
        (workload.kind, workload.name.as_str(), workload.confidence),
        (
            WorkloadKind::AwsService,
            "glue.amazonaws.com",
            Confidence::Certain
        )
    );
    // ec2RoleDelivery corroborates an instance id, and nothing else.
    let lambda = from_instance_metadata(role_read("orders-lambda-role", "orders-api", LAMBDA_NODE));
    assert_eq!(classify_json(&lambda).confidence, Confidence::Likely);
}

#[test]
fn people_consoles_services_and_users() {
    let mut sso = role_read(
        "AWSReservedSSO_Admin_0123456789abcdef",
        "alice@example.com",
        "aws-cli/2.17.0",
    );
    sso["userIdentity"]["arn"] = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com".into();
    let person = classify_json(&sso);
    assert_eq!(
        (person.kind, person.name.as_str()),
        (WorkloadKind::Person, "alice@example.com")
    );
    assert_eq!(
        person.describe(),
        "person `alice@example.com` via IAM Identity Center"
    );

    let mut console = role_read("Admin", "bob", "AWS Internal");
    console["sessionCredentialFromConsole"] = "true".into();
    assert_eq!(classify_json(&console).kind, WorkloadKind::Console);

    let shell = role_read(
        "Admin",
        "bob",
        "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#5.10.218 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython exec-env/CloudShell cfg/retry-mode#standard md/installer#source md/distrib#amzn.2023 md/prompt#off md/command#secretsmanager.get-secret-value",
    );
    let shell = classify_json(&shell);
    assert_eq!(
        (shell.kind, shell.confidence),
        (WorkloadKind::Cloudshell, Confidence::Likely),
        "a user agent is the caller's word"
    );

    let mut invoked = role_read(
        "ecsTaskExecutionRole",
        "ecs-execution",
        "ecs-tasks.amazonaws.com",
    );
    invoked["userIdentity"]["invokedBy"] = "ecs-tasks.amazonaws.com".into();
    let service = classify_json(&invoked);
    assert_eq!(
        (service.kind, service.name.as_str()),
        (WorkloadKind::AwsService, "ecs-tasks.amazonaws.com")
    );
    assert_eq!(service.describe(), "AWS service `ecs-tasks.amazonaws.com`");

    let mut by_source = role_read("r", "s", "x");
    by_source["sourceIPAddress"] = "lambda.amazonaws.com".into();
    assert_eq!(classify_json(&by_source).kind, WorkloadKind::AwsService);

    let mut user = role_read("r", "s", BOTO);
    user["userIdentity"] = serde_json::json!({"type": "IAMUser", "userName": "ci-bot", "arn": "arn:aws:iam::123456789012:user/ci-bot"});
    assert_eq!(classify_json(&user).describe(), "IAM user `ci-bot`");

    let mut root = role_read("r", "s", BOTO);
    root["userIdentity"] =
        serde_json::json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root"});
    assert_eq!(classify_json(&root).kind, WorkloadKind::Root);

    let mut nobody = role_read("r", "s", BOTO);
    nobody.as_object_mut().unwrap().remove("userIdentity");
    assert_eq!(classify_json(&nobody).kind, WorkloadKind::Unknown);
}

#[test]
fn near_shapes_stay_a_role() {
    for (case, session, agent) in [
        ("31 hex digits", "3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1", FARGATE),
        (
            "33 hex digits",
            "3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d0",
            FARGATE,
        ),
        ("an instance id of 9 digits", "i-0abc12345", BOTO),
        ("upper-case hex after i-", "i-0ABC1234DEF567890", BOTO),
        ("CodeBuild without a uuid", "AWSCodeBuild-latest", BOTO),
        ("GitHub Actions in another case", "githubactions", BOTO),
        ("eks- without a uuid", "eks-prod-orders", BOTO),
        (
            "botocore-session- without an epoch",
            "botocore-session-abc",
            BOTO,
        ),
        ("an ordinary session", "deploy-2024-05-28", BOTO),
        (
            "exec-env of something else",
            "orders-api",
            "aws-sdk-go/1.55 exec-env/AWS_ECS_EC2",
        ),
    ] {
        let workload = classify_json(&role_read("app-role", session, agent));
        assert_eq!(workload.kind, WorkloadKind::Role, "{case}: {workload:?}");
        assert_eq!(
            workload.describe(),
            format!("role `app-role`, session `{session}`"),
            "{case}"
        );
    }
}

#[test]
fn a_likely_answer_says_so() {
    let workload = classify_json(&role_read("deploy", "GitHubActions", BOTO));
    assert_eq!(
        workload.describe(),
        "probably GitHub Actions (role `deploy`)"
    );
}
