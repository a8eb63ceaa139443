//! The rule: which CloudTrail records are a read of a secret that is pending deletion. Pure.
//!
//! It is AWS's own recipe (the metric filter
//! `{ $.eventName = "GetSecretValue" && $.errorMessage = "*secret because it was marked for deletion*" }`)
//! plus the event source, plus the older wording `secret because it was deleted`.
//! Matching a substring of the message lets both the straight and the curly apostrophe of
//! "can't" match.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::cloudtrail::{Attribution, CloudTrailRecord, arn_parts, arn_resource};
use crate::deletion::{DeletionSeen, seen_in};
use crate::ids::{AccountId, EventId, SecretId, is_account_id};
use crate::key_state::{KeyScheduled, key_scheduled_in};
use crate::key_use::{KeyUse, key_use_in};
use crate::logs::LogBatch;
use crate::record_reading::read_record;
use crate::region::RegionName;

pub const EVENT_SOURCE: &str = "secretsmanager.amazonaws.com";
pub const EVENT_NAME: &str = "GetSecretValue";
/// The `errorMessage` wordings that mean "this secret is scheduled for deletion".
pub const PENDING_DELETION_WORDINGS: [&str; 2] = [
    "secret because it was marked for deletion",
    "secret because it was deleted",
];

/// The secret an access named, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretTarget {
    pub account_id: Option<AccountId>,
    pub region: Option<String>,
    /// As the caller named it: a name, a partial ARN or a full ARN. `None` when the record
    /// names no secret (neither `requestParameters.secretId` nor `resources[]`): such a
    /// secret is never looked up, restored, or called purged.
    pub secret_id: Option<SecretId>,
}

impl SecretTarget {
    /// The name a person recognises: the part after `secret:` of an ARN, else the id itself.
    pub fn display_name(&self) -> Option<&str> {
        let id = self.secret_id.as_deref()?;
        Some(
            arn_resource(id)
                .and_then(|resource| resource.strip_prefix("secret:"))
                .unwrap_or(id),
        )
    }

    /// How the caller named the secret, from least to most precise.
    pub fn naming(&self) -> Naming {
        let Some(id) = self.secret_id.as_deref() else {
            return Naming::Unnamed;
        };
        match arn_resource(id).and_then(|r| r.strip_prefix("secret:")) {
            None => Naming::Name,
            Some(name) if arn_suffix(name).is_some() => Naming::FullArn,
            Some(_) => Naming::PartialArn,
        }
    }

    /// The secret's name as far as the id tells it: a name as it is; an ARN's name, without
    /// the `-` and six random characters Secrets Manager appends in a full ARN.
    pub fn name_held(&self) -> Option<&str> {
        let id = self.secret_id.as_deref()?;
        match arn_resource(id).and_then(|r| r.strip_prefix("secret:")) {
            None => Some(id),
            Some(name) => Some(arn_suffix(name).unwrap_or(name)),
        }
    }

    /// The region to send Secrets Manager calls to: `Ok(None)` when the record gives none
    /// (the client's own region), `Err` with the text when it is not a region name.
    pub fn endpoint_region(&self) -> Result<Option<RegionName>, &str> {
        match self.region.as_deref() {
            None => Ok(None),
            Some(text) => RegionName::parse(text).map(Some).ok_or(text),
        }
    }
}

/// How a read named its secret, from least to most precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Naming {
    Unnamed,
    Name,
    /// An ARN without the six random characters: `arn:...:secret:prod/db`.
    PartialArn,
    FullArn,
}

/// The name of a full ARN's resource without its random suffix (`prod/db-AbCdEf` ->
/// `prod/db`); `None` when it has none.
fn arn_suffix(name: &str) -> Option<&str> {
    let (base, suffix) = name.rsplit_once('-')?;
    (!base.is_empty() && suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(base)
}

/// One read of a secret pending deletion, with everything the alert says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDeletionAccess {
    pub target: SecretTarget,
    pub event_id: Option<EventId>,
    /// `sharedEventID`: a cross-account read is logged in both accounts, with one of these.
    pub shared_event_id: Option<EventId>,
    pub request_id: Option<String>,
    /// As CloudTrail wrote it; never parsed strictly (formats vary).
    pub event_time: Option<String>,
    /// `awsRegion` and `recipientAccountId`: where this copy of the read was logged (a
    /// cross-account read is logged in both accounts).
    pub aws_region: Option<String>,
    pub recipient_account_id: Option<String>,
    /// Where the record was found.
    pub origin: Origin,
    pub who: Attribution,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub vpc_endpoint_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: String,
    /// `sessionCredentialFromConsole`: the call came from a console session.
    pub session_credential_from_console: bool,
    /// Fields of the record that were not of the type CloudTrail documents, so not read
    /// (dotted paths); the read alerts with the rest ([`crate::record_reading`]).
    pub unreadable_fields: Vec<String>,
}

