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
//! instead ([`super::journal`]): before a file is touched, its original bytes
//! and the hashes of its contents before and after are saved and synced in
//! the library's journal folder; recovery completes or rolls back what a
//! crash or kill interrupted.
//!
//! Also here: the library-wide [`WriteLock`], the advisory lock and the
//! re-check of size and modification time around each write (an edit made
//! by another program meanwhile is never overwritten), and [`Patch`], the
//! changed byte ranges that let undo restore a file's exact previous bytes.

mod lock;
mod patch;
mod rewrite;
mod stamp;

pub use lock::WriteLock;
pub use patch::Patch;
use patch::{Hunk, write_in_place};
pub use rewrite::Rewrite;
use rewrite::Segment;
pub(crate) use stamp::beside;
use stamp::describe_io;
pub use stamp::{Stamp, describe_full, identity_text, sha256_hex};

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Files larger than this are not rewritten: both versions are held in
/// memory while a write is prepared.
pub const MAX_WRITE_BYTES: u64 = 1 << 30;

/// A reverse patch larger than this is not kept; undo then rewrites the tag
/// instead of restoring the bytes (and says so).
const MAX_PATCH_BYTES: usize = 32 << 20;

/// Above this size a file is never held whole: only a window at each end
/// (where tags live) is read, the rest stays on disk and is moved there.
/// `SONOTAG_LARGE_FILE_BYTES` lowers it for tests.
pub fn large_file_bytes() -> u64 {
    std::env::var("SONOTAG_LARGE_FILE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 << 20)
}

/// The window read at each end of a large file.
fn window(len: u64) -> usize {
    (large_file_bytes() / 4).clamp(4096, 16 << 20).min(len / 2) as usize
}

/// Bytes copied at a time when a large file is hashed, copied or moved.
const CHUNK: usize = 4 << 20;

/// Calls `f` with the bytes of `file` in `from..from + len`, a chunk at a
/// time.
fn for_chunks(
    file: &File,
    from: u64,
    len: u64,
    mut f: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK.min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let n = CHUNK.min((len - done) as usize);
        file.read_exact_at(&mut buf[..n], from + done)?;
        f(&buf[..n])?;
        done += n as u64;
    }
    Ok(())
}

