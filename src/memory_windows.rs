//! Quiet windows kept in memory: the rule of [`crate::window`] applied under a lock. For
//! tests and benchmarks, and the reference the DynamoDB adapter is checked against; a
//! deployment keeps its windows in the table, which outlives the function's sandboxes.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::error::WindowStateError;
use crate::ports::AlertWindows;
use crate::window::{
    Decision, WindowClaim, WindowKey, WindowRecord, WindowVerdict, claimed, confirmed, decide,
    held, released,
};

#[derive(Debug, Default)]
pub struct MemoryWindows {
    records: Mutex<HashMap<String, WindowRecord>>,
}

impl MemoryWindows {
    pub fn new() -> Self {
        MemoryWindows::default()
    }

    /// What is stored for `key`.
    pub fn record(&self, key: &WindowKey) -> Option<WindowRecord> {
        self.lock().get(&key.id()).cloned()
    }

    /// How many windows are stored.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, WindowRecord>> {
        // A panic while the lock was held leaves whole records behind: keep them.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl AlertWindows for MemoryWindows {
    async fn claim(&self, claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError> {
        let mut records = self.lock();
        let id = claim.key.id();
        let stored = records.remove(&id);
        let decision = decide(stored.as_ref(), claim);
        let verdict = WindowVerdict::of(decision, stored.as_ref(), claim);
        let next = match (decision, stored) {
            (Decision::Claim(_), stored) => Some(claimed(stored, claim)),
            (Decision::Retry | Decision::Delivered, stored) => stored,
            (Decision::Hold, stored) => stored.map(|s| held(s, &claim.reads)),
        };
        if let Some(next) = next {
            records.insert(id, next);
        }
        Ok(verdict)
    }

    async fn confirm(
        &self,
        key: &WindowKey,
        claim_key: &str,
        at: SystemTime,
    ) -> Result<(), WindowStateError> {
        if let Some(stored) = self.lock().get_mut(&key.id()) {
            confirmed(stored, claim_key, at);
        }
        Ok(())
    }

    async fn release(&self, key: &WindowKey, claim_key: &str) -> Result<(), WindowStateError> {
        if let Some(stored) = self.lock().get_mut(&key.id()) {
            released(stored, claim_key);
        }
        Ok(())
    }
}
