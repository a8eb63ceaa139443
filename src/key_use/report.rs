//! What the look-back says of uses of KMS keys pending deletion: one block of text (or one
//! JSON document) per key, its uses in time order, and what to do. Pure. Every string a
//! caller chose (user agents, what they passed as the key, the encryption context's secret)
//! crosses the sanitiser first; commands quote what they name.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sanitize::{clean_text, defang, shell_quote};

use super::{KeyNamed, KeyUse};

/// The schema of [`KeyUseDocument`].
pub const KEY_USE_SCHEMA: &str = "secret-deletion-alerts/key-use/v1";
/// The longest caller-chosen string shown.
const MAX_CHARS: usize = 256;

/// The uses of one key, for machines (`scan --json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyUseDocument {
    pub schema: &'static str,
    /// Always `pending_deletion_key_use`.
    pub kind: &'static str,
    pub resource: KeyResource,
    pub uses: Vec<UseDocument>,
    /// The command that cancels the deletion (the key is then disabled: `enable_command`).
    pub cancel_command: Option<String>,
    pub enable_command: Option<String>,
}

/// The key, as the records name it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyResource {
    /// Always `kms_key`.
    pub kind: &'static str,
    pub arn: Option<String>,
    pub key_id: Option<String>,
    /// What the caller passed, when no record gives the key's ARN (an id or an alias).
    pub as_passed: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
}

/// One use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UseDocument {
    pub operation: String,
    pub event_time: Option<String>,
    pub event_id: Option<String>,
    pub caller: String,
    pub caller_arn: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub error_code: Option<String>,
    /// Set when Secrets Manager made the call for the caller; the secret, when named.
    pub through_secrets_manager: bool,
    pub secret_arn: Option<String>,
    /// Where the record was found (`file#index`).
    pub found_at: String,
}

/// The uses (each with where its record was found: `file#index`, a log event id) grouped by
/// key, in the keys' order, each key's uses in time order.
pub fn key_use_documents<'a>(
    uses: impl IntoIterator<Item = (&'a KeyUse, String)>,
) -> Vec<KeyUseDocument> {
    let mut by_key: BTreeMap<KeyResource, Vec<UseDocument>> = BTreeMap::new();
    for (key_use, found_at) in uses {
        by_key
            .entry(resource_of(key_use))
            .or_default()
            .push(use_document(key_use, found_at));
    }
    by_key
        .into_iter()
        .map(|(resource, mut uses)| {
            uses.sort_by(|a, b| (&a.event_time, &a.event_id).cmp(&(&b.event_time, &b.event_id)));
            let id = resource.arn.clone().or_else(|| resource.as_passed.clone());
            let region = resource
                .region
                .as_deref()
                .map(|r| format!(" --region {}", shell_quote(r)))
                .unwrap_or_default();
            KeyUseDocument {
                schema: KEY_USE_SCHEMA,
                kind: "pending_deletion_key_use",
                cancel_command: id.as_deref().map(|id| {
                    format!(
                        "aws kms cancel-key-deletion --key-id {}{region}",
                        shell_quote(id)
                    )
                }),
                enable_command: id
                    .as_deref()
                    .map(|id| format!("aws kms enable-key --key-id {}{region}", shell_quote(id))),
                resource,
                uses,
            }
        })
        .collect()
}

