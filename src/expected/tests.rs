//! The rules of `EXPECTED_READERS`: what each field matches, that every condition of a rule
//! must hold, that an expired rule marks nothing, and that a rule that cannot be checked is
//! named with what is wrong with it.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use super::*;
use crate::cloudtrail::CloudTrailRecord;
use crate::detection::{Origin, detect};

const LAMBDA_NODE: &str =
    "aws-sdk-js/3.583.0 ua/2.0 os/linux lang/js md/nodejs#20.13.1 exec-env/AWS_Lambda_nodejs20.x";

/// A read of `secret` by `role`'s session `session`, from `ip`, with user agent `agent`.
fn read(secret: &str, role: &str, session: &str, ip: &str, agent: &str) -> PendingDeletionAccess {
    let record = serde_json::json!({
        "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue",
        "awsRegion": "eu-west-1",
        "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
        "requestParameters": {"secretId": secret},
        "eventID": "e1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "userIdentity": {
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/{session}"),
            "accountId": "123456789012",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role,
                "arn": format!("arn:aws:iam::123456789012:role/{role}")}}
        }
    });
    let record: CloudTrailRecord = serde_json::from_value(record).unwrap();
    detect(
        &record,
        Origin::LogEvent {
            id: "1".into(),
            timestamp_ms: None,
        },
    )
    .unwrap()
}

fn rules(json: &str) -> ExpectedReaders {
    ExpectedReaders::parse(json).unwrap()
}

fn now() -> SystemTime {
    humantime::parse_rfc3339("2026-12-03T12:00:00Z").unwrap()
}

/// The number of the rule that marks `access`, if any.
fn marked_by(rules: &ExpectedReaders, access: &PendingDeletionAccess) -> Option<usize> {
    let names = SecretNames::of(&access.target, None, None);
    rules
        .matching(&names, access, now())
        .map(|rule| rule.number)
}

#[test]
fn a_caller_rule_marks_that_caller_and_no_other() {
    let rules = rules(
        r#"[{"secret": "prod/*", "caller": "arn:aws:iam::123456789012:role/etl", "reason": "nightly ETL until cut-over"}]"#,
    );
    let etl = read("prod/db", "etl", "run-1", "10.0.0.1", "Boto3/1.34");
    let api = read("prod/db", "orders-api", "i-1", "10.0.0.1", "Boto3/1.34");
    assert_eq!(
        marked_by(&rules, &etl),
        Some(1),
        "the role's ARN matches its sessions"
    );
    assert_eq!(marked_by(&rules, &api), None);
    let other_secret = read("staging/db", "etl", "run-1", "10.0.0.1", "Boto3/1.34");
    assert_eq!(
        marked_by(&rules, &other_secret),
        None,
        "the secret glob holds too"
    );
}

#[test]
fn a_session_arn_never_matches_a_caller_glob_the_session_name_is_the_callers() {
    let rules = rules(
        r#"[{"secret": "prod/db", "caller": "arn:aws:sts::*:assumed-role/etl/nightly-*", "reason": "r"},
            {"secret": "prod/db", "caller": "*/backup-*", "reason": "r"}]"#,
    );
    assert_eq!(
        marked_by(
            &rules,
            &read("prod/db", "sandbox", "backup-x", "10.0.0.1", "x")
        ),
        None
    );
    assert_eq!(
        marked_by(
            &rules,
            &read("prod/db", "etl", "nightly-7", "10.0.0.1", "x")
        ),
        None
    );
}

