//! Recovery: finishing or rolling back writes that a crash, kill or power
//! loss interrupted, from the journal and the library's records, and only
//! what the library vouches for.

use super::in_place::{LockedFile, Stamp, WriteLock, sha256_of_path};
use super::journal::{Journal, JournalEntry, Pending};
use super::write::{land, land_unchanged};
use crate::store::{Library, LibraryError, WriteKind};
use serde::Serialize;
use std::path::PathBuf;

/// What recovery did with one interrupted write.
#[derive(Clone, Debug, Serialize)]
pub struct Recovered {
    #[serde(serialize_with = "crate::store::serialize_path_str")]
    pub path: PathBuf,
    /// What happened, for the user.
    pub message: String,
    /// False when the write is still unresolved (tried again next time).
    pub resolved: bool,
}

/// Finishes or rolls back writes that a crash or kill interrupted. Runs at
/// start-up and before every apply and undo; does nothing while another
/// process is writing (its journal entries are live, not interrupted).
pub fn recover(lib: &mut Library) -> anyhow::Result<Vec<Recovered>> {
    match WriteLock::try_acquire(lib.path())? {
        Some(_lock) => Ok(recover_locked(lib)),
        None => Ok(Vec::new()),
    }
}

pub(super) fn recover_locked(lib: &mut Library) -> Vec<Recovered> {
    let journal = match Journal::open(lib.path(), false) {
        Ok(Some(j)) => j,
        Ok(None) => return resolve_unjournaled(lib, &[]),
        Err(message) => {
            // Nothing in an untrusted folder is acted on, and no row is
            // resolved behind it: its entries might be real.
            return vec![Recovered {
                path: lib.path().to_path_buf(),
                message,
                resolved: false,
            }];
        }
    };
    let (pending, notes) = journal.pending();
    let mut out: Vec<Recovered> = notes
        .messages
        .into_iter()
        .map(|message| Recovered {
            path: journal.kept_dir(),
            message,
            resolved: true,
        })
        .collect();
    let covered: Vec<i64> = pending.iter().map(|p| p.entry.write_id).collect();
    for pending in pending {
        let path = pending.entry.path();
        if let Err(why) = vouched(lib, &pending.entry) {
            let message = match journal.set_aside_entry(pending) {
                Ok(kept) => format!(
                    "a journal entry naming this file does not match the library's records \
                     ({why}); it was moved to {} untouched and nothing was written",
                    kept.display()
                ),
                Err(e) => format!(
                    "a journal entry naming this file does not match the library's records \
                     ({why}); nothing was written, and it could not be moved aside: {e}"
                ),
            };
            out.push(Recovered {
                path,
                message,
                resolved: true,
            });
            continue;
        }
        let (message, resolved) = match resolve(lib, &journal, &pending) {
            Ok(message) => {
                journal.finish(pending);
                (message, true)
            }
            Err((message, resolved)) => {
                if resolved {
                    journal.finish(pending);
                }
                (message, resolved)
            }
        };
        out.push(Recovered {
            path,
            message,
            resolved,
        });
    }
    out.extend(resolve_unjournaled(lib, &covered));
    out
}

/// Whether the library vouches for a journal entry: an unfinished write of
/// this library, to the same track, with the same contents before and
/// after. Recovery writes nothing else.
fn vouched(lib: &Library, entry: &JournalEntry) -> Result<(), String> {
    let w = lib
        .tag_write(entry.write_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the library has no write {}", entry.write_id))?;
    if w.path != entry.path() {
        return Err(format!("write {} is of another file", entry.write_id));
    }
    let matches = match entry.kind {
        WriteKind::Apply => {
            w.written_sha256.as_deref() == Some(entry.after_sha256.as_str())
                && w.stamp_after.is_none()
        }
        WriteKind::Undo => {
            w.written_sha256.as_deref() == Some(entry.before_sha256.as_str())
                && w.stamp_after.is_some()
                && !w.undone
        }
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "write {} is not an unfinished write of these contents",
            entry.write_id
        ))
    }
}

