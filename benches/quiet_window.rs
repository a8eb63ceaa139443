//! What one alert's window check costs: the pure decision (the rule on a stored window), and
//! the DynamoDB round trips against moto's server on 127.0.0.1 through the real SDK (a claim
//! that opens a window: one conditional write; a claim that is held back: the refused write
//! and the counting write; the confirmation after a publish).
//!
//! `cargo bench --bench quiet_window` prints one JSON object for `scripts/bench`, which starts
//! moto and sets `MOTO_ENDPOINT`; without it only the pure decision is measured. Under
//! `cargo test --benches` it runs a few iterations once, as a smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use secret_deletion_alerts::aws::dynamodb_windows::{AlertStateTable, create_table};
use secret_deletion_alerts::caller::CallerKey;
use secret_deletion_alerts::cloudtrail::{Attribution, Principal};
use secret_deletion_alerts::ports::AlertWindows;
use secret_deletion_alerts::restore::Severity;
use secret_deletion_alerts::window::{
    ReadId, WindowClaim, WindowKey, WindowVerdict, claimed, confirmed, decide, held,
};

fn claim(caller: &str, claim_key: &str, reads: &[&str], now: SystemTime) -> WindowClaim {
    let who = Attribution {
        principal: Principal::IamUser {
            user_name: Some(caller.to_owned()),
            arn: Some(format!("arn:aws:iam::123456789012:user/{caller}")),
        },
        access_key_id: None,
        access_key_kind: None,
        mfa_authenticated: None,
        invoked_by: None,
        account_id: Some("123456789012".into()),
        ec2_role_delivery: None,
    };
    WindowClaim {
        key: WindowKey {
            secret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
            caller: CallerKey::of(&who),
        },
        claim_key: claim_key.to_owned(),
        now,
        window: Duration::from_secs(3600),
        grace: Duration::from_secs(30),
        severity: Severity::High,
        deletion_date: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000)),
        outcome: "not_restored",
        reads: reads.iter().map(|r| ReadId::from_stored(r)).collect(),
    }
}

/// The rule on a delivered window holding `held_reads` reads, for a read `later` after its
/// alert: nanoseconds a decision (with the report a sent alert carries).
fn pure_decision(iterations: u32, held_reads: usize, later: Duration) -> f64 {
    let now = SystemTime::now();
    let first = claim("alice", "first", &["r0"], now);
    let mut stored = claimed(None, &first);
    confirmed(&mut stored, "first", now);
    let ids: Vec<String> = (0..held_reads).map(|i| format!("{i:016x}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    stored = held(stored, &claim("alice", "x", &ids, now).reads);
    let next = claim("alice", "next", &["ffff"], now + later);
    let started = Instant::now();
    for _ in 0..iterations {
        let decision = decide(black_box(Some(&stored)), black_box(&next));
        black_box(WindowVerdict::of(decision, Some(&stored), &next));
    }
    started.elapsed().as_nanos() as f64 / f64::from(iterations)
}

async fn fresh_table(sdk: &aws_config::SdkConfig) -> AlertStateTable {
    let name = format!("bench-alert-state-{}", std::process::id());
    let _ = aws_sdk_dynamodb::Client::new(sdk)
        .delete_table()
        .table_name(&name)
        .send()
        .await;
    create_table(sdk, &name).await.unwrap();
    AlertStateTable::new(sdk, &name)
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// Median milliseconds of an opening claim, a held-back claim and a confirmation.
async fn round_trips(endpoint: &str, iterations: usize) -> (f64, f64, f64) {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .load()
        .await;
    let table = fresh_table(&sdk).await;
    let now = SystemTime::now();
    let (mut opening, mut holding, mut confirming) = (Vec::new(), Vec::new(), Vec::new());
    // One caller per iteration, so each opening claim finds no window.
    for i in 0..=iterations {
        let caller = format!("caller-{i}");
        let first = claim(&caller, "first", &["r1"], now);
        let started = Instant::now();
        let verdict = table.claim(&first).await.unwrap();
        let opened = started.elapsed();
        assert!(matches!(verdict, WindowVerdict::Send { .. }));
        let started = Instant::now();
        table.confirm(&first.key, "first", now).await.unwrap();
        let confirmed = started.elapsed();
        let repeat = claim(&caller, "repeat", &["r2"], now + Duration::from_secs(60));
        let started = Instant::now();
        let verdict = table.claim(&repeat).await.unwrap();
        let held_back = started.elapsed();
        assert!(matches!(verdict, WindowVerdict::Held { .. }));
        // The first round warms the connection pool.
        if i > 0 {
            opening.push(opened);
            confirming.push(confirmed);
            holding.push(held_back);
        }
    }
    (
        median_ms(opening),
        median_ms(holding),
        median_ms(confirming),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let (decisions, trips) = if measuring {
        (1_000_000, 200)
    } else {
        (1_000, 3)
    };
    let mut report = serde_json::Map::new();
    let minute = Duration::from_secs(60);
    let two_hours = Duration::from_secs(7200);
    report.insert(
        "quiet window: the pure decision on a stored window".into(),
        format!(
            "held back {:.0} ns; window ended, counting 1 held read {:.0} ns, 1000 held reads {:.0} ns",
            pure_decision(decisions, 1, minute),
            pure_decision(decisions, 1, two_hours),
            pure_decision(decisions / 10, 1000, two_hours)
        )
        .into(),
    );
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if endpoint.starts_with("http://127.0.0.1:") => {
            let (opening, holding, confirming) = round_trips(&endpoint, trips).await;
            report.insert(
                "quiet window on DynamoDB (moto on 127.0.0.1, median)".into(),
                format!(
                    "claim that opens a window {opening:.2} ms (1 write); held back {holding:.2} ms \
                     (2 writes); confirm after publish {confirming:.2} ms"
                )
                .into(),
            );
        }
        _ => {
            report.insert(
                "quiet window on DynamoDB".into(),
                "not measured: MOTO_ENDPOINT is not set (scripts/bench sets it)".into(),
            );
        }
    }
    let report = serde_json::Value::Object(report);
    if measuring {
        println!("{report}");
    } else {
        eprintln!("smoke run: {report}");
    }
}
