//! `scan s3://BUCKET[/PREFIX]`: a trail's bucket read in place. The listing follows the
//! trail's layout ([`trail_layout`]) down to the regions and lists only the days in range;
//! the objects are fetched a few at a time and scanned by one worker a core, small ones
//! inflated in one call, large ones as they stream in. An object that cannot be read is a
//! warning (exit status 2); a listing that fails stops the scan (exit status 1), since the
//! report could not say what it covered.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use secret_deletion_alerts::aws::s3_trail::{ListedObject, TrailBucket, TrailBucketError};
use secret_deletion_alerts::history::{
    Encoding, FileAnswer, HistoryReader, Question, is_gzip, scan_stream,
};
use secret_deletion_alerts::trail_layout::{
    Level, ListingFilter, S3Location, Step, child_level, is_log_object, region_days, start,
};
use tokio::sync::Semaphore;

use super::scan_report::{BucketCost, FileError, Progress, ScanReport};
use super::walk::{ScanOptions, WorkerMemory};

/// GetObject requests in flight at once.
pub(super) const FETCHES_IN_FLIGHT: usize = 8;
/// ListObjectsV2 listings of day folders in flight at once.
const LISTINGS_IN_FLIGHT: usize = 8;
/// An object up to this size is fetched whole and then inflated in one call; a larger one
/// is inflated as it streams in. Eight in flight hold at most 16 MiB.
const WHOLE_OBJECT_BYTES: u64 = 2 << 20;

/// Why a bucket scan stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum BucketScanError {
    #[error("cannot list {location}")]
    Listing {
        location: String,
        #[source]
        source: TrailBucketError,
    },
    #[error(
        "found no AWSLogs/ folder within {depth} folders under {0}; give the trail's prefix \
         (s3://BUCKET/PREFIX/AWSLogs/...), or drop --since, --account and --region to read \
         every object under it",
        depth = secret_deletion_alerts::trail_layout::MAX_PREFIX_DEPTH
    )]
    NoTrailLayout(String),
}

/// One object to read.
struct Target {
    bucket: String,
    object: ListedObject,
}

/// Lists and scans every location into `report`, putting `question` to every record.
pub(super) async fn scan_locations<Q: Question + Clone + Send + 'static>(
    question: &Q,
    bucket: &TrailBucket,
    locations: &[S3Location],
    filter: &ListingFilter,
    options: &ScanOptions,
    report: &mut ScanReport<Q::Answer>,
    kept: &'static str,
) -> Result<(), BucketScanError>
where
    Q::Answer: 'static,
{
    let mut cost = BucketCost::default();
    let listing_started = Instant::now();
    let mut targets = Vec::new();
    let mut seen = BTreeSet::new();
    for location in locations {
        for object in list_location(bucket, location, filter, options.progress).await? {
            cost.objects_listed += 1;
            if !is_log_object(&object.key) {
                cost.objects_passed_over += 1;
            } else if seen.insert((location.bucket.clone(), object.key.clone())) {
                targets.push(Target {
                    bucket: location.bucket.clone(),
                    object,
                });
            }
        }
    }
    cost.listing = listing_started.elapsed();
    cost.list_requests = bucket.list_requests();
    if options.progress {
        eprintln!();
    }

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let memory = WorkerMemory::for_workers(workers);
    let scanning = Arc::new(Semaphore::new(workers));
    let readers: Arc<Mutex<Vec<HistoryReader>>> = Arc::default();
    let progress = Progress::new(options.progress, targets.len(), "objects", kept);
    let mut outcomes = futures_util::stream::iter(targets)
        .map(|target| {
            let scanning = scanning.clone();
            let readers = readers.clone();
            async move {
                let name = format!("s3://{}/{}", target.bucket, target.object.key);
                let mut spent = Spent::default();
                let result = fetch_and_scan(
                    question, bucket, &target, &name, memory, &scanning, &readers, &mut spent,
                )
                .await;
                (name, target.object.size, result, spent)
            }
        })
        .buffer_unordered(FETCHES_IN_FLIGHT);
    while let Some((name, size, result, spent)) = outcomes.next().await {
        cost.fetching += spent.fetching;
        cost.scanning += spent.scanning;
        let result = result.map(|mut part| {
            question.finish_file(&mut part);
            part
        });
        report.add::<Q>(name, size, result, &progress);
    }
    progress.finish();
    report.bucket = Some(cost);
    Ok(())
}

