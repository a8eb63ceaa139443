//! CloudTrail Event history for [`EventHistory`]: `LookupEvents` in the secret's account (the
//! member role's, across an organization) and region. One lookup attribute per call, pages of
//! 50, paced to CloudTrail's 2 calls a second per account and region. Found deletions are kept
//! for the life of the sandbox, and a deletion not found is not looked for again for 15
//! minutes.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::{Region, SdkConfig};
use aws_sdk_cloudtrail::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};

use crate::aws::MemberCredentials;
use crate::deletion::{ScheduledDeletion, find};
use crate::error::Chain;
use crate::error::EventHistoryError;
use crate::ports::{EventHistory, HistoryEvents, PageBudget, SecretAt};

/// CloudTrail allows 2 `LookupEvents` calls a second per account and region.
const PACE: Duration = Duration::from_millis(500);
/// The longest and shortest recovery windows Secrets Manager allows, with an hour of slack:
/// `DeleteSecret` set the deletion date this far after it was called.
const LONGEST_RECOVERY_WINDOW: Duration = Duration::from_secs(30 * 86_400 + 3600);
const SHORTEST_RECOVERY_WINDOW: Duration = Duration::from_secs(7 * 86_400 - 3600);
/// Clients kept per (account, region), and deletions kept; past these, nothing more is kept.
const MAX_KEPT: usize = 1000;
/// How long a deletion not found in Event history is not looked for again: a reader polling
/// every few seconds must not cost a lookup per batch.
const NOT_FOUND_KEPT: Duration = Duration::from_secs(15 * 60);

/// A deletion looked for, and when.
type LookedFor = (Option<ScheduledDeletion>, Instant);

pub struct CloudTrailHistory {
    sdk_config: SdkConfig,
    member: Option<Arc<MemberCredentials>>,
    clients: tokio::sync::Mutex<HashMap<(String, String), aws_sdk_cloudtrail::Client>>,
    /// Deletions looked for, per (secret ARN, deletion date in seconds): found ones for the
    /// sandbox's life, a "not found" for [`NOT_FOUND_KEPT`] (Event history may yet get it).
    deletions: Mutex<HashMap<(String, u64), LookedFor>>,
}

impl CloudTrailHistory {
    /// Event history as `sdk_config` reaches it (`AWS_ENDPOINT_URL_CLOUDTRAIL` works), and in
    /// member accounts through `member`.
    pub fn new(sdk_config: &SdkConfig, member: Option<Arc<MemberCredentials>>) -> Self {
        CloudTrailHistory {
            sdk_config: sdk_config.clone(),
            member,
            clients: tokio::sync::Mutex::new(HashMap::new()),
            deletions: Mutex::new(HashMap::new()),
        }
    }

    async fn client(
        &self,
        at: SecretAt<'_>,
    ) -> Result<aws_sdk_cloudtrail::Client, EventHistoryError> {
        let key = (
            at.member_account.map_or(String::new(), |a| a.to_string()),
            at.region.map_or(String::new(), |r| r.to_string()),
        );
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let mut builder = aws_sdk_cloudtrail::config::Builder::from(&self.sdk_config);
        if let Some(region) = at.region {
            builder = builder.region(Region::new(region.as_str().to_owned()));
        }
        if let Some(account) = at.member_account {
            let Some(member) = &self.member else {
                return Err(EventHistoryError::MemberRole(format!(
                    "no member role is configured to act in account {account}"
                )));
            };
            builder = builder.credentials_provider(member.role(account).await.credentials);
        }
        let client = aws_sdk_cloudtrail::Client::from_conf(builder.build());
        if clients.len() < MAX_KEPT {
            clients.insert(key, client.clone());
        }
        Ok(client)
    }

