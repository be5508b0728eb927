//! Crash-safe, in-place rewrites of a user's files, one writer per library.
//!
//! Why in place rather than a temporary copy renamed over the track: a rename
//! makes a new file, which cuts hard links, turns a symlinked track into a
//! regular file, gives the file to whoever wrote it and drops extended
//! attributes; a temporary file beside the track can also collide with, or
//! be hijacked through, whatever already has its name. Writing into the same
//! inode keeps all of that, and nothing new ever appears in the music folder.
//!
//! What the rename bought (never a half-written file) comes from a journal
//! instead: before a file is touched, its original bytes and the hashes of
//! its contents before and after are saved and synced in the library's
//! journal folder. [`Journal::pending`] finds writes that a crash or kill
//! interrupted; the tag layer completes or rolls each back.
//!
//! Also here: the library-wide [`WriteLock`], the advisory lock and the
//! re-check of size and modification time around each write (an edit made
//! by another program meanwhile is never overwritten), and [`Patch`], the
//! changed byte ranges that let undo restore a file's exact previous bytes.

use crate::store::{WriteKind, path_bytes, path_from_bytes};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Files larger than this are not rewritten: both versions are held in
/// memory while a write is prepared.
pub const MAX_WRITE_BYTES: u64 = 1 << 30;

/// A reverse patch larger than this is not kept; undo then rewrites the tag
/// instead of restoring the bytes (and says so).
const MAX_PATCH_BYTES: usize = 32 << 20;

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

fn identity_of(meta: &std::fs::Metadata) -> (u64, u64, i64) {
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

fn describe_io(what: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "file no longer exists".into(),
        std::io::ErrorKind::PermissionDenied => {
            "you may not write this file (permission denied); nothing was changed".into()
        }
        _ => format!("{what}: {}", describe_full(e)),
    }
}

/// A path beside the library database: `library.sqlite` → `library.sqlite.<suffix>`.
fn beside(library_path: &Path, suffix: &str) -> PathBuf {
    let mut name = library_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "library".into());
    name.push(".");
    name.push(suffix);
    library_path.with_file_name(name)
}

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

/// A track file opened for rewriting: exclusively locked, its bytes read.
pub struct LockedFile {
    file: File,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// The stamp when the bytes were read.
    pub stamp: Stamp,
}

