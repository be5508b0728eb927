//! Writing planned genres as a batch: each file under the write lock,
//! re-checked, journaled, rewritten in place and recorded ([`super::undo`]
//! takes a batch back the same way).

use super::in_place::{
    INTERRUPTED, Interrupt, LockedFile, Patch, Rewrite, Stamp, WriteLock, large_file_bytes,
    sha256_hex,
};
use super::journal::{Journal, JournalEntry, Pending};
use super::recover::{Recovered, recover_locked};
use super::{Action, GenreState, PlannedWrite, WriteSettings, genre_splices, plan, with_genres};
use crate::cancel::Cancel;
use crate::store::{Library, LibraryError, NewWrite, WriteKind};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What happened to one file in an apply or undo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    #[serde(serialize_with = "crate::store::serialize_path_str")]
    pub path: PathBuf,
    /// `None` when written; the reason otherwise.
    pub error: Option<String>,
}

/// The result of an apply.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyReport {
    pub batch_id: Option<i64>,
    pub written: usize,
    pub kept_existing: usize,
    /// Planned files in formats no editor here writes (WMA, DSD…).
    pub not_written: usize,
    /// Planned files that already hold their genre (written meanwhile by
    /// another Sonotag): not written again.
    pub already_written: usize,
    pub outcomes: Vec<FileOutcome>,
    /// Interrupted writes of an earlier run that were resolved first.
    pub recovered: Vec<Recovered>,
    /// Stopped by the user before the end; the rest of the plan is unwritten.
    pub cancelled: bool,
}

impl std::fmt::Display for ApplyReport {
    /// The one-line summary both the window and the command line show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::words::counted;
        let errors = self.outcomes.len() - self.written;
        let files = |n| counted(n, "file", "files");
        let mut left = Vec::new();
        if self.kept_existing > 0 {
            left.push(format!("{} kept their genre", files(self.kept_existing)));
        }
        if self.not_written > 0 {
            left.push(format!(
                "{} in formats Sonotag does not write",
                files(self.not_written)
            ));
        }
        let left = left.join(", ");
        match self.batch_id {
            None if self.already_written > 0 => write!(
                f,
                "nothing to write: {} already hold their new genre{}",
                files(self.already_written),
                if left.is_empty() {
                    String::new()
                } else {
                    format!(", {left}")
                }
            ),
            None => write!(f, "nothing written: {left}"),
            Some(batch) => write!(
                f,
                "batch {batch}: {} written, {}{}{}; undo restores what was written",
                files(self.written),
                counted(errors, "error", "errors"),
                if left.is_empty() {
                    String::new()
                } else {
                    format!(", {left}")
                },
                if self.cancelled {
                    "; cancelled, the rest is not written"
                } else {
                    ""
                }
            ),
        }
    }
}

/// How a caller follows a long write or undo: `progress(done, total, file)`
/// after each file, and `cancel` checked before each one.
pub struct Watch<'a> {
    pub cancel: &'a Cancel,
    pub progress: &'a mut dyn FnMut(usize, usize, &Path),
}

/// What a write makes of a file: its whole new bytes, or for a large file
/// the ranges that change and the hash the result will have.
pub(super) enum Target<'a> {
    Bytes {
        bytes: &'a [u8],
        after_sha256: String,
    },
    Rewrite {
        rewrite: &'a Rewrite,
        after_sha256: String,
    },
}

