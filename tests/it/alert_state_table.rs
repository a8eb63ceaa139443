//! The quiet window on DynamoDB: the adapter's conditional writes against moto's server on
//! 127.0.0.1, with the real SDK, running the same scenarios as the in-memory store
//! (`tests/it/quiet_window.rs`). `#[ignore]`d like the other emulator tests: `scripts/test`
//! starts moto and runs them. Each test makes its own table; the clock is the batch's
//! (`BatchOptions::now`), and nothing relies on moto expiring items (it never does).
//!
//! The race of two invocations for one window runs against a moto of its own that answers one
//! request at a time: DynamoDB applies a conditional write atomically per item, and moto's
//! usual threaded server does not (it reads, checks and writes without a lock), so two racing
//! claims could both win there for moto's sake, not ours.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use common::moto::{dead_endpoint, emulator, unique};
use common::windows;
use secret_deletion_alerts::aws::dynamodb_windows::{AlertStateTable, create_table};

/// A fresh table shaped as `template.yaml` makes it.
async fn fresh_table(sdk: &SdkConfig) -> AlertStateTable {
    let name = unique("alert-state");
    create_table(sdk, &name).await.unwrap();
    AlertStateTable::new(sdk, &name)
}

async fn table() -> AlertStateTable {
    let sdk = emulator().await.expect("the emulator");
    fresh_table(&sdk).await
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn same_caller_inside_the_window_alerts_once() {
    windows::same_caller_inside_the_window_alerts_once(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_second_caller_alerts_at_once() {
    windows::a_second_caller_alerts_at_once(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn after_the_window_the_alert_counts_what_was_held_back() {
    windows::after_the_window_the_alert_counts_what_was_held_back(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_failed_publish_then_its_retry_delivers() {
    windows::a_failed_publish_then_its_retry_delivers(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_retry_resends_only_what_was_not_delivered() {
    windows::a_retry_resends_only_what_was_not_delivered(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn escalation_to_critical_breaks_the_window() {
    windows::escalation_to_critical_breaks_the_window(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_new_deletion_breaks_the_window() {
    windows::a_new_deletion_breaks_the_window(&table().await).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_table_that_does_not_exist_alerts_as_without_one() {
    let Some(sdk) = emulator().await else { return };
    let missing = AlertStateTable::new(&sdk, &unique("no-such-table"));
    windows::an_unusable_store_alerts_as_without_one(&missing).await;
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn an_unreachable_table_alerts_as_without_one() {
    let nowhere = AlertStateTable::new(&dead_endpoint().await, "alert-state");
    windows::an_unusable_store_alerts_as_without_one(&nowhere).await;
}

/// What an insider with `dynamodb:UpdateItem` on the table can do to a window: move its claim
/// to the year 3000, or give it a severity the function never writes; marked delivered.
async fn plant(sdk: &SdkConfig, table: &str, attribute: &str, value: AttributeValue) {
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let items = client.scan().table_name(table).send().await.unwrap();
    for item in items.items() {
        client
            .update_item()
            .table_name(table)
            .key("pk", item["pk"].clone())
            .update_expression("SET #a = :v, #d = :t")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_names("#d", "delivered")
            .expression_attribute_values(":v", value.clone())
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_planted_window_never_holds_back_a_read_and_is_counted() {
    let sdk = emulator().await.expect("the emulator");
    for (attribute, value) in [
        ("claimed_at", AttributeValue::N("32503680000000".into())),
        ("severity", AttributeValue::N("0".into())),
        // Not here: a claim time of another type (`"soon"`). DynamoDB finds a comparison
        // across types false, so the claim is refused and the item read as corrupt; moto
        // 5.2 answers 500 instead (it compares a string with a number in Python).
    ] {
        let name = unique("alert-state");
        create_table(&sdk, &name).await.unwrap();
        let table = AlertStateTable::new(&sdk, &name);
        let corrupt = windows::after_a_planted_window(&table, || {
            plant(&sdk, &name, attribute, value.clone())
        })
        .await;
        assert_eq!(corrupt, 1, "{attribute} = {value:?}");
    }
}

#[tokio::test]
#[ignore = "needs moto's server: scripts/test runs it"]
async fn a_genuine_claim_still_holds_back_a_repeat() {
    windows::same_caller_inside_the_window_alerts_once(&table().await).await;
}

/// moto's server answering one request at a time, on a free port of 127.0.0.1, for as long as
/// this lives.
struct SerialMoto {
    child: std::process::Child,
    endpoint: String,
}

impl SerialMoto {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        let child = std::process::Command::new(python)
            .arg("-c")
            .arg(format!(
                "import moto.server as m, werkzeug.serving as w; \
                 w.run_simple('127.0.0.1', {port}, m.DomainDispatcherApplication(m.create_backend_app), \
                 threaded=False, request_handler=m.MotoRequestHandler)"
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("scripts/python-tools installs moto into .venv");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        SerialMoto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for SerialMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto in .venv: scripts/test runs it"]
async fn two_invocations_racing_for_one_window_on_dynamodb_have_one_winner() {
    let moto = SerialMoto::start();
    let sdk = common::moto::fake_endpoint(&moto.endpoint).await;
    for _ in 0..5 {
        windows::a_race_for_one_window_has_one_winner(&fresh_table(&sdk).await).await;
    }
}