/// The SHA-256 of the file at `path`, read a chunk at a time.
pub fn sha256_of_path(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A track file opened for rewriting: exclusively locked, its bytes read.
pub struct LockedFile {
    file: File,
    pub path: PathBuf,
    /// The whole file, or for a large file an image of its length holding
    /// only the window at each end (zeros between, never resident).
    pub bytes: Vec<u8>,
    /// The stamp when the bytes were read.
    pub stamp: Stamp,
    whole: bool,
    /// The file's SHA-256, once computed (a large file is read whole for
    /// it: the check before undo and the journal's record share one read).
    sha256: std::cell::OnceCell<String>,
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
        let len = meta.len();
        let whole = len <= large_file_bytes();
        let bytes = if whole {
            let mut bytes = Vec::with_capacity(len as usize);
            (&file)
                .read_to_end(&mut bytes)
                .map_err(|e| describe_io("cannot read the file", &e))?;
            bytes
        } else {
            // Zeroed memory is only mapped, never resident, until written:
            // the middle of the image costs nothing.
            let mut bytes = vec![0u8; len as usize];
            let w = window(len);
            let tail = len as usize - w;
            file.read_exact_at(&mut bytes[..w], 0)
                .and_then(|_| file.read_exact_at(&mut bytes[tail..], tail as u64))
                .map_err(|e| describe_io("cannot read the file", &e))?;
            bytes
        };
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
            whole,
            sha256: std::cell::OnceCell::new(),
        })
    }

    /// Whether `bytes` holds the whole file (else it is a large file's image).
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// The SHA-256 of the file as it is on disk (of `bytes` when whole).
    pub fn sha256(&self) -> Result<String, String> {
        if let Some(known) = self.sha256.get() {
            return Ok(known.clone());
        }
        let found = if self.whole {
            sha256_hex(&self.bytes)
        } else {
            let mut h = Sha256::new();
            for_chunks(&self.file, 0, self.stamp.size, |c| {
                h.update(c);
                Ok(())
            })
            .map_err(|e| describe_io("cannot read the file", &e))?;
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        };
        Ok(self.sha256.get_or_init(|| found).clone())
    }

    /// Copies the file's current contents into `out`.
    pub fn copy_to(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        if self.whole {
            return out.write_all(&self.bytes);
        }
        for_chunks(&self.file, 0, self.stamp.size, |c| out.write_all(c))
    }

    /// The SHA-256 the file will have after `rewrite`.
    pub fn sha256_after(&self, rewrite: &Rewrite) -> Result<String, String> {
        let mut h = Sha256::new();
        for seg in rewrite.segments() {
            match seg {
                Segment::Kept { from, len, .. } => for_chunks(&self.file, from, len, |c| {
                    h.update(c);
                    Ok(())
                })
                .map_err(|e| describe_io("cannot read the file", &e))?,
                Segment::New { splice, .. } => h.update(&rewrite.splices[splice].1),
            }
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The patch that undoes `rewrite`: each replaced range's original
    /// bytes, at its place in the rewritten file.
    pub fn reverse_patch(&self, rewrite: &Rewrite) -> Result<Patch, String> {
        let mut hunks = Vec::new();
        for seg in rewrite.segments() {
            if let Segment::New { splice, to } = seg {
                let (range, new) = &rewrite.splices[splice];
                let mut original = vec![0u8; range.len()];
                self.file
                    .read_exact_at(&mut original, range.start as u64)
                    .map_err(|e| describe_io("cannot read the file", &e))?;
                hunks.push(Hunk {
                    offset: to,
                    remove: new.len() as u64,
                    insert: original,
                });
            }
        }
        Ok(Patch { hunks })
    }

    /// Rewrites a large file in place as `rewrite` says, moving the kept
    /// spans on disk a chunk at a time, then syncs it. With `stop_midway`
    /// it moves one chunk and stops, as a kill would.
    pub fn rewrite(&mut self, rewrite: &Rewrite, stop_midway: bool) -> Result<Stamp, String> {
        // The contents change: a hash computed before no longer holds.
        self.sha256.take();
        rewrite
            .apply_in_place(&self.file, stop_midway)
            .map_err(|e| format!("cannot write the file: {}", describe_full(&e)))?;
        if stop_midway {
            return Err(INTERRUPTED.into());
        }
        self.restamp()
    }

    /// Replaces the file's contents with those of `source` (a journal's
    /// copy), a chunk at a time, then syncs it.
    pub fn restore_from(&mut self, source: &File) -> Result<Stamp, String> {
        // The contents change: a hash computed before no longer holds.
        self.sha256.take();
        let len = source
            .metadata()
            .map_err(|e| describe_io("cannot read the journal", &e))?
            .len();
        let mut at = 0u64;
        for_chunks(source, 0, len, |c| {
            self.file.write_all_at(c, at)?;
            at += c.len() as u64;
            Ok(())
        })
        .and_then(|_| self.file.set_len(len))
        .and_then(|_| self.file.sync_all())
        .map_err(|e| format!("cannot restore the file: {}", describe_full(&e)))?;
        self.restamp()
    }

    /// True when the file on disk still has the stamp it had when read.
    pub fn unchanged(&self) -> bool {
        self.file.metadata().map(|m| Stamp::of(&m)).ok() == Some(self.stamp)
    }

    /// Rewrites the file in place from its read bytes to `target`, writing
    /// only the ranges that differ, then syncs it. With `stop_midway` it
    /// writes part of the first range and stops, as a kill would.
    pub fn write(&mut self, target: &[u8], stop_midway: bool) -> Result<Stamp, String> {
        // The contents change: a hash computed before no longer holds.
        self.sha256.take();
        write_in_place(&self.file, &self.bytes, target, stop_midway)
            .map_err(|e| format!("cannot write the file: {}", describe_full(&e)))?;
        if stop_midway {
            return Err(INTERRUPTED.into());
        }
        self.bytes = target.to_vec();
        self.restamp()
    }

    /// Reads the stamp again after the file was written.
    fn restamp(&mut self) -> Result<Stamp, String> {
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
        // The contents change: a hash computed before no longer holds.
        self.sha256.take();
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
            .map_err(|e| format!("cannot restore the file: {}", describe_full(&e)))?;
        self.restamp()
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
    fn a_full_disk_is_called_so() {
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(describe_full(&full), "disk full");
        assert!(describe_io("cannot write", &full).ends_with("disk full"));
        let quota = std::io::Error::from_raw_os_error(libc::EDQUOT);
        assert_eq!(describe_full(&quota), "disk full");
    }

    #[test]
    fn a_rewrite_moves_spans_both_ways_in_small_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let original: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let cases: Vec<Vec<(std::ops::Range<usize>, Vec<u8>)>> = vec![
            // A front tag that grows, a middle that shrinks, an end that grows.
            vec![
                (0..10, vec![1; 700]),
                (5000..5600, vec![2; 20]),
                (9990..10_000, vec![3; 333]),
            ],
            // Shrinks at the front, grows in the middle.
            vec![(0..900, vec![4; 3]), (4000..4001, vec![5; 2500])],
            // Only same-size replacements.
            vec![(100..110, vec![6; 10])],
        ];
        for splices in cases {
            std::fs::write(&path, &original).unwrap();
            let mut expected = Vec::new();
            let mut at = 0;
            for (r, b) in &splices {
                expected.extend_from_slice(&original[at..r.start]);
                expected.extend_from_slice(b);
                at = r.end;
            }
            expected.extend_from_slice(&original[at..]);
            let rewrite = Rewrite::new(original.len() as u64, splices);
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            rewrite.apply_in_chunks(&file, false, 97).unwrap();
            assert_eq!(rewrite.len_after(), expected.len() as u64);
            assert!(std::fs::read(&path).unwrap() == expected);
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
