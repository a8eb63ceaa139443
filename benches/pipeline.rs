//! Throughput of each stage of the hot path, and end to end, on the synthetic payloads
//! (`cargo run --release --example synthesize` writes them; `scripts/bench` does both and
//! prints the table). Throughput is in bytes of decoded JSON, so every stage is comparable
//! with inflate, the ceiling.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark stops at broken input

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secret_deletion_alerts::alert::{Alert, Evidence, compose};
use secret_deletion_alerts::detection::scan_log_events;
use secret_deletion_alerts::dry_run::DryRunSecrets;
use secret_deletion_alerts::error::PublishError;
use secret_deletion_alerts::handler::{Adapters, BatchOptions, handle_batch};
use secret_deletion_alerts::logs::{
    Inflater, LogBatch, SubscriptionEvent, decode_base64, inflate_gzip, inflate_gzip_streaming,
};
use secret_deletion_alerts::ports::AlertPublisher;
use secret_deletion_alerts::restore::{RestoreDecision, RestorePolicy, SecretState, decide};

const PAYLOADS: [&str; 6] = [
    "typical-no-match",
    "typical-one-match",
    "full-no-match",
    "full-no-match-escape",
    "full-one-match",
    "full-twenty-matches",
];

/// Composes alerts and drops them: end to end without I/O.
struct DiscardPublisher;

#[async_trait::async_trait]
impl AlertPublisher for DiscardPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        black_box(alert.sns_message());
        Ok(())
    }

    async fn publish_scheduled(
        &self,
        alert: &secret_deletion_alerts::scheduled::ScheduledAlert,
    ) -> Result<(), PublishError> {
        black_box(&alert.sns_message);
        Ok(())
    }

    async fn publish_key_use(
        &self,
        alert: &secret_deletion_alerts::key_alert::KeyAlert,
    ) -> Result<(), PublishError> {
        black_box(&alert.sns_message);
        Ok(())
    }
}

/// flate2's default backend, miniz_oxide, at its fastest: one call into a buffer of the size
/// the gzip trailer gives (as the function does with libdeflate), then the CRC-32 check that
/// a gzip reader makes.
fn inflate_miniz_oxide(gzip: &[u8], output: &mut Vec<u8>) -> usize {
    let body = gzip_deflate_data(gzip).expect("a gzip stream");
    let trailer = &gzip[gzip.len() - 8..];
    output.resize(
        u32::from_le_bytes(trailer[4..].try_into().unwrap()) as usize,
        0,
    );
    let written = miniz_oxide::inflate::decompress_slice_iter_to_slice(
        output,
        std::iter::once(body),
        false,
        true,
    )
    .expect("deflate data");
    let crc = u32::from_le_bytes(trailer[..4].try_into().unwrap());
    assert_eq!(crc32fast::hash(&output[..written]), crc, "gzip CRC-32");
    written
}