impl LockedFile {
    /// Opens `path` (through a symlink, to its target) for writing. Refuses
    /// what is not a regular file, read-only files, files the user may not
    /// write, huge files and files another program holds a lock on.
    pub fn open(path: &Path) -> Result<Self, String> {
        let meta = std::fs::metadata(path).map_err(|e| describe_io("cannot read the file", &e))?;
        if !meta.is_file() {
            return Err(
                "not a regular file (a folder, pipe or device); nothing was changed".into(),
            );
        }
        if meta.permissions().readonly() {
            return Err("file is read-only; nothing was changed".into());
        }
        if meta.len() > MAX_WRITE_BYTES {
            return Err(format!(
                "file is larger than {} MiB; Sonotag does not rewrite files this big",
                MAX_WRITE_BYTES >> 20
            ));
        }
        // O_NONBLOCK: should the path have become a pipe since the check
        // above, opening it must not hang; the check below then refuses it.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|e| describe_io("cannot open the file for writing", &e))?;
        let meta = file
            .metadata()
            .map_err(|e| describe_io("cannot read the file", &e))?;
        if !meta.is_file() {
            return Err("not a regular file; nothing was changed".into());
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(
                    "another program holds a lock on this file; nothing was changed".into(),
                );
            }
            Err(TryLockError::Error(e)) => return Err(format!("cannot lock the file: {e}")),
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        (&file)
            .read_to_end(&mut bytes)
            .map_err(|e| describe_io("cannot read the file", &e))?;
        let stamp = Stamp::of(
            &file
                .metadata()
                .map_err(|e| describe_io("cannot read the file", &e))?,
        );
        if stamp.size != bytes.len() as u64 {
            return Err("the file changed while it was read; nothing was changed".into());
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            bytes,
            stamp,
        })
    }

    /// True when the file on disk still has the stamp it had when read.
    pub fn unchanged(&self) -> bool {
        self.file.metadata().map(|m| Stamp::of(&m)).ok() == Some(self.stamp)
    }

    /// Rewrites the file in place from its read bytes to `target`, writing
    /// only the ranges that differ, then syncs it. With `stop_midway` it
    /// writes part of the first range and stops, as a kill would.
    pub fn write(&mut self, target: &[u8], stop_midway: bool) -> Result<Stamp, String> {
        write_in_place(&self.file, &self.bytes, target, stop_midway)
            .map_err(|e| format!("cannot write the file: {}", describe_full(&e)))?;
        if stop_midway {
            return Err(INTERRUPTED.into());
        }
        self.bytes = target.to_vec();
        self.stamp = Stamp::of(
            &self
                .file
                .metadata()
                .map_err(|e| describe_io("cannot read the file", &e))?,
        );
        Ok(self.stamp)
    }

    /// After a write failed part-way: puts the bytes read back, through the
    /// handle already held (reopening would meet this file's own lock).
    pub fn restore(&mut self) -> Result<Stamp, String> {
        let len = self
            .file
            .metadata()
            .map_err(|e| describe_io("cannot read the file", &e))?
            .len();
        let mut current = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut current, 0)
            .map_err(|e| describe_io("cannot read the file", &e))?;
        write_in_place(&self.file, &current, &self.bytes, false)
            .map_err(|e| format!("cannot restore the file: {e}"))?;
        self.stamp = Stamp::of(
            &self
                .file
                .metadata()
                .map_err(|e| describe_io("cannot read the file", &e))?,
        );
        Ok(self.stamp)
    }
}

/// The error text of a simulated kill.
pub const INTERRUPTED: &str = "interrupted";

/// Where a test stops a write, as a kill would (nothing is cleaned up).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// The library records the write; the journal has no entry yet.
    BeforeJournal,
    /// The journal entry is synced; the file is untouched.
    AfterJournal,
    /// Part of the file is written.
    MidWrite,
    /// The file is written; the library does not know yet.
    AfterWrite,
}

/// Runs of differing bytes shorter than this apart are written as one.
const MERGE_GAP: usize = 64;

/// Same-offset ranges where `a` and `b` differ, over their common length.
fn differing_ranges(a: &[u8], b: &[u8]) -> Vec<std::ops::Range<usize>> {
    const CHUNK: usize = 4096;
    let common = a.len().min(b.len());
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < common {
        let end = (i + CHUNK).min(common);
        if a[i..end] == b[i..end] {
            i = end;
            continue;
        }
        for j in i..end {
            if a[j] != b[j] {
                match ranges.last_mut() {
                    Some(r) if j - r.end < MERGE_GAP => r.end = j + 1,
                    _ => ranges.push(j..j + 1),
                }
            }
        }
        i = end;
    }
    ranges
}

fn write_in_place(
    file: &File,
    current: &[u8],
    target: &[u8],
    stop_midway: bool,
) -> std::io::Result<()> {
    let ranges = differing_ranges(current, target);
    if stop_midway {
        if let Some(r) = ranges.first() {
            let half = r.start + (r.len() / 2).max(1);
            file.write_all_at(&target[r.start..half], r.start as u64)?;
        } else if target.len() > current.len() {
            file.write_all_at(&target[current.len()..][..1], current.len() as u64)?;
        }
        return file.sync_all();
    }
    for r in ranges {
        file.write_all_at(&target[r.clone()], r.start as u64)?;
    }
    if target.len() > current.len() {
        file.write_all_at(&target[current.len()..], current.len() as u64)?;
    }
    file.set_len(target.len() as u64)?;
    file.sync_all()
}

/// One replaced range: `remove` bytes at `offset` give way to `insert`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hunk {
    offset: u64,
    remove: u64,
    insert: Vec<u8>,
}

