//! The quiet windows in DynamoDB (`ALERT_STATE_TABLE`): the rule of [`crate::window`] as
//! conditional writes, so concurrent invocations never both claim one window.
//!
//! One item per (secret, caller), keyed `pk` (a digest; `secret` and `caller` are kept beside
//! it to be read by people). A claim is one `UpdateItem` whose condition is the rule: it
//! succeeds only where [`crate::window::decide`] grants the claim, and moves the window's
//! tally to `prev_*` in the same write. When the condition fails, DynamoDB returns the item
//! (`ReturnValuesOnConditionCheckFailure`), and the rule says why: the same alert again (a
//! retry: send, write nothing) or held back (a second write counts its reads). Times are
//! milliseconds since the epoch; `expires_at` (seconds) is for the table's TTL, which only
//! cleans up.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_smithy_types::error::display::DisplayErrorContext;

#[cfg(feature = "testing")]
use crate::error::Chain;

use crate::error::WindowStateError;
use crate::ports::AlertWindows;
use crate::restore::Severity;
use crate::window::{
    Decision, Opened, ReadId, Tally, WindowClaim, WindowKey, WindowRecord, WindowVerdict, decide,
    to_hold,
};

/// Stands for "no reads" in a copied set: DynamoDB has no empty sets, and read ids are hex.
const NO_READS: &str = "-";
/// The readable secret and caller kept beside the key are cut here.
const MAX_READABLE_CHARS: usize = 1024;

pub struct AlertStateTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl AlertStateTable {
    pub fn new(sdk_config: &SdkConfig, table: &str) -> Self {
        AlertStateTable {
            client: aws_sdk_dynamodb::Client::new(sdk_config),
            table: table.to_owned(),
        }
    }

    /// One conditional `UpdateItem` on the window of `key`.
    fn update(
        &self,
        key: &WindowKey,
        expression: String,
        condition: String,
        update: Update,
    ) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.id()))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
    }

    /// Counts the reads of a held-back alert into the window, each read once.
    async fn hold(
        &self,
        claim: &WindowClaim,
        stored: &WindowRecord,
    ) -> Result<(), WindowStateError> {
        let (kept, overflow) = to_hold(stored, &claim.reads);
        let mut update = Update::default();
        update.set("expires_at", seconds(claim.expires_at()));
        let mut add = Vec::new();
        if !kept.is_empty() {
            add.push(update.add_operand("held", read_set(&kept)));
        }
        if overflow > 0 {
            add.push(update.add_operand("overflow", number(overflow)));
        }
        let mut expression = update.set_clause();
        if !add.is_empty() {
            expression.push_str(" ADD ");
            expression.push_str(&add.join(", "));
        }
        let condition = format!("attribute_exists({})", update.name("pk"));
        self.update(&claim.key, expression, condition, update)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| state_error(&error))
    }

    /// An `UpdateItem` on the window of `key` that may find another claim there; that is not
    /// an error.
    async fn update_own_claim(
        &self,
        key: &WindowKey,
        claim_key: &str,
        update: Update,
        extra_condition: &str,
    ) -> Result<(), WindowStateError> {
        let mut update = update;
        let expression = update.set_clause();
        let condition = format!(
            "{} = {}{extra_condition}",
            update.name("claim_key"),
            update.value("claim_key", AttributeValue::S(claim_key.to_owned()))
        );
        match self.update(key, expression, condition, update).send().await {
            Ok(_) => Ok(()),
            // Another alert claimed the window since: nothing of ours to mark.
            Err(SdkError::ServiceError(service))
                if service.err().is_conditional_check_failed_exception() =>
            {
                Ok(())
            }
            Err(error) => Err(state_error(&error)),
        }
    }
}

