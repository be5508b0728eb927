//! A file's identity and content stamps: what a write checks before it
//! touches a file (size, mtime, device, inode, ctime) and the hashes it records.

use super::*;

/// Size and modification time of a file, the cheap "has it changed" check,
/// and its identity: a file replaced by another with the same size and
/// mtime has another inode or change time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    /// Device, inode and status-change time (ns).
    pub identity: (u64, u64, i64),
}

/// A file's identity as the library stores it: `device:inode:ctime_ns`.
pub fn identity_text(meta: &std::fs::Metadata) -> String {
    let (dev, ino, ctime) = identity_of(meta);
    format!("{dev}:{ino}:{ctime}")
}

pub(super) fn identity_of(meta: &std::fs::Metadata) -> (u64, u64, i64) {
    use std::os::unix::fs::MetadataExt;
    (
        meta.dev(),
        meta.ino(),
        meta.ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.ctime_nsec()),
    )
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        Self {
            size: meta.len(),
            mtime_ns,
            identity: identity_of(meta),
        }
    }

    /// The identity as the library stores it.
    pub fn identity_text(&self) -> String {
        let (dev, ino, ctime) = self.identity;
        format!("{dev}:{ino}:{ctime}")
    }

    /// The stamp of the file at `path` (following symlinks).
    pub fn of_path(path: &Path) -> Result<Self, String> {
        std::fs::metadata(path)
            .map(|m| Self::of(&m))
            .map_err(|e| describe_io("cannot read the file", &e))
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn describe_io(what: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "file no longer exists".into(),
        std::io::ErrorKind::PermissionDenied => {
            "you may not write this file (permission denied); nothing was changed".into()
        }
        _ => format!("{what}: {}", describe_full(e)),
    }
}

/// A path beside the library database: `library.sqlite` → `library.sqlite.<suffix>`.
pub(crate) fn beside(library_path: &Path, suffix: &str) -> PathBuf {
    let mut name = library_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "library".into());
    name.push(".");
    name.push(suffix);
    library_path.with_file_name(name)
}

/// An I/O error in words, "disk full" said as such.
pub fn describe_full(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => "disk full".into(),
        _ => e.to_string(),
    }
}
