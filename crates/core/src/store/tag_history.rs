//! The tag-write history (`tag_batches`, `tag_writes`): what every apply
//! wrote, so that undo can restore it and recovery can finish it.

use super::{Library, Result, now, path_from_bytes};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Why a file is being rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    Apply,
    Undo,
}

/// A batch of writes, for the history.
#[derive(Clone, Debug, Serialize)]
pub struct Batch {
    pub id: i64,
    pub at: i64,
    /// Files written (not counting refusals).
    pub files: usize,
    pub undone: bool,
}

/// Whether a batch can still be undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchState {
    Open,
    Undone,
}

/// One recorded write.
#[derive(Clone, Debug)]
pub struct TagWrite {
    pub id: i64,
    pub track_id: i64,
    pub path: PathBuf,
    /// The file's genre state before and after, as the tag layer stored it.
    pub old_state: String,
    pub new_state: String,
    /// Size and mtime after the write (`None` until it landed).
    pub stamp_after: Option<(u64, i64)>,
    /// Hash of the bytes written, and the patch back to the bytes before
    /// (absent for writes of older versions, or when too big to keep).
    pub written_sha256: Option<String>,
    pub undo_patch: Option<Vec<u8>>,
    /// An undo restored the file.
    pub undone: bool,
}

/// What is recorded before a file is touched.
pub struct NewWrite<'a> {
    pub batch_id: i64,
    pub track_id: i64,
    pub old_state: &'a str,
    pub new_state: &'a str,
    pub stamp_before: (u64, i64),
    pub written_sha256: &'a str,
    pub undo_patch: Option<&'a [u8]>,
}

const WRITE_COLUMNS: &str = "w.id, w.track_id, t.path, w.old_genres, w.new_genres, w.size_after,
     w.mtime_after, w.written_sha256, w.undo_patch, w.undone_at IS NOT NULL";

fn write_from_row(r: &rusqlite::Row) -> rusqlite::Result<TagWrite> {
    let size: Option<i64> = r.get(5)?;
    let mtime: Option<i64> = r.get(6)?;
    Ok(TagWrite {
        id: r.get(0)?,
        track_id: r.get(1)?,
        path: path_from_bytes(r.get(2)?),
        old_state: r.get(3)?,
        new_state: r.get(4)?,
        stamp_after: size.zip(mtime).map(|(s, m)| (s as u64, m)),
        written_sha256: r.get(7)?,
        undo_patch: r.get(8)?,
        undone: r.get(9)?,
    })
}