/// Writes `target` into `file` under the journal. Returns the new stamp and
/// the journal entry, which the caller finishes once the library knows.
pub(super) fn journaled_write(
    journal: &Journal,
    file: &mut LockedFile,
    target: Target,
    write_id: i64,
    kind: WriteKind,
    interrupt: Option<Interrupt>,
) -> Result<(Stamp, Pending), String> {
    let pending = match &target {
        Target::Bytes { after_sha256, .. } => journal.begin(
            JournalEntry::with_hashes(
                write_id,
                kind,
                &file.path,
                file.sha256()?,
                after_sha256.clone(),
            ),
            &file.bytes,
        )?,
        Target::Rewrite { after_sha256, .. } => {
            let entry = JournalEntry::with_hashes(
                write_id,
                kind,
                &file.path,
                file.sha256()?,
                after_sha256.clone(),
            );
            journal.begin_with(entry, &mut |f| file.copy_to(f))?
        }
    };
    if interrupt == Some(Interrupt::AfterJournal) {
        return Err(INTERRUPTED.into());
    }
    // The last look before writing: another program's edit since the file
    // was read would otherwise be overwritten.
    if !file.unchanged() {
        journal.finish(pending);
        return Err(
            "another program changed the file while Sonotag was preparing the write; \
             nothing was changed: rescan and apply again"
                .into(),
        );
    }
    let stop_midway = interrupt == Some(Interrupt::MidWrite);
    let written = match &target {
        Target::Bytes { bytes, .. } => file.write(bytes, stop_midway),
        Target::Rewrite { rewrite, .. } => file.rewrite(rewrite, stop_midway),
    };
    match written {
        Ok(stamp) => {
            if interrupt == Some(Interrupt::AfterWrite) {
                return Err(INTERRUPTED.into());
            }
            Ok((stamp, pending))
        }
        Err(e) if e == INTERRUPTED => Err(e),
        Err(e) => {
            // A failed write (a full disk, say) may have changed part of
            // the file: put the original back now, or leave the journal
            // for the next start.
            let restored = if file.is_whole() {
                file.restore()
            } else {
                journal
                    .original_file(&pending)
                    .and_then(|source| file.restore_from(&source))
            };
            match restored {
                Ok(_) => {
                    journal.finish(pending);
                    Err(format!("{e}; the file was restored"))
                }
                Err(_) => Err(format!(
                    "{e}; Sonotag will restore the file the next time it starts"
                )),
            }
        }
    }
}

/// Records in the library that a journaled write reached the file.
pub(super) fn land(
    lib: &mut Library,
    write_id: i64,
    kind: WriteKind,
    stamp: Stamp,
) -> Result<(), String> {
    let w = lib
        .tag_write(write_id)
        .map_err(|e| e.to_string())?
        .ok_or("the write vanished from the library")?;
    let state = match kind {
        WriteKind::Apply => &w.new_state,
        WriteKind::Undo => &w.old_state,
    };
    let genres = serde_json::from_str::<GenreState>(state)
        .map(|s| s.genres)
        .unwrap_or_default();
    lib.record_landed(
        write_id,
        kind,
        &genres,
        (stamp.size, stamp.mtime_ns),
        &stamp.identity_text(),
    )
    .map_err(|e| e.to_string())
}

/// SQLite's "database or disk is full" as the user needs it: which disk.
fn disk_full_in_words(error: &str, library: &Path) -> String {
    if error.contains("disk is full") || error.contains("disk I/O error") {
        format!(
            "disk full, or the disk failed, at the library {}",
            library.display()
        )
    } else {
        error.to_string()
    }
}

/// Records that a journaled write left the file as it was (with `stamp`,
/// which a rollback changes); an apply's row keeps `why` as its error.
pub(super) fn land_unchanged(
    lib: &mut Library,
    write_id: i64,
    kind: WriteKind,
    stamp: Stamp,
    why: &str,
) -> Result<(), LibraryError> {
    lib.record_unchanged(
        write_id,
        kind,
        why,
        (stamp.size, stamp.mtime_ns),
        &stamp.identity_text(),
    )
}

/// Writes the planned genres (`Fill` and `Replace` lines) as one batch.
pub fn apply(
    lib: &mut Library,
    planned: &[PlannedWrite],
    settings: WriteSettings,
) -> anyhow::Result<ApplyReport> {
    apply_until(lib, planned, settings, None)
}

/// [`apply`] that stops at `interrupt` in the first file, as a kill would.
#[doc(hidden)]
pub fn apply_until(
    lib: &mut Library,
    planned: &[PlannedWrite],
    settings: WriteSettings,
    interrupt: Option<Interrupt>,
) -> anyhow::Result<ApplyReport> {
    let cancel = Cancel::new();
    apply_watched(
        lib,
        planned,
        settings,
        Watch {
            cancel: &cancel,
            progress: &mut |_, _, _| {},
        },
        interrupt,
    )
}

