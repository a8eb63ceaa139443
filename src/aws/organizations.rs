//! The organization's account names for [`AccountNames`]: `organizations:DescribeAccount`,
//! asked once per account for the life of the sandbox. Optional by design: the function may
//! not be allowed to read the organization (it runs outside the management account, or the
//! permission was left out), and then, after the first refusal, it stops asking and the
//! alerts give account ids alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_config::SdkConfig;

use crate::ids::AccountId;
use crate::ports::AccountNames;

/// Account names kept; an organization past this many accounts asks again for the rest.
const MAX_KEPT: usize = 5000;

pub struct OrganizationAccounts {
    client: aws_sdk_organizations::Client,
    names: tokio::sync::Mutex<HashMap<String, Option<String>>>,
    refused: AtomicBool,
}

impl OrganizationAccounts {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        OrganizationAccounts {
            client: aws_sdk_organizations::Client::new(sdk_config),
            names: tokio::sync::Mutex::new(HashMap::new()),
            refused: AtomicBool::new(false),
        }
    }
}

#[async_trait::async_trait]
impl AccountNames for OrganizationAccounts {
    async fn name(&self, account: &AccountId) -> Option<String> {
        if self.refused.load(Ordering::Relaxed) {
            return None;
        }
        let mut names = self.names.lock().await;
        if let Some(name) = names.get(account.as_str()) {
            return name.clone();
        }
        let name = match self
            .client
            .describe_account()
            .account_id(account.as_str())
            .send()
            .await
        {
            Ok(output) => output.account().and_then(|a| a.name()).map(str::to_owned),
            Err(error) => {
                // One refusal says the function may not read the organization: stop asking.
                if let Some(service) = error.as_service_error()
                    && (service.is_access_denied_exception()
                        || service.is_aws_organizations_not_in_use_exception())
                {
                    self.refused.store(true, Ordering::Relaxed);
                }
                tracing::info!(%account, error = %crate::error::Chain(&error), "no account name");
                None
            }
        };
        if names.len() < MAX_KEPT {
            names.insert(account.to_string(), name.clone());
        }
        name
    }
}
