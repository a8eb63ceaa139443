#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use super::*;
use crate::history::{Question, scan_content};

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

fn at(rfc3339: &str) -> SystemTime {
    humantime::parse_rfc3339(rfc3339).unwrap()
}

fn read(secret_id: &str, id: &str, time: &str, error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!(r#","errorCode":"AccessDeniedException","errorMessage":"{e}""#)
    });
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"{time}","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"10.0.0.7","userAgent":"aws-sdk-rust/1.0","eventID":"{id}","requestParameters":{{"secretId":"{secret_id}"}},"userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/orders-api/orders-api","accountId":"123456789012","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::123456789012:role/orders-api","userName":"orders-api"}}}}}}{error}}}"#
    )
}

fn window() -> (SystemTime, SystemTime) {
    (at("2026-09-01T00:00:00Z"), at("2026-12-01T00:00:00Z"))
}

fn tally_of(secret: &str, records: &[String]) -> SecretReads {
    let (from, to) = window();
    let question = ReadsOfSecrets::new(vec![SecretQuery::parse(secret).unwrap()], from, to);
    let file = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let part = scan_content(&question, file.as_bytes(), "f").unwrap();
    part.answer.secrets.into_iter().next().unwrap_or_default()
}

#[test]
fn a_read_counts_whether_it_names_the_secret_by_name_partial_or_full_arn() {
    let records = [
        read("prod/db", "e-1", "2026-10-01T00:00:00Z", None),
        read(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
            "e-2",
            "2026-10-02T00:00:00Z",
            None,
        ),
        read(ARN, "e-3", "2026-10-03T00:00:00Z", None),
        // Another secret, and one whose name only starts the same.
        read("prod/dbx", "e-4", "2026-10-04T00:00:00Z", None),
        read("staging/db", "e-5", "2026-10-05T00:00:00Z", None),
    ];
    for asked in [
        "prod/db",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
        ARN,
    ] {
        let reads = tally_of(asked, &records);
        assert_eq!(reads.reads(), 3, "{asked}");
        let reader = reads.readers.values().next().unwrap();
        assert_eq!(
            reader
                .examples
                .iter()
                .map(|(_, id)| id.as_str())
                .collect::<Vec<_>>(),
            ["e-1", "e-2", "e-3"]
        );
    }
}

#[test]
fn asked_by_full_arn_offline_another_suffix_is_another_secret() {
    let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-ZzZzZz";
    let records = [
        read(ARN, "e-1", "2026-10-01T00:00:00Z", None),
        read(other, "e-2", "2026-10-02T00:00:00Z", None),
    ];
    assert_eq!(tally_of(ARN, &records).reads(), 1, "only its own suffix");
    assert_eq!(
        tally_of("prod/db", &records).reads(),
        2,
        "by name: any suffix"
    );
}

#[test]
fn once_looked_up_a_full_arn_must_be_the_secrets_own() {
    let mut query = SecretQuery::parse("prod/db").unwrap();
    query.looked_up(SecretDescription {
        arn: ARN.into(),
        name: "prod/db".into(),
        ..Default::default()
    });
    let earlier = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-ZzZzZz";
    assert!(query.names(ARN, None, None));
    assert!(
        !query.names(earlier, None, None),
        "an earlier secret of the same name"
    );
    assert!(query.names("prod/db", Some("123456789012"), Some("us-east-1")));
    assert!(
        !query.names("prod/db", Some("210987654321"), Some("us-east-1")),
        "another account"
    );
    assert!(
        !query.names("prod/db", Some("123456789012"), Some("eu-west-1")),
        "another region"
    );
    assert!(!query.names(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db",
        None,
        None
    ));
}

#[test]
fn a_refused_read_is_a_read_and_reads_outside_the_window_are_not() {
    let records = [
        read("prod/db", "e-1", "2026-10-01T00:00:00Z", Some("denied")),
        read("prod/db", "e-2", "2026-10-02T00:00:00Z", None),
        read("prod/db", "e-3", "2026-08-01T00:00:00Z", None),
        read("prod/db", "e-4", "2026-12-02T00:00:00Z", None),
    ];
    let reads = tally_of("prod/db", &records);
    assert_eq!((reads.reads(), reads.refused_reads()), (2, 1));
    let reader = reads.readers.values().next().unwrap();
    assert_eq!(reader.first_read, Some(at("2026-10-01T00:00:00Z")));
    assert_eq!(reader.last_read, Some(at("2026-10-02T00:00:00Z")));
}

