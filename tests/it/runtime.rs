//! The binary in Lambda mode, against a fake Lambda Runtime API on 127.0.0.1: the wiring in
//! `main.rs` (configuration, clients, the runtime loop, the response, the error, the metric).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::events_dir;

/// What the function answered for one invocation.
#[derive(Debug)]
struct Answer {
    path: String,
    body: serde_json::Value,
}

fn read_http(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((request_line, body))
}

/// Serves `events` one by one to the runtime at `listener` and collects its answers.
fn serve(listener: &TcpListener, child: &mut Child, events: &[Vec<u8>]) -> Vec<Answer> {
    let deadline = Instant::now() + Duration::from_secs(60);
    listener.set_nonblocking(true).unwrap();
    let mut answers = Vec::new();
    let mut next = 0;
    while answers.len() < events.len() && Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the function exited: {status}");
        }
        let Ok((mut stream, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let Some((request_line, body)) = read_http(&mut stream) else {
            continue;
        };
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let response = if path.ends_with("/invocation/next") && next < events.len() {
            let event = &events[next];
            next += 1;
            let deadline_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: request-{next}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:sda\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
                 Connection: close\r\n\r\n",
                event.len()
            )
            .into_bytes();
            head.extend_from_slice(event);
            head
        } else if path.contains("/invocation/") {
            answers.push(Answer {
                path,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            });
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_vec()
        } else {
            // Nothing more to hand out: let the runtime wait on a dropped connection.
            continue;
        };
        let _ = stream.write_all(&response);
    }
    answers
}

/// The deployed artifact, and the command line, which runs the same function in Lambda.
const BOTH_BINARIES: [&str; 2] = [
    env!("CARGO_BIN_EXE_bootstrap"),
    env!("CARGO_BIN_EXE_secret-deletion-alerts"),
];

/// Starts `bootstrap`, the binary `sam build` ships.
fn start_function(runtime_api: &str, extra_env: &[(&str, &str)]) -> Child {
    start_binary(BOTH_BINARIES[0], runtime_api, extra_env)
}

fn start_binary(binary: &str, runtime_api: &str, extra_env: &[(&str, &str)]) -> Child {
    let dead_endpoint = common::moto::hang_up_endpoint();
    let mut command = Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "sda")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env(
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Nothing listens there: a publish fails fast, and nothing leaves this machine.
        .env("AWS_ENDPOINT_URL", &dead_endpoint)
        .env("SDK_OPERATION_TIMEOUT_MS", "3000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

fn event_file(name: &str) -> Vec<u8> {
    std::fs::read(events_dir().join(name)).unwrap()
}

#[test]
fn in_lambda_the_function_answers_each_invocation_and_emits_the_metric() {
    for binary in BOTH_BINARIES {
        answers_each_invocation_and_emits_the_metric(binary);
    }
}

fn answers_each_invocation_and_emits_the_metric(binary: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let mut child = start_binary(binary, &api, &[]);
    let events = [
        event_file("near-misses.json"),
        event_file("control-message.json"),
        br#"{"awslogs":{"data":"not base64!"}}"#.to_vec(),
        event_file("iam-user-pending-deletion.json"),
    ];
    let answers = serve(&listener, &mut child, &events);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(answers.len(), 4, "{answers:?}\n{stdout}");

    assert!(
        answers[0].path.ends_with("/request-1/response"),
        "{:?}",
        answers[0]
    );
    assert_eq!(answers[0].body["records"], 6);
    assert_eq!(answers[0].body["matched"], 0);
    assert_eq!(answers[1].body["message_type"], "CONTROL_MESSAGE");

    // A corrupt payload and an undeliverable alert fail the invocation: Lambda retries them.
    assert!(
        answers[2].path.ends_with("/request-3/error"),
        "{:?}",
        answers[2]
    );
    let message = answers[2].body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("awslogs.data is not valid base64"),
        "{message}"
    );
    assert!(
        answers[3].path.ends_with("/request-4/error"),
        "{:?}",
        answers[3]
    );
    let message = answers[3].body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("could not publish the alert for secret prod/db"),
        "{message}"
    );

    // One Embedded Metric Format line per batch read, delivered or not, on stdout: the metric
    // must not vanish exactly when SNS is down.
    let metrics: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(metrics.len(), 3, "{stdout}");
    assert_eq!(metrics[0]["AttemptsToAccessDeletedSecrets"], 0);
    assert_eq!(metrics[2]["AttemptsToAccessDeletedSecrets"], 1);
    assert_eq!(metrics[2]["AlertsDelivered"], 0);
    assert_eq!(metrics[2]["AlertsUndelivered"], 1);
}

