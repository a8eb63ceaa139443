//! Who a read counts against in the quiet window, and whose block it joins in an email: the
//! caller, which outlives the session. Pure.
//!
//! A role's session name changes with every ECS task, CI run or Lambda sandbox, so the caller
//! of an assumed role is the role, not the session: one broken consumer stays one caller.
//! IAM Identity Center is the exception: its `AWSReservedSSO_*` role is shared by everyone
//! with that permission set, and the session name is the person, so each person is a caller.

use std::fmt;

use crate::cloudtrail::{Attribution, Principal, arn_parts};

/// A stable name for the caller: the IAM user ARN, the role ARN, the federated user ARN, the
/// root ARN, or the AWS service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallerKey(String);

impl CallerKey {
    pub fn of(who: &Attribution) -> Self {
        let account = who.account_id.as_deref().unwrap_or("unknown-account");
        let key = match &who.principal {
            Principal::IamUser { arn, user_name } => arn.clone().unwrap_or_else(|| {
                format!(
                    "iam-user:{account}:{}",
                    user_name.as_deref().unwrap_or("unnamed")
                )
            }),
            Principal::AssumedRole {
                role_arn,
                arn,
                role_name,
                session_name,
                identity_center,
            } => {
                let role = role_arn
                    .clone()
                    .or_else(|| arn.as_deref().and_then(role_arn_of_session))
                    .unwrap_or_else(|| {
                        format!(
                            "role:{account}:{}",
                            role_name.as_deref().unwrap_or("unnamed")
                        )
                    });
                match (identity_center, session_name) {
                    (true, Some(person)) => format!("{role} as {person}"),
                    _ => role,
                }
            }
            Principal::FederatedUser { arn, user_name, .. } => arn.clone().unwrap_or_else(|| {
                format!(
                    "federated-user:{account}:{}",
                    user_name.as_deref().unwrap_or("unnamed")
                )
            }),
            Principal::Root { arn } => arn.clone().unwrap_or_else(|| format!("root:{account}")),
            Principal::AwsService { service } => format!("service:{service}"),
            Principal::AwsAccount {
                account_id,
                principal_id,
            } => format!(
                "account:{}:{}",
                account_id.as_deref().unwrap_or("unknown"),
                principal_id.as_deref().unwrap_or("unknown")
            ),
            Principal::Other {
                identity_type,
                arn,
                principal_id,
            } => arn.clone().unwrap_or_else(|| {
                format!(
                    "{identity_type}:{account}:{}",
                    principal_id.as_deref().unwrap_or("unknown")
                )
            }),
            Principal::Unknown => format!("unknown-caller:{account}"),
        };
        CallerKey(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `arn:aws:sts::123456789012:assumed-role/orders/session` ->
/// `arn:aws:iam::123456789012:role/orders` (the path, which the session ARN drops, is lost).
fn role_arn_of_session(session_arn: &str) -> Option<String> {
    let arn = arn_parts(session_arn).filter(|arn| arn.service == "sts")?;
    let role = arn
        .resource?
        .strip_prefix("assumed-role/")?
        .split('/')
        .next()?;
    (!role.is_empty()).then(|| format!("arn:{}:iam::{}:role/{role}", arn.partition, arn.account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_session(session: &str, identity_center: bool) -> Attribution {
        Attribution {
            principal: Principal::AssumedRole {
                role_name: Some("orders-task".into()),
                role_arn: Some("arn:aws:iam::123456789012:role/service/orders-task".into()),
                session_name: Some(session.into()),
                arn: Some(format!(
                    "arn:aws:sts::123456789012:assumed-role/orders-task/{session}"
                )),
                identity_center,
            },
            access_key_id: None,
            access_key_kind: None,
            mfa_authenticated: None,
            invoked_by: None,
            account_id: Some("123456789012".into()),
            ec2_role_delivery: None,
        }
    }

    #[test]
    fn every_session_of_a_role_is_one_caller() {
        let a = CallerKey::of(&role_session("3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d", false));
        let b = CallerKey::of(&role_session("9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", false));
        assert_eq!(a, b);
        assert_eq!(
            a.as_str(),
            "arn:aws:iam::123456789012:role/service/orders-task"
        );
    }

    #[test]
    fn each_identity_center_person_is_their_own_caller() {
        let alice = CallerKey::of(&role_session("alice@example.com", true));
        let bob = CallerKey::of(&role_session("bob@example.com", true));
        assert_ne!(alice, bob);
        assert!(alice.as_str().ends_with(" as alice@example.com"));
    }

    #[test]
    fn a_role_without_its_issuer_is_named_from_the_session_arn() {
        let mut who = role_session("build-17", false);
        if let Principal::AssumedRole { role_arn, .. } = &mut who.principal {
            *role_arn = None;
        }
        assert_eq!(
            CallerKey::of(&who).as_str(),
            "arn:aws:iam::123456789012:role/orders-task"
        );
    }

    #[test]
    fn a_service_is_named_by_its_principal() {
        let who = Attribution {
            principal: Principal::AwsService {
                service: "ecs-tasks.amazonaws.com".into(),
            },
            access_key_id: None,
            access_key_kind: None,
            mfa_authenticated: None,
            invoked_by: None,
            account_id: None,
            ec2_role_delivery: None,
        };
        assert_eq!(
            CallerKey::of(&who).as_str(),
            "service:ecs-tasks.amazonaws.com"
        );
    }
}
