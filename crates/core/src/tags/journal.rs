//! The journal of writes in progress: a folder beside the library that
//! holds, for each file being rewritten, its original bytes and a record of
//! the write (the library's write id, the path, the hashes before and after).
//!
//! It is the one place another user could try to plant something, so it is
//! trusted only when it is the running user's own private folder, and every
//! file in it is reached through the folder that was checked: never through
//! a symlink, never blocking on a pipe, only regular files of a bounded
//! size. What it cannot vouch for it moves to `kept/`; it deletes only the
//! two files of an entry it made and resolved.

use super::in_place::{MAX_WRITE_BYTES, beside, describe_full, sha256_hex};
use crate::store::{WriteKind, path_bytes, path_from_bytes};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

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

    /// An entry whose hashes were computed as the file streamed by.
    pub fn with_hashes(
        write_id: i64,
        kind: WriteKind,
        path: &Path,
        before_sha256: String,
        after_sha256: String,
    ) -> Self {
        Self {
            write_id,
            kind,
            path: path_bytes(path),
            before_sha256,
            after_sha256,
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
    /// user, lets `write` fill it, and syncs it.
    fn create_in(
        fd: std::os::fd::RawFd,
        shown: &Path,
        name: &str,
        write: &mut dyn FnMut(&mut File) -> std::io::Result<()>,
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
        write(&mut f)
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
        self.begin_with(entry, &mut |f| f.write_all(original))
    }

    /// [`Journal::begin`], the original bytes written by `write` (a large
    /// file copies itself in a chunk at a time).
    pub fn begin_with(
        &self,
        entry: JournalEntry,
        write: &mut dyn FnMut(&mut File) -> std::io::Result<()>,
    ) -> Result<Pending, String> {
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
        Self::create_in(self.raw(), &self.dir, &format!("{stem}.orig"), write)?;
        let record = serde_json::to_vec(&entry).expect("journal entries serialise");
        if let Err(e) = Self::create_in(self.raw(), &self.dir, &format!("{stem}.json"), &mut |f| {
            f.write_all(&record)
        }) {
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

    /// The journal's copy of the file, checked against the hash the entry
    /// recorded (read a chunk at a time), ready to be read from the start.
    pub fn original_file(&self, pending: &Pending) -> Result<File, String> {
        use sha2::Digest;
        let name = format!("{}.orig", pending.stem);
        let mut file = self.open_entry(&name, MAX_WRITE_BYTES)?;
        let mut h = sha2::Sha256::new();
        std::io::copy(&mut file, &mut h).map_err(|e| format!("{name}: {e}"))?;
        let found: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if found != pending.entry.before_sha256 {
            return Err("the journal's copy of the file does not match its record".into());
        }
        Ok(file)
    }

    /// Moves the journal's copy of the file into the kept folder (its track
    /// vanished) and returns where.
    pub fn keep_original(&self, pending: &Pending) -> Result<PathBuf, String> {
        let kept = self.set_aside(&format!("{}.orig", pending.stem))?;
        self.sync_dir();
        Ok(kept)
    }

    fn kept_fd(&self) -> Result<std::os::fd::OwnedFd, String> {
        open_private_dir(Some(&self.fd), &self.kept_dir(), true)?
            .ok_or_else(|| "cannot open the kept folder".to_string())
    }

    /// Keeps `bytes` (the file as recovery found it) in the kept folder and
    /// returns where.
    pub fn keep(&self, pending: &Pending, bytes: &[u8]) -> Result<PathBuf, String> {
        self.keep_with(pending, &mut |f| f.write_all(bytes))
    }

    /// [`Journal::keep`], the bytes written by `write`.
    pub fn keep_with(
        &self,
        pending: &Pending,
        write: &mut dyn FnMut(&mut File) -> std::io::Result<()>,
    ) -> Result<PathBuf, String> {
        use std::os::fd::AsRawFd;
        let kept = self.kept_fd()?;
        let name = pending
            .entry
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().replace('/', "_"))
            .unwrap_or_else(|| "track".into());
        let name = format!("{}-{name}", pending.stem);
        Self::create_in(kept.as_raw_fd(), &self.kept_dir(), &name, write)?;
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
}