/// The byte ranges that turn one version of a file into another. Tag
/// writes change a few ranges (the tag, a size field), so a patch that
/// restores the previous bytes is small enough to keep for undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    hunks: Vec<Hunk>,
}

impl Patch {
    /// The patch that turns `from` into `to`, or `None` when it would be
    /// too big to keep. Two shapes are tried and the smaller kept: one hunk
    /// between the common prefix and suffix (a tag that grew at the front
    /// shifts everything after it) and same-offset hunks plus the tail
    /// (a size field at the front and a tag at the end, as in WAV).
    pub fn between(from: &[u8], to: &[u8]) -> Option<Self> {
        let common = from.len().min(to.len());
        let prefix = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        let suffix = from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .take(common - prefix)
            .take_while(|(a, b)| a == b)
            .count();
        let single = Patch {
            hunks: if from == to {
                Vec::new()
            } else {
                vec![Hunk {
                    offset: prefix as u64,
                    remove: (from.len() - suffix - prefix) as u64,
                    insert: to[prefix..to.len() - suffix].to_vec(),
                }]
            },
        };
        let mut hunks: Vec<Hunk> = differing_ranges(from, to)
            .into_iter()
            .map(|r| Hunk {
                offset: r.start as u64,
                remove: r.len() as u64,
                insert: to[r].to_vec(),
            })
            .collect();
        if from.len() != to.len() {
            hunks.push(Hunk {
                offset: common as u64,
                remove: (from.len() - common) as u64,
                insert: to[common..].to_vec(),
            });
        }
        let same_offset = Patch { hunks };
        let best = if same_offset.payload() < single.payload() {
            same_offset
        } else {
            single
        };
        (best.payload() <= MAX_PATCH_BYTES && best.apply(from).as_deref() == Some(to))
            .then_some(best)
    }

    fn payload(&self) -> usize {
        self.hunks.iter().map(|h| h.insert.len()).sum()
    }

    /// Applies the patch to `from`; `None` when it does not fit.
    pub fn apply(&self, from: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(from.len());
        let mut at = 0usize;
        for h in &self.hunks {
            let start = usize::try_from(h.offset).ok()?;
            let end = start.checked_add(usize::try_from(h.remove).ok()?)?;
            if start < at || end > from.len() {
                return None;
            }
            out.extend_from_slice(&from[at..start]);
            out.extend_from_slice(&h.insert);
            at = end;
        }
        out.extend_from_slice(&from[at..]);
        Some(out)
    }

    /// Serialises the patch for the library.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload() + 24 * self.hunks.len());
        for h in &self.hunks {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.remove.to_le_bytes());
            out.extend_from_slice(&(h.insert.len() as u64).to_le_bytes());
            out.extend_from_slice(&h.insert);
        }
        out
    }

    /// Reads a patch written by [`Patch::to_bytes`]; `None` when damaged.
    pub fn from_bytes(mut bytes: &[u8]) -> Option<Self> {
        fn take_u64(b: &mut &[u8]) -> Option<u64> {
            let (head, rest) = b.split_first_chunk::<8>()?;
            *b = rest;
            Some(u64::from_le_bytes(*head))
        }
        let mut hunks = Vec::new();
        while !bytes.is_empty() {
            let offset = take_u64(&mut bytes)?;
            let remove = take_u64(&mut bytes)?;
            let len = usize::try_from(take_u64(&mut bytes)?).ok()?;
            if len > bytes.len() {
                return None;
            }
            let (insert, rest) = bytes.split_at(len);
            bytes = rest;
            hunks.push(Hunk {
                offset,
                remove,
                insert: insert.to_vec(),
            });
        }
        Some(Self { hunks })
    }
}

/// The largest journal record Sonotag writes is well under this; a bigger
/// file in the journal is not Sonotag's.
const MAX_RECORD_BYTES: u64 = 64 << 10;

/// What the journal knows of one write in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The library's `tag_writes` row.
    pub write_id: i64,
    pub kind: WriteKind,
    /// The track's path, as bytes (paths need not be UTF-8).
    path: Vec<u8>,
    pub before_sha256: String,
    pub after_sha256: String,
}

