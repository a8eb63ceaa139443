#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::fast_reader;
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
fn finds_needles_in_the_messages_that_hold_them_with_every_search_engine() {
    let data = encoded(
        r#"{"a":"none here"}
{"a":"x because it was y"}
{"a":"\\u0041"}
{"because it was":1,"b":"{\"id\":\""}
{"a":"because it wasn't"}"#,
    );
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let needles: [&'static [u8]; 2] = [b" because it was ", b"\\u"];
    for search in [
        NeedleSearch::new(&needles).unwrap(),
        NeedleSearch::with_engine(&needles, fast_reader::Engine::Teddy).unwrap(),
        NeedleSearch::with_engine(&needles, fast_reader::Engine::Automaton).unwrap(),
    ] {
        let batch = LogBatch::parse_searching(&bytes, &search).unwrap();
        assert!(batch.has_canonical_layout());
        let found: Vec<bool> = batch.events().iter().map(|e| e.holds_needle()).collect();
        assert_eq!(found, [false, true, true, false, false]);
        let general = LogBatch::parse_general(&bytes, Some(&search)).unwrap();
        let found_general: Vec<bool> = general.events().iter().map(|e| e.holds_needle()).collect();
        assert_eq!(found, found_general);
    }
    let unsearched = LogBatch::parse(&bytes).unwrap();
    assert!(unsearched.events().iter().all(|e| !e.holds_needle()));
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
fn refuses_needles_that_could_overlap_an_event_boundary() {
    for needle in [&b""[..], b"\"x", b"{a", b"a}"] {
        assert!(NeedleSearch::new(&[needle]).is_err(), "{needle:?}");
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
    assert!(batch.is_data());
    assert_eq!(batch.log_group, "CloudTrail/logs");
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
    assert_eq!(ours.message_type, theirs.message_type);
    assert_eq!(ours.owner, theirs.owner);
    assert_eq!(ours.log_stream, theirs.log_stream);
    assert_eq!(ours.events().len(), theirs.log_events.len());
    for (a, b) in ours.events().iter().zip(&theirs.log_events) {
        assert_eq!(a.id(), b.id);
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
    assert!(batch.is_control());
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
fn the_fast_path_reads_what_serde_reads_even_for_tricky_messages() {
    let tricky = [
        r#"{"a":"ends with a backslash \\"}"#,
        r#"{"text":"\"},{\"id\":\"x"}"#,
        r#"{"nested":[{"a":1},{"b":"}]}"}],"u":"caf\u00e9 \u2019 \ud83d\ude00"}"#,
        r#"{"s":"line\nbreak\ttab \"quoted\" \/ slash"}"#,
    ]
    .join("\n");
    let data = encoded(&tricky);
    let bytes = inflate_payload(&data, DEFAULT_MAX_DECODED_BYTES).unwrap();
    let fast = fast_reader::read(&bytes, None).expect("our own encoding is canonical");
    let general = LogBatch::parse_general(&bytes, None).unwrap();
    assert_eq!(fast, general);
    assert_eq!(fast.events().len(), 4);
    for event in fast.events() {
        let message = event.message().unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&message).is_ok(),
            "{message}"
        );
    }
}

#[test]
fn reads_timestamps_as_serde_does() {
    let batch_with = |timestamp: &str| {
        format!(
            r#"{{"messageType":"DATA_MESSAGE","logEvents":[{{"id":"1","timestamp":{timestamp},"message":"{{}}"}}]}}"#
        )
    };
    let read_fast = [
        "1700000000000",
        "1000000000000",
        "9999999999999",
        "1234567890123",
        "0",
        "7",
        "-1",
        "123456789012",
        "12345678901234",
        "9223372036854775807",
        "-9223372036854775807",
    ];
    for timestamp in read_fast {
        let json = batch_with(timestamp);
        let fast = fast_reader::read(json.as_bytes(), None).expect("canonical layout");
        let general = LogBatch::parse_general(json.as_bytes(), None).unwrap();
        assert_eq!(fast, general);
        assert_eq!(fast.events()[0].timestamp, timestamp.parse().ok());
    }
    // Out of range, i64::MIN, a fraction, leading zeros (not JSON): serde_json decides.
    let left_to_serde = [
        "9223372036854775808",
        "-9223372036854775808",
        "99999999999999999999",
        "1700000000000.5",
        "0170000000000",
        "01",
        "-",
    ];
    for timestamp in left_to_serde {
        let json = batch_with(timestamp);
        assert!(
            fast_reader::read(json.as_bytes(), None).is_none(),
            "{timestamp}"
        );
        let read = LogBatch::parse(json.as_bytes()).map(|b| b.events()[0].timestamp);
        match serde_json::from_str::<i64>(timestamp) {
            Ok(value) => assert_eq!(read.unwrap(), Some(value)),
            Err(_) => assert!(read.is_err(), "{timestamp}"),
        }
    }
}

#[test]
fn messages_ending_in_a_space_a_comma_or_a_brace_stay_on_the_fast_path() {
    for text in [
        "ends in a space ",
        "ends in a comma,",
        " ",
        ",",
        "{",
        "ends in {",
    ] {
        let message = serde_json::to_string(text).unwrap();
        for events in [
            format!(r#"[{{"id":"1","timestamp":5,"message":{message}}}]"#),
            format!(
                r#"[{{"id":"1","timestamp":5,"message":{message}}},{{"id":"2","timestamp":6,"message":{message}}}]"#
            ),
        ] {
            let json = format!(r#"{{"messageType":"DATA_MESSAGE","logEvents":{events}}}"#);
            let fast = fast_reader::read(json.as_bytes(), None).expect("canonical layout");
            assert_eq!(
                fast,
                LogBatch::parse_general(json.as_bytes(), None).unwrap()
            );
        }
    }
}

#[test]
fn other_layouts_fall_back_to_serde() {
    let pretty = br#"{
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": [ {"id": "1", "timestamp": 5, "message": "{\"a\":1}"} ]
    }"#;
    let reordered =
        br#"{"logEvents":[{"message":"{}","id":"1","timestamp":5}],"messageType":"DATA_MESSAGE"}"#;
    let extra = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}","x":1}]}"#;
    let extra_string = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}","x":"y"}]}"#;
    let extra_spaced = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":"{}" ,"x":"y"}]}"#;
    for json in [
        &pretty[..],
        &reordered[..],
        &extra[..],
        &extra_string[..],
        &extra_spaced[..],
    ] {
        assert!(fast_reader::read(json, None).is_none());
        let batch = LogBatch::parse(json).unwrap();
        assert_eq!(batch.events().len(), 1);
        assert!(batch.events()[0].looks_like_json_object());
    }
    let empty = br#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#;
    assert_eq!(fast_reader::read(empty, None).unwrap().events().len(), 0);
    let not_string = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":5,"message":{"a":1}}]}"#;
    assert!(matches!(
        LogBatch::parse(not_string).unwrap_err(),
        DecodeError::Envelope(_)
    ));
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
fn the_fast_reader_declines_a_control_character_outside_message_text() {
    // JSON forbids raw control characters in strings: the reference refuses this batch, so the
    // fast reader must decline it too (its contract allows a difference only inside messages).
    let batch = "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"1\",\"logGroup\":\"g\",\"logStream\":\"s\",\
                 \"subscriptionFilters\":[],\"logEvents\":[{\"id\":\"a\u{1f}b\",\"timestamp\":1,\"message\":\"{}\"}]}";
    assert!(LogBatch::parse_general(batch.as_bytes(), None).is_err());
    assert!(fast_reader::read(batch.as_bytes(), None).is_none());
    let in_the_header = batch
        .replace("\"g\"", "\"g\u{0}\"")
        .replace("a\u{1f}b", "ab");
    assert!(fast_reader::read(in_the_header.as_bytes(), None).is_none());
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
fn the_fast_reader_declines_a_header_key_that_comes_twice() {
    let batch = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"subscriptionFilters":["x"],"logEvents":[{"id":"a","timestamp":1,"message":"{}"}]}"#;
    assert!(LogBatch::parse_general(batch.as_bytes(), None).is_err());
    assert!(fast_reader::read(batch.as_bytes(), None).is_none());
}

/// The function's event and the command line's event, read from the same Lambda event bytes,
/// inflate to the same envelope or fail with the same error.
fn both_event_readings(event_json: &str) -> (Result<Vec<u8>, String>, DecodedSubscriptionEvent) {
    let text = SubscriptionEvent::from_json(event_json.as_bytes()).unwrap();
    let decoded = DecodedSubscriptionEvent::from_json(event_json.as_bytes()).unwrap();
    let mut inflater = Inflater::default();
    let by_text = text
        .awslogs
        .data
        .inflate(&mut inflater, DEFAULT_MAX_DECODED_BYTES)
        .map_err(|e| e.to_string());
    let by_function = decoded
        .awslogs
        .data
        .inflate(&mut inflater, DEFAULT_MAX_DECODED_BYTES)
        .map_err(|e| e.to_string());
    assert_eq!(by_text, by_function, "{event_json}");
    (by_function, decoded)
}

fn event_with_data(data: &str) -> String {
    serde_json::json!({"awslogs": {"data": data}}).to_string()
}

#[test]
fn the_function_decodes_canonical_base64_while_it_reads_the_event() {
    let data = encoded(r#"{"eventName":"GetSecretValue"}"#);
    let (envelope, event) = both_event_readings(&event_with_data(&data.to_text()));
    assert!(envelope.is_ok());
    assert_eq!(
        event.awslogs.data,
        GzipPayload::Gzip(decode_base64(&data).unwrap())
    );
}

#[test]
fn the_function_leaves_what_the_fast_decoder_refuses_to_the_lenient_one() {
    // The first of these records whose base64 ends in padding.
    let data = (0..3)
        .map(|n| {
            encoded(&format!(
                r#"{{"eventName":"GetSecretValue{}"}}"#,
                "x".repeat(n)
            ))
        })
        .map(|data| data.to_text().into_owned())
        .find(|text| text.ends_with('='))
        .unwrap();
    let unpadded = data.trim_end_matches('=').to_owned();
    let wrapped: String = data
        .as_bytes()
        .chunks(76)
        .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
        .collect();
    assert_ne!(unpadded, data, "the sample needs padding to drop");
    for text in [unpadded, wrapped] {
        let (envelope, event) = both_event_readings(&event_with_data(&text));
        assert!(envelope.is_ok(), "{text:?}");
        assert!(matches!(event.awslogs.data, GzipPayload::Undecoded(_)));
    }
}

#[test]
fn the_function_reports_corrupt_base64_as_the_command_line_does() {
    let (envelope, event) = both_event_readings(&event_with_data("not base64 at all!"));
    assert!(envelope.unwrap_err().contains("base64"));
    assert!(matches!(event.awslogs.data, GzipPayload::Undecoded(_)));
    // Valid base64 that is not gzip.
    let (envelope, _) = both_event_readings(&event_with_data("aGVsbG8gd29ybGQsIG5vdCBnemlw"));
    assert!(envelope.is_err());
}

#[test]
fn the_function_reads_base64_written_with_json_escapes() {
    // Some JSON writers escape `/` (`\/`); the string's value is still the base64 text.
    let data = encoded(r#"{"eventName":"GetSecretValue"}"#)
        .to_text()
        .into_owned();
    let escaped = format!(r#"{{"awslogs":{{"data":"{}"}}}}"#, data.replace('/', "\\/"));
    let (envelope, event) = both_event_readings(&escaped);
    assert!(envelope.is_ok());
    assert!(matches!(event.awslogs.data, GzipPayload::Gzip(_)));
}

#[test]
fn the_function_refuses_an_event_without_a_payload_string() {
    for event in [r#"{"awslogs":{}}"#, r#"{"awslogs":{"data":7}}"#, r#"{}"#] {
        assert!(matches!(
            DecodedSubscriptionEvent::from_json(event.as_bytes()),
            Err(DecodeError::LambdaEvent(_))
        ));
    }
}

#[test]
fn a_payload_buffer_lends_the_buffer_it_was_given_back_empty() {
    let buffers = PayloadBuffer::new();
    let mut first = buffers.take();
    first.extend_from_slice(&[7; 4096]);
    let (address, capacity) = (first.as_ptr(), first.capacity());
    buffers.give_back(first);
    let second = buffers.take();
    assert!(second.is_empty());
    assert_eq!((second.as_ptr(), second.capacity()), (address, capacity));
    // Lent out: the next one is new.
    assert_eq!(buffers.take().capacity(), 0);
}

#[test]
fn a_payload_buffer_lets_go_of_a_buffer_past_the_decoded_size_cap() {
    let buffers = PayloadBuffer::new();
    buffers.give_back(Vec::with_capacity(DEFAULT_MAX_DECODED_BYTES + 1));
    assert_eq!(buffers.take().capacity(), 0);
}

#[test]
fn the_function_decodes_each_payload_afresh_in_a_reused_buffer() {
    // Other tests decode payloads at the same time, so this checks what a payload leaves
    // behind, not which buffer the next one gets.
    let data = encoded(r#"{"eventName":"GetSecretValue"}"#);
    let event = event_with_data(&data.to_text());
    for _ in 0..2 {
        let read = DecodedSubscriptionEvent::from_json(event.as_bytes()).unwrap();
        assert_eq!(
            read.awslogs.data,
            GzipPayload::Gzip(decode_base64(&data).unwrap())
        );
    }
}

#[cfg(target_arch = "x86_64")]
mod pair_search_agrees_with_aho_corasick {
    use super::super::pair_search::PairSearch;
    use aho_corasick::{AhoCorasick, Input, MatchKind};
    use proptest::prelude::*;

    /// Bytes that make candidates and near misses likely: the reader's pattern bytes, a byte
    /// whose nibbles mix theirs, a NUL and bytes past ASCII.
    const ALPHABET: &[u8] = b"{\",\\ bu\n\x00\xc3\x7bk\xfb\xa2";

    /// The ASCII of those: patterns' first two bytes are ASCII (`PairSearch::new`).
    const PATTERN_ALPHABET: &[u8] = b"{\",\\ bu\n\x00\x7bk";

    fn bytes(
        alphabet: &'static [u8],
        len: std::ops::Range<usize>,
    ) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(alphabet), len)
    }

    /// Short and dense in candidates, or long (over the four blocks the loop reads at a
    /// time) with few, so that matches fall in every block of a round and in the tail.
    fn haystack() -> impl Strategy<Value = Vec<u8>> {
        let sparse_byte = prop_oneof![60 => Just(b'x'), 1 => prop::sample::select(ALPHABET)];
        prop_oneof![
            bytes(ALPHABET, 0..300),
            prop::collection::vec(sparse_byte, 0..1500),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_leftmost_first_match_from_any_offset(
            patterns in prop::collection::vec(bytes(PATTERN_ALPHABET, 2..5), 1..12),
            haystack in haystack(),
            from_fraction in 0.0f64..=1.0,
        ) {
            let Some(pairs) = PairSearch::new(patterns.iter().map(Vec::as_slice)) else {
                // Without AVX-512 the reader uses Teddy, whose own tests hold it.
                return Ok(());
            };
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(&patterns)
                .unwrap();
            let from = (haystack.len() as f64 * from_fraction) as usize;
            let expected = automaton
                .find(Input::new(&haystack).range(from..))
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()));
            prop_assert_eq!(pairs.find(&haystack, from), expected);
        }
    }

    #[test]
    fn declines_a_pattern_that_starts_past_ascii() {
        assert!(PairSearch::new([&b"ab"[..], &b"\xc3\xa9"[..]]).is_none());
        assert!(PairSearch::new([&b"ab"[..], &b"a\xa9"[..]]).is_none());
    }

    #[test]
    fn declines_a_pattern_shorter_than_two_bytes() {
        assert!(PairSearch::new([&b"ab"[..], &b"c"[..]]).is_none());
    }

    #[test]
    fn finds_a_match_in_the_last_two_bytes_after_full_blocks() {
        let mut haystack = vec![b'x'; 64 * 3 + 7];
        haystack.extend_from_slice(b"{\"");
        let Some(pairs) = PairSearch::new([&b"{\""[..], &b"zz"[..]]) else {
            return;
        };
        assert_eq!(pairs.find(&haystack, 0), Some((0, 199, 201)));
        assert_eq!(pairs.find(&haystack, 200), None);
    }
}
