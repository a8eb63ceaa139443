#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

fn in_range(since: &str, until: &str) -> ListingFilter {
    ListingFilter {
        range: TimeRange {
            since: Some(at(since)),
            until: Some(at(until)),
        },
        ..ListingFilter::default()
    }
}

const REGION: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/";

#[test]
fn an_s3_argument_is_a_bucket_and_a_folder() {
    let location = S3Location::parse("s3://trail-bucket/AWSLogs/123456789012").unwrap();
    assert_eq!(location.bucket, "trail-bucket");
    assert_eq!(
        location.prefix, "AWSLogs/123456789012/",
        "a folder, as aws s3 ls takes it"
    );
    assert_eq!(S3Location::parse("s3://trail-bucket").unwrap().prefix, "");
    let object = S3Location::parse("s3://b/x/1_CloudTrail_us-east-1_a.json.gz").unwrap();
    assert_eq!(object.prefix, "x/1_CloudTrail_us-east-1_a.json.gz");
    assert!(S3Location::parse("s3:///AWSLogs").is_err());
    assert!(S3Location::parse("/tmp/AWSLogs").is_err());
    assert_eq!(object.url_of("k"), "s3://b/k");
}

#[test]
fn a_time_range_lists_only_its_days_and_the_day_after_for_late_deliveries() {
    let filter = in_range("2026-08-30T10:00:00Z", "2026-09-01T23:00:00Z");
    assert_eq!(
        region_days(REGION, &filter),
        ["2026/08/30/", "2026/08/31/", "2026/09/01/", "2026/09/02/"]
            .iter()
            .map(|day| format!("{REGION}{day}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn without_a_start_a_region_is_listed_whole() {
    assert_eq!(
        region_days(REGION, &ListingFilter::default()),
        vec![REGION.to_owned()]
    );
}

#[test]
fn a_scan_starts_at_the_level_its_prefix_names() {
    let none = ListingFilter::default();
    assert_eq!(
        start("", &none),
        Step::Folders(Level::AboveAwsLogs { depth: 0 })
    );
    assert_eq!(
        start("trails/", &none),
        Step::Folders(Level::AboveAwsLogs { depth: 0 })
    );
    assert_eq!(start("AWSLogs/", &none), Step::Folders(Level::AwsLogs));
    assert_eq!(
        start("trails/AWSLogs/o-abcdefghij/", &none),
        Step::Folders(Level::Organization)
    );
    assert_eq!(
        start("AWSLogs/o-abcdefghij/123456789012/", &none),
        Step::Folders(Level::Account)
    );
    assert_eq!(
        start("AWSLogs/123456789012/CloudTrail/", &none),
        Step::Folders(Level::Service)
    );
    assert_eq!(start(REGION, &none), Step::Objects(vec![REGION.to_owned()]));
}

#[test]
fn a_prefix_inside_a_region_keeps_only_the_days_under_it() {
    let filter = in_range("2026-08-30T00:00:00Z", "2026-09-02T00:00:00Z");
    let month = format!("{REGION}2026/09/");
    assert_eq!(
        start(&month, &filter),
        Step::Objects(vec![
            format!("{REGION}2026/09/01/"),
            format!("{REGION}2026/09/02/"),
            format!("{REGION}2026/09/03/")
        ])
    );
    assert_eq!(
        start(&month, &ListingFilter::default()),
        Step::Objects(vec![month.clone()])
    );
}

#[test]
fn accounts_and_regions_filter_the_subtrees() {
    let filter = ListingFilter {
        accounts: vec!["111111111111".into()],
        regions: vec!["eu-west-1".into()],
        ..ListingFilter::default()
    };
    assert_eq!(
        child_level(Level::AwsLogs, "111111111111", &filter),
        Some(Level::Account)
    );
    assert_eq!(child_level(Level::AwsLogs, "222222222222", &filter), None);
    assert_eq!(
        child_level(Level::AwsLogs, "o-abcdefghij", &filter),
        Some(Level::Organization)
    );
    assert_eq!(
        child_level(Level::Organization, "111111111111", &filter),
        Some(Level::Account)
    );
    assert_eq!(child_level(Level::Service, "us-east-1", &filter), None);
    assert_eq!(
        child_level(Level::Service, "eu-west-1", &filter),
        Some(Level::Region)
    );
    assert_eq!(
        child_level(Level::Account, "CloudTrail", &filter),
        Some(Level::Service)
    );
    for other in ["CloudTrail-Digest", "CloudTrail-Insight", "Config"] {
        assert_eq!(child_level(Level::Account, other, &filter), None, "{other}");
    }
    assert_eq!(child_level(Level::AwsLogs, "not-an-account", &filter), None);
}

#[test]
fn the_search_for_aws_logs_goes_two_folders_deep() {
    let none = ListingFilter::default();
    let top = Level::AboveAwsLogs { depth: 0 };
    assert_eq!(child_level(top, "AWSLogs", &none), Some(Level::AwsLogs));
    assert_eq!(
        child_level(top, "trails", &none),
        Some(Level::AboveAwsLogs { depth: 1 })
    );
    assert_eq!(
        child_level(Level::AboveAwsLogs { depth: 2 }, "deeper", &none),
        None
    );
}

#[test]
fn digests_insights_and_the_writability_check_hold_no_records() {
    assert!(is_log_object(&format!(
        "{REGION}2026/08/01/123456789012_CloudTrail_us-east-1_20260801T0000Z_a.json.gz"
    )));
    for key in [
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/08/01/x_CloudTrail-Digest_us-east-1_t_20260801T0000Z.json.gz",
        "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2026/08/01/x.json.gz",
        "AWSLogs/123456789012/CloudTrail/ConfigWritabilityCheck",
        "AWSLogs/123456789012/CloudTrail/us-east-1/",
    ] {
        assert!(!is_log_object(key), "{key}");
    }
}

#[test]
fn a_trail_files_path_names_its_account_region_and_day() {
    let day = |account: &str, region: &str, day: &str| {
        Some(TrailDay {
            account: account.into(),
            region: region.into(),
            day: day.into(),
        })
    };
    assert_eq!(
        trail_day("/tmp/x/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01/a.json.gz"),
        day("123456789012", "us-east-1", "2026/11/01")
    );
    assert_eq!(
        trail_day("prefix/AWSLogs/o-abc123/210987654321/CloudTrail/eu-west-1/2026/12/05/f.json.gz"),
        day("210987654321", "eu-west-1", "2026/12/05")
    );
    for outside in [
        "exports/records.json",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01",
        "AWSLogs/12345/CloudTrail/us-east-1/2026/11/01/a.json.gz",
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/01/a.json.gz",
        "AWSLogs/123456789012/CloudTrail/not a region/2026/11/01/a.json.gz",
    ] {
        assert_eq!(trail_day(outside), None, "{outside}");
    }
}
