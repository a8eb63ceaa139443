//! CloudTrail Event history for [`EventHistory`]: `LookupEvents` in the secret's account (the
//! member role's, across an organization) and region. One lookup attribute per call, pages of
//! 50, paced to CloudTrail's 2 calls a second per account and region. Found deletions are kept
//! for the life of the sandbox, and a deletion not found is not looked for again for 15
//! minutes.

use std::collections::HashMap;
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
use crate::ports::{EventHistory, SecretAt};

/// CloudTrail allows 2 `LookupEvents` calls a second per account and region.
const PACE: Duration = Duration::from_millis(500);
/// Pages of `DeleteSecret` events read at most (50 each); past them the alert says the
/// deletion was not found.
const MAX_PAGES: usize = 10;
/// The longest recovery window Secrets Manager allows, and an hour of slack.
const LONGEST_RECOVERY_WINDOW: Duration = Duration::from_secs(30 * 86_400 + 3600);
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
        self.each_page_of_events_named(name, range, at, max_pages, |pages, found| {
            records.extend(found);
            on_page(pages, records.len());
        })
        .await?;
        Ok(records)
    }

    /// [`CloudTrailHistory::events_named`], handing each page's records to `each_page(pages,
    /// records)` as it arrives, so that a long history is never held whole.
    pub async fn each_page_of_events_named(
        &self,
        name: &str,
        range: (SystemTime, SystemTime),
        at: SecretAt<'_>,
        max_pages: Option<usize>,
        mut each_page: impl FnMut(usize, Vec<String>),
    ) -> Result<(), EventHistoryError> {
        let mut token = None;
        let mut pages = 0;
        loop {
            if pages > 0 {
                tokio::time::sleep(PACE).await;
            }
            let (found, next) = self
                .page(
                    at,
                    (LookupAttributeKey::EventName, name),
                    Some(range),
                    token,
                )
                .await?;
            pages += 1;
            each_page(pages, found);
            match next {
                Some(next) if max_pages.is_none_or(|max| pages < max) => token = Some(next),
                _ => return Ok(()),
            }
        }
    }
}

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
        let from = deletion_date
            .checked_sub(LONGEST_RECOVERY_WINDOW)
            .unwrap_or(UNIX_EPOCH);
        let records = self
            .events_named("DeleteSecret", (from, now), at, Some(MAX_PAGES), |_, _| {})
            .await?;
        let found = find(&records, arn, name);
        let mut kept = self
            .deletions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() < MAX_KEPT || kept.contains_key(&key) {
            kept.insert(key, (found.clone(), Instant::now()));
        }
        Ok(found)
    }
}