impl PendingDeletionAccess {
    /// Whether every account id the read gives (the secret's, the logging account's) is the
    /// 12 digits CloudTrail writes.
    pub fn account_ids_are_well_formed(&self) -> bool {
        self.malformed_account_fields().is_empty()
    }

    /// The account ids of the read that are not the 12 digits CloudTrail writes, named as
    /// the alert names a field it could not use.
    pub fn malformed_account_fields(&self) -> Vec<String> {
        let mut fields = Vec::new();
        if let Some(account) = self.target.account_id.as_deref()
            && !is_account_id(account)
        {
            fields.push("the secret's account id (not 12 digits)".to_owned());
        }
        if let Some(account) = self.recipient_account_id.as_deref()
            && !account.is_empty()
            && !is_account_id(account)
            && self.target.account_id.as_deref() != Some(account)
        {
            fields.push("recipientAccountId (not 12 digits)".to_owned());
        }
        fields
    }
}

/// Where a record was found: the caller knows, the record does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A log event of a subscription batch.
    LogEvent {
        id: String,
        /// CloudWatch Logs' timestamp (milliseconds), for ordering when `eventTime` is odd.
        timestamp_ms: Option<i64>,
    },
    /// A record of a file of history, by its position in the file.
    File { path: String, index: usize },
}

impl Origin {
    /// How the alert names the place: the log event id, or `path#index`.
    pub fn location(&self) -> String {
        match self {
            Origin::LogEvent { id, .. } => id.clone(),
            Origin::File { path, index } => format!("{path}#{index}"),
        }
    }

    pub fn timestamp_ms(&self) -> Option<i64> {
        match self {
            Origin::LogEvent { timestamp_ms, .. } => *timestamp_ms,
            Origin::File { .. } => None,
        }
    }
}

/// The rule: whether a record is a read of a secret that is pending deletion.
pub fn is_pending_deletion_read(record: &CloudTrailRecord) -> bool {
    record.event_source.as_deref() == Some(EVENT_SOURCE)
        && record.event_name.as_deref() == Some(EVENT_NAME)
        && record.error_message.as_deref().is_some_and(|message| {
            PENDING_DELETION_WORDINGS
                .iter()
                .any(|wording| message.contains(wording))
        })
}

/// The rule applied: what a matching record says, with where it was found; `None` for
/// everything that is not a pending-deletion read.
pub fn detect(record: &CloudTrailRecord, origin: Origin) -> Option<PendingDeletionAccess> {
    if !is_pending_deletion_read(record) {
        return None;
    }
    read_of(record, origin)
}

/// Whether a record is a `GetSecretValue` call on Secrets Manager, whatever its outcome.
/// `BatchGetSecretValue` writes one such record per secret it returns.
pub fn is_secret_read(record: &CloudTrailRecord) -> bool {
    record.event_source.as_deref() == Some(EVENT_SOURCE)
        && record.event_name.as_deref() == Some(EVENT_NAME)
}

/// Any read of a secret (`check`'s question), successful or refused, with what an alert would
/// say of it; `error_message` is empty for a read that succeeded.
pub fn read_of(record: &CloudTrailRecord, origin: Origin) -> Option<PendingDeletionAccess> {
    if !is_secret_read(record) {
        return None;
    }
    let error_message = record.error_message.as_deref().unwrap_or("");
    Some(PendingDeletionAccess {
        target: target_of(record.secret_id(), record),
        event_id: record.event_id.as_deref().map(EventId::from),
        shared_event_id: record.shared_event_id.as_deref().map(EventId::from),
        request_id: record.request_id.clone(),
        event_time: record.event_time.clone(),
        aws_region: record.aws_region.clone(),
        recipient_account_id: record.recipient_account_id.clone(),
        origin,
        who: record.attribution(),
        source_ip_address: record.source_ip_address.clone(),
        user_agent: record.user_agent.clone(),
        vpc_endpoint_id: record.vpc_endpoint_id.clone(),
        error_code: record.error_code.clone(),
        error_message: error_message.to_owned(),
        session_credential_from_console: record
            .session_credential_from_console
            .as_ref()
            .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true")),
        unreadable_fields: Vec::new(),
    })
}

