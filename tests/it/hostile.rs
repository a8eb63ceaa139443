//! Bad input, from attackers and from broken producers: each case gets a clear error or is
//! handled, and nothing an attacker writes can forge lines in the subject or the text, inject
//! markup, or break the JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::hostile::{deeply_nested, gzip_bomb, payload, pending_deletion_read};
use common::{FakeSecrets, RecordingPublisher, options, pending};
use secret_deletion_alerts::error::{DecodeError, HandlerError};
use secret_deletion_alerts::handler::{Adapters, BatchSummary, handle_batch};
use secret_deletion_alerts::logs::{DEFAULT_MAX_DECODED_BYTES, gzip_base64};
use secret_deletion_alerts::restore::LookupFailure;
use secret_deletion_alerts::restore::{RestorePolicy, SecretState};

async fn run(
    data: &(impl AsRef<[u8]> + ?Sized),
) -> (Result<BatchSummary, HandlerError>, RecordingPublisher) {
    run_with(
        data,
        &FakeSecrets::with(&[("prod/db", pending("prod/db", 6, &[]))]),
    )
    .await
}

async fn run_with(
    data: &(impl AsRef<[u8]> + ?Sized),
    secrets: &FakeSecrets,
) -> (Result<BatchSummary, HandlerError>, RecordingPublisher) {
    run_capped(data, secrets, DEFAULT_MAX_DECODED_BYTES).await
}

/// [`run_with`] under a cap of `max_decoded_bytes` on the inflated batch.
async fn run_capped(
    data: &(impl AsRef<[u8]> + ?Sized),
    secrets: &FakeSecrets,
    max_decoded_bytes: usize,
) -> (Result<BatchSummary, HandlerError>, RecordingPublisher) {
    let publisher = RecordingPublisher::default();
    let ports = Adapters::new(&publisher, secrets);
    let policy = RestorePolicy::Off;
    let mut options = options(&policy);
    options.max_decoded_bytes = max_decoded_bytes;
    let result = handle_batch(data, &ports, &options).await;
    (result, publisher)
}

