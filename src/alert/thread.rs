//! The key that repeats of one secret and caller share: the quiet window's key, hashed. Chat
//! threads on it and a Security Hub finding is named by it, so the second alert about one
//! secret and caller joins the first one's thread and updates its finding. Pure.

use sha2::{Digest, Sha256};

use super::compose::short_hex;
use super::{AlertDocument, CallerDocument};

/// The secret a window is kept for, as the document names it: its full ARN once looked up,
/// else the id the caller used in its account and region (as the handler keys the window).
pub fn window_secret(document: &AlertDocument) -> String {
    let secret = &document.secret;
    match (&secret.arn, &secret.id_as_named) {
        (Some(arn), _) => arn.clone(),
        (None, id) => format!(
            "{}/{}/{}",
            secret.account_id.as_deref().unwrap_or("-"),
            secret.region.as_deref().unwrap_or("-"),
            id.as_deref().unwrap_or("(not named)")
        ),
    }
}

/// The key of one secret and caller (`caller` `None`: the secret alone, for an alert that
/// speaks of several callers), as 32 hex digits: stable across invocations and tries.
pub fn thread_key(document: &AlertDocument, caller: Option<&CallerDocument>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(window_secret(document).as_bytes());
    hasher.update([0]);
    if let Some(caller) = caller {
        hasher.update(caller.caller.as_bytes());
    }
    short_hex(hasher)
}

/// The alert's own thread: its caller's, when it speaks of one caller (always, with a quiet
/// window), else its secret's.
pub fn alert_thread_key(document: &AlertDocument) -> String {
    match document.callers.as_slice() {
        [one] => thread_key(document, Some(one)),
        _ => thread_key(document, None),
    }
}
