//! Which workload made a read, named the way an engineer would: "Lambda function
//! `orders-api`", "ECS task `3f2a…` (role `orders-task`)", "EC2 instance `i-0abc…`". Pure:
//! from the fields a record already holds (the session name, the user agent, `invokedBy`,
//! `sessionContext`, `sourceIPAddress`, `sessionCredentialFromConsole`).
//!
//! Each answer carries its confidence and the evidence it used. A session name and a user
//! agent are the caller's to choose: anyone who may assume a role can call its session
//! `i-0123456789abcdef0` or `AWSCodeBuild-...`, and any SDK can say `exec-env/AWS_Lambda_*`.
//! So what rests on them is `likely`, and only a field AWS itself sets makes it `certain`:
//! `invokedBy` or a service `sourceIPAddress` naming the service the session name claims, or
//! `sessionContext.ec2RoleDelivery` for an instance profile. Identity Center's sessions and
//! console sessions are `certain`: the role (an `AWSReservedSSO_*` role trusts only Identity
//! Center, which names the session) and `sessionCredentialFromConsole` are AWS's. Anything
//! else is "role `x`, session `y`": never a guess presented as fact.

use serde::Serialize;

use crate::cloudtrail::Principal;
use crate::detection::PendingDeletionAccess;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    Lambda,
    EcsTask,
    Ec2Instance,
    Codebuild,
    GithubActions,
    EksPod,
    GlueJob,
    Person,
    Console,
    Cloudshell,
    AwsService,
    IamUser,
    Role,
    Root,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Certain,
    Likely,
}

/// The workload behind a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// Its own name: the function, the task id, the instance id, the person, the service,
    /// the user or the role.
    pub name: String,
    pub confidence: Confidence,
    /// What the answer rests on, one fact each.
    pub evidence: Vec<String>,
    /// The role it acts through, when that is not its name.
    pub role: Option<String>,
}

impl Workload {
    /// Whether the workload says more than the principal does (it leads the subject).
    pub fn is_named(&self) -> bool {
        !matches!(
            self.kind,
            WorkloadKind::Role | WorkloadKind::Unknown | WorkloadKind::IamUser | WorkloadKind::Root
        )
    }

    /// For a person: "Lambda function `orders-api`", "probably GitHub Actions (role `deploy`)".
    pub fn describe(&self) -> String {
        let name = &self.name;
        let role = self.role.as_deref().unwrap_or("unknown");
        let text = match self.kind {
            WorkloadKind::Lambda => format!("Lambda function `{name}`"),
            WorkloadKind::EcsTask => format!("ECS task `{name}` (role `{role}`)"),
            WorkloadKind::Ec2Instance => format!("EC2 instance `{name}` (role `{role}`)"),
            WorkloadKind::Codebuild => format!("CodeBuild build `{name}` (role `{role}`)"),
            WorkloadKind::GithubActions => format!("GitHub Actions (role `{role}`)"),
            WorkloadKind::EksPod => format!("EKS pod `{name}` (role `{role}`)"),
            WorkloadKind::GlueJob => format!("Glue job (role `{role}`)"),
            WorkloadKind::Person => match &self.role {
                Some(role) if role.starts_with("AWSReservedSSO_") => {
                    format!("person `{name}` via IAM Identity Center")
                }
                _ => format!("person `{name}` (federated user)"),
            },
            WorkloadKind::Console => format!("AWS console, signed in as {name}"),
            WorkloadKind::Cloudshell => format!("CloudShell, signed in as {name}"),
            WorkloadKind::AwsService => format!("AWS service `{name}`"),
            WorkloadKind::IamUser => format!("IAM user `{name}`"),
            WorkloadKind::Role => format!("role `{role}`, session `{name}`"),
            WorkloadKind::Root => "the account's root user".to_owned(),
            WorkloadKind::Unknown => format!("cannot tell from the record ({name})"),
        };
        match self.confidence {
            Confidence::Certain => text,
            Confidence::Likely => format!("probably {text}"),
        }
    }

