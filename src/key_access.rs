//! A KMS call as the secrets' machinery reads a read (#45): who made it, for the workload's
//! classification, the quiet window's caller and read ids, and `check`'s readers. Pure.

use crate::detection::{Origin, PendingDeletionAccess, SecretTarget};
use crate::ids::{AccountId, EventId};
use crate::key_use::KeyUse;

/// A key use, as the secrets' machinery reads a read: who made it (for [`classify`], the
/// window's caller and read ids). A call Secrets Manager made for a caller is the caller's:
/// the service's address and agent are left out, so the workload is the caller's.
pub fn access_of(key_use: &KeyUse, origin: &Origin) -> PendingDeletionAccess {
    let through = key_use.through_secrets_manager.is_some();
    let mut who = key_use.who.clone();
    if through {
        who.invoked_by = None;
    }
    PendingDeletionAccess {
        target: SecretTarget {
            account_id: key_use.recipient_account_id.as_deref().map(AccountId::from),
            region: key_use.aws_region.clone(),
            secret_id: None,
        },
        event_id: key_use.event_id.as_deref().map(EventId::from),
        shared_event_id: key_use.shared_event_id.as_deref().map(EventId::from),
        request_id: None,
        event_time: key_use.event_time.clone(),
        aws_region: key_use.aws_region.clone(),
        recipient_account_id: key_use.recipient_account_id.clone(),
        origin: origin.clone(),
        who,
        source_ip_address: (!through)
            .then(|| key_use.source_ip_address.clone())
            .flatten(),
        user_agent: (!through).then(|| key_use.user_agent.clone()).flatten(),
        vpc_endpoint_id: None,
        error_code: key_use.error_code.clone(),
        error_message: key_use.error_message.clone(),
        session_credential_from_console: false,
        unreadable_fields: Vec::new(),
    }
}
