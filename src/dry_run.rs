//! Dry run as adapters, the one mechanism for it: a Secrets Manager that looks nothing up and
//! restores nothing, and records what it was asked. The secret's state is then
//! [`SecretState::DryRun`], from which the restore policy says what it would have done. The
//! handler has no dry-run flag.

use std::sync::Mutex;

use crate::error::RestoreError;
use crate::ports::{SecretAt, SecretInspector, SecretRestorer};
use crate::restore::SecretState;

/// What a dry run was asked to do, in order: `describe SECRET` and `restore ARN`.
#[derive(Debug, Default)]
pub struct DryRunSecrets {
    asked: Mutex<Vec<String>>,
}

impl DryRunSecrets {
    /// What would have been done.
    pub fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn record(&self, what: String) {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(what);
    }
}

#[async_trait::async_trait]
impl SecretInspector for DryRunSecrets {
    async fn inspect(&self, secret_id: &str, _at: SecretAt<'_>) -> SecretState {
        self.record(format!("describe {secret_id}"));
        SecretState::DryRun
    }
}

#[async_trait::async_trait]
impl SecretRestorer for DryRunSecrets {
    async fn restore(&self, arn: &str, _at: SecretAt<'_>) -> Result<(), RestoreError> {
        self.record(format!("restore {arn}"));
        Err(RestoreError::NotAttempted("dry run: nothing restored"))
    }
}
