//! The same question for Athena, for histories no single machine should scan: the SQL of the
//! rule over a CloudTrail table, and the `CREATE TABLE` with partition projection for a
//! trail's bucket, as the AWS guide "Querying AWS CloudTrail logs" creates it. Pure: text
//! from the rule's constants.

use std::time::SystemTime;

use crate::detection::{EVENT_NAME, EVENT_SOURCE, PENDING_DELETION_WORDINGS};

/// The regions the projected table covers by default: every commercial region at the time
/// of writing (a region CloudTrail never wrote to only costs an empty listing).
pub const DEFAULT_REGIONS: [&str; 33] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-west-1",
];

/// The rule as Athena SQL over `table`. With `partitioned`, the table is the projected one of
/// [`table_ddl`] and the time range also prunes its `timestamp` partitions (`yyyy/MM/dd`), so
/// Athena reads only those days.
pub fn athena_sql(
    table: &str,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    partitioned: bool,
) -> String {
    let wordings: Vec<String> = PENDING_DELETION_WORDINGS
        .iter()
        .map(|w| format!("errormessage LIKE '%{}%'", w.replace('\'', "''")))
        .collect();
    let mut sql = format!(
        "SELECT eventtime, recipientaccountid, awsregion,\n       \
         json_extract_scalar(requestparameters, '$.secretId') AS secret_id,\n       \
         useridentity.type, useridentity.arn, useridentity.accesskeyid,\n       \
         useridentity.sessioncontext.sessionissuer.arn AS role_arn,\n       \
         sourceipaddress, useragent, vpcendpointid, eventid, errormessage\n\
         FROM {table}\n\
         WHERE eventsource = '{EVENT_SOURCE}'\n  \
         AND eventname = '{EVENT_NAME}'\n  \
         AND ({})",
        wordings.join("\n       OR ")
    );
    if partitioned && (since.is_some() || until.is_some()) {
        // A day's partition holds the events CloudTrail delivered that day; the last day of
        // the range is included, and eventtime below trims to the exact range.
        let day = |t: SystemTime| {
            humantime::format_rfc3339_seconds(t)
                .to_string()
                .get(..10)
                .unwrap_or("")
                .replace('-', "/")
        };
        let from = since.map_or("1970/01/01".to_owned(), day);
        let to = until.map_or("9999/12/31".to_owned(), day);
        sql.push_str(&format!(
            "\n  AND \"timestamp\" BETWEEN '{from}' AND '{to}'"
        ));
    }
    if let Some(since) = since {
        sql.push_str(&format!(
            "\n  AND eventtime >= '{}'",
            humantime::format_rfc3339_seconds(since)
        ));
    }
    if let Some(until) = until {
        sql.push_str(&format!(
            "\n  AND eventtime < '{}'",
            humantime::format_rfc3339_seconds(until)
        ));
    }
    sql.push_str("\nORDER BY eventtime;");
    sql
}

/// Why a location cannot hold a trail's logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a trail's account prefix: give s3://BUCKET/[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/"
)]
pub struct NotATrailLocation(pub String);