/// The deflate data of a one-member gzip stream: after the header (RFC 1952: fixed 10 bytes,
/// then the optional extra field, name, comment and header CRC) and before the 8-byte trailer.
fn gzip_deflate_data(gzip: &[u8]) -> Option<&[u8]> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let flags = *gzip.get(3)?;
    let mut at = 10;
    if flags & FEXTRA != 0 {
        at += 2 + usize::from(u16::from_le_bytes([*gzip.get(at)?, *gzip.get(at + 1)?]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            at += gzip.get(at..)?.iter().position(|b| *b == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    gzip.get(at..gzip.len().checked_sub(8)?)
}

fn stages(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-payloads");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let policy = RestorePolicy::Off;
    let options = BatchOptions {
        account_id: Some("123456789012"),
        ..BatchOptions::with_defaults(&policy, SystemTime::now())
    };
    let mut inflater = Inflater::default();
    let secrets = DryRunSecrets::default();
    let ports = Adapters::new(&DiscardPublisher, &secrets);
    for name in PAYLOADS {
        let Ok(raw_event) = std::fs::read(dir.join(format!("{name}.json"))) else {
            eprintln!("skipping {name}: run `cargo run --release --example synthesize` first");
            continue;
        };
        let event = SubscriptionEvent::from_json(&raw_event).expect("a subscription event");
        let compressed = decode_base64(&event.awslogs.data).expect("base64");
        let decoded = inflate_gzip(&compressed, 8 << 20).expect("gzip");
        let batch = LogBatch::parse(&decoded).expect("envelope");

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(decoded.len() as u64));
        group.bench_function("lambda_event", |b| {
            b.iter(|| {
                SubscriptionEvent::from_json(black_box(&raw_event))
                    .map(|e| e.awslogs.data.as_bytes().len())
            })
        });
        group.bench_function("base64", |b| {
            b.iter(|| decode_base64(black_box(&event.awslogs.data)))
        });
        group.bench_function("inflate", |b| {
            b.iter(|| inflate_alone(&mut inflater, black_box(&compressed)))
        });
        group.bench_function("inflate_zlib_rs", |b| {
            b.iter(|| inflate_gzip_streaming(black_box(&compressed), 8 << 20))
        });
        let mut miniz_output = Vec::new();
        group.bench_function("inflate_miniz_oxide", |b| {
            b.iter(|| inflate_miniz_oxide(black_box(&compressed), &mut miniz_output))
        });
        // serde_json reads the envelope, then "detection" runs the pre-check on each message
        // and the rule on those that pass it.
        group.bench_function("envelope", |b| {
            b.iter(|| LogBatch::parse(black_box(&decoded)).map(|b| b.events().len()))
        });
        group.bench_function("detection", |b| {
            b.iter(|| scan_log_events(black_box(&batch)).matched)
        });
        // Composing the alert of a match (what one match adds besides its parse).
        let findings = scan_log_events(&batch);
        if let Some(attempts) = findings.by_secret.values().next() {
            let state = SecretState::DryRun;
            let evidence = Evidence::not_asked("a benchmark");
            let RestoreDecision::Skip(outcome) = decide(&policy, &state) else {
                unreachable!("a dry run never restores")
            };
            let context = options.alert_context(&batch.header.log_group);
            group.bench_function("compose_alert", |b| {
                b.iter(|| {
                    compose(
                        black_box(attempts),
                        &state,
                        &outcome,
                        &evidence,
                        None,
                        &context,
                    )
                    .subject
                })
            });
        }
        // The function's path: the Lambda event as `lambda_runtime` hands it over, read as
        // `function::run` reads it.
        let end_to_end = || {
            let event = SubscriptionEvent::from_json(black_box(&raw_event)).expect("event");
            runtime
                .block_on(handle_batch(&event.awslogs.data, &ports, &options))
                .expect("handled")
        };
        group.bench_function("end_to_end", |b| b.iter(end_to_end));
        group.bench_function("aws_lambda_events_decode", |b| {
            b.iter(|| {
                serde_json::from_slice::<aws_lambda_events::cloudwatch_logs::LogsEvent>(black_box(
                    &raw_event,
                ))
                .map(|e| e.aws_logs.data.log_events.len())
            })
        });
        group.finish();
        if FLOOR_PAYLOADS.contains(&name) {
            // `cargo test --benches` runs every bench once to see that it works; `cargo bench`
            // passes --bench.
            let benchmarking = std::env::args().any(|arg| arg == "--bench");
            let (rounds, calls_per_round) = if benchmarking { (201, 16) } else { (1, 1) };
            let floor = interleaved_floor(
                rounds,
                calls_per_round,
                || inflate_alone(&mut inflater, black_box(&compressed)),
                || {
                    black_box(end_to_end());
                },
            );
            if benchmarking {
                write_floor(name, &floor);
            }
        }
    }
}

/// The payloads timed against inflate alone: what a full batch costs end to end beside its
/// inflate (no match, one `\u` escape, twenty matching records). The old floor on the
/// no-match batch is retired: the subscription filter never delivers one.
const FLOOR_PAYLOADS: [&str; 3] = [
    "full-no-match",
    "full-no-match-escape",
    "full-twenty-matches",
];

/// One call of the inflate stage, its buffer reused between calls.
fn inflate_alone(inflater: &mut Inflater, compressed: &[u8]) {
    let decoded = inflater.inflate_gzip(compressed, 8 << 20).expect("gzip");
    inflater.recycle(decoded);
}

/// End to end against inflate alone, timed in alternating rounds so that both see the same
/// machine: criterion measures the two seconds apart, and on a shared machine the speed of
/// the core drifts by more than the margin of the target in that time.
struct Floor {
    rounds: usize,
    calls_per_round: usize,
    inflate_median: Duration,
    end_to_end_median: Duration,
    /// The median over rounds of (inflate time / end-to-end time) within the round.
    ratio_median: f64,
    ratio_quartiles: (f64, f64),
}

fn interleaved_floor(
    rounds: usize,
    calls_per_round: usize,
    mut inflate: impl FnMut(),
    mut end_to_end: impl FnMut(),
) -> Floor {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..calls_per_round {
            f();
        }
        start.elapsed() / calls_per_round as u32
    };
    let (mut inflates, mut ends, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Which goes first alternates, so neither always runs on the other's warm caches.
        let (i, e) = if round % 2 == 0 {
            let i = time(&mut inflate);
            (i, time(&mut end_to_end))
        } else {
            let e = time(&mut end_to_end);
            (time(&mut inflate), e)
        };
        inflates.push(i);
        ends.push(e);
        ratios.push(i.as_secs_f64() / e.as_secs_f64());
    }
    inflates.sort();
    ends.sort();
    ratios.sort_by(f64::total_cmp);
    Floor {
        rounds,
        calls_per_round,
        inflate_median: inflates[rounds / 2],
        end_to_end_median: ends[rounds / 2],
        ratio_median: ratios[rounds / 2],
        ratio_quartiles: (ratios[rounds / 4], ratios[rounds * 3 / 4]),
    }
}

/// target/bench-results/hot-path-PAYLOAD.json, which `bench/report.py` reads.
fn write_floor(payload: &str, floor: &Floor) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-results");
    let record = serde_json::json!({
        "payload": payload,
        "rounds": floor.rounds,
        "calls_per_round": floor.calls_per_round,
        "inflate_median_seconds": floor.inflate_median.as_secs_f64(),
        "end_to_end_median_seconds": floor.end_to_end_median.as_secs_f64(),
        "ratio_median": floor.ratio_median,
        "ratio_lower_quartile": floor.ratio_quartiles.0,
        "ratio_upper_quartile": floor.ratio_quartiles.1,
    });
    std::fs::create_dir_all(&dir).expect("target/bench-results");
    std::fs::write(
        dir.join(format!("hot-path-{payload}.json")),
        record.to_string(),
    )
    .expect("written");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = stages
}
criterion_main!(benches);
