//! The cancel token every long piece of work takes: the one who started it
//! (a window's Cancel button, a test) asks, and the work stops between
//! items, leaving what is done done. A type rather than a raw flag, so a
//! signature says what the argument is for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shared by the asker and the work; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token nobody has asked with yet (work started from the command
    /// line, which a Ctrl-C ends instead).
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work to stop at its next item.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether stopping was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