/// A secret named by full ARN lives where its ARN says (a cross-account read names the other
/// account's ARN); one named by name lives in the event's account and region.
fn target_of(secret_id: Option<&str>, record: &CloudTrailRecord) -> SecretTarget {
    let from_arn = arn_parts(secret_id.unwrap_or(""))
        .filter(|arn| arn.service == "secretsmanager")
        .filter(|arn| !arn.region.is_empty() && !arn.account.is_empty())
        .map(|arn| (arn.region.to_owned(), arn.account.to_owned()));
    let (region, account_id) = match from_arn {
        Some((region, account)) => (Some(region), Some(account)),
        None => (
            record.aws_region.clone().filter(|r| !r.is_empty()),
            record.account_id().map(str::to_owned),
        ),
    };
    SecretTarget {
        account_id: account_id.map(AccountId::from),
        region,
        secret_id: secret_id.map(SecretId::from),
    }
}

/// What a batch (or a file of history) holds for us: the findings grouped per secret, so one
/// alert covers every read of one secret, and what was skipped.
#[derive(Debug, Default)]
pub struct Findings {
    pub by_secret: BTreeMap<SecretTarget, Vec<PendingDeletionAccess>>,
    /// Records seen.
    pub records: usize,
    /// Records that passed [`may_match`] and were parsed.
    pub parsed: usize,
    pub matched: usize,
    /// Where (a log event id, a file position) and why a record was skipped.
    pub malformed: Vec<(String, &'static str)>,
    /// Reads seen again with an event id already found for the same secret (overlapping
    /// history files), or with a `sharedEventID` already found for it (the other account's
    /// copy of a cross-account read). Keyed by the secret too: exports and anonymised
    /// records reuse event ids, and a read of another secret under a reused id is no copy.
    pub duplicates: usize,
    seen_event_ids: HashSet<(EventId, SecretTarget)>,
    seen_shared_event_ids: HashSet<(EventId, SecretTarget)>,
    /// Deletions scheduled (successful `DeleteSecret` records), once per event id.
    pub deletions: Vec<DeletionSeen>,
    /// Uses of KMS keys pending deletion ([`crate::key_use`]), each record once, with where
    /// it was found: the look-back reports them, the function alerts on them
    /// ([`crate::key_check`]).
    pub key_uses: Vec<(KeyUse, Origin)>,
    /// KMS keys' deletions scheduled (successful `ScheduleKeyDeletion` records), once per
    /// record ([`crate::key_schedule_check`]).
    pub key_deletions: Vec<KeyScheduled>,
}

impl Findings {
    /// Adds another part's findings (another file of history) to these.
    pub fn merge(&mut self, other: Findings) {
        self.records += other.records;
        self.parsed += other.parsed;
        self.malformed.extend(other.malformed);
        self.duplicates += other.duplicates;
        for access in other.by_secret.into_values().flatten() {
            self.add(access);
        }
        for deletion in other.deletions {
            self.add_deletion(deletion);
        }
        for (key_use, origin) in other.key_uses {
            self.add_key_use(key_use, origin);
        }
        for scheduled in other.key_deletions {
            self.add_key_deletion(scheduled);
        }
    }

    /// Adds one key deletion scheduled, unless the same record is already here.
    pub fn add_key_deletion(&mut self, scheduled: KeyScheduled) {
        let seen = |held: &KeyScheduled| held.seen.event_id.is_some() && *held == scheduled;
        if self.key_deletions.iter().any(seen) {
            self.duplicates += 1;
            return;
        }
        self.key_deletions.push(scheduled);
    }

    /// Adds one use of a key pending deletion, unless the same record is already here (a
    /// record under a reused event id that says anything else is another use).
    pub fn add_key_use(&mut self, key_use: KeyUse, origin: Origin) {
        let seen = |(held, _): &(KeyUse, Origin)| held.event_id.is_some() && *held == key_use;
        if self.key_uses.iter().any(seen) {
            self.duplicates += 1;
            return;
        }
        self.key_uses.push((key_use, origin));
    }

