//! [`SecretInspector`] and [`SecretRestorer`] on Secrets Manager: in the function's account,
//! or in a member account through the SDK's assume-role provider, one client per region and
//! per account.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_config::{Region, SdkConfig};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::clients::{MAX_MEMBER_ACCOUNTS, MAX_REGION_CLIENTS, MemberCredentials, MemberRole};
use crate::config::Config;
use crate::error::RestoreError;
use crate::ids::AccountId;
use crate::ports::{SecretAt, SecretInspector, SecretRestorer};
use crate::region::RegionName;
use crate::restore::{LookupFailure, SecretState};
use crate::usage::SecretDescription;

/// The Secrets Manager adapter the configuration asks for: in the function's own account, and
/// in member accounts when `MEMBER_ROLE_NAME` is set.
pub fn secrets_manager(sdk_config: &SdkConfig, config: &Config) -> SecretsManager {
    // STS is reached as every other service is: the function's configuration.
    let own = SecretsManager::new(sdk_config);
    match &config.member_role_name {
        Some(role_name) => own.with_member_role(role_name),
        None => own,
    }
}

/// Looks up and restores secrets, with one client per region (an alert's secret lives in the
/// region of its event, which need not be the function's), and, with a member role, one
/// client per member account (the region chosen per call).
pub struct SecretsManager {
    sdk_config: SdkConfig,
    clients: Mutex<HashMap<String, aws_sdk_secretsmanager::Client>>,
    member: Option<Arc<MemberCredentials>>,
    member_clients: tokio::sync::Mutex<HashMap<String, MemberClient>>,
}

/// Credentials for acting in an organization's member accounts: the SDK's own assume-role
#[derive(Clone)]
struct MemberClient {
    role: MemberRole,
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        SecretsManager {
            sdk_config: sdk_config.clone(),
            clients: Mutex::new(HashMap::new()),
            member: None,
            member_clients: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Acts in a member account through `arn:PARTITION:iam::ACCOUNT:role/{role_name}`.
    pub fn with_member_role(self, role_name: &str) -> Self {
        let sts_config = self.sdk_config.clone();
        self.with_member_role_through(role_name, &sts_config)
    }

    /// [`SecretsManager::with_member_role`], with STS reached through `sts_config` (a test's
    /// fake STS).
    pub fn with_member_role_through(self, role_name: &str, sts_config: &SdkConfig) -> Self {
        let member = MemberCredentials::new(role_name, &self.sdk_config, sts_config);
        self.with_member_credentials(Arc::new(member))
    }

    pub fn with_member_credentials(mut self, member: Arc<MemberCredentials>) -> Self {
        self.member = Some(member);
        self
    }

    /// The member credentials, to share with the other adapters that act in member accounts.
    pub fn member_credentials(&self) -> Option<Arc<MemberCredentials>> {
        self.member.clone()
    }

    fn client(&self, region: Option<&RegionName>) -> aws_sdk_secretsmanager::Client {
        let build = || {
            let mut builder = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config);
            if let Some(region) = region {
                builder = builder.region(Region::new(region.as_str().to_owned()));
            }
            aws_sdk_secretsmanager::Client::from_conf(builder.build())
        };
        let key = region.map_or("", RegionName::as_str);
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(key) {
            return client.clone();
        }
        let client = build();
        if clients.len() < MAX_REGION_CLIENTS {
            clients.insert(key.to_owned(), client.clone());
        }
        client
    }

