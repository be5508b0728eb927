//! Undoing a written batch: each file restored to its exact previous bytes
//! (from the patch kept at write time), under the same lock, checks and
//! journal as a write; a file changed since is refused, not overwritten.

use super::in_place::{LockedFile, Patch, Rewrite, Stamp, WriteLock, sha256_hex};
use super::journal::Journal;
use super::recover::recover_locked;
use super::write::*;
use super::{GenreState, WriteSettings, genre_splices, with_genres};
use crate::cancel::Cancel;
use crate::store::{Batch, BatchState, Library, TagWrite, WriteKind};
use serde::Serialize;

/// The result of an undo.
#[derive(Clone, Debug, Serialize)]
pub struct UndoReport {
    pub batch_id: i64,
    pub outcomes: Vec<FileOutcome>,
    /// Stopped by the user before the end; the batch stays open.
    pub cancelled: bool,
}

impl std::fmt::Display for UndoReport {
    /// The one-line summary of an undo, for the window and the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failed = self.outcomes.iter().filter(|o| o.error.is_some()).count();
        let restored = self.outcomes.len() - failed;
        let batch = self.batch_id;
        if self.cancelled {
            write!(
                f,
                "batch {batch}: undo cancelled after {restored} files restored, {failed} errors; \
                 the batch stays open: undo again to finish it"
            )
        } else if failed == 0 {
            write!(f, "batch {batch} undone: {restored} files restored")
        } else {
            write!(
                f,
                "batch {batch}: {restored} files restored, {failed} errors; \
                 the batch stays open: undo again once they are dealt with"
            )
        }
    }
}

/// Tag-write batches, newest first.
pub fn batches(lib: &Library) -> anyhow::Result<Vec<Batch>> {
    Ok(lib.batches()?)
}

/// What undo writes: the exact previous bytes where Sonotag kept a patch
/// and the file is as Sonotag wrote it; otherwise the previous genre values
/// written into the current tag (files written by older versions). A large
/// file gets the same as ranges to change.
fn undo_target(
    w: &TagWrite,
    file: &LockedFile,
    settings: WriteSettings,
) -> Result<UndoTarget, String> {
    const CHANGED: &str = "file changed since Sonotag wrote it: not restored";
    let old: GenreState = serde_json::from_str(&w.old_state)
        .map_err(|e| format!("the stored genres before the write are damaged: {e}"))?;
    let stamp = file.stamp;
    let damaged = || "the stored undo data is damaged; the file was not changed".to_string();
    let patch = match &w.written_sha256 {
        Some(sha) if *sha != file.sha256()? => return Err(CHANGED.into()),
        Some(_) => w.undo_patch.as_deref(),
        None if w.stamp_after != Some((stamp.size, stamp.mtime_ns)) => return Err(CHANGED.into()),
        None => None,
    };
    match (patch, file.is_whole()) {
        (Some(patch), true) => Patch::from_bytes(patch)
            .and_then(|p| p.apply(&file.bytes))
            .map(UndoTarget::Bytes)
            .ok_or_else(damaged),
        (Some(patch), false) => Patch::from_bytes(patch)
            .and_then(|p| Rewrite::from_patch(stamp.size, &p))
            .map(UndoTarget::Rewrite)
            .ok_or_else(damaged),
        (None, true) => {
            with_genres(&file.bytes, &w.path, &old, settings).map(|(_, b)| UndoTarget::Bytes(b))
        }
        (None, false) => {
            let (_, splices) = genre_splices(&file.bytes, &w.path, &old, settings)?;
            Ok(UndoTarget::Rewrite(Rewrite::new(
                stamp.size,
                splices.sorted(file.bytes.len())?,
            )))
        }
    }
}

/// What [`undo_target`] makes.
enum UndoTarget {
    Bytes(Vec<u8>),
    Rewrite(Rewrite),
}