    /// One page of the events with `key` = `value`, from `token`: their records, and the
    /// next page's token.
    async fn page(
        &self,
        at: SecretAt<'_>,
        (key, value): (LookupAttributeKey, &str),
        range: Option<(SystemTime, SystemTime)>,
        token: Option<String>,
    ) -> Result<(Vec<String>, Option<String>), EventHistoryError> {
        let client = self.client(at).await?;
        let attribute = LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .map_err(|e| EventHistoryError::Invalid(e.to_string()))?;
        let mut call = client
            .lookup_events()
            .lookup_attributes(attribute)
            .max_results(50)
            .set_next_token(token);
        if let Some((from, to)) = range {
            call = call
                .start_time(DateTime::from(from))
                .end_time(DateTime::from(to));
        }
        match call.send().await {
            Ok(output) => Ok((
                output
                    .events()
                    .iter()
                    .filter_map(|e| e.cloud_trail_event().map(str::to_owned))
                    .collect(),
                output.next_token().map(str::to_owned),
            )),
            Err(SdkError::ServiceError(service)) => Err(EventHistoryError::Rejected {
                code: service.err().code().unwrap_or("error").to_owned(),
                message: service.err().message().unwrap_or("no message").to_owned(),
            }),
            Err(other) => {
                let reason = Chain(&other).to_string();
                Err(self.unreachable(at, reason).await)
            }
        }
    }

    /// A call that got no answer: the member role's failure when that is why.
    async fn unreachable(&self, at: SecretAt<'_>, text: String) -> EventHistoryError {
        if let (Some(member), Some(account)) = (&self.member, at.member_account)
            && let Some(reason) = member.role(account).await.failure().await
        {
            return EventHistoryError::MemberRole(reason);
        }
        EventHistoryError::Unreachable(text)
    }
}

impl CloudTrailHistory {
    /// The records of every event named `name` in `range`, page after page (at most
    /// `max_pages`), paced to CloudTrail's rate; `on_page(pages, records)` after each page.
    pub async fn events_named(
        &self,
        name: &str,
        range: (SystemTime, SystemTime),
        at: SecretAt<'_>,
        max_pages: Option<usize>,
        mut on_page: impl FnMut(usize, usize),
    ) -> Result<Vec<String>, EventHistoryError> {
        let mut records = Vec::new();
        let events = HistoryEvents::Named(name);
        self.each_page_of_events(events, range, at, max_pages, |pages, found| {
            records.extend(found);
            on_page(pages, records.len());
        })
        .await?;
        Ok(records)
    }

    /// The events `events` names (by name, or on a resource: a KMS key's calls by its ARN) in
    /// `range`, handing each page's records to `each_page(pages, records)` as it arrives, so
    /// that a long history is never held whole.
    pub async fn each_page_of_events(
        &self,
        events: HistoryEvents<'_>,
        range: (SystemTime, SystemTime),
        at: SecretAt<'_>,
        max_pages: Option<usize>,
        mut each_page: impl FnMut(usize, Vec<String>),
    ) -> Result<(), EventHistoryError> {
        self.each_page(
            at,
            attribute_of(events),
            range,
            max_pages,
            |pages, records| {
                each_page(pages, records);
                ControlFlow::Continue(())
            },
        )
        .await
    }

