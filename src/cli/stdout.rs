//! Standard output as a pipeline reads it. A reader that stops reading (`scan ... | head`) is
//! no failure: what is left is not written, nothing is said about it, and the command still
//! ends with its own exit status (the answer it computed, not a write error).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the reader has gone: later writes are dropped unwritten.
static READER_GONE: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a newline to standard output. Only a write that fails for another
/// reason than a closed pipe is an error.
pub(crate) fn print_line(text: impl std::fmt::Display) -> std::io::Result<()> {
    if READER_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            READER_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}