/// [`apply`] with progress after each file, stopping between files when
/// `watch.cancel` is set (what is written stays written, and undoable).
pub fn apply_watched(
    lib: &mut Library,
    planned: &[PlannedWrite],
    settings: WriteSettings,
    watch: Watch,
    interrupt: Option<Interrupt>,
) -> anyhow::Result<ApplyReport> {
    let _lock = WriteLock::acquire(lib.path())?;
    let recovered = recover_locked(lib);
    let journal = Journal::open(lib.path(), true)
        .map_err(anyhow::Error::msg)?
        .expect("created when missing");
    let wanted: Vec<&PlannedWrite> = planned.iter().filter(|p| p.action.writes()).collect();
    // What another Sonotag wrote while this one waited for the lock is not
    // written again: only what the library still plans is.
    let still_planned = plan(lib, settings)?;
    let todo: Vec<&PlannedWrite> = wanted
        .iter()
        .copied()
        .filter(|p| {
            still_planned
                .iter()
                .any(|q| q.track_id == p.track_id && q.new_genres == p.new_genres)
        })
        .collect();
    let mut report = ApplyReport {
        batch_id: None,
        written: 0,
        kept_existing: planned
            .iter()
            .filter(|p| p.action == Action::KeepExisting)
            .count(),
        not_written: planned
            .iter()
            .filter(|p| p.action == Action::Unwritable)
            .count(),
        already_written: wanted.len() - todo.len(),
        outcomes: Vec::new(),
        recovered,
        cancelled: false,
    };
    if todo.is_empty() {
        return Ok(report);
    }
    let batch_id = lib.new_batch()?;
    report.batch_id = Some(batch_id);
    let total = todo.len();
    // Hard links: one file, one write; its other names are recorded with it.
    let mut written_files: std::collections::HashMap<(u64, u64), Written> = Default::default();
    for (done, p) in todo.into_iter().enumerate() {
        if watch.cancel.is_cancelled() {
            report.cancelled = true;
            break;
        }
        (watch.progress)(done, total, &p.path);
        let inode = inode_of(&p.path);
        let outcome = match inode.and_then(|i| written_files.get(&i)) {
            Some(written) => record_other_name(lib, batch_id, p, written),
            None => write_one(lib, &journal, batch_id, p, settings, interrupt).map(|written| {
                if let Some(i) = inode {
                    written_files.insert(i, written);
                }
            }),
        };
        if outcome.as_ref().err().map(String::as_str) == Some(INTERRUPTED) {
            return Ok(report);
        }
        if outcome.is_ok() {
            report.written += 1;
        }
        report.outcomes.push(FileOutcome {
            path: p.path.clone(),
            error: outcome.err(),
        });
        (watch.progress)(done + 1, total, &p.path);
    }
    Ok(report)
}

/// What a write left, for the other names of the same file.
struct Written {
    genres: Vec<String>,
    old_state: String,
    new_state: String,
    written_sha256: String,
}