    /// What kind of workload, in a word or two: "Lambda", "ECS task", "GitHub Actions".
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Lambda => "Lambda",
            WorkloadKind::EcsTask => "ECS task",
            WorkloadKind::Ec2Instance => "EC2",
            WorkloadKind::Codebuild => "CodeBuild",
            WorkloadKind::GithubActions => "GitHub Actions",
            WorkloadKind::EksPod => "EKS pod",
            WorkloadKind::GlueJob => "Glue job",
            WorkloadKind::Person => "person",
            WorkloadKind::Console => "console",
            WorkloadKind::Cloudshell => "CloudShell",
            WorkloadKind::AwsService => "AWS service",
            WorkloadKind::IamUser => "IAM user",
            WorkloadKind::Role => "role",
            WorkloadKind::Root => "root",
            WorkloadKind::Unknown => "unknown",
        }
    }

    /// A few words for a subject line: "Lambda orders-api", "EC2 i-0abc", "GitHub Actions".
    pub fn short(&self) -> String {
        let name = &self.name;
        match self.kind {
            WorkloadKind::Lambda => format!("Lambda {name}"),
            WorkloadKind::EcsTask => format!("ECS task {name}"),
            WorkloadKind::Ec2Instance => format!("EC2 {name}"),
            WorkloadKind::Codebuild => "CodeBuild".to_owned(),
            WorkloadKind::GithubActions => "GitHub Actions".to_owned(),
            WorkloadKind::EksPod => format!("EKS pod {name}"),
            WorkloadKind::GlueJob => "Glue job".to_owned(),
            WorkloadKind::Console => format!("console user {name}"),
            WorkloadKind::Cloudshell => format!("CloudShell user {name}"),
            _ => name.clone(),
        }
    }
}

