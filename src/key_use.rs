//! The rule for KMS keys (#45: the look-back, `scan`, reports what it finds; the function
//! alerts on it through [`crate::key_check`]): a cryptographic operation KMS refused
//! because its key is pending deletion. Pure: a record in, what it says of the key, the
//! operation and the caller out ([`report`]: the look-back's words for them).
//!
//! The shape, from the KMS Developer Guide ("Create an alarm that detects use of a KMS key
//! pending deletion", and "Key states of AWS KMS keys"): the call's `eventSource` is
//! `kms.amazonaws.com`, its `errorCode` `KMSInvalidStateException` (or `DisabledException`),
//! and its `errorMessage` `arn:aws:kms:REGION:ACCOUNT:key/KEY_ID is pending deletion.` The rule
//! matches on the message, as AWS's own metric filter does, never on the code. The key is named
//! by `resources[]` (`AWS::KMS::Key`), else by the ARN the message starts with, else by what the
//! caller passed as `requestParameters.keyId` (an id, an alias or an ARN; `Decrypt` often passes
//! none). When Secrets Manager made the call for a caller (`userIdentity.invokedBy`, or the
//! source address, is `secretsmanager.amazonaws.com`), the caller is still `userIdentity`, and
//! the secret is named by the encryption context's `SecretARN`.
//!
//! Everything here but the message's wording and the event source is the caller's to choose
//! or AWS's to leave out: a field that is missing or odd is named, never a reason to drop the
//! use.

mod report;

pub use report::{
    KEY_USE_SCHEMA, KeyResource, KeyUseDocument, UseDocument, key_use_documents, key_use_report,
};

use serde::Deserialize;

use crate::cloudtrail::{Attribution, CloudTrailRecord, arn_parts};

/// Where KMS logs its calls.
pub const KMS_EVENT_SOURCE: &str = "kms.amazonaws.com";

/// What every refusal of a key pending deletion says after the key's ARN (the key-states table
/// has a key pending deletion, and a multi-Region primary key waiting for its replicas).
pub const KEY_PENDING_WORDINGS: [&str; 2] =
    [" is pending deletion", " is pending replica deletion"];

/// The `resources[]` type CloudTrail gives a KMS key.
pub const KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";

/// Who made a call for a caller when Secrets Manager read or wrote a secret's value.
const SECRETS_MANAGER: &str = "secretsmanager.amazonaws.com";

/// A cryptographic operation on a key pending deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub key: KeyNamed,
    /// `eventName`: `Decrypt`, `GenerateDataKey`, ...
    pub operation: String,
    pub error_code: Option<String>,
    pub error_message: String,
    /// Set when Secrets Manager made the call for the caller: the secret it was for, by the
    /// encryption context's `SecretARN` (`None` when the context does not name it).
    pub through_secrets_manager: Option<ThroughSecretsManager>,
    pub event_id: Option<String>,
    /// `sharedEventID`: a use of a key in another account is logged in both accounts, with one
    /// of these.
    pub shared_event_id: Option<String>,
    pub event_time: Option<String>,
    pub aws_region: Option<String>,
    pub recipient_account_id: Option<String>,
    pub who: Attribution,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// The call was Secrets Manager's, for a read or a write of this secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThroughSecretsManager {
    pub secret_arn: Option<String>,
}

/// The key, as far as the record names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNamed {
    /// A key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`), from `resources[]` or the message.
    Arn { arn: String, key_id: String },
    /// Only what the caller passed (an id, `alias/...`, or an alias ARN): where it lives is
    /// the call's account and region.
    AsPassed(String),
    /// Nothing names it: the alert says so.
    Unknown,
}

impl KeyNamed {
    /// The key's id (the ARN's last part), when the record gives an ARN.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            KeyNamed::Arn { key_id, .. } => Some(key_id),
            _ => None,
        }
    }

    pub fn arn(&self) -> Option<&str> {
        match self {
            KeyNamed::Arn { arn, .. } => Some(arn),
            _ => None,
        }
    }
}