/// Restores every file of `batch_id` (default: the latest batch not undone)
/// to its state before the batch: byte for byte where the file is as Sonotag
/// left it. A file changed since is refused; a batch with refusals stays
/// open, so undo can be run again once they are dealt with.
pub fn undo(
    lib: &mut Library,
    batch_id: Option<i64>,
    settings: WriteSettings,
) -> anyhow::Result<UndoReport> {
    let cancel = Cancel::new();
    undo_watched(
        lib,
        batch_id,
        settings,
        Watch {
            cancel: &cancel,
            progress: &mut |_, _, _| {},
        },
    )
}

/// [`undo`] with progress after each file, stopping between files when
/// `watch.cancel` is set (the batch then stays open).
pub fn undo_watched(
    lib: &mut Library,
    batch_id: Option<i64>,
    settings: WriteSettings,
    watch: Watch,
) -> anyhow::Result<UndoReport> {
    let _lock = WriteLock::acquire(lib.path())?;
    recover_locked(lib);
    let batch_id = match batch_id {
        Some(b) => match lib.batch_state(b)? {
            None => anyhow::bail!("there is no batch {b}: see `sonotag history`"),
            Some(BatchState::Undone) => anyhow::bail!("batch {b} is already undone"),
            Some(BatchState::Open) => b,
        },
        None => lib.latest_open_batch()?.ok_or_else(|| {
            match lib.batches().map(|b| b.len()).unwrap_or(0) {
                0 => anyhow::anyhow!("nothing to undo: no tag writes yet"),
                n => anyhow::anyhow!(
                    "nothing to undo: none of the {n} batches of tag writes has a write left to undo"
                ),
            }
        })?,
    };
    let journal = Journal::open(lib.path(), true)
        .map_err(anyhow::Error::msg)?
        .expect("created when missing");
    let mut outcomes = Vec::new();
    let mut writes = lib.undoable_writes(batch_id)?;
    // Hard links: the write that changed the bytes (the oldest of a file's
    // names) is undone first; its other names follow it.
    writes.sort_by_key(|w| (inode_of(&w.path), w.id));
    let total = writes.len();
    let mut cancelled = false;
    let mut restored_files: std::collections::HashMap<(u64, u64), Stamp> = Default::default();
    for (done, w) in writes.into_iter().enumerate() {
        if watch.cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        (watch.progress)(done, total, &w.path);
        let inode = inode_of(&w.path);
        if let Some(stamp) = inode.and_then(|i| restored_files.get(&i)).copied() {
            let result = land(lib, w.id, WriteKind::Undo, stamp);
            (watch.progress)(done + 1, total, &w.path);
            outcomes.push(FileOutcome {
                path: w.path,
                error: result.err(),
            });
            continue;
        }
        let result = (|| {
            let mut file = LockedFile::open(&w.path)?;
            let made = undo_target(&w, &file, settings)?;
            let target = match &made {
                UndoTarget::Bytes(bytes) => Target::Bytes {
                    bytes,
                    after_sha256: sha256_hex(bytes),
                },
                UndoTarget::Rewrite(rewrite) => Target::Rewrite {
                    rewrite,
                    after_sha256: file.sha256_after(rewrite)?,
                },
            };
            let (stamp, pending) =
                journaled_write(&journal, &mut file, target, w.id, WriteKind::Undo, None)?;
            land(lib, w.id, WriteKind::Undo, stamp)?;
            journal.finish(pending);
            Ok::<Stamp, String>(stamp)
        })();
        let result = result.map(|stamp| {
            if let Some(i) = inode {
                restored_files.insert(i, stamp);
            }
        });
        (watch.progress)(done + 1, total, &w.path);
        outcomes.push(FileOutcome {
            path: w.path,
            error: result.err(),
        });
    }
    if lib.undoable_writes(batch_id)?.is_empty() {
        lib.mark_batch_undone(batch_id)?;
    }
    Ok(UndoReport {
        batch_id,
        outcomes,
        cancelled,
    })
}
