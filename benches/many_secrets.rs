//! A batch whose 50 matches name 50 different secrets, published to a fake SNS on 127.0.0.1
//! that answers each Publish after 50 ms (the order of a real one), through the real SDK:
//! the invocation's wall time one secret after another (`MAX_CONCURRENT_SECRETS=1`, as before
//! the secrets were handled concurrently) and with the default bound. With `MOTO_ENDPOINT`
//! set, the same batch also runs against moto: 50 secrets scheduled for deletion there, each
//! looked up in Secrets Manager (DescribeSecret) and its alert published to an SNS topic.
//!
//! `cargo bench --bench many_secrets` prints one JSON object for `scripts/bench`; under
//! `cargo test --benches` it runs a small batch once, as a smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::config::Credentials;
use secret_deletion_alerts::aws::{SnsPublisher, secrets_manager};
use secret_deletion_alerts::config::{Config, DEFAULT_CONCURRENCY};
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, handle_batch};
use secret_deletion_alerts::logs::gzip_base64;
use secret_deletion_alerts::ports::{AlertPublisher, SecretInspector, SecretRestorer};
use secret_deletion_alerts::restore::RestorePolicy;

/// A fake SNS: one thread per connection, keep-alive, every request answered after `delay`.
/// It stops by itself after `lifetime`.
fn fake_sns(delay: Duration, lifetime: Duration) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + lifetime;
        while !stopped.load(Ordering::Relaxed) && Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => {
                    std::thread::spawn(move || serve(stream, delay, until));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    (address, stop)
}

fn serve(stream: TcpStream, delay: Duration, until: Instant) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while Instant::now() < until {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(delay);
        let xml = "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult>\
                   <MessageId>00000000-0000-4000-8000-000000000000</MessageId></PublishResult>\
                   <ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></PublishResponse>";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn batch(secrets: usize, prefix: &str) -> String {
    let events: Vec<serde_json::Value> = (0..secrets)
        .map(|i| {
            let record = serde_json::json!({
                "eventTime": "2026-11-20T14:03:12Z",
                "eventSource": "secretsmanager.amazonaws.com",
                "eventName": "GetSecretValue",
                "awsRegion": "us-east-1",
                "recipientAccountId": "123456789012",
                "errorCode": "InvalidRequestException",
                "errorMessage": "You can't perform this operation on the secret because it was marked for deletion.",
                "requestParameters": {"secretId": format!("{prefix}/secret-{i:03}")},
                "eventID": format!("00000000-0000-4000-8000-{i:012}"),
                "userIdentity": {"type": "IAMUser", "userName": "app",
                                 "arn": "arn:aws:iam::123456789012:user/app"}
            });
            serde_json::json!({"id": format!("{i:056}"), "timestamp": 1_795_132_800_000_i64, "message": record.to_string()})
        })
        .collect();
    let envelope = serde_json::json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "trail",
        "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events,
    });
    gzip_base64(envelope.to_string().as_bytes()).unwrap()
}

/// The wall time of one invocation over `data`, `concurrency` secrets at a time.
async fn invocation<P, S>(publisher: &P, secrets: &S, data: &str, concurrency: usize) -> Duration
where
    P: AlertPublisher + Sync,
    S: SecretInspector + SecretRestorer + Sync,
{
    let policy = RestorePolicy::Off;
    let options = BatchOptions {
        concurrency,
        ..BatchOptions::with_defaults(&policy, SystemTime::now())
    };
    let ports = Adapters::new(publisher, secrets);
    let started = Instant::now();
    let summary = handle_batch(data, &ports, &options).await.unwrap();
    assert_eq!(summary.alerts_undelivered, 0);
    started.elapsed()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (secrets, delay) = if measuring {
        (50, Duration::from_millis(50))
    } else {
        (5, Duration::from_millis(1))
    };
    let (endpoint, stop) = fake_sns(delay, Duration::from_secs(120));
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let publisher = SnsPublisher::new(&sdk, "arn:aws:sns:us-east-1:123456789012:alerts");
    let data = batch(secrets, "app");
    let dry_run = DryRunSecrets::default();
    // One warm-up, so both runs find the connection pool and the clients started.
    invocation(&publisher, &dry_run, &data, DEFAULT_CONCURRENCY).await;
    let sequential = invocation(&publisher, &dry_run, &data, 1).await;
    let concurrent = invocation(&publisher, &dry_run, &data, DEFAULT_CONCURRENCY).await;
    stop.store(true, Ordering::Relaxed);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let label = format!(
        "{secrets}-secret batch, fake SNS answering after {} ms",
        delay.as_millis()
    );
    let mut report = serde_json::json!({
        format!("{label}, one secret at a time (before)"): format!(
            "{:.0} ms ({:.1} ms a secret)", ms(sequential), ms(sequential) / secrets as f64),
        format!("{label}, {DEFAULT_CONCURRENCY} at a time (now)"): format!(
            "{:.0} ms ({:.1} ms a secret; slowest single publish >= {} ms)",
            ms(concurrent), ms(concurrent) / secrets as f64, delay.as_millis()),
    });
    if let Ok(moto) = std::env::var("MOTO_ENDPOINT") {
        let (sequential, concurrent) = against_moto(&moto, secrets).await;
        let label = format!("{secrets}-secret batch on moto (DescribeSecret and Publish each)");
        report[format!("{label}, one secret at a time")] = format!(
            "{:.0} ms ({:.1} ms a secret)",
            ms(sequential),
            ms(sequential) / secrets as f64
        )
        .into();
        report[format!("{label}, {DEFAULT_CONCURRENCY} at a time")] = format!(
            "{:.0} ms ({:.1} ms a secret)",
            ms(concurrent),
            ms(concurrent) / secrets as f64
        )
        .into();
    }
    if measuring {
        println!("{report}");
    } else {
        eprintln!("smoke run: {report}");
    }
}

/// The batch against moto: its secrets scheduled for deletion there, a fresh topic.
async fn against_moto(endpoint: &str, secrets: usize) -> (Duration, Duration) {
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let run = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("bench-{run}");
    let manager = aws_sdk_secretsmanager::Client::new(&sdk);
    for i in 0..secrets {
        let name = format!("{prefix}/secret-{i:03}");
        manager
            .create_secret()
            .name(&name)
            .secret_string("x")
            .send()
            .await
            .unwrap();
        manager
            .delete_secret()
            .secret_id(&name)
            .recovery_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name(prefix.replace('/', "-"))
        .send()
        .await
        .unwrap();
    let publisher = SnsPublisher::new(&sdk, topic.topic_arn().unwrap());
    let config = Config::from_lookup(|_| None).unwrap();
    let live = secrets_manager(&sdk, &config);
    let data = batch(secrets, &prefix);
    invocation(&publisher, &live, &data, DEFAULT_CONCURRENCY).await;
    let sequential = invocation(&publisher, &live, &data, 1).await;
    let concurrent = invocation(&publisher, &live, &data, DEFAULT_CONCURRENCY).await;
    (sequential, concurrent)
}