    /// The client for `account` through the member role; `None` without a member role.
    async fn member_client(&self, account: &AccountId) -> Option<MemberClient> {
        let member = self.member.as_ref()?;
        let mut clients = self.member_clients.lock().await;
        if let Some(client) = clients.get(account.as_str()) {
            return Some(client.clone());
        }
        let role = member.role(account).await;
        let config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config)
            .credentials_provider(role.credentials.clone())
            .build();
        let client = MemberClient {
            role,
            client: aws_sdk_secretsmanager::Client::from_conf(config),
        };
        if clients.len() < MAX_MEMBER_ACCOUNTS {
            clients.insert(account.to_string(), client.clone());
        }
        Some(client)
    }

    /// The region override for a member account's call.
    fn in_region(region: Option<&RegionName>) -> Option<aws_sdk_secretsmanager::config::Builder> {
        region.map(|region| {
            aws_sdk_secretsmanager::config::Builder::default()
                .region(Region::new(region.as_str().to_owned()))
        })
    }

    /// How many regions have a client kept, for the test of the bound.
    #[cfg(test)]
    fn cached_clients(&self) -> usize {
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[async_trait::async_trait]
impl SecretInspector for SecretsManager {
    async fn inspect(&self, secret_id: &str, at: SecretAt<'_>) -> SecretState {
        let (client, member) = match at.member_account {
            None => (self.client(at.region), None),
            Some(account) => match self.member_client(account).await {
                Some(member) => (member.client.clone(), Some(member)),
                None => {
                    return SecretState::LookupFailed {
                        reason: format!("no member role is configured to act in account {account}"),
                        cause: LookupFailure::Refused,
                    };
                }
            },
        };
        let mut call = client.describe_secret().secret_id(secret_id).customize();
        if member.is_some()
            && let Some(region) = Self::in_region(at.region)
        {
            call = call.config_override(region);
        }
        let output = match call.send().await {
            Ok(output) => output,
            Err(error) => {
                if let Some(member) = &member
                    && !matches!(error, SdkError::ServiceError(_))
                    && let Some(reason) = member.role.failure().await
                {
                    return SecretState::LookupFailed {
                        reason,
                        cause: LookupFailure::MemberRole,
                    };
                }
                return state_of_failed_lookup(&error);
            }
        };
        let arn = output.arn().unwrap_or(secret_id).to_owned();
        let name = output.name().unwrap_or(secret_id).to_owned();
        let tags = output
            .tags()
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value().unwrap_or("").to_owned())))
            .collect();
        match output.deleted_date() {
            Some(date) => SecretState::PendingDeletion {
                arn,
                name,
                deletion_date: SystemTime::try_from(*date).unwrap_or(SystemTime::UNIX_EPOCH),
                tags,
            },
            None => SecretState::NotPendingDeletion { arn, name, tags },
        }
    }
}

/// `check`'s lookups: what a secret is, and which secrets are scheduled for deletion.
impl SecretsManager {
    /// The client for `at`, and the member role it acts through; `Err` when `at` names a
    /// member account and no member role is configured.
    async fn client_at(
        &self,
        at: SecretAt<'_>,
    ) -> Result<(aws_sdk_secretsmanager::Client, Option<MemberClient>), String> {
        match at.member_account {
            None => Ok((self.client(at.region), None)),
            Some(account) => match self.member_client(account).await {
                Some(member) => Ok((member.client.clone(), Some(member))),
                None => Err(format!(
                    "no member role is configured to act in account {account}"
                )),
            },
        }
    }

    /// DescribeSecret: `Ok(None)` when there is no such secret.
    pub async fn describe(
        &self,
        secret_id: &str,
        at: SecretAt<'_>,
    ) -> Result<Option<SecretDescription>, String> {
        let (client, member) = self.client_at(at).await?;
        let mut call = client.describe_secret().secret_id(secret_id).customize();
        if member.is_some()
            && let Some(region) = Self::in_region(at.region)
        {
            call = call.config_override(region);
        }
        match call.send().await {
            Ok(output) => Ok(Some(SecretDescription {
                arn: output.arn().unwrap_or(secret_id).to_owned(),
                name: output.name().unwrap_or(secret_id).to_owned(),
                deletion_date: output
                    .deleted_date()
                    .and_then(|d| SystemTime::try_from(*d).ok()),
                last_accessed_date: output
                    .last_accessed_date()
                    .and_then(|d| SystemTime::try_from(*d).ok()),
            })),
            Err(SdkError::ServiceError(service))
                if service.err().code() == Some("ResourceNotFoundException") =>
            {
                Ok(None)
            }
            Err(error) => Err(describe_failure(&error, member.as_ref()).await),
        }
    }

    /// Every secret scheduled for deletion at `at`: ListSecrets with
    /// `IncludePlannedDeletion`, through the SDK's paginator.
    pub async fn pending_deletion(
        &self,
        at: SecretAt<'_>,
    ) -> Result<Vec<SecretDescription>, String> {
        let listed = self.list_all(at).await?;
        Ok(listed
            .into_iter()
            .filter(|(_, _, pending)| *pending)
            .map(|(secret, _, _)| secret)
            .collect())
    }