/// The workload behind `access`.
pub fn classify(access: &PendingDeletionAccess) -> Workload {
    let agent = access.user_agent.as_deref().unwrap_or("");
    let who = &access.who;
    let workload =
        |kind, name: &str, confidence, evidence: Vec<String>, role: Option<&str>| Workload {
            kind,
            name: name.to_owned(),
            confidence,
            evidence,
            role: role.map(str::to_owned),
        };
    if let Principal::AwsService { service } = &who.principal {
        return workload(
            WorkloadKind::AwsService,
            service,
            Confidence::Certain,
            vec!["the caller is an AWS service principal".into()],
            None,
        );
    }
    // What AWS itself says made the call: a service acting for the principal.
    let service = who
        .invoked_by
        .as_deref()
        .map(|s| (s, "invokedBy"))
        .or_else(|| {
            access
                .source_ip_address
                .as_deref()
                .filter(|source| source.ends_with(".amazonaws.com"))
                .map(|s| (s, "sourceIPAddress"))
        });
    if let Some((service, field)) = service {
        if let Principal::AssumedRole {
            role_name: role,
            session_name,
            ..
        } = &who.principal
        {
            let claimed = role_session(
                session_name.as_deref().unwrap_or(""),
                role.as_deref(),
                agent,
            );
            if service_of(claimed.kind) == Some(service) {
                return corroborated(claimed, format!("{field} is {service}"));
            }
        }
        return workload(
            WorkloadKind::AwsService,
            service,
            Confidence::Certain,
            vec![format!("{field} is {service}")],
            role_name(&who.principal),
        );
    }
    let principal_name = who.principal.short_name().to_owned();
    if agent.contains("exec-env/CloudShell") {
        return workload(
            WorkloadKind::Cloudshell,
            &principal_name,
            Confidence::Likely,
            vec!["the user agent says exec-env/CloudShell".into()],
            role_name(&who.principal),
        );
    }
    match &who.principal {
        Principal::Root { .. } => {
            return workload(
                WorkloadKind::Root,
                "root",
                Confidence::Certain,
                vec!["userIdentity.type is Root".into()],
                None,
            );
        }
        Principal::AssumedRole {
            identity_center: true,
            session_name: Some(person),
            role_name: role,
            ..
        } => {
            return workload(
                WorkloadKind::Person,
                person,
                Confidence::Certain,
                vec![
                    "an IAM Identity Center role (AWSReservedSSO_*): the session is the person"
                        .into(),
                ],
                role.as_deref(),
            );
        }
        _ => {}
    }
    if access.session_credential_from_console {
        return workload(
            WorkloadKind::Console,
            &principal_name,
            Confidence::Certain,
            vec!["sessionCredentialFromConsole is true".into()],
            role_name(&who.principal),
        );
    }
    if is_console_agent(agent) {
        return workload(
            WorkloadKind::Console,
            &principal_name,
            Confidence::Likely,
            vec![format!("the user agent is the console's ({agent})")],
            role_name(&who.principal),
        );
    }
    match &who.principal {
        Principal::IamUser { user_name, arn } => workload(
            WorkloadKind::IamUser,
            user_name.as_deref().or(arn.as_deref()).unwrap_or("unnamed"),
            Confidence::Certain,
            vec!["userIdentity.type is IAMUser".into()],
            None,
        ),
        Principal::FederatedUser { user_name, .. } => workload(
            WorkloadKind::Person,
            user_name.as_deref().unwrap_or("unnamed"),
            Confidence::Likely,
            vec!["a federated user (GetFederationToken): usually a person or a broker".into()],
            None,
        ),
        Principal::AssumedRole {
            role_name: role,
            session_name,
            ..
        } => {
            let role = role.as_deref();
            let session = session_name.as_deref().unwrap_or("");
            let claimed = role_session(session, role, agent);
            match (&who.ec2_role_delivery, claimed.kind) {
                (Some(version), WorkloadKind::Ec2Instance) => corroborated(
                    claimed,
                    format!(
                        "sessionContext.ec2RoleDelivery is {version}: credentials from the instance's metadata service"
                    ),
                ),
                _ => claimed,
            }
        }
        _ => workload(
            WorkloadKind::Unknown,
            &who.principal.describe(),
            Confidence::Certain,
            vec!["no workload shape in the record".into()],
            None,
        ),
    }
}

