//! Outages: SNS answering 500s or throttling, and an endpoint that accepts and never answers.
//! A small HTTP server on 127.0.0.1 plays the broken service; the real SDK talks to it.
//! Request loops are bounded in count and time, and the server stops by itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::{Region, SdkConfig};
use aws_sdk_sns::config::Credentials;
use common::{FakeSecrets, events_dir, options};
use secret_deletion_alerts::aws::{SnsPublisher, sdk_config_loader};
use secret_deletion_alerts::config::Config;
use secret_deletion_alerts::error::HandlerError;
use secret_deletion_alerts::handler::{Adapters, handle_batch};
use secret_deletion_alerts::logs::SubscriptionEvent;
use secret_deletion_alerts::restore::RestorePolicy;

/// How the fake service behaves.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer every request with this status and SNS error code.
    Fail(u16, &'static str),
    /// Accept, read, and never answer.
    Hang,
}

struct FakeService {
    address: String,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeService {
    fn start(behaviour: Behaviour) -> FakeService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut held: Vec<TcpStream> = Vec::new();
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline && held.len() < 50 {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(5)))
                            .unwrap();
                        if read_request(&mut stream).is_none() {
                            continue;
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        match behaviour {
                            Behaviour::Fail(status, code) => respond(&mut stream, status, code),
                            Behaviour::Hang => held.push(stream),
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeService {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FakeService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP request (headers and a Content-Length body).
fn read_request(stream: &mut TcpStream) -> Option<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buffer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Some(());
            }
        }
    }
}

fn respond(stream: &mut TcpStream, status: u16, code: &str) {
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Receiver</Type>\
         <Code>{code}</Code><Message>the fake service says no</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
    );
    let response = format!(
        "HTTP/1.1 {status} Error\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

async fn sdk_at(endpoint: &str, operation_timeout_ms: &str) -> SdkConfig {
    let config = Config::from_lookup(|k| match k {
        "SDK_CONNECT_TIMEOUT_MS" => Some("1000".into()),
        "SDK_OPERATION_TIMEOUT_MS" => Some(operation_timeout_ms.into()),
        _ => None,
    })
    .unwrap();
    sdk_config_loader(&config)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await
}

async fn publish_sample(sdk: &SdkConfig) -> HandlerError {
    let bytes = std::fs::read(events_dir().join("mixed-batch.json")).unwrap();
    let data = SubscriptionEvent::from_json(&bytes).unwrap().awslogs.data;
    let publisher = SnsPublisher::new(sdk, "arn:aws:sns:us-east-1:123456789012:alerts");
    let secrets = FakeSecrets::default();
    let ports = Adapters::new(&publisher, &secrets);
    let policy = RestorePolicy::Off;
    handle_batch(&data, &ports, &options(&policy))
        .await
        .expect_err("SNS is down")
}

#[tokio::test]
async fn sns_answering_500_is_retried_then_the_invocation_fails_naming_the_events() {
    let service = FakeService::start(Behaviour::Fail(500, "InternalError"));
    let sdk = sdk_at(&service.address, "20000").await;
    let error = publish_sample(&sdk).await;
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(
        matches!(
            error,
            HandlerError::Undelivered {
                failed: 2,
                total: 2,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("; delivered: none)"), "{message}");
    assert!(message.contains("InternalError"), "{message}");
    assert!(
        message.contains("22222222-0000-4000-8000-000000000030"),
        "{message}"
    );
    // Three attempts (the standard retry mode) for each of the two alerts.
    assert_eq!(service.requests(), 6);
}

#[tokio::test]
async fn sns_throttling_is_retried_with_backoff_then_fails_cleanly() {
    let service = FakeService::start(Behaviour::Fail(400, "Throttling"));
    let sdk = sdk_at(&service.address, "20000").await;
    let error = publish_sample(&sdk).await;
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(message.contains("Throttling"), "{message}");
    assert_eq!(service.requests(), 6);
}

#[tokio::test]
async fn a_hung_service_fails_the_invocation_at_the_operation_timeout() {
    let service = FakeService::start(Behaviour::Hang);
    let sdk = sdk_at(&service.address, "1500").await;
    let started = Instant::now();
    let error = publish_sample(&sdk).await;
    let message = secret_deletion_alerts::error::Chain(&error).to_string();
    assert!(message.contains("timeout"), "{message}");
    assert!(service.requests() >= 1);
    // A bound on hanging (not a speed check): two alerts, each capped by the 1.5 s timeout.
    assert!(started.elapsed() < Duration::from_secs(30));
}
