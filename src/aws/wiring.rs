//! The one wiring: every adapter the configuration asks for, built once from [`Config`]. The
//! Lambda function, `invoke` and `scan`'s publishing all take their [`Adapters`] from here,
//! so what runs locally is what runs in Lambda (findings and chat included).

use aws_config::SdkConfig;

use super::{
    AlertStateTable, AwsCopies, ChatTopic, CloudTrailHistory, KmsKeys, OrganizationAccounts,
    SecretsManager, SecurityHubFindings, SnsPublisher, load_sdk_config, secrets_manager,
};
use crate::config::{Config, SecurityHubMode};
use crate::ports::{Adapters, NoAccountNames, NoWindows};

/// The AWS adapters, built once (a Lambda sandbox's life, or one command).
pub struct Wiring {
    publisher: SnsPublisher,
    secrets: SecretsManager,
    /// The quiet windows, when ALERT_STATE_TABLE names a table; without one, every batch alerts.
    windows: Option<AlertStateTable>,
    /// CloudTrail Event history, in member accounts through the same member role.
    history: CloudTrailHistory,
    /// Member accounts' names, across an organization only.
    accounts: Option<OrganizationAccounts>,
    /// Security Hub findings and chat messages of the delivered alerts, where configured.
    copies: AwsCopies,
    /// KMS keys pending deletion: what they are (their secrets come from `secrets`).
    keys: KmsKeys,
}

impl Wiring {
    /// Everything `config` asks for, publishing to `topic`, with the SDK's default chain.
    pub async fn build(config: &Config, topic: &str) -> Self {
        Self::with_sdk_config(&load_sdk_config(config).await, config, topic)
    }

    /// The same from an SDK configuration already loaded.
    pub fn with_sdk_config(sdk_config: &SdkConfig, config: &Config, topic: &str) -> Self {
        let secrets = secrets_manager(sdk_config, config);
        Wiring {
            publisher: SnsPublisher::new(sdk_config, topic),
            windows: config
                .alert_state_table
                .as_deref()
                .map(|table| AlertStateTable::new(sdk_config, table)),
            history: CloudTrailHistory::new(sdk_config, secrets.member_credentials()),
            keys: KmsKeys::new(sdk_config, secrets.member_credentials()),
            accounts: config
                .member_role_name
                .as_ref()
                .map(|_| OrganizationAccounts::new(sdk_config)),
            copies: AwsCopies {
                findings: match (config.security_hub, config.account_id.as_deref()) {
                    (SecurityHubMode::Off, _) | (_, None) => None,
                    (mode, Some(account)) => Some(SecurityHubFindings::new(
                        sdk_config,
                        mode,
                        account,
                        secrets.member_credentials(),
                        config.accounts.clone(),
                    )),
                },
                chat: config
                    .chat_topic_arn
                    .as_deref()
                    .map(|topic| ChatTopic::new(sdk_config, topic)),
            },
            secrets,
        }
    }

    /// The adapters, as the handler takes them.
    pub fn adapters(&self) -> Adapters<'_> {
        Adapters {
            publisher: &self.publisher,
            inspector: &self.secrets,
            restorer: &self.secrets,
            windows: match &self.windows {
                Some(table) => table,
                None => &NoWindows,
            },
            history: &self.history,
            accounts: match &self.accounts {
                Some(names) => names,
                None => &NoAccountNames,
            },
            copies: &self.copies,
            keys: &self.keys,
            key_restorer: &self.keys,
            key_secrets: &self.secrets,
        }
    }

    /// Secrets Manager as the wiring built it (`scan` looks secrets up through it).
    pub fn secrets(&self) -> &SecretsManager {
        &self.secrets
    }
}
