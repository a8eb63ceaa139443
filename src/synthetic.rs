//! Realistic, deterministic CloudTrail traffic for benchmarks, load tests and property tests.
//!
//! A seeded generator of records shaped like a real account's: many `AssumeRole`, `Decrypt`
//! and S3 reads, console and service events, successful `GetSecretValue` calls, with the
//! identity shapes real records carry, 1 to 3 KB each, plus pending-deletion reads at a chosen
//! rate. The random source is a SplitMix64 written out here so the same seed gives the same
//! bytes on every version and platform (benchmarks compare runs over time).

use serde_json::{Value, json};

/// SplitMix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }

    fn upper(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[self.below(32) as usize]))
            .collect()
    }

    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-8{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 4] = ["us-east-1", "us-east-1", "eu-west-1", "us-west-2"];
const AGENTS: [&str; 6] = [
    "aws-sdk-java/2.25.10 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_EC2 io/sync http/Apache cfg/retry-mode/legacy",
    "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.10.224-212.876.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.10",
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.79-99.164.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off md/command#secretsmanager.get-secret-value",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#arm64 api/secretsmanager#1.32.3",
    "aws-internal/3 aws-sdk-java/1.12.720 Linux/5.10.219-186.866.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard",
];

/// What kind of record to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Everyday traffic; never a pending-deletion read.
    Background,
    /// A `GetSecretValue` refused because the secret is pending deletion.
    PendingDeletionRead,
}

pub struct Traffic {
    rng: Rng,
    sequence: u64,
}

impl Traffic {
    pub fn new(seed: u64) -> Self {
        Traffic {
            rng: Rng::new(seed),
            sequence: 0,
        }
    }

