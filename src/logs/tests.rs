#![allow(clippy::unwrap_used, clippy::expect_used)]
use base64::Engine;

use super::*;
use crate::error::{DecodeError, EncodeError};

fn encoded(records: &str) -> Base64Text {
    encode_records(records, "CloudTrail/logs")
        .unwrap()
        .awslogs
        .data
}

#[test]
fn reads_awslogs_data_with_json_escapes_and_refuses_other_types() {
    let data = encoded(r#"{"eventName":"A","path":"/a/b?c=d"}"#);
    let plain = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let text = data.to_text();
    assert!(text.contains('/'), "the sample must exercise the escape");
    // A JSON writer may escape `/`, and base64 may come line-wrapped (`\n` in JSON).
    let escaped = text.replace('/', "\\/");
    let wrapped: String = text
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\\n");
    for variant in [escaped, wrapped] {
        let event = format!(r#"{{"awslogs":{{"data":"{variant}"}}}}"#);
        let event = SubscriptionEvent::from_json(event.as_bytes()).unwrap();
        let bytes = inflate_payload(&event.awslogs.data, DEFAULT_MAX_DECODED_BYTES).unwrap();
        assert_eq!(bytes, plain);
    }
    for wrong in [
        r#"{"awslogs":{"data":42}}"#,
        r#"{"awslogs":{}}"#,
        r#"{"awslogs":{"data":"#,
    ] {
        assert!(matches!(
            SubscriptionEvent::from_json(wrong.as_bytes()),
            Err(DecodeError::LambdaEvent(_))
        ));
    }
}

#[test]
fn round_trips_records_through_encode_and_decode() {
    let data = encoded(
        r#"{"eventName":"A"}
{"eventName":"B","userAgent":"x\"y"}"#,
    );
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let batch = LogBatch::parse(&bytes).unwrap();
    assert!(batch.header.is_data());
    assert_eq!(batch.header.log_group, "CloudTrail/logs");
    let messages: Vec<String> = batch
        .events()
        .iter()
        .map(|e| e.message().unwrap().into_owned())
        .collect();
    assert_eq!(
        messages,
        [
            r#"{"eventName":"A"}"#,
            r#"{"eventName":"B","userAgent":"x\"y"}"#
        ]
    );
}

#[test]
fn agrees_with_aws_lambda_events_decoder() {
    let data = encoded(r#"{"Records":[{"eventName":"A","n":1},{"eventName":"B"}]}"#);
    let reference: aws_lambda_events::cloudwatch_logs::LogsEvent =
        serde_json::from_str(&serde_json::json!({"awslogs": {"data": data}}).to_string()).unwrap();
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let ours = LogBatch::parse(&bytes).unwrap();
    let theirs = reference.aws_logs.data;
    assert_eq!(ours.header.message_type, theirs.message_type);
    assert_eq!(ours.header.owner, theirs.owner);
    assert_eq!(ours.header.log_stream, theirs.log_stream);
    assert_eq!(ours.events().len(), theirs.log_events.len());
    for (a, b) in ours.events().iter().zip(&theirs.log_events) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.timestamp, Some(b.timestamp));
        assert_eq!(a.message().unwrap(), b.message);
    }
}

#[test]
fn accepts_unpadded_and_line_wrapped_base64() {
    let data = encoded(r#"{"eventName":"A"}"#);
    let text = data.to_text();
    let unpadded = text.trim_end_matches('=');
    let wrapped: String = data
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    for variant in [unpadded, wrapped.as_str()] {
        let bytes = inflate_payload(variant, DEFAULT_MAX_DECODED_BYTES).unwrap();
        assert_eq!(LogBatch::parse(&bytes).unwrap().events().len(), 1);
    }
}

#[test]
fn rejects_corrupt_base64() {
    let err = inflate_payload("not*base64!", DEFAULT_MAX_DECODED_BYTES).unwrap_err();
    assert!(matches!(err, DecodeError::Base64(_)), "{err}");
}

#[test]
fn rejects_base64_of_something_that_is_not_gzip() {
    let data = LENIENT_BASE64.encode(b"{\"plain\": \"json, not gzip\"}");
    let err = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap_err();
    assert!(matches!(err, DecodeError::NotGzip), "{err}");
}

#[test]
fn rejects_corrupt_and_truncated_gzip() {
    let good = LENIENT_BASE64
        .decode(encoded(r#"{"eventName":"A"}"#))
        .unwrap();
    let mut corrupt = good.clone();
    for byte in &mut corrupt[12..20] {
        *byte ^= 0xff;
    }
    let truncated = &good[..good.len() - 6];
    for bad in [&corrupt[..], truncated] {
        let err = inflate_gzip(bad, DEFAULT_MAX_DECODED_BYTES).unwrap_err();
        assert!(matches!(err, DecodeError::Gzip(_)), "{err}");
    }
}

#[test]
fn stops_inflating_at_the_cap() {
    let bomb = gzip_base64(&vec![b' '; 4 * 1024 * 1024]).unwrap();
    assert!(bomb.len() < 16 * 1024, "the sample should be a small bomb");
    let err = inflate_payload(&bomb, 1024 * 1024).unwrap_err();
    assert!(
        matches!(err, DecodeError::TooLarge { limit } if limit == 1024 * 1024),
        "{err}"
    );
}

#[test]
fn reads_a_control_message() {
    let data = control_message_event("CloudTrail/logs")
        .unwrap()
        .awslogs
        .data;
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let batch = LogBatch::parse(&bytes).unwrap();
    assert!(batch.header.is_control());
    assert!(!batch.events()[0].looks_like_json_object());
}

#[test]
fn a_data_batch_without_log_events_is_an_error() {
    let data = gzip_base64(br#"{"messageType":"DATA_MESSAGE","owner":"1"}"#).unwrap();
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let err = LogBatch::parse(&bytes).unwrap_err();
    assert!(matches!(err, DecodeError::MissingLogEvents), "{err}");
}

#[test]
fn invalid_utf8_in_the_envelope_is_an_error() {
    let mut json = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","message":"x"#.to_vec();
    json.extend_from_slice(&[0xff, 0xfe]);
    json.extend_from_slice(br#""}]}"#);
    let bytes = inflate_payload(&gzip_base64(&json).unwrap(), 1 << 20).unwrap();
    assert!(matches!(
        LogBatch::parse(&bytes).unwrap_err(),
        DecodeError::Envelope(_)
    ));
}

#[test]
fn tells_json_objects_from_other_messages_without_unescaping() {
    let data = encoded(r#"{"a":1}"#);
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let batch = LogBatch::parse(&bytes).unwrap();
    assert!(batch.events()[0].looks_like_json_object());
    let json = br#"{"messageType":"DATA_MESSAGE","logEvents":[
        {"id":"1","message":"plain text"},
        {"id":"2","message":"\n  {\"a\":1}"},
        {"id":"3","message":"[1,2]"}]}"#;
    let batch = LogBatch::parse(json).unwrap();
    let verdicts: Vec<bool> = batch
        .events()
        .iter()
        .map(RawLogEvent::looks_like_json_object)
        .collect();
    assert_eq!(verdicts, [false, true, false]);
}

#[test]
fn encode_rejects_input_without_records() {
    assert!(matches!(
        encode_records("  ", "g").unwrap_err(),
        EncodeError::NoRecords
    ));
    assert!(matches!(
        encode_records("{\"a\":1}\nnot json", "g").unwrap_err(),
        EncodeError::Line { line: 2, .. }
    ));
    assert!(matches!(
        encode_records("[1]", "g").unwrap_err(),
        EncodeError::NotAnObject { line: 1 }
    ));
}

#[test]
fn an_inflater_reuses_the_previous_batchs_buffer() {
    let data = encoded(r#"{"eventName":"GetSecretValue"}"#);
    let mut inflater = Inflater::default();
    let first = inflater
        .inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES)
        .unwrap();
    let (address, expected) = (first.as_ptr(), first.clone());
    inflater.recycle(first);
    let second = inflater
        .inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES)
        .unwrap();
    assert_eq!(second, expected);
    assert_eq!(
        second.as_ptr(),
        address,
        "no new allocation for the next batch"
    );
}

#[test]
fn reads_tricky_messages_as_raw_json_text() {
    let tricky = [
        r#"{"a":"ends with a backslash \\"}"#,
        r#"{"text":"\"},{\"id\":\"x"}"#,
        r#"{"nested":[{"a":1},{"b":"}]}"}],"u":"caf\u00e9 \u2019 \ud83d\ude00"}"#,
        r#"{"s":"line\nbreak\ttab \"quoted\" \/ slash"}"#,
    ]
    .join("\n");
    let data = encoded(&tricky);
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let batch = LogBatch::parse(&bytes).unwrap();
    assert_eq!(batch.events().len(), 4);
    for (event, line) in batch.events().iter().zip(tricky.lines()) {
        let read: serde_json::Value = serde_json::from_str(&event.message().unwrap()).unwrap();
        let written: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(read, written);
    }
}

#[test]
fn reads_any_layout_serde_reads_and_refuses_a_message_that_is_not_a_string() {
    let pretty = br#"{
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": [ {"id": "1", "timestamp": 5, "message": "{\"a\":1}"} ]
    }"#;
    let reordered =
        br#"{"logEvents":[{"message":"{}","id":"1","timestamp":5}],"messageType":"DATA_MESSAGE"}"#;
    let extra = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}","x":1}]}"#;
    for json in [&pretty[..], &reordered[..], &extra[..]] {
        let batch = LogBatch::parse(json).unwrap();
        assert_eq!(batch.events().len(), 1);
        assert!(batch.events()[0].looks_like_json_object());
    }
    let not_string = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":{"a":1}}]}"#;
    assert!(matches!(
        LogBatch::parse(not_string).unwrap_err(),
        DecodeError::Envelope(_)
    ));
}

#[test]
fn what_is_not_an_envelope_is_refused() {
    for broken in [
        &b"not json"[..],
        b"[1,2]",
        br#"{"messageType":5,"logEvents":[]}"#,
        br#"{"owner":"1"}"#,
        br#"{"messageType":"DATA_MESSAGE","owner":"1"} trailing"#,
    ] {
        assert!(
            matches!(LogBatch::parse(broken), Err(DecodeError::Envelope(_))),
            "{}",
            String::from_utf8_lossy(broken)
        );
    }
}
