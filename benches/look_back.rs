//! The look-back's limit, measured on the benchmark tree: libdeflate's one-shot inflate of
//! every file on one core (the files read into memory first), as `scripts/bench` divides the
//! scan's rate by it times the cores. Prints one JSON line: the tree's files, compressed and
//! decoded bytes, and the best of three inflate passes.
//! `cargo bench --bench look_back -- TREE`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

fn main() {
    let smoke = tempfile::tempdir().unwrap();
    let tree = if std::env::args().any(|a| a == "--bench") {
        std::env::args()
            .skip(1)
            .find(|a| !a.starts_with('-'))
            .unwrap_or_else(|| "target/bench-tree-v2".to_owned())
    } else {
        // `cargo test --benches`: three small files, as a smoke test.
        for n in 0..3 {
            let mut gzip =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut gzip, format!("{{\"Records\":[{n}]}}").as_bytes())
                .unwrap();
            std::fs::write(
                smoke.path().join(format!("{n}.json.gz")),
                gzip.finish().unwrap(),
            )
            .unwrap();
        }
        smoke.path().to_string_lossy().into_owned()
    };
    let files: Vec<Vec<u8>> = walkdir::WalkDir::new(&tree)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert!(!files.is_empty(), "no files under {tree}");
    let compressed: usize = files.iter().map(Vec::len).sum();
    let mut decompressor = libdeflater::Decompressor::new();
    let mut buffer = Vec::new();
    let mut best = f64::MAX;
    let mut precheck = f64::MAX;
    let mut decoded = 0;
    for _ in 0..3 {
        let started = Instant::now();
        decoded = 0;
        for file in &files {
            let mut size = [0u8; 4];
            size.copy_from_slice(&file[file.len() - 4..]);
            let size = u32::from_le_bytes(size) as usize;
            if buffer.len() < size {
                buffer.resize(size, 0);
            }
            decoded += decompressor
                .gzip_decompress(file, &mut buffer[..size])
                .unwrap();
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    // The whole-file pre-check alone, on each file decoded (not timed: the inflate).
    for _ in 0..3 {
        let mut spent = 0.0;
        for file in &files {
            let mut size = [0u8; 4];
            size.copy_from_slice(&file[file.len() - 4..]);
            let size = u32::from_le_bytes(size) as usize;
            let len = decompressor
                .gzip_decompress(file, &mut buffer[..size])
                .unwrap();
            let started = Instant::now();
            std::hint::black_box(secret_deletion_alerts::detection::may_match(&buffer[..len]));
            spent += started.elapsed().as_secs_f64();
        }
        precheck = precheck.min(spent);
    }
    println!(
        "{{\"files\": {}, \"compressed_bytes\": {compressed}, \"decoded_bytes\": {decoded}, \"inflate_seconds_one_core\": {best:.4}, \"precheck_seconds_one_core\": {precheck:.4}}}",
        files.len()
    );
}
