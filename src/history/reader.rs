//! One worker's way from a file's bytes to its findings, at the speed of inflate: a gzip file
//! whose trailer gives a size under [`ONE_SHOT_MAX_BYTES`] is inflated by libdeflate in one
//! call into a buffer the worker keeps from file to file (as the function does with a batch);
//! the rest (larger files, several gzip members, a trailer that understates the size) is
//! streamed, so no file is too large to scan.

use std::io::BufReader;

use super::stream::{Encoding, scan_stream};
use super::{FileAnswer, Question, scan_content};
use crate::error::HistoryError;

/// The most one worker holds decompressed; larger files are streamed.
pub const ONE_SHOT_MAX_BYTES: usize = 16 << 20;

/// libdeflate's decompressor and the buffer it inflates into, reused file after file.
#[derive(Default)]
pub struct HistoryReader {
    decompressor: Option<libdeflater::Decompressor>,
    decoded: Vec<u8>,
    /// What it inflates in one call at most; `None`: [`ONE_SHOT_MAX_BYTES`].
    one_shot_limit: Option<usize>,
}

impl std::fmt::Debug for HistoryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryReader")
            .field("decoded_capacity", &self.decoded.len())
            .finish()
    }
}

/// Whether bytes start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

impl HistoryReader {
    /// Inflates in one call at most `limit` bytes (capped at [`ONE_SHOT_MAX_BYTES`]): a
    /// scan with many workers gives each a share of its memory.
    pub fn with_one_shot_limit(&mut self, limit: usize) -> &mut Self {
        let limit = limit.min(ONE_SHOT_MAX_BYTES);
        if self.decoded.len() > limit {
            self.decoded = Vec::new();
        }
        self.one_shot_limit = Some(limit);
        self
    }

    /// Reads one file of history held in memory, gzipped or not, for `question`.
    pub fn scan_bytes<Q: Question>(
        &mut self,
        question: &Q,
        bytes: &[u8],
        name: &str,
    ) -> Result<FileAnswer<Q::Answer>, HistoryError> {
        if !is_gzip(bytes) {
            return scan_content(question, bytes, name);
        }
        match self.inflate_whole(bytes)? {
            Some(len) => scan_content(question, &self.decoded[..len], name),
            None => scan_stream(
                question,
                BufReader::new(flate2::read::MultiGzDecoder::new(bytes)),
                name,
                Encoding::Gzip,
            ),
        }
    }

    /// Inflates a single-member gzip stream in one call, or says (`None`) that it must be
    /// streamed. libdeflate reads one member and ignores what follows it, so the result is
    /// taken only when the stream's last trailer is that member's: its size is the last four
    /// bytes, and no second member starts right after a trailer of that size.
    fn inflate_whole(&mut self, gzip: &[u8]) -> Result<Option<usize>, HistoryError> {
        let Some(claimed) = trailer_size(gzip) else {
            return Err(corrupt("shorter than a gzip header and trailer"));
        };
        if claimed > self.one_shot_limit.unwrap_or(ONE_SHOT_MAX_BYTES) {
            return Ok(None);
        }
        if self.decoded.len() < claimed {
            self.decoded.resize(claimed, 0);
        }
        let result = self
            .decompressor
            .get_or_insert_with(libdeflater::Decompressor::new)
            .gzip_decompress(gzip, &mut self.decoded[..claimed]);
        match result {
            Ok(len) if len == claimed && !has_member_after(gzip, len) => Ok(Some(len)),
            Ok(_) | Err(libdeflater::DecompressionError::InsufficientSpace) => Ok(None),
            Err(libdeflater::DecompressionError::BadData) => {
                Err(corrupt("corrupt or truncated deflate data"))
            }
        }
    }
}

fn corrupt(why: &'static str) -> HistoryError {
    HistoryError::Gzip(std::io::Error::new(std::io::ErrorKind::InvalidData, why))
}

