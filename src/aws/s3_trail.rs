//! A trail's S3 bucket read in place, for `scan s3://...`: the two calls a look-back makes,
//! `ListObjectsV2` (a folder's folders, or every object under a prefix; every page) and
//! `GetObject` (the body as it streams in). It counts its listing requests so the report,
//! and the tests, can say what a scan cost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use crate::error::Chain;

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
}

/// What one listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The folders directly under the prefix (a delimited listing), each ending with `/`.
    pub folders: Vec<String>,
    pub objects: Vec<ListedObject>,
}

/// Why S3 did not answer as asked.
#[derive(Debug, thiserror::Error)]
pub enum TrailBucketError {
    #[error("the bucket {0} does not exist")]
    NoSuchBucket(String),
    #[error("no such object")]
    NoSuchKey,
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    /// No answer: no credentials, no network, a timeout. `Chain` of the SDK's error.
    #[error("{0}")]
    Unreachable(String),
    #[error("the body broke off: {0}")]
    Body(String),
}

/// ListObjectsV2 and GetObject on the configured account's S3, each bucket asked in its own
/// region (an organization trail's bucket usually lives in another account and region).
pub struct TrailBucket {
    client: aws_sdk_s3::Client,
    /// The client of each bucket, once its region is known.
    by_bucket: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    list_requests: AtomicUsize,
}

impl TrailBucket {
    pub fn new(sdk_config: &SdkConfig) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk_config);
        // An endpoint of one's own (AWS_ENDPOINT_URL: an emulator, a VPC endpoint by IP)
        // has no bucket subdomains: address buckets by path there.
        if sdk_config.endpoint_url().is_some() {
            s3 = s3.force_path_style(true);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(s3.build()),
            by_bucket: Mutex::new(HashMap::new()),
            list_requests: AtomicUsize::new(0),
        }
    }

    /// The client for `bucket`: HeadBucket (allowed by `s3:ListBucket`) tells its region,
    /// in its answer or in the redirect S3 sends from any other region.
    async fn client_for(&self, bucket: &str) -> Result<aws_sdk_s3::Client, TrailBucketError> {
        if let Some(client) = self.lock().get(bucket) {
            return Ok(client.clone());
        }
        let region = match self.client.head_bucket().bucket(bucket).send().await {
            Ok(output) => output.bucket_region().map(str::to_owned),
            Err(SdkError::ServiceError(service)) => {
                if service.raw().status().as_u16() == 404 {
                    return Err(TrailBucketError::NoSuchBucket(bucket.to_owned()));
                }
                service
                    .raw()
                    .headers()
                    .get("x-amz-bucket-region")
                    .map(str::to_owned)
            }
            Err(other) => return Err(rejected_or_unreachable(other)),
        };
        let configured = self.client.config().region().map(|r| r.as_ref().to_owned());
        let client = match region {
            Some(region) if Some(&region) != configured.as_ref() => {
                let config = self
                    .client
                    .config()
                    .to_builder()
                    .region(aws_sdk_s3::config::Region::new(region))
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            }
            _ => self.client.clone(),
        };
        self.lock().insert(bucket.to_owned(), client.clone());
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, aws_sdk_s3::Client>> {
        self.by_bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// ListObjectsV2 requests made so far (one a page).
    pub fn list_requests(&self) -> usize {
        self.list_requests.load(Ordering::Relaxed)
    }

    /// The folders and objects directly under `prefix` (`delimited`), or every object under
    /// it; through every page.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimited: bool,
    ) -> Result<Listing, TrailBucketError> {
        let mut pages = self
            .client_for(bucket)
            .await?
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_delimiter(delimited.then(|| "/".to_owned()))
            .into_paginator()
            .send();
        let mut listing = Listing::default();
        while let Some(page) = pages.next().await {
            self.list_requests.fetch_add(1, Ordering::Relaxed);
            let page = page.map_err(|error| match error {
                SdkError::ServiceError(service) if service.err().is_no_such_bucket() => {
                    TrailBucketError::NoSuchBucket(bucket.to_owned())
                }
                other => rejected_or_unreachable(other),
            })?;
            listing.folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            listing
                .objects
                .extend(page.contents().iter().filter_map(|object| {
                    Some(ListedObject {
                        key: object.key()?.to_owned(),
                        size: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                    })
                }));
        }
        Ok(listing)
    }

    /// Starts reading an object; its body comes chunk by chunk from [`ObjectBody::next_chunk`].
    pub async fn fetch(&self, bucket: &str, key: &str) -> Result<ObjectBody, TrailBucketError> {
        let client = self.client_for(bucket).await?;
        match client.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => Ok(ObjectBody(output.body)),
            Err(SdkError::ServiceError(service)) if service.err().is_no_such_key() => {
                Err(TrailBucketError::NoSuchKey)
            }
            Err(other) => Err(rejected_or_unreachable(other)),
        }
    }
}

/// An object's body as it arrives.
pub struct ObjectBody(ByteStream);

impl ObjectBody {
    /// The next chunk, or `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, TrailBucketError> {
        match self.0.next().await {
            Some(Ok(chunk)) => Ok(Some(chunk.to_vec())),
            Some(Err(error)) => Err(TrailBucketError::Body(Chain(&error).to_string())),
            None => Ok(None),
        }
    }

    /// The whole body, appended to `into`.
    pub async fn read_to_end(&mut self, into: &mut Vec<u8>) -> Result<(), TrailBucketError> {
        while let Some(chunk) = self.0.next().await {
            let chunk = chunk.map_err(|error| TrailBucketError::Body(Chain(&error).to_string()))?;
            into.extend_from_slice(&chunk);
        }
        Ok(())
    }
}

fn rejected_or_unreachable<E, R>(error: SdkError<E, R>) -> TrailBucketError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match &error {
        SdkError::ServiceError(service) => TrailBucketError::Rejected {
            code: service.err().code().unwrap_or("error").to_owned(),
            message: service.err().message().unwrap_or("no message").to_owned(),
        },
        _ => TrailBucketError::Unreachable(Chain(&error).to_string()),
    }
}