#[test]
fn readers_are_grouped_by_workload_and_caller_with_a_few_details_each() {
    let mut records: Vec<String> = (0..50)
        .map(|n| {
            read(
                "prod/db",
                &format!("e-{n:02}"),
                "2026-10-01T00:00:00Z",
                None,
            )
        })
        .collect();
    records.push(
        read("prod/db", "p-1", "2026-10-01T00:00:00Z", None)
            .replace("orders-api", "alice")
            .replace("10.0.0.7", "203.0.113.9"),
    );
    let reads = tally_of("prod/db", &records);
    assert_eq!(reads.readers.len(), 2);
    let busiest = reads.readers.values().max_by_key(|r| r.reads).unwrap();
    assert_eq!(busiest.reads, 50);
    assert_eq!(busiest.examples.len(), reads::EXAMPLES_KEPT);
    assert!(busiest.source_ips.len() <= reads::DETAILS_KEPT);
}

#[test]
fn the_pre_check_passes_over_a_file_without_the_secret_but_never_one_with_an_escape() {
    let (from, to) = window();
    let question = ReadsOfSecrets::new(vec![SecretQuery::parse("prod/db").unwrap()], from, to);
    let other = read("staging/db", "e-1", "2026-10-01T00:00:00Z", None);
    assert!(!question.may_concern(other.as_bytes()));
    assert!(question.may_concern(read("prod/db", "e-1", "2026-10-01T00:00:00Z", None).as_bytes()));
    // JSON may write the `/` of a name as `\/`, or any letter as `\u0070`.
    let escaped = read("prod\\/db", "e-1", "2026-10-01T00:00:00Z", None);
    assert!(question.may_concern(escaped.as_bytes()));
    let file = format!(r#"{{"Records":[{escaped}]}}"#);
    let part = scan_content(&question, file.as_bytes(), "f").unwrap();
    assert_eq!(part.answer.reads(), 1);
}

fn outcome(reads: SecretReads, sources: Vec<SourceCoverage>) -> CheckOutcome {
    let (from, to) = window();
    CheckOutcome {
        secret: SecretQuery::parse("prod/db").unwrap(),
        from,
        to,
        sources,
        reads,
    }
}

fn source(complete: bool) -> SourceCoverage {
    SourceCoverage {
        kind: SourceKind::Local,
        location: "trail/".into(),
        complete,
        detail: String::new(),
    }
}

#[test]
fn the_verdict_is_in_use_with_a_read_and_unknown_when_a_source_is_incomplete() {
    let used = tally_of(
        "prod/db",
        &[read("prod/db", "e-1", "2026-10-01T00:00:00Z", None)],
    );
    assert_eq!(
        outcome(used.clone(), vec![source(false)]).verdict(),
        Verdict::InUse
    );
    assert_eq!(
        outcome(SecretReads::default(), vec![source(true), source(true)]).verdict(),
        Verdict::NoReadsSeen
    );
    assert_eq!(
        outcome(SecretReads::default(), vec![source(true), source(false)]).verdict(),
        Verdict::Unknown
    );
    assert_eq!(
        outcome(SecretReads::default(), vec![]).verdict(),
        Verdict::Unknown
    );
    let mut not_found = outcome(SecretReads::default(), vec![source(true)]);
    not_found.secret.lookup_note = Some("Secrets Manager has no secret \"prod/db\"".into());
    assert_eq!(
        not_found.verdict(),
        Verdict::Unknown,
        "a secret not found is never no_reads_seen"
    );
    assert_eq!(exit_status([Verdict::NoReadsSeen, Verdict::NoReadsSeen]), 0);
    assert_eq!(exit_status([Verdict::NoReadsSeen, Verdict::Unknown]), 2);
    assert_eq!(exit_status([Verdict::Unknown, Verdict::InUse]), 3);
}

#[test]
fn a_last_access_after_every_read_says_the_sources_miss_reads() {
    let used = tally_of(
        "prod/db",
        &[read("prod/db", "e-1", "2026-10-01T00:00:00Z", None)],
    );
    let mut checked = outcome(used, vec![source(true)]);
    checked.secret.last_accessed_date = Some(at("2026-11-20T00:00:00Z"));
    assert!(checked.sources_miss_reads());
    assert!(check_document(&checked).notes[0].contains("miss reads"));
    checked.secret.last_accessed_date = Some(at("2026-10-01T00:00:00Z"));
    assert!(!checked.sources_miss_reads(), "the same day");
    let mut unread = outcome(SecretReads::default(), vec![source(true)]);
    unread.secret.last_accessed_date = Some(at("2026-11-20T00:00:00Z"));
    assert!(unread.sources_miss_reads());
}

#[test]
fn the_report_leads_with_the_verdict_and_says_what_to_do() {
    let used = tally_of(
        "prod/db",
        &[read(
            "prod/db",
            "e-1",
            "2026-10-01T00:00:00Z",
            Some("denied"),
        )],
    );
    let text = report::secret_block(&outcome(used, vec![source(true)]), window().1);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "prod/db");
    assert!(
        lines[1].starts_with("  IN USE: 1 read by 1 reader in the last 91 days"),
        "{text}"
    );
    assert!(text.contains("orders-api (role, "), "{text}");
    assert!(text.contains("1 read (1 refused)"), "{text}");
    assert!(text.contains("  next: Do not delete it yet"), "{text}");
}

