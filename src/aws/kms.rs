//! [`KeyInspector`] on KMS (`DescribeKey`, then `ListAliases` and `ListResourceTags` for the
//! key through the SDK's paginators), [`KeyRestorer`] (`CancelKeyDeletion`, `EnableKey`), and
//! [`KeySecrets`] on Secrets Manager (`ListSecrets`, the secrets whose
//! `KmsKeyId` is the key): in the function's account, or in a member account through the
//! member role the other adapters share.

use std::sync::Arc;
use std::time::SystemTime;

use aws_config::{Region, SdkConfig};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::SecretsManager;
use super::clients::MemberCredentials;
use crate::error::RestoreError;
use crate::key_state::{KeyDescription, KeyLookup, ListedSecret};
use crate::ports::{KeyInspector, KeyRestorer, KeySecrets, SecretAt};

/// KMS, in the key's account and region.
pub struct KmsKeys {
    sdk_config: SdkConfig,
    member: Option<Arc<MemberCredentials>>,
}

impl KmsKeys {
    pub fn new(sdk_config: &SdkConfig, member: Option<Arc<MemberCredentials>>) -> Self {
        KmsKeys {
            sdk_config: sdk_config.clone(),
            member,
        }
    }

    /// A client for `at`: keys are looked up only when a key is used, so a client is built
    /// for the lookup (the credentials' cache is the SDK configuration's, shared).
    async fn client(&self, at: SecretAt<'_>) -> Result<aws_sdk_kms::Client, String> {
        let mut builder = aws_sdk_kms::config::Builder::from(&self.sdk_config);
        if let Some(region) = at.region {
            builder = builder.region(Region::new(region.as_str().to_owned()));
        }
        if let Some(account) = at.member_account {
            let Some(member) = &self.member else {
                return Err(format!(
                    "no member role is configured to act in account {account}"
                ));
            };
            builder = builder.credentials_provider(member.role(account).await.credentials);
        }
        Ok(aws_sdk_kms::Client::from_conf(builder.build()))
    }
}

#[async_trait::async_trait]
impl KeyInspector for KmsKeys {
    async fn describe_key(&self, key: &str, at: SecretAt<'_>) -> KeyLookup {
        let client = match self.client(at).await {
            Ok(client) => client,
            Err(why) => return KeyLookup::NotLookedUp(why),
        };
        let output = match client.describe_key().key_id(key).send().await {
            Ok(output) => output,
            Err(error) => return KeyLookup::Failed(failure(&error)),
        };
        let Some(metadata) = output.key_metadata() else {
            return KeyLookup::Failed("DescribeKey answered without the key's metadata".into());
        };
        let key_id = metadata.key_id().to_owned();
        let aliases = async {
            let mut aliases = Vec::new();
            let mut pages = client
                .list_aliases()
                .key_id(&key_id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| failure(&error))?;
                aliases.extend(
                    page.aliases()
                        .iter()
                        .filter_map(|alias| alias.alias_name().map(str::to_owned)),
                );
            }
            Ok(aliases)
        };
        let tags = async {
            let mut tags = Vec::new();
            let mut pages = client
                .list_resource_tags()
                .key_id(&key_id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| failure(&error))?;
                tags.extend(
                    page.tags()
                        .iter()
                        .map(|tag| (tag.tag_key().to_owned(), tag.tag_value().to_owned())),
                );
            }
            Ok(tags)
        };
        let (aliases, tags) = futures_util::future::join(aliases, tags).await;
        KeyLookup::Described(KeyDescription {
            arn: metadata.arn().unwrap_or(key).to_owned(),
            key_id,
            state: metadata
                .key_state()
                .map_or("unknown", |state| state.as_str())
                .to_owned(),
            deletion_date: metadata
                .deletion_date()
                .and_then(|date| SystemTime::try_from(*date).ok()),
            multi_region: metadata.multi_region().unwrap_or(false),
            aliases,
            tags,
        })
    }
}