/// An assumed role's session, by the names AWS services give their sessions and what their
/// SDKs say in the user agent: both the caller's to choose, so at most `likely`
/// ([`corroborated`] makes it `certain`).
fn role_session(session: &str, role: Option<&str>, agent: &str) -> Workload {
    let found = |kind, name: &str, confidence, evidence: String| Workload {
        kind,
        name: name.to_owned(),
        confidence,
        evidence: vec![evidence],
        role: role.map(str::to_owned),
    };
    if is_instance_id(session) {
        return found(
            WorkloadKind::Ec2Instance,
            session,
            Confidence::Likely,
            "the session name is an EC2 instance id, as an instance profile's session is".into(),
        );
    }
    if session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut workload = found(
            WorkloadKind::EcsTask,
            session,
            Confidence::Likely,
            "the session name is a 32-hex ECS task id".into(),
        );
        if let Some(env) = exec_env(agent).filter(|e| e.starts_with("AWS_ECS_")) {
            workload
                .evidence
                .push(format!("the user agent says exec-env/{env}"));
        }
        return workload;
    }
    if let Some(build) = session.strip_prefix("AWSCodeBuild-")
        && is_uuid(build)
    {
        return found(
            WorkloadKind::Codebuild,
            session,
            Confidence::Likely,
            "the session name is CodeBuild's (AWSCodeBuild-<build uuid>)".into(),
        );
    }
    if session == "GitHubActions" {
        return found(
            WorkloadKind::GithubActions,
            session,
            Confidence::Likely,
            "the session name is aws-actions/configure-aws-credentials' default, GitHubActions"
                .into(),
        );
    }
    if let Some(rest) = session.strip_prefix("eks-") {
        // eks-<cluster>-<pod>-<uuid>; cluster and pod names hold hyphens of their own, so the
        // two are named together.
        let cut = rest.len().saturating_sub(37);
        if let (Some(names), Some(uuid)) = (rest.get(..cut), rest.get(cut..))
            && let Some(uuid) = uuid.strip_prefix('-')
            && is_uuid(uuid)
            && !names.is_empty()
        {
            return found(
                WorkloadKind::EksPod,
                names,
                Confidence::Likely,
                "the session name is EKS Pod Identity's (eks-<cluster>-<pod>-<uuid>)".into(),
            );
        }
    }
    if let Some(epoch) = session.strip_prefix("botocore-session-")
        && !epoch.is_empty()
        && epoch.bytes().all(|b| b.is_ascii_digit())
    {
        return found(
            WorkloadKind::EksPod,
            session,
            Confidence::Likely,
            "the session name is boto's for a web identity (EKS IRSA, botocore-session-<epoch>)"
                .into(),
        );
    }
    if session == "GlueJobRunnerSession" {
        return found(
            WorkloadKind::GlueJob,
            session,
            Confidence::Likely,
            "the session name is Glue's job runner's".into(),
        );
    }
    if let Some(env) = exec_env(agent).filter(|e| e.starts_with("AWS_Lambda_")) {
        return found(
            WorkloadKind::Lambda,
            session,
            Confidence::Likely,
            format!(
                "the user agent says exec-env/{env}; Lambda names the session after the function"
            ),
        );
    }
    if role.is_some_and(|r| r.to_ascii_lowercase().contains("lambda")) && !session.is_empty() {
        return found(
            WorkloadKind::Lambda,
            session,
            Confidence::Likely,
            "the role's name says Lambda, whose sessions are named after the function (custom runtimes do not say exec-env)".into(),
        );
    }
    found(
        WorkloadKind::Role,
        if session.is_empty() {
            "unnamed"
        } else {
            session
        },
        Confidence::Certain,
        "an assumed role whose session name no AWS service is known to give".into(),
    )
}

/// The service principal that AWS names in `invokedBy` or `sourceIPAddress` when it is the
/// service itself that makes the call for a workload of `kind`.
fn service_of(kind: WorkloadKind) -> Option<&'static str> {
    match kind {
        WorkloadKind::Lambda => Some("lambda.amazonaws.com"),
        WorkloadKind::EcsTask => Some("ecs-tasks.amazonaws.com"),
        WorkloadKind::Ec2Instance => Some("ec2.amazonaws.com"),
        WorkloadKind::Codebuild => Some("codebuild.amazonaws.com"),
        WorkloadKind::EksPod => Some("pods.eks.amazonaws.com"),
        WorkloadKind::GlueJob => Some("glue.amazonaws.com"),
        _ => None,
    }
}

/// `claimed`, made certain by a field AWS sets (`because`).
fn corroborated(mut claimed: Workload, because: String) -> Workload {
    claimed.confidence = Confidence::Certain;
    claimed.evidence.push(because);
    claimed
}

fn role_name(principal: &Principal) -> Option<&str> {
    match principal {
        Principal::AssumedRole { role_name, .. } => role_name.as_deref(),
        _ => None,
    }
}

/// `i-` and 8 or 17 lowercase hex digits.
fn is_instance_id(text: &str) -> bool {
    text.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `exec-env/...` token of an SDK user agent.
fn exec_env(agent: &str) -> Option<&str> {
    agent
        .split_whitespace()
        .find_map(|token| token.strip_prefix("exec-env/"))
}

fn is_console_agent(agent: &str) -> bool {
    let agent = agent.to_ascii_lowercase();
    agent == "console.amazonaws.com"
        || agent == "signin.amazonaws.com"
        || agent.starts_with("console.") && agent.ends_with(".amazonaws.com")
}

#[cfg(test)]
mod tests;