/// The device and inode of the file at `path`: names with the same are one
/// file (hard links).
pub(super) fn inode_of(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Records another name of a file that was just written (a hard link) as
/// written too: the same bytes reached it.
fn record_other_name(
    lib: &mut Library,
    batch_id: i64,
    p: &PlannedWrite,
    written: &Written,
) -> Result<(), String> {
    if p.new_genres != written.genres {
        return Err(format!(
            "another name of this file (a hard link) was just given {}; one file holds one \
             set of genres, so {} was not written",
            written.genres.join("; "),
            p.new_genres.join("; ")
        ));
    }
    let track = lib
        .track(p.track_id)
        .map_err(|e| e.to_string())?
        .ok_or("track vanished from the library")?;
    let stamp = Stamp::of_path(&p.path)?;
    let write_id = lib
        .record_write(&NewWrite {
            batch_id,
            track_id: p.track_id,
            old_state: &written.old_state,
            new_state: &written.new_state,
            stamp_before: (track.size, track.mtime_ns),
            written_sha256: &written.written_sha256,
            undo_patch: None,
        })
        .map_err(|e| e.to_string())?;
    land(lib, write_id, WriteKind::Apply, stamp)
}

fn write_one(
    lib: &mut Library,
    journal: &Journal,
    batch_id: i64,
    p: &PlannedWrite,
    settings: WriteSettings,
    interrupt: Option<Interrupt>,
) -> Result<Written, String> {
    let track = lib
        .track(p.track_id)
        .map_err(|e| e.to_string())?
        .ok_or("track vanished from the library")?;
    let mut file = LockedFile::open(&p.path)?;
    if file.stamp.size != track.size || file.stamp.mtime_ns != track.mtime_ns {
        return Err("file changed since it was scanned: rescan, review, then apply again".into());
    }
    // Same size and time, yet another file (swapped in, or its inode's
    // status changed): not the file that was reviewed.
    if lib
        .track_identity(track.id)
        .map_err(|e| e.to_string())?
        .is_some_and(|known| known != file.stamp.identity_text())
    {
        return Err(
            "file changed since it was scanned (it was replaced, or its owner, mode or links \
             changed): rescan, review, then apply again"
                .into(),
        );
    }
    let new = GenreState {
        genres: p.new_genres.clone(),
        tag: true,
    };
    // A large file is never held whole: its tags are edited in an image of
    // its ends and the rest moved on disk.
    let (old, whole_target, rewrite) = if file.is_whole() {
        let (old, target) = with_genres(&file.bytes, &p.path, &new, settings)?;
        (old, Some(target), None)
    } else {
        if file.bytes.starts_with(b"OggS") {
            return Err(format!(
                "an Ogg file over {} MiB: its pages run through the whole file, and Sonotag \
                 does not rewrite those without reading it all; the file was not changed",
                large_file_bytes() >> 20
            ));
        }
        let (old, splices) = genre_splices(&file.bytes, &p.path, &new, settings)?;
        let rewrite = Rewrite::new(file.stamp.size, splices.sorted(file.bytes.len())?);
        (old, None, Some(rewrite))
    };
    // The plan said "fills an empty genre" from what the scan read; the
    // exact parse may find a genre the scan's reader missed. Replacing it
    // needs the user's leave, as any replacement does.
    if p.action == Action::Fill && !old.genres.is_empty() {
        return Err(format!(
            "the file already has a genre ({}) that the scan did not read; replacing is off, \
             so it was kept: allow replacing for this track to write it",
            old.genres.join("; ")
        ));
    }
    let (written_sha256, undo_patch) = match (&whole_target, &rewrite) {
        (Some(target), _) => (
            sha256_hex(target),
            Patch::between(target, &file.bytes).map(|p| p.to_bytes()),
        ),
        (None, Some(rewrite)) => {
            let patch = file.reverse_patch(rewrite)?;
            (
                file.sha256_after(rewrite)?,
                patch.keepable().then(|| patch.to_bytes()),
            )
        }
        (None, None) => unreachable!("one of the two is made above"),
    };
    // Record the old state before touching the file.
    let old_state = serde_json::to_string(&old).expect("serialises");
    let new_state = serde_json::to_string(&new).expect("serialises");
    let write_id = lib
        .record_write(&NewWrite {
            batch_id,
            track_id: p.track_id,
            old_state: &old_state,
            new_state: &new_state,
            stamp_before: (file.stamp.size, file.stamp.mtime_ns),
            written_sha256: &written_sha256,
            undo_patch: undo_patch.as_deref(),
        })
        .map_err(|e| e.to_string())?;
    if interrupt == Some(Interrupt::BeforeJournal) {
        return Err(INTERRUPTED.into());
    }
    let target = match (&whole_target, &rewrite) {
        (Some(bytes), _) => Target::Bytes {
            bytes,
            after_sha256: written_sha256.clone(),
        },
        (None, Some(rewrite)) => Target::Rewrite {
            rewrite,
            after_sha256: written_sha256.clone(),
        },
        (None, None) => unreachable!("one of the two is made above"),
    };
    match journaled_write(
        journal,
        &mut file,
        target,
        write_id,
        WriteKind::Apply,
        interrupt,
    ) {
        Ok((stamp, pending)) => match land(lib, write_id, WriteKind::Apply, stamp) {
            Ok(()) => {
                journal.finish(pending);
                Ok(Written {
                    genres: p.new_genres.clone(),
                    old_state,
                    new_state,
                    written_sha256,
                })
            }
            // The journal entry stays: the next start records the write.
            Err(e) => Err(format!(
                "written, but the library could not record it ({}); it will be recorded \
                 the next time Sonotag starts",
                disk_full_in_words(&e, lib.path())
            )),
        },
        Err(e) if e == INTERRUPTED => Err(e),
        Err(e) => {
            lib.record_write_error(write_id, &e)
                .map_err(|e| e.to_string())?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_library_on_a_full_disk_says_which_disk() {
        let said = super::disk_full_in_words(
            "database or disk is full",
            std::path::Path::new("/m/lib.sqlite"),
        );
        assert_eq!(
            said,
            "disk full, or the disk failed, at the library /m/lib.sqlite"
        );
        assert_eq!(
            super::disk_full_in_words("locked", std::path::Path::new("/x")),
            "locked"
        );
    }
}