/// The size the stream's last trailer gives (ISIZE, modulo 2^32).
fn trailer_size(gzip: &[u8]) -> Option<usize> {
    let start = gzip.len().checked_sub(4).filter(|_| gzip.len() >= 18)?;
    let mut size = [0u8; 4];
    size.copy_from_slice(&gzip[start..]);
    Some(u32::from_le_bytes(size) as usize)
}

/// Whether a gzip member header (`1f 8b 08`) starts right after a trailer whose size field
/// is `first_member_size`: the sign of a second member. Compressed bytes hold `1f 8b 08`
/// by chance about once in 16 MB, and then the size must match too.
fn has_member_after(gzip: &[u8], first_member_size: usize) -> bool {
    let size = (first_member_size as u32).to_le_bytes();
    memchr::memmem::find_iter(gzip, &[0x1f, 0x8b, 0x08])
        .filter(|at| *at >= 18)
        .any(|at| gzip[at - 4..at] == size)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::io::Write;

    use super::*;
    use crate::history::PendingReads;

    fn gzip(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(content).unwrap();
        encoder.finish().unwrap()
    }

    const READ: &str = r#"{"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","eventID":"e-1","errorCode":"InvalidRequestException","errorMessage":"You can't perform this operation on the secret because it was marked for deletion.","requestParameters":{"secretId":"prod/db"}}"#;
    const OTHER: &str =
        r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"e-0"}"#;

    #[test]
    fn a_single_member_is_inflated_in_one_call() {
        let mut reader = HistoryReader::default();
        let file = gzip(format!(r#"{{"Records":[{OTHER},{READ}]}}"#).as_bytes());
        assert!(reader.inflate_whole(&file).unwrap().is_some());
        let part = reader
            .scan_bytes(&PendingReads::default(), &file, "f")
            .unwrap();
        assert_eq!((part.answer.records, part.answer.matched), (2, 1));
    }

    #[test]
    fn a_second_member_is_not_lost_to_the_one_shot_path() {
        let mut reader = HistoryReader::default();
        let mut file = gzip(format!("{OTHER}\n").as_bytes());
        file.extend(gzip(format!("{READ}\n").as_bytes()));
        assert_eq!(reader.inflate_whole(&file).unwrap(), None);
        let part = reader
            .scan_bytes(&PendingReads::default(), &file, "f")
            .unwrap();
        assert_eq!((part.answer.records, part.answer.matched), (2, 1));
    }

    #[test]
    fn a_second_member_of_the_same_size_as_the_first_is_found_too() {
        let mut reader = HistoryReader::default();
        let first = format!("{OTHER}\n");
        let second = format!("{}\n", OTHER.replace("e-0", "e-9"));
        assert_eq!(first.len(), second.len());
        let mut file = gzip(first.as_bytes());
        file.extend(gzip(second.as_bytes()));
        assert_eq!(reader.inflate_whole(&file).unwrap(), None);
        assert_eq!(
            reader
                .scan_bytes(&PendingReads::default(), &file, "f")
                .unwrap()
                .answer
                .records,
            2
        );
    }

    #[test]
    fn a_trailer_that_understates_the_size_is_streamed() {
        let mut reader = HistoryReader::default();
        let mut file = gzip(format!(r#"{{"Records":[{READ}]}}"#).as_bytes());
        let end = file.len();
        file[end - 4..].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(reader.inflate_whole(&file).unwrap(), None);
        let error = reader
            .scan_bytes(&PendingReads::default(), &file, "f")
            .unwrap_err();
        assert!(
            matches!(error, HistoryError::Gzip(_)),
            "the stream checks the size: {error}"
        );
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_an_empty_file() {
        let mut reader = HistoryReader::default();
        let corrupt = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef];
        assert!(matches!(
            reader.scan_bytes(&PendingReads::default(), &corrupt, "f"),
            Err(HistoryError::Gzip(_))
        ));
        let mut file = gzip(READ.as_bytes());
        file[12] ^= 0xff;
        assert!(matches!(
            reader.scan_bytes(&PendingReads::default(), &file, "f"),
            Err(HistoryError::Gzip(_))
        ));
    }
}