    /// The pages of the events with one lookup attribute in `range`, newest first, paced to
    /// CloudTrail's rate, until `each_page` breaks, the pages run out, or `max_pages`.
    async fn each_page(
        &self,
        at: SecretAt<'_>,
        attribute: (LookupAttributeKey, &str),
        range: (SystemTime, SystemTime),
        max_pages: Option<usize>,
        mut each_page: impl FnMut(usize, Vec<String>) -> ControlFlow<()>,
    ) -> Result<(), EventHistoryError> {
        let mut token = None;
        let mut pages = 0;
        loop {
            if pages > 0 {
                tokio::time::sleep(PACE).await;
            }
            let (found, next) = self.page(at, attribute.clone(), Some(range), token).await?;
            pages += 1;
            if each_page(pages, found).is_break() {
                return Ok(());
            }
            match next {
                Some(next) if max_pages.is_none_or(|max| pages < max) => token = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// The newest `DeleteSecret` of exactly this secret in `range`, by `attribute`: pages are
    /// newest first, so the first page that holds one holds the latest.
    async fn deletion_by(
        &self,
        at: SecretAt<'_>,
        attribute: (LookupAttributeKey, &str),
        range: (SystemTime, SystemTime),
        (arn, name): (&str, &str),
    ) -> Result<Option<ScheduledDeletion>, EventHistoryError> {
        let mut found = None;
        self.each_page(at, attribute, range, None, |_, records| {
            found = find(&records, arn, name);
            if found.is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await?;
        Ok(found)
    }
}

/// When the `DeleteSecret` that set `deletion_date` can have been called: between 30 and 7
/// days before it (the recovery windows Secrets Manager allows), and not after `now`.
fn scheduling_range(deletion_date: SystemTime, now: SystemTime) -> (SystemTime, SystemTime) {
    let from = deletion_date
        .checked_sub(LONGEST_RECOVERY_WINDOW)
        .unwrap_or(UNIX_EPOCH);
    let to = deletion_date
        .checked_sub(SHORTEST_RECOVERY_WINDOW)
        .unwrap_or(UNIX_EPOCH)
        .min(now)
        .max(from);
    (from, to)
}

#[async_trait::async_trait]
impl EventHistory for CloudTrailHistory {
    async fn event(
        &self,
        event_id: &str,
        at: SecretAt<'_>,
    ) -> Result<Option<String>, EventHistoryError> {
        let (records, _) = self
            .page(at, (LookupAttributeKey::EventId, event_id), None, None)
            .await?;
        Ok(records.into_iter().next())
    }

    async fn scheduled_deletion(
        &self,
        arn: &str,
        name: &str,
        deletion_date: SystemTime,
        now: SystemTime,
        at: SecretAt<'_>,
    ) -> Result<Option<ScheduledDeletion>, EventHistoryError> {
        let key = (
            arn.to_owned(),
            deletion_date
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        if let Some((found, at)) = self
            .deletions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            && (found.is_some() || at.elapsed() < NOT_FOUND_KEPT)
        {
            return Ok(found.clone());
        }
        let range = scheduling_range(deletion_date, now);
        // By the secret's ARN first, where Event history indexes the record under it; else
        // every DeleteSecret of the account and region in the range, paged until the range
        // is covered: a flood of other deletions can delay the answer (the caller's time
        // limit), never replace it.
        let found = match self
            .deletion_by(
                at,
                (LookupAttributeKey::ResourceName, arn),
                range,
                (arn, name),
            )
            .await?
        {
            Some(found) => Some(found),
            None => {
                tokio::time::sleep(PACE).await;
                self.deletion_by(
                    at,
                    (LookupAttributeKey::EventName, "DeleteSecret"),
                    range,
                    (arn, name),
                )
                .await?
            }
        };
        let mut kept = self
            .deletions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() < MAX_KEPT || kept.contains_key(&key) {
            kept.insert(key, (found.clone(), Instant::now()));
        }
        Ok(found)
    }

    async fn each_page(
        &self,
        events: HistoryEvents<'_>,
        range: (SystemTime, SystemTime),
        budget: PageBudget,
        at: SecretAt<'_>,
        each_page: &mut (dyn FnMut(Vec<String>) + Send),
    ) -> Result<bool, EventHistoryError> {
        let mut token = None;
        let mut pages = 0;
        loop {
            if pages >= budget.max_pages || tokio::time::Instant::now() >= budget.until {
                return Ok(false);
            }
            if pages > 0 {
                tokio::time::sleep(PACE).await;
            }
            let (found, next) = self
                .page(at, attribute_of(events), Some(range), token)
                .await?;
            pages += 1;
            each_page(found);
            match next {
                Some(next) => token = Some(next),
                None => return Ok(true),
            }
        }
    }
}

/// The lookup attribute that asks for `events`.
fn attribute_of(events: HistoryEvents<'_>) -> (LookupAttributeKey, &str) {
    match events {
        HistoryEvents::Named(name) => (LookupAttributeKey::EventName, name),
        HistoryEvents::On(arn) => (LookupAttributeKey::ResourceName, arn),
    }
}
