//! base64 and gzip: from `awslogs.data` to the bytes of the envelope, never past a size cap.

use std::io::Read;

use base64::Engine;

use super::{DEFAULT_MAX_DECODED_BYTES, LENIENT_BASE64};
use crate::error::DecodeError;

/// What one batch after another reuses: the buffer the compressed bytes are decoded into,
/// the buffer of the previous batch's envelope, and libdeflate's decompressor (building its
/// tables costs about as much as inflating 20 KB). `main` owns one for the life of the Lambda
/// sandbox and lends it to the handler, as it lends the clients.
#[derive(Default)]
pub struct Inflater {
    compressed: Vec<u8>,
    spare: Vec<u8>,
    decompressor: Option<libdeflater::Decompressor>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("compressed_capacity", &self.compressed.capacity())
            .field("spare_capacity", &self.spare.capacity())
            .finish()
    }
}

impl Inflater {
    /// base64 -> gzip -> bytes of the JSON envelope, refusing to inflate past
    /// `max_decoded_bytes`.
    pub fn inflate_payload(
        &mut self,
        data: &(impl AsRef<[u8]> + ?Sized),
        max_decoded_bytes: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        let data = data.as_ref();
        // The compressed bytes only live until inflated: decode them into the buffer of the
        // previous batch instead of a new allocation.
        let mut compressed = std::mem::take(&mut self.compressed);
        compressed.clear();
        let decoded = match base64_simd::STANDARD.decode_append(data, &mut compressed) {
            Ok(()) => self.inflate_gzip(&compressed, max_decoded_bytes),
            Err(_) => {
                decode_base64_lenient(data).and_then(|c| self.inflate_gzip(&c, max_decoded_bytes))
            }
        };
        if compressed.capacity() <= DEFAULT_MAX_DECODED_BYTES {
            self.compressed = compressed;
        }
        decoded
    }

    /// Inflates one gzip stream into at most `max_decoded_bytes`.
    ///
    /// libdeflate does it in one call into a buffer of the size the gzip trailer gives,
    /// faster than zlib-rs (see the README's benchmark). A stream whose trailer claims more
    /// than the cap, or understates its size (the trailer holds it modulo 2^32) and so
    /// overflows that buffer, is read by the streaming decoder instead, which stops at the cap.
    pub fn inflate_gzip(
        &mut self,
        compressed: &[u8],
        max_decoded_bytes: usize,
    ) -> Result<Vec<u8>, DecodeError> {
        let claimed = gzip_claimed_size(compressed)?;
        if claimed > max_decoded_bytes {
            // A bomb, or a truncated stream whose last bytes are not its trailer: the
            // streaming decoder tells which, and stops at the cap either way.
            return inflate_gzip_streaming(compressed, max_decoded_bytes);
        }
        // The buffer of the previous batch, if it was handed back ([`Inflater::recycle`]):
        // no allocation and no zeroing of what libdeflate overwrites anyway.
        let mut decoded = std::mem::take(&mut self.spare);
        if decoded.len() < claimed {
            decoded.resize(claimed, 0);
        } else {
            decoded.truncate(claimed);
        }
        let result = self
            .decompressor
            .get_or_insert_with(libdeflater::Decompressor::new)
            .gzip_decompress(compressed, &mut decoded);
        match result {
            Ok(len) => {
                decoded.truncate(len);
                Ok(decoded)
            }
            Err(libdeflater::DecompressionError::InsufficientSpace) => {
                inflate_gzip_streaming(compressed, max_decoded_bytes)
            }
            Err(libdeflater::DecompressionError::BadData) => {
                Err(DecodeError::Gzip(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "corrupt or truncated deflate data",
                )))
            }
        }
    }

    /// Hands a decoded batch's buffer back for the next batch. Buffers above the default cap
    /// are let go.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        if buffer.capacity() <= DEFAULT_MAX_DECODED_BYTES {
            self.spare = buffer;
        }
    }
}

/// [`Inflater::inflate_payload`] with buffers of its own, for a one-off.
pub fn inflate_payload(
    data: &(impl AsRef<[u8]> + ?Sized),
    max_decoded_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    Inflater::default().inflate_payload(data, max_decoded_bytes)
}

/// [`Inflater::inflate_gzip`] with buffers of its own, for a one-off.
pub fn inflate_gzip(compressed: &[u8], max_decoded_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    Inflater::default().inflate_gzip(compressed, max_decoded_bytes)
}

/// base64 (standard alphabet, padding optional, whitespace ignored) to bytes.
pub fn decode_base64(data: &(impl AsRef<[u8]> + ?Sized)) -> Result<Vec<u8>, DecodeError> {
    let data = data.as_ref();
    // The SIMD decoder reads canonical base64 (what CloudWatch Logs sends) about six times
    // faster; anything it refuses gets the lenient decoder, which also words the error.
    match base64_simd::STANDARD.decode_to_vec(data) {
        Ok(bytes) => Ok(bytes),
        Err(_) => decode_base64_lenient(data),
    }
}

/// The decoder for what the SIMD one refuses: padding optional, white space ignored, and
/// precise errors.
fn decode_base64_lenient(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    // Line-wrapped base64 (as `base64` the tool writes it) is still base64; strip the
    // white space instead of rejecting it.
    if text.iter().any(u8::is_ascii_whitespace) {
        let compact: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        return LENIENT_BASE64.decode(compact).map_err(DecodeError::Base64);
    }
    LENIENT_BASE64.decode(text).map_err(DecodeError::Base64)
}

/// The same with flate2's streaming decoder (zlib-rs), reading at most `max_decoded_bytes + 1`
/// bytes of output whatever the stream says about itself.
pub fn inflate_gzip_streaming(
    compressed: &[u8],
    max_decoded_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    let size_hint = gzip_claimed_size(compressed)?.min(max_decoded_bytes);
    let mut decoded = Vec::with_capacity(size_hint.saturating_add(1));
    let limit = u64::try_from(max_decoded_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    flate2::read::GzDecoder::new(compressed)
        .take(limit)
        .read_to_end(&mut decoded)
        .map_err(DecodeError::Gzip)?;
    if decoded.len() > max_decoded_bytes {
        return Err(DecodeError::TooLarge {
            limit: max_decoded_bytes,
        });
    }
    Ok(decoded)
}

/// The decompressed size a gzip stream's trailer claims (modulo 2^32), after checking the
/// header's magic bytes.
fn gzip_claimed_size(compressed: &[u8]) -> Result<usize, DecodeError> {
    if compressed.len() < 18 || compressed[..2] != [0x1f, 0x8b] {
        return Err(DecodeError::NotGzip);
    }
    let mut trailer = [0u8; 4];
    trailer.copy_from_slice(&compressed[compressed.len() - 4..]);
    Ok(u32::from_le_bytes(trailer) as usize)
}