    /// Adds one scheduled deletion, unless one with the same event id is already here.
    pub fn add_deletion(&mut self, deletion: DeletionSeen) {
        // The same record seen twice (overlapping history), never another record under a
        // reused event id: a forged record must not hide the genuine one.
        let seen = |held: &DeletionSeen| held.event_id.is_some() && *held == deletion;
        if self.deletions.iter().any(seen) {
            self.duplicates += 1;
            return;
        }
        self.deletions.push(deletion);
    }

    /// Puts the reads of a secret named by its name (or a partial ARN) with those of the one
    /// more precisely named secret of the same account and region that holds that name: one
    /// secret, one alert, even before (or without) a lookup. Two full ARNs that hold one name
    /// are two secrets (one deleted and made again): then nothing is merged into either.
    pub fn merge_namings(&mut self) {
        type Place = (Option<AccountId>, Option<String>, String);
        let place = |target: &SecretTarget| -> Option<Place> {
            Some((
                target.account_id.clone(),
                target.region.clone(),
                target.name_held()?.to_owned(),
            ))
        };
        let mut most_precise: BTreeMap<Place, (Naming, Vec<SecretTarget>)> = BTreeMap::new();
        for target in self.by_secret.keys() {
            let Some(place) = place(target) else { continue };
            let naming = target.naming();
            let entry = most_precise.entry(place).or_insert((naming, Vec::new()));
            if naming > entry.0 {
                *entry = (naming, Vec::new());
            }
            if naming == entry.0 {
                entry.1.push(target.clone());
            }
        }
        let targets: Vec<SecretTarget> = self.by_secret.keys().cloned().collect();
        for target in targets {
            let Some((_, into)) = place(&target).and_then(|p| most_precise.get(&p)) else {
                continue;
            };
            if let [into] = into.as_slice()
                && *into != target
                && let Some(reads) = self.by_secret.remove(&target)
            {
                self.by_secret
                    .entry(into.clone())
                    .or_default()
                    .extend(reads);
            }
        }
    }

    /// Adds one read, unless a read with the same CloudTrail event id, or the same
    /// `sharedEventID`, is already here.
    pub fn add(&mut self, access: PendingDeletionAccess) {
        let key = |id: &EventId| (id.clone(), access.target.clone());
        let seen_event = access
            .event_id
            .as_ref()
            .is_some_and(|id| self.seen_event_ids.contains(&key(id)));
        let seen_shared = access
            .shared_event_id
            .as_ref()
            .is_some_and(|id| self.seen_shared_event_ids.contains(&key(id)));
        if seen_event || seen_shared {
            self.duplicates += 1;
            return;
        }
        if let Some(id) = &access.event_id {
            self.seen_event_ids.insert(key(id));
        }
        if let Some(id) = &access.shared_event_id {
            self.seen_shared_event_ids.insert(key(id));
        }
        self.matched += 1;
        self.by_secret
            .entry(access.target.clone())
            .or_default()
            .push(access);
    }

    /// Runs one record, given as JSON text, through the rule: the cheap pre-check, then the
    /// read (typed, else loose: [`crate::record_reading`]), then [`detect`]. Counts it, and
    /// keeps a match ([`Findings::add`]) or notes the record as malformed: not a JSON object,
    /// or a candidate with fields of the wrong type that the rule does not accept either.
    pub fn examine(&mut self, json_text: &str, origin: impl Fn() -> Origin) -> Examined {
        self.records += 1;
        let raw = json_text.as_bytes();
        if !may_match(raw) && !may_schedule(raw) && !may_use_key(raw) {
            return Examined::Skipped;
        }
        self.parsed += 1;
        let Ok(read) = read_record(json_text) else {
            return self.note_malformed(origin(), "not a CloudTrail record (not a JSON object)");
        };
        match detect(&read.record, origin()) {
            Some(mut access) => {
                access.unreadable_fields = read.unreadable;
                // CloudTrail writes 12-digit account ids; anything else (an anonymised or
                // hand-made record) still alerts, naming the account as unreadable, and
                // never chooses where the function acts (`assess::member_account`).
                let malformed = access.malformed_account_fields();
                access.unreadable_fields.extend(malformed);
                self.add(access);
                Examined::Matched
            }
            None if let Some(deletion) = seen_in(&read.record, json_text) => {
                self.add_deletion(deletion);
                Examined::Deletion
            }
            None if let Some(key_use) = key_use_in(&read.record, json_text) => {
                self.add_key_use(key_use, origin());
                Examined::KeyUse
            }
            None if let Some(scheduled) = key_scheduled_in(&read.record, json_text) => {
                self.add_key_deletion(scheduled);
                Examined::KeyDeletion
            }
            None if !read.unreadable.is_empty() => self.note_malformed(
                origin(),
                "not a CloudTrail record (fields of the wrong type)",
            ),
            None => Examined::NoMatch,
        }
    }