#[test]
fn a_workload_rule_matches_only_a_certain_classification() {
    let rules = rules(r#"[{"secret": "prod/db", "workload": "lambda:orders-*", "reason": "r"}]"#);
    // Lambda's own sourceIPAddress corroborates what the session name and user agent say.
    let lambda = read(
        "prod/db",
        "orders-role",
        "orders-api",
        "lambda.amazonaws.com",
        LAMBDA_NODE,
    );
    assert_eq!(marked_by(&rules, &lambda), Some(1));
    // The same names from a sandbox role: only the caller's word, so `likely`.
    let claimed = read("prod/db", "sandbox", "orders-api", "10.0.0.1", LAMBDA_NODE);
    assert_eq!(marked_by(&rules, &claimed), None);
    let not_lambda = read(
        "prod/db",
        "orders-role",
        "orders-api",
        "10.0.0.1",
        "Boto3/1.34",
    );
    assert_eq!(marked_by(&rules, &not_lambda), None);
}

#[test]
fn a_workload_rule_never_matches_a_role_known_by_its_session_name() {
    let rules = rules(r#"[{"secret": "prod/db", "workload": "role:backup-*", "reason": "r"}]"#);
    assert_eq!(
        marked_by(
            &rules,
            &read("prod/db", "sandbox", "backup-x", "10.0.0.1", "x")
        ),
        None
    );
}

#[test]
fn a_source_ip_rule_is_a_cidr_beside_a_caller_and_a_hostname_never_matches_it() {
    let rules = rules(
        r#"[{"secret": "prod/db", "caller": "*:role/a", "source_ip": "10.1.0.0/16", "reason": "r"}]"#,
    );
    assert_eq!(
        marked_by(&rules, &read("prod/db", "a", "s", "10.1.2.3", "x")),
        Some(1)
    );
    assert_eq!(
        marked_by(&rules, &read("prod/db", "a", "s", "10.2.0.1", "x")),
        None
    );
    assert_eq!(
        marked_by(&rules, &read("prod/db", "b", "s", "10.1.2.3", "x")),
        None,
        "another caller in the same range"
    );
    assert_eq!(
        marked_by(
            &rules,
            &read("prod/db", "a", "s", "lambda.amazonaws.com", "x")
        ),
        None
    );
    let single = rules_one_ip();
    assert_eq!(
        marked_by(&single, &read("prod/db", "a", "s", "192.0.2.7", "x")),
        Some(1)
    );
}

#[test]
fn a_vpc_endpoint_rule_matches_the_endpoint_the_read_came_through() {
    let rules = rules(
        r#"[{"secret": "prod/db", "vpc_endpoint": "vpce-0abc", "source_ip": "10.1.0.0/16", "reason": "r"}]"#,
    );
    let mut through = read("prod/db", "a", "s", "10.1.2.3", "x");
    assert_eq!(marked_by(&rules, &through), None, "no endpoint");
    through.vpc_endpoint_id = Some("vpce-0abc".into());
    assert_eq!(marked_by(&rules, &through), Some(1));
    through.vpc_endpoint_id = Some("vpce-0def".into());
    assert_eq!(marked_by(&rules, &through), None);
}

#[test]
fn an_address_alone_is_refused_when_the_rules_are_read() {
    for alone in [
        r#"[{"secret": "prod/db", "source_ip": "10.1.0.0/16", "reason": "r"}]"#,
        r#"[{"secret": "prod/db", "caller": "*", "source_ip": "10.1.0.0/16", "reason": "r"}]"#,
    ] {
        let error = ExpectedReaders::parse(alone).unwrap_err().to_string();
        assert!(
            error.contains("`source_ip` needs a `caller` or a `vpc_endpoint`"),
            "{error}"
        );
    }
}

fn rules_one_ip() -> ExpectedReaders {
    rules(
        r#"[{"secret": "prod/db", "caller": "*:role/a", "source_ip": "192.0.2.7", "reason": "a bare address is /32"}]"#,
    )
}

#[test]
fn every_condition_of_a_rule_must_hold() {
    let rules = rules(
        r#"[{"secret": "prod/db", "caller": "arn:aws:iam::*:role/etl", "source_ip": "10.0.0.0/8", "reason": "r"}]"#,
    );
    assert_eq!(
        marked_by(&rules, &read("prod/db", "etl", "s", "10.0.0.1", "x")),
        Some(1)
    );
    assert_eq!(
        marked_by(&rules, &read("prod/db", "etl", "s", "203.0.113.9", "x")),
        None
    );
}

#[test]
fn the_first_matching_rule_names_the_read() {
    let rules = rules(
        r#"[{"secret": "staging/*", "caller": "*", "reason": "first"},
            {"secret": "prod/*", "caller": "*:role/etl", "reason": "second"},
            {"secret": "prod/*", "caller": "*", "reason": "third"}]"#,
    );
    let matched = rules
        .matching(
            &SecretNames::of(
                &read("prod/db", "etl", "s", "10.0.0.1", "x").target,
                None,
                None,
            ),
            &read("prod/db", "etl", "s", "10.0.0.1", "x"),
            now(),
        )
        .unwrap();
    assert_eq!(matched.describe(), "rule 2 (second)");
}

#[test]
fn the_secret_glob_matches_the_looked_up_name_and_arn_too() {
    let rules = rules(
        r#"[{"secret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-*", "caller": "*", "reason": "r"}]"#,
    );
    let access = read("prod/db", "etl", "s", "10.0.0.1", "x");
    assert_eq!(marked_by(&rules, &access), None, "the record names no ARN");
    let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf";
    let names = SecretNames::of(&access.target, Some("prod/db"), Some(arn));
    assert!(rules.matching(&names, &access, now()).is_some());
    let by_name =
        ExpectedReaders::parse(r#"[{"secret": "prod/db", "caller": "*", "reason": "r"}]"#).unwrap();
    let named_by_arn = read(arn, "etl", "s", "10.0.0.1", "x");
    assert_eq!(
        marked_by(&by_name, &named_by_arn),
        Some(1),
        "the name an ARN holds"
    );
}

#[test]
fn a_rule_past_its_until_marks_nothing_and_is_told_once() {
    let rules = rules(
        r#"[{"secret": "prod/db", "caller": "*", "reason": "migration", "until": "2026-12-01T00:00:00Z"},
            {"secret": "prod/db", "caller": "*", "reason": "later", "until": "2027-01-01T00:00:00Z"}]"#,
    );
    let access = read("prod/db", "etl", "s", "10.0.0.1", "x");
    assert_eq!(
        marked_by(&rules, &access),
        Some(2),
        "the expired rule 1 is passed over"
    );
    let expired: Vec<usize> = rules
        .newly_expired(now())
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(expired, [1]);
    assert!(rules.newly_expired(now()).is_empty(), "once per process");
    let clone = rules.clone();
    assert!(
        clone.newly_expired(now()).is_empty(),
        "clones share what was told"
    );
    let later = now() + Duration::from_secs(40 * 86_400);
    let expired: Vec<usize> = rules
        .newly_expired(later)
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(
        expired,
        [2],
        "a rule that expires while the sandbox lives is told then"
    );
}

#[test]
fn an_invalid_rule_is_named_with_what_is_wrong() {
    for (json, says) in [
        ("not json", "rule 0"),
        (r#"{"secret": "x"}"#, "not a JSON list"),
        (
            r#"[{"secret": "prod/db", "reason": "r"}]"#,
            "at least one of `caller`",
        ),
        (
            r#"[{"secret": "*", "caller": "*", "reason": "r"}]"#,
            "`*` alone",
        ),
        (
            r#"[{"secret": "prod/db", "caller": "*", "reason": " "}]"#,
            "`reason` must say why",
        ),
        (
            r#"[{"secret": "prod/db", "caller": "*"}]"#,
            "missing field `reason`",
        ),
        (
            r#"[{"secret": "prod/db", "calller": "*", "reason": "r"}]"#,
            "unknown field `calller`",
        ),
        (
            r#"[{"secret": "prod/db", "caller": "*:role/a", "source_ip": "10.0.0.0/33", "reason": "r"}]"#,
            "not a CIDR",
        ),
        (
            r#"[{"secret": "prod/db", "caller": "[x", "reason": "r"}]"#,
            "`caller` is not a glob",
        ),
        (
            r#"[{"secret": "p", "caller": "*", "reason": "r", "until": "next week"}]"#,
            "not an RFC 3339",
        ),
        (
            r#"[{"secret": "p", "caller": "*", "reason": "r"}, {"secret": "p", "reason": "r"}]"#,
            "rule 2",
        ),
    ] {
        let error = ExpectedReaders::parse(json).unwrap_err().to_string();
        assert!(error.starts_with("EXPECTED_READERS"), "{error}");
        assert!(error.contains(says), "{json}: {error}");
    }
}

#[test]
fn no_rules_mark_nothing() {
    let none = ExpectedReaders::default();
    assert!(none.is_empty());
    assert_eq!(
        marked_by(&none, &read("prod/db", "etl", "s", "10.0.0.1", "x")),
        None
    );
    assert!(rules("[]").is_empty());
}
