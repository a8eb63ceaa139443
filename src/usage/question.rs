//! `check`'s question to every record of a look-back: is it a read of one of these secrets
//! (or a call naming one of these KMS keys), within the window?

use std::sync::Arc;
use std::time::SystemTime;

use memchr::memmem::Finder;

use crate::detection::{Origin, read_of};
use crate::expected::{ExpectedReaders, ExpectedRule, SecretNames};
use crate::history::{Question, escape_places, places_of};
use crate::logs::LogBatch;
use crate::record_reading::read_record;

use super::reads::UsageTally;
use super::secret_query::{SecretQuery, Subject};
use crate::key_access::access_of;
use crate::key_use::{KMS_EVENT_SOURCE, KeyUse, key_call_in};

/// The escapes a read of a secret may hide behind: `\u` (any character) and `\/` (a `/`).
const ESCAPED: &[u8] = b"u/";

/// The reads of `secrets` between `from` (inclusive) and `to`.
#[derive(Clone)]
pub struct ReadsOfSecrets {
    inner: Arc<Inner>,
}

struct Inner {
    secrets: Vec<SecretQuery>,
    from: SystemTime,
    to: SystemTime,
    /// `GetSecretValue` (the escapes, `\u` and `\/`, are found by their backslash).
    operation: Finder<'static>,
    /// Every name a matching read must hold.
    names: Vec<Finder<'static>>,
    /// `kms.amazonaws.com`, which every KMS call holds.
    kms: Finder<'static>,
    /// Every key id a call naming one of the keys must hold (its ARN holds it).
    key_names: Vec<Finder<'static>>,
    /// `EXPECTED_READERS`: readers marked as expected (still counted), as of the window's end.
    expected: ExpectedReaders,
}

impl std::fmt::Debug for ReadsOfSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadsOfSecrets")
            .field("secrets", &self.inner.secrets.len())
            .finish()
    }
}

impl ReadsOfSecrets {
    pub fn new(secrets: Vec<SecretQuery>, from: SystemTime, to: SystemTime) -> Self {
        Self::with_expected(secrets, from, to, ExpectedReaders::default())
    }

    /// The same question, with the readers `rules` mark told as expected.
    pub fn with_expected(
        secrets: Vec<SecretQuery>,
        from: SystemTime,
        to: SystemTime,
        expected: ExpectedReaders,
    ) -> Self {
        let finders = |subject: Subject| -> Vec<Finder<'static>> {
            secrets
                .iter()
                .filter(|s| s.subject == subject)
                .flat_map(SecretQuery::needles)
                .filter(|n| !n.is_empty())
                .map(|n| Finder::new(n.as_bytes()).into_owned())
                .collect()
        };
        let names = finders(Subject::Secret);
        let key_names = finders(Subject::KmsKey);
        ReadsOfSecrets {
            inner: Arc::new(Inner {
                secrets,
                from,
                to,
                operation: Finder::new(b"GetSecretValue").into_owned(),
                names,
                kms: Finder::new(KMS_EVENT_SOURCE.as_bytes()).into_owned(),
                key_names,
                expected,
            }),
        }
    }

    pub fn secrets(&self) -> &[SecretQuery] {
        &self.inner.secrets
    }

    /// A tally with a place for every secret asked.
    pub fn empty_tally(&self) -> UsageTally {
        UsageTally {
            secrets: vec![Default::default(); self.inner.secrets.len()],
            ..UsageTally::default()
        }
    }

    /// Keeps `record` if it reads a secret asked about (or calls KMS on a key asked about),
    /// within the window.
    pub fn examine_record(
        &self,
        tally: &mut UsageTally,
        record: &str,
        origin: impl Fn() -> Origin,
    ) {
        let record_text = record;
        if tally.secrets.len() < self.inner.secrets.len() {
            tally
                .secrets
                .resize_with(self.inner.secrets.len(), Default::default);
        }
        tally.records += 1;
        let Ok(read) = read_record(record) else {
            tally.malformed += 1;
            return;
        };
        let record = read.record;
        if !self.inner.key_names.is_empty()
            && let Some(call) = key_call_in(&record, record_text)
        {
            self.examine_key_call(tally, &call, &origin());
            return;
        }
        let Some(access) = read_of(&record, origin()) else {
            return;
        };
        let Some(secret_id) = record.secret_id() else {
            return;
        };
        let account = record
            .recipient_account_id
            .as_deref()
            .or(record.account_id());
        let region = record.aws_region.as_deref();
        let time = access
            .event_time
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok());
        for (index, secret) in self.inner.secrets.iter().enumerate() {
            if !secret.names(secret_id, account, region) {
                continue;
            }
            if time.is_some_and(|t| t < self.inner.from || t >= self.inner.to) {
                tally.outside_window += 1;
                continue;
            }
            let names = SecretNames {
                as_named: Some(secret_id),
                name: Some(&secret.name),
                arn: secret.arn.as_deref(),
                ..SecretNames::default()
            };
            let expected = self
                .inner
                .expected
                .matching(&names, &access, self.inner.to)
                .map(ExpectedRule::describe);
            tally.secrets[index].add(&access, time, expected);
        }
    }
}