/// `CREATE EXTERNAL TABLE` for the trail's logs under `location`
/// (`s3://BUCKET/[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/`), projected by region and day, so that
/// [`athena_sql`] with `partitioned` reads only the days it asks for.
pub fn table_ddl(
    table: &str,
    location: &str,
    regions: &[&str],
) -> Result<String, NotATrailLocation> {
    let trimmed = location.trim_end_matches('/');
    let account = trimmed.rsplit('/').next().unwrap_or("");
    let valid = trimmed.starts_with("s3://")
        && trimmed.contains("/AWSLogs/")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !trimmed.contains(['\'', '"', ' ', '\n']);
    if !valid {
        return Err(NotATrailLocation(location.to_owned()));
    }
    Ok(format!(
        r#"CREATE EXTERNAL TABLE {table} (
    eventversion STRING,
    useridentity STRUCT<
        type: STRING, principalid: STRING, arn: STRING, accountid: STRING,
        invokedby: STRING, accesskeyid: STRING, username: STRING,
        onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
            sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING,
                                  accountid: STRING, username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<federatedprovider: STRING, attributes: MAP<STRING, STRING>>,
            sourceidentity: STRING>>,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>,
    sessioncredentialfromconsole STRING
)
COMMENT 'CloudTrail logs of {location}, projected by region and day (secret-deletion-alerts)'
PARTITIONED BY (region STRING, `timestamp` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{trimmed}/CloudTrail/'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.region.type' = 'enum',
    'projection.region.values' = '{regions}',
    'projection.timestamp.type' = 'date',
    'projection.timestamp.format' = 'yyyy/MM/dd',
    'projection.timestamp.range' = '2013/01/01,NOW',
    'projection.timestamp.interval' = '1',
    'projection.timestamp.interval.unit' = 'DAYS',
    'storage.location.template' = '{trimmed}/CloudTrail/${{region}}/${{timestamp}}'
);"#,
        regions = regions.join(",")
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(text: &str) -> SystemTime {
        humantime::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn the_sql_asks_what_the_rule_asks() {
        let sql = athena_sql(
            "cloudtrail_logs",
            Some(at("2026-08-01T00:00:00Z")),
            None,
            false,
        );
        assert!(sql.contains("FROM cloudtrail_logs"));
        assert!(sql.contains(&format!("eventsource = '{EVENT_SOURCE}'")));
        assert!(sql.contains(&format!("eventname = '{EVENT_NAME}'")));
        for wording in PENDING_DELETION_WORDINGS {
            assert!(sql.contains(&format!("errormessage LIKE '%{wording}%'")));
        }
        assert!(sql.contains("eventtime >= '2026-08-01T00:00:00Z'"));
        assert!(
            !sql.contains("\"timestamp\""),
            "an unpartitioned table has no such column"
        );
    }

    #[test]
    fn on_the_projected_table_the_range_prunes_the_days() {
        let sql = athena_sql(
            "trail",
            Some(at("2026-08-01T10:00:00Z")),
            Some(at("2026-08-03T12:00:00Z")),
            true,
        );
        assert!(
            sql.contains("AND \"timestamp\" BETWEEN '2026/08/01' AND '2026/08/03'"),
            "{sql}"
        );
        assert!(sql.contains("eventtime < '2026-08-03T12:00:00Z'"));
        let open = athena_sql("trail", Some(at("2026-08-01T00:00:00Z")), None, true);
        assert!(
            open.contains("BETWEEN '2026/08/01' AND '9999/12/31'"),
            "{open}"
        );
    }

    #[test]
    fn the_ddl_projects_the_trail_layout_by_region_and_day() {
        let ddl = table_ddl(
            "cloudtrail_logs",
            "s3://trail-bucket/AWSLogs/o-abcdefghij/123456789012/",
            &["us-east-1", "eu-west-1"],
        )
        .unwrap();
        assert!(ddl.starts_with("CREATE EXTERNAL TABLE cloudtrail_logs ("));
        assert!(ddl.contains(
            "LOCATION 's3://trail-bucket/AWSLogs/o-abcdefghij/123456789012/CloudTrail/'"
        ));
        assert!(ddl.contains(
            "'storage.location.template' = 's3://trail-bucket/AWSLogs/o-abcdefghij/123456789012/CloudTrail/${region}/${timestamp}'"
        ));
        assert!(ddl.contains("'projection.region.values' = 'us-east-1,eu-west-1'"));
        assert!(ddl.contains("'projection.timestamp.format' = 'yyyy/MM/dd'"));
        // Every column the SQL reads is in the table.
        for column in [
            "eventsource",
            "eventname",
            "errormessage",
            "requestparameters",
            "recipientaccountid",
            "vpcendpointid",
            "sharedeventid",
        ] {
            assert!(ddl.contains(&format!("    {column} STRING")), "{column}");
        }
    }

    #[test]
    fn a_location_that_is_not_a_trails_account_prefix_is_refused() {
        for location in [
            "s3://bucket/",
            "s3://bucket/AWSLogs/",
            "s3://bucket/AWSLogs/12345/",
            "/local/AWSLogs/123456789012/",
            "s3://bucket/AWSLogs/123456789012' DROP/",
        ] {
            assert!(
                table_ddl("t", location, &DEFAULT_REGIONS).is_err(),
                "{location}"
            );
        }
    }
}
