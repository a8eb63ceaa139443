//! Security Hub findings (`SECURITY_HUB=own|member`): the findings of a batch's delivered
//! alerts ([`crate::alert::finding`]) go in through `BatchImportFindings`, at most 100 and
//! 6 MB a call, into the function's account and region (`own`) or each secret's (`member`,
//! through the member role). A call that fails, and the findings a call refuses, are tried
//! once more; what is still refused is counted, and the email has gone out regardless.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::{Region, SdkConfig};
use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Note, Partition, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, Severity, SeverityLabel,
};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::alert::Alert;
use crate::alert::finding::{Finding, FindingPlace, calls_of, findings_of};
use crate::aws::MemberCredentials;
use crate::aws::clients::partition_of;
use crate::config::SecurityHubMode;
use crate::ids::AccountId;
use crate::key_alert::KeyAlert;
use crate::region::RegionName;
use crate::scheduled::ScheduledAlert;

/// Tries of one call: a throttled or refused batch is sent again once.
const TRIES: usize = 2;

pub struct SecurityHubFindings {
    sdk_config: SdkConfig,
    mode: SecurityHubMode,
    /// The function's own account and region: where `own` imports, and where `member`
    /// imports the findings of secrets whose account or region the records do not say.
    home: FindingPlace,
    member: Option<Arc<MemberCredentials>>,
    /// `ACCOUNTS`: the member accounts the function may act in; `None`: any.
    accounts: Option<BTreeSet<String>>,
    clients: tokio::sync::Mutex<HashMap<(String, String), aws_sdk_securityhub::Client>>,
}