#[async_trait::async_trait]
impl KeyRestorer for KmsKeys {
    async fn cancel_key_deletion(
        &self,
        key_id: &str,
        at: SecretAt<'_>,
    ) -> Result<(), RestoreError> {
        let client = self.client(at).await.map_err(RestoreError::Unreachable)?;
        match client.cancel_key_deletion().key_id(key_id).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(restore_error(&error)),
        }
    }

    async fn enable_key(&self, key_id: &str, at: SecretAt<'_>) -> Result<(), RestoreError> {
        let client = self.client(at).await.map_err(RestoreError::Unreachable)?;
        match client.enable_key().key_id(key_id).send().await {
            Ok(_) => Ok(()),
            Err(error) => Err(restore_error(&error)),
        }
    }
}

/// KMS's refusal as a restore error: `KMSInvalidStateException` on a cancel means the key is
/// not pending deletion (any more).
fn restore_error<E, R>(error: &SdkError<E, R>) -> RestoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service)
            if service.err().code() == Some("KMSInvalidStateException") =>
        {
            RestoreError::NotPendingDeletion
        }
        SdkError::ServiceError(service) => RestoreError::Rejected {
            code: service.err().code().unwrap_or("error").to_owned(),
            message: service.err().message().unwrap_or("no message").to_owned(),
        },
        other => RestoreError::Unreachable(DisplayErrorContext(other).to_string()),
    }
}

#[async_trait::async_trait]
impl KeySecrets for SecretsManager {
    async fn secrets_under_key(
        &self,
        key: &KeyDescription,
        at: SecretAt<'_>,
    ) -> Result<Vec<ListedSecret>, String> {
        let listed = self.list_all(at).await?;
        Ok(listed
            .into_iter()
            .filter(|(_, kms_key_id, _)| {
                kms_key_id
                    .as_deref()
                    .is_some_and(|named| names_the_key(named, key))
            })
            .map(|(description, _, pending_deletion)| ListedSecret {
                arn: description.arn,
                name: description.name,
                pending_deletion,
            })
            .collect())
    }
}

/// Whether a secret's `KmsKeyId` (an id, a key ARN, an alias name or an alias ARN, as its
/// owner set it) is `key`.
fn names_the_key(named: &str, key: &KeyDescription) -> bool {
    let aliases = key.aliases.as_deref().unwrap_or_default();
    named == key.key_id
        || named == key.arn
        || aliases.iter().any(|alias| {
            named == alias
                || named
                    .strip_suffix(alias.as_str())
                    .is_some_and(|prefix| prefix.starts_with("arn:") && prefix.ends_with(':'))
        })
}

fn failure<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => format!(
            "{}: {}",
            service.err().code().unwrap_or("error"),
            service.err().message().unwrap_or("no message")
        ),
        other => DisplayErrorContext(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(aliases: &[&str]) -> KeyDescription {
        KeyDescription {
            arn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd".into(),
            key_id: "1234abcd".into(),
            state: "PendingDeletion".into(),
            deletion_date: None,
            multi_region: false,
            aliases: Ok(aliases.iter().map(|a| (*a).to_owned()).collect()),
            tags: Ok(vec![]),
        }
    }

    #[test]
    fn a_secret_names_its_key_by_id_arn_alias_or_alias_arn() {
        let key = key(&["alias/orders"]);
        for named in [
            "1234abcd",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd",
            "alias/orders",
            "arn:aws:kms:us-east-1:111122223333:alias/orders",
        ] {
            assert!(names_the_key(named, &key), "{named}");
        }
    }

    #[test]
    fn another_key_or_a_longer_alias_is_not_the_key() {
        let key = key(&["alias/orders"]);
        for named in [
            "1234abcd-other",
            "arn:aws:kms:us-east-1:111122223333:key/5678",
            "alias/orders-old",
            "alias/prod/alias/orders",
        ] {
            assert!(!names_the_key(named, &key), "{named}");
        }
    }
}