/// The same for people: one block a key.
pub fn key_use_report(documents: &[KeyUseDocument]) -> String {
    let total: usize = documents.iter().map(|d| d.uses.len()).sum();
    let mut text = format!(
        "Uses of KMS keys pending deletion: {total} of {} {}.\n",
        documents.len(),
        if documents.len() == 1 { "key" } else { "keys" }
    );
    for document in documents {
        let key = &document.resource;
        let name = key
            .arn
            .clone()
            .or_else(|| {
                key.as_passed
                    .clone()
                    .map(|k| format!("{k} (as the caller named it)"))
            })
            .unwrap_or_else(|| "a key no record names".to_owned());
        text.push_str(&format!(
            "\nKey {name}\n  account {}, region {}\n",
            key.account_id.as_deref().unwrap_or("unknown"),
            key.region.as_deref().unwrap_or("unknown")
        ));
        for one in &document.uses {
            text.push_str(&format!(
                "  {} {} by {}{}\n",
                one.event_time.as_deref().unwrap_or("(no time)"),
                one.operation,
                one.caller,
                one.caller_arn
                    .as_deref()
                    .map(|arn| format!(" ({arn})"))
                    .unwrap_or_default()
            ));
            if one.through_secrets_manager {
                text.push_str(&format!(
                    "    through Secrets Manager, reading or writing {}\n",
                    one.secret_arn
                        .as_deref()
                        .unwrap_or("a secret the record does not name")
                ));
            }
            text.push_str(&format!(
                "    from {}, user agent {} (the caller's own text, links disarmed)\n    event {}, at {}\n",
                one.source_ip.as_deref().unwrap_or("unknown"),
                one.user_agent.as_deref().unwrap_or("unknown"),
                one.event_id.as_deref().unwrap_or("unknown"),
                one.found_at
            ));
        }
        match (&document.cancel_command, &document.enable_command) {
            (Some(cancel), Some(enable)) => text.push_str(&format!(
                "  Something still uses this key: once it is deleted, everything it encrypted is \
                 unreadable for ever. If it is still needed, cancel the deletion\n    {cancel}\n  \
                 (the key is then disabled; enable it with {enable})\n"
            )),
            _ => text.push_str(
                "  Something still uses this key, and no record names it: find it by the \
                 callers above (aws kms list-keys, describe-key).\n",
            ),
        }
    }
    text
}

fn resource_of(key_use: &KeyUse) -> KeyResource {
    let clean = |text: &str| clean_text(text, MAX_CHARS);
    let (arn, key_id, as_passed, region, account) = match &key_use.key {
        KeyNamed::Arn { arn, key_id } => {
            let parts = crate::cloudtrail::arn_parts(arn);
            (
                Some(clean(arn)),
                Some(clean(key_id)),
                None,
                parts.map(|p| p.region.to_owned()),
                parts.map(|p| p.account.to_owned()),
            )
        }
        // What the caller passed lives in the call's account and region.
        KeyNamed::AsPassed(text) => (
            None,
            None,
            Some(clean(text)),
            key_use.aws_region.clone(),
            key_use.recipient_account_id.clone(),
        ),
        KeyNamed::Unknown => (
            None,
            None,
            None,
            key_use.aws_region.clone(),
            key_use.recipient_account_id.clone(),
        ),
    };
    KeyResource {
        kind: "kms_key",
        arn,
        key_id,
        as_passed,
        region: region.map(|r| clean(&r)),
        account_id: account.map(|a| clean(&a)),
    }
}

fn use_document(key_use: &KeyUse, found_at: String) -> UseDocument {
    let clean = |text: &Option<String>| text.as_deref().map(|t| clean_text(t, MAX_CHARS));
    UseDocument {
        operation: clean_text(&key_use.operation, MAX_CHARS),
        event_time: clean(&key_use.event_time),
        event_id: clean(&key_use.event_id),
        caller: clean_text(&key_use.who.principal.describe(), MAX_CHARS),
        caller_arn: key_use.who.arn().map(|arn| clean_text(arn, MAX_CHARS)),
        source_ip: clean(&key_use.source_ip_address),
        user_agent: key_use
            .user_agent
            .as_deref()
            .map(|agent| defang(&clean_text(agent, MAX_CHARS))),
        error_code: clean(&key_use.error_code),
        through_secrets_manager: key_use.through_secrets_manager.is_some(),
        secret_arn: key_use
            .through_secrets_manager
            .as_ref()
            .and_then(|through| clean(&through.secret_arn)),
        found_at,
    }
}