    fn note_malformed(&mut self, origin: Origin, reason: &'static str) -> Examined {
        self.malformed.push((origin.location(), reason));
        Examined::Malformed(reason)
    }
}

/// What [`Findings::examine`] made of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examined {
    /// Turned away by the pre-check, unparsed.
    Skipped,
    NoMatch,
    Matched,
    /// A successful `DeleteSecret`: a deletion scheduled.
    Deletion,
    /// A cryptographic operation on a KMS key pending deletion.
    KeyUse,
    /// A successful `ScheduleKeyDeletion`.
    KeyDeletion,
    Malformed(&'static str),
}

/// Scans the log events of one subscription batch. Messages that cannot match
/// ([`may_match`]) are never unescaped or parsed; a message that does not even start like a
/// JSON object is counted as malformed (every CloudTrail record is one), and so is one that
/// is not JSON.
pub fn scan_log_events(batch: &LogBatch<'_>) -> Findings {
    let mut findings = Findings::default();
    for event in batch.events() {
        let origin = || Origin::LogEvent {
            id: event.id.to_string(),
            timestamp_ms: event.timestamp,
        };
        if !event.looks_like_json_object() {
            findings.records += 1;
            findings.note_malformed(origin(), "the message is not a JSON object");
            continue;
        }
        let raw = event.raw_message();
        if !may_match(raw) && !may_schedule(raw) && !may_use_key(raw) {
            findings.records += 1;
            continue;
        }
        match event.message() {
            Ok(message) => {
                findings.examine(&message, origin);
            }
            Err(_) => {
                findings.records += 1;
                findings.note_malformed(origin(), "the message is not valid JSON text");
            }
        }
    }
    findings
}

/// What every pending-deletion wording has in common, to find in raw text. It leaves out
/// "secret" so that it starts with two bytes that are rare in CloudTrail text (a space and
/// `b`), which keeps the SIMD search fast; a test checks that every wording contains it.
pub const PRECHECK_WORDING: &str = " because it was ";
/// The start of a `\uXXXX` escape, as it appears in raw JSON text.
pub const UNICODE_ESCAPE: &str = "\\u";

static PRECHECK: LazyLock<[Finder<'static>; 2]> = LazyLock::new(|| {
    [
        Finder::new(PRECHECK_WORDING.as_bytes()),
        Finder::new(UNICODE_ESCAPE.as_bytes()),
    ]
});

/// A cheap test on the raw, still-escaped message text that never rejects a record [`detect`]
/// would accept, so records that fail it are never parsed.
///
/// Why it is sound: `detect` needs `errorMessage` to contain one of
/// [`PENDING_DELETION_WORDINGS`], and each contains [`PRECHECK_WORDING`]. That is letters and
/// spaces. In JSON text a letter or space can only be written as itself or as a `\uXXXX`
/// escape (the short escapes `\n`, `\"`, ... stand for other characters), at either level of
/// escaping. So a record that matches either has that text literally in its raw form, or has
/// a `\u` in it; then it is parsed and the real rule decides. (The same holds for any text
/// that contains the record's raw text, such as a whole file of history.)
pub fn may_match(raw: &[u8]) -> bool {
    PRECHECK.iter().any(|finder| finder.find(raw).is_some())
}

static DELETE_SECRET: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"DeleteSecret"));
static SCHEDULE_KEY_DELETION: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(b"ScheduleKeyDeletion"));

/// What both refusals of a key pending deletion say ([`crate::key_use::KEY_PENDING_WORDINGS`]):
/// letters and spaces, as [`PRECHECK_WORDING`] is.
pub const KEY_PRECHECK_WORDING: &str = " is pending ";

static KEY_PENDING: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(KEY_PRECHECK_WORDING.as_bytes()));

/// [`may_match`]'s counterpart for a use of a key pending deletion
/// ([`crate::key_use::key_use_in`]): the common wording, or a `\u` escape that may spell it
/// (see [`may_match`]).
pub fn may_use_key(raw: &[u8]) -> bool {
    KEY_PENDING.find(raw).is_some() || PRECHECK[1].find(raw).is_some()
}