fn decode_error(result: Result<BatchSummary, HandlerError>) -> DecodeError {
    match result {
        Err(HandlerError::Decode(error)) => error,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_at_the_cap() {
    // 64 MiB of zeros in about 64 KB: the cap (8 MiB) stops it.
    let bomb = gzip_bomb(64 << 20);
    assert!(bomb.len() < 128 << 10, "{}", bomb.len());
    let (result, publisher) = run(&bomb).await;
    let error = decode_error(result);
    assert!(
        matches!(error, DecodeError::TooLarge { limit } if limit == 8 << 20),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "awslogs.data inflates to more than 8388608 bytes; refusing it as a likely gzip bomb"
    );
    assert!(publisher.alerts().is_empty());
}

#[tokio::test]
async fn a_bomb_whose_trailer_lies_about_its_size_is_refused_too() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut compressed = engine.decode(gzip_bomb(32 << 20)).unwrap();
    let len = compressed.len();
    compressed[len - 4..].copy_from_slice(&100u32.to_le_bytes());
    let (result, _) = run(&engine.encode(compressed)).await;
    assert!(matches!(decode_error(result), DecodeError::TooLarge { .. }));
}

/// 2,000 reads of an insider's own secret with 4 KB user agents: about 10 MB of envelope in
/// a payload far under Lambda's limit, past the 8 MiB cap, with a victim's read at `victim_at`.
fn oversized_batch(victim_at: usize) -> (String, usize) {
    let mut messages: Vec<String> = (0..2000)
        .map(|i| {
            let mut read = pending_deletion_read("mallory/own", &"A".repeat(4096), "flood");
            read["eventID"] = format!("flood-{i}").into();
            read.to_string()
        })
        .collect();
    let mut victim = pending_deletion_read("prod/db", "aws-sdk-java/2.25", "orders");
    victim["eventID"] = "victim".into();
    messages.insert(victim_at, victim.to_string());
    (payload(&messages), messages.len())
}

#[tokio::test]
async fn a_batch_past_the_cap_alerts_on_what_fits_and_fails_naming_the_rest() {
    let (data, total) = oversized_batch(0);
    assert!(data.len() < 256 << 10, "{}", data.len());
    let (result, publisher) = run_capped(&data, &FakeSecrets::default(), 2 << 20).await;
    let Err(error @ HandlerError::Unread { .. }) = result else {
        panic!("expected the unread error, got {result:?}");
    };
    let summary = error.summary().unwrap();
    let read = summary.records.unwrap();
    assert!(read > 100 && read < total, "{read}");
    assert_eq!(read as u64 + summary.records_unread, total as u64);
    assert!(
        error.to_string().contains(&format!(
            "{} log events beyond it were not read",
            summary.records_unread
        )),
        "{error}"
    );
    let alerted: Vec<String> = publisher
        .alerts()
        .iter()
        .map(|a| a.document.secret.display_name.clone())
        .collect();
    assert!(alerted.contains(&"prod/db".to_owned()), "{alerted:?}");
    let line: serde_json::Value =
        serde_json::from_str(&secret_deletion_alerts::metrics::emf_line(summary, 0)).unwrap();
    assert_eq!(line["RecordsUnread"], summary.records_unread);
}

#[tokio::test]
async fn a_batch_past_the_cap_is_read_whole_under_a_larger_one() {
    // What `invoke` does with the dead-lettered batch: the victim's read last, beyond the
    // function's cap, alerts.
    let (data, total) = oversized_batch(2000);
    let (result, publisher) = run(&data).await;
    assert!(matches!(result, Err(HandlerError::Unread { .. })));
    assert!(
        publisher
            .alerts()
            .iter()
            .all(|a| a.document.secret.display_name != "prod/db")
    );
    let (result, publisher) = run_capped(&data, &FakeSecrets::default(), 1 << 30).await;
    let summary = result.unwrap();
    assert_eq!(summary.records, Some(total));
    assert!(
        publisher
            .alerts()
            .iter()
            .any(|a| a.document.secret.display_name == "prod/db")
    );
}

#[tokio::test]
async fn ten_thousand_log_events_are_handled() {
    let mut messages: Vec<String> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"{i}"}}"#
            )
        })
        .collect();
    for i in [17, 5_000, 9_999] {
        let mut read = pending_deletion_read("prod/db", "aws-cli/2", "ci");
        read["eventID"] = format!("event-{i}").into();
        messages[i] = read.to_string();
    }
    let (result, publisher) = run(&payload(&messages)).await;
    let summary = result.unwrap();
    assert_eq!(
        (summary.records, summary.matched, summary.secrets),
        (Some(10_000), 3, 1)
    );
    assert_eq!(summary.parsed, 3, "only the candidates are parsed");
    assert_eq!(publisher.alerts()[0].document.attempts_total, 3);
}

#[tokio::test]
async fn a_256_kilobyte_record_is_handled_and_its_fields_capped() {
    let agent = "A".repeat(256 << 10);
    let record = pending_deletion_read("prod/db", &agent, "ci").to_string();
    assert!(record.len() > 256 << 10);
    let (result, publisher) = run(&payload(&[record])).await;
    assert_eq!(result.unwrap().matched, 1);
    let alert = &publisher.alerts()[0];
    let shown = alert.document.attempts[0].user_agent.as_deref().unwrap();
    assert_eq!(shown.chars().count(), 256);
    assert!(alert.sns_size() < 32 << 10, "{}", alert.sns_size());
}

