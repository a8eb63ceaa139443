//! Local files and directory trees for `scan`, in parallel (one worker a core), each worker
//! with its own [`HistoryReader`]: the I/O around the library's history readers. A file that
//! cannot be read is skipped with a warning and the scan goes on.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use secret_deletion_alerts::history::{
    Encoding, FileAnswer, HistoryReader, ONE_SHOT_MAX_BYTES, Question, TimeRange, is_gzip,
    scan_stream,
};

use secret_deletion_alerts::trail_layout::is_log_object;

use super::scan_report::{FileError, Progress, ScanReport};

#[derive(Debug, Clone, Default)]
pub(super) struct ScanOptions {
    /// `--since` and `--until` (or `check`'s window): what S3 listings are pruned to.
    pub range: TimeRange,
    /// Show a progress bar (files, bytes, findings, rate) on standard error.
    pub progress: bool,
}

/// How much one worker holds: what it inflates in one call, and what it reads whole first.
#[derive(Debug, Clone, Copy)]
pub(super) struct WorkerMemory {
    pub decoded: usize,
    pub stored: usize,
}

/// What all workers together may hold decompressed, so peak memory does not grow with the
/// number of cores (the README's target: under 64 MiB whatever the tree).
const DECODED_BUDGET: usize = 32 << 20;

impl WorkerMemory {
    pub fn for_workers(workers: usize) -> Self {
        let decoded = (DECODED_BUDGET / workers.max(1)).clamp(2 << 20, ONE_SHOT_MAX_BYTES);
        Self {
            decoded,
            stored: decoded / 4,
        }
    }
}

thread_local! {
    /// The worker's reader and the buffer its files are read into, kept from file to file.
    static WORKER: RefCell<(HistoryReader, Vec<u8>)> = RefCell::new((HistoryReader::default(), Vec::new()));
}

/// Scans files and directory trees into `report`, putting `question` to every record.
pub(super) fn scan_paths<Q: Question>(
    question: &Q,
    paths: &[PathBuf],
    options: &ScanOptions,
    report: &mut ScanReport<Q::Answer>,
    kept: &'static str,
) {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                match entry {
                    // A synced trail bucket holds digests beside the logs: not records.
                    Ok(entry)
                        if entry.file_type().is_file()
                            && is_log_object(&entry.path().to_string_lossy()) =>
                    {
                        files.push(entry.into_path());
                    }
                    Ok(_) => {}
                    Err(error) => report
                        .skipped
                        .push((path.display().to_string(), FileError::Walk(error))),
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    let memory = WorkerMemory::for_workers(rayon::current_num_threads());
    let progress = Progress::new(options.progress, files.len(), "files", kept);
    let merged = Mutex::new(std::mem::take(report));
    // One file a task: the files are of very different sizes, so no worker is left with a
    // long run of large ones while the other idles.
    files.par_iter().with_max_len(1).for_each(|path| {
        let (stored, result) = scan_file(question, path, memory);
        merged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .add::<Q>(path.display().to_string(), stored, result, &progress);
    });
    progress.finish();
    *report = merged
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
}

/// Reads one file of history, whatever its format, gzipped or not: whole when it is small
/// enough to hold, else streamed. Returns its size as stored.
fn scan_file<Q: Question>(
    question: &Q,
    path: &Path,
    memory: WorkerMemory,
) -> (u64, Result<FileAnswer<Q::Answer>, FileError>) {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => return (0, Err(FileError::Read(error))),
    };
    let stored = file.metadata().map_or(0, |m| m.len());
    let name = path.display().to_string();
    let result = if stored <= memory.stored as u64 {
        WORKER.with_borrow_mut(|(reader, buffer)| {
            let content =
                read_whole(&mut file, stored as usize, buffer).map_err(FileError::Read)?;
            let part = reader
                .with_one_shot_limit(memory.decoded)
                .scan_bytes(question, content, &name);
            if buffer.len() > memory.stored * 2 {
                *buffer = Vec::new();
            }
            Ok(part?)
        })
    } else {
        stream_file(question, &mut file, &name)
    };
    let result = result.map(|mut part| {
        question.finish_file(&mut part);
        part
    });
    (stored, result)
}

/// Reads a file of `size` bytes into the worker's buffer, in one call when it has not grown
/// since it was measured. The buffer keeps its length from file to file, so it is neither
/// zeroed again nor measured again by `read_to_end`.
fn read_whole<'b>(
    file: &mut std::fs::File,
    size: usize,
    buffer: &'b mut Vec<u8>,
) -> std::io::Result<&'b [u8]> {
    if buffer.len() < size {
        buffer.resize(size, 0);
    }
    file.read_exact(&mut buffer[..size])?;
    let mut probe = [0u8; 1];
    if file.read(&mut probe)? == 0 {
        return Ok(&buffer[..size]);
    }
    // It grew while we read it: take the rest too.
    buffer.truncate(size);
    buffer.push(probe[0]);
    file.read_to_end(buffer)?;
    Ok(&buffer[..])
}

fn stream_file<Q: Question>(
    question: &Q,
    file: &mut std::fs::File,
    name: &str,
) -> Result<FileAnswer<Q::Answer>, FileError> {
    file.rewind().map_err(FileError::Read)?;
    let mut buffered = BufReader::with_capacity(1 << 16, file);
    let gzip = is_gzip(buffered.fill_buf().map_err(FileError::Read)?);
    let part = if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
        scan_stream(
            question,
            BufReader::with_capacity(1 << 16, decoder),
            name,
            Encoding::Gzip,
        )
    } else {
        scan_stream(question, buffered, name, Encoding::Plain)
    };
    Ok(part?)
}
