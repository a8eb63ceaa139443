//! What to do next, as things to paste or click: the `restore-secret` command, the CloudTrail
//! searches that find an unnamed secret, and per identity the Event history link, the Logs
//! Insights query and the Athena SQL. Every value in them has crossed [`crate::sanitize`] or is
//! checked to be letters and digits first.

use super::document::{Investigation, SecretDocument};
use super::{AlertContext, MAX_FIELD_CHARS, MAX_INVESTIGATIONS};
use crate::cloudtrail::{Attribution, Principal};
use crate::detection::{PendingDeletionAccess, SecretTarget};
use crate::region::RegionName;
use crate::sanitize::{clean_text, shell_quote};
use crate::workload::{Workload, WorkloadKind};

/// The command that cancels the deletion, for a secret the record names; none otherwise (a
/// command never carries a placeholder).
pub(super) fn restore_command(secret: &SecretDocument) -> Option<String> {
    let id = secret.arn.as_deref().or(secret.id_as_named.as_deref())?;
    let mut command = format!(
        "aws secretsmanager restore-secret --secret-id={}",
        shell_quote(id)
    );
    if let Some(region) = secret.region.as_deref().and_then(RegionName::parse) {
        command.push_str(&format!(" --region {region}"));
    }
    Some(command)
}

/// For reads whose records name no secret: the Event history searches that find the same
/// calls (by event id, and by the caller's access key).
pub(super) fn find_the_secret(
    ordered: &[&PendingDeletionAccess],
    target: &SecretTarget,
) -> Vec<String> {
    if target.secret_id.is_some() {
        return Vec::new();
    }
    let region = target
        .region
        .as_deref()
        .and_then(RegionName::parse)
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    let lookup = |key: &str, value: &str| {
        format!(
            "aws cloudtrail lookup-events --lookup-attributes {}{region}",
            shell_quote(&format!("AttributeKey={key},AttributeValue={value}"))
        )
    };
    let mut commands: Vec<String> = Vec::new();
    let mut add = |command: String| {
        if !commands.contains(&command) && commands.len() < MAX_INVESTIGATIONS * 2 {
            commands.push(command);
        }
    };
    for access in ordered.iter().take(MAX_INVESTIGATIONS) {
        if let Some(id) = access.event_id.as_deref() {
            add(lookup("EventId", &clean_text(id, 64)));
        }
    }
    for access in ordered {
        if let Some(key) = access.who.access_key_id.as_deref() {
            add(lookup("AccessKeyId", &clean_text(key, 64)));
        }
    }
    commands
}

pub(super) fn investigations(
    ordered: &[&PendingDeletionAccess],
    target: &SecretTarget,
    context: &AlertContext<'_>,
) -> Vec<Investigation> {
    let mut seen: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for access in ordered {
        let who = &access.who;
        let key = who
            .access_key_id
            .clone()
            .or_else(|| principal_arn(&who.principal));
        let Some(key) = key else { continue };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        found.push(investigation(who, target, context));
        if found.len() == MAX_INVESTIGATIONS {
            break;
        }
    }
    found
}

fn principal_arn(principal: &Principal) -> Option<String> {
    match principal {
        Principal::IamUser { arn, .. }
        | Principal::AssumedRole { arn, .. }
        | Principal::FederatedUser { arn, .. }
        | Principal::Root { arn }
        | Principal::Other { arn, .. } => arn.clone(),
        _ => None,
    }
}