/// The fields of a KMS record the secrets' model does not read.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KmsFields {
    request_parameters: Option<KmsParameters>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KmsParameters {
    key_id: Option<serde_json::Value>,
    encryption_context: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Whether `message` is a refusal of a key pending deletion.
pub fn says_key_pending_deletion(message: &str) -> bool {
    KEY_PENDING_WORDINGS
        .iter()
        .any(|wording| message.contains(wording))
}

/// The key use `record` shows, if it is one. `json_text` is the record's own text, for the
/// KMS fields the secrets' model does not read (an odd one is left out, not a reason to drop
/// the use).
pub fn key_use_in(record: &CloudTrailRecord, json_text: &str) -> Option<KeyUse> {
    let message = record.error_message.as_deref()?;
    if !says_key_pending_deletion(message) {
        return None;
    }
    key_call_in(record, json_text)
}

/// Any KMS call `record` shows, refused or not, with the key it names as far as it names one
/// (`check` of a key counts them all). `error_message` is empty for a call that succeeded.
pub fn key_call_in(record: &CloudTrailRecord, json_text: &str) -> Option<KeyUse> {
    if record.event_source.as_deref() != Some(KMS_EVENT_SOURCE) {
        return None;
    }
    let message = record.error_message.as_deref().unwrap_or("");
    let fields: KmsFields = serde_json::from_str(json_text).unwrap_or_default();
    let parameters = fields.request_parameters.unwrap_or_default();
    let key = key_named(record, message, parameters.key_id.as_ref());
    let who = record.attribution();
    let invoked_by_secrets_manager = who.invoked_by.as_deref() == Some(SECRETS_MANAGER)
        || record.source_ip_address.as_deref() == Some(SECRETS_MANAGER);
    let through_secrets_manager = invoked_by_secrets_manager.then(|| ThroughSecretsManager {
        secret_arn: parameters
            .encryption_context
            .as_ref()
            .and_then(|context| context.get("SecretARN"))
            .and_then(|arn| arn.as_str())
            .map(str::to_owned),
    });
    Some(KeyUse {
        key,
        operation: record
            .event_name
            .clone()
            .unwrap_or_else(|| "an unnamed operation".to_owned()),
        error_code: record.error_code.clone(),
        error_message: message.to_owned(),
        through_secrets_manager,
        event_id: record.event_id.clone(),
        shared_event_id: record.shared_event_id.clone(),
        event_time: record.event_time.clone(),
        aws_region: record.aws_region.clone(),
        recipient_account_id: record.recipient_account_id.clone(),
        who,
        source_ip_address: record.source_ip_address.clone(),
        user_agent: record.user_agent.clone(),
    })
}

/// `resources[]`'s key, else the ARN the message starts with, else what the caller passed.
fn key_named(
    record: &CloudTrailRecord,
    message: &str,
    passed: Option<&serde_json::Value>,
) -> KeyNamed {
    let from_resources = record
        .resources
        .iter()
        .flatten()
        .filter(|resource| resource.resource_type.as_deref() == Some(KEY_RESOURCE_TYPE))
        .find_map(|resource| resource.arn.as_deref().and_then(key_arn));
    let from_message = || message.split_whitespace().next().and_then(key_arn);
    if let Some(key) = from_resources.or_else(from_message) {
        return key;
    }
    match passed.and_then(|value| value.as_str()).map(str::trim) {
        Some(text) if !text.is_empty() => {
            key_arn(text).unwrap_or(KeyNamed::AsPassed(text.to_owned()))
        }
        _ => KeyNamed::Unknown,
    }
}

/// `text` as a key ARN: `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`, with a region, an account
/// and an id.
pub fn key_arn(text: &str) -> Option<KeyNamed> {
    let parts = arn_parts(text)?;
    let key_id = parts.resource?.strip_prefix("key/")?;
    let well_formed = parts.service == "kms"
        && !parts.region.is_empty()
        && !parts.account.is_empty()
        && !key_id.is_empty()
        && !key_id.contains('/');
    well_formed.then(|| KeyNamed::Arn {
        arn: text.to_owned(),
        key_id: key_id.to_owned(),
    })
}

#[cfg(test)]
mod tests;