/// [`may_match`]'s counterpart for a scheduled deletion of a secret
/// ([`crate::deletion::seen_in`]) or a key ([`crate::key_state::key_scheduled_in`]): the
/// event name in letters, or a `\u` escape that may spell it (see [`may_match`]).
pub fn may_schedule(raw: &[u8]) -> bool {
    DELETE_SECRET.find(raw).is_some()
        || SCHEDULE_KEY_DELETION.find(raw).is_some()
        || PRECHECK[1].find(raw).is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn record(json: serde_json::Value) -> CloudTrailRecord {
        serde_json::from_value(json).unwrap()
    }

    fn here() -> Origin {
        Origin::File {
            path: "test".into(),
            index: 0,
        }
    }

    fn access(error_message: &str) -> serde_json::Value {
        serde_json::json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "GetSecretValue",
            "awsRegion": "eu-west-1",
            "recipientAccountId": "123456789012",
            "errorCode": "InvalidRequestException",
            "errorMessage": error_message,
            "requestParameters": {"secretId": "prod/db"}
        })
    }

    #[test]
    fn matches_both_wordings_and_both_apostrophes() {
        for message in [
            "You can't perform this operation on the secret because it was marked for deletion.",
            "You can\u{2019}t perform this operation on the secret because it was marked for deletion.",
            "You can't perform this operation on the secret because it was deleted.",
        ] {
            let found = detect(&record(access(message)), here()).expect(message);
            assert_eq!(found.target.secret_id.as_deref(), Some("prod/db"));
            assert_eq!(found.target.region.as_deref(), Some("eu-west-1"));
            assert_eq!(found.target.account_id.as_deref(), Some("123456789012"));
        }
    }

    #[test]
    fn near_misses_do_not_match() {
        let mut other_source = access("secret because it was marked for deletion");
        other_source["eventSource"] = "kms.amazonaws.com".into();
        let mut other_name = access("secret because it was marked for deletion");
        other_name["eventName"] = "CreateSecret".into();
        let mut success = access("");
        success.as_object_mut().unwrap().remove("errorMessage");
        for json in [
            access(
                "User: arn:aws:iam::1:user/x is not authorized to perform: secretsmanager:GetSecretValue",
            ),
            access("Secrets Manager can't find the specified secret."),
            other_source,
            other_name,
            success,
        ] {
            assert!(!is_pending_deletion_read(&record(json.clone())), "{json}");
        }
    }

    #[test]
    fn a_full_arn_names_the_secret_account_and_region() {
        let mut json = access("secret because it was marked for deletion");
        json["requestParameters"]["secretId"] =
            "arn:aws:secretsmanager:us-west-2:210987654321:secret:shared/key-AbCdEf".into();
        let found = detect(&record(json), here()).unwrap();
        assert_eq!(found.target.account_id.as_deref(), Some("210987654321"));
        assert_eq!(found.target.region.as_deref(), Some("us-west-2"));
        assert_eq!(found.target.display_name(), Some("shared/key-AbCdEf"));
    }

    #[test]
    fn a_reused_event_id_naming_another_secret_is_another_read_and_a_repeat_is_not() {
        let mut findings = Findings::default();
        for secret_id in ["prod/db", "prod/api", "prod/db"] {
            let mut json = access("secret because it was marked for deletion");
            json["requestParameters"]["secretId"] = secret_id.into();
            json["eventID"] = "reused-by-an-export".into();
            findings.add(detect(&record(json), here()).unwrap());
        }
        assert_eq!((findings.matched, findings.duplicates), (2, 1));
        assert_eq!(findings.by_secret.len(), 2);
    }

    #[test]
    fn a_name_and_the_full_arn_that_holds_it_are_one_secret() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
        let mut findings = Findings::default();
        for (event_id, secret_id) in [
            ("e1", "prod/db"),
            ("e2", arn),
            (
                "e3",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db",
            ),
            ("e4", "prod/api"),
        ] {
            let mut json = access("secret because it was marked for deletion");
            json["requestParameters"]["secretId"] = secret_id.into();
            json["eventID"] = event_id.into();
            findings.add(detect(&record(json), here()).unwrap());
        }
        findings.merge_namings();
        let groups: Vec<(Option<&str>, usize)> = findings
            .by_secret
            .iter()
            .map(|(target, reads)| (target.secret_id.as_deref(), reads.len()))
            .collect();
        assert_eq!(groups, [(Some(arn), 3), (Some("prod/api"), 1)]);
    }

    #[test]
    fn two_full_arns_of_one_name_stay_two_secrets_and_the_name_stays_apart() {
        let arn = |suffix: &str| {
            format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-{suffix}")
        };
        let mut findings = Findings::default();
        for (event_id, secret_id) in [
            ("e1", "prod/db".to_owned()),
            ("e2", arn("AAAAAA")),
            ("e3", arn("BBBBBB")),
        ] {
            let mut json = access("secret because it was marked for deletion");
            json["requestParameters"]["secretId"] = secret_id.into();
            json["eventID"] = event_id.into();
            findings.add(detect(&record(json), here()).unwrap());
        }
        findings.merge_namings();
        assert_eq!(findings.by_secret.len(), 3);
    }

    #[test]
    fn an_arn_holds_its_name_without_the_random_suffix() {
        let target = |id: &str| SecretTarget {
            account_id: None,
            region: None,
            secret_id: Some(id.into()),
        };
        let full = target("arn:aws:secretsmanager:us-east-1:1:secret:a/b-x1Y2z3");
        assert_eq!(
            (full.name_held(), full.naming()),
            (Some("a/b"), Naming::FullArn)
        );
        let partial = target("arn:aws:secretsmanager:us-east-1:1:secret:a/b");
        assert_eq!(
            (partial.name_held(), partial.naming()),
            (Some("a/b"), Naming::PartialArn)
        );
        let name = target("a/b-x1Y2z3");
        assert_eq!(
            (name.name_held(), name.naming()),
            (Some("a/b-x1Y2z3"), Naming::Name)
        );
    }

    #[test]
    fn every_wording_contains_the_precheck_text() {
        for wording in PENDING_DELETION_WORDINGS {
            assert!(wording.contains(PRECHECK_WORDING), "{wording}");
        }
        for wording in crate::key_use::KEY_PENDING_WORDINGS {
            assert!(
                format!("{wording} ").contains(KEY_PRECHECK_WORDING),
                "{wording}"
            );
        }
    }

    #[test]
    fn prefilter_keeps_every_matching_record_including_escaped_ones() {
        let plain = serde_json::to_string(
            &serde_json::to_string(&access(
                "can't ... secret because it was marked for deletion",
            ))
            .unwrap(),
        )
        .unwrap();
        assert!(may_match(plain.as_bytes()));
        // The same record with a letter of the wording written as a \u escape still gets parsed.
        let escaped = plain.replace("because", "bec\\\\u0061use");
        assert!(may_match(escaped.as_bytes()));
        let message: String = serde_json::from_str(&escaped).unwrap();
        assert!(is_pending_deletion_read(
            &serde_json::from_str(&message).unwrap()
        ));
        assert!(!may_match(br#""{\"eventName\":\"AssumeRole\"}""#));
    }

    #[test]
    fn a_record_that_names_no_secret_is_a_read_of_an_unknown_secret() {
        let mut json = access("secret because it was marked for deletion");
        json["requestParameters"] = serde_json::Value::Null;
        let found = detect(&record(json.clone()), here()).unwrap();
        assert_eq!(found.target.secret_id, None);
        assert_eq!(found.target.display_name(), None);
        assert_eq!(found.target.account_id.as_deref(), Some("123456789012"));

        json["resources"] = serde_json::json!([{
            "accountId": "210987654321", "type": "AWS::SecretsManager::Secret",
            "ARN": "arn:aws:secretsmanager:us-west-2:210987654321:secret:shared/key-AbCdEf"
        }]);
        let found = detect(&record(json), here()).unwrap();
        assert_eq!(found.target.display_name(), Some("shared/key-AbCdEf"));
        assert_eq!(found.target.region.as_deref(), Some("us-west-2"));
        assert_eq!(found.target.account_id.as_deref(), Some("210987654321"));
    }

    #[test]
    fn only_a_well_formed_region_may_choose_an_endpoint() {
        let target = |region: &str| SecretTarget {
            account_id: None,
            region: Some(region.to_owned()),
            secret_id: Some("prod/db".into()),
        };
        assert_eq!(
            target("eu-west-1")
                .endpoint_region()
                .unwrap()
                .unwrap()
                .as_str(),
            "eu-west-1"
        );
        assert_eq!(
            target("eu-west-1.attacker.example").endpoint_region(),
            Err("eu-west-1.attacker.example")
        );
    }
}