#[tokio::test]
async fn deeply_nested_json_is_read_or_skipped_never_a_crash() {
    let nested = deeply_nested(100_000);
    // Deep in a field the model ignores: skipped over without recursion, the record alerts.
    let mut ignored = pending_deletion_read("prod/db", "ua", "ci");
    ignored["additionalEventData"] = serde_json::Value::Null;
    let ignored = ignored.to_string().replace(
        "\"additionalEventData\":null",
        &format!("\"additionalEventData\":{nested}"),
    );
    // Deep where the model reads (userIdentity): serde_json's recursion limit makes it
    // malformed instead of overflowing the stack.
    let read = pending_deletion_read("prod/db", "ua", "ci")
        .to_string()
        .replacen(
            "\"userIdentity\":{",
            &format!("\"userIdentity\":{nested},\"x\":{{"),
            1,
        );
    let (result, publisher) = run(&payload(&[ignored, read])).await;
    let summary = result.unwrap();
    assert_eq!(
        (summary.records, summary.matched, summary.malformed),
        (Some(2), 1, 1)
    );
    assert_eq!(publisher.alerts().len(), 1);
    // The same depth in the envelope is a decode error (the batch is kept for a retry).
    for envelope in [
        format!(
            r#"{{"messageType":"DATA_MESSAGE","logStream":" because it was ","logEvents":{nested}}}"#
        ),
        format!(r#"{{"messageType":"DATA_MESSAGE","logEvents":{nested}}}"#),
    ] {
        let (result, _) = run(&gzip_base64(envelope.as_bytes()).unwrap()).await;
        assert!(matches!(decode_error(result), DecodeError::Envelope(_)));
    }
}

#[tokio::test]
async fn invalid_utf8_is_replaced_and_every_read_of_the_batch_still_alerts() {
    // The message as JSON string text, the way the envelope carries it.
    let literal =
        serde_json::to_string(&pending_deletion_read("prod/db", "ua", "ci").to_string()).unwrap();
    let (first, second) = literal.split_once("ua").unwrap();
    let mut broken = first.as_bytes().to_vec();
    broken.extend_from_slice(b"u\xffa");
    broken.extend_from_slice(second.as_bytes());
    let mut envelope = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":1,"message":"#.to_vec();
    envelope.extend_from_slice(literal.as_bytes());
    envelope.extend_from_slice(br#"},{"id":"2","timestamp":2,"message":"#);
    envelope.extend_from_slice(&broken);
    envelope.extend_from_slice(b"}]}");
    let (result, publisher) = run(&gzip_base64(&envelope).unwrap()).await;
    let summary = result.unwrap();
    assert_eq!(summary.records, Some(2));
    assert_eq!(
        (summary.matched, summary.duplicates, summary.malformed),
        (1, 1, 0),
        "both copies of the read are read, one with U+FFFD in its user agent"
    );
    assert_eq!(publisher.alerts().len(), 1);

    let mut header = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g"#.to_vec();
    header.push(0xfe);
    header.extend_from_slice(br#"","logEvents":[]}"#);
    let (result, _) = run(&gzip_base64(&header).unwrap()).await;
    assert_eq!(result.unwrap().log_group, "g\u{fffd}");
}

#[tokio::test]
async fn truncated_gzip_padding_errors_and_missing_log_events_get_clear_errors() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let good = payload(&[pending_deletion_read("prod/db", "ua", "ci").to_string()]);
    let bytes = engine.decode(&good).unwrap();
    let truncated = engine.encode(&bytes[..bytes.len() / 2]);
    let error = decode_error(run(&truncated).await.0);
    assert!(matches!(error, DecodeError::Gzip(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("awslogs.data is not a valid gzip stream")
    );

    let bad_padding = format!("{}=", &good[..good.len() - 1]);
    let error = decode_error(run(&format!("{bad_padding}==")).await.0);
    assert!(
        error
            .to_string()
            .starts_with("awslogs.data is not valid base64"),
        "{error}"
    );

    // Line-wrapped and unpadded base64 are still read.
    let wrapped: String = good
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(run(&wrapped).await.0.unwrap().matched, 1);
    assert_eq!(run(good.trim_end_matches('=')).await.0.unwrap().matched, 1);

    let missing = gzip_base64(br#"{"messageType":"DATA_MESSAGE","owner":"1"}"#).unwrap();
    assert_eq!(
        decode_error(run(&missing).await.0).to_string(),
        "the decompressed batch is a DATA_MESSAGE without logEvents"
    );
}

#[tokio::test]
async fn hostile_strings_cannot_forge_lines_inject_markup_or_break_the_json() {
    let agent = "curl/8\r\nSeverity: LOW\u{1b}[2J<script>alert(1)</script>\u{202e}gpj.exe";
    let secret = "prod/db\nBcc: attacker@example.com";
    let session = "ops\u{2028}<b>admin</b>";
    let record = pending_deletion_read(secret, agent, session).to_string();
    // A failed lookup: the alert then names the secret only as the caller did.
    let lookup_failed = SecretState::LookupFailed {
        reason: "AccessDeniedException: no".into(),
        cause: LookupFailure::Refused,
    };
    let secrets = FakeSecrets::with(&[(secret, lookup_failed)]);
    let (result, publisher) = run_with(&payload(&[record]), &secrets).await;
    assert_eq!(result.unwrap().matched, 1);
    let alert = &publisher.alerts()[0];

    assert_eq!(
        alert.subject,
        "HIGH: secret prod/db?Bcc: attacker@example.com read by ops?<b>admin</b>; not restored (us-east-1)"
    );
    let lines: Vec<&str> = alert.text.lines().collect();
    assert!(lines.contains(&"Secret:         prod/db\u{FFFD}Bcc: attacker@example.com"));
    assert!(lines.contains(
        &"     user agent curl/8\u{FFFD}\u{FFFD}Severity: LOW\u{FFFD}[2J<script>alert(1)</script>\u{FFFD}gpj.exe (as the caller sent it)"
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("role app-role, session ops\u{FFFD}<b>admin</b>"))
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("Severity: LOW") || l.starts_with("Bcc:"))
    );
    assert!(
        !alert.text.contains('\u{1b}')
            && !alert.text.contains('\u{202e}')
            && !alert.text.contains('\r')
    );
    // The restore command quotes the id so pasting it runs nothing else.
    assert!(alert.text.contains(
        "aws secretsmanager restore-secret --secret-id='prod/db\u{FFFD}Bcc: attacker@example.com' --region us-east-1"
    ));
    let document: serde_json::Value = serde_json::from_str(&alert.document_json()).unwrap();
    assert_eq!(
        document["secret"]["id_as_named"],
        "prod/db\u{FFFD}Bcc: attacker@example.com"
    );
    let message: serde_json::Value = serde_json::from_str(alert.sns_message()).unwrap();
    assert_eq!(message["email"].as_str(), Some(alert.text.as_str()));
    for value in alert.attributes.values() {
        assert!(!value.value.chars().any(char::is_control), "{value:?}");
    }
}

#[tokio::test]
async fn a_message_never_runs_on_into_keys_or_events_of_another_layout() {
    let record = pending_deletion_read("prod/db", "aws-cli/2", "ci").to_string();
    let message = serde_json::to_string(&record).unwrap();
    // CloudWatch writes every event as {"id":...,"timestamp":...,"message":...}. A reader that
    // took everything up to the next `{"id":"` as the message would read each of these as one
    // unparseable message and lose the alert: a key after the message, an event whose keys
    // come in another order, and a key after the message before a regular event.
    let layouts = [
        format!(r#"[{{"id":"1","timestamp":1700000000000,"message":{message},"extra":"x"}}]"#),
        format!(
            r#"[{{"id":"1","timestamp":1700000000000,"message":"{{}}"}},{{"timestamp":1700000000001,"id":"2","message":{message}}}]"#
        ),
        format!(
            r#"[{{"id":"1","timestamp":1700000000000,"message":"{{}}", "note":"x"}},{{"id":"2","timestamp":1700000000001,"message":{message}}}]"#
        ),
    ];
    for events in layouts {
        let envelope = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":{events}}}"#
        );
        let (result, publisher) = run(&gzip_base64(envelope.as_bytes()).unwrap()).await;
        let summary = result.unwrap();
        assert_eq!((summary.matched, summary.malformed), (1, 0), "{events}");
        assert_eq!(publisher.alerts().len(), 1, "{events}");
    }
}