    /// One record, as CloudTrail writes it to CloudWatch Logs (one JSON object per message).
    pub fn record(&mut self, kind: Kind) -> Value {
        self.sequence += 1;
        let second = self.sequence % 60;
        let minute = (self.sequence / 60) % 60;
        let time = format!("2026-11-20T14:{minute:02}:{second:02}Z");
        let region = *self.rng.pick(&REGIONS);
        let identity = self.identity();
        let agent = *self.rng.pick(&AGENTS);
        let mut record = match kind {
            Kind::PendingDeletionRead => self.get_secret_value(true),
            Kind::Background => match self.rng.below(100) {
                0..=29 => self.assume_role(),
                30..=49 => self.kms_decrypt(),
                50..=64 => self.s3_read(),
                65..=72 => self.get_secret_value(false),
                73..=80 => self.describe_instances(),
                81..=86 => self.console_login(),
                87..=93 => self.put_log_events(),
                _ => self.get_parameter(),
            },
        };
        let fields = record
            .as_object_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let mut full = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": time,
            "awsRegion": region,
            "sourceIPAddress": self.source_ip(),
            "userAgent": agent,
            "requestID": self.rng.uuid(),
            "eventID": self.rng.uuid(),
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        });
        if let Some(object) = full.as_object_mut() {
            object.extend(fields);
            if self.rng.below(3) > 0 {
                object.insert(
                    "tlsDetails".into(),
                    json!({
                        "tlsVersion": "TLSv1.3",
                        "cipherSuite": "TLS_AES_128_GCM_SHA256",
                        "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com",
                            object.get("eventSource").and_then(Value::as_str).unwrap_or("sts").split('.').next().unwrap_or("sts"))
                    }),
                );
            }
        }
        full
    }

    /// Records of about `decoded_bytes` in all, `matches` of them pending-deletion reads
    /// spread evenly through the batch.
    pub fn batch(&mut self, decoded_bytes: usize, matches: usize) -> Vec<String> {
        let mut records: Vec<String> = Vec::new();
        let mut size = 0;
        while size < decoded_bytes {
            let text = self.record(Kind::Background).to_string();
            size += text.len() + 80;
            records.push(text);
        }
        let step = records.len() / (matches + 1);
        for i in 0..matches.min(records.len()) {
            records[(i + 1) * step.max(1) - 1] = self.record(Kind::PendingDeletionRead).to_string();
        }
        records
    }

    fn identity(&mut self) -> Value {
        match self.rng.below(10) {
            0..=1 => {
                let user = self
                    .rng
                    .pick(&["alice", "bob", "ci-deployer", "reporting"])
                    .to_string();
                json!({"type": "IAMUser", "principalId": format!("AIDA{}", self.rng.upper(16)),
                       "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"), "accountId": ACCOUNT,
                       "accessKeyId": format!("AKIA{}", self.rng.upper(16)), "userName": user})
            }
            2..=7 => {
                let (role, session) = match self.rng.below(3) {
                    0 => (
                        "app-server-role".to_owned(),
                        format!("i-0{}", self.rng.hex(16)),
                    ),
                    1 => ("orders-api-lambda-role".to_owned(), "orders-api".to_owned()),
                    _ => (
                        "AWSReservedSSO_AdministratorAccess_0123456789abcdef".to_owned(),
                        self.rng
                            .pick(&["jane.doe@example.com", "raj.patel@example.com"])
                            .to_string(),
                    ),
                };
                let role_id = format!("AROA{}", self.rng.upper(16));
                json!({"type": "AssumedRole", "principalId": format!("{role_id}:{session}"),
                       "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
                       "accountId": ACCOUNT, "accessKeyId": format!("ASIA{}", self.rng.upper(16)),
                       "sessionContext": {
                           "sessionIssuer": {"type": "Role", "principalId": role_id,
                                             "arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
                                             "accountId": ACCOUNT, "userName": role},
                           "webIdFederationData": {},
                           "attributes": {"creationDate": "2026-11-20T13:00:00Z",
                                          "mfaAuthenticated": if self.rng.below(2) == 0 { "true" } else { "false" }}}})
            }
            _ => {
                let service = *self.rng.pick(&[
                    "ec2.amazonaws.com",
                    "lambda.amazonaws.com",
                    "cloudtrail.amazonaws.com",
                ]);
                json!({"type": "AWSService", "invokedBy": service})
            }
        }
    }

    fn source_ip(&mut self) -> String {
        match self.rng.below(5) {
            0 => "AWS Internal".to_owned(),
            1 => "lambda.amazonaws.com".to_owned(),
            _ => format!(
                "{}.{}.{}.{}",
                10 + self.rng.below(190),
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            ),
        }
    }

    fn get_secret_value(&mut self, pending_deletion: bool) -> Value {
        let secret = format!(
            "{}/{}",
            self.rng.pick(&["prod", "staging"]),
            self.rng.pick(&["db", "api-key", "ldap-bind", "stripe"])
        );
        let mut record = json!({
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "GetSecretValue",
            "requestParameters": {"secretId": secret},
            "responseElements": null,
            "resources": [{"accountId": ACCOUNT, "type": "AWS::SecretsManager::Secret",
                           "ARN": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{secret}-{}", self.rng.upper(6))}],
        });
        if pending_deletion {
            record["errorCode"] = "InvalidRequestException".into();
            record["errorMessage"] =
                "You can't perform this operation on the secret because it was marked for deletion.".into();
        }
        record
    }

    fn assume_role(&mut self) -> Value {
        let session = format!("i-0{}", self.rng.hex(16));
        json!({
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "requestParameters": {"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/app-server-role"),
                                  "roleSessionName": session, "durationSeconds": 3600},
            "responseElements": {
                "credentials": {"accessKeyId": format!("ASIA{}", self.rng.upper(16)),
                                "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", self.rng.upper(240)),
                                "expiration": "Nov 20, 2026, 3:00:00 PM"},
                "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", self.rng.upper(16)),
                                    "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/app-server-role/{session}")}},
            "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role",
                           "ARN": format!("arn:aws:iam::{ACCOUNT}:role/app-server-role")}],
            "sharedEventID": self.rng.uuid(),
        })
    }

    fn kms_decrypt(&mut self) -> Value {
        let key = self.rng.uuid();
        json!({
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                  "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders-api"),
                                                        "SecretARN": format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/db-{}", self.rng.upper(6))}},
            "responseElements": null,
            "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                           "ARN": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}")}],
        })
    }

    fn s3_read(&mut self) -> Value {
        let bucket = *self.rng.pick(&[
            "orders-data-123456789012",
            "app-config-prod",
            "analytics-raw",
        ]);
        json!({
            "eventSource": "s3.amazonaws.com",
            "eventName": *self.rng.pick(&["GetObject", "HeadObject", "ListObjectsV2", "GetBucketAcl"]),
            "requestParameters": {"bucketName": bucket, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com"),
                                  "key": format!("2026/11/20/part-{}.parquet", self.rng.hex(8))},
            "responseElements": null,
            "additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                    "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                    "x-amz-id-2": self.rng.upper(76), "bytesTransferredOut": self.rng.below(1 << 20)},
            "resources": [{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/2026/11/20/")},
                          {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}],
            "managementEvent": false,
            "eventCategory": "Data",
        })
    }

    fn describe_instances(&mut self) -> Value {
        json!({
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "requestParameters": {"instancesSet": {"items": [{"instanceId": format!("i-0{}", self.rng.hex(16))}]},
                                  "filterSet": {}, "includeAllInstances": false},
            "responseElements": null,
        })
    }

    fn console_login(&mut self) -> Value {
        json!({
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "eventType": "AwsConsoleSignIn",
            "readOnly": false,
            "requestParameters": null,
            "responseElements": {"ConsoleLogin": "Success"},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "Yes"},
        })
    }

    fn put_log_events(&mut self) -> Value {
        json!({
            "eventSource": "logs.amazonaws.com",
            "eventName": "CreateLogStream",
            "readOnly": false,
            "requestParameters": {"logGroupName": "/aws/lambda/orders-api",
                                  "logStreamName": format!("2026/11/20/[$LATEST]{}", self.rng.hex(32))},
            "responseElements": null,
        })
    }

    fn get_parameter(&mut self) -> Value {
        json!({
            "eventSource": "ssm.amazonaws.com",
            "eventName": "GetParameter",
            "requestParameters": {"name": "/orders/prod/feature-flags", "withDecryption": true},
            "responseElements": null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let a = Traffic::new(7).batch(20_000, 2);
        let b = Traffic::new(7).batch(20_000, 2);
        assert_eq!(a, b);
        assert_ne!(a, Traffic::new(8).batch(20_000, 2));
    }

    #[test]
    fn records_are_one_to_three_kilobytes() {
        let mut traffic = Traffic::new(1);
        for _ in 0..500 {
            let len = traffic.record(Kind::Background).to_string().len();
            assert!((500..=3_500).contains(&len), "{len}");
        }
    }
}