impl JournalEntry {
    pub fn new(write_id: i64, kind: WriteKind, path: &Path, before: &[u8], after: &[u8]) -> Self {
        Self {
            write_id,
            kind,
            path: path_bytes(path),
            before_sha256: sha256_hex(before),
            after_sha256: sha256_hex(after),
        }
    }

    pub fn path(&self) -> PathBuf {
        path_from_bytes(self.path.clone())
    }
}

/// A journal entry on disk: its description and the names of its two files.
#[derive(Debug)]
pub struct Pending {
    pub entry: JournalEntry,
    /// `<stem>.json` and `<stem>.orig` in the journal folder.
    stem: String,
}

/// A file name Sonotag gives journal files: `<write>-<kind>-<pid>-<nanos>`
/// and `.json` or `.orig`. Returns the stem, the write id and the kind.
fn parse_name(name: &str) -> Option<(&str, i64, WriteKind, &str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    if ext != "json" && ext != "orig" {
        return None;
    }
    let mut parts = stem.split('-');
    let write_id: i64 = parts.next()?.parse().ok()?;
    let kind = match parts.next()? {
        "apply" => WriteKind::Apply,
        "undo" => WriteKind::Undo,
        _ => return None,
    };
    let numbers = [parts.next()?, parts.next()?];
    if parts.next().is_some()
        || numbers
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((stem, write_id, kind, ext))
}

/// What the journal found that it set aside or left alone, for the user.
#[derive(Clone, Debug, Default)]
pub struct JournalNotes {
    pub messages: Vec<String>,
}

/// The library's folder of writes in progress, held open by a descriptor so
/// that every file in it is reached through the folder that was checked:
/// it must be a real folder (not a symlink), owned by the user running
/// Sonotag and closed to everyone else (mode 0700). Otherwise nothing in it
/// is trusted, and writes are refused.
pub struct Journal {
    dir: PathBuf,
    fd: std::os::fd::OwnedFd,
}

fn c_name(name: &str) -> std::ffi::CString {
    std::ffi::CString::new(name).expect("journal names have no NUL")
}

fn c_path(path: &Path) -> Result<std::ffi::CString, String> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{} holds a NUL byte", path.display()))
}

/// Opens the folder `name` under `parent` (or the path `path` when `parent`
/// is `None`) without following a symlink, creating it private when asked,
/// and checks that it is the user's own, private folder.
fn open_private_dir(
    parent: Option<&std::os::fd::OwnedFd>,
    path: &Path,
    create: bool,
) -> Result<Option<std::os::fd::OwnedFd>, String> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::fs::MetadataExt;
    let name = match parent {
        Some(_) => c_name(&path.file_name().unwrap_or_default().to_string_lossy()),
        None => c_path(path)?,
    };
    let base = parent.map_or(libc::AT_FDCWD, |p| p.as_raw_fd());
    if create {
        // SAFETY: a valid descriptor (or AT_FDCWD) and a NUL-terminated name.
        let made = unsafe { libc::mkdirat(base, name.as_ptr(), 0o700) };
        if made != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(format!(
                    "cannot create the journal folder {}: {}",
                    path.display(),
                    describe_full(&e)
                ));
            }
        }
    }
    // SAFETY: as above; the flags refuse a symlink at the last component.
    let fd = unsafe {
        libc::openat(
            base,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOENT) if !create => Ok(None),
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => Err(format!(
                "the journal folder {} is a symlink or not a folder, so Sonotag does not trust \
                 it and writes nothing: check what it is, move it away, and try again",
                path.display()
            )),
            _ => Err(format!(
                "cannot open the journal folder {}: {e}",
                path.display()
            )),
        };
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    let meta = File::from(fd.try_clone().map_err(|e| e.to_string())?)
        .metadata()
        .map_err(|e| format!("cannot read the journal folder {}: {e}", path.display()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the journal folder {} belongs to user {} with mode {:o}, not to you (user {me}) \
             with mode 700, so Sonotag does not trust it and writes nothing: check who made \
             it, move it away, and try again",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(Some(fd))
}

/// An I/O error in words, "disk full" said as such.
pub fn describe_full(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => "disk full".into(),
        _ => e.to_string(),
    }
}