fn investigation(
    who: &Attribution,
    target: &SecretTarget,
    context: &AlertContext<'_>,
) -> Investigation {
    let region = target.region.as_deref().filter(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    let access_key = who
        .access_key_id
        .as_deref()
        .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric()));
    let (identity, insights_filter, athena_filter, console_filter) = match access_key {
        Some(key) => (
            format!("access key {key}"),
            format!("userIdentity.accessKeyId = \"{key}\""),
            format!("useridentity.accesskeyid = '{key}'"),
            Some(format!("AccessKeyId={key}")),
        ),
        None => {
            let arn = principal_arn(&who.principal).unwrap_or_default();
            let arn = clean_text(&arn, MAX_FIELD_CHARS);
            let user_name = match &who.principal {
                Principal::IamUser {
                    user_name: Some(name),
                    ..
                } if name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)) =>
                {
                    Some(format!("Username={name}"))
                }
                _ => None,
            };
            (
                format!("identity {arn}"),
                format!(
                    "userIdentity.arn = \"{}\"",
                    arn.replace('\\', "\\\\").replace('"', "\\\"")
                ),
                format!("useridentity.arn = '{}'", arn.replace('\'', "''")),
                user_name,
            )
        }
    };
    let cloudtrail_event_history_url = match (region, console_filter) {
        (Some(region), Some(filter)) => Some(format!(
            "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events?{filter}"
        )),
        _ => None,
    };
    Investigation {
        identity,
        cloudtrail_event_history_url,
        logs_insights_query: format!(
            "fields @timestamp, eventSource, eventName, errorCode, sourceIPAddress, userAgent\n| filter {insights_filter}\n| sort @timestamp desc\n| limit 500"
        ),
        athena_sql: format!(
            "SELECT eventtime, eventsource, eventname, errorcode, sourceipaddress, useragent\nFROM {}\nWHERE {athena_filter}\nORDER BY eventtime DESC\nLIMIT 500;",
            context.athena_table
        ),
    }
}

/// Where to find the workload itself: a console link or a command, for the kinds whose name
/// gives one. Names are used only when they have the shape AWS gives them.
pub(super) fn find_the_workload(workloads: &[Workload], target: &SecretTarget) -> Vec<String> {
    let Some(region) = target.region.as_deref().and_then(RegionName::parse) else {
        return Vec::new();
    };
    let console = format!("https://{region}.console.aws.amazon.com");
    let plain = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let mut steps: Vec<String> = Vec::new();
    for workload in workloads {
        let name = workload.name.as_str();
        let step = match workload.kind {
            WorkloadKind::Lambda if plain(name) => Some(format!(
                "Lambda function {name}: {console}/lambda/home?region={region}#/functions/{name}"
            )),
            WorkloadKind::Ec2Instance if plain(name) => Some(format!(
                "EC2 instance {name}: {console}/ec2/home?region={region}#InstanceDetails:instanceId={name}"
            )),
            WorkloadKind::EcsTask if plain(name) => Some(format!(
                "ECS task {name} (the record does not name its cluster): for c in $(aws ecs list-clusters \
                 --region {region} --query clusterArns --output text); do aws ecs describe-tasks --cluster \"$c\" \
                 --tasks {name} --region {region} --query 'tasks[].[clusterArn,group,taskDefinitionArn]' --output text; done"
            )),
            WorkloadKind::Codebuild => name.strip_prefix("AWSCodeBuild-").filter(|b| plain(b)).map(|build| {
                format!(
                    "CodeBuild build {build}: aws codebuild batch-get-builds --region {region} --ids \
                     $(aws codebuild list-builds --region {region} --query 'ids' --output text | tr '\\t' '\\n' | grep {build})"
                )
            }),
            WorkloadKind::GithubActions => workload.role.as_deref().filter(|r| plain(r)).map(|role| {
                format!("GitHub Actions: the workflows whose aws-actions/configure-aws-credentials step assumes role {role} (search your repositories for role-to-assume with :role/{role})")
            }),
            WorkloadKind::EksPod if plain(name) => Some(format!(
                "EKS pod {name}: kubectl get pods --all-namespaces | grep -F -- {name} (the name holds the cluster's and the pod's)"
            )),
            _ => None,
        };
        if let Some(step) = step
            && !steps.contains(&step)
            && steps.len() < MAX_INVESTIGATIONS
        {
            steps.push(step);
        }
    }
    steps
}