#[async_trait::async_trait]
impl AlertWindows for AlertStateTable {
    async fn claim(&self, claim: &WindowClaim) -> Result<WindowVerdict, WindowStateError> {
        let (expression, condition, update) = claim_update(claim);
        let result = self
            .update(&claim.key, expression, condition, update)
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let stored = match output.attributes {
                    Some(item) if !item.is_empty() => match record_of(&item) {
                        Ok(stored) => Some(stored),
                        // The condition let an item of values this function never writes
                        // be claimed over: it held back nothing.
                        Err(_) => {
                            return Ok(WindowVerdict::of(
                                Decision::Claim(Opened::Corrupt),
                                None,
                                claim,
                            ));
                        }
                    },
                    _ => None,
                };
                let decision = decide(stored.as_ref(), claim);
                if !matches!(decision, Decision::Claim(_)) {
                    tracing::warn!(
                        ?decision,
                        "the table granted a claim the rule would not; sending it"
                    );
                }
                Ok(WindowVerdict::of(
                    match decision {
                        Decision::Claim(opened) => Decision::Claim(opened),
                        _ => Decision::Claim(Opened::First),
                    },
                    stored.as_ref(),
                    claim,
                ))
            }
            Err(SdkError::ServiceError(service))
                if service.err().is_conditional_check_failed_exception() =>
            {
                let UpdateItemError::ConditionalCheckFailedException(failed) = service.err() else {
                    return Err(WindowStateError::Disagrees);
                };
                let Some(item) = failed.item() else {
                    return Err(WindowStateError::Unreadable(
                        "the refused claim came back without the item".to_owned(),
                    ));
                };
                // Values this function never writes, which the condition did not see as such
                // (a store that reads types otherwise): the read alerts all the same.
                let Ok(stored) = record_of(item) else {
                    return Ok(WindowVerdict::of(
                        Decision::Claim(Opened::Corrupt),
                        None,
                        claim,
                    ));
                };
                match decide(Some(&stored), claim) {
                    decision @ (Decision::Retry | Decision::Delivered) => {
                        Ok(WindowVerdict::of(decision, Some(&stored), claim))
                    }
                    Decision::Hold => {
                        self.hold(claim, &stored).await?;
                        Ok(WindowVerdict::of(Decision::Hold, Some(&stored), claim))
                    }
                    Decision::Claim(_) => Err(WindowStateError::Disagrees),
                }
            }
            Err(error) => Err(state_error(&error)),
        }
    }

    async fn confirm(
        &self,
        key: &WindowKey,
        claim_key: &str,
        at: SystemTime,
    ) -> Result<(), WindowStateError> {
        let mut update = Update::default();
        update.set("delivered", AttributeValue::Bool(true));
        update.set("delivered_at", millis(at));
        update.set("claimed_at", millis(at));
        self.update_own_claim(key, claim_key, update, "").await
    }

    async fn release(&self, key: &WindowKey, claim_key: &str) -> Result<(), WindowStateError> {
        let mut update = Update::default();
        update.set("claimed_at", millis(UNIX_EPOCH));
        let not_delivered = format!(
            " AND {} = {}",
            update.name("delivered"),
            update.value("not_delivered", AttributeValue::Bool(false))
        );
        self.update_own_claim(key, claim_key, update, &not_delivered)
            .await
    }
}

/// The claim as one conditional write: the update expression, the condition (the rule of
/// [`decide`], clause by clause), and their names and values.
fn claim_update(claim: &WindowClaim) -> (String, String, Update) {
    let mut update = Update::default();
    let nothing = read_set_or_marker(&BTreeSet::new());
    // The tally moves to prev_* first: DynamoDB reads every operand from the item as it was,
    // and putting the copies first keeps that true for stores that apply actions in order.
    update.set_copy("prev_alerted", "alerted", nothing.clone());
    update.set_copy("prev_held", "held", nothing);
    update.set_copy("prev_overflow", "overflow", number(0));
    // A first window's "previous" counts as delivered: there is nothing it failed to send.
    update.set_copy("prev_delivered", "delivered", AttributeValue::Bool(true));
    update.set_copy("prev_delivered_at", "delivered_at", number(0));
    update.set("secret", readable(&claim.key.secret));
    update.set("caller", readable(claim.key.caller.as_str()));
    update.set("claim_key", AttributeValue::S(claim.claim_key.clone()));
    update.set("claimed_at", millis(claim.now));
    update.set("severity", number(severity_rank(claim.severity)));
    update.set("outcome", AttributeValue::S(claim.outcome.to_owned()));
    update.set("alerted", read_set_or_marker(&claim.reads));
    update.set("overflow", number(0));
    update.set("delivered", AttributeValue::Bool(false));
    update.set("expires_at", seconds(claim.expires_at()));
    if let Some(date) = claim.deletion_date {
        update.set("deletion_date", seconds(date));
    }
    let expression = format!("{} REMOVE {}", update.set_clause(), update.name("held"));

    let pk = update.name("pk");
    let claim_key = update.name("claim_key");
    let claimed_at = update.name("claimed_at");
    let delivered = update.name("delivered");
    let this_claim = update.value("claim_key", AttributeValue::S(claim.claim_key.clone()));
    let severity = update.name("severity");
    let mut grants = vec![
        format!("attribute_not_exists({pk})"),
        // A claim ahead of this function's clock holds nothing back ([`crate::window::decide`]);
        // an item of values it never writes is refused here and read as corrupt by the claim.
        format!(
            "{claimed_at} > {}",
            update.value("latest_sane_claim", millis(claim.latest_sane_claim()))
        ),
        format!(
            "({delivered} = {} AND {claimed_at} <= {})",
            update.value("not_delivered", AttributeValue::Bool(false)),
            update.value("grace_start", millis(claim.grace_start()))
        ),
        format!(
            "{claimed_at} <= {}",
            update.value("window_start", millis(claim.window_start()))
        ),
        format!(
            "{severity} < {}",
            update.value("severity", number(severity_rank(claim.severity)))
        ),
    ];
    if let Some(date) = claim.deletion_date {
        let deletion_date = update.name("deletion_date");
        grants.push(format!(
            "(attribute_exists({deletion_date}) AND {deletion_date} <> {})",
            update.value("deletion_date", seconds(date))
        ));
    }
    if claim.outcome_breaks_window() {
        grants.push(format!(
            "{} <> {}",
            update.name("outcome"),
            update.value("outcome", AttributeValue::S(claim.outcome.to_owned()))
        ));
    }
    let condition = format!(
        "(attribute_not_exists({pk}) OR {claim_key} <> {this_claim}) AND ({})",
        grants.join(" OR ")
    );
    (expression, condition, update)
}

