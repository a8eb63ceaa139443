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
    // The columns a record is rebuilt from (`record_of_row`): the rows `scan --source
    // athena:` reads are put to the rule as any record is.
    let mut sql = format!(
        "SELECT {}\n\
         FROM {table}\n\
         WHERE eventsource = '{EVENT_SOURCE}'\n  \
         AND eventname = '{EVENT_NAME}'\n  \
         AND ({})",
        record_columns().join(",\n       "),
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

/// The columns `check` and `scan` read from a CloudTrail table, as `(expression, alias)`: what
/// [`record_of_row`] needs to rebuild the fields of a record the reads are classified by.
pub const CHECK_COLUMNS: [(&str, &str); 25] = [
    ("eventid", "eventID"),
    ("eventtime", "eventTime"),
    ("eventsource", "eventSource"),
    ("eventname", "eventName"),
    ("awsregion", "awsRegion"),
    ("recipientaccountid", "recipientAccountId"),
    ("sourceipaddress", "sourceIPAddress"),
    ("useragent", "userAgent"),
    ("errorcode", "errorCode"),
    ("errormessage", "errorMessage"),
    ("requestparameters", "requestParameters"),
    ("vpcendpointid", "vpcEndpointId"),
    ("sharedeventid", "sharedEventID"),
    (
        "sessioncredentialfromconsole",
        "sessionCredentialFromConsole",
    ),
    ("json_format(CAST(resources AS JSON))", "resources"),
    ("useridentity.type", "userIdentity.type"),
    ("useridentity.principalid", "userIdentity.principalId"),
    ("useridentity.arn", "userIdentity.arn"),
    ("useridentity.accountid", "userIdentity.accountId"),
    ("useridentity.accesskeyid", "userIdentity.accessKeyId"),
    ("useridentity.invokedby", "userIdentity.invokedBy"),
    ("useridentity.username", "userIdentity.userName"),
    (
        "useridentity.sessioncontext.sessionissuer.arn",
        "userIdentity.sessionContext.sessionIssuer.arn",
    ),
    (
        "useridentity.sessioncontext.sessionissuer.username",
        "userIdentity.sessionContext.sessionIssuer.userName",
    ),
    (
        "useridentity.sessioncontext.ec2roledelivery",
        "userIdentity.sessionContext.ec2RoleDelivery",
    ),
];

/// [`CHECK_COLUMNS`] as a SELECT list: each expression named as the record's field.
fn record_columns() -> Vec<String> {
    CHECK_COLUMNS
        .iter()
        .map(|(expression, alias)| format!("{expression} AS \"{alias}\""))
        .collect()
}

/// `check`'s question as Athena SQL over `table`: every `GetSecretValue` (successful or
/// refused) between `from` and `to` whose parameters or resources name one of `names`
/// (the exact match, by name, partial or full ARN and account, is made on the rows, as on
/// any other record). With `partitioned`, the days of the window prune the table's
/// `timestamp` partitions ([`table_ddl`]).
pub fn check_sql(
    table: &str,
    names: &[String],
    from: SystemTime,
    to: SystemTime,
    partitioned: bool,
) -> String {
    let columns = record_columns();
    let quoted = |text: &str| text.replace('\'', "''");
    let named: Vec<String> = names
        .iter()
        .map(|name| {
            format!(
                "strpos(requestparameters, '{0}') > 0 OR strpos(json_format(CAST(resources AS JSON)), '{0}') > 0",
                quoted(name)
            )
        })
        .collect();
    let time = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    let mut sql = format!(
        "SELECT {}\nFROM {table}\nWHERE eventsource = '{EVENT_SOURCE}'\n  AND eventname = '{EVENT_NAME}'\n  \
         AND eventtime >= '{}'\n  AND eventtime < '{}'\n  AND ({})",
        columns.join(",\n       "),
        time(from),
        time(to),
        if named.is_empty() {
            "false".to_owned()
        } else {
            named.join("\n       OR ")
        }
    );
    if partitioned {
        let day = |t: SystemTime| time(t).get(..10).unwrap_or("").replace('-', "/");
        sql.push_str(&format!(
            "\n  AND \"timestamp\" BETWEEN '{}' AND '{}'",
            day(from),
            day(to)
        ));
    }
    sql
}

/// One row of [`check_sql`]'s result, as the CloudTrail record it came from (the fields
/// [`CHECK_COLUMNS`] reads): `columns` are the result's column names, `row` its values
/// (`None`: SQL NULL). `requestParameters` and `resources` are JSON in the table.
pub fn record_of_row(columns: &[String], row: &[Option<String>]) -> String {
    let mut record = serde_json::Map::new();
    for (column, value) in columns.iter().zip(row) {
        let Some(value) = value else { continue };
        let value = match column.as_str() {
            "requestParameters" | "resources" => serde_json::from_str(value)
                .unwrap_or_else(|_| serde_json::Value::String(value.clone())),
            _ => serde_json::Value::String(value.clone()),
        };
        let path: Vec<&str> = column.split('.').collect();
        insert_at(&mut record, &path, value);
    }
    serde_json::Value::Object(record).to_string()
}

/// Puts `value` at the dotted `path` (`userIdentity.sessionContext.sessionIssuer.arn`).
fn insert_at(
    object: &mut serde_json::Map<String, serde_json::Value>,
    path: &[&str],
    value: serde_json::Value,
) {
    match path {
        [] => {}
        [leaf] => {
            object.insert((*leaf).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = object
                .entry((*first).to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if let Some(inner) = entry.as_object_mut() {
                insert_at(inner, rest, value);
            }
        }
    }
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

    #[test]
    fn checks_sql_asks_for_every_read_of_the_names_and_quotes_them() {
        let sql = check_sql(
            "cloudtrail_logs",
            &["prod/db".into(), "o'brien".into()],
            at("2026-09-01T00:00:00Z"),
            at("2026-12-01T00:00:00Z"),
            true,
        );
        assert!(sql.contains("eventname = 'GetSecretValue'"), "{sql}");
        assert!(
            !sql.contains("errormessage LIKE"),
            "successful reads count too: {sql}"
        );
        assert!(
            sql.contains("strpos(requestparameters, 'prod/db') > 0"),
            "{sql}"
        );
        assert!(sql.contains("'o''brien'"), "{sql}");
        assert!(sql.contains("eventtime >= '2026-09-01T00:00:00Z'"), "{sql}");
        assert!(
            sql.contains("\"timestamp\" BETWEEN '2026/09/01' AND '2026/12/01'"),
            "{sql}"
        );
        assert!(sql.contains("useridentity.sessioncontext.sessionissuer.arn AS \"userIdentity.sessionContext.sessionIssuer.arn\""));
    }

    #[test]
    fn a_row_becomes_the_record_it_came_from() {
        let columns: Vec<String> = CHECK_COLUMNS.iter().map(|(_, a)| (*a).to_owned()).collect();
        let mut row: Vec<Option<String>> = vec![None; columns.len()];
        let set = |row: &mut Vec<Option<String>>, alias: &str, value: &str| {
            let at = columns.iter().position(|c| c == alias).unwrap();
            row[at] = Some(value.to_owned());
        };
        set(&mut row, "eventID", "e-1");
        set(&mut row, "eventName", "GetSecretValue");
        set(&mut row, "requestParameters", r#"{"secretId":"prod/db"}"#);
        set(&mut row, "userIdentity.type", "AssumedRole");
        set(
            &mut row,
            "userIdentity.sessionContext.sessionIssuer.arn",
            "arn:aws:iam::123456789012:role/app",
        );
        let record: serde_json::Value =
            serde_json::from_str(&record_of_row(&columns, &row)).unwrap();
        assert_eq!(record["eventID"], "e-1");
        assert_eq!(record["requestParameters"]["secretId"], "prod/db");
        assert_eq!(record["userIdentity"]["type"], "AssumedRole");
        assert_eq!(
            record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
            "arn:aws:iam::123456789012:role/app"
        );
        assert!(
            record.get("errorMessage").is_none(),
            "NULL is absent, as in a record"
        );
    }
}
