//! How a record's text becomes a [`CloudTrailRecord`]: the typed read, and, where a field is
//! not of the type CloudTrail documents, a loose read that keeps every field that does read.
//! Pure.
//!
//! Why: a record that the rule accepts must never be lost because some other field came in
//! an unexpected type (`mfaAuthenticated` as a JSON boolean, `resources` as an object). The
//! typed read refuses the whole record for one such field; the loose read drops just that
//! field, names it, and reads the rest. The rule then decides on what was read.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::cloudtrail::CloudTrailRecord;

/// A record as read, and the fields that could not be read (dotted paths, as
/// `userIdentity.sessionContext.attributes.mfaAuthenticated`).
#[derive(Debug, Clone, Default)]
pub struct ReadRecord {
    pub record: CloudTrailRecord,
    pub unreadable: Vec<String>,
}

/// Reads one record: typed, else loosely. `Err` only when the text is not a JSON object.
pub fn read_record(json_text: &str) -> Result<ReadRecord, serde_json::Error> {
    let typed_error = match serde_json::from_str::<CloudTrailRecord>(json_text) {
        Ok(record) => {
            return Ok(ReadRecord {
                record,
                unreadable: Vec::new(),
            });
        }
        Err(error) => error,
    };
    let value: Value = serde_json::from_str(json_text)?;
    if !value.is_object() {
        return Err(typed_error);
    }
    let mut unreadable = Vec::new();
    let readable = keep_readable(&mut Vec::new(), &value, &mut unreadable).unwrap_or_default();
    // Every field left reads on its own; an object of them reads as well.
    let record = CloudTrailRecord::deserialize(&readable).map_err(|_| typed_error)?;
    Ok(ReadRecord { record, unreadable })
}

/// `value` (found at `path` in the record) with every part that cannot be read where it
/// stands left out and its path added to `unreadable`; `None` when nothing of it reads.
fn keep_readable(
    path: &mut Vec<String>,
    value: &Value,
    unreadable: &mut Vec<String>,
) -> Option<Value> {
    if reads_at(path, value) {
        return Some(value.clone());
    }
    if let Value::Object(fields) = value {
        let noted = unreadable.len();
        let mut kept = Map::new();
        for (key, field) in fields {
            path.push(key.clone());
            if let Some(field) = keep_readable(path, field, unreadable) {
                kept.insert(key.clone(), field);
            }
            path.pop();
        }
        let kept = Value::Object(kept);
        // Where the model wants no object (a list, a string), what is left of one still does
        // not read: the whole value is what could not be read.
        if path.is_empty() || reads_at(path, &kept) {
            return Some(kept);
        }
        unreadable.truncate(noted);
    }
    unreadable.push(path.join("."));
    None
}

/// Whether a record holding only `value` at `path` reads.
fn reads_at(path: &[String], value: &Value) -> bool {
    let mut record = value.clone();
    for key in path.iter().rev() {
        let mut object = Map::new();
        object.insert(key.clone(), record);
        record = Value::Object(object);
    }
    CloudTrailRecord::deserialize(&record).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_well_typed_record_reads_with_nothing_left_out() {
        let read =
            read_record(r#"{"eventName":"GetSecretValue","userIdentity":{"arn":"a"}}"#).unwrap();
        assert_eq!(read.record.event_name.as_deref(), Some("GetSecretValue"));
        assert!(read.unreadable.is_empty());
    }

    #[test]
    fn a_field_of_another_type_is_left_out_and_named_and_the_rest_reads() {
        let read = read_record(
            r#"{"eventName":"GetSecretValue","resources":{"ARN":"x"},
                "userIdentity":{"arn":"arn:aws:iam::1:user/a","sessionContext":{"attributes":
                {"mfaAuthenticated":true,"creationDate":"2026-01-01T00:00:00Z"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            read.unreadable,
            [
                "resources",
                "userIdentity.sessionContext.attributes.mfaAuthenticated"
            ]
        );
        let identity = read.record.user_identity.unwrap();
        assert_eq!(identity.arn.as_deref(), Some("arn:aws:iam::1:user/a"));
        let attributes = identity.session_context.unwrap().attributes.unwrap();
        assert_eq!(
            attributes.creation_date.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(attributes.mfa_authenticated, None);
    }

    #[test]
    fn a_key_written_twice_reads_as_its_last_value() {
        let read = read_record(r#"{"eventName":"A","eventName":"GetSecretValue"}"#).unwrap();
        assert_eq!(read.record.event_name.as_deref(), Some("GetSecretValue"));
    }

    #[test]
    fn text_that_is_not_a_json_object_is_refused() {
        for text in ["", "[1]", "\"x\"", "{", "null"] {
            assert!(read_record(text).is_err(), "{text}");
        }
    }
}