/// Writes the library records as started but that no journal entry
/// protects: a kill between recording a write and journaling it (the file
/// was not touched), or a record whose landing was lost (the file holds
/// what was written). Each is resolved by what the file holds.
fn resolve_unjournaled(lib: &mut Library, covered: &[i64]) -> Vec<Recovered> {
    let Ok(rows) = lib.unresolved_writes() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for w in rows.into_iter().filter(|w| !covered.contains(&w.id)) {
        let holds_written = sha256_of_path(&w.path)
            .ok()
            .zip(w.written_sha256.as_ref())
            .is_some_and(|(found, written)| found == *written);
        let (message, result) = if holds_written {
            let stamp = Stamp::of_path(&w.path);
            (
                "a write whose record was lost had reached the file; it is now recorded",
                stamp.and_then(|stamp| land(lib, w.id, WriteKind::Apply, stamp)),
            )
        } else {
            (
                "a write interrupted before it touched the file; nothing was changed",
                lib.record_write_error(
                    w.id,
                    "interrupted before the file was touched; nothing was changed",
                )
                .map_err(|e| e.to_string()),
            )
        };
        out.push(Recovered {
            path: w.path,
            message: match &result {
                Ok(()) => message.to_string(),
                Err(e) => format!("{message}, but the library could not record it: {e}"),
            },
            resolved: result.is_ok(),
        });
    }
    out
}

/// Resolves one interrupted write. `Err((why, resolved))`: `resolved` says
/// whether the journal entry is done with regardless.
fn resolve(
    lib: &mut Library,
    journal: &Journal,
    pending: &Pending,
) -> Result<String, (String, bool)> {
    let entry = &pending.entry;
    let what = match entry.kind {
        WriteKind::Apply => "an interrupted tag write",
        WriteKind::Undo => "an interrupted undo",
    };
    let db = |e: LibraryError| (format!("{what}: {e}"), false);
    let mut file = match LockedFile::open(&entry.path()) {
        Ok(f) => f,
        Err(e) if !entry.path().exists() => {
            // Nothing to repair; keep the bytes the user may want back.
            let kept = journal
                .original_file(pending)
                .and_then(|_| journal.keep_original(pending))
                .map_err(|k| (format!("{what}: {e}; {k}"), false))?;
            return Err((
                format!(
                    "{what}: {e}; its bytes from before are kept at {}",
                    kept.display()
                ),
                true,
            ));
        }
        Err(e) => return Err((format!("{what} could not be resolved yet: {e}"), false)),
    };
    let found = file.sha256().map_err(|e| (format!("{what}: {e}"), false))?;
    if found == entry.after_sha256 {
        land(lib, entry.write_id, entry.kind, file.stamp)
            .map_err(|e| (format!("{what}: {e}"), false))?;
        return Ok(format!("{what} had reached the file; it is now recorded"));
    }
    if found == entry.before_sha256 {
        land_unchanged(
            lib,
            entry.write_id,
            entry.kind,
            file.stamp,
            "interrupted; the file was left as it was",
        )
        .map_err(db)?;
        return Ok(format!(
            "{what} had not changed the file; nothing to repair"
        ));
    }
    // The journal's copy, checked against its record, goes back a chunk at
    // a time; what was found is kept first.
    let original = journal
        .original_file(pending)
        .map_err(|e| (format!("{what}: cannot read the journal: {e}"), false))?;
    let kept = journal
        .keep_with(pending, &mut |f| file.copy_to(f))
        .map_err(|e| (format!("{what}: {e}"), false))?;
    let stamp = file
        .restore_from(&original)
        .map_err(|e| (format!("{what}: cannot restore the file: {e}"), false))?;
    land_unchanged(
        lib,
        entry.write_id,
        entry.kind,
        stamp,
        "interrupted; the file was restored",
    )
    .map_err(db)?;
    Ok(format!(
        "{what} was rolled back: the file is as it was before; what was found is kept at {}",
        kept.display()
    ))
}
