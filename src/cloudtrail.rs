//! A narrow, lenient serde model of the CloudTrail record fields we read, and identity
//! attribution the way the CloudTrail console does it.
//!
//! Real records omit fields freely (no `userIdentity`, no `type` inside it,
//! `requestParameters: null`, `accessKeyId: ""`), and carry values that are not what their
//! names promise (`sourceIPAddress: "AWS Internal"` or a service name). So every field is an
//! `Option`, nothing is parsed strictly, and unknown fields are ignored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub request_parameters: Option<RequestParameters>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    /// The same in both accounts' copies of a cross-account call.
    #[serde(rename = "sharedEventID")]
    pub shared_event_id: Option<String>,
    /// `"true"` when the call was made with credentials of a console session.
    pub session_credential_from_console: Option<serde_json::Value>,
    pub recipient_account_id: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    pub user_identity: Option<UserIdentity>,
    /// The resources the call touched; recent records name the secret here even when
    /// `requestParameters` is `null` or `{}`.
    pub resources: Option<Vec<Resource>>,
}

/// One entry of `resources[]`: `{"accountId", "type", "ARN"}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    #[serde(rename = "ARN", alias = "aRN")]
    pub arn: Option<String>,
    #[serde(rename = "accountId")]
    pub account_id: Option<String>,
}

/// The `resources[]` type CloudTrail gives a Secrets Manager secret.
pub const SECRET_RESOURCE_TYPE: &str = "AWS::SecretsManager::Secret";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestParameters {
    /// As the caller named it: a name, a partial ARN or a full ARN.
    pub secret_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub identity_type: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub invoked_by: Option<String>,
    pub session_context: Option<SessionContext>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    /// Set by AWS (`1.0` or `2.0`) when the credentials came from an EC2 instance's metadata
    /// service: the one field that shows an instance profile's session for what it is.
    pub ec2_role_delivery: Option<String>,
    pub attributes: Option<SessionAttributes>,
    pub source_identity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(rename = "type")]
    pub issuer_type: Option<String>,
    pub arn: Option<String>,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// CloudTrail writes `"true"` or `"false"` as strings.
    pub mfa_authenticated: Option<String>,
    pub creation_date: Option<String>,
}

/// Who made a call, as the CloudTrail console would name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    IamUser {
        user_name: Option<String>,
        arn: Option<String>,
    },
    AssumedRole {
        role_name: Option<String>,
        role_arn: Option<String>,
        /// The last part of the assumed-role ARN: an instance id for an EC2 instance profile,
        /// the person's user name for an IAM Identity Center (`AWSReservedSSO_*`) role.
        session_name: Option<String>,
        arn: Option<String>,
        identity_center: bool,
    },
    FederatedUser {
        user_name: Option<String>,
        arn: Option<String>,
        issuer_arn: Option<String>,
    },
    Root {
        arn: Option<String>,
    },
    AwsService {
        service: String,
    },
    AwsAccount {
        account_id: Option<String>,
        principal_id: Option<String>,
    },
    /// A type CloudTrail added after this code was written, kept as it came.
    Other {
        identity_type: String,
        arn: Option<String>,
        principal_id: Option<String>,
    },
    Unknown,
}

impl Principal {
    /// A short name for a subject line: the user, the session (the person or the instance),
    /// the service.
    pub fn short_name(&self) -> &str {
        match self {
            Principal::IamUser { user_name, arn } => user_name
                .as_deref()
                .or(arn.as_deref())
                .unwrap_or("unnamed IAM user"),
            Principal::AssumedRole {
                session_name,
                role_name,
                ..
            } => session_name
                .as_deref()
                .or(role_name.as_deref())
                .unwrap_or("unnamed role session"),
            Principal::FederatedUser { user_name, .. } => {
                user_name.as_deref().unwrap_or("federated user")
            }
            Principal::Root { .. } => "root",
            Principal::AwsService { service } => service,
            Principal::AwsAccount { account_id, .. } => {
                account_id.as_deref().unwrap_or("another account")
            }
            Principal::Other { identity_type, .. } => identity_type,
            Principal::Unknown => "unknown caller",
        }
    }