impl SecurityHubFindings {
    pub fn new(
        sdk_config: &SdkConfig,
        mode: SecurityHubMode,
        home_account: &str,
        member: Option<Arc<MemberCredentials>>,
        accounts: Option<BTreeSet<String>>,
    ) -> Self {
        let region = sdk_config
            .region()
            .map_or("us-east-1", Region::as_ref)
            .to_owned();
        SecurityHubFindings {
            sdk_config: sdk_config.clone(),
            mode,
            home: FindingPlace {
                partition: partition_of(Some(&region)).to_owned(),
                account_id: home_account.to_owned(),
                region,
            },
            member,
            accounts,
            clients: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Imports the findings of `alerts`; returns how many did not go in.
    pub async fn import(&self, alerts: &[Alert], now: SystemTime) -> usize {
        self.import_each(alerts.iter().map(|alert| {
            let secret = &alert.document.secret;
            let place = self.place_of(secret.account_id.as_deref(), secret.region.as_deref());
            let findings = findings_of(alert, &place, now);
            (place, findings)
        }))
        .await
    }

    /// Imports the findings of scheduled deletions' alerts; returns how many did not go in.
    pub async fn import_scheduled(&self, alerts: &[ScheduledAlert], now: SystemTime) -> usize {
        self.import_each(alerts.iter().map(|alert| {
            let secret = &alert.document.secret;
            let place = self.place_of(secret.account_id.as_deref(), secret.region.as_deref());
            let finding = alert.finding(&place, now);
            (place, vec![finding])
        }))
        .await
    }

    /// Imports the findings of KMS keys' alerts, each in the key's account and region
    /// (`member`) or home; returns how many did not go in.
    pub async fn import_keys(&self, alerts: &[KeyAlert], now: SystemTime) -> usize {
        self.import_each(alerts.iter().map(|alert| {
            let key = &alert.document.key;
            let place = self.place_of(key.account_id.as_deref(), key.region.as_deref());
            let finding = alert.finding(&place, now);
            (place, vec![finding])
        }))
        .await
    }

    /// Findings, each with where it goes, grouped by place and imported there.
    async fn import_each(
        &self,
        findings: impl Iterator<Item = (FindingPlace, Vec<Finding>)>,
    ) -> usize {
        let mut by_place: BTreeMap<(String, String), (FindingPlace, Vec<Finding>)> =
            BTreeMap::new();
        for (place, found) in findings {
            by_place
                .entry((place.account_id.clone(), place.region.clone()))
                .or_insert_with(|| (place, Vec::new()))
                .1
                .extend(found);
        }
        self.import_at(by_place).await
    }

    async fn import_at(
        &self,
        by_place: BTreeMap<(String, String), (FindingPlace, Vec<Finding>)>,
    ) -> usize {
        let mut undelivered = 0;
        for (place, findings) in by_place.into_values() {
            let client = match self.client(&place).await {
                Ok(client) => client,
                Err(reason) => {
                    tracing::error!(account = %place.account_id, %reason, findings = findings.len(), "Security Hub findings not imported");
                    undelivered += findings.len();
                    continue;
                }
            };
            for call in calls_of(findings) {
                undelivered += Box::pin(import_call(&client, &place, call)).await;
            }
        }
        undelivered
    }

    /// Where an alert's findings go: home, or (`member`) the secret's account and region
    /// when the records name them well-formed.
    fn place_of(&self, account: Option<&str>, region: Option<&str>) -> FindingPlace {
        if self.mode != SecurityHubMode::Member {
            return self.home.clone();
        }
        // Only an account the function may act in (`ACCOUNTS`), named as CloudTrail writes ids.
        let account = account
            .filter(|id| crate::ids::is_account_id(id))
            .filter(|id| {
                self.accounts
                    .as_ref()
                    .is_none_or(|allowed| allowed.contains(*id))
            })
            .map(AccountId::from);
        let region = region.and_then(RegionName::parse);
        match (account, region) {
            (Some(account), Some(region)) => FindingPlace {
                partition: partition_of(Some(region.as_str())).to_owned(),
                account_id: account.to_string(),
                region: region.to_string(),
            },
            (Some(account), None) => FindingPlace {
                account_id: account.to_string(),
                ..self.home.clone()
            },
            _ => self.home.clone(),
        }
    }

    async fn client(&self, place: &FindingPlace) -> Result<aws_sdk_securityhub::Client, String> {
        let key = (place.account_id.clone(), place.region.clone());
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let mut builder = aws_sdk_securityhub::config::Builder::from(&self.sdk_config)
            .region(Region::new(place.region.clone()));
        if place.account_id != self.home.account_id {
            let member = self.member.as_ref().ok_or_else(|| {
                format!(
                    "no member role is configured to import into account {}",
                    place.account_id
                )
            })?;
            let account = AccountId::from(place.account_id.as_str());
            builder = builder.credentials_provider(member.role(&account).await.credentials);
        }
        let client = aws_sdk_securityhub::Client::from_conf(builder.build());
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// One `BatchImportFindings` call, tried again once for what it did not import; how many
/// findings did not go in.
async fn import_call(
    client: &aws_sdk_securityhub::Client,
    place: &FindingPlace,
    mut findings: Vec<Finding>,
) -> usize {
    for attempt in 1..=TRIES {
        let call = client
            .batch_import_findings()
            .set_findings(Some(findings.iter().map(sdk_finding).collect()))
            .send();
        let result = Box::pin(call).await;
        let refused: Vec<String> = match result {
            Ok(output) => {
                for error in output.failed_findings() {
                    tracing::warn!(
                        id = error.id().unwrap_or(""),
                        code = error.error_code().unwrap_or(""),
                        message = error.error_message().unwrap_or(""),
                        attempt,
                        "Security Hub refused a finding"
                    );
                }
                output
                    .failed_findings()
                    .iter()
                    .filter_map(|e| e.id().map(str::to_owned))
                    .collect()
            }
            Err(error) => {
                tracing::warn!(
                    account = %place.account_id,
                    region = %place.region,
                    code = error.code().unwrap_or(""),
                    error = %DisplayErrorContext(&error),
                    attempt,
                    "BatchImportFindings failed"
                );
                findings.iter().map(|f| f.id.clone()).collect()
            }
        };
        findings.retain(|finding| refused.contains(&finding.id));
        if findings.is_empty() {
            return 0;
        }
    }
    tracing::error!(
        account = %place.account_id,
        findings = findings.len(),
        "Security Hub findings not imported (FindingsUndelivered); the alerts' emails went out"
    );
    findings.len()
}

/// The pure finding as the SDK's.
fn sdk_finding(finding: &Finding) -> AwsSecurityFinding {
    let resources = finding
        .resources
        .iter()
        .map(|resource| {
            Resource::builder()
                .r#type(resource.kind)
                .id(&resource.id)
                .partition(Partition::from(resource.partition.as_str()))
                .region(&resource.region)
                .details(
                    ResourceDetails::builder()
                        .set_other(Some(resource.details.other.clone().into_iter().collect()))
                        .build(),
                )
                .build()
        })
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(finding.schema_version)
        .id(&finding.id)
        .product_arn(&finding.product_arn)
        .generator_id(finding.generator_id)
        .aws_account_id(&finding.aws_account_id)
        .set_types(Some(
            finding.types.iter().map(|t| (*t).to_owned()).collect(),
        ))
        .created_at(&finding.created_at)
        .updated_at(&finding.updated_at)
        .first_observed_at(&finding.first_observed_at)
        .last_observed_at(&finding.last_observed_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(finding.severity.label))
                .build(),
        )
        .title(&finding.title)
        .description(&finding.description)
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(&finding.remediation.recommendation.text)
                        .build(),
                )
                .build(),
        )
        .set_source_url(finding.source_url.clone())
        .set_product_fields(Some(finding.product_fields.clone().into_iter().collect()))
        .set_resources(Some(resources))
        .record_state(RecordState::from(finding.record_state))
        .set_note(finding.note.as_ref().map(|note| {
            Note::builder()
                .text(&note.text)
                .updated_by(note.updated_by)
                .updated_at(&note.updated_at)
                .build()
        }))
        .build()
}