#[test]
fn hostile_text_in_a_read_reaches_the_report_clean() {
    let hostile = read("prod/db", "e-1", "2026-10-01T00:00:00Z", None)
        .replace("aws-sdk-rust/1.0", "evil\\u001b[31mred\\u0007");
    let reads = tally_of("prod/db", &[hostile]);
    let text = report::secret_block(&outcome(reads, vec![source(true)]), window().1);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    let _ = Duration::ZERO;
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// A trail file read by its candidates (the names and escapes) tallies what the same
    /// records read whole (as an array) tally.
    #[test]
    fn read_by_its_candidates_a_trail_file_tallies_what_the_whole_read_tallies(
        kinds in proptest::collection::vec(0u8..5, 0..30)
    ) {
        let records: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(n, kind)| {
                let id = format!("e-{n}");
                match kind {
                    0 => read("prod/db", &id, "2026-10-01T00:00:00Z", None),
                    1 => read(ARN, &id, "2026-10-02T00:00:00Z", Some("denied")),
                    2 => read("prod\\/db", &id, "2026-10-03T00:00:00Z", None),
                    3 => read("staging/db", &id, "2026-10-03T00:00:00Z", None),
                    _ => read("prod/db", &id, "2026-10-03T00:00:00Z", None)
                        .replace("\"requestParameters\"", "\"x\":{\"eventVersion\":1},\"requestParameters\""),
                }
            })
            .collect();
        let (from, to) = window();
        let question = ReadsOfSecrets::new(vec![SecretQuery::parse("prod/db").unwrap()], from, to);
        let file = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let array = format!("[{}]", records.join(","));
        let fast = scan_content(&question, file.as_bytes(), "f").unwrap().answer;
        let whole = scan_content(&question, array.as_bytes(), "f").unwrap().answer;
        proptest::prop_assert_eq!(&fast.secrets, &whole.secrets);
        proptest::prop_assert_eq!(fast.records, whole.records);
    }
}

#[test]
fn an_offline_report_states_no_deletion_fact_it_never_looked_up() {
    let (from, to) = window();
    let outcome = CheckOutcome {
        secret: SecretQuery::parse(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        )
        .unwrap(),
        from,
        to,
        sources: vec![source(true)],
        reads: SecretReads::default(),
    };
    let text = report::secret_block(&outcome, to);
    assert!(!text.contains("not scheduled for deletion"), "{text}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// Verdict soundness: a tree vouches for a secret only when its files hold every day of
    /// the window for the secret's account and region. Any day missing (or held only in
    /// another account or region) leaves it incomplete, naming how many days are missing.
    #[test]
    fn a_tree_missing_any_day_of_the_window_never_vouches(
        held in proptest::collection::vec((0usize..95, 0u8..4), 0..120)
    ) {
        use std::collections::BTreeSet;
        use crate::trail_layout::TrailDay;
        let (from, to) = window();
        let mut window_days = crate::trail_layout::days_between(from, to);
        window_days.pop();
        let mut days = BTreeSet::new();
        for (index, place) in &held {
            let Some(day) = window_days.get(*index) else { continue };
            // 0 and 1: the secret's own account and region; 2: another region; 3: another
            // account.
            let (account, region) = match place {
                2 => ("123456789012", "eu-west-1"),
                3 => ("210987654321", "us-east-1"),
                _ => ("123456789012", "us-east-1"),
            };
            days.insert(TrailDay { account: account.into(), region: region.into(), day: day.clone() });
        }
        let own = |day: &String| days.contains(&TrailDay {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            day: day.clone(),
        });
        let missing = window_days.iter().filter(|d| !own(d)).count();
        let read = FilesRead {
            files_read: days.len().max(1),
            bytes_read: 1,
            skipped: 0,
            first_skipped: None,
            records: 10,
            malformed: 0,
            files_without_candidates: 0,
            files_outside_layout: 0,
            days: &days,
        };
        let secret = SecretQuery::parse(ARN).unwrap();
        let coverage = coverage_of_files(SourceKind::Local, "tree".into(), &read, &secret, (from, to));
        proptest::prop_assert_eq!(coverage.complete, missing == 0, "{}", coverage.detail);
        if missing > 0 {
            let said = format!("for {missing} of the window's {} days", window_days.len());
            proptest::prop_assert!(coverage.detail.contains(&said), "{}", coverage.detail);
            let verdict = CheckOutcome {
                secret,
                from,
                to,
                sources: vec![coverage],
                reads: SecretReads::default(),
            }
            .verdict();
            proptest::prop_assert_eq!(verdict, Verdict::Unknown);
        }
    }
}

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// A KMS `Decrypt` naming `key` in `resources[]` (refused as pending deletion when `refused`).
fn key_call(key: &str, id: &str, time: &str, refused: bool) -> String {
    let refusal = if refused {
        format!(
            r#","errorCode":"KMSInvalidStateException","errorMessage":"{key} is pending deletion.""#
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"{time}","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","recipientAccountId":"123456789012","sourceIPAddress":"10.0.0.7","userAgent":"aws-sdk-rust/1.0","eventID":"{id}","resources":[{{"accountId":"123456789012","type":"AWS::KMS::Key","ARN":"{key}"}}],"userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/orders-api/orders-api","accountId":"123456789012","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::123456789012:role/orders-api","userName":"orders-api"}}}}}}{refusal}}}"#
    )
}