    /// Every secret at `at`, those scheduled for deletion included: each with its `KmsKeyId`
    /// (`None`: the account's `aws/secretsmanager` key) and whether it is pending deletion.
    pub(crate) async fn list_all(
        &self,
        at: SecretAt<'_>,
    ) -> Result<Vec<(SecretDescription, Option<String>, bool)>, String> {
        let (client, member) = self.client_at(at).await?;
        // A paginator takes no per-call configuration: a member account's client is rebuilt
        // for the region.
        let client = match (&member, at.region) {
            (Some(_), Some(region)) => aws_sdk_secretsmanager::Client::from_conf(
                client
                    .config()
                    .to_builder()
                    .region(Region::new(region.as_str().to_owned()))
                    .build(),
            ),
            _ => client,
        };
        let mut pages = client
            .list_secrets()
            .include_planned_deletion(true)
            .into_paginator()
            .send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(error) => return Err(describe_failure(&error, member.as_ref()).await),
            };
            for secret in page.secret_list() {
                let description = SecretDescription {
                    arn: secret.arn().unwrap_or_default().to_owned(),
                    name: secret.name().unwrap_or_default().to_owned(),
                    deletion_date: secret
                        .deleted_date()
                        .and_then(|d| SystemTime::try_from(*d).ok()),
                    last_accessed_date: secret
                        .last_accessed_date()
                        .and_then(|d| SystemTime::try_from(*d).ok()),
                };
                let pending = secret.deleted_date().is_some();
                listed.push((description, secret.kms_key_id().map(str::to_owned), pending));
            }
        }
        Ok(listed)
    }
}

/// Why a lookup failed, in one line: the member role when its credentials cannot be had.
async fn describe_failure<E, R>(error: &SdkError<E, R>, member: Option<&MemberClient>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(member) = member
        && !matches!(error, SdkError::ServiceError(_))
        && let Some(reason) = member.role.failure().await
    {
        return reason;
    }
    match state_of_failed_lookup(error) {
        SecretState::LookupFailed { reason, .. } => reason,
        _ => DisplayErrorContext(error).to_string(),
    }
}

fn state_of_failed_lookup<E, R>(error: &SdkError<E, R>) -> SecretState
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service)
            if service.err().code() == Some("ResourceNotFoundException") =>
        {
            SecretState::Purged
        }
        SdkError::ServiceError(service) => SecretState::LookupFailed {
            reason: format!(
                "{}: {}",
                service.err().code().unwrap_or("error"),
                service.err().message().unwrap_or("no message")
            ),
            cause: LookupFailure::Refused,
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => SecretState::LookupFailed {
            reason: format!(
                "Secrets Manager unreachable: {}",
                DisplayErrorContext(error)
            ),
            cause: LookupFailure::Unreachable,
        },
        other => SecretState::LookupFailed {
            reason: DisplayErrorContext(other).to_string(),
            cause: LookupFailure::Refused,
        },
    }
}

#[async_trait::async_trait]
impl SecretRestorer for SecretsManager {
    async fn restore(&self, arn: &str, at: SecretAt<'_>) -> Result<(), RestoreError> {
        let (client, member) = match at.member_account {
            None => (self.client(at.region), None),
            Some(account) => match self.member_client(account).await {
                Some(member) => (member.client.clone(), Some(member)),
                None => {
                    return Err(RestoreError::NotAttempted(
                        "no member role is configured to act in that account",
                    ));
                }
            },
        };
        let mut call = client.restore_secret().secret_id(arn).customize();
        if member.is_some()
            && let Some(region) = Self::in_region(at.region)
        {
            call = call.config_override(region);
        }
        match call.send().await {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service)) => {
                let code = service.err().code().unwrap_or("error");
                let message = service.err().message().unwrap_or("no message");
                if code == "InvalidRequestException" && says_not_scheduled(message) {
                    return Err(RestoreError::NotPendingDeletion);
                }
                Err(RestoreError::Rejected {
                    code: code.to_owned(),
                    message: message.to_owned(),
                })
            }
            Err(other) => {
                if let Some(member) = &member
                    && let Some(reason) = member.role.failure().await
                {
                    return Err(RestoreError::Unreachable(reason));
                }
                Err(RestoreError::Unreachable(
                    DisplayErrorContext(&other).to_string(),
                ))
            }
        }
    }
}

/// Whether a `RestoreSecret` refusal says the secret is not scheduled for deletion (the
/// deletion was cancelled between our lookup and our restore).
fn says_not_scheduled(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    (message.contains("not") || message.contains("n't"))
        && (message.contains("scheduled for deletion") || message.contains("marked for deletion"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use aws_config::BehaviorVersion;

    #[test]
    fn a_refusal_that_says_not_scheduled_means_no_longer_pending() {
        assert!(says_not_scheduled(
            "You can't restore a secret that isn't scheduled for deletion."
        ));
        assert!(says_not_scheduled("The secret is not marked for deletion"));
        assert!(!says_not_scheduled("Access denied"));
    }

    #[test]
    fn the_region_client_cache_is_bounded_whatever_the_records_name() {
        let sdk_config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let secrets = SecretsManager::new(&sdk_config);
        for n in 0..100 {
            let region = RegionName::parse(&format!("zz-made-up-{n}")).unwrap();
            let _ = secrets.client(Some(&region));
        }
        assert_eq!(secrets.cached_clients(), MAX_REGION_CLIENTS);
    }
}
