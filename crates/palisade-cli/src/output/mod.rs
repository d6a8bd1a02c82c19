//! Rendering results for people (tables, colour, progress) and for tools (JUnit, markdown).

pub mod junit;
pub mod markdown;
pub mod progress;
pub mod style;
pub mod table;

use std::io::{ErrorKind, Write};

/// Writes `text` to stdout. A reader that went away (`palisade test | head`) is not an error.
pub fn emit(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
