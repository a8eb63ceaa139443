//! The reverse of decoding: CloudTrail records wrapped into a subscription event, as a
//! subscription on the trail's log group would deliver them. Tooling (the `encode` command,
//! samples, tests), no part of decoding. Built with `aws_lambda_events`' own `LogData` type so
//! our samples have exactly the shape that crate (and CloudWatch Logs) produce.

use std::io::Write;

use aws_lambda_events::cloudwatch_logs::{LogData, LogEntry};
use base64::Engine;

use super::event::{AwsLogsField, Base64Text, SubscriptionEvent};
use super::{CONTROL_MESSAGE, DATA_MESSAGE, LENIENT_BASE64};
use crate::error::EncodeError;

/// Wraps CloudTrail records into a CloudWatch Logs subscription event, as a subscription on
/// the trail's log group would deliver them. `input` is one JSON object, a
/// `{"Records":[...]}` document (the trail's S3 file format), or JSON lines.
pub fn encode_records(input: &str, log_group: &str) -> Result<SubscriptionEvent, EncodeError> {
    let records = split_records(input)?;
    let mut data = LogData::default();
    data.owner = records
        .iter()
        .find_map(|r| r.get("recipientAccountId").and_then(|v| v.as_str()))
        .unwrap_or("123456789012")
        .to_owned();
    data.log_group = log_group.to_owned();
    data.log_stream = format!("{}_CloudTrail_us-east-1", data.owner);
    data.subscription_filters = vec!["secret-deletion-alerts".to_owned()];
    data.message_type = DATA_MESSAGE.to_owned();
    let base_ms = 1_700_000_000_000_i64;
    for (index, record) in records.iter().enumerate() {
        let mut entry = LogEntry::default();
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        // Ids are 56-digit strings in real batches; any unique string will do for samples.
        entry.id = format!("{:056}", 37_000_000_000_i64.saturating_add(index));
        entry.timestamp = base_ms.saturating_add(index);
        entry.message = serde_json::to_string(record).map_err(EncodeError::Json)?;
        data.log_events.push(entry);
    }
    let json = serde_json::to_vec(&data).map_err(EncodeError::Json)?;
    Ok(SubscriptionEvent {
        awslogs: AwsLogsField {
            data: Base64Text::from(gzip_base64(&json)?),
        },
    })
}

/// The control message CloudWatch Logs sends when a subscription is created.
pub fn control_message_event(log_group: &str) -> Result<SubscriptionEvent, EncodeError> {
    let mut data = LogData::default();
    data.owner = "CloudwatchLogs".to_owned();
    data.log_group = log_group.to_owned();
    data.log_stream = String::new();
    data.subscription_filters = vec![];
    data.message_type = CONTROL_MESSAGE.to_owned();
    let mut entry = LogEntry::default();
    entry.id = String::new();
    entry.timestamp = 1_700_000_000_000;
    entry.message = "CWL CONTROL MESSAGE: Checking health of destination Lambda function.".into();
    data.log_events.push(entry);
    let json = serde_json::to_vec(&data).map_err(EncodeError::Json)?;
    Ok(SubscriptionEvent {
        awslogs: AwsLogsField {
            data: Base64Text::from(gzip_base64(&json)?),
        },
    })
}

/// gzip then base64: the encoding CloudWatch Logs applies to a subscription batch.
pub fn gzip_base64(bytes: &[u8]) -> Result<String, EncodeError> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(bytes).map_err(EncodeError::Gzip)?;
    let compressed = gzip.finish().map_err(EncodeError::Gzip)?;
    Ok(LENIENT_BASE64.encode(compressed))
}

fn split_records(input: &str) -> Result<Vec<serde_json::Value>, EncodeError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(EncodeError::NoRecords);
    }
    let records = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Object(mut object)) => match object.remove("Records") {
            Some(serde_json::Value::Array(records)) => records,
            Some(_) => return Err(EncodeError::RecordsNotArray),
            None => vec![serde_json::Value::Object(object)],
        },
        Ok(serde_json::Value::Array(records)) => records,
        Ok(_) => return Err(EncodeError::NotAnObject { line: 1 }),
        Err(_) => {
            // Not one document: JSON lines.
            let mut records = Vec::new();
            for (number, line) in trimmed.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value =
                    serde_json::from_str(line).map_err(|source| EncodeError::Line {
                        line: number + 1,
                        source,
                    })?;
                records.push(value);
            }
            records
        }
    };
    if let Some(position) = records.iter().position(|r| !r.is_object()) {
        return Err(EncodeError::NotAnObject { line: position + 1 });
    }
    if records.is_empty() {
        return Err(EncodeError::NoRecords);
    }
    Ok(records)
}