/// Names and values of one `UpdateItem`, every attribute through a `#name` (some of ours,
/// such as `outcome`, may be reserved words).
#[derive(Default)]
struct Update {
    sets: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) {
        let name = self.name(attribute);
        let value = self.value(&format!("set_{attribute}"), value);
        self.sets.push(format!("{name} = {value}"));
    }

    /// `target = if_not_exists(source, default)`: the source's value as it was.
    fn set_copy(&mut self, target: &str, source: &str, default: AttributeValue) {
        let target = self.name(target);
        let source_name = self.name(source);
        let default = self.value(&format!("default_{source}"), default);
        self.sets.push(format!(
            "{target} = if_not_exists({source_name}, {default})"
        ));
    }

    fn add_operand(&mut self, attribute: &str, value: AttributeValue) -> String {
        let name = self.name(attribute);
        let value = self.value(&format!("add_{attribute}"), value);
        format!("{name} {value}")
    }

    fn set_clause(&self) -> String {
        format!("SET {}", self.sets.join(", "))
    }
}

/// The stored item as a [`WindowRecord`].
fn record_of(item: &HashMap<String, AttributeValue>) -> Result<WindowRecord, WindowStateError> {
    let unreadable = |what: &str| {
        WindowStateError::Unreadable(format!(
            "{what} is missing or not what this function writes"
        ))
    };
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let whole = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let flag = |name: &str| item.get(name).and_then(|v| v.as_bool().ok()).copied();
    let reads = |name: &str| -> BTreeSet<ReadId> {
        item.get(name)
            .and_then(|v| v.as_ss().ok())
            .map(|set| {
                set.iter()
                    .filter(|id| id.as_str() != NO_READS)
                    .map(|id| ReadId::from_stored(id))
                    .collect()
            })
            .unwrap_or_default()
    };
    let time = |ms: u64| (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms));
    let severity = match whole("severity") {
        Some(2) => Severity::Critical,
        Some(1) => Severity::High,
        _ => return Err(unreadable("severity")),
    };
    Ok(WindowRecord {
        claim_key: text("claim_key").ok_or_else(|| unreadable("claim_key"))?,
        claimed_at: UNIX_EPOCH
            + Duration::from_millis(whole("claimed_at").ok_or_else(|| unreadable("claimed_at"))?),
        severity,
        deletion_date: whole("deletion_date").map(|s| UNIX_EPOCH + Duration::from_secs(s)),
        outcome: text("outcome").unwrap_or_default(),
        current: Tally {
            alerted: reads("alerted"),
            held: reads("held"),
            overflow: whole("overflow").unwrap_or(0),
            delivered: flag("delivered").unwrap_or(false),
            delivered_at: whole("delivered_at").and_then(time),
        },
        previous: Tally {
            alerted: reads("prev_alerted"),
            held: reads("prev_held"),
            overflow: whole("prev_overflow").unwrap_or(0),
            delivered: flag("prev_delivered").unwrap_or(true),
            delivered_at: whole("prev_delivered_at").and_then(time),
        },
    })
}

fn state_error<R: std::fmt::Debug>(error: &SdkError<UpdateItemError, R>) -> WindowStateError {
    match error {
        SdkError::ServiceError(service) => WindowStateError::Rejected {
            code: service.err().code().unwrap_or("error").to_owned(),
            message: service.err().message().unwrap_or("no message").to_owned(),
        },
        other => WindowStateError::Unreachable(DisplayErrorContext(other).to_string()),
    }
}

fn severity_rank(severity: Severity) -> u64 {
    match severity {
        Severity::High => 1,
        Severity::Critical => 2,
    }
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn since_epoch(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

fn millis(time: SystemTime) -> AttributeValue {
    number(u64::try_from(since_epoch(time).as_millis()).unwrap_or(u64::MAX))
}

fn seconds(time: SystemTime) -> AttributeValue {
    number(since_epoch(time).as_secs())
}

fn readable(text: &str) -> AttributeValue {
    AttributeValue::S(text.chars().take(MAX_READABLE_CHARS).collect())
}

fn read_set(reads: &BTreeSet<ReadId>) -> AttributeValue {
    AttributeValue::Ss(reads.iter().map(|r| r.as_str().to_owned()).collect())
}

fn read_set_or_marker(reads: &BTreeSet<ReadId>) -> AttributeValue {
    if reads.is_empty() {
        AttributeValue::Ss(vec![NO_READS.to_owned()])
    } else {
        read_set(reads)
    }
}

/// Creates a table shaped as `template.yaml` makes it (on demand, key `pk`): for the tests and
/// benchmarks against an emulator.
#[cfg(feature = "testing")]
pub async fn create_table(sdk_config: &SdkConfig, name: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attribute = AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())?;
    let key = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| e.to_string())?;
    aws_sdk_dynamodb::Client::new(sdk_config)
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute)
        .key_schema(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Chain(&e).to_string())
}