    /// One line for a person: what kind of identity, its name and ARN.
    pub fn describe(&self) -> String {
        let with_arn = |text: String, arn: &Option<String>| match arn {
            Some(arn) => format!("{text} ({arn})"),
            None => text,
        };
        match self {
            Principal::IamUser { arn, .. } => {
                with_arn(format!("IAM user {}", self.short_name()), arn)
            }
            Principal::AssumedRole {
                role_name,
                role_arn,
                session_name,
                identity_center,
                ..
            } => {
                let role = role_name.as_deref().unwrap_or("unknown role");
                let session = session_name.as_deref().unwrap_or("unnamed");
                let text = if *identity_center {
                    format!("IAM Identity Center user {session} through role {role}")
                } else if session.starts_with("i-") {
                    format!("EC2 instance {session} through role {role}")
                } else {
                    format!("role {role}, session {session}")
                };
                with_arn(text, role_arn)
            }
            Principal::FederatedUser {
                arn, issuer_arn, ..
            } => {
                let text = format!("federated user {}", self.short_name());
                match issuer_arn {
                    Some(issuer) => with_arn(format!("{text} issued by {issuer}"), arn),
                    None => with_arn(text, arn),
                }
            }
            Principal::Root { arn } => with_arn("the account's root user".to_owned(), arn),
            Principal::AwsService { service } => format!("AWS service {service}"),
            Principal::AwsAccount {
                account_id,
                principal_id,
            } => format!(
                "AWS account {} (principal {})",
                account_id.as_deref().unwrap_or("unknown"),
                principal_id.as_deref().unwrap_or("unknown")
            ),
            Principal::Other {
                identity_type, arn, ..
            } => with_arn(format!("{identity_type} identity"), arn),
            Principal::Unknown => "unknown caller (the record has no userIdentity)".to_owned(),
        }
    }
}

/// Whether an access key is long-term (an IAM user's, `AKIA`) or temporary (STS, `ASIA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKeyKind {
    LongTerm,
    Temporary,
    Unrecognised,
}

impl AccessKeyKind {
    pub fn of(access_key_id: &str) -> Self {
        if access_key_id.starts_with("AKIA") {
            AccessKeyKind::LongTerm
        } else if access_key_id.starts_with("ASIA") {
            AccessKeyKind::Temporary
        } else {
            AccessKeyKind::Unrecognised
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            AccessKeyKind::LongTerm => "long-term",
            AccessKeyKind::Temporary => "temporary",
            AccessKeyKind::Unrecognised => "unrecognised kind",
        }
    }
}

/// Everything a person needs to know about who made a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub principal: Principal,
    pub access_key_id: Option<String>,
    pub access_key_kind: Option<AccessKeyKind>,
    pub mfa_authenticated: Option<bool>,
    /// The service that made the call on the principal's behalf, if any.
    pub invoked_by: Option<String>,
    pub account_id: Option<String>,
    /// `sessionContext.ec2RoleDelivery`: the credentials came from an instance's metadata
    /// service (set by AWS, never by the caller).
    pub ec2_role_delivery: Option<String>,
}

impl Attribution {
    /// The caller's ARN as `userIdentity.arn` gives it, where the identity has one.
    pub fn arn(&self) -> Option<&str> {
        match &self.principal {
            Principal::IamUser { arn, .. }
            | Principal::AssumedRole { arn, .. }
            | Principal::FederatedUser { arn, .. }
            | Principal::Root { arn }
            | Principal::Other { arn, .. } => arn.as_deref(),
            Principal::AwsService { .. } | Principal::AwsAccount { .. } | Principal::Unknown => {
                None
            }
        }
    }
}