fn key_tally(records: &[String]) -> (SecretReads, u64) {
    let (from, to) = window();
    let question = ReadsOfSecrets::new(vec![SecretQuery::key(KEY).unwrap()], from, to);
    let file = format!(r#"{{"Records":[{}]}}"#, records.join(","));
    let part = scan_content(&question, file.as_bytes(), "f").unwrap();
    let outside = part.answer.outside_window;
    (
        part.answer.secrets.into_iter().next().unwrap_or_default(),
        outside,
    )
}

#[test]
fn a_keys_uses_are_the_kms_calls_whose_resources_name_its_arn() {
    let other = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-0000-0000-0000-000000000000";
    let mut by_alias = key_call(KEY, "k-5", "2026-10-05T00:00:00Z", false);
    by_alias = by_alias.replace(
        &format!(
            r#""resources":[{{"accountId":"123456789012","type":"AWS::KMS::Key","ARN":"{KEY}"}}],"#
        ),
        r#""requestParameters":{"keyId":"alias/orders"},"#,
    );
    let records = [
        key_call(KEY, "k-1", "2026-10-01T00:00:00Z", false),
        key_call(KEY, "k-2", "2026-10-02T00:00:00Z", true),
        key_call(
            &KEY.replace('/', "\\/"),
            "k-3",
            "2026-10-03T00:00:00Z",
            false,
        ),
        key_call(other, "k-4", "2026-10-04T00:00:00Z", false),
        by_alias,
        key_call(KEY, "k-6", "2026-08-01T00:00:00Z", false),
        read("prod/db", "e-1", "2026-10-01T00:00:00Z", None),
    ];
    let (uses, outside) = key_tally(&records);
    // Its ARN, refused or not, escaped or not; never another key, never an alias the caller
    // passed (an alias can point elsewhere), never a secret's read.
    assert_eq!(uses.reads(), 3);
    assert_eq!(uses.refused_reads(), 1);
    assert_eq!(outside, 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100))]
    /// A key's calls are found by the file's anchors as by reading it whole, in any mix.
    #[test]
    fn read_by_its_candidates_a_trail_file_tallies_a_keys_uses_as_the_whole_read_does(
        kinds in proptest::collection::vec(0u8..5, 0..30)
    ) {
        let other = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-0000-0000-0000-000000000000";
        let records: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(n, kind)| {
                let id = format!("k-{n}");
                match kind {
                    0 => key_call(KEY, &id, "2026-10-01T00:00:00Z", false),
                    1 => key_call(KEY, &id, "2026-10-02T00:00:00Z", true),
                    2 => key_call(&KEY.replace('/', "\\/"), &id, "2026-10-03T00:00:00Z", false),
                    3 => key_call(other, &id, "2026-10-03T00:00:00Z", true),
                    _ => read("prod/db", &id, "2026-10-03T00:00:00Z", None),
                }
            })
            .collect();
        let (from, to) = window();
        let question = ReadsOfSecrets::new(vec![SecretQuery::key(KEY).unwrap()], from, to);
        let file = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let array = format!("[{}]", records.join(","));
        let fast = scan_content(&question, file.as_bytes(), "f").unwrap().answer;
        let whole = scan_content(&question, array.as_bytes(), "f").unwrap().answer;
        proptest::prop_assert_eq!(&fast.secrets, &whole.secrets);
        let expected = kinds.iter().filter(|k| **k < 3).count() as u64;
        let found = fast.secrets.first().map_or(0, SecretReads::reads);
        proptest::prop_assert_eq!(found, expected);
    }
}