impl ReadsOfSecrets {
    /// A KMS call: counted for each key asked about whose ARN it names (`resources[]`, else the
    /// ARN its message or request gives), within the window. A call that names the key only
    /// by an alias or an id the caller passed is not counted: an alias can point elsewhere.
    fn examine_key_call(&self, tally: &mut UsageTally, call: &KeyUse, origin: &Origin) {
        let Some(arn) = call.key.arn() else {
            return;
        };
        let time = call
            .event_time
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339_weak(t.trim()).ok());
        for (index, key) in self.inner.secrets.iter().enumerate() {
            if key.subject != Subject::KmsKey || key.arn.as_deref() != Some(arn) {
                continue;
            }
            if time.is_some_and(|t| t < self.inner.from || t >= self.inner.to) {
                tally.outside_window += 1;
                continue;
            }
            tally.secrets[index].add(&access_of(call, origin), time, None);
        }
    }
}

impl Question for ReadsOfSecrets {
    type Answer = UsageTally;

    /// Sound: a matching read holds `GetSecretValue` and the secret's name in its text, and a
    /// matching KMS call `kms.amazonaws.com` and the key's id (its ARN in `resources[]` holds
    /// it), each written literally unless the text escapes it (`\u` for any character, `\/`
    /// for a `/`); a text with an escape is always read.
    fn may_concern(&self, raw: &[u8]) -> bool {
        let inner = &self.inner;
        if escape_places(raw, ESCAPED).next().is_some() {
            return true;
        }
        // A search only for what was asked: a check of secrets alone never looks for KMS.
        let any = |finders: &[Finder<'_>]| finders.iter().any(|f| f.find(raw).is_some());
        let secrets = !inner.names.is_empty() && inner.operation.find(raw).is_some();
        let keys = !inner.key_names.is_empty() && inner.kms.find(raw).is_some();
        (secrets && any(&inner.names)) || (keys && any(&inner.key_names))
    }

    /// A record that names one of the secrets (or keys) holds its name (or id) literally, or
    /// an escape.
    fn anchors(&self, raw: &[u8]) -> Option<Vec<usize>> {
        let mut places = places_of(&self.inner.names, raw);
        places.extend(places_of(&self.inner.key_names, raw));
        places.extend(escape_places(raw, ESCAPED));
        places.sort_unstable();
        Some(places)
    }

    fn passed_over(&self, tally: &mut UsageTally, records: usize) {
        tally.records += records as u64;
    }

    fn examine(&self, tally: &mut UsageTally, record: &str, name: &str, index: usize) {
        // Most records of a file that holds a candidate are not one: never parsed.
        if !self.may_concern(record.as_bytes()) {
            tally.records += 1;
            return;
        }
        self.examine_record(tally, record, || Origin::File {
            path: name.to_owned(),
            index,
        });
    }

    fn unreadable(&self, tally: &mut UsageTally, _name: &str, _index: usize, _why: &'static str) {
        tally.records += 1;
        tally.malformed += 1;
    }

    fn examine_batch(&self, tally: &mut UsageTally, batch: &LogBatch<'_>, name: &str) {
        for (index, event) in batch.events().iter().enumerate() {
            if !self.may_concern(event.raw_message()) {
                continue;
            }
            match event.message() {
                Ok(message) => self.examine(tally, &message, name, index),
                Err(_) => self.unreadable(tally, name, index, "the message is not valid JSON"),
            }
        }
    }

    fn merge(into: &mut UsageTally, part: UsageTally) {
        into.merge(part);
    }

    fn kept(tally: &UsageTally) -> usize {
        usize::try_from(tally.reads()).unwrap_or(usize::MAX)
    }
}