impl Journal {
    /// The journal of the library at `library_path`, created when missing
    /// and `create` is set; `Ok(None)` when it does not exist and is not to
    /// be created; an error when it exists but is not the user's own.
    pub fn open(library_path: &Path, create: bool) -> Result<Option<Self>, String> {
        let dir = beside(library_path, "tag-journal");
        Ok(open_private_dir(None, &dir, create)?.map(|fd| Self { dir, fd }))
    }

    /// Where interrupted writes' leftovers are kept for the user.
    pub fn kept_dir(&self) -> PathBuf {
        self.dir.join("kept")
    }

    fn raw(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.fd.as_raw_fd()
    }

    /// Opens `name` in the journal for reading: never through a symlink,
    /// never blocking on a pipe, only a regular file of at most `limit`
    /// bytes.
    fn open_entry(&self, name: &str, limit: u64) -> Result<File, String> {
        use std::os::fd::FromRawFd;
        let c = c_name(name);
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.raw(),
                c.as_ptr(),
                libc::O_RDONLY
                    | libc::O_NOFOLLOW
                    | libc::O_NONBLOCK
                    | libc::O_CLOEXEC
                    | libc::O_NOCTTY,
            )
        };
        if fd < 0 {
            return Err(format!("{name}: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: just opened, owned by nothing else.
        let file = unsafe { File::from_raw_fd(fd) };
        let meta = file.metadata().map_err(|e| format!("{name}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{name} is not a regular file"));
        }
        if meta.len() > limit {
            return Err(format!("{name} is larger than a journal file can be"));
        }
        Ok(file)
    }

    fn read_entry(&self, name: &str, limit: u64) -> Result<Vec<u8>, String> {
        let mut file = self.open_entry(name, limit)?;
        let mut bytes = Vec::new();
        (&mut file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{name}: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(format!("{name} grew while it was read"));
        }
        Ok(bytes)
    }

    /// Creates `name` under the folder `fd` exclusively, private to the
    /// user, and syncs `bytes` into it.
    fn create_in(
        fd: std::os::fd::RawFd,
        shown: &Path,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), String> {
        use std::os::fd::FromRawFd;
        let c = c_name(name);
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        let raw = unsafe {
            libc::openat(
                fd,
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        let path = shown.join(name);
        if raw < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "cannot create {}: {}",
                path.display(),
                describe_full(&e)
            ));
        }
        // SAFETY: just opened, owned by nothing else.
        let mut f = unsafe { File::from_raw_fd(raw) };
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {}", path.display(), describe_full(&e)))
    }

    fn remove(&self, name: &str) {
        let c = c_name(name);
        // SAFETY: a valid directory descriptor and a NUL-terminated name.
        unsafe { libc::unlinkat(self.raw(), c.as_ptr(), 0) };
    }

    fn sync_dir(&self) {
        if let Ok(d) = self.fd.try_clone() {
            let _ = File::from(d).sync_all();
        }
    }

    /// The names in the journal folder (not `.`, `..` or `kept`).
    fn names(&self) -> Vec<String> {
        use std::os::fd::IntoRawFd;
        let Ok(dup) = self.fd.try_clone() else {
            return Vec::new();
        };
        // SAFETY: fdopendir takes ownership of the duplicated descriptor;
        // readdir's entries are read before the next call; closedir frees.
        unsafe {
            let dir = libc::fdopendir(dup.into_raw_fd());
            if dir.is_null() {
                return Vec::new();
            }
            libc::rewinddir(dir);
            let mut out = Vec::new();
            loop {
                let e = libc::readdir(dir);
                if e.is_null() {
                    break;
                }
                let name = std::ffi::CStr::from_ptr((*e).d_name.as_ptr());
                let name = name.to_string_lossy().into_owned();
                if name != "." && name != ".." && name != "kept" {
                    out.push(name);
                }
            }
            libc::closedir(dir);
            out
        }
    }

    /// Records a write about to happen: the original bytes first, then the
    /// entry that makes them count. Both are synced before returning.
    pub fn begin(&self, entry: JournalEntry, original: &[u8]) -> Result<Pending, String> {
        let stem = format!(
            "{}-{:?}-{}-{}",
            entry.write_id,
            entry.kind,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        )
        .to_lowercase();
        Self::create_in(self.raw(), &self.dir, &format!("{stem}.orig"), original)?;
        let record = serde_json::to_vec(&entry).expect("journal entries serialise");
        if let Err(e) = Self::create_in(self.raw(), &self.dir, &format!("{stem}.json"), &record) {
            self.remove(&format!("{stem}.orig"));
            return Err(e);
        }
        self.sync_dir();
        Ok(Pending { entry, stem })
    }

    /// Forgets a write that finished (or was resolved by recovery): removes
    /// the two files this entry's name and identity say Sonotag made.
    pub fn finish(&self, pending: Pending) {
        self.remove(&format!("{}.json", pending.stem));
        self.remove(&format!("{}.orig", pending.stem));
        self.sync_dir();
    }

    /// The file's bytes from before the write, checked against the hash the
    /// entry recorded.
    pub fn original_bytes(&self, pending: &Pending) -> Result<Vec<u8>, String> {
        let bytes = self.read_entry(&format!("{}.orig", pending.stem), MAX_WRITE_BYTES)?;
        if sha256_hex(&bytes) != pending.entry.before_sha256 {
            return Err("the journal's copy of the file does not match its record".into());
        }
        Ok(bytes)
    }

    fn kept_fd(&self) -> Result<std::os::fd::OwnedFd, String> {
        open_private_dir(Some(&self.fd), &self.kept_dir(), true)?
            .ok_or_else(|| "cannot open the kept folder".to_string())
    }

    /// Keeps `bytes` (the file as recovery found it) in the kept folder and
    /// returns where.
    pub fn keep(&self, pending: &Pending, bytes: &[u8]) -> Result<PathBuf, String> {
        use std::os::fd::AsRawFd;
        let kept = self.kept_fd()?;
        let name = pending
            .entry
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().replace('/', "_"))
            .unwrap_or_else(|| "track".into());
        let name = format!("{}-{name}", pending.stem);
        Self::create_in(kept.as_raw_fd(), &self.kept_dir(), &name, bytes)?;
        Ok(self.kept_dir().join(name))
    }

    /// Moves the journal file `name` into the kept folder, untouched.
    fn set_aside(&self, name: &str) -> Result<PathBuf, String> {
        use std::os::fd::AsRawFd;
        let kept = self.kept_fd()?;
        let from = c_name(name);
        // SAFETY: valid directory descriptors and NUL-terminated names; the
        // rename moves the name itself, whatever it points to.
        let moved =
            unsafe { libc::renameat(self.raw(), from.as_ptr(), kept.as_raw_fd(), from.as_ptr()) };
        if moved != 0 {
            return Err(format!(
                "cannot move {name} to {}: {}",
                self.kept_dir().display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(self.kept_dir().join(name))
    }

    /// Moves an entry the library does not vouch for into the kept folder.
    pub fn set_aside_entry(&self, pending: Pending) -> Result<PathBuf, String> {
        self.set_aside(&format!("{}.json", pending.stem))?;
        let _ = self.set_aside(&format!("{}.orig", pending.stem));
        self.sync_dir();
        Ok(self.kept_dir())
    }

    /// Writes left unfinished by an earlier run, oldest first, and notes on
    /// what else was found. Files whose names Sonotag does not give are left
    /// alone; malformed entries and halves of entries (a run killed before
    /// its entry was complete) are moved into the kept folder, never deleted.
    pub fn pending(&self) -> (Vec<Pending>, JournalNotes) {
        let names = self.names();
        let mut notes = JournalNotes::default();
        let mut out = Vec::new();
        let aside = |name: &str, why: &str, notes: &mut JournalNotes| {
            let message = match self.set_aside(name) {
                Ok(to) => format!("{why}: moved to {}, untouched", to.display()),
                Err(e) => format!("{why}: left in place ({e})"),
            };
            notes.messages.push(message);
        };
        let mut foreign = 0;
        for name in &names {
            let Some((stem, write_id, kind, ext)) = parse_name(name) else {
                foreign += 1;
                continue;
            };
            let partner = format!("{stem}.{}", if ext == "json" { "orig" } else { "json" });
            if !names.contains(&partner) {
                aside(name, &format!("a half journal entry {name}"), &mut notes);
                continue;
            }
            if ext != "json" {
                continue;
            }
            let entry = self
                .read_entry(name, MAX_RECORD_BYTES)
                .and_then(|b| {
                    serde_json::from_slice::<JournalEntry>(&b).map_err(|e| format!("{name}: {e}"))
                })
                .and_then(|e| {
                    let matches = e.write_id == write_id && e.kind == kind;
                    matches
                        .then_some(e)
                        .ok_or_else(|| format!("{name} does not match its name"))
                })
                .and_then(|e| self.open_entry(&partner, MAX_WRITE_BYTES).map(|_| e));
            match entry {
                Ok(entry) => out.push(Pending {
                    entry,
                    stem: stem.to_string(),
                }),
                Err(why) => {
                    aside(
                        name,
                        &format!("an unreadable journal entry ({why})"),
                        &mut notes,
                    );
                    aside(&partner, &format!("its copy {partner}"), &mut notes);
                }
            }
        }
        if foreign > 0 {
            notes.messages.push(format!(
                "{foreign} files in {} are not Sonotag's; they were left alone",
                self.dir.display()
            ));
        }
        self.sync_dir();
        out.sort_by_key(|p| p.entry.write_id);
        (out, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(from: &[u8], to: &[u8]) -> usize {
        let p = Patch::between(from, to).expect("patch");
        let p = Patch::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(p.apply(from).unwrap(), to);
        p.payload()
    }

    #[test]
    fn patches_stay_small_for_tag_shaped_changes() {
        let audio: Vec<u8> = (0..200_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        // A front tag that grows: one hunk around the tag.
        let old = [b"ID3 old tag".as_slice(), &audio].concat();
        let new = [b"ID3 a new, longer tag".as_slice(), &audio].concat();
        assert!(round_trip(&new, &old) < 32);
        // A size field at the front and a tag at the end (WAV).
        let mut old = [b"RIFF\x10\0\0\0".as_slice(), &audio, b"id3 old"].concat();
        let mut new = [b"RIFF\x20\0\0\0".as_slice(), &audio, b"id3 newer one"].concat();
        assert!(round_trip(&new, &old) < 64);
        assert!(round_trip(&old, &new) < 64);
        // Equal, empty and unrelated contents.
        assert_eq!(round_trip(&old, &old), 0);
        assert_eq!(round_trip(&[], b"abc"), 3);
        assert_eq!(round_trip(b"abc", &[]), 0);
        old.truncate(10);
        new.truncate(3);
        round_trip(&old, &new);
    }

    #[test]
    fn damaged_patches_are_refused() {
        let p = Patch::between(b"hello world", b"hello there world").unwrap();
        let bytes = p.to_bytes();
        assert!(Patch::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(p.apply(b"hi").is_none());
    }

    #[test]
    fn in_place_write_reaches_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        for (a, b) in [
            (b"0123456789".to_vec(), b"01x3456789yz".to_vec()),
            (b"0123456789".to_vec(), b"0".to_vec()),
            (vec![7u8; 10_000], vec![8u8; 9_000]),
        ] {
            std::fs::write(&path, &a).unwrap();
            let mut f = LockedFile::open(&path).unwrap();
            f.write(&b, false).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b);
        }
    }

    #[test]
    fn a_torn_write_is_restored_through_the_held_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut f = LockedFile::open(&path).unwrap();
        assert_eq!(f.write(b"abcdefghijKL", true).unwrap_err(), INTERRUPTED);
        assert_ne!(std::fs::read(&path).unwrap(), b"0123456789");
        f.restore().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
    }

    #[test]
    fn an_edit_by_another_program_is_noticed_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"original").unwrap();
        let f = LockedFile::open(&path).unwrap();
        assert!(f.unchanged());
        // flock is advisory: a program that ignores it can still write.
        std::fs::write(&path, b"edited elsewhere").unwrap();
        assert!(!f.unchanged());
    }

    #[test]
    fn journal_lists_complete_entries_and_sets_torn_ones_aside() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.sqlite");
        let j = Journal::open(&lib, true).unwrap().unwrap();
        let e = JournalEntry::new(3, WriteKind::Apply, Path::new("/m/a.mp3"), b"a", b"b");
        let p = j.begin(e, b"a").unwrap();
        std::fs::write(j.dir.join("9-apply-1-2.orig"), b"x").unwrap();
        std::fs::write(j.dir.join("8-apply-1-2.json"), b"{torn").unwrap();
        std::fs::write(j.dir.join("8-apply-1-2.orig"), b"y").unwrap();
        std::fs::write(j.dir.join("notes.json"), b"{}").unwrap();
        let (pending, notes) = j.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].entry.write_id, 3);
        assert_eq!(j.original_bytes(&pending[0]).unwrap(), b"a");
        assert_eq!(notes.messages.len(), 4, "{notes:?}");
        // Nothing was deleted: the torn halves are in kept/, the stranger
        // stayed where it was.
        assert!(j.kept_dir().join("9-apply-1-2.orig").exists());
        assert!(j.kept_dir().join("8-apply-1-2.json").exists());
        assert!(j.dir.join("notes.json").exists());
        j.finish(p);
        assert!(j.pending().0.is_empty());
    }

    #[test]
    fn only_a_private_folder_of_ones_own_is_a_journal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.sqlite");
        let docs = dir.path().join("docs");
        std::fs::create_dir(&docs).unwrap();
        std::os::unix::fs::symlink(&docs, dir.path().join("lib.sqlite.tag-journal")).unwrap();
        let err = Journal::open(&lib, true).err().unwrap();
        assert!(err.contains("symlink"), "{err}");
        std::fs::remove_file(dir.path().join("lib.sqlite.tag-journal")).unwrap();
        let j = dir.path().join("lib.sqlite.tag-journal");
        std::fs::create_dir(&j).unwrap();
        std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = Journal::open(&lib, true).err().unwrap();
        assert!(err.contains("mode 777"), "{err}");
        std::fs::set_permissions(&j, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(Journal::open(&lib, false).unwrap().is_some());
    }

    #[test]
    fn pipes_links_and_huge_files_in_the_journal_are_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.sqlite");
        let j = Journal::open(&lib, true).unwrap().unwrap();
        let fifo = c_path(&j.dir.join("9-apply-1-1.json")).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(j.dir.join("9-apply-1-1.orig"), b"x").unwrap();
        std::os::unix::fs::symlink("/dev/zero", j.dir.join("8-apply-1-1.json")).unwrap();
        std::fs::write(j.dir.join("8-apply-1-1.orig"), b"x").unwrap();
        std::fs::write(j.dir.join("7-apply-1-1.json"), vec![b' '; 1 << 20]).unwrap();
        std::fs::write(j.dir.join("7-apply-1-1.orig"), b"x").unwrap();
        let (pending, notes) = j.pending();
        assert!(pending.is_empty());
        assert_eq!(notes.messages.len(), 6, "{notes:?}");
    }

    #[test]
    fn one_writer_per_library() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.sqlite");
        let held = WriteLock::acquire(&lib).unwrap();
        let err = WriteLock::acquire(&lib).err().unwrap().to_string();
        assert!(err.contains("another Sonotag"), "{err}");
        drop(held);
        WriteLock::acquire(&lib).unwrap();
    }
}
