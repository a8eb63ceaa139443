//! Credentials for acting in an organization's member accounts, and the bounds on the
//! clients kept per region and per account (both come from records).

use std::collections::HashMap;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_secretsmanager::config::{ProvideCredentials, SharedCredentialsProvider};

use crate::error::Chain;
use crate::ids::AccountId;

/// Clients kept per region. AWS has about 35 regions; past this many a record is making
/// regions up, and the client is built for the one call and dropped.
pub(crate) const MAX_REGION_CLIENTS: usize = 40;
/// Member-account clients kept (one per account, credentials cached inside). Accounts come
/// from records; past this many, a client serves its one call.
pub(crate) const MAX_MEMBER_ACCOUNTS: usize = 1000;

/// credentials provider, one per account, kept for the life of the sandbox and shared by
/// every client that acts there (Secrets Manager, CloudTrail), whose identity cache keeps the
/// role's credentials until shortly before they expire.
pub struct MemberCredentials {
    role_name: String,
    partition: &'static str,
    /// STS is reached through this (the function's own configuration, in production).
    sts_config: SdkConfig,
    providers: tokio::sync::Mutex<HashMap<String, MemberRole>>,
}

/// One member account's role and its credentials.
#[derive(Clone)]
pub struct MemberRole {
    pub role_arn: String,
    pub credentials: SharedCredentialsProvider,
}

impl MemberCredentials {
    /// `arn:PARTITION:iam::ACCOUNT:role/{role_name}`, assumed through STS as `sts_config`
    /// reaches it, from `home` (the function's configuration: its region gives the partition).
    pub fn new(role_name: &str, home: &SdkConfig, sts_config: &SdkConfig) -> Self {
        MemberCredentials {
            role_name: role_name.to_owned(),
            partition: partition_of(home.region().map(Region::as_ref)),
            sts_config: sts_config.clone(),
            providers: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The role of `account` and its credentials provider (nothing is called yet).
    pub async fn role(&self, account: &AccountId) -> MemberRole {
        let mut providers = self.providers.lock().await;
        if let Some(role) = providers.get(account.as_str()) {
            return role.clone();
        }
        let role_arn = format!(
            "arn:{}:iam::{account}:role/{}",
            self.partition, self.role_name
        );
        let provider = AssumeRoleProvider::builder(role_arn.clone())
            .session_name(MEMBER_SESSION_NAME)
            .configure(&self.sts_config)
            .build()
            .await;
        let role = MemberRole {
            role_arn,
            credentials: SharedCredentialsProvider::new(provider),
        };
        // Accounts come from records: past the bound, the role serves this call only.
        if providers.len() < MAX_MEMBER_ACCOUNTS {
            providers.insert(account.to_string(), role.clone());
        }
        role
    }
}

impl MemberRole {
    /// Why a call in this account failed without the service's answer: the role, if its
    /// credentials cannot be had (missing role, trust policy, STS throttling).
    pub async fn failure(&self) -> Option<String> {
        match self.credentials.provide_credentials().await {
            Ok(_) => None,
            Err(error) => Some(format!(
                "could not assume the member role {}: {}",
                self.role_arn,
                Chain(&error)
            )),
        }
    }
}

/// Who acts in `STS` sessions in member accounts, as CloudTrail there will show it.
pub const MEMBER_SESSION_NAME: &str = "secret-deletion-alerts";

/// The partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, else `aws`.
pub(crate) fn partition_of(region: Option<&str>) -> &'static str {
    match region {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}
