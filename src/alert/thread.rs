//! The key that repeats of one secret and caller share: the quiet window's key, hashed. Chat
//! threads on it and a Security Hub finding is named by it, so the second alert about one
//! secret and caller joins the first one's thread and updates its finding. Pure. The window's
//! secret is the one the handler keys the window by ([`crate::window::window_secret`]),
//! carried on the alert: never derived again from the cleaned document.

use sha2::{Digest, Sha256};

use super::Alert;
use super::compose::short_hex;

/// The key of one secret and caller (`caller` `None`: the secret alone, for an alert that
/// speaks of several callers), as 32 hex digits: stable across invocations and tries.
pub fn thread_key(window_secret: &str, caller: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(window_secret.as_bytes());
    hasher.update([0]);
    if let Some(caller) = caller {
        hasher.update(caller.as_bytes());
    }
    short_hex(hasher)
}

/// The alert's own thread: its caller's, when it speaks of one caller (always, with a quiet
/// window), else its secret's.
pub fn alert_thread_key(alert: &Alert) -> String {
    match alert.document.callers.as_slice() {
        [one] => thread_key(&alert.window_secret, Some(&one.caller)),
        _ => thread_key(&alert.window_secret, None),
    }
}
