//! moto's server on 127.0.0.1 for the emulator tests: the SDK configuration that reaches it,
//! and fresh names (moto keeps state between tests).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::SystemTime;

use aws_config::SdkConfig;
use secret_deletion_alerts::aws::sdk_config_loader;
use secret_deletion_alerts::config::Config;

/// The emulator's SDK configuration. `Option` so the tests read `let Some(sdk) = ...`; an
/// absent emulator fails the test, since it ran only because it was asked to.
pub async fn emulator() -> Option<SdkConfig> {
    let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") else {
        panic!(
            "no emulator: these tests need moto's server; scripts/test starts one and sets \
             MOTO_ENDPOINT (or start `moto_server -H 127.0.0.1 -p PORT` and set \
             MOTO_ENDPOINT=http://127.0.0.1:PORT)"
        );
    };
    // SAFETY of the test: the endpoint is loopback only.
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    Some(at_endpoint(&endpoint).await)
}

/// Our SDK configuration with its endpoint set in code (which wins over `AWS_ENDPOINT_URL`).
pub async fn at_endpoint(endpoint: &str) -> SdkConfig {
    test_loader().endpoint_url(endpoint).load().await
}

/// The function's configuration chain with short timeouts, for loopback endpoints.
fn test_loader() -> aws_config::ConfigLoader {
    let config = Config::from_lookup(|k| match k {
        "SDK_CONNECT_TIMEOUT_MS" => Some("1000".into()),
        "SDK_OPERATION_TIMEOUT_MS" => Some("8000".into()),
        _ => None,
    })
    .unwrap();
    sdk_config_loader(&config)
}

/// An endpoint on loopback that answers nothing: every connection is closed unread.
pub async fn dead_endpoint() -> SdkConfig {
    at_endpoint(&hang_up_endpoint()).await
}

/// `http://127.0.0.1:PORT` where a listener this process keeps closes every connection at
/// once. Held, not bound and dropped: a freed port can be taken by the next server a
/// parallel test starts (moto among them), which would then answer for the dead one.
pub fn hang_up_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            drop(connection);
        }
    });
    format!("http://{address}")
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An SDK configuration for a fake service on loopback: static test credentials and a
/// region, so nothing looks for real ones.
pub async fn fake_endpoint(endpoint: &str) -> SdkConfig {
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    test_loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .load()
        .await
}

/// Credentials for `account` from moto's STS: they act in that account (the role need not
/// exist).
pub async fn in_account(sdk: &SdkConfig, account: &str) -> SdkConfig {
    let provider =
        aws_config::sts::AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/setup"))
            .session_name("test-setup")
            .configure(sdk)
            .build()
            .await;
    sdk.to_builder()
        .credentials_provider(
            aws_sdk_secretsmanager::config::SharedCredentialsProvider::new(provider),
        )
        .build()
}