impl CloudTrailRecord {
    /// The account the event belongs to: `recipientAccountId`, else the caller's account.
    pub fn account_id(&self) -> Option<&str> {
        non_empty(&self.recipient_account_id).or_else(|| {
            self.user_identity
                .as_ref()
                .and_then(|identity| non_empty(&identity.account_id))
        })
    }

    /// The secret the call named: `requestParameters.secretId` as the caller wrote it, else
    /// the ARN of the `AWS::SecretsManager::Secret` in `resources[]`, else unknown.
    pub fn secret_id(&self) -> Option<&str> {
        self.request_parameters
            .as_ref()
            .and_then(|parameters| non_empty(&parameters.secret_id))
            .or_else(|| {
                self.resources
                    .iter()
                    .flatten()
                    .filter(|r| non_empty(&r.resource_type) == Some(SECRET_RESOURCE_TYPE))
                    .find_map(|r| non_empty(&r.arn))
            })
    }

    pub fn attribution(&self) -> Attribution {
        let Some(identity) = &self.user_identity else {
            return Attribution {
                principal: Principal::Unknown,
                access_key_id: None,
                access_key_kind: None,
                mfa_authenticated: None,
                invoked_by: None,
                account_id: None,
                ec2_role_delivery: None,
            };
        };
        let access_key_id = non_empty(&identity.access_key_id).map(str::to_owned);
        let session = identity.session_context.as_ref();
        Attribution {
            principal: principal_of(identity),
            access_key_kind: access_key_id.as_deref().map(AccessKeyKind::of),
            access_key_id,
            mfa_authenticated: session
                .and_then(|s| s.attributes.as_ref())
                .and_then(|a| a.mfa_authenticated.as_deref())
                .and_then(|flag| match flag.trim() {
                    f if f.eq_ignore_ascii_case("true") => Some(true),
                    f if f.eq_ignore_ascii_case("false") => Some(false),
                    _ => None,
                }),
            invoked_by: non_empty(&identity.invoked_by).map(str::to_owned),
            account_id: non_empty(&identity.account_id).map(str::to_owned),
            ec2_role_delivery: session
                .and_then(|s| non_empty(&s.ec2_role_delivery))
                .map(str::to_owned),
        }
    }
}

fn principal_of(identity: &UserIdentity) -> Principal {
    let arn = non_empty(&identity.arn).map(str::to_owned);
    let issuer = identity
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref());
    match non_empty(&identity.identity_type) {
        Some("IAMUser") => Principal::IamUser {
            user_name: non_empty(&identity.user_name)
                .map(str::to_owned)
                .or_else(|| arn.as_deref().and_then(last_arn_part).map(str::to_owned)),
            arn,
        },
        Some("AssumedRole") => {
            // arn:aws:sts::123456789012:assumed-role/ROLE/SESSION
            let mut resource = arn
                .as_deref()
                .and_then(arn_resource)
                .map(|r| r.splitn(3, '/'))
                .into_iter()
                .flatten();
            let (kind, arn_role, arn_session) = (resource.next(), resource.next(), resource.next());
            let from_arn = kind == Some("assumed-role");
            let role_name = issuer
                .and_then(|i| non_empty(&i.user_name))
                .or(if from_arn { arn_role } else { None })
                .map(str::to_owned);
            let session_name = if from_arn { arn_session } else { None }
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let identity_center = role_name
                .as_deref()
                .is_some_and(|name| name.starts_with("AWSReservedSSO_"));
            Principal::AssumedRole {
                role_name,
                role_arn: issuer.and_then(|i| non_empty(&i.arn)).map(str::to_owned),
                session_name,
                arn,
                identity_center,
            }
        }
        Some("FederatedUser") => Principal::FederatedUser {
            // arn:aws:sts::123456789012:federated-user/NAME
            user_name: arn.as_deref().and_then(last_arn_part).map(str::to_owned),
            issuer_arn: issuer.and_then(|i| non_empty(&i.arn)).map(str::to_owned),
            arn,
        },
        Some("Root") => Principal::Root { arn },
        Some("AWSService") => Principal::AwsService {
            service: non_empty(&identity.invoked_by)
                .unwrap_or("unnamed AWS service")
                .to_owned(),
        },
        Some("AWSAccount") => Principal::AwsAccount {
            account_id: non_empty(&identity.account_id).map(str::to_owned),
            principal_id: non_empty(&identity.principal_id).map(str::to_owned),
        },
        Some(other) => Principal::Other {
            identity_type: other.to_owned(),
            arn,
            principal_id: non_empty(&identity.principal_id).map(str::to_owned),
        },
        // No `type`: all we can go by is a service that called on someone's behalf.
        None => match non_empty(&identity.invoked_by) {
            Some(service) => Principal::AwsService {
                service: service.to_owned(),
            },
            None if arn.is_some() => Principal::Other {
                identity_type: "untyped".to_owned(),
                arn,
                principal_id: non_empty(&identity.principal_id).map(str::to_owned),
            },
            None => Principal::Unknown,
        },
    }
}

