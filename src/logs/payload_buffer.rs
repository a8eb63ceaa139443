//! The buffer the function's payload is decoded into, kept from one invocation to the next.
//!
//! Why: `lambda_runtime` builds the event with serde, where the function cannot lend it a
//! buffer as it lends the [`Inflater`](super::Inflater) its own. A new 130 KB allocation per
//! batch is not free: it is memory the allocator may have handed back to the kernel or that is
//! no longer in the caches, written by base64 and read straight back by inflate. Reusing it
//! took the full batch's path from 459 to 448 µs in `cargo bench --bench pipeline` (see the
//! README's benchmark).

use std::sync::Mutex;

use super::DEFAULT_MAX_DECODED_BYTES;

/// One spare buffer. A sandbox handles one invocation at a time, so one is enough; a second
/// payload alive at once (tests, the command line) just gets a new buffer.
#[derive(Debug, Default)]
pub struct PayloadBuffer {
    spare: Mutex<Vec<u8>>,
}

/// The one the function's [`GzipPayload`](super::GzipPayload)s share.
pub(super) static FUNCTION_PAYLOAD_BUFFER: PayloadBuffer = PayloadBuffer::new();

impl PayloadBuffer {
    pub const fn new() -> Self {
        PayloadBuffer {
            spare: Mutex::new(Vec::new()),
        }
    }

    /// The spare buffer, empty (a new one if it is lent out).
    pub fn take(&self) -> Vec<u8> {
        let mut buffer = std::mem::take(&mut *self.lock());
        buffer.clear();
        buffer
    }

    /// Keeps `buffer` for the next payload. One larger than the decoded-size cap is let go, as
    /// [`Inflater::recycle`](super::Inflater::recycle) lets go of its own.
    pub fn give_back(&self, buffer: Vec<u8>) {
        if buffer.capacity() <= DEFAULT_MAX_DECODED_BYTES {
            *self.lock() = buffer;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A panic while the lock is held cannot leave the buffer half-written in a way that
        // matters: it is cleared before every use.
        self.spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
