//! The library-wide write lock: one writer per library, waited for briefly.

use super::*;

/// How long a writer waits for the library's write lock before refusing.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Held while a process writes to a library's files: the window and the
/// command line take the same lock, so two writers never interleave.
pub struct WriteLock {
    _file: File,
}

impl WriteLock {
    /// Takes the lock, waiting up to [`LOCK_WAIT`] for a writer that is
    /// finishing (or a process that inherited the lock for the instant
    /// between its fork and exec); otherwise says who should finish first.
    pub fn acquire(library_path: &Path) -> anyhow::Result<Self> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            if let Some(lock) = Self::try_acquire(library_path)? {
                return Ok(lock);
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "another Sonotag (a window or a command) is writing tags to this library; \
                     nothing was written: try again when it has finished"
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Takes the lock if it is free.
    pub fn try_acquire(library_path: &Path) -> anyhow::Result<Option<Self>> {
        let path = beside(library_path, "write-lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open the write lock {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => {
                anyhow::bail!("cannot lock {}: {e}", path.display())
            }
        }
    }
}