/// The fields of `arn:PARTITION:SERVICE:REGION:ACCOUNT[:RESOURCE]`, as written (any may be
/// empty; the resource may contain ':').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnParts<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: Option<&'a str>,
}

/// An ARN's fields; `None` for text that is not `arn:` and four more fields.
pub fn arn_parts(arn: &str) -> Option<ArnParts<'_>> {
    let mut parts = arn.splitn(6, ':');
    (parts.next() == Some("arn")).then_some(())?;
    Some(ArnParts {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next(),
    })
}

/// `arn:partition:service:region:account:RESOURCE` -> RESOURCE (which may contain ':').
pub fn arn_resource(arn: &str) -> Option<&str> {
    arn_parts(arn)?.resource
}

fn last_arn_part(arn: &str) -> Option<&str> {
    arn_resource(arn)
        .and_then(|r| r.rsplit('/').next())
        .filter(|s| !s.is_empty())
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn attribution(identity: serde_json::Value) -> Attribution {
        let record: CloudTrailRecord =
            serde_json::from_value(serde_json::json!({ "userIdentity": identity })).unwrap();
        record.attribution()
    }

    #[test]
    fn iam_user_with_long_term_key() {
        let a = attribution(serde_json::json!({
            "type": "IAMUser", "principalId": "AIDA", "arn": "arn:aws:iam::123456789012:user/alice",
            "accountId": "123456789012", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"
        }));
        assert_eq!(
            a.principal,
            Principal::IamUser {
                user_name: Some("alice".into()),
                arn: Some("arn:aws:iam::123456789012:user/alice".into())
            }
        );
        assert_eq!(a.access_key_kind, Some(AccessKeyKind::LongTerm));
        assert_eq!(a.principal.short_name(), "alice");
    }

    #[test]
    fn assumed_role_names_role_and_session() {
        let a = attribution(serde_json::json!({
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/app-server/i-0abc123",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "userName": "app-server",
                                  "arn": "arn:aws:iam::123456789012:role/app-server"},
                "attributes": {"mfaAuthenticated": "false", "creationDate": "2024-01-01T00:00:00Z"}
            }
        }));
        assert_eq!(a.access_key_kind, Some(AccessKeyKind::Temporary));
        assert_eq!(a.mfa_authenticated, Some(false));
        assert_eq!(a.principal.short_name(), "i-0abc123");
        assert_eq!(
            a.principal.describe(),
            "EC2 instance i-0abc123 through role app-server (arn:aws:iam::123456789012:role/app-server)"
        );
    }

    #[test]
    fn identity_center_session_is_the_person() {
        let a = attribution(serde_json::json!({
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/jane@example.com",
            "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_Admin_0123abcd"},
                               "attributes": {"mfaAuthenticated": "true"}}
        }));
        assert_eq!(a.principal.short_name(), "jane@example.com");
        assert!(matches!(
            a.principal,
            Principal::AssumedRole {
                identity_center: true,
                ..
            }
        ));
        assert_eq!(a.mfa_authenticated, Some(true));
        assert!(
            a.principal
                .describe()
                .starts_with("IAM Identity Center user jane@example.com")
        );
    }

    #[test]
    fn assumed_role_without_session_issuer_reads_the_arn() {
        let a = attribution(serde_json::json!({
            "type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/deployer/ci-run-7"
        }));
        assert!(matches!(&a.principal,
            Principal::AssumedRole { role_name: Some(r), session_name: Some(s), .. }
            if r == "deployer" && s == "ci-run-7"));
    }

    #[test]
    fn federated_root_service_account_and_unknown() {
        let fed = attribution(serde_json::json!({
            "type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/bob",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:user/broker"}}
        }));
        assert_eq!(fed.principal.short_name(), "bob");
        let root = attribution(serde_json::json!({"type": "Root", "arn": "arn:aws:iam::1:root"}));
        assert_eq!(root.principal.short_name(), "root");
        let service = attribution(
            serde_json::json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}),
        );
        assert_eq!(service.principal.short_name(), "lambda.amazonaws.com");
        let untyped = attribution(serde_json::json!({"invokedBy": "ec2.amazonaws.com"}));
        assert_eq!(untyped.principal.short_name(), "ec2.amazonaws.com");
        let account = attribution(
            serde_json::json!({"type": "AWSAccount", "accountId": "210987654321", "principalId": "AIDA:x"}),
        );
        assert_eq!(account.principal.short_name(), "210987654321");
        let other =
            attribution(serde_json::json!({"type": "IdentityCenterUser", "principalId": "p"}));
        assert_eq!(other.principal.short_name(), "IdentityCenterUser");
        let record: CloudTrailRecord = serde_json::from_str("{}").unwrap();
        assert_eq!(record.attribution().principal, Principal::Unknown);
    }

    #[test]
    fn tolerates_what_real_records_omit_or_bend() {
        let record: CloudTrailRecord = serde_json::from_str(
            r#"{"requestParameters": null, "sourceIPAddress": "AWS Internal",
                "userIdentity": {"type": "IAMUser", "accessKeyId": "", "arn": "arn:aws:iam::1:user/ops/carol"},
                "eventTime": "not a time", "recipientAccountId": ""}"#,
        )
        .unwrap();
        assert_eq!(record.secret_id(), None);
        let a = record.attribution();
        assert_eq!(a.access_key_id, None);
        assert_eq!(a.principal.short_name(), "carol");
        assert_eq!(record.account_id(), None);
    }

    #[test]
    fn the_secret_comes_from_request_parameters_else_from_resources() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
        let resources = serde_json::json!([
            {"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:123456789012:key/k"},
            {"accountId": "123456789012", "type": "AWS::SecretsManager::Secret", "ARN": arn}
        ]);
        for parameters in [serde_json::Value::Null, serde_json::json!({})] {
            let record: CloudTrailRecord = serde_json::from_value(serde_json::json!({
                "requestParameters": parameters, "resources": resources
            }))
            .unwrap();
            assert_eq!(record.secret_id(), Some(arn));
        }
        let named: CloudTrailRecord = serde_json::from_value(serde_json::json!({
            "requestParameters": {"secretId": "prod/db"}, "resources": resources
        }))
        .unwrap();
        assert_eq!(named.secret_id(), Some("prod/db"));
        let older: CloudTrailRecord = serde_json::from_value(serde_json::json!({
            "resources": [{"type": "AWS::SecretsManager::Secret", "aRN": arn}]
        }))
        .unwrap();
        assert_eq!(older.secret_id(), Some(arn));
        let other_only: CloudTrailRecord = serde_json::from_value(serde_json::json!({
            "requestParameters": null,
            "resources": [{"type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:1:key/k"}]
        }))
        .unwrap();
        assert_eq!(other_only.secret_id(), None);
    }
}