#[test]
fn a_bad_configuration_stops_the_function_at_start_naming_the_variable() {
    for (variable, value) in [("RESTORE_MODE", "sometimes"), ("ALERT_WINDOW", "an hour")] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let child = start_function(&api, &[(variable, value)]);
        let output = child.wait_with_output().unwrap();
        assert!(!output.status.success());
        let logs = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            logs.contains(&format!("{variable}=\\\"{value}\\\" is not valid"))
                || logs.contains(&format!("{variable}=\"{value}\" is not valid")),
            "{logs}"
        );
    }
}

#[test]
fn an_invalid_expected_readers_rule_stops_the_function_at_start_naming_the_rule() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let rules = r#"[{"secret": "prod/*", "caller": "*:role/etl", "reason": "ETL"},
                    {"secret": "prod/db", "reason": "no reader named"}]"#;
    let child = start_function(&api, &[("EXPECTED_READERS", rules)]);
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("EXPECTED_READERS: rule 2 is not valid: a rule needs at least one of `caller`, `workload` or `vpc_endpoint`"),
        "{logs}"
    );
    assert!(
        logs.contains("no reader named"),
        "the rule is shown: {logs}"
    );
}

/// The deployed wiring end to end: the binary in Lambda mode with the template's settings
/// (a topic, the alert state table) against moto's server. Two batches of one caller: the
/// first alerts, the second is held back by the quiet window.
#[test]
#[ignore = "needs moto's server: scripts/test runs it"]
fn in_lambda_with_the_alert_state_table_a_second_batch_of_one_caller_is_held_back() {
    let moto = std::env::var("MOTO_ENDPOINT").expect("scripts/test sets MOTO_ENDPOINT");
    assert!(moto.starts_with("http://127.0.0.1:"), "{moto}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = common::moto::unique("runtime-alert-state");
    let topic = runtime.block_on(async {
        let sdk = common::moto::at_endpoint(&moto).await;
        secret_deletion_alerts::aws::dynamodb_windows::create_table(&sdk, &table)
            .await
            .unwrap();
        aws_sdk_sns::Client::new(&sdk)
            .create_topic()
            .name(common::moto::unique("runtime-alerts"))
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_owned()
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let mut child = start_function(
        &api,
        &[
            ("AWS_ENDPOINT_URL", &moto),
            ("ALERT_TOPIC_ARN", &topic),
            ("ALERT_STATE_TABLE", &table),
            ("ALERT_WINDOW", "1h"),
        ],
    );
    let first = event_file("iam-user-pending-deletion.json");
    let records = common::windows::records_by("alice", "prod/db", &[&common::moto::unique("ev")]);
    let second = serde_json::to_vec(
        &secret_deletion_alerts::logs::encode_records(&records.to_string(), "g").unwrap(),
    )
    .unwrap();
    let answers = serve(&listener, &mut child, &[first, second]);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(answers.len(), 2, "{answers:?}\n{stdout}");
    assert!(answers[0].path.ends_with("/response"), "{:?}", answers[0]);
    assert_eq!(answers[0].body["alerts_published"], 1, "{:?}", answers[0]);
    assert_eq!(answers[1].body["alerts_published"], 0, "{:?}", answers[1]);
    assert_eq!(answers[1].body["alerts_suppressed"], 1, "{:?}", answers[1]);
    let metrics: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(metrics[1]["AlertsSuppressed"], 1, "{stdout}");
}
