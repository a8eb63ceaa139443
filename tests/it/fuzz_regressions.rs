//! Replays the fuzzer's seeds and every input it ever found a crash with (`fuzz/regressions/`)
//! through the same whole-path check the fuzz target runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/whole_path.rs"]
mod whole_path;

use std::path::Path;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"));
    found.sort();
    found
}

#[test]
fn the_samples_pass_the_whole_path() {
    let events = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("events"));
    assert!(events.len() >= 6);
    for path in events {
        whole_path::whole_path(&std::fs::read(&path).unwrap());
    }
}

#[test]
fn every_input_the_fuzzer_ever_crashed_on_passes_now() {
    for path in files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions")) {
        whole_path::whole_path(&std::fs::read(&path).unwrap());
    }
}