/// The objects under one location, as the layout and the filter prune it.
async fn list_location(
    bucket: &TrailBucket,
    location: &S3Location,
    filter: &ListingFilter,
    progress: bool,
) -> Result<Vec<ListedObject>, BucketScanError> {
    let listing_error = |prefix: &str| {
        let url = location.url_of(prefix);
        move |source| BucketScanError::Listing {
            location: url,
            source,
        }
    };
    let mut object_prefixes = Vec::new();
    let mut folders = VecDeque::new();
    let starts_above = match start(&location.prefix, filter) {
        Step::Objects(prefixes) => {
            object_prefixes = prefixes;
            false
        }
        Step::Folders(level) => {
            folders.push_back((location.prefix.clone(), level));
            matches!(level, Level::AboveAwsLogs { .. })
        }
    };
    let mut found_aws_logs = false;
    while let Some((prefix, level)) = folders.pop_front() {
        let listing = bucket
            .list(&location.bucket, &prefix, true)
            .await
            .map_err(listing_error(&prefix))?;
        if progress {
            eprint!(
                "\rlisting {}: {} requests   ",
                location.url_of(""),
                bucket.list_requests()
            );
        }
        for folder in listing.folders {
            let name = folder
                .strip_prefix(prefix.as_str())
                .unwrap_or(&folder)
                .trim_end_matches('/');
            match child_level(level, name, filter) {
                Some(Level::Region) => object_prefixes.extend(region_days(&folder, filter)),
                Some(next) => {
                    found_aws_logs |= next == Level::AwsLogs;
                    folders.push_back((folder, next));
                }
                None => {}
            }
        }
    }
    if starts_above && !found_aws_logs {
        let unfiltered =
            filter.range.since.is_none() && filter.accounts.is_empty() && filter.regions.is_empty();
        if !unfiltered {
            return Err(BucketScanError::NoTrailLayout(
                location.url_of(&location.prefix),
            ));
        }
        object_prefixes.push(location.prefix.clone());
    }
    let listings: Vec<_> = futures_util::stream::iter(object_prefixes)
        .map(|prefix| async move {
            let listed = bucket.list(&location.bucket, &prefix, false).await;
            (prefix, listed)
        })
        .buffer_unordered(LISTINGS_IN_FLIGHT)
        .collect()
        .await;
    let mut objects = Vec::new();
    for (prefix, listed) in listings {
        objects.extend(listed.map_err(listing_error(&prefix))?.objects);
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    if objects.is_empty() {
        eprintln!(
            "warning: found no objects under {} (for the range, accounts and regions asked)",
            location.url_of(&location.prefix)
        );
    }
    Ok(objects)
}

/// Where one object's time went.
#[derive(Debug, Default)]
struct Spent {
    fetching: Duration,
    scanning: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn fetch_and_scan<Q: Question + Clone + Send + 'static>(
    question: &Q,
    bucket: &TrailBucket,
    target: &Target,
    name: &str,
    memory: WorkerMemory,
    scanning: &Semaphore,
    readers: &Arc<Mutex<Vec<HistoryReader>>>,
    spent: &mut Spent,
) -> Result<FileAnswer<Q::Answer>, FileError>
where
    Q::Answer: 'static,
{
    let started = Instant::now();
    let mut body = bucket.fetch(&target.bucket, &target.object.key).await?;
    if target.object.size <= WHOLE_OBJECT_BYTES {
        let mut bytes = Vec::with_capacity(usize::try_from(target.object.size).unwrap_or(0));
        body.read_to_end(&mut bytes).await?;
        spent.fetching = started.elapsed();
        let _worker = scanning.acquire().await;
        let scan_started = Instant::now();
        let readers = readers.clone();
        let name = name.to_owned();
        let question = question.clone();
        let part = tokio::task::spawn_blocking(move || {
            let mut reader = pop(&readers).unwrap_or_default();
            let part = reader
                .with_one_shot_limit(memory.decoded)
                .scan_bytes(&question, &bytes, &name);
            push(&readers, reader);
            part
        })
        .await
        .map_err(|e| FileError::Read(std::io::Error::other(e)))?;
        spent.scanning = scan_started.elapsed();
        return Ok(part?);
    }
    // Larger: inflate and scan on a worker thread as the chunks arrive.
    let _worker = scanning.acquire().await;
    let (chunks, received) = tokio::sync::mpsc::channel(4);
    let name = name.to_owned();
    let question = question.clone();
    let scan = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut buffered = BufReader::with_capacity(1 << 16, ChunkReader::new(received));
        let gzip = buffered.fill_buf().map(is_gzip).map_err(FileError::Read)?;
        let part = if gzip {
            let decoder = flate2::bufread::MultiGzDecoder::new(buffered);
            scan_stream(
                &question,
                BufReader::with_capacity(1 << 16, decoder),
                &name,
                Encoding::Gzip,
            )
        } else {
            scan_stream(&question, buffered, &name, Encoding::Plain)
        };
        Ok::<_, FileError>((part?, started.elapsed()))
    });
    loop {
        let chunk = body.next_chunk().await;
        let end = !matches!(chunk, Ok(Some(_)));
        // The scan stops early on bad data and drops its end: then stop fetching too.
        if chunks.send(chunk).await.is_err() || end {
            break;
        }
    }
    drop(chunks);
    spent.fetching = started.elapsed();
    let (part, scanning) = scan
        .await
        .map_err(|e| FileError::Read(std::io::Error::other(e)))??;
    spent.scanning = scanning;
    Ok(part)
}

fn pop(readers: &Mutex<Vec<HistoryReader>>) -> Option<HistoryReader> {
    readers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop()
}

fn push(readers: &Mutex<Vec<HistoryReader>>, reader: HistoryReader) {
    readers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(reader);
}

/// The chunks of a body, read on a worker thread as they arrive.
struct ChunkReader {
    received: tokio::sync::mpsc::Receiver<Result<Option<Vec<u8>>, TrailBucketError>>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChunkReader {
    fn new(
        received: tokio::sync::mpsc::Receiver<Result<Option<Vec<u8>>, TrailBucketError>>,
    ) -> Self {
        Self {
            received,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.received.blocking_recv() {
                Some(Ok(Some(chunk))) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Some(Ok(None)) | None => return Ok(0),
                Some(Err(error)) => return Err(std::io::Error::other(error)),
            }
        }
        let n = into.len().min(self.chunk.len() - self.at);
        into[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
