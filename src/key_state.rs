//! What was learnt of a KMS key pending deletion besides its uses (#45): what `DescribeKey`,
//! `ListAliases` and `ListResourceTags` said, the secrets it encrypts, and who scheduled its
//! deletion ([`key_deletion`]). Pure data, filled by the handler's side
//! ([`crate::key_check`]) and read by the alert and the restore's decision.

mod key_deletion;

pub use key_deletion::{KeyDeletionSeen, KeyScheduled, key_deletion_in, key_scheduled_in};

use std::time::SystemTime;

/// What `DescribeKey` and `ListAliases` said of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLookup {
    Described(KeyDescription),
    /// Not asked: why (no name to ask with, an account the function may not act in, no KMS
    /// client here).
    NotLookedUp(String),
    /// Asked, and the call failed: why.
    Failed(String),
}

impl KeyLookup {
    pub fn kind(&self) -> &'static str {
        match self {
            KeyLookup::Described(_) => "described",
            KeyLookup::NotLookedUp(_) => "not_looked_up",
            KeyLookup::Failed(_) => "lookup_failed",
        }
    }

    pub fn description(&self) -> Option<&KeyDescription> {
        match self {
            KeyLookup::Described(description) => Some(description),
            _ => None,
        }
    }

    pub fn deletion_date(&self) -> Option<SystemTime> {
        self.description().and_then(|d| d.deletion_date)
    }
}

/// `DescribeKey`'s answer, with the key's aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescription {
    pub arn: String,
    pub key_id: String,
    /// `KeyState`: `PendingDeletion`, `PendingReplicaDeletion`, `Disabled`, `Enabled`, ...
    pub state: String,
    pub deletion_date: Option<SystemTime>,
    pub multi_region: bool,
    /// `alias/...` names; `Err`: why `ListAliases` could not tell.
    pub aliases: Result<Vec<String>, String>,
    /// The key's tags (`ListResourceTags`); `Err`: why they could not be read (then nothing
    /// is cancelled: the tag that says the deletion is intended may be among them).
    pub tags: Result<Vec<(String, String)>, String>,
}

/// The secrets the key encrypts, as far as they could be learnt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptedSecrets {
    /// Secrets Manager's calls name them (the encryption context's `SecretARN`).
    pub from_uses: Vec<String>,
    /// `ListSecrets` in the key's account and region: the secrets whose `KmsKeyId` is this
    /// key (by id, ARN or alias); `Err`: why it could not be listed.
    pub listed: Option<Result<Vec<ListedSecret>, String>>,
}

/// A secret `ListSecrets` shows under the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSecret {
    pub arn: String,
    pub name: String,
    /// The secret is itself scheduled for deletion.
    pub pending_deletion: bool,
}

/// Who scheduled the key's deletion, as Event history tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduledBy {
    Found(KeyDeletionSeen),
    /// Not found, or not asked: why.
    Unknown(String),
}

#[cfg(test)]
mod tests;