impl Library {
    /// Starts a batch; returns its id.
    pub fn new_batch(&mut self) -> Result<i64> {
        self.transaction(|tx| {
            tx.execute("INSERT INTO tag_batches (at) VALUES (?1)", [now()])?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// Records a write about to happen; returns its id.
    pub fn record_write(&mut self, w: &NewWrite) -> Result<i64> {
        self.transaction(|tx| {
            tx.execute(
                "INSERT INTO tag_writes (batch_id, track_id, old_genres, new_genres, size_before,
                     mtime_before, written_sha256, undo_patch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    w.batch_id,
                    w.track_id,
                    w.old_state,
                    w.new_state,
                    w.stamp_before.0 as i64,
                    w.stamp_before.1,
                    w.written_sha256,
                    w.undo_patch
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// The write `id`.
    pub fn tag_write(&self, id: i64) -> Result<Option<TagWrite>> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {WRITE_COLUMNS} FROM tag_writes w JOIN tracks t ON t.id = w.track_id
                     WHERE w.id = ?1"
                ),
                [id],
                write_from_row,
            )
            .optional()
        })
    }

    /// Records that a write (or its undo) reached the file: the track now
    /// has `genres` and the file's new size and mtime.
    pub fn record_landed(
        &mut self,
        write_id: i64,
        kind: WriteKind,
        genres: &[String],
        stamp: (u64, i64),
        identity: &str,
    ) -> Result<()> {
        self.transaction(|tx| {
            match kind {
                WriteKind::Apply => tx.execute(
                    "UPDATE tag_writes SET size_after = ?1, mtime_after = ?2, error = NULL
                     WHERE id = ?3",
                    params![stamp.0 as i64, stamp.1, write_id],
                )?,
                WriteKind::Undo => tx.execute(
                    "UPDATE tag_writes SET undone_at = ?1 WHERE id = ?2",
                    params![now(), write_id],
                )?,
            };
            tx.execute(
                "UPDATE tracks SET genres = ?1, size = ?2, mtime_ns = ?3, identity = ?4
                 WHERE id = (SELECT track_id FROM tag_writes WHERE id = ?5)",
                params![
                    serde_json::to_string(genres).expect("strings serialise"),
                    stamp.0 as i64,
                    stamp.1,
                    identity,
                    write_id
                ],
            )?;
            Ok(())
        })
    }

    /// Records that a write left its file as it was (with `stamp`, which a
    /// rollback changes); an apply keeps `why` as its error.
    pub fn record_unchanged(
        &mut self,
        write_id: i64,
        kind: WriteKind,
        why: &str,
        stamp: (u64, i64),
        identity: &str,
    ) -> Result<()> {
        self.transaction(|tx| {
            if kind == WriteKind::Apply {
                tx.execute(
                    "UPDATE tag_writes SET error = ?1 WHERE id = ?2",
                    params![why, write_id],
                )?;
            }
            tx.execute(
                "UPDATE tracks SET size = ?1, mtime_ns = ?2, identity = ?3
                 WHERE id = (SELECT track_id FROM tag_writes WHERE id = ?4)",
                params![stamp.0 as i64, stamp.1, identity, write_id],
            )?;
            Ok(())
        })
    }

    /// Records why a write was refused.
    pub fn record_write_error(&mut self, write_id: i64, error: &str) -> Result<()> {
        self.transaction(|tx| {
            tx.execute(
                "UPDATE tag_writes SET error = ?1 WHERE id = ?2",
                params![error, write_id],
            )?;
            Ok(())
        })
    }

    /// The identity (`device:inode:ctime_ns`) the library last saw for a
    /// track's file; `None` when it has not seen one yet.
    pub fn track_identity(&self, track_id: i64) -> Result<Option<String>> {
        self.read(|c| {
            c.query_row(
                "SELECT identity FROM tracks WHERE id = ?1",
                [track_id],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
        })
    }

    /// Writes recorded as started that neither landed nor failed: what a
    /// kill (or a lost landing) left for recovery to resolve.
    pub fn unresolved_writes(&self) -> Result<Vec<TagWrite>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WRITE_COLUMNS} FROM tag_writes w JOIN tracks t ON t.id = w.track_id
                 WHERE w.size_after IS NULL AND w.error IS NULL
                 ORDER BY w.id"
            ))?;
            let rows = stmt.query_map([], write_from_row)?;
            rows.collect()
        })
    }

    /// Tag-write batches, newest first.
    pub fn batches(&self) -> Result<Vec<Batch>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT b.id, b.at, b.undone_at IS NOT NULL,
                        (SELECT count(*) FROM tag_writes w
                         WHERE w.batch_id = b.id AND w.error IS NULL)
                 FROM tag_batches b ORDER BY b.id DESC",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Batch {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    undone: r.get(2)?,
                    files: r.get::<_, i64>(3)? as usize,
                })
            })?;
            rows.collect()
        })
    }

    /// Whether batch `id` exists and can still be undone.
    pub fn batch_state(&self, id: i64) -> Result<Option<BatchState>> {
        self.read(|c| {
            c.query_row(
                "SELECT undone_at IS NOT NULL FROM tag_batches WHERE id = ?1",
                [id],
                |r| r.get::<_, bool>(0),
            )
            .optional()
        })
        .map(|s| {
            s.map(|undone| {
                if undone {
                    BatchState::Undone
                } else {
                    BatchState::Open
                }
            })
        })
    }

    /// The newest batch not undone yet that has a write to undo (a batch
    /// whose every file was refused changed nothing: "Undo last write"
    /// passes over it to the write before).
    pub fn latest_open_batch(&self) -> Result<Option<i64>> {
        self.read(|c| {
            c.query_row(
                "SELECT id FROM tag_batches b WHERE undone_at IS NULL AND EXISTS (
                   SELECT 1 FROM tag_writes w WHERE w.batch_id = b.id AND w.error IS NULL
                     AND w.size_after IS NOT NULL AND w.undone_at IS NULL)
                 ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// The writes of a batch that landed and are not undone, newest first.
    pub fn undoable_writes(&self, batch_id: i64) -> Result<Vec<TagWrite>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WRITE_COLUMNS} FROM tag_writes w JOIN tracks t ON t.id = w.track_id
                 WHERE w.batch_id = ?1 AND w.error IS NULL AND w.size_after IS NOT NULL
                       AND w.undone_at IS NULL
                 ORDER BY w.id DESC"
            ))?;
            let rows = stmt.query_map([batch_id], write_from_row)?;
            rows.collect()
        })
    }

    /// Marks a batch undone.
    pub fn mark_batch_undone(&mut self, batch_id: i64) -> Result<()> {
        self.transaction(|tx| {
            tx.execute(
                "UPDATE tag_batches SET undone_at = ?1 WHERE id = ?2",
                params![now(), batch_id],
            )?;
            Ok(())
        })
    }
}
